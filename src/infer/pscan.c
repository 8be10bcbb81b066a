/* Profile-likelihood scans of any one or two parameters (hfs_diag.h). */
#include "hfs_diag.h"
#include "hfs_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hfs_pscan {
  hfs_infer *I;
  hfs_model *m;
  int npar, ndim;
  int par[2], n[2];
  double *axis[2];
  hfs_fit_result free_fit;
  hfs_fit_result r; /* scratch */
  int *fixed;       /* user's fixed set + frozen + scanned */
  double *start;
};

int hfs_pscan_create(hfs_infer *I, int ndim, const int *par, const double *lo, const double *hi,
                     const int *n, const int *frozen, hfs_pscan **out) {
  int rc = HFS_OK;
  hfs_pscan *s = NULL;
  *out = NULL;
  if (ndim < 1 || ndim > 2)
    return hfs_error_set(HFS_ERR_ARG, "scan: 1 or 2 parameters, not %d", ndim);
  HFS_ALLOC(s, 1);
  s->I = I;
  s->m = hfs_infer_model(I);
  s->npar = hfs_model_npar(s->m);
  s->ndim = ndim;
  const int *uf = hfs_infer_fixed(I);
  for (int d = 0; d < ndim; ++d) {
    int p = par[d];
    if (p < 0 || p >= s->npar) HFS_FAIL(HFS_ERR_ARG, "scan: parameter index %d out of range", p);
    const char *name = hfs_model_par_name(s->m, p);
    double plo = hfs_model_par_lo(s->m, p), phi = hfs_model_par_hi(s->m, p);
    if (uf[p])
      HFS_FAIL(HFS_ERR_ARG, "--par %s: the parameter is held fixed; a scan needs it free", name);
    if (d == 1 && par[1] == par[0]) HFS_FAIL(HFS_ERR_ARG, "--par %s: given twice", name);
    if (n[d] < 1) HFS_FAIL(HFS_ERR_ARG, "--par %s: at least one point", name);
    if (!(lo[d] <= hi[d]) || !(lo[d] >= plo && hi[d] <= phi))
      HFS_FAIL(HFS_ERR_ARG, "--par %s=%g:%g:%d: outside the parameter's bounds [%g, %g]", name,
               lo[d], hi[d], n[d], plo, phi);
    s->par[d] = p;
    s->n[d] = n[d];
    HFS_ALLOC(s->axis[d], n[d]);
    for (int k = 0; k < n[d]; ++k)
      s->axis[d][k] = n[d] == 1 ? lo[d] : lo[d] + (hi[d] - lo[d]) * k / (n[d] - 1);
  }
  if (ndim == 1) s->n[1] = 1;
  HFS_ALLOC(s->fixed, s->npar);
  HFS_ALLOC(s->start, s->npar);
  for (int i = 0; i < s->npar; ++i) s->fixed[i] = uf[i] || (frozen && frozen[i]);
  for (int d = 0; d < ndim; ++d) s->fixed[s->par[d]] = 1;
  HFS_CHECK(hfs_fit_result_init(&s->free_fit, s->npar, 1));
  HFS_CHECK(hfs_fit_result_init(&s->r, s->npar, 0));
  HFS_CHECK(
      hfs_fitter_minimize(hfs_infer_fitter(I), NULL, NULL, hfs_infer_init(I), uf, 1, &s->free_fit));
  *out = s;
  s = NULL;
cleanup:
  hfs_pscan_destroy(&s);
  return rc;
}

void hfs_pscan_destroy(hfs_pscan **sp) {
  if (!sp || !*sp) return;
  hfs_pscan *s = *sp;
  free(s->axis[0]);
  free(s->axis[1]);
  hfs_fit_result_free(&s->free_fit);
  hfs_fit_result_free(&s->r);
  free(s->fixed);
  free(s->start);
  free(s);
  *sp = NULL;
}

const hfs_fit_result *hfs_pscan_free_fit(const hfs_pscan *s) { return &s->free_fit; }
int hfs_pscan_ndim(const hfs_pscan *s) { return s->ndim; }
int hfs_pscan_par(const hfs_pscan *s, int d) { return d < s->ndim ? s->par[d] : -1; }

const double *hfs_pscan_axis(const hfs_pscan *s, int d, int *n) {
  if (n) *n = d < s->ndim ? s->n[d] : 0;
  return d < s->ndim ? s->axis[d] : NULL;
}

int64_t hfs_pscan_nunits(const hfs_pscan *s) { return (int64_t)s->n[0] * s->n[1]; }

int hfs_pscan_run(hfs_pscan *s, int64_t u, hfs_pscan_point *out) {
  int rc = HFS_OK;
  if (u < 0 || u >= hfs_pscan_nunits(s))
    return hfs_error_set(HFS_ERR_ARG, "scan: unit %lld out of range", (long long)u);
  int i = (int)(u / s->n[1]), j = (int)(u % s->n[1]);
  /* Frozen and free parameters start at the free fit's values (inside their
   * bounds), the scanned ones at the grid point. */
  for (int k = 0; k < s->npar; ++k) {
    double v = s->free_fit.theta[k], lo = hfs_model_par_lo(s->m, k), hi = hfs_model_par_hi(s->m, k);
    s->start[k] = v < lo ? lo : v > hi ? hi : v;
  }
  s->start[s->par[0]] = s->axis[0][i];
  if (s->ndim == 2) s->start[s->par[1]] = s->axis[1][j];
  HFS_CHECK(hfs_fitter_minimize(hfs_infer_fitter(s->I), NULL, NULL, s->start, s->fixed, 0, &s->r));
  memset(out, 0, sizeof *out);
  out->status = s->r.status;
  out->n_iter = s->r.n_iter;
  out->n_eval = s->r.n_eval;
  out->x = s->axis[0][i];
  out->y = s->ndim == 2 ? s->axis[1][j] : NAN;
  out->poi = s->r.theta[hfs_model_poi(s->m)];
  out->twice_nll = s->r.twice_nll;
  out->time_s = s->r.time_s;
cleanup:
  return rc;
}
