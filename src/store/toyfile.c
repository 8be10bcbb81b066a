/* Toy-run files: writing (the job layer makes it atomic), loading for
 * resume and merge. */
#include "hfs_error.h"
#include "hfs_h5.h"
#include "hfs_store.h"
#include "hfs_toyfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t hfs_toyfile_nunits(const hfs_toyfile *tf) { return (int64_t)tf->npoints * 2 * tf->ntoys; }

int hfs_toyfile_alloc(hfs_toyfile *tf, int npoints, int64_t ntoys, int npar) {
  int rc = HFS_OK;
  memset(tf, 0, sizeof *tf);
  tf->npoints = npoints;
  tf->ntoys = ntoys;
  tf->npar = npar;
  tf->array_count = 1;
  int64_t n = hfs_toyfile_nunits(tf);
  HFS_ALLOC(tf->mu, npoints);
  HFS_ALLOC(tf->obs_t, npoints);
  HFS_ALLOC(tf->obs_mu_hat, npoints);
  HFS_ALLOC(tf->obs_fits, 2 * npoints);
  HFS_ALLOC(tf->gen_fits, 2 * npoints);
  HFS_ALLOC(tf->units, n);
  HFS_ALLOC(tf->done, n);
  HFS_ALLOC(tf->cls, npoints);
  for (int64_t u = 0; u < n; ++u) {
    tf->units[u].t = tf->units[u].mu_hat = NAN;
    tf->units[u].nll_free = tf->units[u].nll_cond = NAN;
    tf->units[u].status_free = tf->units[u].status_cond = -1;
  }
cleanup:
  if (rc) hfs_toyfile_free(tf);
  return rc;
}

void hfs_toyfile_free(hfs_toyfile *tf) {
  free(tf->mu);
  free(tf->obs_t);
  free(tf->obs_mu_hat);
  free(tf->obs_fits);
  free(tf->gen_fits);
  free(tf->units);
  free(tf->done);
  free(tf->cls);
  memset(tf, 0, sizeof *tf);
}

int hfs_toyfile_unit_in_part(const hfs_toyfile *tf, int64_t u, int index, int count) {
  int64_t toy = u % tf->ntoys;
  int64_t lo = tf->ntoys * index / count, hi = tf->ntoys * (index + 1) / count;
  return toy >= lo && toy < hi;
}

#define CK(x)                                                                                      \
  do {                                                                                             \
    rc = (x);                                                                                      \
    if (rc) goto cleanup;                                                                          \
  } while (0)

static int write_summaries(hfs_h5 *f, const char *g, int64_t n, const hfs_fit_summary *s) {
  int rc = HFS_OK;
  char p[256];
  double *d = NULL;
  int64_t *iv = NULL;
  HFS_ALLOC(d, n);
  HFS_ALLOC(iv, n);
  int64_t dim[1] = {n};
  for (int64_t i = 0; i < n; ++i) iv[i] = s[i].status;
  snprintf(p, sizeof p, "%s/status", g);
  CK(hfs_h5_write_int(f, p, 1, dim, iv));
  for (int64_t i = 0; i < n; ++i) d[i] = s[i].twice_nll;
  snprintf(p, sizeof p, "%s/twice_nll", g);
  CK(hfs_h5_write_double(f, p, 1, dim, d));
  for (int64_t i = 0; i < n; ++i) d[i] = s[i].poi;
  snprintf(p, sizeof p, "%s/poi", g);
  CK(hfs_h5_write_double(f, p, 1, dim, d));
cleanup:
  free(d);
  free(iv);
  return rc;
}

static int read_summaries(hfs_h5 *f, const char *g, int64_t n, hfs_fit_summary *s) {
  int rc = HFS_OK;
  char p[256];
  double *d = NULL;
  int64_t *iv = NULL;
  HFS_ALLOC(d, n);
  HFS_ALLOC(iv, n);
  snprintf(p, sizeof p, "%s/status", g);
  CK(hfs_h5_read_int(f, p, iv, n));
  for (int64_t i = 0; i < n; ++i) s[i].status = (int)iv[i];
  snprintf(p, sizeof p, "%s/twice_nll", g);
  CK(hfs_h5_read_double(f, p, d, n));
  for (int64_t i = 0; i < n; ++i) s[i].twice_nll = d[i];
  snprintf(p, sizeof p, "%s/poi", g);
  CK(hfs_h5_read_double(f, p, d, n));
  for (int64_t i = 0; i < n; ++i) s[i].poi = d[i];
cleanup:
  free(d);
  free(iv);
  return rc;
}

