/* Inference context, fits at fixed POI, test statistics and Asimov data. */
#include "hfs_error.h"
#include "infer_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ts_names[] = {"qtilde", "q", "tmu", "tmutilde", "q0"};

const char *const hfs_hypotest_fit_names[HFS_HT_NFITS] = {
    "free_fit_to_data", "fixed_poi_fit_to_data", "asimov_generation_fit", "free_fit_to_asimov",
    "fixed_poi_fit_to_asimov"};

const char *hfs_teststat_name(hfs_teststat ts) {
  return (unsigned)ts < 5 ? ts_names[ts] : "unknown";
}

int hfs_teststat_from_name(const char *name, hfs_teststat *out) {
  for (int i = 0; i < 5; ++i)
    if (strcmp(name, ts_names[i]) == 0) {
      *out = (hfs_teststat)i;
      return HFS_OK;
    }
  return hfs_error_set(HFS_ERR_ARG,
                       "unknown test statistic '%s' (use qtilde, q, tmu, "
                       "tmutilde or q0)",
                       name);
}

void hfs_fit_summarize(const hfs_fit_result *r, int poi, hfs_fit_summary *s) {
  s->status = r->status;
  s->twice_nll = r->twice_nll;
  s->poi = r->theta[poi];
  s->n_iter = r->n_iter;
  s->n_eval = r->n_eval;
  s->time_s = r->time_s;
  s->n_starts = r->n_starts;
  s->n_minima = r->n_minima;
  s->kept_start = r->kept_start;
  s->repaired = 0;
}

int hfs_infer_create(hfs_model *m, const hfs_fit_options *fo, const int *fixed, const double *init,
                     hfs_infer **out) {
  int rc = HFS_OK;
  hfs_infer *I = NULL;
  *out = NULL;
  HFS_ALLOC(I, 1);
  I->m = m;
  I->npar = hfs_model_npar(m);
  I->nbins = hfs_model_nbins(m);
  I->naux = hfs_model_naux(m);
  I->poi = hfs_model_poi(m);
  HFS_CHECK(hfs_fitter_create(m, fo, &I->fitter));
  HFS_ALLOC(I->fixed, I->npar);
  HFS_ALLOC(I->fixed_poi, I->npar);
  HFS_ALLOC(I->init, I->npar);
  HFS_ALLOC(I->start, I->npar);
  HFS_ALLOC(I->start2, I->npar);
  HFS_ALLOC(I->dir, I->npar);
  HFS_ALLOC(I->dir_data, I->npar);
  HFS_ALLOC(I->dir_asimov, I->npar);
  HFS_CHECK(hfs_multistart_create(m, I->fitter, &I->ms));
  I->robust_observed = 1;
  I->robust_toys = 0;
  HFS_ALLOC(I->asimov_main, I->nbins);
  HFS_ALLOC(I->asimov_aux, I->naux);
  for (int i = 0; i < I->npar; ++i) {
    I->fixed[i] = fixed ? fixed[i] : hfs_model_par_fixed(m, i);
    I->init[i] = init ? init[i] : hfs_model_par_init(m, i);
    I->fixed_poi[i] = I->fixed[i];
  }
  I->fixed_poi[I->poi] = 1;
  HFS_CHECK(hfs_fit_result_init(&I->r, I->npar, 0));
  HFS_CHECK(hfs_fit_result_init(&I->r2, I->npar, 0));
  HFS_CHECK(hfs_fit_result_init(&I->free_data, I->npar, 0));
  HFS_CHECK(hfs_fit_result_init(&I->free_asimov, I->npar, 0));
  *out = I;
  I = NULL;
cleanup:
  hfs_infer_destroy(&I);
  return rc;
}

