/* Toy generation and toy-based CLs (see hfs_toys.h). */
#include "hfs_error.h"
#include "hfs_toys.h"
#include "infer_internal.h"

#include <Random123/philox.h>
#include <Random123/gsl_microrng.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A GSL generator backed by Philox4x64: reset per toy with the toy's
 * coordinates as counter, so GSL's Poisson and Gaussian samplers draw from a
 * stream owned by that toy alone. */
GSL_MICRORNG(hfs_philox, philox4x64);

struct hfs_toys {
  hfs_infer *I;
  hfs_model *m;
  hfs_teststat ts;
  uint64_t seed;
  int npoints, npar, nbins, naux, poi;
  double *mu;           /* npoints */
  int *ready;           /* npoints */
  double *theta;        /* npoints x 2 x npar */
  double *expect_main;  /* npoints x 2 x nbins */
  double *expect_aux;   /* npoints x 2 x naux: constraint means */
  hfs_fit_summary *gen; /* npoints x 2 */
  double *main, *aux;   /* scratch toy data */
  hfs_fit_result fr;
  gsl_rng *rng;
};

int hfs_toys_create(hfs_infer *I, hfs_teststat ts, uint64_t seed, int npoints, const double *mu,
                    hfs_toys **out) {
  int rc = HFS_OK;
  hfs_toys *T = NULL;
  *out = NULL;
  HFS_ALLOC(T, 1);
  T->I = I;
  T->m = hfs_infer_model(I);
  T->ts = ts;
  T->seed = seed;
  T->npoints = npoints;
  T->npar = hfs_model_npar(T->m);
  T->nbins = hfs_model_nbins(T->m);
  T->naux = hfs_model_naux(T->m);
  T->poi = hfs_model_poi(T->m);
  HFS_ALLOC(T->mu, npoints);
  memcpy(T->mu, mu, sizeof(double) * (size_t)npoints);
  HFS_ALLOC(T->ready, npoints);
  HFS_ALLOC(T->theta, (size_t)npoints * 2 * T->npar);
  HFS_ALLOC(T->expect_main, (size_t)npoints * 2 * T->nbins);
  HFS_ALLOC(T->expect_aux, (size_t)npoints * 2 * (T->naux ? T->naux : 1));
  HFS_ALLOC(T->gen, (size_t)npoints * 2);
  HFS_ALLOC(T->main, T->nbins);
  HFS_ALLOC(T->aux, T->naux);
  HFS_CHECK(hfs_fit_result_init(&T->fr, T->npar, 0));
  T->rng = gsl_rng_alloc(gsl_rng_hfs_philox);
  if (!T->rng) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  *out = T;
  T = NULL;
cleanup:
  hfs_toys_destroy(&T);
  return rc;
}

void hfs_toys_destroy(hfs_toys **Tp) {
  if (!Tp || !*Tp) return;
  hfs_toys *T = *Tp;
  free(T->mu);
  free(T->ready);
  free(T->theta);
  free(T->expect_main);
  free(T->expect_aux);
  free(T->gen);
  free(T->main);
  free(T->aux);
  hfs_fit_result_free(&T->fr);
  if (T->rng) gsl_rng_free(T->rng);
  free(T);
  *Tp = NULL;
}

/* Conditional fits to the observed data at the two hypotheses of a point. */
static int prepare(hfs_toys *T, int p) {
  int rc = HFS_OK;
  if (T->ready[p]) return HFS_OK;
  for (int h = 0; h < 2; ++h) {
    double mu_gen = h == HFS_TOY_SB ? T->mu[p] : (T->ts == HFS_TS_Q0 ? 1.0 : 0.0);
    HFS_CHECK(hfs_infer_fit_fixed_poi(T->I, mu_gen, NULL, NULL, NULL, &T->fr));
    size_t k = (size_t)p * 2 + h;
    memcpy(&T->theta[k * T->npar], T->fr.theta, sizeof(double) * (size_t)T->npar);
    hfs_fit_summarize(&T->fr, T->poi, &T->gen[k]);
    hfs_model_expected(T->m, T->fr.theta, &T->expect_main[k * T->nbins],
                       T->naux ? &T->expect_aux[k * T->naux] : NULL);
  }
  T->ready[p] = 1;
cleanup:
  return rc;
}

