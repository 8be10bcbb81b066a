/* The global minimum among the minima the model's structure suggests.
 *
 * A local optimizer stops in the first minimum it meets.  A HistFactory
 * likelihood has more than one only where a nuisance parameter moves some
 * expected rate non-monotonically (both variations of a histosys or normsys
 * on the same side of the nominal in a bin: the rate has an extremum in the
 * parameter) or through a kink (the piecewise-linear and piecewise-
 * exponential interpolations, codes 0 and 1, change slope at 0).  Those
 * parameters are found once, from the expected rates at the initial values,
 * when the search is created.
 *
 * After the first fit, each such parameter is moved by +-1 sigma along its
 * profile direction (the column of the covariance: the other parameters
 * follow as a quadratic profile would make them) and reflected across its
 * initial value (the kink of codes 0 and 1; for a non-monotonic rate, the
 * other side of the nominal).  The likelihood is evaluated there, once: a
 * parabola predicts a rise of (delta / sigma)^2 in twice_nll, and only a
 * candidate that rises by less than half of that (the profile bends away
 * from a parabola: another minimum may lie beyond) is fitted from.  Extra
 * starts given by the caller (the initial values, a neighbouring scan
 * point's solution) are always fitted from.  The lowest minimum is kept;
 * distinct minima are counted.  A model without such parameters, whose
 * likelihood has one minimum in each of them, costs nothing beyond the
 * structure analysis at creation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hfs_error.h"

/* Fits from candidates per round, and rounds (a lower minimum found in one
 * round is screened again). */
#define HFS_MS_MAX_RESTARTS 8
#define HFS_MS_MAX_ROUNDS 2
#define HFS_MS_MAX_MINIMA 16
/* Extra starts accepted by the caller per call. */
#define HFS_MS_MAX_EXTRA 4

enum { MS_NONMONOTONE = 1, MS_KINK = 2 };

struct hfs_multistart {
  hfs_model *m;
  hfs_fitter *f;
  int npar, nbins;
  int *flag; /* npar: MS_* bits */
  int nflagged;
  int *flagged; /* nflagged indices */
  double *lo, *hi, *width;
  double *cov;  /* npar * npar */
  double *cand; /* ncand_max * npar */
  double *cand_f;
  int *order;
  int ncand_max;
  double *minima; /* HFS_MS_MAX_MINIMA * npar */
  double minima_f[HFS_MS_MAX_MINIMA];
  int nminima;
  double *r0, *rp, *rm; /* nbins scratch */
  double *theta;        /* npar scratch */
  double *theta0;       /* npar: the initial values */
  double *dirv;         /* npar: a profile direction from the fitter */
  /* The POI's profile direction at the first fit's minimum, kept for the
   * caller when that minimum is the one kept (hfs_multistart_profile_
   * direction): restarts leave the fitter with another fit's factors. */
  double *dir_poi, *dir_theta;
  int have_dir_poi;
  hfs_fit_result trial;
};

/* Rates that move the same way for alpha = +1 and -1, curved enough to
 * bend the likelihood.  In bin b the data term 2 (nu - n ln nu) has the
 * second derivative 2 nu'' (1 - n / nu) + 2 n nu'^2 / nu^2 in alpha, whose
 * only negative part is at most 2 |nu''| |n - nu| / nu; the constraint adds
 * 2.  With nu'' ~ dp + dm (the parabola through alpha = -1, 0, 1), the
 * likelihood can lose its convexity in alpha, and so have a second
 * minimum, only where sum_b |dp + dm| / sqrt(nu) exceeds 1 / z, z the
 * bins' pull |n - nu| / sqrt(nu).  Below HFS_MS_MIN_BEND it would need a
 * pull above 10 (1Lbb: 23 of its 68 non-monotone parameters, whose
 * same-side variations are a few per mille of the rate). */
#define HFS_MS_MIN_BEND 0.1
static int nonmonotone(int n, const double *r0, const double *rp, const double *rm) {
  double bend = 0.0;
  for (int b = 0; b < n; b++) {
    double dp = rp[b] - r0[b], dm = rm[b] - r0[b], tol = 1e-9 * (fabs(r0[b]) + 1e-12);
    if (!(fabs(dp) > tol && fabs(dm) > tol && (dp > 0) == (dm > 0))) continue;
    if (!(r0[b] > 0)) return 1;
    bend += (fabs(dp) + fabs(dm)) / sqrt(r0[b]);
  }
  return bend >= HFS_MS_MIN_BEND;
}

