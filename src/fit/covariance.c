/* Parameter covariance from the analytic Hessian at the minimum.
 *
 * H is the Hessian of twice_nll = -2 ln L, so the covariance of the free
 * parameters is (H/2)^-1 = 2 H^-1: the same as MINUIT's HESSE with
 * errordef 1 on twice_nll (0.5 on -ln L).  H is inverted through its
 * Cholesky factor.
 *
 * A minimum can be real while H is not positive definite: two parameters
 * that scale the same bins leave a flat direction, along which H has a zero
 * (in floating point: a tiny or slightly negative) eigenvalue.  MINUIT then
 * keeps the minimum and makes the matrix positive definite (MnPosDef): with
 * H scaled to unit diagonal, an eigenvalue spectrum whose smallest value is
 * below 1e-6 of the largest is lifted by multiplying the diagonal by
 * (1 + 0.001 pmax - pmin), and the covariance status says "made positive
 * definite".  hfs__fit_engine_covariance_checked does the same; the strict
 * hfs__fit_engine_covariance refuses such a matrix. */
#include "fit_internal.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "hfs_error.h"

/* MINUIT's threshold on the scaled spectrum: max(1e-6, its Eps2). */
#define HFS_COV_EPSPDF 1e-6

/* MnPosDef on the symmetric n x n matrix a (in place).  scratch holds n*n,
 * eig 4n doubles (eigenvalues and LAPACK's workspace).  Sets *shifted when
 * the matrix was changed.  HFS_ERR_NUMERIC when LAPACK cannot find the
 * spectrum (a non-finite matrix). */
static int make_posdef(double *a, int n, double *scratch, double *eig, int *shifted) {
  size_t nf = (size_t)n;
  *shifted = 0;
  double dgmin = a[0];
  for (size_t k = 1; k < nf; k++)
    if (a[k * nf + k] < dgmin) dgmin = a[k * nf + k];
  /* A non-positive curvature on the diagonal cannot be scaled away: lift
   * the whole diagonal first, as MINUIT does. */
  double dg = dgmin <= 0.0 ? 0.5 + HFS_COV_EPSPDF - dgmin : 0.0;
  if (dg > 0.0) {
    for (size_t k = 0; k < nf; k++) a[k * nf + k] += dg;
    *shifted = 1;
  }
  for (size_t k = 0; k < nf; k++) eig[k] = 1.0 / sqrt(a[k * nf + k]);
  for (size_t r = 0; r < nf; r++)
    for (size_t c = 0; c < nf; c++) scratch[r * nf + c] = a[r * nf + c] * eig[r] * eig[c];
  double *w = eig, *work = eig + nf;
  lapack_int info = LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'N', 'L', n, scratch, n, w, work,
                                       (lapack_int)(3 * nf > 1 ? 3 * nf - 1 : 1));
  if (info != 0)
    return hfs_error_set(HFS_ERR_NUMERIC, "fit: no eigenvalues of the Hessian (dsyev %d)",
                         (int)info);
  double pmin = w[0], pmax = fmax(fabs(w[nf - 1]), 1.0);
  if (pmin > HFS_COV_EPSPDF * pmax) return HFS_OK;
  double padd = 0.001 * pmax - pmin;
  for (size_t k = 0; k < nf; k++) a[k * nf + k] *= 1.0 + padd;
  *shifted = 1;
  return HFS_OK;
}

