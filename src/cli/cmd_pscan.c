/* hfscan scan --par NAME=LO:HI:N [--par NAME2=LO:HI:N]: profile-likelihood
 * scans of any one or two parameters, statistical-only variants with
 * --freeze-group, the grid points spread over the ranks by the scheduler
 * (docs/diagnostics.md). */
#include "cli.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_sched.h"
#include "hfs_store.h"

#include <errno.h>
#include <math.h>
#include <mpi.h>
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

typedef struct {
  hfs_pscan *s;
  hfs_pscan_point *res; /* master: by unit */
} pscan_job;

static int unit_run(void *ctx, int64_t u, void *out) {
  return hfs_pscan_run(((pscan_job *)ctx)->s, u, out);
}

static int unit_collect(void *ctx, int64_t u, const void *r) {
  memcpy(&((pscan_job *)ctx)->res[u], r, sizeof(hfs_pscan_point));
  return HFS_OK;
}

/* The parameters held at their best-fit values: the members of the named
 * groups, which are the ranking's: --group NAME=PATTERN ones, one per kind of
 * modifier ("normsys", "staterror", ...) and "all" (every free parameter but
 * the POI).  The --group patterns are resolved by a ranking context (which
 * fits the model once), so they mean exactly what they mean in a ranking. */
static int frozen_set(const hfs_cli_opts *o, hfs_infer *I, int *frozen) {
  int rc = HFS_OK;
  hfs_ranking *r = NULL;
  hfs_model *m = hfs_infer_model(I);
  const int *uf = hfs_infer_fixed(I);
  int n = hfs_model_npar(m), poi = hfs_model_poi(m);
  memset(frozen, 0, sizeof(int) * (size_t)n);
  for (int k = 0; k < o->nfreeze_group; ++k) {
    const char *want = o->freeze_group[k];
    int user = -1, hit = 0;
    for (int g = 0; g < o->ngroups; ++g) {
      const char *eq = strchr(o->groups[g], '=');
      if (strlen(want) == (size_t)(eq - o->groups[g]) && !strncmp(o->groups[g], want, strlen(want)))
        user = g;
    }
    if (user >= 0) {
      if (!r) {
        HFS_CHECK(hfs_ranking_create(I, &r));
        for (int g = 0; g < o->ngroups; ++g) {
          char name[128];
          const char *eq = strchr(o->groups[g], '=');
          snprintf(name, sizeof name, "%.*s", (int)(eq - o->groups[g]), o->groups[g]);
          HFS_CHECK(hfs_ranking_add_group(r, name, eq + 1));
        }
      }
      const int *mem = hfs_ranking_group_members(r, user);
      for (int i = 0; i < n; ++i) frozen[i] |= mem[i];
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (i == poi || uf[i]) continue;
      if (!strcmp(want, "all") || !strcmp(want, hfs_modtype_name(hfs_model_par_type(m, i)))) {
        frozen[i] = 1;
        hit = 1;
      }
    }
    if (!hit)
      HFS_FAIL(HFS_ERR_ARG,
               "--freeze-group %s: no group of that name in %s (use all, a modifier kind with "
               "free parameters such as normsys or staterror, or a --group NAME=PATTERN)",
               want, o->workspace);
  }
cleanup:
  hfs_ranking_destroy(&r);
  return rc;
}

static void print_text(const hfs_cli_opts *o, hfs_model *m, hfs_pscan *s,
                       const hfs_pscan_point *res, int nfrozen) {
  const hfs_fit_result *ff = hfs_pscan_free_fit(s);
  int nx, ny, nd = hfs_pscan_ndim(s);
  const double *ax = hfs_pscan_axis(s, 0, &nx), *ay = hfs_pscan_axis(s, 1, &ny);
  int px = hfs_model_par_find(m, o->par_name[0]), py = nd == 2 ? hfs_model_par_find(m, o->par_name[1]) : -1;
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
      printf("%14.6f %14.6f %14.6f  %s\n", res[u].x, res[u].twice_nll - ff->twice_nll,
             res[u].poi, hfs_fit_status_name(res[u].status));
  } else {
    printf("grid minimum at %s = %.6f, %s = %.6f (2 delta NLL %.3g); the grid is in -o FILE or "
           "--json\n",
           o->par_name[0], res[best].x, o->par_name[1], res[best].y,
           res[best].twice_nll - ff->twice_nll);
  }
  (void)ax;
  (void)ay;
  if (nfail) printf("%lld fit%s did not converge (recorded with their status)\n", (long long)nfail,
                    nfail > 1 ? "s" : "");
}

static json_t *reals(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; ++i) json_array_append_new(a, hfs_cli_json_real(v[i]));
  return a;
}

