/* CLs upper limits by root finding inside the POI's bounds.
 *
 * Every hypothesis test gives the observed CLs and, through q_A(mu), all
 * five expected curves at once, so the points are cached and shared by the
 * six root searches.  The expected curves need no extra fits: CLs_exp,k(mu)
 * = alpha is the same as sqrt(q_A(mu)) = s_k with s_k fixed by alpha and the
 * band, and sqrt(q_A) is close to linear in mu, so those searches converge
 * in a few steps. */
#include "hfs_error.h"
#include "infer_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hfs_infer *I;
  const hfs_limit_options *o;
  hfs_limit *L;
  int cap;
  int curve; /* -1 observed, 0..4 expected */
  double alpha;
  double s_k[5]; /* targets for sqrt(q_A) */
  int rc;        /* first error inside a GSL callback */
} search;

static int point_at(search *S, double mu, const hfs_hypotest **out) {
  hfs_limit *L = S->L;
  int lo = 0, hi = L->npoints;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (L->points[mid].mu < mu)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < L->npoints && L->points[lo].mu == mu) {
    *out = &L->points[lo];
    return HFS_OK;
  }
  if (L->npoints == S->cap) {
    int ncap = S->cap ? 2 * S->cap : 64;
    hfs_hypotest *p = realloc(L->points, sizeof *p * (size_t)ncap);
    if (!p) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
    L->points = p;
    S->cap = ncap;
  }
  hfs_hypotest h;
  int rc = hfs_infer_hypotest(S->I, S->o->ts, mu, &h);
  if (rc) return rc;
  for (int k = 0; k < HFS_HT_NFITS; ++k) {
    if (h.fits[k].status != HFS_FIT_CONVERGED) L->nfailed_fits++;
    L->nkept_restart += h.fits[k].kept_start != 0;
    L->nrepairs += h.fits[k].repaired != 0;
  }
  memmove(&L->points[lo + 1], &L->points[lo], sizeof(hfs_hypotest) * (size_t)(L->npoints - lo));
  L->points[lo] = h;
  L->npoints++;
  *out = &L->points[lo];
  return HFS_OK;
}

/* Signed distance from the crossing for the current curve (positive below
 * the limit). */
static double curve_value(search *S, double mu) {
  const hfs_hypotest *h;
  if (S->rc) return NAN;
  S->rc = point_at(S, mu, &h);
  if (S->rc) return NAN;
  if (S->curve < 0) return h->cls_obs - S->alpha;
  if (S->o->ts == HFS_TS_Q || S->o->ts == HFS_TS_QTILDE)
    return S->s_k[S->curve] - sqrt(h->q_asimov > 0 ? h->q_asimov : 0);
  return h->cls_exp[S->curve] - S->alpha;
}

static double gsl_curve(double mu, void *p) { return curve_value(p, mu); }

static const char *curve_name(int k) {
  static const char *n[6] = {"observed",        "expected -2 sigma", "expected -1 sigma",
                             "expected median", "expected +1 sigma", "expected +2 sigma"};
  return n[k + 1];
}

/* Find [a, b] inside [lo, hi] with value(a) > 0 >= value(b), starting from
 * guess and walking geometrically, never past the POI bounds. */
static int bracket(search *S, double lo, double hi, double guess, double *a, double *b) {
  int rc = HFS_OK;
  double fa = curve_value(S, lo);
  if (S->rc) return S->rc;
  if (!(fa > 0))
    return hfs_error_set(HFS_ERR_BRACKET,
                         "%s limit is below the POI's lower bound %g (CLs there "
                         "is already below %g); lower the bound (--bounds %s=LO:HI)",
                         curve_name(S->curve), lo, S->alpha,
                         hfs_model_par_name(S->I->m, S->I->poi));
  double x = guess > lo && guess < hi ? guess : lo + 0.5 * (hi - lo);
  double left = lo;
  for (int it = 0; it < 200; ++it) {
    double f = curve_value(S, x);
    if (S->rc) return S->rc;
    if (f > 0) {
      left = x;
      if (x >= hi) break;
      double nx = x + 2 * (x - lo > 0 ? x - lo : 1);
      x = nx < hi ? nx : hi;
    } else {
      *a = left;
      *b = x;
      /* tighten from below using cached points */
      for (int i = 0; i < S->L->npoints; ++i) {
        double mu = S->L->points[i].mu;
        if (mu > *a && mu < *b && curve_value(S, mu) > 0) *a = mu;
      }
      return rc;
    }
  }
  return hfs_error_set(HFS_ERR_BRACKET,
                       "%s limit is above the POI's upper bound %g (CLs there "
                       "is still above %g); raise the bound, e.g. --bounds %s=%g:%g",
                       curve_name(S->curve), hi, S->alpha, hfs_model_par_name(S->I->m, S->I->poi),
                       hfs_model_par_lo(S->I->m, S->I->poi), 2 * hi);
}

