/* Profile-likelihood scans of the POI with their crossings and the
 * stat/syst split (docs/ranking.md). */
#include "hfs_error.h"
#include "hfs_impacts.h"
#include "impacts_internal.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const hfs_scan_curve_names[HFS_SCAN_NCURVES] = {"total", "stat"};

#define HFS_SCAN_MAX_LEVELS 8

typedef struct {
  int curve;
  hfs_impact_fit fit;
} extra_fit;

struct hfs_scan {
  hfs_infer *I;
  hfs_model *m;
  hfs_fitter *fitter;
  int npar, poi;
  hfs_fit_result free_fit;
  hfs_fit_result scratch;
  int *fixed[HFS_SCAN_NCURVES];
  double *start;
  int n;
  double *mu;
  hfs_impact_fit *units;
  unsigned char *done;
  int64_t ndone;
  int nlevels;
  hfs_scan_interval iv[HFS_SCAN_MAX_LEVELS];
  int nextra, cap;
  extra_fit *extra;
  hfs_impact_fit *best; /* the total curve after the continuation pass */
  double *prev;         /* the continuation's last minimum */
  int nrepairs;
  int finished;
};

int hfs_scan_create(hfs_infer *I, double lo, double hi, int n, hfs_scan **out) {
  int rc = HFS_OK;
  hfs_scan *s = NULL;
  if (!I || !out || n < 0) HFS_FAIL(HFS_ERR_ARG, "hfs_scan_create: bad arguments");
  *out = NULL;
  HFS_ALLOC(s, 1);
  s->I = I;
  s->m = hfs_infer_model(I);
  s->fitter = hfs_infer_fitter(I);
  s->npar = hfs_model_npar(s->m);
  s->poi = hfs_model_poi(s->m);
  const int *uf = hfs_infer_fixed(I);
  double plo = hfs_model_par_lo(s->m, s->poi), phi = hfs_model_par_hi(s->m, s->poi);
  if (uf[s->poi])
    HFS_FAIL(HFS_ERR_ARG, "scan: the POI %s is held fixed; a scan needs it free",
             hfs_model_par_name(s->m, s->poi));
  if (n > 0 && !(lo >= plo && hi <= phi && lo <= hi))
    HFS_FAIL(HFS_ERR_ARG, "scan: grid [%g, %g] must lie inside the POI bounds [%g, %g]", lo, hi,
             plo, phi);
  HFS_CHECK(hfs_fit_result_init(&s->free_fit, s->npar, 1));
  HFS_CHECK(hfs_fit_result_init(&s->scratch, s->npar, 0));
  for (int c = 0; c < HFS_SCAN_NCURVES; ++c) HFS_ALLOC(s->fixed[c], s->npar);
  HFS_ALLOC(s->start, s->npar);
  for (int i = 0; i < s->npar; ++i) {
    s->fixed[HFS_SCAN_TOTAL][i] = uf[i] || i == s->poi;
    s->fixed[HFS_SCAN_STAT][i] = 1;
  }
  HFS_CHECK(hfs__impact_free_fit(I, &s->free_fit));
  if (n == 0) {
    double mh = s->free_fit.theta[s->poi];
    double sg = s->free_fit.has_errors ? s->free_fit.error_hessian[s->poi] : NAN;
    if (!(sg > 0) || !isfinite(sg))
      HFS_FAIL(HFS_ERR_NUMERIC,
               "scan: the free fit gave no uncertainty for %s (%s); give "
               "the grid with --poi LO:HI:N",
               hfs_model_par_name(s->m, s->poi), hfs_fit_status_name(s->free_fit.status));
    n = 31;
    lo = mh - 3 * sg;
    hi = mh + 3 * sg;
    if (lo < plo) lo = plo;
    if (hi > phi) hi = phi;
  }
  s->n = n;
  HFS_ALLOC(s->mu, n);
  for (int k = 0; k < n; ++k) s->mu[k] = n == 1 ? lo : lo + (hi - lo) * k / (n - 1);
  HFS_ALLOC(s->units, 2 * (int64_t)n);
  HFS_ALLOC(s->done, 2 * (int64_t)n);
  HFS_ALLOC(s->best, n > 0 ? n : 1);
  HFS_ALLOC(s->prev, s->npar);
  *out = s;
  s = NULL;
cleanup:
  hfs_scan_destroy(&s);
  return rc;
}

void hfs_scan_destroy(hfs_scan **sp) {
  if (!sp || !*sp) return;
  hfs_scan *s = *sp;
  hfs_fit_result_free(&s->free_fit);
  hfs_fit_result_free(&s->scratch);
  for (int c = 0; c < HFS_SCAN_NCURVES; ++c) free(s->fixed[c]);
  free(s->start);
  free(s->mu);
  free(s->units);
  free(s->done);
  free(s->extra);
  free(s->best);
  free(s->prev);
  free(s);
  *sp = NULL;
}

