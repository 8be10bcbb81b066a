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

/* /GROUP attributes options (the canonical options of a resumable run; NULL:
 * none), t_obs, ndof, p_asymptotic, twice_nll, twice_nll_saturated,
 * fit_status; with toys (ntoys > 0): seed, ntoys and datasets
 * toys/{t,twice_nll,status,done} in toy order (done: NULL = every toy; rows
 * not done hold NaN and status -1); with the p-value (p not NULL): p_toys,
 * p_toys_err, ntoys_used, ntoys_failed. */
int hfs_store_write_gof(hfs_h5 *f, const char *group, const hfs_gof *g, const char *options,
                        uint64_t seed, const hfs_gof_toy *toys, const uint8_t *done, int64_t ntoys,
                        const hfs_gof_pvalue *p);
/* Resume: the toy table of a file written by hfs_store_write_gof
 * (HFS_ERR_MISMATCH when it holds no table of ntoys toys). */
int hfs_store_read_gof_toys(hfs_h5 *f, const char *group, int64_t ntoys, hfs_gof_toy *toys,
                            uint8_t *done);

/* GROUP/channels (names) and per channel GROUP/<index>/ with attrs name,
 * nbins, sum, sum_uncertainty and datasets samples (names), yields and
 * uncertainties (nsamples x nbins), total, total_uncertainty, data (nbins),
 * integral, integral_uncertainty (nsamples). */
int hfs_store_write_yields(hfs_h5 *f, const char *group, const hfs_yields *y);

/* GROUP/parameters/init (the start values, from which pulls are measured)
 * and GROUP/parameters/prefit_width (0 for unconstrained parameters), next
 * to a fit written by hfs_store_write_fit. */
int hfs_store_write_prefit_widths(hfs_h5 *f, const char *group, hfs_model *m, const double *init);

/* GROUP attrs options (as for gof), ndim, twice_nll_free, frozen_groups
 * (comma-separated); datasets parameters (names), best_fit (the free fit's
 * values of the scanned parameters), axis0, axis1 (2D), and on the grid (n0,
 * or n0 x n1): twice_nll, dnll2 (2 delta NLL), poi, status, n_eval, done
 * (done: NULL = every point; points not done hold NaN and status -1). */
int hfs_store_write_pscan(hfs_h5 *f, const char *group, const hfs_pscan *s, const char *options,
                          const char *const *names, const hfs_pscan_point *res, const uint8_t *done,
                          const char *const *frozen_groups, int nfrozen_groups);
/* Resume: the points of a file written by hfs_store_write_pscan for the
 * same grid (HFS_ERR_MISMATCH when the grid's size differs). */
int hfs_store_read_pscan_points(hfs_h5 *f, const char *group, const hfs_pscan *s,
                                hfs_pscan_point *res, uint8_t *done);

/* Write a finished ranking as CMS Combine's impacts JSON (the file
 * combineTool.py -M Impacts -o writes and plotImpacts.py reads):
 * {"POIs": [{name, fit: [lo, val, hi]}], "method", "params": [{name, fit,
 * prefit, <POI>: [lo, val, hi], impact_<POI>, type, groups}]} with params in
 * ranking order (docs/diagnostics.md). */
int hfs_store_write_impacts_json(const char *path, const hfs_ranking *r, hfs_model *m);

#endif
