/* hfscan scan --par NAME=LO:HI:N [--par NAME2=LO:HI:N]: profile-likelihood
 * scans of any one or two parameters, statistical-only variants with
 * --freeze-group, run as the job layer's "pscan" kind (src/job/kind_pscan.c:
 * spread over the ranks, checkpointed, resumable; docs/diagnostics.md).  This
 * file parses and prints. */
#include "cli.h"
#include "cli_guard.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hfs_cli_par_parse(const char *arg, hfs_cli_opts *o) {
  char buf[256];
  const char *eq = strrchr(arg, '=');
  if (o->npar_scan == 2) return hfs_error_set(HFS_ERR_ARG, "--par %s: at most two parameters", arg);
  if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof o->par_name[0] ||
      snprintf(buf, sizeof buf, "%s", eq + 1) >= (int)sizeof buf)
    return hfs_error_set(HFS_ERR_ARG, "--par %s: expected NAME=LO:HI:N", arg);
  char *a = strtok(buf, ":"), *b = strtok(NULL, ":"), *c = strtok(NULL, ":"), *end;
  int k = o->npar_scan;
  if (!a || !b || !c || strtok(NULL, ":"))
    return hfs_error_set(HFS_ERR_ARG, "--par %s: expected NAME=LO:HI:N", arg);
  errno = 0;
  o->par_lo[k] = strtod(a, &end);
  int bad = errno || *end || !isfinite(o->par_lo[k]);
  o->par_hi[k] = strtod(b, &end);
  bad |= errno || *end || !isfinite(o->par_hi[k]);
  long n = strtol(c, &end, 10);
  bad |= errno || *end || n < 1 || n > 100000;
  if (bad || o->par_hi[k] < o->par_lo[k])
    return hfs_error_set(HFS_ERR_ARG, "--par %s: expected NAME=LO:HI:N with LO <= HI and N >= 1",
                         arg);
  memcpy(o->par_name[k], arg, (size_t)(eq - arg));
  o->par_name[k][eq - arg] = '\0';
  o->par_n[k] = (int)n;
  o->npar_scan++;
  return HFS_OK;
}

static void print_text(const hfs_cli_opts *o, hfs_model *m, const hfs_pscan *s,
                       const hfs_pscan_point *res, int nfrozen) {
  const hfs_fit_result *ff = hfs_pscan_free_fit(s);
  int nx, ny, nd = hfs_pscan_ndim(s);
  const double *ax = hfs_pscan_axis(s, 0, &nx), *ay = hfs_pscan_axis(s, 1, &ny);
  int px = hfs_model_par_find(m, o->par_name[0]),
      py = nd == 2 ? hfs_model_par_find(m, o->par_name[1]) : -1;
  printf("hfscan scan: %s, %s%s%s (%d point%s)%s%d parameters frozen at their best fit\n",
         o->workspace, o->par_name[0], nd == 2 ? " x " : "", nd == 2 ? o->par_name[1] : "",
         nx * (nd == 2 ? ny : 1), nx * (nd == 2 ? ny : 1) > 1 ? "s" : "", nfrozen ? ", " : ", ",
         nfrozen);
  printf("free fit    %s, twice_nll %.6f, %s = %.6f%s", hfs_fit_status_name(ff->status),
         ff->twice_nll, o->par_name[0], ff->theta[px], nd == 2 ? "" : "\n");
  if (nd == 2) printf(", %s = %.6f\n", o->par_name[1], ff->theta[py]);
  int64_t n = (int64_t)nx * (nd == 2 ? ny : 1), best = 0, nfail = 0;
  for (int64_t u = 0; u < n; ++u) {
    if (res[u].twice_nll < res[best].twice_nll) best = u;
    nfail += res[u].status != HFS_FIT_CONVERGED;
  }
  if (nd == 1) {
    printf("%14s %14s %14s  status\n", o->par_name[0], "2 delta NLL", "POI");
    for (int64_t u = 0; u < n; ++u)
      printf("%14.6f %14.6f %14.6f  %s\n", res[u].x, res[u].twice_nll - ff->twice_nll, res[u].poi,
             hfs_fit_status_name(res[u].status));
  } else {
    printf(
        "grid minimum at %s = %.6f, %s = %.6f (2 delta NLL %.3g); the grid is in -o FILE or "
        "--json\n",
        o->par_name[0], res[best].x, o->par_name[1], res[best].y,
        res[best].twice_nll - ff->twice_nll);
  }
  (void)ax;
  (void)ay;
  if (nfail)
    printf("%lld fit%s did not converge (recorded with their status)\n", (long long)nfail,
           nfail > 1 ? "s" : "");
}