static int solve(search *S, double a, double b, double *root) {
  int rc = HFS_OK;
  gsl_root_fsolver *fs = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
  if (!fs) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  gsl_function F = {gsl_curve, S};
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  if (gsl_root_fsolver_set(fs, &F, a, b) != GSL_SUCCESS) {
    rc = S->rc ? S->rc
               : hfs_error_set(HFS_ERR_BRACKET, "%s limit: bracket [%g, %g] invalid",
                               curve_name(S->curve), a, b);
    goto cleanup;
  }
  for (int it = 0; it < 100; ++it) {
    gsl_root_fsolver_iterate(fs);
    if (S->rc) {
      rc = S->rc;
      goto cleanup;
    }
    double lo = gsl_root_fsolver_x_lower(fs), hi = gsl_root_fsolver_x_upper(fs);
    if (gsl_root_test_interval(lo, hi, 1e-12, S->o->rtol) == GSL_SUCCESS) break;
  }
  *root = gsl_root_fsolver_root(fs);
cleanup:
  gsl_set_error_handler(old);
  gsl_root_fsolver_free(fs);
  return rc;
}

int hfs_infer_limit(hfs_infer *I, const hfs_limit_options *o, hfs_limit *L) {
  static const double nsig[5] = {2, 1, 0, -1, -2};
  int rc = HFS_OK;
  search S;
  memset(L, 0, sizeof *L);
  memset(&S, 0, sizeof S);
  if (!(o->cl > 0 && o->cl < 1))
    return hfs_error_set(HFS_ERR_ARG, "confidence level %g must be in (0, 1)", o->cl);
  if (o->ts != HFS_TS_QTILDE && o->ts != HFS_TS_Q)
    return hfs_error_set(HFS_ERR_ARG, "upper limits use q or qtilde");
  if (o->method == HFS_LIMIT_SECANT || o->method == HFS_LIMIT_STEPS) {
    rc = hfs__infer_limit_secant(I, o, L);
    if (rc) hfs_limit_free(L);
    return rc;
  }
  S.I = I;
  S.o = o;
  S.L = L;
  S.alpha = 1 - o->cl;
  L->cl = o->cl;
  for (int k = 0; k < 5; ++k)
    S.s_k[k] = -nsig[k] - gsl_cdf_ugaussian_Pinv(S.alpha * gsl_cdf_ugaussian_P(-nsig[k]));
  hfs_model *m = I->m;
  double lo = hfs_model_par_lo(m, I->poi), hi = hfs_model_par_hi(m, I->poi);
  if (lo < 0) lo = 0; /* CLs limits on a non-negative signal strength */

  if (o->nscan > 0) {
    if (!(o->scan_lo >= hfs_model_par_lo(m, I->poi) && o->scan_hi <= hfs_model_par_hi(m, I->poi) &&
          o->scan_lo <= o->scan_hi))
      HFS_FAIL(HFS_ERR_ARG, "scan range [%g, %g] must lie inside the POI bounds [%g, %g]",
               o->scan_lo, o->scan_hi, hfs_model_par_lo(m, I->poi), hfs_model_par_hi(m, I->poi));
    HFS_ALLOC(L->scan_index, o->nscan);
    for (int i = 0; i < o->nscan; ++i) {
      double mu =
          o->nscan == 1 ? o->scan_lo : o->scan_lo + (o->scan_hi - o->scan_lo) * i / (o->nscan - 1);
      const hfs_hypotest *h;
      HFS_CHECK(point_at(&S, mu, &h));
    }
  }

  /* A first point sets the scale: sqrt(q_A) ~ mu / sigma_A. */
  double mu1 = hfs_model_par_init(m, I->poi);
  if (!(mu1 > lo && mu1 < hi)) mu1 = lo + 0.1 * (hi - lo);
  const hfs_hypotest *h1;
  HFS_CHECK(point_at(&S, mu1, &h1));
  double sigma_a = h1->q_asimov > 0 ? mu1 / sqrt(h1->q_asimov) : 0.1 * (hi - lo);
  double mu_hat = h1->mu_hat;

  for (int k = 4; k >= -1; --k) {
    S.curve = k;
    double guess = k >= 0 ? S.s_k[k] * sigma_a : (mu_hat > 0 ? mu_hat : 0) + S.s_k[2] * sigma_a;
    double a = lo, b = hi, root = NAN;
    HFS_CHECK(bracket(&S, lo, hi, guess, &a, &b));
    HFS_CHECK(solve(&S, a, b, &root));
    if (k < 0)
      L->obs = root;
    else
      L->exp[k] = root;
  }

  if (o->nscan > 0) {
    L->nscan = o->nscan;
    for (int i = 0; i < o->nscan; ++i) {
      double mu =
          o->nscan == 1 ? o->scan_lo : o->scan_lo + (o->scan_hi - o->scan_lo) * i / (o->nscan - 1);
      for (int j = 0; j < L->npoints; ++j)
        if (L->points[j].mu == mu) {
          L->scan_index[i] = j;
          break;
        }
    }
  }
cleanup:
  if (rc) {
    free(L->points);
    free(L->scan_index);
    L->points = NULL;
    L->scan_index = NULL;
    L->npoints = L->nscan = 0;
  }
  return rc;
}

void hfs_limit_free(hfs_limit *L) {
  free(L->points);
  free(L->scan_index);
  memset(L, 0, sizeof *L);
}
