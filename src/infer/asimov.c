/* Asimov data sets for blinded and expected runs (hfs_diag.h). */
#include "hfs_diag.h"
#include "hfs_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *hfs_asimov_nuis_name(hfs_asimov_nuis n) {
  return n == HFS_ASIMOV_POSTFIT ? "postfit" : "prefit";
}

int hfs_asimov_generate(hfs_infer *I, double mu, hfs_asimov_nuis nuis, double *main, double *aux,
                        double *theta, hfs_fit_summary *gen) {
  int rc = HFS_OK;
  hfs_model *m = hfs_infer_model(I);
  int n = hfs_model_npar(m), poi = hfs_model_poi(m);
  double lo = hfs_model_par_lo(m, poi), hi = hfs_model_par_hi(m, poi);
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  if (!(mu >= lo && mu <= hi))
    return hfs_error_set(HFS_ERR_ARG, "Asimov mu=%g: outside the bounds [%g, %g] of the POI '%s'",
                         mu, lo, hi, hfs_model_par_name(m, poi));
  if (nuis == HFS_ASIMOV_PREFIT) {
    HFS_CHECK(hfs_fit_result_init(&r, n, 0));
    memcpy(r.theta, hfs_infer_init(I), sizeof(double) * (size_t)n);
    r.theta[poi] = mu;
    r.status = HFS_FIT_CONVERGED;
    r.twice_nll =
        hfs_model_twice_nll(m, hfs_model_observed(m), hfs_model_auxdata(m), r.theta, NULL);
  } else {
    HFS_CHECK(hfs_fit_result_init(&r, n, 0));
    HFS_CHECK(hfs_infer_fit_fixed_poi(I, mu, NULL, NULL, NULL, &r));
  }
  hfs_model_expected(m, r.theta, main, aux);
  if (theta) memcpy(theta, r.theta, sizeof(double) * (size_t)n);
  if (gen) hfs_fit_summarize(&r, poi, gen);
cleanup:
  hfs_fit_result_free(&r);
  return rc;
}
