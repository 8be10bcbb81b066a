/* Signal-grid files (docs/grid.md): one table of points, keyed by patch
 * name, with the patchset's label values as columns, in the group /grid:
 *
 *   /grid/points/name              strings, the patch names
 *   /grid/points/<label>           one column per patchset label (numbers)
 *   /grid/points/status            HFS_POINT_* of the CLs test
 *   /grid/points/CLs_obs, CLs_exp_m2, CLs_exp_m1, CLs_exp_med, CLs_exp_p1,
 *                CLs_exp_p2, CLsb_obs, CLb_obs, q_obs, mu_hat, CLs_err,
 *                ntoys_sb, ntoys_b, nfailed_fits
 *   /grid/points/limit_status, limit_obs, limit_exp_m2 ... limit_exp_p2
 *   /grid/points/limit_obs_status, limit_exp_m2_status ... _p2_status:
 *                                  HFS_POINT_* of each limit
 *   /grid/points/message           why a part failed ("" if none)
 *   /grid/points/fit_status        n x 5 statuses of the test's fits
 *   /grid/points/nfail_toys        toys left out (fits not converged)
 *   /grid/points/done              1 when the point is computed (a file
 *                                  of an interrupted run or of one array
 *                                  part holds the others as 0, NaN, not_run)
 *   /grid/toys/point, hyp, toy, t, mu_hat, nll_free, nll_cond, status_free,
 *              status_cond         a toy grid's checkpoint only: the toys
 *                                  of the points in progress
 *
 * Every column is one-dimensional (fit_status aside), so that
 * pandas.DataFrame({k: v[()] for k, v in f["grid/points"].items() if
 * v.ndim == 1}) is the table.  Attributes of /grid: labels (comma-separated),
 * patchset, patchset_digest, mu, cl, calc, test_stat, and the identity of
 * the run that a resume or a merge checks: options (canonical), array_index,
 * array_count.  Per-point wall times
 * go to /provenance/grid_time_s, outside what h5diff --exclude-path
 * /provenance compares. */
#ifndef HFS_GRID_OUT_H
#define HFS_GRID_OUT_H

#include "hfs_h5.h"
#include "hfs_infer.h"

typedef struct {
  int nlabels;
  const char *const *labels;
  const char *patchset;        /* file as given */
  const char *patchset_digest; /* the background workspace's, as recorded */
  double mu, cl;
  const char *calc; /* "asymptotic" or "toys" */
  const char *test_stat;
} hfs_grid_meta;

/* Write the n points (names[i], values[i * nlabels + k], results[i],
 * done[i] or NULL for all done, time_s[i] or NULL) into f. */
int hfs_store_write_grid(hfs_h5 *f, const hfs_grid_meta *meta, int n, const char *const *names,
                         const double *values, const hfs_point_result *results, const int64_t *done,
                         const double *time_s);
/* The identity attributes of /grid (after hfs_store_write_grid). */
int hfs_store_write_grid_identity(hfs_h5 *f, const char *options, int array_index, int array_count);

/* A grid file read back whole (resume, merge): everything
 * hfs_store_write_grid wrote, the identity and the root attributes.  Only
 * the fit statuses of a point's fits are stored, not their other fields. */
typedef struct {
  int n, nlabels;
  char **names, **labels;
  double *values; /* n x nlabels */
  hfs_point_result *results;
  int64_t *done;
  double *time_s;
  char patchset[4096], patchset_digest[80], calc[32], test_stat[32];
  double mu, cl;
  char *options;
  char workspace_sha256[65];
  int array_index, array_count, sessions;
  char command[32], workspace[4096], measurement[256], optimizer[64];
  int normsys_code, histosys_code;
} hfs_grid_file;

/* The toys of the points still in progress in a checkpoint of a toy grid
 * (group /grid/toys, absent once every point is done): row i is toy toy[i]
 * of hypothesis hyp[i] (0 s+b, 1 b) of the point in table row point[i]. */
typedef struct {
  int64_t n;
  int64_t *point, *hyp, *toy;
  hfs_toy_result *r;
} hfs_grid_toys;

/* Write t (nothing when t->n is 0) into f. */
int hfs_store_write_grid_toys(hfs_h5 *f, const hfs_grid_toys *t);
/* Read them back (t->n = 0 without the group); rows of other lengths fail
 * with one line (HFS_ERR_MISMATCH). */
int hfs_store_read_grid_toys(hfs_h5 *f, hfs_grid_toys *t);
void hfs_grid_toys_free(hfs_grid_toys *t);

/* Read f; a file that is not a complete grid table fails with one line
 * naming it (HFS_ERR_MISMATCH). */
int hfs_store_read_grid(hfs_h5 *f, hfs_grid_file *g);
void hfs_grid_file_free(hfs_grid_file *g);

#endif
