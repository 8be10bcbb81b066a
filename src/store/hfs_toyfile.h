/* The toy-run file: results and checkpoint of a toy-based hypothesis test or
 * limit scan (docs/output.md, "Toys").  The master keeps the whole run in
 * memory (40 bytes a toy) and commits it by writing the complete file in
 * one atomic replace (hfs_h5_close: image to PATH.tmp, fsync, rename, with
 * the job layer's progress record staged into it): a crash at any moment
 * leaves either the previous commit or the new one, never a damaged file.  The statistics (CLs,
 * limits) come from infer (hfs_toys_run_cls); this file only stores them.
 *
 * Everything that determines the results (workspace hash, options, grid,
 * seed, toy count) is stored so that a resumed run or a merge can refuse a
 * file made differently.  Volatile facts (dates, wall time, ranks) live in
 * /provenance so that files of equal results compare equal with
 * `h5diff --exclude-path /provenance`. */
#ifndef HFS_TOYFILE_H
#define HFS_TOYFILE_H

#include "hfs_infer.h"

#include <stdint.h>

#define HFS_TOYFILE_OPTS 1024

typedef struct {
  /* identity: must match for resume and merge */
  char kind[16]; /* "hypotest" or "limit" */
  char workspace_sha256[65];
  char options[HFS_TOYFILE_OPTS]; /* canonical "key=value;..." of result-determining options */
  uint64_t seed;                  /* also inside options; kept apart for readers */
  char test_stat[16];
  int npoints;
  int64_t ntoys; /* per point and hypothesis */
  int npar;
  /* which part of the toys this file may hold (job arrays) */
  int array_index, array_count;
  /* per point */
  double *mu;                 /* npoints */
  double *obs_t, *obs_mu_hat; /* npoints */
  hfs_fit_summary *obs_fits;  /* npoints x 2: free, conditional */
  hfs_fit_summary *gen_fits;  /* npoints x 2: s+b, b generation fits */
  /* per unit u = (p * 2 + h) * ntoys + toy */
  hfs_toy_result *units;
  int64_t *done; /* 1 when units[u] holds a result */
  /* results (valid when have_results) */
  int have_results;
  int complete;     /* every unit of the run is done */
  hfs_toy_cls *cls; /* npoints */
  double cl, limit_obs, limit_exp[5];
  int have_limit;
  /* root attributes (docs/output.md), as in every result file */
  char workspace[1024];
  char measurement[256];
  char optimizer[32];
  int normsys_code, histosys_code;
  char poi[256]; /* name of the POI */
  /* provenance */
  char command_line[1024];
  double wall_s;
  int nranks;
  int64_t sessions; /* runs that contributed (1 + resumes) */
} hfs_toyfile;

int64_t hfs_toyfile_nunits(const hfs_toyfile *tf);
int hfs_toyfile_alloc(hfs_toyfile *tf, int npoints, int64_t ntoys, int npar);
void hfs_toyfile_free(hfs_toyfile *tf);

/* Write the complete file to path (truncating; removed on failure). */
int hfs_toyfile_write(const hfs_toyfile *tf, const char *path);
/* Load a file written by hfs_toyfile_save (allocates tf). */
int hfs_toyfile_load(const char *path, hfs_toyfile *tf);

/* Validate a file as hfs_toyfile_load does (header, dataset shapes, every
 * unit's row) in bounded memory: the unit tables are read in blocks of
 * rows, never whole, so `hfscan status` answers for files of any size.
 * *done and *total (optional) get the units of the file's array part
 * marked done and all of them, as the /job progress record counts them. */
int hfs_toyfile_check(const char *path, int64_t *done, int64_t *total);

/* Whether a unit belongs to array part (index, count): toys are split in
 * contiguous, non-overlapping blocks of toy indices. */
int hfs_toyfile_unit_in_part(const hfs_toyfile *tf, int64_t unit, int index, int count);

#endif