static int write_file(const hfs_toyfile *tf, const char *path) {
  int rc = HFS_OK;
  hfs_h5 *f = NULL;
  int64_t n = hfs_toyfile_nunits(tf), P = tf->npoints;
  double *d = NULL;
  int64_t *iv = NULL;
  HFS_ALLOC(d, n > 5 * P ? n : 5 * P);
  HFS_ALLOC(iv, n > 2 * P ? n : 2 * P);
  CK(hfs_h5_create(path, &f));
  const char *g = "/toys";
  CK(hfs_h5_group(f, g));
  CK(hfs_h5_attr_str(f, g, "kind", tf->kind));
  CK(hfs_h5_attr_str(f, g, "workspace_sha256", tf->workspace_sha256));
  CK(hfs_h5_attr_str(f, g, "options", tf->options));
  CK(hfs_h5_attr_int(f, g, "seed", (int64_t)tf->seed));
  CK(hfs_h5_attr_str(f, g, "test_stat", tf->test_stat));
  CK(hfs_h5_attr_int(f, g, "npoints", tf->npoints));
  CK(hfs_h5_attr_int(f, g, "ntoys", tf->ntoys));
  CK(hfs_h5_attr_int(f, g, "npar", tf->npar));
  CK(hfs_h5_attr_int(f, g, "array_index", tf->array_index));
  CK(hfs_h5_attr_int(f, g, "array_count", tf->array_count));
  CK(hfs_h5_attr_int(f, g, "complete", tf->complete));
  CK(hfs_h5_attr_str(f, g, "poi", tf->poi));
  if (!strcmp(tf->kind, "limit")) CK(hfs_h5_attr_double(f, g, "cl", tf->cl));
  int64_t dP[1] = {P}, dN[1] = {n}, dP5[2] = {P, 5};
  CK(hfs_h5_write_double(f, "/toys/mu", 1, dP, tf->mu));
  CK(hfs_h5_write_double(f, "/toys/observed/t", 1, dP, tf->obs_t));
  CK(hfs_h5_write_double(f, "/toys/observed/mu_hat", 1, dP, tf->obs_mu_hat));
  CK(write_summaries(f, "/toys/observed/fits", 2 * P, tf->obs_fits));
  CK(write_summaries(f, "/toys/generation/fits", 2 * P, tf->gen_fits));
#define UNIT_D(field, name)                                                                        \
  for (int64_t u = 0; u < n; ++u) d[u] = tf->units[u].field;                                       \
  CK(hfs_h5_write_double(f, "/toys/unit/" name, 1, dN, d));
#define UNIT_I(field, name)                                                                        \
  for (int64_t u = 0; u < n; ++u) iv[u] = tf->units[u].field;                                      \
  CK(hfs_h5_write_int(f, "/toys/unit/" name, 1, dN, iv));
  UNIT_D(t, "t");
  UNIT_D(mu_hat, "mu_hat");
  UNIT_D(nll_free, "twice_nll_free");
  UNIT_D(nll_cond, "twice_nll_cond");
  UNIT_I(status_free, "status_free");
  UNIT_I(status_cond, "status_cond");
  CK(hfs_h5_write_int(f, "/toys/unit/done", 1, dN, tf->done));
  if (tf->have_results) {
    const char *r = "/toys/result";
    CK(hfs_h5_group(f, r));
#define RES_D(field, name)                                                                         \
  for (int64_t p = 0; p < P; ++p) d[p] = tf->cls[p].field;                                         \
  CK(hfs_h5_write_double(f, "/toys/result/" name, 1, dP, d));
#define RES_I(field, name)                                                                         \
  for (int64_t p = 0; p < P; ++p) iv[p] = tf->cls[p].field;                                        \
  CK(hfs_h5_write_int(f, "/toys/result/" name, 1, dP, iv));
    RES_D(cls, "CLs_obs");
    RES_D(clsb, "CLsb_obs");
    RES_D(clb, "CLb_obs");
    RES_D(cls_err, "CLs_obs_err");
    RES_D(clsb_err, "CLsb_obs_err");
    RES_D(clb_err, "CLb_obs_err");
    RES_I(n_sb, "n_used_sb");
    RES_I(n_b, "n_used_b");
    RES_I(nfail_sb, "n_failed_sb");
    RES_I(nfail_b, "n_failed_b");
    for (int64_t p = 0; p < P; ++p)
      for (int k = 0; k < 5; ++k) d[5 * p + k] = tf->cls[p].cls_exp[k];
    CK(hfs_h5_write_double(f, "/toys/result/CLs_exp", 2, dP5, d));
    CK(hfs_store_label_bands(f, "/toys/result/CLs_exp"));
    for (int64_t p = 0; p < P; ++p)
      for (int k = 0; k < 5; ++k) d[5 * p + k] = tf->cls[p].clsb_exp[k];
    CK(hfs_h5_write_double(f, "/toys/result/CLsb_exp", 2, dP5, d));
    CK(hfs_store_label_bands(f, "/toys/result/CLsb_exp"));
    CK(hfs_h5_attr_str(f, r, "failed_toys",
                       "toys whose free or conditional fit did not converge are left out "
                       "of the p-values and counted in n_failed_*"));
  }
  if (tf->have_limit) {
    int64_t d5[1] = {5};
    CK(hfs_h5_group(f, "/limit"));
    CK(hfs_h5_attr_double(f, "/limit", "cl", tf->cl));
    CK(hfs_h5_attr_double(f, "/limit", "obs", tf->limit_obs));
    CK(hfs_h5_attr_str(f, "/limit", "calculator", "toys"));
    CK(hfs_h5_attr_str(f, "/limit", "poi", tf->poi));
    CK(hfs_h5_write_double(f, "/limit/exp", 1, d5, tf->limit_exp));
    CK(hfs_store_label_bands(f, "/limit/exp"));
  }
  hfs_run_info info = {tf->kind,        tf->command_line, tf->workspace,    tf->workspace_sha256,
                       tf->measurement, tf->optimizer,    tf->normsys_code, tf->histosys_code,
                       tf->wall_s,      tf->nranks,       tf->poi};
  CK(hfs_store_write_run_identity(f, &info, (int)tf->sessions));
  rc = hfs_h5_close(&f);
cleanup:
  hfs_h5_discard(&f);
  free(d);
  free(iv);
  return rc;
}

