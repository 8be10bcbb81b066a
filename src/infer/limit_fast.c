/* The CLs limit of a grid point in few fits (HFS_LIMIT_SECANT).
 *
 * The roots are those of hfs_infer_limit, found with fewer fits:
 *  - an expected curve, CLs_exp,k(mu) = alpha, is sqrt(q_A(mu)) = s_k: it
 *    needs the conditional fit to the Asimov data at mu only, not the one
 *    to the observed data, and sqrt(q_A) is nearly linear in mu;
 *  - the observed curve needs both fits at each mu; Qinv(CLs_obs(mu)) is
 *    nearly linear in mu (CLs falls like a Gaussian tail), so the search
 *    runs on that transform;
 *  - every root search starts from the linear model sqrt(q_A) ~ mu/sigma
 *    and steps through the cached points nearest to the estimate (inverse
 *    quadratic interpolation through three, else a secant through two,
 *    bisection of the bracket when a step leaves it), which needs one or
 *    two new fits per curve on such curves where Brent's method takes six
 *    to eight;
 *  - every conditional fit starts from the solution at the nearest mu
 *    already fitted on the same data, which the Newton fit finishes in a
 *    few steps.
 * The result agrees with Brent's within the relative tolerance (rtol). */
#include "hfs_error.h"
#include "infer_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  double mu;
  int have_q, have_qa;
  double q, qa;
  double *theta_d, *theta_a;          /* conditional solutions (npar each) */
  hfs_fit_summary fits[HFS_HT_NFITS]; /* as a hypothesis test's, once both are in */
} fpoint;

typedef struct {
  hfs_infer *I;
  const hfs_limit_options *o;
  hfs_limit *L;
  fpoint *p;
  int n, cap;
  int curve; /* -1 observed, 0..4 expected */
  double alpha, z_alpha;
  double s_k[5];
  hfs_fit_summary free_d, free_a; /* of the last fit on each data set */
} fsearch;

static const char *curve_name(int k) {
  static const char *n[6] = {"observed",        "expected -2 sigma", "expected -1 sigma",
                             "expected median", "expected +1 sigma", "expected +2 sigma"};
  return n[k + 1];
}

/* The point at mu, inserted in mu order when new. */
static int point_index(fsearch *S, double mu, int *out) {
  int lo = 0, hi = S->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (S->p[mid].mu < mu)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < S->n && S->p[lo].mu == mu) {
    *out = lo;
    return HFS_OK;
  }
  if (S->n == S->cap) {
    int ncap = S->cap ? 2 * S->cap : 32;
    fpoint *np = realloc(S->p, sizeof *np * (size_t)ncap);
    if (!np) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
    S->p = np;
    S->cap = ncap;
  }
  memmove(&S->p[lo + 1], &S->p[lo], sizeof(fpoint) * (size_t)(S->n - lo));
  memset(&S->p[lo], 0, sizeof S->p[lo]);
  S->p[lo].mu = mu;
  S->n++;
  *out = lo;
  return HFS_OK;
}

/* The solution at the nearest mu fitted on these data, or NULL. */
static const double *nearest_start(const fsearch *S, double mu, int asimov) {
  const double *best = NULL;
  double d = INFINITY;
  for (int i = 0; i < S->n; i++) {
    const fpoint *p = &S->p[i];
    const double *t = asimov ? (p->have_qa ? p->theta_a : NULL) : (p->have_q ? p->theta_d : NULL);
    if (t && fabs(p->mu - mu) < d) {
      d = fabs(p->mu - mu);
      best = t;
    }
  }
  return best;
}

static int count_fit(fsearch *S, const hfs_fit_summary *f) {
  S->L->nfailed_fits += f->status != HFS_FIT_CONVERGED;
  S->L->nkept_restart += f->kept_start != 0;
  return HFS_OK;
}