/* max over bins of |r(e) + r(-e) - 2 r(0)| / (e |r(0)|): the slope change
 * across 0, which a kink keeps as e shrinks and a smooth rate loses. */
static double slope_change(hfs_multistart *ms, double *theta, int i, double e) {
  double t0 = theta[i], worst = 0.0;
  theta[i] = t0 + e;
  hfs_model_expected(ms->m, theta, ms->rp, NULL);
  theta[i] = t0 - e;
  hfs_model_expected(ms->m, theta, ms->rm, NULL);
  theta[i] = t0;
  for (int b = 0; b < ms->nbins; b++) {
    double d = fabs(ms->rp[b] + ms->rm[b] - 2.0 * ms->r0[b]) / (e * (fabs(ms->r0[b]) + 1e-12));
    if (d > worst) worst = d;
  }
  return worst;
}

static void analyse(hfs_multistart *ms) {
  double *theta = ms->theta;
  hfs_model_init(ms->m, theta);
  memcpy(ms->theta0, theta, sizeof(double) * (size_t)ms->npar);
  hfs_model_expected(ms->m, theta, ms->r0, NULL);
  ms->nflagged = 0;
  for (int i = 0; i < ms->npar; i++) {
    hfs_modtype t = hfs_model_par_type(ms->m, i);
    ms->flag[i] = 0;
    if ((t != HFS_MOD_NORMSYS && t != HFS_MOD_HISTOSYS) || hfs_model_par_fixed(ms->m, i)) continue;
    double t0 = theta[i];
    theta[i] = t0 + 1.0;
    hfs_model_expected(ms->m, theta, ms->rp, NULL);
    theta[i] = t0 - 1.0;
    hfs_model_expected(ms->m, theta, ms->rm, NULL);
    theta[i] = t0;
    if (nonmonotone(ms->nbins, ms->r0, ms->rp, ms->rm)) ms->flag[i] |= MS_NONMONOTONE;
    double c1 = slope_change(ms, theta, i, 1e-3), c2 = slope_change(ms, theta, i, 1e-4);
    if (c2 > 1e-6 && c2 > 0.5 * c1) ms->flag[i] |= MS_KINK;
    if (ms->flag[i]) ms->flagged[ms->nflagged++] = i;
  }
}

int hfs_multistart_create(hfs_model *m, hfs_fitter *f, hfs_multistart **out) {
  int rc = HFS_OK;
  hfs_multistart *ms = NULL;
  if (!m || !f || !out) HFS_FAIL(HFS_ERR_ARG, "hfs_multistart_create: bad arguments");
  *out = NULL;
  HFS_ALLOC(ms, 1);
  ms->m = m;
  ms->f = f;
  ms->npar = hfs_model_npar(m);
  ms->nbins = hfs_model_nbins(m);
  size_t n = (size_t)ms->npar;
  HFS_ALLOC(ms->flag, n);
  HFS_ALLOC(ms->flagged, n);
  HFS_ALLOC(ms->lo, n);
  HFS_ALLOC(ms->hi, n);
  HFS_ALLOC(ms->width, n);
  HFS_ALLOC(ms->theta, n);
  HFS_ALLOC(ms->theta0, n);
  HFS_ALLOC(ms->dirv, n);
  HFS_ALLOC(ms->dir_poi, n);
  HFS_ALLOC(ms->dir_theta, n);
  HFS_ALLOC(ms->r0, ms->nbins);
  HFS_ALLOC(ms->rp, ms->nbins);
  HFS_ALLOC(ms->rm, ms->nbins);
  for (int i = 0; i < ms->npar; i++) {
    ms->lo[i] = hfs_model_par_lo(m, i);
    ms->hi[i] = hfs_model_par_hi(m, i);
    double w = hfs_model_par_prefit_width(m, i);
    ms->width[i] = isfinite(w) && w > 0 ? w : 1.0;
  }
  analyse(ms);
  ms->ncand_max = 3 * ms->nflagged + HFS_MS_MAX_EXTRA;
  HFS_ALLOC(ms->cov, n * n);
  HFS_ALLOC(ms->cand, (size_t)ms->ncand_max * n);
  HFS_ALLOC(ms->cand_f, ms->ncand_max);
  HFS_ALLOC(ms->order, ms->ncand_max);
  HFS_ALLOC(ms->minima, HFS_MS_MAX_MINIMA * n);
  HFS_CHECK(hfs_fit_result_init(&ms->trial, ms->npar, 0));
  *out = ms;
  ms = NULL;
cleanup:
  hfs_multistart_destroy(&ms);
  return rc;
}

