/* HDF5 layout of rankings (pulls, constraints, impacts, grouped impacts) and
 * profile-likelihood scans, documented in docs/output.md ("Ranking",
 * "Scan").  A file holds the unit table from the start, so an unfinished
 * run is a checkpoint that a later run resumes; the derived results appear
 * once every unit is done.  Everything that differs between two runs of the
 * same computation (times, dates, number of ranks, the command line) lives
 * under /provenance, so `h5diff --exclude-path /provenance` compares
 * results.  Written by one process. */
#ifndef HFS_IMPACTS_OUT_H
#define HFS_IMPACTS_OUT_H

#include "hfs_h5.h"
#include "hfs_infer.h"
#include "hfs_store.h"

/* hfs_store_write_run_info() (root attributes that identify the computation,
 * /provenance for what varies between runs) plus /provenance "sessions":
 * 1 + the number of times the run was resumed. */
int hfs_store_write_run_identity(hfs_h5 *f, const hfs_run_info *info, int sessions);

/* /GROUP (e.g. "/ranking"): attributes, the free fit at /GROUP/free_fit in
 * the layout of every fit (hfs_store_write_fit; fixed: the held parameters,
 * NULL = the model's), unit table; with
 * `options`, the canonical string a resumed run must match.  The parameter,
 * order and group tables are written when hfs_ranking_finish() has run. */
int hfs_store_write_ranking(hfs_h5 *f, const char *group, hfs_ranking *r, hfs_model *m,
                            const int *fixed, const char *options);
int hfs_store_write_scan(hfs_h5 *f, const char *group, hfs_scan *s, hfs_model *m, const int *fixed,
                         const char *options);

/* The identity a resumed run must match (checked by the job layer): the
 * root's workspace_sha256 and /GROUP's canonical options (malloc'd into
 * *options).  HFS_ERR_MISMATCH when the file holds no resumable run. */
int hfs_store_read_identity(hfs_h5 *f, const char *group, char sha256[65], char **options);

/* Resume: store the finished units of /GROUP into the context (the unit
 * count must be this run's).  *sessions receives the file's session count. */
int hfs_store_resume_ranking(hfs_h5 *f, const char *group, hfs_ranking *r, int *sessions);
int hfs_store_resume_scan(hfs_h5 *f, const char *group, hfs_scan *s, int *sessions);

#endif