/* Make sure point i has q_A (asimov) or q. */
static int ensure(fsearch *S, int i, int asimov) {
  int rc = HFS_OK;
  hfs_infer *I = S->I;
  fpoint *p = &S->p[i];
  if (asimov ? p->have_qa : p->have_q) return HFS_OK;
  const double *start = nearest_start(S, p->mu, asimov);
  hfs_fit_summary cond;
  double **theta = asimov ? &p->theta_a : &p->theta_d;
  HFS_ALLOC(*theta, I->npar);
  if (asimov)
    HFS_CHECK(hfs__infer_q_asimov(I, S->o->ts, p->mu, start, &p->qa, &S->free_a, &cond));
  else
    HFS_CHECK(hfs__infer_q_data(I, S->o->ts, p->mu, start, &p->q, &S->free_d, &cond));
  memcpy(*theta, hfs__infer_last_theta(I), sizeof(double) * (size_t)I->npar);
  count_fit(S, &cond);
  S->L->nrepairs += (asimov ? S->free_a.repaired : S->free_d.repaired) != 0;
  if (asimov) {
    p->have_qa = 1;
    p->fits[HFS_HT_FREE_ASIMOV] = S->free_a;
    p->fits[HFS_HT_COND_ASIMOV] = cond;
    p->fits[HFS_HT_ASIMOV_GEN] = I->asimov_gen;
  } else {
    p->have_q = 1;
    p->fits[HFS_HT_FREE_DATA] = S->free_d;
    p->fits[HFS_HT_COND_DATA] = cond;
  }
cleanup:
  return rc;
}

/* The current curve at point i from what it holds (positive below the
 * limit). */
static double value_of(const fsearch *S, const fpoint *p) {
  double ga = sqrt(p->qa > 0 ? p->qa : 0);
  if (S->curve >= 0) return S->s_k[S->curve] - ga;
  double clsb, clb, cls;
  hfs_asymptotic_pvalues(S->o->ts, p->q, p->qa, &clsb, &clb, &cls);
  if (!(cls > 1e-300)) cls = 1e-300;
  if (cls >= 1) return S->z_alpha + 40; /* Qinv(1) = -inf: far below the limit */
  return S->z_alpha - gsl_cdf_ugaussian_Qinv(cls);
}

static int has_curve(const fsearch *S, const fpoint *p) {
  return S->curve >= 0 ? p->have_qa : p->have_q && p->have_qa;
}

static int eval(fsearch *S, double mu, double *f) {
  int rc = HFS_OK, i;
  HFS_CHECK(point_index(S, mu, &i));
  HFS_CHECK(ensure(S, i, 1));
  if (S->curve < 0) HFS_CHECK(ensure(S, i, 0));
  *f = value_of(S, &S->p[i]);
  if (!isfinite(*f))
    HFS_FAIL(HFS_ERR_NUMERIC, "%s limit: the test statistic at mu = %g is not finite",
             curve_name(S->curve), mu);
cleanup:
  return rc;
}

static int below_bound(const fsearch *S, double lo) {
  return hfs_error_set(HFS_ERR_BRACKET,
                       "%s limit is below the POI's lower bound %g (CLs there is already below "
                       "%g); lower the bound (--bounds %s=LO:HI)",
                       curve_name(S->curve), lo, S->alpha, hfs_model_par_name(S->I->m, S->I->poi));
}

static int above_bound(const fsearch *S, double hi) {
  hfs_model *m = S->I->m;
  return hfs_error_set(HFS_ERR_BRACKET,
                       "%s limit is above the POI's upper bound %g (CLs there is still above %g); "
                       "raise the bound, e.g. --bounds %s=%g:%g",
                       curve_name(S->curve), hi, S->alpha, hfs_model_par_name(m, S->I->poi),
                       hfs_model_par_lo(m, S->I->poi), 2 * hi);
}

/* Points whose value has no use for a secant: CLs_obs = 1, the transform's
 * stand-in for -inf. */
static int usable(const fsearch *S, double v) { return S->curve >= 0 || v < S->z_alpha + 30; }

/* One root of the current curve in [lo, hi], from guess: secant steps
 * through the two cached points nearest to the current estimate, inside
 * the bracket the cached points give (bisection when a step leaves it),
 * until the nearest cached point is within rtol of the next estimate. */
