/* Saturated-model goodness of fit, asymptotic and with toys (hfs_diag.h). */
#include "hfs_diag.h"
#include "hfs_error.h"

#include <Random123/philox.h>
#include <Random123/gsl_microrng.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Philox4x64 behind GSL's samplers, reset per toy as in toys.c, with a key of
 * its own so that goodness-of-fit toys never repeat hypothesis-test toys. */
GSL_MICRORNG(hfs_gof_philox, philox4x64);

int hfs_gof_ndof(hfs_infer *I) {
  hfs_model *m = hfs_infer_model(I);
  const int *fixed = hfs_infer_fixed(I);
  int nfree_unconstrained = 0;
  for (int i = 0; i < hfs_model_npar(m); ++i)
    if (!fixed[i] && hfs_model_par_constraint(m, i) == HFS_CONSTR_NONE) ++nfree_unconstrained;
  return hfs_model_nbins(m) - nfree_unconstrained;
}

/* The statistic from a fit held in r (initialised by the caller). */
static int statistic(hfs_infer *I, const double *main, const double *aux, const double *start,
                     hfs_fit_result *r, hfs_gof *out) {
  int rc = HFS_OK;
  hfs_model *m = hfs_infer_model(I);
  if (!main) main = hfs_model_observed(m);
  if (!aux) aux = hfs_model_auxdata(m);
  HFS_CHECK(hfs_infer_fit_free(I, main, aux, start, r));
  hfs_fit_summarize(r, hfs_model_poi(m), &out->fit);
  out->twice_nll = r->twice_nll;
  out->twice_nll_saturated = hfs_model_twice_nll_constant(m, main, aux);
  out->t = out->twice_nll - out->twice_nll_saturated;
  /* The best fit cannot beat the saturated model; rounding can make t a hair
   * negative when the model describes the data exactly (Asimov data). */
  if (out->t < 0 && isfinite(out->t)) out->t = 0;
  out->ndof = hfs_gof_ndof(I);
  out->p_asymptotic = out->ndof > 0 && isfinite(out->t) ? gsl_cdf_chisq_Q(out->t, out->ndof) : NAN;
cleanup:
  return rc;
}

int hfs_gof_statistic(hfs_infer *I, const double *main, const double *aux, const double *start,
                      hfs_gof *out) {
  int rc = HFS_OK;
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  HFS_CHECK(hfs_fit_result_init(&r, hfs_model_npar(hfs_infer_model(I)), 0));
  HFS_CHECK(statistic(I, main, aux, start, &r, out));
cleanup:
  hfs_fit_result_free(&r);
  return rc;
}

struct hfs_gof_toys {
  hfs_infer *I;
  hfs_model *m;
  uint64_t seed;
  int npar, nbins, naux;
  double *theta;       /* generating parameters: best fit to the data */
  double *expect_main; /* nbins */
  double *expect_aux;  /* naux: constraint means at theta */
  double *main, *aux;  /* scratch toy data */
  hfs_fit_result r;
  gsl_rng *rng;
};

int hfs_gof_toys_create(hfs_infer *I, uint64_t seed, hfs_gof_toys **out, hfs_gof *obs) {
  int rc = HFS_OK;
  hfs_gof_toys *G = NULL;
  hfs_gof o;
  *out = NULL;
  HFS_ALLOC(G, 1);
  G->I = I;
  G->m = hfs_infer_model(I);
  G->seed = seed;
  G->npar = hfs_model_npar(G->m);
  G->nbins = hfs_model_nbins(G->m);
  G->naux = hfs_model_naux(G->m);
  HFS_ALLOC(G->theta, G->npar);
  HFS_ALLOC(G->expect_main, G->nbins);
  HFS_ALLOC(G->expect_aux, G->naux);
  HFS_ALLOC(G->main, G->nbins);
  HFS_ALLOC(G->aux, G->naux);
  HFS_CHECK(hfs_fit_result_init(&G->r, G->npar, 0));
  G->rng = gsl_rng_alloc(gsl_rng_hfs_gof_philox);
  if (!G->rng) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  HFS_CHECK(statistic(I, NULL, NULL, NULL, &G->r, &o));
  memcpy(G->theta, G->r.theta, sizeof(double) * (size_t)G->npar);
  hfs_model_expected(G->m, G->theta, G->expect_main, G->expect_aux);
  if (obs) *obs = o;
  *out = G;
  G = NULL;
cleanup:
  hfs_gof_toys_destroy(&G);
  return rc;
}

void hfs_gof_toys_destroy(hfs_gof_toys **Gp) {
  if (!Gp || !*Gp) return;
  hfs_gof_toys *G = *Gp;
  free(G->theta);
  free(G->expect_main);
  free(G->expect_aux);
  free(G->main);
  free(G->aux);
  hfs_fit_result_free(&G->r);
  if (G->rng) gsl_rng_free(G->rng);
  free(G);
  *Gp = NULL;
}

const double *hfs_gof_toys_theta(const hfs_gof_toys *G) { return G->theta; }

int hfs_gof_toys_generate(hfs_gof_toys *G, int64_t toy, double *main, double *aux) {
  if (toy < 0)
    return hfs_error_set(HFS_ERR_ARG, "goodness-of-fit toy %lld out of range", (long long)toy);
  philox4x64_ctr_t c = {{(uint64_t)toy, 0, 0, 0}};
  philox4x64_key_t k = {{G->seed, 0x6866732d676f66ULL /* "hfs-gof" */}};
  hfs_gof_philox_reset(G->rng, c, k);
  for (int b = 0; b < G->nbins; ++b)
    main[b] = G->expect_main[b] > 0 ? gsl_ran_poisson(G->rng, G->expect_main[b]) : 0;
  for (int i = 0; i < G->npar; ++i) {
    int a = hfs_model_par_aux_index(G->m, i);
    if (a < 0) continue;
    if (hfs_model_par_constraint(G->m, i) == HFS_CONSTR_GAUSS)
      aux[a] = G->theta[i] + gsl_ran_gaussian_ziggurat(G->rng, hfs_model_par_sigma(G->m, i));
    else
      aux[a] = G->expect_aux[a] > 0 ? gsl_ran_poisson(G->rng, G->expect_aux[a]) : 0;
  }
  return HFS_OK;
}

int hfs_gof_toys_run(hfs_gof_toys *G, int64_t toy, hfs_gof_toy *out) {
  int rc = HFS_OK;
  hfs_gof g;
  HFS_CHECK(hfs_gof_toys_generate(G, toy, G->main, G->aux));
  HFS_CHECK(statistic(G->I, G->main, G->aux, G->theta, &G->r, &g));
  out->t = isfinite(g.t) ? g.t : NAN;
  out->twice_nll = g.twice_nll;
  out->status = g.fit.status;
  out->pad = 0;
cleanup:
  return rc;
}

void hfs_gof_toys_pvalue(const hfs_gof_toy *toys, int64_t n, double t_obs, hfs_gof_pvalue *out) {
  int64_t used = 0, above = 0, failed = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (toys[i].status != HFS_FIT_CONVERGED || !isfinite(toys[i].t)) {
      ++failed;
      continue;
    }
    ++used;
    above += toys[i].t >= t_obs;
  }
  out->nused = used;
  out->nfailed = failed;
  out->p = used ? (double)above / (double)used : NAN;
  out->p_err = used ? sqrt(out->p * (1 - out->p) / (double)used) : NAN;
}
