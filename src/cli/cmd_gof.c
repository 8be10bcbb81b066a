/* hfscan gof: saturated-model goodness of fit, asymptotic and with toys
 * spread over the ranks by the scheduler (docs/diagnostics.md). */
#include "cli.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_sched.h"
#include "hfs_store.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
  hfs_gof_toys *G;
  hfs_gof_toy *res; /* master: ntoys results by toy index */
} gof_job;

static int toy_run(void *ctx, int64_t u, void *out) {
  return hfs_gof_toys_run(((gof_job *)ctx)->G, u, out);
}

static int toy_collect(void *ctx, int64_t u, const void *r) {
  memcpy(&((gof_job *)ctx)->res[u], r, sizeof(hfs_gof_toy));
  return HFS_OK;
}

static void print_text(const hfs_cli_opts *o, const hfs_gof *g, const hfs_gof_pvalue *p,
                       int64_t ntoys) {
  printf("hfscan gof: %s (saturated model)\n", o->workspace);
  printf("fit         %s, twice_nll %.6f (saturated %.6f)\n", hfs_fit_status_name(g->fit.status),
         g->twice_nll, g->twice_nll_saturated);
  printf("statistic   t = %.6f, ndof = %d (bins - free unconstrained parameters)\n", g->t,
         g->ndof);
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

int hfs_cmd_gof(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  hfs_infer *I = NULL;
  hfs_sched *sched = NULL;
  hfs_h5 *h5 = NULL;
  gof_job j = {NULL, NULL};
  hfs_gof g;
  hfs_gof_pvalue pv;
  int rc = HFS_OK, exit_code, rank = hfs_cli_rank();
  double t0 = hfs_now();
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  exit_code = hfs_cli_parse("gof", argc, argv, &o);
  if (exit_code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return exit_code < 0 ? HFS_EXIT_OK : exit_code;
  }
  /* Every rank fits the observed data the same way: the toys are drawn from
   * that fit. */
  HFS_CHECK(hfs_cli_load(&o, &c));
  HFS_CHECK(hfs_infer_create(c.model, &o.fit, c.fixed, c.init, &I));
  HFS_CHECK(hfs_gof_toys_create(I, o.seed, &j.G, &g));
  if (o.toys) {
    if (rank == 0) HFS_ALLOC(j.res, o.ntoys);
    hfs_sched_options so;
    hfs_sched_options_default(&so);
    so.progress = !o.quiet && !o.json;
    hfs_sched_task task = {"goodness-of-fit toys", sizeof(hfs_gof_toy), toy_run, toy_collect,
                           &j};
    HFS_CHECK(hfs_sched_create(MPI_COMM_WORLD, &so, &sched));
    rc = hfs_sched_run(sched, &task, NULL, o.ntoys, NULL);
    if (rc == HFS_ERR_INTERRUPTED) {
      hfs_error_set(rc, "interrupted before all %lld toys were done", (long long)o.ntoys);
      exit_code = HFS_EXIT_INTERRUPTED;
      goto cleanup;
    }
    if (rc) goto cleanup;
    if (rank == 0) hfs_gof_toys_pvalue(j.res, o.ntoys, g.t, &pv);
  }
  if (rank == 0) {
    if (o.json) {
      json_t *js = gof_json(&o, &g, o.toys ? &pv : NULL);
      hfs_cli_print_json(js);
      json_decref(js);
    } else if (hfs_cli_show_result(&o)) {
      print_text(&o, &g, o.toys ? &pv : NULL, o.ntoys);
    }
    if (o.output) {
      hfs_run_info info = {"gof", o.argv_line, o.workspace, c.sha256,
                           hfs_model_measurement(c.model), hfs_optimizer_name(o.fit.optimizer),
                           o.model.normsys_code, o.model.histosys_code, hfs_now() - t0,
                           hfs_cli_size(), hfs_model_par_name(c.model, hfs_model_poi(c.model))};
      HFS_CHECK(hfs_h5_create(o.output, &h5));
      HFS_CHECK(hfs_store_write_run_info(h5, &info));
      HFS_CHECK(hfs_store_write_gof(h5, "/gof", &g, o.seed, j.res, o.toys ? o.ntoys : 0,
                                    o.toys ? &pv : NULL));
      HFS_CHECK(hfs_cli_data_store(h5, "/gof"));
      HFS_CHECK(hfs_h5_close(&h5));
    }
  }
cleanup:
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    if (exit_code != HFS_EXIT_INTERRUPTED) exit_code = HFS_EXIT_ERROR;
  } else if (g.fit.status != HFS_FIT_CONVERGED) {
    hfs_cli_error("fit did not converge: %s", hfs_fit_status_name(g.fit.status));
    exit_code = HFS_EXIT_FIT_FAILED;
  }
  hfs_h5_close(&h5);
  hfs_sched_destroy(&sched);
  hfs_gof_toys_destroy(&j.G);
  free(j.res);
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}
