/* hfscan summary: the analysis summary of a workspace in one command (the
 * README's main job): the fit, the CLs upper limit with its bands, the
 * discovery significance, the nuisance-parameter ranking and the POI with its
 * stat/syst split.  The workspace is read and the model built once; each part
 * is the body of the corresponding command, so the output files are theirs:
 * -o DIR writes DIR/{fit,limit,significance,ranking,scan}.h5, and a second
 * run resumes the ranking and the scan from their checkpoints. */
#include "cli.h"
#include "cli_guard.h"
#include "cli_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The options of one part: the summary's, with the part's own output file,
 * and the settings the part does not take from the summary's command line
 * at their defaults. */
static hfs_cli_opts part_options(const hfs_cli_opts *o, const char *file, char *path, size_t n) {
  hfs_cli_opts p = *o, d;
  hfs_cli_opts_default(&d);
  /* summary --json gathers the parts' documents into one (gather below). */
  p.json = o->json;
  p.toys = 0;
  p.ts = d.ts;
  p.have_ts = 0;
  p.nscan = 0;
  p.output = NULL;
  if (o->output) {
    snprintf(path, n, "%s/%s", o->output, file);
    p.output = path; /* ranking and scan resume from theirs unless --overwrite */
  }
  return p;
}

/* summary --json prints one document with a member per part; with --quiet
 * and -o the parts print nothing, and neither do their headings. */
static json_t *gathered;
static int headings;

static void title(const char *t, const char *key) {
  hfs_cli_json_gather(gathered, key);
  if (!gathered && headings && hfs_cli_rank() == 0) {
    printf("\n== %s ==\n", t);
    fflush(stdout);
  }
}

/* The worst status wins, except that a failed fit does not hide an error. */
static void account(int code, int *worst) {
  fflush(stdout);
  if (code > *worst && code != HFS_EXIT_FIT_FAILED) *worst = code;
  if (code == HFS_EXIT_FIT_FAILED && *worst == HFS_EXIT_OK) *worst = code;
}

/* The scan grid: mu-hat +- 3 sigma inside the bounds, from a quick fit. */
static int scan_grid(const hfs_cli_opts *o, const hfs_cli_ctx *c, double *lo, double *hi) {
  int rc = HFS_OK;
  hfs_fitter *f = NULL;
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  HFS_CHECK(hfs_fitter_create(c->model, &o->fit, &f));
  HFS_CHECK(hfs_fit_result_init(&r, hfs_model_npar(c->model), 1));
  HFS_CHECK(hfs_fitter_minimize(f, NULL, NULL, c->init, c->fixed, 1, &r));
  int poi = hfs_model_poi(c->model);
  double s = r.has_errors && isfinite(r.error[poi]) && r.error[poi] > 0 ? r.error[poi] : 1;
  *lo = fmax(hfs_model_par_lo(c->model, poi), r.theta[poi] - 3 * s);
  *hi = fmin(hfs_model_par_hi(c->model, poi), r.theta[poi] + 3 * s);
cleanup:
  hfs_fit_result_free(&r);
  hfs_fitter_destroy(&f);
  return rc;
}

int hfs_cmd_summary(int argc, char **argv) {
  hfs_cli_opts o, p;
  hfs_cli_ctx c;
  hfs_infer *I = NULL;
  char path[4096];
  double lo = 0, hi = 1;
  int worst = HFS_EXIT_OK, rank0 = hfs_cli_rank() == 0;
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  int code = hfs_cli_parse("summary", argc, argv, &o);
  if (code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return code < 0 ? HFS_EXIT_OK : code;
  }
  /* hfs_cli_parse made the output folder with its parents. */
  headings = 1; /* the parts' headings even with --quiet -o (tests/cli/test_summary.sh) */
  if (o.json && rank0) gathered = json_object();
  static const char *const parts[] = {"fit.h5", "limit.h5", "significance.h5", "ranking.h5",
                                      "scan.h5"};
  int rc = o.output ? hfs_cli_output_guard_folder(o.output, parts, 5) : HFS_OK;
  if (!rc) rc = hfs_cli_load(&o, &c);
  if (!rc) rc = hfs_infer_create(c.model, &o.fit, c.fixed, c.init, &I);
  if (!rc) hfs_cli_apply_robust(&o, I);
  if (!rc) rc = scan_grid(&o, &c, &lo, &hi);
  if (rc) {
    worst = hfs_cli_job_report(hfs_job_exit_status(rc));
    goto done;
  }

  title("fit", "fit");
  p = part_options(&o, "fit.h5", path, sizeof path);
  p.brief = 1;
  if (rank0) account(hfs_cli_fit(&p, &c), &worst);

  title("upper limit", "limit");
  p = part_options(&o, "limit.h5", path, sizeof path);
  if (rank0) account(hfs_cli_limit(&p, &c, I), &worst);

  title("discovery significance", "significance");
  p = part_options(&o, "significance.h5", path, sizeof path);
  if (rank0) account(hfs_cli_significance(&p, &c, I), &worst);

  title("nuisance-parameter ranking", "ranking");
  p = part_options(&o, "ranking.h5", path, sizeof path);
  account(hfs_cli_fits_job(&p, &c, &hfs_job_ranking), &worst);

  title("profile-likelihood scan and stat/syst split", "scan");
  p = part_options(&o, "scan.h5", path, sizeof path);
  p.scan_lo = o.nscan > 0 ? o.scan_lo : lo; /* --poi, or around mu-hat */
  p.scan_hi = o.nscan > 0 ? o.scan_hi : hi;
  p.nscan = o.nscan > 0 ? o.nscan : 31;
  account(hfs_cli_fits_job(&p, &c, &hfs_job_scan), &worst);
  hfs_cli_json_gather(NULL, NULL);
  if (gathered) {
    json_object_set_new(gathered, "workspace", json_string(o.workspace));
    json_object_set_new(gathered, "exit_status", json_integer(worst));
    hfs_cli_print_json(gathered);
  }
done:
  hfs_cli_json_gather(NULL, NULL);
  json_decref(gathered);
  gathered = NULL;
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return worst;
}
