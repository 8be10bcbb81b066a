/* The signal-grid table (hfs_grid_out.h): column datasets of one length,
 * written and read back through one list of columns, so that a resumed or
 * merged file holds exactly what a single run writes. */
#include "hfs_error.h"
#include "hfs_grid_out.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G "/grid/points/"

static const char *const band_names[5] = {"m2", "m1", "med", "p1", "p2"};

/* The number columns of a point's record, by byte offset. */
typedef struct {
  const char *name;
  size_t off;
} dcol;

#define D(NAME, FIELD)                                                                             \
  { NAME, offsetof(hfs_point_result, FIELD) }
static const dcol dcols[] = {
    D("CLs_obs", cls_obs),     D("CLsb_obs", clsb_obs), D("CLb_obs", clb_obs),
    D("CLs_err", cls_err),     D("q_obs", q_obs),       D("mu_hat", mu_hat),
    D("limit_obs", limit_obs),
};
#undef D
#define NDCOLS (sizeof dcols / sizeof dcols[0])

/* The integer columns, read and written through iget and iset. */
static const char *const inames[] = {"status",
                                     "limit_status",
                                     "ntoys_sb",
                                     "ntoys_b",
                                     "nfail_toys",
                                     "nfailed_fits",
                                     "limit_obs_status",
                                     "limit_exp_m2_status",
                                     "limit_exp_m1_status",
                                     "limit_exp_med_status",
                                     "limit_exp_p1_status",
                                     "limit_exp_p2_status"};
#define NICOLS 12

static int64_t iget(const hfs_point_result *r, int k) {
  switch (k) {
    case 0: return r->status;
    case 1: return r->limit_status;
    case 2: return r->ntoys_sb;
    case 3: return r->ntoys_b;
    case 4: return r->nfail_toys;
    case 5: return r->nfailed_fits;
    default: return r->limit_part_status[k - 6];
  }
}

static void iset(hfs_point_result *r, int k, int64_t v) {
  switch (k) {
    case 0: r->status = (int)v; break;
    case 1: r->limit_status = (int)v; break;
    case 2: r->ntoys_sb = v; break;
    case 3: r->ntoys_b = v; break;
    case 4: r->nfail_toys = v; break;
    case 5: r->nfailed_fits = (int)v; break;
    default: r->limit_part_status[k - 6] = (int)v; break;
  }
}

static double *dptr(hfs_point_result *r, size_t off) { return (double *)((char *)r + off); }
static double dget(const hfs_point_result *r, size_t off) {
  return *(const double *)((const char *)r + off);
}

/* The band columns: CLs_exp_* and limit_exp_*, b = 0..4. */
static size_t band_off(int which, int b) {
  return (which ? offsetof(hfs_point_result, limit_exp) : offsetof(hfs_point_result, cls_exp)) +
         sizeof(double) * (size_t)b;
}

static void band_path(char *p, size_t n, int which, int b) {
  snprintf(p, n, G "%s_exp_%s", which ? "limit" : "CLs", band_names[b]);
}

int hfs_store_write_grid(hfs_h5 *f, const hfs_grid_meta *meta, int n, const char *const *names,
                         const double *values, const hfs_point_result *r, const int64_t *done,
                         const double *time_s) {
  int rc = HFS_OK;
  double *buf = NULL;
  int64_t *ibuf = NULL;
  const char **msg = NULL;
  char *labels = NULL, path[192];
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
    for (int i = 0; i < n; i++) buf[i] = values[(size_t)i * (size_t)meta->nlabels + (size_t)k];
    snprintf(path, sizeof path, G "%s", meta->labels[k]);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, buf));
  }
  for (int which = 0; which < 2; which++)
    for (int b = 0; b < 5; b++) {
      for (int i = 0; i < n; i++) buf[i] = dget(&r[i], band_off(which, b));
      band_path(path, sizeof path, which, b);
      HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, buf));
    }
  for (size_t c = 0; c < NDCOLS; c++) {
    for (int i = 0; i < n; i++) buf[i] = dget(&r[i], dcols[c].off);
    snprintf(path, sizeof path, G "%s", dcols[c].name);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, buf));
  }
  for (int c = 0; c < NICOLS; c++) {
    for (int i = 0; i < n; i++) ibuf[i] = iget(&r[i], c);
    snprintf(path, sizeof path, G "%s", inames[c]);
    HFS_CHECK(hfs_h5_write_int(f, path, 1, dims, ibuf));
  }
  for (int i = 0; i < n; i++) ibuf[i] = done ? done[i] != 0 : 1;
  HFS_CHECK(hfs_h5_write_int(f, G "done", 1, dims, ibuf));
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