const hfs_fit_result *hfs_scan_free_fit(const hfs_scan *s) { return &s->free_fit; }
int hfs_scan_npoints(const hfs_scan *s) { return s->n; }
const double *hfs_scan_grid(const hfs_scan *s) { return s->mu; }
int64_t hfs_scan_nunits(const hfs_scan *s) { return 2 * (int64_t)s->n; }

/* One conditional fit of curve c at POI value mu, warm-started from the
 * free fit. */
static int scan_fit(hfs_scan *s, int c, double mu, hfs_impact_fit *out) {
  int rc = HFS_OK;
  hfs__impact_start_from(s->m, s->free_fit.theta, s->npar, s->start);
  s->start[s->poi] = mu;
  HFS_CHECK(hfs_infer_minimize(s->I, NULL, NULL, s->start, s->fixed[c], NULL, 0, 0, &s->scratch));
  hfs__impact_fill(&s->scratch, s->poi, mu, out);
cleanup:
  return rc;
}

int hfs_scan_run(hfs_scan *s, int64_t u, hfs_impact_fit *out) {
  if (u < 0 || u >= 2 * (int64_t)s->n)
    return hfs_error_set(HFS_ERR_ARG, "scan: unit %lld outside [0, %lld)", (long long)u,
                         2 * (long long)s->n);
  return scan_fit(s, (int)(u / s->n), s->mu[u % s->n], out);
}

int hfs_scan_store(hfs_scan *s, int64_t u, const hfs_impact_fit *res) {
  if (u < 0 || u >= 2 * (int64_t)s->n)
    return hfs_error_set(HFS_ERR_ARG, "scan: unit %lld outside [0, %lld)", (long long)u,
                         2 * (long long)s->n);
  s->units[u] = *res;
  if (!s->done[u]) s->ndone++;
  s->done[u] = 1;
  s->finished = 0;
  return HFS_OK;
}

const hfs_impact_fit *hfs_scan_raw_unit(const hfs_scan *s, int64_t u) {
  return u >= 0 && u < 2 * (int64_t)s->n && s->done[u] ? &s->units[u] : NULL;
}

/* Point k of curve c as reported: the total curve after the continuation
 * pass, the stat curve as run. */
static const hfs_impact_fit *curve_point(const hfs_scan *s, int c, int k) {
  return c == HFS_SCAN_TOTAL ? &s->best[k] : &s->units[(int64_t)c * s->n + k];
}

const hfs_impact_fit *hfs_scan_unit(const hfs_scan *s, int64_t u) {
  if (s->finished && u >= 0 && u < 2 * (int64_t)s->n)
    return curve_point(s, (int)(u / s->n), (int)(u % s->n));
  return hfs_scan_raw_unit(s, u);
}
int64_t hfs_scan_ndone(const hfs_scan *s) { return s->ndone; }

double hfs_scan_dnll(const hfs_scan *s, const hfs_impact_fit *f) {
  return f->twice_nll - s->free_fit.twice_nll;
}

/* The root search of one level on one curve. */
typedef struct {
  hfs_scan *s;
  int curve;
  double level;
  hfs_scan_crossing *x;
  int rc;
} crossing_search;

/* 2 delta NLL - level at mu: a grid point when mu is one, else a new fit
 * kept in the list of extra fits. */
static double crossing_value(double mu, void *p) {
  crossing_search *S = p;
  hfs_scan *s = S->s;
  if (S->rc) return NAN;
  for (int k = 0; k < s->n; ++k)
    if (s->mu[k] == mu) {
      return hfs_scan_dnll(s, curve_point(s, S->curve, k)) - S->level;
    }
  if (mu == s->free_fit.theta[s->poi]) return -S->level;
  if (s->nextra == s->cap) {
    int ncap = s->cap ? 2 * s->cap : 32;
    extra_fit *e = realloc(s->extra, sizeof *e * (size_t)ncap);
    if (!e) {
      S->rc = hfs_error_set(HFS_ERR_NOMEM, "out of memory");
      return NAN;
    }
    s->extra = e;
    s->cap = ncap;
  }
  extra_fit *e = &s->extra[s->nextra];
  e->curve = S->curve;
  S->rc = scan_fit(s, S->curve, mu, &e->fit);
  if (S->rc) return NAN;
  s->nextra++;
  S->x->nfits++;
  S->x->nfailed += e->fit.status != HFS_FIT_CONVERGED;
  return hfs_scan_dnll(s, &e->fit) - S->level;
}