int hfs_toys_point_pars(hfs_toys *T, int p, int h, const double **theta, hfs_fit_summary *fit) {
  int rc = prepare(T, p);
  if (rc) return rc;
  size_t k = (size_t)p * 2 + h;
  if (theta) *theta = &T->theta[k * T->npar];
  if (fit) *fit = T->gen[k];
  return HFS_OK;
}

int hfs_toys_generate(hfs_toys *T, int p, int h, int64_t toy, double *main, double *aux) {
  if (p < 0 || p >= T->npoints || (h != 0 && h != 1) || toy < 0)
    return hfs_error_set(HFS_ERR_ARG, "toy (%d, %d, %lld) out of range", p, h, (long long)toy);
  int rc = prepare(T, p);
  if (rc) return rc;
  philox4x64_ctr_t c = {{(uint64_t)toy, (uint64_t)p, (uint64_t)h, 0}};
  philox4x64_key_t k = {{T->seed, 0x6866736361ULL /* "hfsca" */}};
  hfs_philox_reset(T->rng, c, k);
  size_t kk = (size_t)p * 2 + h;
  const double *nu = &T->expect_main[kk * T->nbins];
  for (int b = 0; b < T->nbins; ++b) main[b] = nu[b] > 0 ? gsl_ran_poisson(T->rng, nu[b]) : 0;
  const double *theta = &T->theta[kk * T->npar];
  const double *mean = T->naux ? &T->expect_aux[kk * T->naux] : NULL;
  for (int i = 0; i < T->npar; ++i) {
    int a = hfs_model_par_aux_index(T->m, i);
    if (a < 0) continue;
    if (hfs_model_par_constraint(T->m, i) == HFS_CONSTR_GAUSS)
      aux[a] = theta[i] + gsl_ran_gaussian_ziggurat(T->rng, hfs_model_par_sigma(T->m, i));
    else
      aux[a] = mean[a] > 0 ? gsl_ran_poisson(T->rng, mean[a]) : 0;
  }
  return HFS_OK;
}

