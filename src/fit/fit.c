/* The fitter: the optimizer engine bound to one hfs_model.
 *
 * The engine minimises an objective given as function pointers; here they
 * are the model's twice_nll and analytic Hessian, evaluated on the data of
 * the fit under way (observed, Asimov or toy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hfs_error.h"

struct hfs_fitter {
  hfs_model *model;
  hfs_fit_engine *engine;
  int npar;
  double *init;       /* the model's suggested init */
  int *fixed;         /* the model's suggested fixed set */
  const double *main; /* data of the fit under way */
  const double *aux;
  double *nu, *aux_exp; /* their expectation at a point (expected Hessian) */
};

static double fitter_objective(void *ctx, const double *theta, double *grad) {
  hfs_fitter *f = ctx;
  return hfs_model_twice_nll(f->model, f->main, f->aux, theta, grad);
}

static int fitter_hessian(void *ctx, const double *theta, double *hess) {
  hfs_fitter *f = ctx;
  return hfs_model_hessian(f->model, f->main, f->aux, theta, hess);
}

static int fitter_hessian_blocks(void *ctx, const double *theta, double *hss, double *hbb,
                                 double *hbs) {
  hfs_fitter *f = ctx;
  return hfs_model_hessian_blocks(f->model, f->main, f->aux, theta, hss, hbb, hbs);
}

/* The Hessians at theta with the data replaced by their expectation there
 * (the Newton backend's scoring step where the Hessian is indefinite). */
static void fitter_expect(hfs_fitter *f, const double *theta) {
  hfs_model_expected(f->model, theta, f->nu, hfs_model_naux(f->model) > 0 ? f->aux_exp : NULL);
}

static int fitter_hessian_expected(void *ctx, const double *theta, double *hess) {
  hfs_fitter *f = ctx;
  fitter_expect(f, theta);
  return hfs_model_hessian(f->model, f->nu, f->aux_exp, theta, hess);
}

static int fitter_hessian_blocks_expected(void *ctx, const double *theta, double *hss, double *hbb,
                                          double *hbs) {
  hfs_fitter *f = ctx;
  fitter_expect(f, theta);
  return hfs_model_hessian_blocks(f->model, f->nu, f->aux_exp, theta, hss, hbb, hbs);
}

int hfs_fitter_create(hfs_model *model, const hfs_fit_options *opts, hfs_fitter **out) {
  int rc = HFS_OK;
  hfs_fitter *f = NULL;
  double *lo = NULL, *hi = NULL;
  hfs_fit_options defaults = HFS_FIT_OPTIONS_DEFAULT;
  if (!model || !out) HFS_FAIL(HFS_ERR_ARG, "hfs_fitter_create: bad arguments");
  *out = NULL;
  if (!opts) opts = &defaults;
  int npar = hfs_model_npar(model);
  HFS_ALLOC(f, 1);
  f->model = model;
  f->npar = npar;
  HFS_ALLOC(f->init, npar);
  HFS_ALLOC(f->fixed, npar);
  HFS_ALLOC(f->nu, hfs_model_nbins(model) + 1);
  HFS_ALLOC(f->aux_exp, hfs_model_naux(model) + 1);
  HFS_ALLOC(lo, npar);
  HFS_ALLOC(hi, npar);
  hfs_model_init(model, f->init);
  int nfree = 0;
  for (int i = 0; i < npar; i++) {
    lo[i] = hfs_model_par_lo(model, i);
    hi[i] = hfs_model_par_hi(model, i);
    f->fixed[i] = hfs_model_par_fixed(model, i) != 0;
    nfree += !f->fixed[i];
  }
  HFS_CHECK(hfs__fit_engine_create(npar, lo, hi, fitter_objective, fitter_hessian, f, NULL, opts,
                                   &f->engine));
  /* The Hessian's block structure (per-bin gammas), for the Newton backend
   * and the covariance; a model without per-bin parameters stays dense. */
  {
    hfs_model_structure ms;
    hfs_model_structure_get(model, &ms);
    if (ms.nblocks > 0) {
      hfs_fit_structure fs = {ms.nshared, ms.shared, ms.nblocks, ms.block_off, ms.block_par};
      HFS_CHECK(hfs__fit_engine_set_structure(f->engine, &fs, fitter_hessian_blocks));
    }
    hfs__fit_blocks_set_expected(f->engine->prob.blocks, fitter_hessian_blocks_expected,
                                 fitter_hessian_expected);
  }
  /* The sizes of a free fit and of a fit with the POI fixed, built now so
   * that those fits allocate nothing. */
  HFS_CHECK(hfs__fit_engine_prepare(f->engine, nfree));
  int poi = hfs_model_poi(model);
  if (poi >= 0 && poi < npar && !f->fixed[poi])
    HFS_CHECK(hfs__fit_engine_prepare(f->engine, nfree - 1));
  *out = f;
  f = NULL;
cleanup:
  free(lo);
  free(hi);
  hfs_fitter_destroy(&f);
  return rc;
}

void hfs_fitter_destroy(hfs_fitter **pf) {
  if (!pf || !*pf) return;
  hfs_fitter *f = *pf;
  hfs__fit_engine_destroy(&f->engine);
  free(f->init);
  free(f->fixed);
  free(f->nu);
  free(f->aux_exp);
  free(f);
  *pf = NULL;
}

static void fitter_set_data(hfs_fitter *f, const double *main, const double *aux) {
  f->main = main ? main : hfs_model_observed(f->model);
  f->aux = aux ? aux : hfs_model_auxdata(f->model);
}

int hfs_fitter_minimize(hfs_fitter *f, const double *main, const double *aux, const double *init,
                        const int *fixed, int with_errors, hfs_fit_result *res) {
  if (!f || !res) return hfs_error_set(HFS_ERR_ARG, "hfs_fitter_minimize: bad arguments");
  fitter_set_data(f, main, aux);
  int rc = hfs__fit_engine_minimize(f->engine, init ? init : f->init, fixed ? fixed : f->fixed,
                                    with_errors, res);
  /* The engine knows no model: the model names what is not finite. */
  char why[128];
  if (rc == HFS_OK && res->status == HFS_FIT_NONFINITE &&
      strstr(res->reason, "at the start point") &&
      hfs_model_first_nonfinite(f->model, f->main, res->theta, why, sizeof why)) {
    size_t l = strlen(res->reason);
    snprintf(res->reason + l, sizeof res->reason - l, ": %s", why);
  }
  return rc;
}

int hfs_fitter_covariance(hfs_fitter *f, const double *main, const double *aux, const double *theta,
                          const int *fixed, double *cov, double *error, double *corr) {
  if (!f || !theta) return hfs_error_set(HFS_ERR_ARG, "hfs_fitter_covariance: bad arguments");
  fitter_set_data(f, main, aux);
  return hfs__fit_engine_covariance(f->engine, theta, fixed ? fixed : f->fixed, cov, error, corr);
}

int hfs_fitter_profile_direction(hfs_fitter *f, const double *theta, int par, double *v,
                                 double *var) {
  if (!f || !theta || !v) return 0;
  return hfs__fit_engine_profile_direction(f->engine, theta, par, v, var);
}

int hfs_fitter_set_first_scoring(hfs_fitter *f, int on) {
  if (!f) return hfs_error_set(HFS_ERR_ARG, "hfs_fitter_set_first_scoring: no fitter");
  return hfs__fit_engine_first_scoring(f->engine, on);
}

void hfs__fit_fitter_set_watch(hfs_fitter *f, hfs_fit_watch_fn fn, void *ctx) {
  f->engine->prob.watch = fn;
  f->engine->prob.watch_ctx = ctx;
}
