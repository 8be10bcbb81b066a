/* hfscan's result files: the HDF5 layout of fits, hypothesis tests, limits
 * and significances (documented in docs/output.md), on top of hfs_h5.h. */
#ifndef HFS_STORE_H
#define HFS_STORE_H

#include "hfs_h5.h"
#include "hfs_infer.h"

/* Provenance written as attributes of the root group. */
typedef struct {
  const char *command;        /* the subcommand, e.g. "limit" */
  const char *argv_line;      /* the whole command line */
  const char *workspace;      /* path as given */
  const char *workspace_sha256;
  const char *measurement;
  const char *optimizer;
  int normsys_code, histosys_code;
  double wall_s;
  int nranks;
} hfs_run_info;

int hfs_store_write_run_info(hfs_h5 *f, const hfs_run_info *info);

/* /GROUP: attributes status, status_code, reason, twice_nll, n_iter, n_eval,
 * time_s; datasets parameters/{name,value,error,lo,hi,fixed}, correlation
 * and covariance (when the fit has errors). */
int hfs_store_write_fit(hfs_h5 *f, const char *group, hfs_model *m,
                      const hfs_fit_result *r, const int *fixed);

/* Fit summaries as a compound-free table: /GROUP/{status,twice_nll,poi,
 * n_iter,n_eval,time_s} (n rows). */
int hfs_store_write_fit_summaries(hfs_h5 *f, const char *group, int64_t n,
                                const hfs_fit_summary *s);

int hfs_store_write_hypotest(hfs_h5 *f, const char *group, const hfs_hypotest *h);
int hfs_store_write_limit(hfs_h5 *f, const char *group, const hfs_limit *l);
int hfs_store_write_significance(hfs_h5 *f, const char *group,
                               const hfs_significance *s);

/* The module's other parts: the HDF5 layer (hfs_h5.h), toy-run files
 * (hfs_toyfile.h), ranking/scan files (hfs_impacts_out.h) and the
 * guards taken before a run writes (hfs_output_guard.h).  Include this
 * header; they come with it. */
#include "hfs_impacts_out.h"
#include "hfs_output_guard.h"
#include "hfs_toyfile.h"
#include "hfs_diag_out.h"

#endif
