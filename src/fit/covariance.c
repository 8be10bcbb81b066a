/* Parameter covariance from the analytic Hessian at the minimum.
 *
 * H is the Hessian of twice_nll = -2 ln L, so the covariance of the free
 * parameters is (H/2)^-1 = 2 H^-1: the same as MINUIT's HESSE with
 * errordef 1 on twice_nll (0.5 on -ln L).  H is inverted through its
 * Cholesky factor, which also tells whether it is positive definite. */
#include "fit_internal.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "hfs_error.h"

int hfs_fit__engine_covariance(hfs_fit_engine *e, const double *theta,
                               const int *fixed, double *cov, double *error,
                               double *corr) {
  int rc = HFS_OK;
  hfs_fit_problem *p = &e->prob;
  size_t npar = (size_t)p->npar;
  if (!theta) HFS_FAIL(HFS_ERR_ARG, "fit: covariance needs a point");
  if (!p->hessian) HFS_FAIL(HFS_ERR_ARG, "fit: this problem has no Hessian");
  int n = hfs_fit__problem_setup(p, theta, fixed);
  size_t nf = (size_t)n;

  /* Fixed parameters have no error and no correlation. */
  if (cov) memset(cov, 0, npar * npar * sizeof *cov);
  if (corr) memset(corr, 0, npar * npar * sizeof *corr);
  if (error)
    for (size_t i = 0; i < npar; i++) error[i] = (fixed && fixed[i]) ? 0.0 : NAN;
  if (n == 0) goto cleanup;

  for (int k = 0; k < n; k++) e->x[k] = theta[p->free_idx[k]];
  HFS_CHECK(hfs_fit_problem_hessian(p, e->x, e->hfree));
  for (size_t k = 0; k < nf * nf; k++)
    if (!isfinite(e->hfree[k]))
      HFS_FAIL(HFS_ERR_NUMERIC, "fit: Hessian at the minimum is not finite");

  /* H is symmetric, so its row-major array is also its column-major one;
   * the column-major _work routines call LAPACK directly, with no
   * transposed copy and no allocation. */
  double *a = e->cov_free;
  memcpy(a, e->hfree, nf * nf * sizeof *a);
  lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, a, n);
  if (info > 0)
    HFS_FAIL(HFS_ERR_NUMERIC,
             "fit: Hessian of the %d free parameters is not positive definite "
             "(leading minor %d)", n, (int)info);
  if (info < 0) HFS_FAIL(HFS_ERR_INTERNAL, "fit: dpotrf argument %d", (int)-info);
  info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', n, a, n);
  if (info > 0)
    HFS_FAIL(HFS_ERR_NUMERIC, "fit: Hessian of the free parameters is singular");
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
cleanup:
  if (rc != HFS_OK && error)
    for (size_t i = 0; i < npar; i++)
      if (!fixed || !fixed[i]) error[i] = NAN;
  return rc;
}