/* Nothing to remove on failure: a created file reaches the disk only
 * whole (hfs_h5_close), and a failed one leaves the previous version. */
int hfs_toyfile_write(const hfs_toyfile *tf, const char *path) { return write_file(tf, path); }

/* Every dataset a toy file must hold and its number of values, checked
 * against the header before anything is allocated: a crafted header
 * (npoints = 999999) must not make the reader allocate gigabytes. */
static int check_shapes(hfs_h5 *f, const char *path, int64_t np, int64_t n) {
  static const char *const per_point[] = {"/toys/mu", "/toys/observed/t", "/toys/observed/mu_hat"};
  static const char *const per_fit[] = {"status", "twice_nll", "poi"};
  static const char *const per_unit[] = {
      "t", "mu_hat", "twice_nll_free", "twice_nll_cond", "status_free", "status_cond", "done"};
  char p[128];
  for (size_t i = 0; i < sizeof per_point / sizeof *per_point; ++i)
    if (hfs_h5_size(f, per_point[i]) != np)
      return hfs_error_set(HFS_ERR_MISMATCH,
                           "%s: damaged toy file: %s has %lld values, the header says %lld "
                           "points",
                           path, per_point[i], (long long)hfs_h5_size(f, per_point[i]),
                           (long long)np);
  for (int g = 0; g < 2; ++g)
    for (size_t i = 0; i < sizeof per_fit / sizeof *per_fit; ++i) {
      snprintf(p, sizeof p, "/toys/%s/fits/%s", g ? "generation" : "observed", per_fit[i]);
      if (hfs_h5_size(f, p) != 2 * np)
        return hfs_error_set(HFS_ERR_MISMATCH,
                             "%s: damaged toy file: %s has %lld values, expected %lld", path, p,
                             (long long)hfs_h5_size(f, p), (long long)(2 * np));
    }
  for (size_t i = 0; i < sizeof per_unit / sizeof *per_unit; ++i) {
    snprintf(p, sizeof p, "/toys/unit/%s", per_unit[i]);
    if (hfs_h5_size(f, p) != n)
      return hfs_error_set(HFS_ERR_MISMATCH,
                           "%s: damaged toy file: %s has %lld values, the header says %lld "
                           "(npoints x 2 x ntoys)",
                           path, p, (long long)hfs_h5_size(f, p), (long long)n);
  }
  return HFS_OK;
}