int hfs_toys_run(hfs_toys *T, int p, int h, int64_t toy, hfs_toy_result *out) {
  int rc = hfs_toys_generate(T, p, h, toy, T->main, T->aux);
  if (rc) return rc;
  hfs_fit_summary fs, cs;
  double t;
  const double *start = &T->theta[((size_t)p * 2 + h) * T->npar];
  rc = hfs_infer_teststat_from(T->I, T->ts, T->mu[p], T->main, T->aux, start, &t, &fs, &cs);
  if (rc) return rc;
  out->t = t;
  out->mu_hat = fs.poi;
  out->nll_free = fs.twice_nll;
  out->nll_cond = cs.twice_nll;
  out->status_free = fs.status;
  out->status_cond = cs.status;
  return HFS_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int usable(const hfs_toy_result *r) {
  return r->status_free == HFS_FIT_CONVERGED && r->status_cond == HFS_FIT_CONVERGED &&
         isfinite(r->t);
}

/* Fraction of sorted values >= x. */
static double tail(const double *sorted, int64_t n, double x) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (sorted[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return n ? (double)(n - lo) / (double)n : NAN;
}

/* numpy.percentile's default (linear) on sorted data. */
static double percentile(const double *s, int64_t n, double q) {
  if (n == 0) return NAN;
  double idx = q / 100.0 * (double)(n - 1);
  int64_t i = (int64_t)floor(idx);
  if (i >= n - 1) return s[n - 1];
  double f = idx - (double)i;
  return s[i] + f * (s[i + 1] - s[i]);
}

int hfs_toys_cls(const hfs_toy_result *sb, int64_t nsb, const hfs_toy_result *b, int64_t nb,
                 double t_obs, hfs_toy_cls *out) {
  static const double q[5] = {2.27501319, 15.86552539, 50.0, 84.13447461, 97.72498681};
  int rc = HFS_OK;
  double *tsb = NULL, *tb = NULL, *cls = NULL;
  memset(out, 0, sizeof *out);
  out->t_obs = t_obs;
  HFS_ALLOC(tsb, nsb);
  HFS_ALLOC(tb, nb);
  HFS_ALLOC(cls, nb);
  for (int64_t i = 0; i < nsb; ++i)
    if (usable(&sb[i]))
      tsb[out->n_sb++] = sb[i].t;
    else
      out->nfail_sb++;
  for (int64_t i = 0; i < nb; ++i)
    if (usable(&b[i]))
      tb[out->n_b++] = b[i].t;
    else
      out->nfail_b++;
  qsort(tsb, (size_t)out->n_sb, sizeof(double), cmp_double);
  qsort(tb, (size_t)out->n_b, sizeof(double), cmp_double);
  out->clsb = tail(tsb, out->n_sb, t_obs);
  out->clb = tail(tb, out->n_b, t_obs);
  out->cls = out->clb > 0 ? out->clsb / out->clb : NAN;
  out->clsb_err = out->n_sb ? sqrt(out->clsb * (1 - out->clsb) / out->n_sb) : NAN;
  out->clb_err = out->n_b ? sqrt(out->clb * (1 - out->clb) / out->n_b) : NAN;
  if (out->clsb > 0 && out->clb > 0)
    out->cls_err =
        out->cls * sqrt(pow(out->clsb_err / out->clsb, 2) + pow(out->clb_err / out->clb, 2));
  else
    out->cls_err = out->clb > 0 ? out->clsb_err / out->clb : NAN;
  for (int64_t i = 0; i < out->n_b; ++i) {
    double psb = tail(tsb, out->n_sb, tb[i]), pb = tail(tb, out->n_b, tb[i]);
    cls[i] = pb > 0 ? psb / pb : 0;
  }
  qsort(cls, (size_t)out->n_b, sizeof(double), cmp_double);
  for (int k = 0; k < 5; ++k) out->cls_exp[k] = percentile(cls, out->n_b, q[k]);
  /* CLs+b of every background toy: for q0 the expected discovery p-values */
  for (int64_t i = 0; i < out->n_b; ++i) cls[i] = tail(tsb, out->n_sb, tb[i]);
  qsort(cls, (size_t)out->n_b, sizeof(double), cmp_double);
  for (int k = 0; k < 5; ++k) out->clsb_exp[k] = percentile(cls, out->n_b, q[k]);
cleanup:
  free(tsb);
  free(tb);
  free(cls);
  return rc;
}

double hfs_toys_z_from_p(double p) {
  if (!(p >= 0 && p <= 1)) return NAN;
  if (p == 0) return INFINITY;
  return gsl_cdf_ugaussian_Qinv(p);
}

double hfs_toys_interpolate_limit(const double *mu, const double *cls, int n, double alpha) {
  for (int i = 0; i + 1 < n; ++i) {
    double a = cls[i] - alpha, b = cls[i + 1] - alpha;
    if (!isfinite(a) || !isfinite(b)) continue;
    if (a >= 0 && b < 0) return mu[i] + (mu[i + 1] - mu[i]) * a / (a - b);
  }
  return NAN;
}

int hfs_toys_run_cls(int npoints, int64_t ntoys, const hfs_toy_result *units, const int64_t *done,
                     const double *t_obs, hfs_toy_cls *cls) {
  int rc = HFS_OK;
  hfs_toy_result *sb = NULL, *b = NULL;
  HFS_ALLOC(sb, ntoys);
  HFS_ALLOC(b, ntoys);
  for (int p = 0; p < npoints; ++p) {
    int64_t nsb = 0, nb = 0;
    for (int64_t t = 0; t < ntoys; ++t) {
      int64_t usb = ((int64_t)p * 2 + HFS_TOY_SB) * ntoys + t;
      int64_t ub = ((int64_t)p * 2 + HFS_TOY_B) * ntoys + t;
      if (done[usb]) sb[nsb++] = units[usb];
      if (done[ub]) b[nb++] = units[ub];
    }
    HFS_CHECK(hfs_toys_cls(sb, nsb, b, nb, t_obs[p], &cls[p]));
  }
cleanup:
  free(sb);
  free(b);
  return rc;
}

int hfs_toys_run_limit(int npoints, const double *mu, const hfs_toy_cls *cls, double cl,
                       double *obs, double exp[5]) {
  int rc = HFS_OK;
  double *v = NULL;
  HFS_ALLOC(v, npoints);
  for (int p = 0; p < npoints; ++p) v[p] = cls[p].cls;
  *obs = hfs_toys_interpolate_limit(mu, v, npoints, 1 - cl);
  for (int k = 0; k < 5; ++k) {
    for (int p = 0; p < npoints; ++p) v[p] = cls[p].cls_exp[k];
    exp[k] = hfs_toys_interpolate_limit(mu, v, npoints, 1 - cl);
  }
cleanup:
  free(v);
  return rc;
}