static json_t *reals(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; ++i) json_array_append_new(a, hfs_cli_json_real(v[i]));
  return a;
}

static json_t *pscan_json(const hfs_cli_opts *o, hfs_model *m, const hfs_pscan *s,
                          const hfs_pscan_point *res) {
  json_t *j = json_object(), *pars = json_array(), *axes = json_array(), *d = json_array(),
         *poi = json_array(), *st = json_array(), *fr = json_array();
  const hfs_fit_result *ff = hfs_pscan_free_fit(s);
  int nd = hfs_pscan_ndim(s), n0, n1 = 1;
  const double *a0 = hfs_pscan_axis(s, 0, &n0);
  json_array_append_new(axes, reals(a0, n0));
  if (nd == 2) json_array_append_new(axes, reals(hfs_pscan_axis(s, 1, &n1), n1));
  for (int k = 0; k < nd; ++k) {
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string(o->par_name[k]));
    json_object_set_new(p, "best_fit",
                        hfs_cli_json_real(ff->theta[hfs_model_par_find(m, o->par_name[k])]));
    json_array_append_new(pars, p);
  }
  for (int64_t u = 0; u < (int64_t)n0 * n1; ++u) {
    json_array_append_new(d, hfs_cli_json_real(res[u].twice_nll - ff->twice_nll));
    json_array_append_new(poi, hfs_cli_json_real(res[u].poi));
    json_array_append_new(st, json_string(hfs_fit_status_name(res[u].status)));
  }
  for (int k = 0; k < o->nfreeze_group; ++k)
    json_array_append_new(fr, json_string(o->freeze_group[k]));
  json_object_set_new(j, "workspace", json_string(o->workspace));
  json_object_set_new(j, "parameters", pars);
  json_object_set_new(j, "axes", axes);
  json_object_set_new(j, "dnll2", d);
  json_object_set_new(j, "poi", poi);
  json_object_set_new(j, "status", st);
  json_object_set_new(j, "frozen_groups", fr);
  json_object_set_new(j, "twice_nll_free", hfs_cli_json_real(ff->twice_nll));
  return j;
}

int hfs_cmd_pscan(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  int code = hfs_cli_parse("scan", argc, argv, &o);
  if (code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return code < 0 ? HFS_EXIT_OK : code;
  }
  if (o.npar_scan == 0) {
    hfs_cli_error(
        "--freeze-group needs --par NAME=LO:HI:N (the POI scan without --par has its "
        "statistical-only curve already)");
    hfs_cli_opts_free(&o);
    return HFS_EXIT_USAGE;
  }
  /* Names, ranges and Asimov values are checked against the workspace:
   * bad input (exit 1), as in fit and limit. */
  int rc = hfs_cli_output_guard(&o, 1);
  if (!rc) rc = hfs_cli_load(&o, &c);
  code = hfs_cli_job_report(rc ? HFS_EXIT_ERROR : HFS_EXIT_OK);
  if (code == HFS_EXIT_OK) {
    hfs_job_config cfg;
    hfs_job *job = NULL;
    hfs_cli_job_config(&o, &c, &cfg);
    cfg.quiet = o.quiet || o.json;
    code = hfs_job_run(&hfs_job_pscan, &cfg, &job);
    code = hfs_cli_job_report(code == HFS_EXIT_USAGE ? HFS_EXIT_ERROR : code);
    /* as above */ /* as above */
    if (hfs_cli_rank() == 0 && job && hfs_job_outcome(job) == HFS_JOB_COMPLETE &&
        (code == HFS_EXIT_OK || code == HFS_EXIT_FIT_FAILED)) {
      const hfs_pscan *s = hfs_job_pscan_scan(job);
      const hfs_pscan_point *res = hfs_job_pscan_points(job);
      if (o.json) {
        json_t *js = pscan_json(&o, c.model, s, res);
        hfs_cli_print_json(js);
        json_decref(js);
      } else {
        print_text(&o, c.model, s, res, hfs_job_pscan_nfrozen(job));
      }
    }
    hfs_job_destroy(&job);
  }
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return code;
}
