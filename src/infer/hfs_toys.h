/* Toy (pseudo-experiment) based hypothesis tests in pyhf's convention
 * (docs/inference.md): toys are drawn from the model at the conditional
 * fits to the observed data at the tested mu (signal+background) and at
 * mu = 0 (background; mu = 1 for q0), main counts ~ Poisson, auxiliary data
 * around the fitted parameters (Gaussian, or Poisson for shapesys); each toy
 * gets the test statistic from its own two fits.
 *
 * Randomness is counter-based (Random123 Philox through GSL's samplers): toy
 * (point, hypothesis, index) under a seed always gives the same pseudo-data,
 * on any rank and in any order, so results do not depend on how the work
 * was split.  Pure computation: no MPI, no I/O. */
#ifndef HFS_TOYS_H
#define HFS_TOYS_H

#include "hfs_infer.h"

#include <stdint.h>

/* Result of one toy: 40 bytes, sent between ranks as raw bytes. */
typedef struct {
  double t; /* test statistic (NaN if a fit failed badly) */
  double mu_hat;
  double nll_free, nll_cond;
  int32_t status_free, status_cond;
} hfs_toy_result;

enum { HFS_TOY_SB = 0, HFS_TOY_B = 1 };

typedef struct hfs_toys hfs_toys;

/* A toy context for npoints tested POI values mu[].  It owns copies of the
 * generating parameters, prepared lazily per point (two fits each) and
 * identical on every rank. */
int hfs_toys_create(hfs_infer *I, hfs_teststat ts, uint64_t seed, int npoints, const double *mu,
                    hfs_toys **out);
void hfs_toys_destroy(hfs_toys **T);

/* Generate toy `toy` of hypothesis hyp at point p into main (nbins) and aux
 * (naux). */
int hfs_toys_generate(hfs_toys *T, int point, int hyp, int64_t toy, double *main, double *aux);
/* Generate and evaluate one toy.  Fit failures are recorded in the result,
 * not returned as errors. */
int hfs_toys_run(hfs_toys *T, int point, int hyp, int64_t toy, hfs_toy_result *out);

/* Generating parameters of a point (after preparation): theta of the
 * hypothesis (npar) and the two fits' summaries. */
int hfs_toys_point_pars(hfs_toys *T, int point, int hyp, const double **theta,
                        hfs_fit_summary *fit);

/* CLs from toy distributions: p-values count toys with t >= t_obs (pyhf's
 * convention), binomial errors, expected CLs at the 2.3/15.9/50/84.1/97.7
 * percentiles of the CLs values of the background toys (linear
 * interpolation).  Toys whose fits did not converge are left out and
 * counted. */
typedef struct {
  double t_obs;
  double clsb, clb, cls;
  double clsb_err, clb_err, cls_err;
  double cls_exp[5];
  double clsb_exp[5];        /* the same percentiles of CLs+b (for q0: p0) */
  int64_t n_sb, n_b;         /* toys used */
  int64_t nfail_sb, nfail_b; /* toys left out (fits not converged) */
} hfs_toy_cls;

int hfs_toys_cls(const hfs_toy_result *sb, int64_t nsb, const hfs_toy_result *b, int64_t nb,
                 double t_obs, hfs_toy_cls *out);

/* The discovery significance of a p-value, Z = Phi^-1(1 - p), as pyhf's
 * p-value-to-Z; +inf for p = 0 (no toy beyond the observed statistic),
 * NaN for a p outside [0, 1]. */
double hfs_toys_z_from_p(double p);

/* Linear interpolation of the crossing of CLs(mu) = alpha on a grid (the
 * usual toy-based limit); returns NaN if the curve does not cross. */
double hfs_toys_interpolate_limit(const double *mu, const double *cls, int n, double alpha);

/* CLs of every point of a toy run from its unit table, unit u = (p * 2 + h)
 * * ntoys + toy holding toy `toy` of hypothesis h at point p; units whose
 * done[u] is 0 are left out.  cls has npoints entries. */
int hfs_toys_run_cls(int npoints, int64_t ntoys, const hfs_toy_result *units, const int64_t *done,
                     const double *t_obs, hfs_toy_cls *cls);
/* The observed and expected (-2, -1, 0, +1, +2 sigma) CLs upper limits at
 * confidence level cl, interpolated on the grid mu from per-point CLs. */
int hfs_toys_run_limit(int npoints, const double *mu, const hfs_toy_cls *cls, double cl,
                       double *obs, double exp[5]);

/* Toys of a signal-grid point (hfs_point_options, hfs_infer_point).  A
 * point's toys come in batches of o->toys_batch per hypothesis: batch j
 * holds toys [j * batch, min((j + 1) * batch, toys_max)) of both
 * hypotheses, computed from j and o->seed alone, so that the batches of one
 * point can be spread over ranks.  After each batch in index order, from
 * the first check on, the point stops when the binomial error on CLs
 * reaches o->cls_accuracy (and toys_min is reached) or at toys_max. */
int64_t hfs_point_toy_batches(const hfs_point_options *o); /* at toys_max */
/* The batches before the first check: the toys expected to reach the
 * accuracy from the asymptotic record asym (its CLs+b and CLb), at least
 * toys_min; asym NULL: toys_min's. */
int64_t hfs_point_toy_first_check(const hfs_point_options *o, const hfs_point_result *asym);
/* Toys per hypothesis in the first nbatches batches. */
int64_t hfs_point_toy_count(const hfs_point_options *o, int64_t nbatches);
/* Batch `batch` of the point whose model I holds: *n toys of each
 * hypothesis into sb and b (room for o->toys_batch each).  Errors are
 * returned (a toy whose fits do not converge is a result, not an error). */
int hfs_point_toys_batch(hfs_infer *I, const hfs_point_options *o, int64_t batch,
                         hfs_toy_result *sb, hfs_toy_result *b, int64_t *n);
/* The check after the first nbatches batches, whose toys are sb and b (in
 * index order): r holds the point's asymptotic record (q_obs, statuses).
 * *stop = 1 when the point stops there, and r then holds the toy CLs and
 * counts; *cls_err (may be NULL) gets the error on CLs at this count (NaN
 * before the first check). */
int hfs_point_toys_check(const hfs_point_options *o, const hfs_toy_result *sb,
                         const hfs_toy_result *b, int64_t nbatches, hfs_point_result *r, int *stop,
                         double *cls_err);
/* A point whose toys could not be computed: status error, no CLs, the
 * message prefixed "toys: ". */
void hfs_point_toys_failed(hfs_point_result *r, const char *message);

#endif