int hfs_store_write_grid_identity(hfs_h5 *f, const char *options, int array_index,
                                  int array_count) {
  int rc = HFS_OK;
  HFS_CHECK(hfs_h5_attr_str(f, "/grid", "options", options));
  HFS_CHECK(hfs_h5_attr_int(f, "/grid", "array_index", array_index));
  HFS_CHECK(hfs_h5_attr_int(f, "/grid", "array_count", array_count));
cleanup:
  return rc;
}

void hfs_grid_file_free(hfs_grid_file *g) {
  for (int i = 0; g->names && i < g->n; i++) free(g->names[i]);
  for (int k = 0; g->labels && k < g->nlabels; k++) free(g->labels[k]);
  free(g->names);
  free(g->labels);
  free(g->values);
  free(g->results);
  free(g->done);
  free(g->time_s);
  free(g->options);
  memset(g, 0, sizeof *g);
}

/* The comma-separated labels into g->labels. */
static int split_labels(hfs_grid_file *g, const char *s) {
  int rc = HFS_OK, n = *s ? 1 : 0;
  for (const char *p = s; *p; p++) n += *p == ',';
  HFS_ALLOC(g->labels, n ? n : 1);
  g->nlabels = n;
  for (int k = 0; k < n; k++) {
    const char *e = strchr(s, ',');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (!(g->labels[k] = strndup(s, l))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
    s += l + (e != NULL);
  }
cleanup:
  return rc;
}

static int attr_i(hfs_h5 *f, const char *obj, const char *name, int *v) {
  int64_t x;
  int rc = hfs_h5_get_attr_int(f, obj, name, &x);
  if (!rc) *v = (int)x;
  return rc;
}

int hfs_store_read_grid(hfs_h5 *f, hfs_grid_file *g) {
  int rc = HFS_OK;
  char *labels = NULL, path[192], hs[16];
  double *buf = NULL;
  int64_t *ibuf = NULL, n64 = 0;
  char **msg = NULL;
  const char *file = hfs_h5_path(f);
  memset(g, 0, sizeof *g);
  if (!hfs_h5_exists(f, "/grid/points"))
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: no /grid/points table (not a grid file)", file);
  HFS_ALLOC(labels, 1 << 16);
  HFS_ALLOC(g->options, 1 << 20);
  if (hfs_h5_get_attr_str(f, "/grid", "options", g->options, 1 << 20) ||
      attr_i(f, "/grid", "array_index", &g->array_index) ||
      attr_i(f, "/grid", "array_count", &g->array_count))
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: /grid holds no resumable run (no options or array part)", file);
  if (hfs_h5_get_attr_str(f, "/", "workspace_sha256", g->workspace_sha256, 65))
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: no workspace_sha256 attribute", file);
  HFS_CHECK(hfs_h5_get_attr_int(f, "/grid", "npoints", &n64));
  HFS_CHECK(hfs_h5_get_attr_str(f, "/grid", "labels", labels, 1 << 16));
  if (n64 < 0 || n64 != hfs_h5_size(f, G "name") || g->array_count < 1 || g->array_index < 0 ||
      g->array_index >= g->array_count)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: /grid: inconsistent header (npoints %lld, part %d/%d)", file,
             (long long)n64, g->array_index, g->array_count);
  g->n = (int)n64;
  HFS_CHECK(split_labels(g, labels));
  /* optional descriptive attributes */
  hfs_h5_get_attr_str(f, "/grid", "patchset", g->patchset, sizeof g->patchset);
  hfs_h5_get_attr_str(f, "/grid", "patchset_digest", g->patchset_digest, sizeof g->patchset_digest);
  hfs_h5_get_attr_str(f, "/grid", "calc", g->calc, sizeof g->calc);
  hfs_h5_get_attr_str(f, "/grid", "test_stat", g->test_stat, sizeof g->test_stat);
  HFS_CHECK(hfs_h5_get_attr_double(f, "/grid", "mu", &g->mu));
  HFS_CHECK(hfs_h5_get_attr_double(f, "/grid", "cl", &g->cl));
  hfs_h5_get_attr_str(f, "/", "workspace", g->workspace, sizeof g->workspace);
  hfs_h5_get_attr_str(f, "/", "measurement", g->measurement, sizeof g->measurement);
  hfs_h5_get_attr_str(f, "/", "optimizer", g->optimizer, sizeof g->optimizer);
  hfs_h5_get_attr_str(f, "/", "command", g->command, sizeof g->command);
  attr_i(f, "/", "normsys_code", &g->normsys_code);
  hs[0] = '\0';
  hfs_h5_get_attr_str(f, "/", "histosys_code", hs, sizeof hs);
  g->histosys_code = !strcmp(hs, "4p") ? 4 : atoi(hs);
  int64_t sessions = 1;
  hfs_h5_get_attr_int(f, "/provenance", "sessions", &sessions);
  g->sessions = (int)sessions;

  int n = g->n, nl = g->nlabels;
  HFS_ALLOC(g->names, n ? n : 1);
  HFS_ALLOC(g->values, (size_t)(n ? n : 1) * (size_t)(nl ? nl : 1));
  HFS_ALLOC(g->results, n ? n : 1);
  HFS_ALLOC(g->done, n ? n : 1);
  HFS_ALLOC(g->time_s, n ? n : 1);
  HFS_ALLOC(buf, n ? n : 1);
  HFS_ALLOC(ibuf, (size_t)(n ? n : 1) * HFS_HT_NFITS);
  HFS_ALLOC(msg, n ? n : 1);
  HFS_CHECK(hfs_h5_read_strings(f, G "name", n, g->names));
  for (int k = 0; k < nl; k++) {
    snprintf(path, sizeof path, G "%s", g->labels[k]);
    HFS_CHECK(hfs_h5_read_double(f, path, buf, n));
    for (int i = 0; i < n; i++) g->values[(size_t)i * (size_t)nl + (size_t)k] = buf[i];
  }
  for (int which = 0; which < 2; which++)
    for (int b = 0; b < 5; b++) {
      band_path(path, sizeof path, which, b);
      HFS_CHECK(hfs_h5_read_double(f, path, buf, n));
      for (int i = 0; i < n; i++) *dptr(&g->results[i], band_off(which, b)) = buf[i];
    }
  for (size_t c = 0; c < NDCOLS; c++) {
    snprintf(path, sizeof path, G "%s", dcols[c].name);
    HFS_CHECK(hfs_h5_read_double(f, path, buf, n));
    for (int i = 0; i < n; i++) *dptr(&g->results[i], dcols[c].off) = buf[i];
  }
  for (int c = 0; c < NICOLS; c++) {
    snprintf(path, sizeof path, G "%s", inames[c]);
    HFS_CHECK(hfs_h5_read_int(f, path, ibuf, n));
    for (int i = 0; i < n; i++) iset(&g->results[i], c, ibuf[i]);
  }
  HFS_CHECK(hfs_h5_read_int(f, G "done", g->done, n));
  for (int i = 0; i < n; i++)
    if (g->done[i] != 0 && g->done[i] != 1)
      HFS_FAIL(HFS_ERR_MISMATCH, "%s: " G "done[%d] = %lld: expected 0 or 1", file, i,
               (long long)g->done[i]);
  HFS_CHECK(hfs_h5_read_int(f, G "fit_status", ibuf, (int64_t)n * HFS_HT_NFITS));
  for (int i = 0; i < n; i++)
    for (int k = 0; k < HFS_HT_NFITS; k++)
      g->results[i].fits[k].status = (int)ibuf[i * HFS_HT_NFITS + k];
  HFS_CHECK(hfs_h5_read_strings(f, G "message", n, msg));
  for (int i = 0; i < n; i++)
    snprintf(g->results[i].message, sizeof g->results[i].message, "%s", msg[i]);
  if (hfs_h5_read_double(f, "/provenance/grid_time_s", g->time_s, n) != HFS_OK) {
    hfs_error_clear();
    for (int i = 0; i < n; i++) g->time_s[i] = 0;
  }
cleanup:
  for (int i = 0; msg && i < n64 && i < g->n; i++) free(msg[i]);
  free(msg);
  free(labels);
  free(buf);
  free(ibuf);
  if (rc) hfs_grid_file_free(g);
  return rc;
}