void hfs_infer_destroy(hfs_infer **Ip) {
  if (!Ip || !*Ip) return;
  hfs_infer *I = *Ip;
  hfs_multistart_destroy(&I->ms);
  hfs_fitter_destroy(&I->fitter);
  hfs_fit_result_free(&I->r);
  hfs_fit_result_free(&I->r2);
  hfs_fit_result_free(&I->free_data);
  hfs_fit_result_free(&I->free_asimov);
  free(I->fixed);
  free(I->fixed_poi);
  free(I->init);
  free(I->start);
  free(I->start2);
  free(I->dir);
  free(I->dir_data);
  free(I->dir_asimov);
  free(I->asimov_main);
  free(I->asimov_aux);
  free(I);
  *Ip = NULL;
}

hfs_model *hfs_infer_model(hfs_infer *I) { return I->m; }
hfs_fitter *hfs_infer_fitter(hfs_infer *I) { return I->fitter; }
const int *hfs_infer_fixed(const hfs_infer *I) { return I->fixed; }
const double *hfs_infer_init(const hfs_infer *I) { return I->init; }

void hfs_infer_set_robust(hfs_infer *I, int observed, int toys) {
  I->robust_observed = observed != 0;
  I->robust_toys = toys != 0;
}

int hfs_infer_nrepairs(const hfs_infer *I) { return I->nrepairs; }

int hfs_infer_robust_observed(const hfs_infer *I) { return I->robust_observed; }

/* Toys are data other than the observed set and the context's Asimov set. */
static int robust_for(const hfs_infer *I, const double *main) {
  int toy = main && main != I->asimov_main && main != hfs_model_observed(I->m);
  return toy ? I->robust_toys : I->robust_observed;
}

int hfs_infer_minimize(hfs_infer *I, const double *main, const double *aux, const double *init,
                       const int *fixed, const double *const *extra, int nextra, int with_errors,
                       hfs_fit_result *r) {
  if (robust_for(I, main))
    return hfs_multistart_minimize(I->ms, main, aux, init, fixed, extra, nextra, with_errors, r);
  return hfs_fitter_minimize(I->fitter, main, aux, init, fixed, with_errors, r);
}

/* A warm-started fit also tries the initial values. */
int hfs_infer_fit_free(hfs_infer *I, const double *main, const double *aux, const double *start,
                       hfs_fit_result *r) {
  const double *extra[1] = {I->init};
  return hfs_infer_minimize(I, main, aux, start ? start : I->init, I->fixed, extra,
                            start && start != I->init, 0, r);
}

/* The conditional fit at mu from start, moved along dir (NULL: not) by
 * mu - start[poi]: from a free fit's minimum, the first-order profile. */
static int fit_fixed_poi_once(hfs_infer *I, double mu, const double *main, const double *aux,
                              const double *start, const double *dir, hfs_fit_result *r) {
  memcpy(I->start, start ? start : I->init, sizeof(double) * (size_t)I->npar);
  if (start && dir) {
    double dmu = mu - start[I->poi];
    for (int i = 0; i < I->npar; ++i)
      if (!I->fixed[i]) I->start[i] += dmu * dir[i];
  }
  I->start[I->poi] = mu;
  /* keep the other parameters inside their bounds when warm-starting */
  for (int i = 0; i < I->npar; ++i) {
    if (i == I->poi || I->fixed[i]) continue;
    double lo = hfs_model_par_lo(I->m, i), hi = hfs_model_par_hi(I->m, i);
    if (I->start[i] < lo) I->start[i] = lo;
    if (I->start[i] > hi) I->start[i] = hi;
  }
  /* the initial values with the POI at mu: a restart candidate when the
   * fit is warm-started elsewhere */
  memcpy(I->start2, I->init, sizeof(double) * (size_t)I->npar);
  I->start2[I->poi] = mu;
  const double *extra[1] = {I->start2};
  return hfs_infer_minimize(I, main, aux, I->start, I->fixed_poi, extra, start != NULL, 0, r);
}