void hfs_multistart_destroy(hfs_multistart **pms) {
  if (!pms || !*pms) return;
  hfs_multistart *ms = *pms;
  free(ms->flag);
  free(ms->flagged);
  free(ms->lo);
  free(ms->hi);
  free(ms->width);
  free(ms->theta);
  free(ms->theta0);
  free(ms->dirv);
  free(ms->dir_poi);
  free(ms->dir_theta);
  free(ms->r0);
  free(ms->rp);
  free(ms->rm);
  free(ms->cov);
  free(ms->cand);
  free(ms->cand_f);
  free(ms->order);
  free(ms->minima);
  hfs_fit_result_free(&ms->trial);
  free(ms);
  *pms = NULL;
}

int hfs_multistart_nflagged(const hfs_multistart *ms) { return ms ? ms->nflagged : 0; }

int hfs_multistart_flagged(const hfs_multistart *ms, int k) {
  return ms && k >= 0 && k < ms->nflagged ? ms->flagged[k] : -1;
}

/* Count a converged minimum unless it is one already met. */
static void note_minimum(hfs_multistart *ms, const hfs_fit_result *r) {
  if (r->status != HFS_FIT_CONVERGED || !isfinite(r->twice_nll)) return;
  size_t n = (size_t)ms->npar;
  for (int k = 0; k < ms->nminima; k++) {
    if (fabs(ms->minima_f[k] - r->twice_nll) > 1e-6 * (1.0 + fabs(r->twice_nll))) continue;
    const double *t = ms->minima + (size_t)k * n;
    int same = 1;
    for (size_t i = 0; i < n && same; i++)
      if (fabs(t[i] - r->theta[i]) > 1e-3 * ms->width[i]) same = 0;
    if (same) return;
  }
  if (ms->nminima == HFS_MS_MAX_MINIMA) return;
  memcpy(ms->minima + (size_t)ms->nminima * n, r->theta, n * sizeof *r->theta);
  ms->minima_f[ms->nminima++] = r->twice_nll;
}