/* The toy columns, doubles then integers, by byte offset in a toy. */
#define T(NAME, FIELD)                                                                             \
  { NAME, offsetof(hfs_toy_result, FIELD) }
static const dcol tdcols[] = {T("t", t), T("mu_hat", mu_hat), T("nll_free", nll_free),
                              T("nll_cond", nll_cond)};
#undef T
#define TG "/grid/toys/"

void hfs_grid_toys_free(hfs_grid_toys *t) {
  free(t->point);
  free(t->hyp);
  free(t->toy);
  free(t->r);
  memset(t, 0, sizeof *t);
}

int hfs_store_write_grid_toys(hfs_h5 *f, const hfs_grid_toys *t) {
  int rc = HFS_OK;
  int64_t n = t->n, dims[1] = {n};
  double *buf = NULL;
  int64_t *ibuf = NULL;
  char path[64];
  if (n == 0) return HFS_OK;
  HFS_ALLOC(buf, n);
  HFS_ALLOC(ibuf, n);
  HFS_CHECK(hfs_h5_group(f, "/grid/toys"));
  HFS_CHECK(hfs_h5_write_int(f, TG "point", 1, dims, t->point));
  HFS_CHECK(hfs_h5_write_int(f, TG "hyp", 1, dims, t->hyp));
  HFS_CHECK(hfs_h5_write_int(f, TG "toy", 1, dims, t->toy));
  for (size_t c = 0; c < sizeof tdcols / sizeof *tdcols; c++) {
    for (int64_t i = 0; i < n; i++)
      buf[i] = *(const double *)((const char *)&t->r[i] + tdcols[c].off);
    snprintf(path, sizeof path, TG "%s", tdcols[c].name);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, buf));
  }
  for (int64_t i = 0; i < n; i++) ibuf[i] = t->r[i].status_free;
  HFS_CHECK(hfs_h5_write_int(f, TG "status_free", 1, dims, ibuf));
  for (int64_t i = 0; i < n; i++) ibuf[i] = t->r[i].status_cond;
  HFS_CHECK(hfs_h5_write_int(f, TG "status_cond", 1, dims, ibuf));