/* The linear step along the profile direction is a guess: far from the free
 * minimum it can leave a bin with a negative expected yield, where the
 * likelihood is not defined (1Lbb's C1N2_Wh_hbb_300_75 at mu = 1 from
 * mu_hat = 0.17).  Such a start is dropped for the free fit's minimum with
 * the POI at mu, the start before the direction was used. */
static int fit_fixed_poi_dir(hfs_infer *I, double mu, const double *main, const double *aux,
                             const double *start, const double *dir, hfs_fit_result *r) {
  int rc = fit_fixed_poi_once(I, mu, main, aux, start, dir, r);
  if (rc == HFS_OK && start && dir && r->status == HFS_FIT_NONFINITE)
    rc = fit_fixed_poi_once(I, mu, main, aux, start, NULL, r);
  return rc;
}

int hfs_infer_fit_fixed_poi(hfs_infer *I, double mu, const double *main, const double *aux,
                            const double *start, hfs_fit_result *r) {
  return fit_fixed_poi_dir(I, mu, main, aux, start, NULL, r);
}

/* The POI's profile direction at theta, the minimum of the last free fit:
 * from the fitter, or from the search when it ran and kept its first fit. */
static int profile_dir(hfs_infer *I, const double *theta, double *dir) {
  return hfs_fitter_profile_direction(I->fitter, theta, I->poi, dir, NULL) ||
         hfs_multistart_profile_direction(I->ms, theta, I->poi, dir);
}

/* The test statistic compares two minima of the same likelihood, the free
 * one below the conditional one by construction.  A conditional fit that
 * reaches lower than the free fit shows the free fit in a local minimum:
 * the free fit is redone from the conditional solution, which can only
 * lower it.  Only where the global-minimum search is on for these data, so
 * that toys keep their results and speed by default. */
static int repair_free(hfs_infer *I, const double *main, const double *aux,
                       const hfs_fit_result *cond, hfs_fit_result *free_r, int *repaired) {
  int rc = HFS_OK;
  *repaired = 0;
  if (!robust_for(I, main) || !isfinite(cond->twice_nll) ||
      !(cond->twice_nll < free_r->twice_nll - 1e-7))
    goto cleanup;
  memcpy(I->start2, cond->theta, sizeof(double) * (size_t)I->npar);
  HFS_CHECK(hfs_infer_fit_free(I, main, aux, I->start2, free_r));
  if (free_r == &I->free_data) I->have_dir_data = profile_dir(I, free_r->theta, I->dir_data);
  if (free_r == &I->free_asimov) I->have_dir_asimov = profile_dir(I, free_r->theta, I->dir_asimov);
  I->nrepairs++;
  *repaired = 1;
cleanup:
  return rc;
}

/* Free fit and conditional fit on the same data, warm-starting the
 * conditional fit from the free one, moved along its profile direction
 * where the fitter has it (deterministic for given data). */
static int two_fits(hfs_infer *I, double mu, const double *main, const double *aux,
                    const double *start, hfs_fit_result *free_r, double *mu_hat, double *nll_free,
                    double *nll_cond, hfs_fit_summary *fs, hfs_fit_summary *cs) {
  int rc = HFS_OK;
  int repaired;
  /* toys start at their generating point: every free fit's first step
   * solves with the same Fisher information there */
  HFS_CHECK(hfs_fitter_set_first_scoring(I->fitter, start != NULL));
  int frc = hfs_infer_fit_free(I, main, aux, start, free_r);
  hfs_fitter_set_first_scoring(I->fitter, 0); /* off: cannot fail */
  HFS_CHECK(frc);
  int dir = profile_dir(I, free_r->theta, I->dir);
  HFS_CHECK(fit_fixed_poi_dir(I, mu, main, aux, free_r->theta, dir ? I->dir : NULL, &I->r));
  HFS_CHECK(repair_free(I, main, aux, &I->r, free_r, &repaired));
  *mu_hat = free_r->theta[I->poi];
  *nll_free = free_r->twice_nll;
  if (fs) {
    hfs_fit_summarize(free_r, I->poi, fs);
    fs->repaired = repaired;
  }
  *nll_cond = I->r.twice_nll;
  if (cs) hfs_fit_summarize(&I->r, I->poi, cs);
cleanup:
  return rc;
}