/* Values that no run writes: a unit marked done must hold a result (fit
 * statuses of a real fit, a finite statistic when both fits converged). */
static int check_unit(const char *path, int64_t u, int64_t done, const hfs_toy_result *r) {
  if (done != 0 && done != 1)
    return hfs_error_set(HFS_ERR_MISMATCH,
                         "%s: damaged toy file: /toys/unit/done[%lld] = %lld (0 or 1)", path,
                         (long long)u, (long long)done);
  if (!done) return HFS_OK;
  if (r->status_free < HFS_FIT_CONVERGED || r->status_free > HFS_FIT_HESSE_FAILED ||
      r->status_cond < HFS_FIT_CONVERGED || r->status_cond > HFS_FIT_HESSE_FAILED)
    return hfs_error_set(HFS_ERR_MISMATCH,
                         "%s: damaged toy file: toy unit %lld is marked done but holds no "
                         "result (fit statuses %d, %d)",
                         path, (long long)u, r->status_free, r->status_cond);
  if (r->status_free == HFS_FIT_CONVERGED && r->status_cond == HFS_FIT_CONVERGED &&
      !(isfinite(r->t) && isfinite(r->nll_free) && isfinite(r->nll_cond)))
    return hfs_error_set(HFS_ERR_MISMATCH,
                         "%s: damaged toy file: toy unit %lld has converged fits but a "
                         "non-finite test statistic or likelihood",
                         path, (long long)u);
  return HFS_OK;
}

static int check_mu(const char *path, const double *mu, int64_t np) {
  for (int64_t p = 0; p < np; ++p)
    if (!isfinite(mu[p]))
      return hfs_error_set(HFS_ERR_MISMATCH, "%s: damaged toy file: /toys/mu[%lld] is not finite",
                           path, (long long)p);
  return HFS_OK;
}

static int check_values(const hfs_toyfile *tf, const char *path) {
  int64_t n = hfs_toyfile_nunits(tf);
  int rc = check_mu(path, tf->mu, tf->npoints);
  for (int64_t u = 0; u < n && !rc; ++u) rc = check_unit(path, u, tf->done[u], &tf->units[u]);
  return rc;
}

/* The header's sizes, bounded before anything is allocated, and the
 * datasets' shapes against them. */
static int read_header(hfs_h5 *f, const char *path, int64_t *np, int64_t *nt, int64_t *npar,
                       int64_t *ai, int64_t *ac) {
  int rc = HFS_OK;
  if (!hfs_h5_exists(f, "/toys"))
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: not an hfscan toy file (no /toys group)", path);
  CK(hfs_h5_get_attr_int(f, "/toys", "npoints", np));
  CK(hfs_h5_get_attr_int(f, "/toys", "ntoys", nt));
  CK(hfs_h5_get_attr_int(f, "/toys", "npar", npar));
  if (*np < 1 || *np > 1000000 || *nt < 1 || *nt > ((int64_t)1 << 40) / (2 * *np) || *npar < 1 ||
      *npar > 100000000)
    HFS_FAIL(HFS_ERR_MISMATCH,
             "%s: damaged toy file: header npoints = %lld, ntoys = %lld, npar = %lld out of "
             "range",
             path, (long long)*np, (long long)*nt, (long long)*npar);
  CK(hfs_h5_get_attr_int(f, "/toys", "array_index", ai));
  CK(hfs_h5_get_attr_int(f, "/toys", "array_count", ac));
  if (*ac < 1 || *ac > 1000000 || *ai < 0 || *ai >= *ac)
    HFS_FAIL(HFS_ERR_MISMATCH,
             "%s: damaged toy file: array part %lld/%lld (needs 0 <= index < count)", path,
             (long long)*ai, (long long)*ac);
  char kind[16];
  CK(hfs_h5_get_attr_str(f, "/toys", "kind", kind, sizeof kind));
  if (strcmp(kind, "hypotest") && strcmp(kind, "limit"))
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: damaged toy file: kind '%s' (hypotest or limit)", path, kind);
  CK(check_shapes(f, path, *np, *np * 2 * *nt));
cleanup:
  return rc;
}

