/* The signal-grid table (hfs_grid_out.h): column datasets of one length. */
#include "hfs_error.h"
#include "hfs_grid_out.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G "/grid/points/"

static const char *const band_names[5] = {"m2", "m1", "med", "p1", "p2"};

/* Column `name` from the double at byte offset `off` of each result. */
static int column(hfs_h5 *f, const char *name, int n, const hfs_point_result *r,
                  size_t off, double *buf) {
  char path[128];
  int64_t dims[2] = {n, 1};
  for (int i = 0; i < n; i++) buf[i] = *(const double *)((const char *)&r[i] + off);
  snprintf(path, sizeof path, G "%s", name);
  return hfs_h5_write_double(f, path, 1, dims, buf);
}

static int int_column(hfs_h5 *f, const char *name, int n, const int64_t *v) {
  char path[128];
  int64_t dims[2] = {n, 1};
  snprintf(path, sizeof path, G "%s", name);
  return hfs_h5_write_int(f, path, 1, dims, v);
}

int hfs_store_write_grid(hfs_h5 *f, const hfs_grid_meta *meta, int n,
                         const char *const *names, const double *values,
                         const hfs_point_result *r, const double *time_s) {
  int rc = HFS_OK;
  double *buf = NULL;
  int64_t *ibuf = NULL;
  const char **msg = NULL;
  char *labels = NULL, name[64];
  int64_t dims[2] = {n, 1};
  size_t llen = 1;

  HFS_ALLOC(buf, n);
  HFS_ALLOC(ibuf, (size_t)n * HFS_HT_NFITS);
  HFS_ALLOC(msg, n);
  HFS_CHECK(hfs_h5_group(f, "/grid/points"));
  for (int k = 0; k < meta->nlabels; k++) llen += strlen(meta->labels[k]) + 1;
  HFS_ALLOC(labels, llen);
  for (int k = 0; k < meta->nlabels; k++) {
    if (k) strcat(labels, ",");
    strcat(labels, meta->labels[k]);
  }
  HFS_CHECK(hfs_h5_attr_str(f, "/grid", "labels", labels));
  if (meta->patchset) HFS_CHECK(hfs_h5_attr_str(f, "/grid", "patchset", meta->patchset));
  if (meta->patchset_digest)
    HFS_CHECK(hfs_h5_attr_str(f, "/grid", "patchset_digest", meta->patchset_digest));
  HFS_CHECK(hfs_h5_attr_double(f, "/grid", "mu", meta->mu));
  HFS_CHECK(hfs_h5_attr_double(f, "/grid", "cl", meta->cl));
  if (meta->calc) HFS_CHECK(hfs_h5_attr_str(f, "/grid", "calc", meta->calc));
  if (meta->test_stat) HFS_CHECK(hfs_h5_attr_str(f, "/grid", "test_stat", meta->test_stat));
  HFS_CHECK(hfs_h5_attr_int(f, "/grid", "npoints", n));

  HFS_CHECK(hfs_h5_write_strings(f, G "name", n, names));
  for (int k = 0; k < meta->nlabels; k++) {
    char path[160];
    for (int i = 0; i < n; i++) buf[i] = values[(size_t)i * (size_t)meta->nlabels + (size_t)k];
    snprintf(path, sizeof path, G "%s", meta->labels[k]);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, buf));
  }
  for (int b = 0; b < 5; b++) {
    snprintf(name, sizeof name, "CLs_exp_%s", band_names[b]);
    HFS_CHECK(column(f, name, n, r, offsetof(hfs_point_result, cls_exp) + sizeof(double) * (size_t)b, buf));
    snprintf(name, sizeof name, "limit_exp_%s", band_names[b]);
    HFS_CHECK(column(f, name, n, r, offsetof(hfs_point_result, limit_exp) + sizeof(double) * (size_t)b, buf));
  }
  HFS_CHECK(column(f, "CLs_obs", n, r, offsetof(hfs_point_result, cls_obs), buf));
  HFS_CHECK(column(f, "CLsb_obs", n, r, offsetof(hfs_point_result, clsb_obs), buf));
  HFS_CHECK(column(f, "CLb_obs", n, r, offsetof(hfs_point_result, clb_obs), buf));
  HFS_CHECK(column(f, "CLs_err", n, r, offsetof(hfs_point_result, cls_err), buf));
  HFS_CHECK(column(f, "q_obs", n, r, offsetof(hfs_point_result, q_obs), buf));
  HFS_CHECK(column(f, "mu_hat", n, r, offsetof(hfs_point_result, mu_hat), buf));
  HFS_CHECK(column(f, "limit_obs", n, r, offsetof(hfs_point_result, limit_obs), buf));
  for (int i = 0; i < n; i++) ibuf[i] = r[i].status;
  HFS_CHECK(int_column(f, "status", n, ibuf));
  for (int i = 0; i < n; i++) ibuf[i] = r[i].limit_status;
  HFS_CHECK(int_column(f, "limit_status", n, ibuf));
  for (int i = 0; i < n; i++) ibuf[i] = r[i].ntoys_sb;
  HFS_CHECK(int_column(f, "ntoys_sb", n, ibuf));
  for (int i = 0; i < n; i++) ibuf[i] = r[i].ntoys_b;
  HFS_CHECK(int_column(f, "ntoys_b", n, ibuf));
  for (int i = 0; i < n; i++) ibuf[i] = r[i].nfailed_fits;
  HFS_CHECK(int_column(f, "nfailed_fits", n, ibuf));
  for (int i = 0; i < n; i++) msg[i] = r[i].message;
  HFS_CHECK(hfs_h5_write_strings(f, G "message", n, msg));
  for (int i = 0; i < n; i++)
    for (int k = 0; k < HFS_HT_NFITS; k++) ibuf[i * HFS_HT_NFITS + k] = r[i].fits[k].status;
  {
    int64_t d2[2] = {n, HFS_HT_NFITS};
    HFS_CHECK(hfs_h5_write_int(f, G "fit_status", 2, d2, ibuf));
  }
  if (time_s) {
    HFS_CHECK(hfs_h5_group(f, "/provenance"));
    HFS_CHECK(hfs_h5_write_double(f, "/provenance/grid_time_s", 1, dims, time_s));
  }
cleanup:
  free(buf);
  free(ibuf);
  free(msg);
  free(labels);
  return rc;
}
