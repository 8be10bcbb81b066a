/* hfscan gof: saturated-model goodness of fit, asymptotic, and with toys as
 * the job layer's "gof" kind (src/job/kind_gof.c: spread over the ranks,
 * checkpointed, resumable; docs/diagnostics.md).  This file parses and
 * prints. */
#include "cli.h"
#include "cli_guard.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_text(const hfs_cli_opts *o, const hfs_gof *g, const hfs_gof_pvalue *p,
                       int64_t ntoys) {
  printf("hfscan gof: %s (saturated model)\n", o->workspace);
  printf("fit         %s, twice_nll %.6f (saturated %.6f)\n", hfs_fit_status_name(g->fit.status),
         g->twice_nll, g->twice_nll_saturated);
  printf("statistic   t = %.6f, ndof = %d (bins - free unconstrained parameters)\n", g->t, g->ndof);
  printf("p-value     %.6f (asymptotic chi2)\n", g->p_asymptotic);
  if (p)
    printf("p-value     %.6f +- %.6f (%lld toys, %lld not converged)\n", p->p, p->p_err,
           (long long)p->nused, (long long)p->nfailed);
  (void)ntoys;
}

static json_t *gof_json(const hfs_cli_opts *o, const hfs_gof *g, const hfs_gof_pvalue *p) {
  json_t *j = json_object();
  json_object_set_new(j, "workspace", json_string(o->workspace));
  json_object_set_new(j, "statistic", json_string("saturated"));
  json_object_set_new(j, "t_obs", hfs_cli_json_real(g->t));
  json_object_set_new(j, "ndof", json_integer(g->ndof));
  json_object_set_new(j, "p_asymptotic", hfs_cli_json_real(g->p_asymptotic));
  json_object_set_new(j, "twice_nll", hfs_cli_json_real(g->twice_nll));
  json_object_set_new(j, "twice_nll_saturated", hfs_cli_json_real(g->twice_nll_saturated));
  json_object_set_new(j, "fit_status", json_string(hfs_fit_status_name(g->fit.status)));
  if (p) {
    json_object_set_new(j, "p_toys", hfs_cli_json_real(p->p));
    json_object_set_new(j, "p_toys_err", hfs_cli_json_real(p->p_err));
    json_object_set_new(j, "ntoys", json_integer(p->nused + p->nfailed));
    json_object_set_new(j, "ntoys_failed", json_integer(p->nfailed));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
  }
  return j;
}

static void print(const hfs_cli_opts *o, const hfs_gof *g, const hfs_gof_pvalue *p) {
  if (o->json) {
    json_t *js = gof_json(o, g, p);
    hfs_cli_print_json(js);
    json_decref(js);
  } else if (hfs_cli_show_result(o)) {
    print_text(o, g, p, o->ntoys);
  }
}

/* Asymptotic only: one fit on rank 0, nothing to distribute or resume. */
static int asymptotic(const hfs_cli_opts *o, const hfs_cli_ctx *c) {
  int rc = HFS_OK;
  hfs_infer *I = NULL;
  hfs_h5 *h5 = NULL;
  hfs_gof g;
  double t0 = hfs_now();
  HFS_CHECK(hfs_infer_create(c->model, &o->fit, c->fixed, c->init, &I));
  hfs_cli_apply_robust(o, I);
  HFS_CHECK(hfs_gof_statistic(I, NULL, NULL, NULL, &g));
  print(o, &g, NULL);
  if (o->output) {
    hfs_run_info info = hfs_cli_run_info("gof", o, c, hfs_now() - t0);
    HFS_CHECK(hfs_h5_create(o->output, &h5));
    HFS_CHECK(hfs_store_write_run_info(h5, &info));
    HFS_CHECK(hfs_store_write_gof(h5, "/gof", &g, NULL, o->seed, NULL, NULL, 0, NULL));
    HFS_CHECK(hfs_cli_data_store(h5, "/gof"));
    HFS_CHECK(hfs_h5_close(&h5));
  }
cleanup:
  hfs_h5_close(&h5);
  hfs_infer_destroy(&I);
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    return HFS_EXIT_ERROR;
  }
  if (g.fit.status != HFS_FIT_CONVERGED) {
    hfs_cli_error("fit did not converge: %s", hfs_fit_status_name(g.fit.status));
    return HFS_EXIT_FIT_FAILED;
  }
  return HFS_EXIT_OK;
}

static int toys(const hfs_cli_opts *o, const hfs_cli_ctx *c) {
  hfs_job_config cfg;
  hfs_job *job = NULL;
  hfs_cli_job_config(o, c, &cfg);
  cfg.quiet = o->quiet || o->json;
  int code = hfs_job_run(&hfs_job_gof, &cfg, &job);
  code = hfs_cli_job_report(code == HFS_EXIT_USAGE ? HFS_EXIT_ERROR : code); /* as above */
  if (hfs_cli_rank() == 0 && job && hfs_job_outcome(job) == HFS_JOB_COMPLETE &&
      (code == HFS_EXIT_OK || code == HFS_EXIT_FIT_FAILED)) {
    const hfs_gof *g = hfs_job_gof_observed(job);
    print(o, g, hfs_job_gof_pvalue(job));
    if (g->fit.status != HFS_FIT_CONVERGED)
      hfs_cli_error("fit did not converge: %s", hfs_fit_status_name(g->fit.status));
  }
  hfs_job_destroy(&job);
  return code;
}

int hfs_cmd_gof(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  int code = hfs_cli_parse("gof", argc, argv, &o);
  if (code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return code < 0 ? HFS_EXIT_OK : code;
  }
  /* Names, ranges and Asimov values are checked against the workspace:
   * bad input (exit 1), as in fit and limit. */
  int rc = hfs_cli_output_guard(&o, 1);
  if (!rc) rc = hfs_cli_load(&o, &c);
  code = hfs_cli_job_report(rc ? HFS_EXIT_ERROR : HFS_EXIT_OK);
  if (code == HFS_EXIT_OK) {
    if (o.toys)
      code = toys(&o, &c);
    else if (hfs_cli_rank() == 0)
      code = asymptotic(&o, &c);
  }
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return code;
}