/* Rows per block of hfs_toyfile_check: 7 columns of 8 bytes, under 4 MB. */
#define CHECK_BLOCK 65536

int hfs_toyfile_check(const char *path, int64_t *done_out, int64_t *total_out) {
  int rc = HFS_OK;
  hfs_h5 *f = NULL;
  double *mu = NULL, *col[4] = {NULL, NULL, NULL, NULL};
  int64_t *done = NULL, *sf = NULL, *sc = NULL;
  int64_t np, nt, npar, ai, ac, ndone = 0;
  static const char *const dnames[4] = {"/toys/unit/t", "/toys/unit/mu_hat",
                                        "/toys/unit/twice_nll_free", "/toys/unit/twice_nll_cond"};
  CK(hfs_h5_open(path, 0, &f));
  CK(read_header(f, path, &np, &nt, &npar, &ai, &ac));
  int64_t n = np * 2 * nt, b = n < CHECK_BLOCK ? n : CHECK_BLOCK, npart = 0;
  /* the toys of this file's array part (hfs_toyfile_unit_in_part) */
  int64_t lo = nt * ai / ac, hi = nt * (ai + 1) / ac;
  HFS_ALLOC(mu, np);
  CK(hfs_h5_read_double(f, "/toys/mu", mu, np));
  CK(check_mu(path, mu, np));
  for (int k = 0; k < 4; ++k) HFS_ALLOC(col[k], b);
  HFS_ALLOC(done, b);
  HFS_ALLOC(sf, b);
  HFS_ALLOC(sc, b);
  for (int64_t u0 = 0; u0 < n; u0 += b) {
    int64_t m = n - u0 < b ? n - u0 : b;
    for (int k = 0; k < 4; ++k) CK(hfs_h5_rows_read_double(f, dnames[k], u0, m, 1, col[k]));
    CK(hfs_h5_rows_read_int(f, "/toys/unit/done", u0, m, 1, done));
    CK(hfs_h5_rows_read_int(f, "/toys/unit/status_free", u0, m, 1, sf));
    CK(hfs_h5_rows_read_int(f, "/toys/unit/status_cond", u0, m, 1, sc));
    for (int64_t i = 0; i < m; ++i) {
      hfs_toy_result r = {0};
      r.t = col[0][i];
      r.mu_hat = col[1][i];
      r.nll_free = col[2][i];
      r.nll_cond = col[3][i];
      r.status_free = (int32_t)sf[i];
      r.status_cond = (int32_t)sc[i];
      CK(check_unit(path, u0 + i, done[i], &r));
      int64_t toy = (u0 + i) % nt;
      if (toy >= lo && toy < hi) {
        ++npart;
        ndone += done[i];
      }
    }
  }
  if (done_out) *done_out = ndone;
  if (total_out) *total_out = npart;
cleanup:
  hfs_h5_close(&f);
  free(mu);
  for (int k = 0; k < 4; ++k) free(col[k]);
  free(done);
  free(sf);
  free(sc);
  return rc;
}

