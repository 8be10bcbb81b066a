/* hfscan's result files: the HDF5 layout of fits, hypothesis tests, limits
 * and significances (documented in docs/output.md), on top of hfs_h5.h. */
#ifndef HFS_STORE_H
#define HFS_STORE_H

#include "hfs_h5.h"
#include "hfs_infer.h"

#include <stdint.h>

/* Provenance written as attributes of the root group. */
typedef struct {
  const char *command;   /* the subcommand, e.g. "limit" */
  const char *argv_line; /* the whole command line */
  const char *workspace; /* path as given */
  const char *workspace_sha256;
  const char *measurement;
  const char *optimizer;
  int normsys_code, histosys_code;
  double wall_s;
  int nranks;
  const char *poi; /* name of the POI (root attribute "poi") */
} hfs_run_info;

/* The columns of every expected band (CLs_exp, exp, p0_exp, ...), in the
 * "columns" attribute of the dataset. */
#define HFS_STORE_BAND_COLUMNS "-2sigma,-1sigma,median,+1sigma,+2sigma"
int hfs_store_label_bands(hfs_h5 *f, const char *dataset);
/* What a scan's "dnll" datasets hold, in their "quantity" attribute. */
#define HFS_STORE_DNLL_NAME "-2 delta ln L = twice_nll - twice_nll of the free fit"

int hfs_store_write_run_info(hfs_h5 *f, const hfs_run_info *info);

/* /GROUP: attributes status, status_code, reason, twice_nll, n_iter, n_eval;
 * /provenance/GROUP attribute time_s; datasets parameters/{name,value,error,lo,hi,fixed},
 * correlation and covariance (when the fit has errors). */
int hfs_store_write_fit(hfs_h5 *f, const char *group, hfs_model *m, const hfs_fit_result *r,
                        const int *fixed);

/* Fit summaries as a compound-free table: /GROUP/{status,twice_nll,poi,
 * n_iter,n_eval} (n rows), /provenance/GROUP/time_s. */
int hfs_store_write_fit_summaries(hfs_h5 *f, const char *group, int64_t n,
                                  const hfs_fit_summary *s);

int hfs_store_write_hypotest(hfs_h5 *f, const char *group, const hfs_hypotest *h);
int hfs_store_write_limit(hfs_h5 *f, const char *group, const hfs_limit *l);
int hfs_store_write_significance(hfs_h5 *f, const char *group, const hfs_significance *s);

/* Progress of a resumable run: /job attrs kind, unit, n_done, n_total (this
 * file's part), complete (every part done, results derived), array_index,
 * array_count; /provenance units_per_s.  Written by the job layer at every
 * commit and by merge; read by `hfscan status` without touching the
 * tables. */
typedef struct {
  char kind[32]; /* the job kind ("toys", "ranking", ...) */
  char unit[16]; /* what a unit is, plural ("toys", "fits") */
  int64_t done, total;
  int complete;
  int array_index, array_count;
  double rate;      /* units per second in the session that wrote it; < 0 unknown */
  int64_t sessions; /* read only */
  char written[64]; /* read only: /provenance written (UTC) */
} hfs_store_progress;

/* Add the record to an existing, closed file (opened for writing). */
int hfs_store_write_progress(const char *path, const hfs_store_progress *p);
/* Stage the record for the files created next (hfs_h5_create): each is
 * stamped with it when closed, before its image reaches the disk, so that
 * a commit is one atomic replace carrying its record (p is copied; NULL
 * clears).  The job layer stages around its kind's save. */
void hfs_store_stage_progress(const hfs_store_progress *p);
/* Read it; HFS_ERR_MISMATCH when the file has none or it is inconsistent. */
int hfs_store_read_progress(const char *path, hfs_store_progress *p);

/* The module's other parts: the HDF5 layer (hfs_h5.h), toy-run files
 * (hfs_toyfile.h), ranking/scan files (hfs_impacts_out.h) and the
 * guards taken before a run writes (hfs_output_guard.h).  Include this
 * header; they come with it. */
#include "hfs_grid_out.h"
#include "hfs_impacts_out.h"
#include "hfs_output_guard.h"
#include "hfs_toyfile.h"
#include "hfs_diag_out.h"

#endif
