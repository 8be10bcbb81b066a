/* HDF5 layout of the diagnostics (docs/output.md): the data a run used,
 * goodness-of-fit results and yields tables.  Part of the store module:
 * include hfs_store.h, which brings this header. */
#ifndef HFS_DIAG_OUT_H
#define HFS_DIAG_OUT_H

#include "hfs_h5.h"
#include "hfs_infer.h"

/* Attributes of GROUP: data_kind "observed" or "asimov", and for Asimov
 * data asimov_mu and asimov_nuisance ("prefit" / "postfit"). */
int hfs_store_write_data_kind(hfs_h5 *f, const char *group, int asimov, double mu,
                              hfs_asimov_nuis nuis);

/* /GROUP attributes t_obs, ndof, p_asymptotic, twice_nll, twice_nll_saturated,
 * fit_status; with toys (ntoys > 0, p not NULL): seed, ntoys, p_toys,
 * p_toys_err, ntoys_used, ntoys_failed and datasets toys/{t,twice_nll,status}
 * in toy order. */
int hfs_store_write_gof(hfs_h5 *f, const char *group, const hfs_gof *g, uint64_t seed,
                        const hfs_gof_toy *toys, int64_t ntoys, const hfs_gof_pvalue *p);

#endif