static double ts_from_fits(hfs_teststat ts, double mu, double mu_hat, double nll_free,
                           double nll_cond) {
  double t = nll_cond - nll_free;
  if (!(t > 0)) t = 0;
  switch (ts) {
    case HFS_TS_Q:
    case HFS_TS_QTILDE: return mu_hat > mu ? 0 : t;
    case HFS_TS_Q0: return mu_hat < mu ? 0 : t;
    default: return t;
  }
}

int hfs_infer_teststat_from(hfs_infer *I, hfs_teststat ts, double mu, const double *main,
                            const double *aux, const double *start, double *t,
                            hfs_fit_summary *free_fit, hfs_fit_summary *cond_fit) {
  int rc = HFS_OK;
  double mu_hat, nf, nc;
  HFS_CHECK(two_fits(I, mu, main, aux, start, &I->r2, &mu_hat, &nf, &nc, free_fit, cond_fit));
  *t = ts_from_fits(ts, mu, mu_hat, nf, nc);
cleanup:
  return rc;
}

int hfs_infer_teststat(hfs_infer *I, hfs_teststat ts, double mu, const double *main,
                       const double *aux, double *t, hfs_fit_summary *free_fit,
                       hfs_fit_summary *cond_fit) {
  return hfs_infer_teststat_from(I, ts, mu, main, aux, NULL, t, free_fit, cond_fit);
}

int hfs_infer_asimov(hfs_infer *I, double mu_a, double *main, double *aux,
                     hfs_fit_summary *gen_fit) {
  int rc = HFS_OK;
  HFS_CHECK(hfs_infer_fit_fixed_poi(I, mu_a, NULL, NULL, NULL, &I->r));
  if (gen_fit) hfs_fit_summarize(&I->r, I->poi, gen_fit);
  hfs_model_expected(I->m, I->r.theta, main, aux);
cleanup:
  return rc;
}

/* Cached pieces that do not depend on the tested mu.  The Asimov
 * generation fit (conditional, on the observed data) starts from the free
 * fit as every conditional fit does.  The free fit to the Asimov data
 * starts from the generating point theta_A, which is its global minimum:
 * there every Poisson term has its data equal to its mean and every
 * constraint its auxiliary datum at its mean, so each term of twice_nll
 * is at its own minimum.  No restart can go lower; the fit only confirms
 * it (its gradient vanishes up to rounding). */
int hfs__infer_prepare(hfs_infer *I, double asimov_mu) {
  int rc = HFS_OK;
  if (!I->have_free_data) {
    HFS_CHECK(hfs_infer_fit_free(I, NULL, NULL, NULL, &I->free_data));
    I->have_free_data = 1;
    I->have_dir_data = profile_dir(I, I->free_data.theta, I->dir_data);
  }
  if (!I->have_asimov || I->asimov_mu != asimov_mu) {
    HFS_CHECK(fit_fixed_poi_dir(I, asimov_mu, NULL, NULL, I->free_data.theta,
                                I->have_dir_data ? I->dir_data : NULL, &I->r));
    hfs_fit_summarize(&I->r, I->poi, &I->asimov_gen);
    hfs_model_expected(I->m, I->r.theta, I->asimov_main, I->asimov_aux);
    I->have_asimov = 1;
    I->asimov_mu = asimov_mu;
    HFS_CHECK(hfs_fitter_minimize(I->fitter, I->asimov_main, I->asimov_aux, I->r.theta, I->fixed, 0,
                                  &I->free_asimov));
    I->have_free_asimov = 1;
    I->have_dir_asimov = profile_dir(I, I->free_asimov.theta, I->dir_asimov);
  }
cleanup:
  return rc;
}