static int solve(fsearch *S, double lo, double hi, double guess, double *root) {
  int rc = HFS_OK;
  double rtol = S->o->rtol > 0 ? S->o->rtol : 1e-5, f;
  double x = guess > lo && guess < hi ? guess : lo + 0.5 * (hi - lo);
  for (int it = 0; it < 100; it++) {
    /* the two nearest usable points, the bracket, the value at the bounds */
    int i0 = -1, i1 = -1, i2 = -1;
    double a = NAN, b = NAN, fa = NAN, fb = NAN, f_lo = NAN, f_hi = NAN;
    for (int i = 0; i < S->n; i++) {
      const fpoint *p = &S->p[i];
      if (!has_curve(S, p)) continue;
      double v = value_of(S, p);
      if (p->mu == lo) f_lo = v;
      if (p->mu == hi) f_hi = v;
      if (v > 0 && (isnan(a) || p->mu > a)) a = p->mu, fa = v;
      if (v <= 0 && (isnan(b) || p->mu < b)) b = p->mu, fb = v;
      if (!usable(S, v)) continue;
      double d = fabs(p->mu - x);
      if (i0 < 0 || d < fabs(S->p[i0].mu - x))
        i2 = i1, i1 = i0, i0 = i;
      else if (i1 < 0 || d < fabs(S->p[i1].mu - x))
        i2 = i1, i1 = i;
      else if (i2 < 0 || d < fabs(S->p[i2].mu - x))
        i2 = i;
    }
    int bracketed = !isnan(a) && !isnan(b) && a < b;
    if (bracketed && b - a <= rtol * b) {
      *root = a - fa * (b - a) / (fb - fa);
      goto cleanup;
    }
    double nx;
    if (i1 < 0) {
      /* fewer than two points: the guess, then a step away from it */
      nx = i0 < 0 ? x
                  : x + (value_of(S, &S->p[i0]) > 0 ? 1 : -1) * 0.05 *
                            (fabs(x) > 0 ? fabs(x) : hi - lo);
    } else {
      const fpoint *p0 = &S->p[i0], *p1 = &S->p[i1];
      double f0 = value_of(S, p0), f1 = value_of(S, p1);
      nx = f0 != f1 ? p0->mu - f0 * (p0->mu - p1->mu) / (f0 - f1) : NAN;
      if (i2 >= 0) {
        /* inverse quadratic interpolation through three points: on these
         * nearly linear curves one more fit usually lands within rtol */
        const fpoint *p2 = &S->p[i2];
        double f2 = value_of(S, p2);
        if (f0 != f1 && f0 != f2 && f1 != f2) {
          double q = p0->mu * f1 * f2 / ((f0 - f1) * (f0 - f2)) +
                     p1->mu * f0 * f2 / ((f1 - f0) * (f1 - f2)) +
                     p2->mu * f0 * f1 / ((f2 - f0) * (f2 - f1));
          /* kept only near the secant's estimate (no wild extrapolation) */
          if (isfinite(q) && isfinite(nx) && fabs(q - nx) <= 0.5 * fabs(nx - p0->mu) + 1e-12) {
            /* The secant's distance from the quadratic estimate bounds the
             * secant's error, and the quadratic one is far smaller: below
             * rtol, the estimate is the root without another fit. */
            int inside = !bracketed || (q > a && q < b);
            if (inside && fabs(q - nx) <= 0.1 * rtol * fabs(q)) {
              *root = q;
              goto cleanup;
            }
            nx = q;
          }
        }
      }
      if (bracketed && !(nx > a && nx < b)) nx = 0.5 * (a + b);
      if (!isfinite(nx)) nx = bracketed ? 0.5 * (a + b) : (f0 > 0 ? hi : lo);
      /* converged: the estimate sits on a computed point */
      if (fabs(nx - p0->mu) <= rtol * fabs(nx) + 1e-12) {
        *root = nx;
        goto cleanup;
      }
    }
    if (nx >= hi) {
      if (f_hi > 0) return above_bound(S, hi);
      nx = hi;
    }
    if (nx <= lo) {
      if (f_lo <= 0) return below_bound(S, lo);
      nx = lo;
    }
    HFS_CHECK(eval(S, nx, &f));
    if (f == 0) {
      *root = nx;
      goto cleanup;
    }
    x = nx;
  }
  return hfs_error_set(HFS_ERR_BRACKET, "%s limit: no convergence in 100 steps",
                       curve_name(S->curve));
cleanup:
  return rc;
}