static double clip(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Candidates by increasing twice_nll, ties in the order made: an insertion
 * sort (a few dozen entries at most) keeps the search reentrant. */
static void sort_candidates(int nc, const double *f, int *order) {
  for (int a = 1; a < nc; a++) {
    int v = order[a], b = a;
    while (b > 0 && f[order[b - 1]] > f[v]) {
      order[b] = order[b - 1];
      b--;
    }
    order[b] = v;
  }
}

/* Screen the structure's candidates around best (and the extra starts) and
 * return how many passed, in ms->order. */
static int screen(hfs_multistart *ms, const double *main, const double *aux, const int *fixed,
                  const hfs_fit_result *best, const double *const *extra, int nextra) {
  size_t n = (size_t)ms->npar;
  int nc = 0;
  const double *th = best->theta;
  double fb = best->twice_nll;
  /* The profile directions: the fit's own covariance when it has an
   * accurate one; else from the factorisation the fit left (one solve per
   * parameter); else one covariance here. */
  int have_cov = 0, tried_cov = 0;
  if (ms->nflagged > 0 && best->has_errors && best->cov && best->cov_status == HFS_COV_ACCURATE) {
    memcpy(ms->cov, best->cov, n * n * sizeof *ms->cov);
    have_cov = tried_cov = 1;
  }
  for (int k = 0; k < ms->nflagged; k++) {
    int i = ms->flagged[k];
    if (fixed && fixed[i]) continue;
    double var = NAN;
    const double *dir = NULL; /* per unit of parameter i */
    if (!have_cov && hfs_fitter_profile_direction(ms->f, th, i, ms->dirv, &var)) {
      dir = ms->dirv;
    } else if (!tried_cov) {
      tried_cov = 1;
      have_cov = hfs_fitter_covariance(ms->f, main, aux, th, fixed, ms->cov, NULL, NULL) == HFS_OK;
      if (!have_cov) hfs_error_clear();
    }
    if (!dir && have_cov) {
      var = ms->cov[(size_t)i * n + (size_t)i];
      for (size_t j = 0; j < n; j++) ms->dirv[j] = ms->cov[j * n + (size_t)i] / var;
      dir = ms->dirv;
    }
    double sig = dir ? sqrt(var) : ms->width[i];
    if (!(sig > 0) || !isfinite(sig)) {
      sig = ms->width[i];
      dir = NULL;
    }
    /* +-1 sigma, and the reflection across the initial value (the kink of
     * codes 0 and 1; for a non-monotonic rate, the other side of it) */
    double d[3] = {sig, -sig, 0.0};
    int nd = 2;
    double off = th[i] - ms->theta0[i];
    if (fabs(off) > 0.05 * sig) d[nd++] = -2.0 * off;
    for (int q = 0; q < nd; q++) {
      double *c = ms->cand + (size_t)nc * n;
      for (size_t j = 0; j < n; j++) {
        double vj = dir ? dir[j] : (j == (size_t)i);
        c[j] = (fixed && fixed[j]) ? th[j] : clip(th[j] + d[q] * vj, ms->lo[j], ms->hi[j]);
      }
      double fc = hfs_model_twice_nll(ms->m, main, aux, c, NULL);
      double z = d[q] / sig;
      if (isfinite(fc) && fc < fb + 0.5 * z * z) {
        ms->cand_f[nc] = fc;
        ms->order[nc] = nc;
        nc++;
      }
    }
  }
  /* Extra starts are fitted from whatever twice_nll is there (a start in
   * another basin can lie higher than the first minimum), but only in a
   * model whose structure allows a second minimum. */
  for (int e = 0; ms->nflagged > 0 && e < nextra && e < HFS_MS_MAX_EXTRA; e++) {
    if (!extra[e]) continue;
    double *c = ms->cand + (size_t)nc * n;
    for (size_t j = 0; j < n; j++)
      c[j] = (fixed && fixed[j]) ? th[j] : clip(extra[e][j], ms->lo[j], ms->hi[j]);
    if (memcmp(c, th, n * sizeof *c) == 0) continue;
    double fc = hfs_model_twice_nll(ms->m, main, aux, c, NULL);
    if (isfinite(fc)) {
      ms->cand_f[nc] = fc;
      ms->order[nc] = nc;
      nc++;
    }
  }
  sort_candidates(nc, ms->cand_f, ms->order);
  return nc;
}

/* A restart that is heading to the best minimum met is stopped (with the
 * Newton backend, which calls this after each undamped Newton or chord step
 * d from x): the step's predicted decrease, g'H^-1 g / 2, is below 1e-3, the
 * predicted minimum f - that decrease is the best one's twice_nll within
 * 1e-6 relative, and x + d lies within 1e-2 prefit widths of the best
 * minimum in every parameter.  Such a fit would end in the same minimum
 * (Newton converges quadratically from there), so it cannot change the
 * result; a restart heading anywhere else is fitted to the end. */
typedef struct {
  const hfs_multistart *ms;
  const hfs_fit_result *best;
} ms_watch;

static int heading_to_best(void *ctx, const hfs_fit_problem *p, const double *x, double f,
                           const double *g, const double *d) {
  const ms_watch *w = ctx;
  const hfs_multistart *ms = w->ms;
  const double *th = w->best->theta;
  double fb = w->best->twice_nll, dec = 0.0;
  for (int k = 0; k < p->nfree; k++) dec -= g[k] * d[k];
  dec *= 0.5;
  if (!(dec >= 0.0 && dec <= 1e-3) || !(fabs(f - dec - fb) <= 1e-6 * (1.0 + fabs(fb)))) return 0;
  for (int k = 0; k < p->nfree; k++) {
    int i = p->free_idx[k];
    double xt = clip(x[k] + d[k], ms->lo[i], ms->hi[i]);
    if (!(fabs(xt - th[i]) <= 1e-2 * ms->width[i])) return 0;
  }
  return 1;
}

int hfs_multistart_minimize(hfs_multistart *ms, const double *main, const double *aux,
                            const double *init, const int *fixed, const double *const *extra,
                            int nextra, int with_errors, hfs_fit_result *res) {
  int rc = HFS_OK;
  if (!ms || !res) HFS_FAIL(HFS_ERR_ARG, "hfs_multistart_minimize: bad arguments");
  if (!main) main = hfs_model_observed(ms->m);
  if (!aux) aux = hfs_model_auxdata(ms->m);
  HFS_CHECK(hfs_fitter_minimize(ms->f, main, aux, init, fixed, with_errors, res));
  /* before the screening and the restarts change the fitter's factors;
   * without candidates nothing changes them, and the caller gets the same
   * direction from the fitter (hfs_fitter_profile_direction) only when it
   * needs one: a ranking's fits never do */
  int poi = hfs_model_poi(ms->m);
  ms->have_dir_poi =
      ms->nflagged > 0 && hfs_fitter_profile_direction(ms->f, res->theta, poi, ms->dir_poi, NULL);
  ms->nminima = 0;
  note_minimum(ms, res);
  int n_starts = 1, n_iter = res->n_iter, n_eval = res->n_eval, kept = 0;
  double time_s = res->time_s;
  ms_watch w = {ms, res};
  if (isfinite(res->twice_nll) && ms->nflagged > 0) {
    hfs__fit_fitter_set_watch(ms->f, heading_to_best, &w);
    for (int round = 0; round < HFS_MS_MAX_ROUNDS; round++) {
      int nc =
          screen(ms, main, aux, fixed, res, round == 0 ? extra : NULL, round == 0 ? nextra : 0);
      int improved = 0;
      for (int q = 0; q < nc && q < HFS_MS_MAX_RESTARTS; q++) {
        const double *c = ms->cand + (size_t)ms->order[q] * (size_t)ms->npar;
        HFS_CHECK(hfs_fitter_minimize(ms->f, main, aux, c, fixed, 0, &ms->trial));
        n_starts++;
        n_iter += ms->trial.n_iter;
        n_eval += ms->trial.n_eval;
        time_s += ms->trial.time_s;
        note_minimum(ms, &ms->trial);
        /* Lower by more than rounding, and converged unless the first was
         * not. */
        int ok = ms->trial.status == HFS_FIT_CONVERGED || res->status != HFS_FIT_CONVERGED;
        if (ok && ms->trial.twice_nll < res->twice_nll - 1e-9 * (1.0 + fabs(res->twice_nll))) {
          HFS_CHECK(hfs_fit_result_copy(res, &ms->trial));
          kept = n_starts - 1;
          improved = 1;
        }
      }
      if (!improved) break;
    }
    hfs__fit_fitter_set_watch(ms->f, NULL, NULL);
  }
  if (with_errors && kept) {
    /* Errors at the kept minimum: the fit from there stops at once. */
    HFS_CHECK(hfs_fitter_minimize(ms->f, main, aux, res->theta, fixed, 1, res));
    n_iter += res->n_iter;
    n_eval += res->n_eval;
    time_s += res->time_s;
  }
  ms->have_dir_poi = ms->have_dir_poi && kept == 0;
  if (ms->have_dir_poi) memcpy(ms->dir_theta, res->theta, (size_t)ms->npar * sizeof *res->theta);
  res->n_iter = n_iter;
  res->n_eval = n_eval;
  res->time_s = time_s;
  res->n_starts = n_starts;
  res->n_minima = ms->nminima > 0 ? ms->nminima : 1;
  res->kept_start = kept;
cleanup:
  if (ms) hfs__fit_fitter_set_watch(ms->f, NULL, NULL);
  return rc;
}

int hfs_multistart_profile_direction(const hfs_multistart *ms, const double *theta, int par,
                                     double *v) {
  if (!ms || !theta || !v || !ms->have_dir_poi || par != hfs_model_poi(ms->m) ||
      memcmp(theta, ms->dir_theta, (size_t)ms->npar * sizeof *theta) != 0)
    return 0;
  memcpy(v, ms->dir_poi, (size_t)ms->npar * sizeof *v);
  return 1;
}