/* q at mu on the observed data, reusing the cached free fit; the
 * conditional fit starts from start (NULL: the free fit's solution) and its
 * solution stays in I->r.theta (hfs__infer_last_theta). */
int hfs__infer_q_data(hfs_infer *I, hfs_teststat ts, double mu, const double *start, double *q,
                      hfs_fit_summary *free_fit, hfs_fit_summary *cond_fit) {
  int rc = HFS_OK, repaired;
  HFS_CHECK(hfs__infer_prepare(I, ts == HFS_TS_Q0 ? 1.0 : 0.0));
  if (start)
    HFS_CHECK(hfs_infer_fit_fixed_poi(I, mu, NULL, NULL, start, &I->r));
  else
    HFS_CHECK(fit_fixed_poi_dir(I, mu, NULL, NULL, I->free_data.theta,
                                I->have_dir_data ? I->dir_data : NULL, &I->r));
  /* a repaired free fit replaces the cached one for every later mu */
  HFS_CHECK(repair_free(I, NULL, NULL, &I->r, &I->free_data, &repaired));
  double mu_hat = I->free_data.theta[I->poi];
  hfs_fit_summarize(&I->free_data, I->poi, free_fit);
  free_fit->repaired = repaired;
  hfs_fit_summarize(&I->r, I->poi, cond_fit);
  *q = ts_from_fits(ts, mu, mu_hat, I->free_data.twice_nll, I->r.twice_nll);
cleanup:
  return rc;
}

/* The same on the cached Asimov set (q_A). */
int hfs__infer_q_asimov(hfs_infer *I, hfs_teststat ts, double mu, const double *start, double *qa,
                        hfs_fit_summary *free_fit, hfs_fit_summary *cond_fit) {
  int rc = HFS_OK, repaired;
  HFS_CHECK(hfs__infer_prepare(I, ts == HFS_TS_Q0 ? 1.0 : 0.0));
  if (start)
    HFS_CHECK(hfs_infer_fit_fixed_poi(I, mu, I->asimov_main, I->asimov_aux, start, &I->r));
  else
    HFS_CHECK(fit_fixed_poi_dir(I, mu, I->asimov_main, I->asimov_aux, I->free_asimov.theta,
                                I->have_dir_asimov ? I->dir_asimov : NULL, &I->r));
  HFS_CHECK(repair_free(I, I->asimov_main, I->asimov_aux, &I->r, &I->free_asimov, &repaired));
  double mu_hat_a = I->free_asimov.theta[I->poi];
  hfs_fit_summarize(&I->free_asimov, I->poi, free_fit);
  free_fit->repaired = repaired;
  hfs_fit_summarize(&I->r, I->poi, cond_fit);
  *qa = ts_from_fits(ts, mu, mu_hat_a, I->free_asimov.twice_nll, I->r.twice_nll);
cleanup:
  return rc;
}

const double *hfs__infer_last_theta(const hfs_infer *I) { return I->r.theta; }

/* q on the observed data and on the Asimov set at mu, reusing the cached
 * free fits. */
int hfs__infer_q_pair(hfs_infer *I, hfs_teststat ts, double mu, double *q, double *qa,
                      hfs_fit_summary *fits) {
  int rc = HFS_OK;
  HFS_CHECK(
      hfs__infer_q_data(I, ts, mu, NULL, q, &fits[HFS_HT_FREE_DATA], &fits[HFS_HT_COND_DATA]));
  HFS_CHECK(hfs__infer_q_asimov(I, ts, mu, NULL, qa, &fits[HFS_HT_FREE_ASIMOV],
                                &fits[HFS_HT_COND_ASIMOV]));
  fits[HFS_HT_ASIMOV_GEN] = I->asimov_gen;
cleanup:
  return rc;
}

double hfs__infer_mu_hat(hfs_infer *I) { return I->free_data.theta[I->poi]; }