static double scan_mu(const hfs_limit_options *o, int i) {
  return o->nscan == 1 ? o->scan_lo : o->scan_lo + (o->scan_hi - o->scan_lo) * i / (o->nscan - 1);
}

/* The points tested on both data sets, as hypothesis tests in mu order,
 * and the scan's among them. */
static int keep_points(fsearch *S) {
  int rc = HFS_OK, n = 0;
  hfs_limit *L = S->L;
  const hfs_limit_options *o = S->o;
  for (int i = 0; i < S->n; i++) n += S->p[i].have_q && S->p[i].have_qa;
  HFS_ALLOC(L->points, n > 0 ? n : 1);
  for (int i = 0; i < S->n; i++) {
    const fpoint *p = &S->p[i];
    if (!p->have_q || !p->have_qa) continue;
    hfs_hypotest *h = &L->points[L->npoints++];
    memset(h, 0, sizeof *h);
    h->mu = p->mu;
    h->ts = o->ts;
    h->q_obs = p->q;
    h->q_asimov = p->qa;
    h->mu_hat = S->I->free_data.theta[S->I->poi];
    hfs_asymptotic_pvalues(o->ts, p->q, p->qa, &h->clsb_obs, &h->clb_obs, &h->cls_obs);
    hfs_asymptotic_expected(o->ts, p->qa, h->cls_exp);
    memcpy(h->fits, p->fits, sizeof h->fits);
  }
  if (o->nscan > 0) {
    HFS_ALLOC(L->scan_index, o->nscan);
    L->nscan = o->nscan;
    for (int i = 0; i < o->nscan; i++) {
      double mu = scan_mu(o, i);
      for (int j = 0; j < L->npoints; j++)
        if (L->points[j].mu == mu) L->scan_index[i] = j;
    }
  }
cleanup:
  return rc;
}

/* After one curve's search: a failure is recorded for that curve and the
 * others go on; only running out of memory stops them. */
static int curve_done(fsearch *S, int slot, int rc, int *nok) {
  hfs_limit *L = S->L;
  L->curve_rc[slot] = rc;
  if (rc == HFS_OK) {
    ++*nok;
    return HFS_OK;
  }
  if (rc == HFS_ERR_NOMEM) return rc;
  if (!L->message[0]) snprintf(L->message, sizeof L->message, "%s", hfs_error_message());
  if (slot == 0)
    L->obs = NAN;
  else
    L->exp[slot - 1] = NAN;
  hfs_error_clear();
  return HFS_OK;
}

