/* Writers of the diagnostics' results (hfs_diag_out.h). */
#include "hfs_error.h"
#include "hfs_store.h"

#include <stdio.h>
#include <stdlib.h>

int hfs_store_write_data_kind(hfs_h5 *f, const char *g, int asimov, double mu,
                              hfs_asimov_nuis nuis) {
  int rc = HFS_OK;
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_str(f, g, "data_kind", asimov ? "asimov" : "observed"));
  if (asimov) {
    HFS_CHECK(hfs_h5_attr_double(f, g, "asimov_mu", mu));
    HFS_CHECK(hfs_h5_attr_str(f, g, "asimov_nuisance", hfs_asimov_nuis_name(nuis)));
  }
cleanup:
  return rc;
}

int hfs_store_write_gof(hfs_h5 *f, const char *g, const hfs_gof *gof, uint64_t seed,
                        const hfs_gof_toy *toys, int64_t n, const hfs_gof_pvalue *p) {
  int rc = HFS_OK;
  char path[512];
  double *t = NULL, *nll = NULL;
  int64_t *st = NULL;
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_double(f, g, "t_obs", gof->t));
  HFS_CHECK(hfs_h5_attr_int(f, g, "ndof", gof->ndof));
  HFS_CHECK(hfs_h5_attr_double(f, g, "p_asymptotic", gof->p_asymptotic));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll", gof->twice_nll));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll_saturated", gof->twice_nll_saturated));
  HFS_CHECK(hfs_h5_attr_str(f, g, "fit_status", hfs_fit_status_name(gof->fit.status)));
  if (n > 0 && p) {
    HFS_ALLOC(t, n);
    HFS_ALLOC(nll, n);
    HFS_ALLOC(st, n);
    for (int64_t i = 0; i < n; ++i) {
      t[i] = toys[i].t;
      nll[i] = toys[i].twice_nll;
      st[i] = toys[i].status;
    }
    HFS_CHECK(hfs_h5_attr_int(f, g, "seed", (int64_t)seed));
    HFS_CHECK(hfs_h5_attr_int(f, g, "ntoys", n));
    HFS_CHECK(hfs_h5_attr_double(f, g, "p_toys", p->p));
    HFS_CHECK(hfs_h5_attr_double(f, g, "p_toys_err", p->p_err));
    HFS_CHECK(hfs_h5_attr_int(f, g, "ntoys_used", p->nused));
    HFS_CHECK(hfs_h5_attr_int(f, g, "ntoys_failed", p->nfailed));
    int64_t dims[2] = {n, 1};
    snprintf(path, sizeof path, "%s/toys/t", g);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, t));
    snprintf(path, sizeof path, "%s/toys/twice_nll", g);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, nll));
    snprintf(path, sizeof path, "%s/toys/status", g);
    HFS_CHECK(hfs_h5_write_int(f, path, 1, dims, st));
  }
cleanup:
  free(t);
  free(nll);
  free(st);
  return rc;
}