/* Find [a, b] on one side of mu-hat (dir = -1 or +1) with the curve below
 * the level at a and at or above it at b: first from the grid, else by
 * steps of the Hessian uncertainty doubling up to the POI's bound.  Returns
 * 0 when the curve stays below the level up to the bound. */
static int bracket_side(crossing_search *S, int dir, double *a, double *b) {
  hfs_scan *s = S->s;
  double mh = s->free_fit.theta[s->poi];
  double bound = dir < 0 ? hfs_model_par_lo(s->m, s->poi) : hfs_model_par_hi(s->m, s->poi);
  double inner = mh;
  /* Grid points in order of distance from mu-hat. */
  for (;;) {
    int best = -1;
    for (int k = 0; k < s->n; ++k) {
      double d = dir * (s->mu[k] - inner);
      if (d > 0 && (best < 0 || dir * (s->mu[k] - s->mu[best]) < 0)) best = k;
    }
    if (best < 0) break;
    const hfs_impact_fit *f = &s->units[(int64_t)S->curve * s->n + best];
    S->x->nfailed += f->status != HFS_FIT_CONVERGED;
    if (hfs_scan_dnll(s, f) >= S->level) {
      *a = inner;
      *b = s->mu[best];
      return 1;
    }
    inner = s->mu[best];
  }
  if (dir * (bound - inner) <= 0) return 0;
  double sg = s->free_fit.has_errors ? s->free_fit.error_hessian[s->poi] : NAN;
  double step = isfinite(sg) && sg > 0 ? sqrt(S->level) * sg : 0.1 * fabs(bound - mh);
  if (!(step > 0)) step = 1e-3;
  double x = inner;
  for (int it = 0; it < 60; ++it) {
    x += dir * step;
    if (dir * (x - bound) >= 0) x = bound;
    double v = crossing_value(x, S);
    if (S->rc) return 0;
    if (v >= 0) {
      *a = inner;
      *b = x;
      return 1;
    }
    if (x == bound) return 0;
    inner = x;
    step *= 2;
  }
  return 0;
}

static int solve_side(crossing_search *S, int dir, double *root, int *at_bound) {
  int rc = HFS_OK;
  double a = NAN, b = NAN;
  gsl_root_fsolver *fs = NULL;
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  *root = NAN;
  *at_bound = 0;
  if (!bracket_side(S, dir, &a, &b)) {
    if (S->rc) HFS_CHECK(S->rc);
    *at_bound = 1;
    goto cleanup;
  }
  double lo = a < b ? a : b, hi = a < b ? b : a;
  fs = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
  if (!fs) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  gsl_function F = {crossing_value, S};
  if (gsl_root_fsolver_set(fs, &F, lo, hi) != GSL_SUCCESS) {
    if (S->rc) HFS_CHECK(S->rc);
    /* The curve is not monotone inside the bracket (a failed fit); keep
     * the outer end, which is at or above the level. */
    *root = b;
    goto cleanup;
  }
  double sg = S->s->free_fit.has_errors ? S->s->free_fit.error_hessian[S->s->poi] : NAN;
  double tol = 1e-7 * (isfinite(sg) && sg > 0 ? sg : 1.0);
  for (int it = 0; it < 100; ++it) {
    gsl_root_fsolver_iterate(fs);
    if (S->rc) HFS_CHECK(S->rc);
    if (gsl_root_test_interval(gsl_root_fsolver_x_lower(fs), gsl_root_fsolver_x_upper(fs), tol,
                               0) == GSL_SUCCESS)
      break;
  }
  *root = gsl_root_fsolver_root(fs);
cleanup:
  gsl_set_error_handler(old);
  if (fs) gsl_root_fsolver_free(fs);
  return rc;
}

/* The continuation pass: from the free minimum outwards, each point of the
 * total curve fitted again from its neighbour's minimum with the POI moved
 * to it, and the lower of that and the unit kept.  A unit starts from the free
 * minimum, which far out along the POI can sit in another basin of a
 * non-convex profile; the path from the neighbour stays in the basin it
 * followed.  Plain fits (the unit already had the global-minimum search); on
 * the master after every unit is in, so the result does not depend on the
 * number of ranks, and a resume, which keeps the units as run, repeats it
 * exactly. */
