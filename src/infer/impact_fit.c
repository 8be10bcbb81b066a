/* What rankings and scans share: their fits start from the free fit. */
#include "hfs_impacts.h"
#include "impacts_internal.h"

#include <math.h>
#include <string.h>

/* The fits of this module hold some parameters and start everything else
 * from the free fit's best values; the start must lie inside the bounds. */
void hfs__impact_start_from(hfs_model *m, const double *best, int npar, double *start) {
  for (int i = 0; i < npar; ++i) {
    double v = best[i], lo = hfs_model_par_lo(m, i), hi = hfs_model_par_hi(m, i);
    start[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

void hfs__impact_fill(const hfs_fit_result *r, int poi, double value, hfs_impact_fit *out) {
  memset(out, 0, sizeof *out);
  out->status = r->status;
  out->cov_status = r->cov_status;
  out->n_iter = r->n_iter;
  out->n_eval = r->n_eval;
  out->value = value;
  out->poi = r->theta[poi];
  out->poi_error = NAN;
  out->twice_nll = r->twice_nll;
  out->time_s = r->time_s;
}

int hfs__impact_free_fit(hfs_infer *I, hfs_fit_result *r) {
  return hfs_infer_minimize(I, NULL, NULL, hfs_infer_init(I), hfs_infer_fixed(I), NULL, 0, 1, r);
}