cleanup:
  free(buf);
  free(ibuf);
  return rc;
}

int hfs_store_read_grid_toys(hfs_h5 *f, hfs_grid_toys *t) {
  int rc = HFS_OK;
  double *buf = NULL;
  int64_t *ibuf = NULL;
  char path[64];
  static const char *const cols[] = {"point",    "hyp",      "toy",         "t",          "mu_hat",
                                     "nll_free", "nll_cond", "status_free", "status_cond"};
  memset(t, 0, sizeof *t);
  if (!hfs_h5_exists(f, "/grid/toys")) return HFS_OK;
  int64_t n = hfs_h5_size(f, TG "point");
  for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
    snprintf(path, sizeof path, TG "%s", cols[c]);
    if (hfs_h5_size(f, path) != n || n < 0)
      HFS_FAIL(HFS_ERR_MISMATCH, "%s: " TG "%s: %lld rows, " TG "point has %lld", hfs_h5_path(f),
               cols[c], (long long)hfs_h5_size(f, path), (long long)n);
  }
  HFS_ALLOC(t->point, n ? n : 1);
  HFS_ALLOC(t->hyp, n ? n : 1);
  HFS_ALLOC(t->toy, n ? n : 1);
  HFS_ALLOC(t->r, n ? n : 1);
  HFS_ALLOC(buf, n ? n : 1);
  HFS_ALLOC(ibuf, n ? n : 1);
  HFS_CHECK(hfs_h5_read_int(f, TG "point", t->point, n));
  HFS_CHECK(hfs_h5_read_int(f, TG "hyp", t->hyp, n));
  HFS_CHECK(hfs_h5_read_int(f, TG "toy", t->toy, n));
  for (size_t c = 0; c < sizeof tdcols / sizeof *tdcols; c++) {
    snprintf(path, sizeof path, TG "%s", tdcols[c].name);
    HFS_CHECK(hfs_h5_read_double(f, path, buf, n));
    for (int64_t i = 0; i < n; i++) *(double *)((char *)&t->r[i] + tdcols[c].off) = buf[i];
  }
  HFS_CHECK(hfs_h5_read_int(f, TG "status_free", ibuf, n));
  for (int64_t i = 0; i < n; i++) t->r[i].status_free = (int32_t)ibuf[i];
  HFS_CHECK(hfs_h5_read_int(f, TG "status_cond", ibuf, n));
  for (int64_t i = 0; i < n; i++) t->r[i].status_cond = (int32_t)ibuf[i];
  t->n = n;
cleanup:
  free(buf);
  free(ibuf);
  if (rc) hfs_grid_toys_free(t);
  return rc;
}