static int continue_scan(hfs_scan *s) {
  int rc = HFS_OK;
  memcpy(s->best, s->units, sizeof *s->best * (size_t)s->n);
  s->nrepairs = 0;
  if (!hfs_infer_robust_observed(s->I) || s->n == 0) goto cleanup;
  double mh = s->free_fit.theta[s->poi];
  int first_up = 0;
  while (first_up < s->n && s->mu[first_up] < mh) first_up++;
  for (int side = 0; side < 2; ++side) {
    int dir = side ? -1 : +1;
    memcpy(s->prev, s->free_fit.theta, sizeof(double) * (size_t)s->npar);
    for (int k = side ? first_up - 1 : first_up; k >= 0 && k < s->n; k += dir) {
      hfs__impact_start_from(s->m, s->prev, s->npar, s->start);
      s->start[s->poi] = s->mu[k];
      HFS_CHECK(hfs_fitter_minimize(s->fitter, NULL, NULL, s->start, s->fixed[HFS_SCAN_TOTAL], 0,
                                    &s->scratch));
      if (s->scratch.status != HFS_FIT_CONVERGED) break; /* the path is lost: the units stand */
      memcpy(s->prev, s->scratch.theta, sizeof(double) * (size_t)s->npar);
      hfs_impact_fit *b = &s->best[k];
      if (b->status != HFS_FIT_CONVERGED || !isfinite(b->twice_nll) ||
          s->scratch.twice_nll < b->twice_nll - 1e-7) {
        double t = b->time_s;
        hfs__impact_fill(&s->scratch, s->poi, s->mu[k], b);
        b->time_s = t;
        s->nrepairs++;
      }
    }
  }
cleanup:
  return rc;
}

int hfs_scan_nrepairs(const hfs_scan *s) { return s->finished ? s->nrepairs : 0; }

int hfs_scan_finish(hfs_scan *s, const double *levels, int nlevels) {
  int rc = HFS_OK;
  if (s->ndone != 2 * (int64_t)s->n)
    HFS_FAIL(HFS_ERR_ARG, "scan: %lld of %lld units done", (long long)s->ndone,
             2 * (long long)s->n);
  if (nlevels < 1 || nlevels > HFS_SCAN_MAX_LEVELS)
    HFS_FAIL(HFS_ERR_ARG, "scan: between 1 and %d levels", HFS_SCAN_MAX_LEVELS);
  s->nextra = 0;
  s->nlevels = 0;
  s->finished = 0;
  HFS_CHECK(continue_scan(s));
  double mh = s->free_fit.theta[s->poi];
  for (int l = 0; l < nlevels; ++l) {
    if (!(levels[l] > 0) || !isfinite(levels[l]))
      HFS_FAIL(HFS_ERR_ARG, "scan: level %g must be positive", levels[l]);
    hfs_scan_interval *iv = &s->iv[l];
    memset(iv, 0, sizeof *iv);
    iv->level = levels[l];
    for (int c = 0; c < HFS_SCAN_NCURVES; ++c) {
      hfs_scan_crossing *x = &iv->curve[c];
      crossing_search S = {s, c, levels[l], x, HFS_OK};
      HFS_CHECK(solve_side(&S, -1, &x->lo, &x->lo_at_bound));
      HFS_CHECK(solve_side(&S, +1, &x->hi, &x->hi_at_bound));
      x->dn = mh - x->lo;
      x->up = x->hi - mh;
    }
    double t, st;
    t = iv->curve[HFS_SCAN_TOTAL].dn;
    st = iv->curve[HFS_SCAN_STAT].dn;
    iv->syst_dn = isnan(t) || isnan(st) ? NAN : t > st ? sqrt(t * t - st * st) : 0;
    t = iv->curve[HFS_SCAN_TOTAL].up;
    st = iv->curve[HFS_SCAN_STAT].up;
    iv->syst_up = isnan(t) || isnan(st) ? NAN : t > st ? sqrt(t * t - st * st) : 0;
    s->nlevels++;
  }
  s->finished = 1;
cleanup:
  return rc;
}

int hfs_scan_nintervals(const hfs_scan *s) { return s->finished ? s->nlevels : 0; }
const hfs_scan_interval *hfs_scan_interval_at(const hfs_scan *s, int i) {
  return s->finished && i >= 0 && i < s->nlevels ? &s->iv[i] : NULL;
}
int hfs_scan_nextra(const hfs_scan *s) { return s->nextra; }
void hfs_scan_extra_at(const hfs_scan *s, int i, int *curve, const hfs_impact_fit **fit) {
  *curve = s->extra[i].curve;
  *fit = &s->extra[i].fit;
}

int hfs_scan_nfailed(const hfs_scan *s) {
  int n = s->free_fit.status != HFS_FIT_CONVERGED;
  for (int64_t u = 0; u < 2 * (int64_t)s->n; ++u)
    n += s->done[u] && hfs_scan_unit(s, u)->status != HFS_FIT_CONVERGED;
  for (int i = 0; i < s->nextra; ++i) n += s->extra[i].fit.status != HFS_FIT_CONVERGED;
  return n;
}

int hfs_scan_nposdef(const hfs_scan *s) { return s->free_fit.cov_status == HFS_COV_MADE_POSDEF; }