int hfs__infer_limit_secant(hfs_infer *I, const hfs_limit_options *o, hfs_limit *L) {
  static const double nsig[5] = {2, 1, 0, -1, -2};
  int rc = HFS_OK;
  fsearch S;
  memset(&S, 0, sizeof S);
  /* HFS_LIMIT_STEPS: hfs_infer_limit's contract (every limit or an error,
   * the scan, the tests made); HFS_LIMIT_SECANT: a grid point's */
  int steps = o->method == HFS_LIMIT_STEPS;
  if (o->nscan > 0 && !steps)
    return hfs_error_set(HFS_ERR_ARG, "limit: the secant method keeps no scan");
  S.I = I;
  S.o = o;
  S.L = L;
  S.alpha = 1 - o->cl;
  S.z_alpha = gsl_cdf_ugaussian_Qinv(S.alpha);
  for (int k = 0; k < 5; ++k)
    S.s_k[k] = -nsig[k] - gsl_cdf_ugaussian_Pinv(S.alpha * gsl_cdf_ugaussian_P(-nsig[k]));
  hfs_model *m = I->m;
  double lo = hfs_model_par_lo(m, I->poi), hi = hfs_model_par_hi(m, I->poi);
  if (lo < 0) lo = 0;
  double mu1 = hfs_model_par_init(m, I->poi), f;
  /* the scan first: its points are cached for the searches */
  for (int i = 0; i < o->nscan; ++i) {
    if (i == 0 && !(o->scan_lo >= hfs_model_par_lo(m, I->poi) &&
                    o->scan_hi <= hfs_model_par_hi(m, I->poi) && o->scan_lo <= o->scan_hi))
      HFS_FAIL(HFS_ERR_ARG, "scan range [%g, %g] must lie inside the POI bounds [%g, %g]",
               o->scan_lo, o->scan_hi, hfs_model_par_lo(m, I->poi), hfs_model_par_hi(m, I->poi));
    S.curve = -1;
    HFS_CHECK(eval(&S, scan_mu(o, i), &f));
  }

  /* The scale from a first Asimov point: sqrt(q_A) ~ mu / sigma_A; the
   * test already made at mu when it is inside the bounds. */
  const hfs_hypotest *h = o->known;
  if (h && h->ts == o->ts && h->mu > lo && h->mu < hi && isfinite(h->q_obs) &&
      isfinite(h->q_asimov)) {
    int i;
    HFS_CHECK(point_index(&S, h->mu, &i));
    S.p[i].q = h->q_obs;
    S.p[i].qa = h->q_asimov;
    S.p[i].have_q = S.p[i].have_qa = 1;
    memcpy(S.p[i].fits, h->fits, sizeof h->fits);
    mu1 = h->mu;
  }
  if (!(mu1 > lo && mu1 < hi)) mu1 = lo + 0.1 * (hi - lo);
  S.curve = 2;
  HFS_CHECK(eval(&S, mu1, &f));
  int i1;
  HFS_CHECK(point_index(&S, mu1, &i1));
  double qa1 = S.p[i1].qa;
  double sigma_a = qa1 > 0 ? mu1 / sqrt(qa1) : 0.1 * (hi - lo);
  /* the expected limits, from the median outwards so that each search
   * finds its neighbours' points cached */
  static const int order[5] = {2, 1, 3, 0, 4};
  int nok = 0;
  for (int j = 0; j < 5; j++) {
    int k = order[j], near = k < 2 ? k + 1 : k - 1;
    S.curve = k;
    /* the scale from the nearest band solved (its root on the line) */
    double sig = sigma_a;
    if (j > 0 && isfinite(L->exp[near])) sig = L->exp[near] / S.s_k[near];
    L->exp[k] = NAN;
    int crc = solve(&S, lo, hi, S.s_k[k] * sig, &L->exp[k]);
    if (steps) HFS_CHECK(crc);
    HFS_CHECK(curve_done(&S, k + 1, crc, &nok));
  }
  /* the observed limit: the data's best fit shifts the expected median */
  S.curve = -1;
  double guess = isfinite(L->exp[2]) ? L->exp[2] : S.s_k[2] * sigma_a;
  int orc;
  {
    int i;
    orc = point_index(&S, mu1, &i);
    if (!orc) orc = ensure(&S, i, 0);
    double mu_hat = I->free_data.theta[I->poi];
    if (!orc && mu_hat > 0) guess += mu_hat;
  }
  L->obs = NAN;
  if (!orc) orc = solve(&S, lo, hi, guess, &L->obs);
  if (steps) HFS_CHECK(orc);
  HFS_CHECK(curve_done(&S, 0, orc, &nok));
  if (nok == 0) HFS_FAIL(L->curve_rc[0], "%s", L->message);
  /* the free fits and the Asimov generation fit, once */
  count_fit(&S, &S.free_d);
  count_fit(&S, &S.free_a);
  count_fit(&S, &I->asimov_gen);
  L->cl = o->cl;
  L->npoints = 0;
  if (steps) HFS_CHECK(keep_points(&S));
cleanup:
  for (int i = 0; i < S.n; i++) {
    free(S.p[i].theta_d);
    free(S.p[i].theta_a);
  }
  free(S.p);
  return rc;
}