static json_t *pscan_json(const hfs_cli_opts *o, hfs_model *m, hfs_pscan *s,
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
    json_object_set_new(p, "best_fit", hfs_cli_json_real(ff->theta[hfs_model_par_find(m, o->par_name[k])]));
    json_array_append_new(pars, p);
  }
  for (int64_t u = 0; u < (int64_t)n0 * n1; ++u) {
    json_array_append_new(d, hfs_cli_json_real(res[u].twice_nll - ff->twice_nll));
    json_array_append_new(poi, hfs_cli_json_real(res[u].poi));
    json_array_append_new(st, json_string(hfs_fit_status_name(res[u].status)));
  }
  for (int k = 0; k < o->nfreeze_group; ++k) json_array_append_new(fr, json_string(o->freeze_group[k]));
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
  hfs_infer *I = NULL;
  hfs_sched *sched = NULL;
  hfs_h5 *h5 = NULL;
  pscan_job j = {NULL, NULL};
  int *frozen = NULL;
  int rc = HFS_OK, exit_code, rank = hfs_cli_rank(), nfrozen = 0;
  double t0 = hfs_now();
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  exit_code = hfs_cli_parse("scan", argc, argv, &o);
  if (exit_code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return exit_code < 0 ? HFS_EXIT_OK : exit_code;
  }
  if (o.npar_scan == 0) {
    hfs_cli_error("--freeze-group needs --par NAME=LO:HI:N (the POI scan without --par has its "
                  "statistical-only curve already)");
    hfs_cli_opts_free(&o);
    return HFS_EXIT_USAGE;
  }
  HFS_CHECK(hfs_cli_load(&o, &c));
  HFS_CHECK(hfs_infer_create(c.model, &o.fit, c.fixed, c.init, &I));
  int par[2] = {-1, -1};
  for (int k = 0; k < o.npar_scan; ++k) {
    par[k] = hfs_model_par_find(c.model, o.par_name[k]);
    if (par[k] < 0)
      HFS_FAIL(HFS_ERR_ARG, "--par %s: no parameter of that name in %s", o.par_name[k],
               o.workspace);
  }
  HFS_ALLOC(frozen, hfs_model_npar(c.model));
  HFS_CHECK(frozen_set(&o, I, frozen));
  for (int i = 0; i < hfs_model_npar(c.model); ++i) nfrozen += frozen[i] && i != par[0] && i != par[1];
  HFS_CHECK(hfs_pscan_create(I, o.npar_scan, par, o.par_lo, o.par_hi, o.par_n, frozen, &j.s));
  int64_t nunits = hfs_pscan_nunits(j.s);
  if (rank == 0) HFS_ALLOC(j.res, nunits);
  hfs_sched_options so;
  hfs_sched_options_default(&so);
  so.progress = !o.quiet && !o.json;
  hfs_sched_task task = {"parameter scan", sizeof(hfs_pscan_point), unit_run, unit_collect, &j};
  HFS_CHECK(hfs_sched_create(MPI_COMM_WORLD, &so, &sched));
  rc = hfs_sched_run(sched, &task, NULL, nunits, NULL);
  if (rc == HFS_ERR_INTERRUPTED) {
    hfs_error_set(rc, "interrupted before all %lld grid points were done", (long long)nunits);
    exit_code = HFS_EXIT_INTERRUPTED;
    goto cleanup;
  }
  if (rc) goto cleanup;
  if (rank == 0) {
    if (o.json) {
      json_t *js = pscan_json(&o, c.model, j.s, j.res);
      hfs_cli_print_json(js);
      json_decref(js);
    } else {
      print_text(&o, c.model, j.s, j.res, nfrozen);
    }
    if (o.output) {
      hfs_run_info info = {"scan", o.argv_line, o.workspace, c.sha256,
                           hfs_model_measurement(c.model), hfs_optimizer_name(o.fit.optimizer),
                           o.model.normsys_code, o.model.histosys_code, hfs_now() - t0,
                           hfs_cli_size(), hfs_model_par_name(c.model, hfs_model_poi(c.model))};
      const char *names[2] = {o.par_name[0], o.par_name[1]};
      HFS_CHECK(hfs_h5_create(o.output, &h5));
      HFS_CHECK(hfs_store_write_run_info(h5, &info));
      HFS_CHECK(hfs_store_write_pscan(h5, "/pscan", j.s, names, j.res, o.freeze_group,
                                      o.nfreeze_group));
      HFS_CHECK(hfs_cli_data_store(h5, "/pscan"));
      HFS_CHECK(hfs_h5_close(&h5));
    }
    for (int64_t u = 0; u < nunits; ++u)
      if (j.res[u].status != HFS_FIT_CONVERGED) exit_code = HFS_EXIT_FIT_FAILED;
  }
cleanup:
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    if (exit_code != HFS_EXIT_INTERRUPTED) exit_code = HFS_EXIT_ERROR;
  }
  hfs_h5_close(&h5);
  hfs_sched_destroy(&sched);
  hfs_pscan_destroy(&j.s);
  free(j.res);
  free(frozen);
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}