int hfs_toyfile_load(const char *path, hfs_toyfile *tf) {
  int rc = HFS_OK;
  hfs_h5 *f = NULL;
  double *d = NULL;
  int64_t *iv = NULL;
  int64_t np, nt, npar, ai, ac, complete, sessions = 1;
  memset(tf, 0, sizeof *tf);
  CK(hfs_h5_open(path, 0, &f));
  CK(read_header(f, path, &np, &nt, &npar, &ai, &ac));
  CK(hfs_toyfile_alloc(tf, (int)np, nt, (int)npar));
  CK(hfs_h5_get_attr_str(f, "/toys", "kind", tf->kind, sizeof tf->kind));
  CK(hfs_h5_get_attr_str(f, "/toys", "workspace_sha256", tf->workspace_sha256,
                         sizeof tf->workspace_sha256));
  CK(hfs_h5_get_attr_str(f, "/toys", "options", tf->options, sizeof tf->options));
  int64_t seed = 0;
  CK(hfs_h5_get_attr_int(f, "/toys", "seed", &seed));
  tf->seed = (uint64_t)seed;
  CK(hfs_h5_get_attr_str(f, "/toys", "test_stat", tf->test_stat, sizeof tf->test_stat));
  CK(hfs_h5_get_attr_int(f, "/toys", "complete", &complete));
  tf->array_index = (int)ai;
  tf->array_count = (int)ac;
  tf->complete = (int)complete;
  if (hfs_h5_get_attr_int(f, "/provenance", "sessions", &sessions) == HFS_OK)
    tf->sessions = sessions;
  hfs_h5_get_attr_str(f, "/provenance", "command_line", tf->command_line, sizeof tf->command_line);
  /* Root attributes and the /toys attributes added after the first toy
   * files: optional when loading. */
  hfs_h5_get_attr_str(f, "/", "workspace", tf->workspace, sizeof tf->workspace);
  hfs_h5_get_attr_str(f, "/", "measurement", tf->measurement, sizeof tf->measurement);
  hfs_h5_get_attr_str(f, "/", "optimizer", tf->optimizer, sizeof tf->optimizer);
  hfs_h5_get_attr_str(f, "/toys", "poi", tf->poi, sizeof tf->poi);
  int64_t code = 0;
  if (hfs_h5_get_attr_int(f, "/", "normsys_code", &code) == HFS_OK) tf->normsys_code = (int)code;
  char hcode[8] = "";
  if (hfs_h5_get_attr_str(f, "/", "histosys_code", hcode, sizeof hcode) == HFS_OK)
    tf->histosys_code = !strcmp(hcode, "4p") ? 4 : atoi(hcode);
  double wall = 0;
  if (hfs_h5_get_attr_double(f, "/provenance", "wall_s", &wall) == HFS_OK) tf->wall_s = wall;
  hfs_h5_get_attr_double(f, "/toys", "cl", &tf->cl);
  int64_t n = hfs_toyfile_nunits(tf);
  HFS_ALLOC(d, n);
  HFS_ALLOC(iv, n);
  CK(hfs_h5_read_double(f, "/toys/mu", tf->mu, np));
  CK(hfs_h5_read_double(f, "/toys/observed/t", tf->obs_t, np));
  CK(hfs_h5_read_double(f, "/toys/observed/mu_hat", tf->obs_mu_hat, np));
  CK(read_summaries(f, "/toys/observed/fits", 2 * np, tf->obs_fits));
  CK(read_summaries(f, "/toys/generation/fits", 2 * np, tf->gen_fits));
#define LOAD_D(field, name)                                                                        \
  CK(hfs_h5_read_double(f, "/toys/unit/" name, d, n));                                             \
  for (int64_t u = 0; u < n; ++u) tf->units[u].field = d[u];
#define LOAD_I(field, name)                                                                        \
  CK(hfs_h5_read_int(f, "/toys/unit/" name, iv, n));                                               \
  for (int64_t u = 0; u < n; ++u) tf->units[u].field = (int32_t)iv[u];
  LOAD_D(t, "t");
  LOAD_D(mu_hat, "mu_hat");
  LOAD_D(nll_free, "twice_nll_free");
  LOAD_D(nll_cond, "twice_nll_cond");
  LOAD_I(status_free, "status_free");
  LOAD_I(status_cond, "status_cond");
  CK(hfs_h5_read_int(f, "/toys/unit/done", tf->done, n));
  CK(check_values(tf, path));
  if (hfs_h5_exists(f, "/limit")) CK(hfs_h5_get_attr_double(f, "/limit", "cl", &tf->cl));
cleanup:
  hfs_h5_close(&f);
  free(d);
  free(iv);
  if (rc) hfs_toyfile_free(tf);
  return rc;
}