static int covariance_of(hfs_fit_engine *e, const double *theta, const int *fixed, double *cov,
                         double *error, double *corr, int *quality) {
  int rc = HFS_OK;
  hfs_fit_problem *p = &e->prob;
  size_t npar = (size_t)p->npar;
  if (quality) *quality = HFS_COV_NONE;
  if (!theta) HFS_FAIL(HFS_ERR_ARG, "fit: covariance needs a point");
  if (!p->hessian) HFS_FAIL(HFS_ERR_ARG, "fit: this problem has no Hessian");
  /* The block factorisation first (blocks.c); where it finds H not
   * positive definite, or cannot certify it well enough conditioned, the
   * dense path below decides what to report. */
  if (p->blocks &&
      hfs__fit_blocks_covariance(e, theta, fixed, cov, error, corr, quality != NULL) == HFS_OK) {
    if (quality) *quality = HFS_COV_ACCURATE;
    goto cleanup;
  }
  int n = hfs__fit_problem_setup(p, theta, fixed);
  size_t nf = (size_t)n;

  /* Fixed parameters have no error and no correlation. */
  if (cov) memset(cov, 0, npar * npar * sizeof *cov);
  if (corr) memset(corr, 0, npar * npar * sizeof *corr);
  if (error)
    for (size_t i = 0; i < npar; i++) error[i] = (fixed && fixed[i]) ? 0.0 : NAN;
  if (n == 0) {
    if (quality) *quality = HFS_COV_ACCURATE;
    goto cleanup;
  }

  for (int k = 0; k < n; k++) e->x[k] = theta[p->free_idx[k]];
  HFS_CHECK(hfs_fit_problem_hessian(p, e->x, e->hfree));
  for (size_t k = 0; k < nf * nf; k++)
    if (!isfinite(e->hfree[k]))
      HFS_FAIL(HFS_ERR_NUMERIC, "fit: Hessian at the minimum is not finite");

  /* H is symmetric, so its row-major array is also its column-major one;
   * the column-major _work routines call LAPACK directly, with no
   * transposed copy and no allocation. */
  double *a = e->cov_free;
  int shifted = 0;
  if (quality) HFS_CHECK(make_posdef(e->hfree, n, a, e->eig, &shifted));
  memcpy(a, e->hfree, nf * nf * sizeof *a);
  lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, a, n);
  if (info > 0)
    HFS_FAIL(HFS_ERR_NUMERIC,
             "fit: Hessian of the %d free parameters is not positive definite "
             "(leading minor %d)",
             n, (int)info);
  if (info < 0) HFS_FAIL(HFS_ERR_INTERNAL, "fit: dpotrf argument %d", (int)-info);
  info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', n, a, n);
  if (info > 0) HFS_FAIL(HFS_ERR_NUMERIC, "fit: Hessian of the free parameters is singular");
  if (info < 0) HFS_FAIL(HFS_ERR_INTERNAL, "fit: dpotri argument %d", (int)-info);
  /* The lower triangle (column-major) holds the inverse: mirror it and
   * scale by 2. */
  for (size_t c = 0; c < nf; c++) {
    for (size_t r = c; r < nf; r++) {
      double v = 2.0 * a[c * nf + r];
      a[c * nf + r] = v;
      a[r * nf + c] = v;
    }
  }
  for (size_t k = 0; k < nf; k++)
    if (!(a[k * nf + k] > 0.0) || !isfinite(a[k * nf + k]))
      HFS_FAIL(HFS_ERR_NUMERIC, "fit: covariance has a non-positive variance");

  double *sd = e->xt;
  for (size_t r = 0; r < nf; r++) sd[r] = sqrt(a[r * nf + r]);
  for (size_t r = 0; r < nf; r++) {
    size_t ir = (size_t)p->free_idx[r];
    if (error) error[ir] = sd[r];
    for (size_t c = 0; c < nf; c++) {
      size_t ic = (size_t)p->free_idx[c];
      double v = a[r * nf + c];
      if (cov) cov[ir * npar + ic] = v;
      if (corr) corr[ir * npar + ic] = r == c ? 1.0 : v / (sd[r] * sd[c]);
    }
  }
  if (quality) *quality = shifted ? HFS_COV_MADE_POSDEF : HFS_COV_ACCURATE;
cleanup:
  if (rc != HFS_OK && error)
    for (size_t i = 0; i < npar; i++)
      if (!fixed || !fixed[i]) error[i] = NAN;
  return rc;
}

int hfs__fit_engine_covariance(hfs_fit_engine *e, const double *theta, const int *fixed,
                               double *cov, double *error, double *corr) {
  return covariance_of(e, theta, fixed, cov, error, corr, NULL);
}

int hfs__fit_engine_covariance_checked(hfs_fit_engine *e, const double *theta, const int *fixed,
                                       double *cov, double *error, double *corr, int *cov_status) {
  int q = HFS_COV_NONE;
  int rc = covariance_of(e, theta, fixed, cov, error, corr, &q);
  if (cov_status) *cov_status = q;
  return rc;
}
