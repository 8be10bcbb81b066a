/* Job kind "grid": every selected point of a pyhf patchset (a signal grid)
 * in one distributed, checkpointed run (docs/grid.md).  A unit is a
 * point's asymptotic part (the rank that runs it builds the point's model
 * through the caller's build() and computes its CLs at mu, and its limit,
 * with hfs_infer_point) or, with toys, one batch of the point's toys, so
 * that one point's toys spread over ranks.  Toy runs go in rounds: a point's
 * further batches are listed once the earlier ones are in, a few of them
 * speculatively, and the point's stopping decision is taken on its batches
 * in index order only; a batch computed past the stop is discarded.  The
 * master keeps the grid table (hfs_grid_out.h), which doubles as the
 * checkpoint; a job array splits the points by index modulo the part
 * count, so that neighbouring (similar) points spread over the parts. */
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_job.h"
#include "hfs_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a unit sends back: the point's asymptotic record (a toy batch: only
 * its status and message), the unit's wall time and, for a toy batch, its
 * toys right after this header (ntoys of s+b, then ntoys of b). */
typedef struct {
  hfs_point_result r;
  double time_s;
  int64_t ntoys;
} grid_unit;

/* A toy point in progress (master): what has come in so far. */
typedef struct {
  int have_asym;
  hfs_point_result asym;
  uint8_t *have;          /* by batch: 0 not in, 1 in, 2 failed */
  hfs_toy_result *sb, *b; /* by toy index, room for cap batches */
  int64_t cap;
  int64_t checked;   /* batches that passed the checks, in index order */
  double last_err;   /* error on CLs at the last check */
  double time_s;     /* wall time of the point's units so far */
  int64_t failed_at; /* lowest failed batch in, and its message */
  char failed[240];
} toy_point;

/* Units of a run, refused beyond (the pending lists are that long). */
#define GRID_MAX_UNITS (1LL << 24)

typedef struct {
  hfs_job *job;
  const hfs_job_config *cfg;
  int n;
  int64_t nbatch; /* toy batches of a point at the maximum; 0 without toys */
  int64_t slots;  /* units per point: the asymptotic part and the batches */
  toy_point *tp;  /* master, with toys: by point */
  /* master, by unit */
  hfs_point_result *results;
  double *time_s;
  int64_t *done;
  char *options;
  int sessions;
  hfs_grid_file loaded; /* master: the file identify() read, for resume() */
} grid_state;

/* Toy seeds come from the patch name, so that a point gets the same toys
 * whatever else is selected and however the grid is split. */
static uint64_t point_seed(uint64_t seed, const char *name) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  uint64_t z = seed + h + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static const char *unit_name(const grid_state *s, int64_t u) {
  return hfs_patchset_name(s->cfg->grid.ps, s->cfg->grid.points[u]);
}

/* A record with nothing computed yet. */
static void blank(hfs_point_result *r) {
  memset(r, 0, sizeof *r);
  r->status = r->limit_status = HFS_POINT_NOT_RUN;
  for (int k = 0; k < 6; k++) r->limit_part_status[k] = HFS_POINT_NOT_RUN;
  r->cls_obs = r->clsb_obs = r->clb_obs = r->q_obs = r->mu_hat = r->limit_obs = NAN;
  for (int b = 0; b < 5; b++) r->cls_exp[b] = r->limit_exp[b] = NAN;
}

/* The settings that determine the points' results, in a canonical form;
 * the selected points enter as their count and the sha256 of their names. */
static char *canonical_options(const grid_state *s) {
  const hfs_job_config *cfg = s->cfg;
  const hfs_point_options *po = &cfg->grid.point;
  char sel[65];
  size_t cap = 4096 + (cfg->grid.settings ? strlen(cfg->grid.settings) : 0), len = 1;
  for (int u = 0; u < s->n; u++) len += strlen(unit_name(s, u)) + 1;
  char *names = malloc(len), *buf = malloc(cap);
  if (!names || !buf) {
    free(names);
    free(buf);
    return NULL;
  }
  names[0] = '\0';
  for (int u = 0, l = 0; u < s->n; u++) l += sprintf(names + l, "%s\n", unit_name(s, u));
  hfs_sha256_buffer(names, strlen(names), sel);
  free(names);
  snprintf(
      buf, cap,
      "kind=grid;workspace_sha256=%s;normsys_code=%d;histosys_code=%d;optimizer=%s;"
      "max_iter=%d%s;test_stat=%s;mu=%.17g;limit=%d;cl=%.17g;rtol=%.17g;limit_method=%s;calc=%s;"
      "toys=%lld:%lld:%lld:%.17g;seed=%llu;settings=%s;points=%d:%s",
      cfg->workspace_sha256, cfg->model_options.normsys_code, cfg->model_options.histosys_code,
      hfs_optimizer_name(cfg->fit.optimizer), cfg->fit.max_iter, hfs_job_robust_suffix(cfg),
      hfs_teststat_name(po->ts), po->mu, po->limit, po->limit ? po->lim.cl : 0.0,
      po->limit ? po->lim.rtol : 0.0,
      !po->limit                           ? ""
      : po->lim.method == HFS_LIMIT_SECANT ? "secant"
                                           : "brent",
      po->toys ? "toys" : "asymptotic", po->toys ? (long long)po->toys_min : 0LL,
      po->toys ? (long long)po->toys_max : 0LL, po->toys ? (long long)po->toys_batch : 0LL,
      po->toys ? po->cls_accuracy : 0.0, po->toys ? (unsigned long long)po->seed : 0ULL,
      cfg->grid.settings ? cfg->grid.settings : "", s->n, sel);
  return buf;
}

static void toy_point_free(toy_point *t) {
  free(t->have);
  free(t->sb);
  free(t->b);
  memset(t, 0, sizeof *t);
  t->failed_at = INT64_MAX;
}

static void grid_destroy(void *state) {
  grid_state *s = state;
  for (int u = 0; s->tp && u < s->n; u++) toy_point_free(&s->tp[u]);
  free(s->tp);
  free(s->results);
  free(s->time_s);
  free(s->done);
  free(s->options);
  hfs_grid_file_free(&s->loaded);
  free(s);
}

static int grid_setup(hfs_job *job, void **state) {
  int rc = HFS_OK;
  grid_state *s = NULL;
  HFS_ALLOC(s, 1);
  *state = s;
  s->job = job;
  s->cfg = hfs_job_config_of(job);
  s->sessions = 1;
  const hfs_job_config *cfg = s->cfg;
  if (!cfg->grid.ps || !cfg->grid.points || cfg->grid.npoints < 1 || !cfg->grid.build ||
      !cfg->grid.release)
    HFS_FAIL(HFS_ERR_ARG, "grid: no points to compute");
  s->n = cfg->grid.npoints;
  HFS_CHECK(hfs_point_options_check(&cfg->grid.point));
  s->nbatch = cfg->grid.point.toys ? hfs_point_toy_batches(&cfg->grid.point) : 0;
  s->slots = 1 + s->nbatch;
  if (s->slots > GRID_MAX_UNITS / s->n)
    HFS_FAIL(HFS_ERR_ARG,
             "grid: %d points of %lld toy batches each are too many units (at most %lld); raise "
             "--toys-batch",
             s->n, (long long)s->nbatch, GRID_MAX_UNITS);
  if (!(s->options = canonical_options(s))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  if (hfs_job_is_master(job)) {
    HFS_ALLOC(s->results, s->n);
    HFS_ALLOC(s->time_s, s->n);
    HFS_ALLOC(s->done, s->n);
    for (int u = 0; u < s->n; u++) blank(&s->results[u]);
    if (s->nbatch) {
      HFS_ALLOC(s->tp, s->n);
      for (int u = 0; u < s->n; u++) toy_point_free(&s->tp[u]);
    }
  }
cleanup:
  return rc;
}

static int64_t grid_nunits(const void *state) {
  const grid_state *s = state;
  return s->n * s->slots;
}

static size_t grid_result_bytes(const void *state) {
  const grid_state *s = state;
  size_t toys = s->nbatch ? 2 * (size_t)s->cfg->grid.point.toys_batch : 0;
  return sizeof(grid_unit) + toys * sizeof(hfs_toy_result);
}

static char *grid_options(const void *state) {
  return strdup(((const grid_state *)state)->options);
}

static int grid_identify(void *state, const char *path, char sha256[65], char **options,
                         int *array_index, int *array_count) {
  int rc = HFS_OK;
  grid_state *s = state;
  hfs_h5 *h5 = NULL;
  hfs_grid_file_free(&s->loaded);
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  HFS_CHECK(hfs_store_read_grid(h5, &s->loaded));
  snprintf(sha256, 65, "%s", s->loaded.workspace_sha256);
  if (!(*options = strdup(s->loaded.options))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  *array_index = s->loaded.array_index;
  *array_count = s->loaded.array_count;
cleanup:
  hfs_h5_close(&h5);
  return rc;
}

static int load_toys(grid_state *s, const char *path);

static int grid_resume(void *state, const char *path) {
  int rc = HFS_OK;
  grid_state *s = state;
  hfs_grid_file *g = &s->loaded;
  /* The options hold the selection's digest; the names are checked too. */
  if (g->n != s->n) HFS_FAIL(HFS_ERR_MISMATCH, "%s holds %d points, this run %d", path, g->n, s->n);
  for (int u = 0; u < s->n; u++) {
    if (strcmp(g->names[u], unit_name(s, u)))
      HFS_FAIL(HFS_ERR_MISMATCH, "%s: point %d is %s, this run's is %s", path, u, g->names[u],
               unit_name(s, u));
    if (!g->done[u]) continue;
    s->results[u] = g->results[u];
    s->time_s[u] = g->time_s[u];
    s->done[u] = 1;
  }
  s->sessions = g->sessions + 1;
  if (s->nbatch) HFS_CHECK(load_toys(s, path));
cleanup:
  hfs_grid_file_free(g);
  return rc;
}

static int in_part(const grid_state *s, int64_t u) {
  return u % s->cfg->toys.array_count == s->cfg->toys.array_index;
}

/* The batches a toy point in progress needs before its next check that
 * could stop it: up to the first check, then as many as the error at the
 * last check says the accuracy needs (error ~ 1/sqrt(toys)), at least one
 * more. */
static int64_t toy_horizon(const grid_state *s, const toy_point *t) {
  const hfs_point_options *po = &s->cfg->grid.point;
  int64_t h = hfs_point_toy_first_check(po, &t->asym);
  if (t->checked >= h) {
    double n = (double)hfs_point_toy_count(po, t->checked), e = t->last_err / po->cls_accuracy;
    double need = isfinite(e) && e > 0 ? n * e * e : 0;
    h = need < (double)(s->nbatch * po->toys_batch) ? (int64_t)ceil(need / (double)po->toys_batch)
                                                    : s->nbatch;
    if (h < t->checked + 1) h = t->checked + 1;
  }
  return h < s->nbatch ? h : s->nbatch;
}

/* A toy point's units of the next round (a point whose asymptotic part is
 * not in yet: it and the batches toys_min needs), their end in *h. */
static int64_t toy_units(const grid_state *s, int64_t u, int64_t *units, int64_t *h) {
  const toy_point *t = &s->tp[u];
  int64_t n = 0, from = t->checked;
  if (!t->have_asym) {
    units[n++] = u * s->slots;
    *h = hfs_point_toy_first_check(&s->cfg->grid.point, NULL);
    from = 0;
  } else {
    *h = toy_horizon(s, t);
  }
  for (int64_t j = from; j < *h; j++)
    if (!t->have || !t->have[j]) units[n++] = u * s->slots + 1 + j;
  return n;
}

/* Rounds: every point not done lists what it needs now.  A toy round that
 * would leave ranks idle lends them further batches of the points in
 * progress (speculation: the checks in index order use them if the point
 * goes on that far and drop them otherwise, so results do not change). */
static int64_t grid_pending(const void *state, int64_t *units) {
  const grid_state *s = state;
  int64_t n = 0, nranks = hfs_job_nranks(s->job), h, more = 1;
  for (int64_t u = 0; u < s->n; u++) {
    if (s->done[u] || !in_part(s, u)) continue;
    if (!s->nbatch)
      units[n++] = u;
    else
      n += toy_units(s, u, units + n, &h);
  }
  for (int64_t extra = 0; s->nbatch && n < nranks && more; extra++) {
    more = 0;
    for (int64_t u = 0; u < s->n && n < nranks; u++) {
      const toy_point *t = &s->tp[u];
      if (s->done[u] || !in_part(s, u) || !t->have_asym) continue;
      int64_t j = toy_horizon(s, t) + extra;
      if (j >= s->nbatch || (t->have && t->have[j])) continue;
      units[n++] = u * s->slots + 1 + j;
      more = 1;
    }
  }
  return n;
}

static void grid_progress(const void *state, int64_t *done, int64_t *total) {
  const grid_state *s = state;
  *done = *total = 0;
  for (int64_t u = 0; u < s->n; u++)
    if (in_part(s, u)) {
      ++*total;
      *done += s->done[u] != 0;
    }
}

static int grid_run(void *state, int64_t unit, void *result) {
  grid_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  grid_unit *out = result;
  hfs_toy_result *toys = (hfs_toy_result *)(out + 1);
  hfs_job_grid_model pm;
  hfs_infer *I = NULL;
  int64_t point = unit / s->slots, batch = unit % s->slots - 1;
  int k = cfg->grid.points[point];
  double t0 = hfs_now();
  memset(&pm, 0, sizeof pm);
  memset(result, 0, grid_result_bytes(s));
  blank(&out->r);
  int rc = cfg->grid.build(cfg->grid.ctx, k, &pm);
  if (!rc) rc = hfs_infer_create(pm.model, &cfg->fit, pm.fixed, pm.init, &I);
  if (!rc) {
    hfs_point_options po = cfg->grid.point;
    hfs_infer_set_robust(I, cfg->robust_observed, cfg->robust_toys);
    po.seed = point_seed(cfg->grid.point.seed, hfs_patchset_name(cfg->grid.ps, k));
    if (batch < 0) {
      rc = hfs_infer_point(I, &po, &out->r);
    } else {
      rc = hfs_point_toys_batch(I, &po, batch, toys, toys + po.toys_batch, &out->ntoys);
      /* A batch that cannot be computed fails its point once the checks
       * reach it. */
      if (rc && rc != HFS_ERR_NOMEM) {
        out->r.status = HFS_POINT_ERROR;
        snprintf(out->r.message, sizeof out->r.message, "%s", hfs_error_message());
        hfs_error_clear();
        rc = HFS_OK;
      }
    }
  } else if (rc != HFS_ERR_NOMEM) {
    /* A point that cannot be built is recorded like one whose fits fail. */
    hfs_point_result *r = &out->r;
    r->status = HFS_POINT_ERROR;
    r->limit_status = cfg->grid.point.limit ? HFS_POINT_ERROR : HFS_POINT_NOT_RUN;
    for (int b = 0; b < 6; b++) r->limit_part_status[b] = r->limit_status;
    snprintf(r->message, sizeof r->message, "%s", hfs_error_message());
    hfs_error_clear();
    rc = HFS_OK;
  }
  out->time_s = hfs_now() - t0;
  hfs_infer_destroy(&I);
  if (pm.owner || pm.model) cfg->grid.release(cfg->grid.ctx, &pm);
  return rc;
}

static void point_done(grid_state *s, int64_t u, const hfs_point_result *r, double time_s) {
  s->results[u] = *r;
  s->time_s[u] = time_s;
  s->done[u] = 1;
  if (s->tp) toy_point_free(&s->tp[u]);
}

/* Room in a toy point for batches [0, nb). */
static int toy_room(grid_state *s, toy_point *t, int64_t nb) {
  int rc = HFS_OK;
  const hfs_point_options *po = &s->cfg->grid.point;
  if (!t->have) HFS_ALLOC(t->have, s->nbatch);
  if (nb > t->cap) {
    int64_t cap = nb > 2 * t->cap ? nb : 2 * t->cap;
    if (cap > s->nbatch) cap = s->nbatch;
    size_t bytes = sizeof(hfs_toy_result) * (size_t)hfs_point_toy_count(po, cap);
    hfs_toy_result *sb = realloc(t->sb, bytes), *b = sb ? realloc(t->b, bytes) : NULL;
    if (sb) t->sb = sb;
    if (b) t->b = b;
    if (!sb || !b) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
    t->cap = cap;
  }
cleanup:
  return rc;
}

/* A checkpoint's toys of the points in progress back into their batches:
 * a batch counts as in when every toy of it is there, once (a batch cut
 * short is computed again). */
static int load_toys(grid_state *s, const char *path) {
  int rc = HFS_OK;
  const hfs_point_options *po = &s->cfg->grid.point;
  hfs_grid_toys t;
  hfs_h5 *h5 = NULL;
  uint8_t **seen = NULL; /* by point: 2 x toys_max flags */
  int64_t *count = NULL; /* by point and batch: toys in */
  memset(&t, 0, sizeof t);
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  HFS_CHECK(hfs_store_read_grid_toys(h5, &t));
  if (!t.n) goto cleanup;
  HFS_ALLOC(seen, s->n);
  HFS_ALLOC(count, (size_t)s->n * (size_t)s->nbatch);
  for (int64_t i = 0; i < t.n; i++) {
    int64_t u = t.point[i], h = t.hyp[i], k = t.toy[i];
    if (u < 0 || u >= s->n || s->done[u] || (h != 0 && h != 1) || k < 0 || k >= po->toys_max)
      HFS_FAIL(HFS_ERR_MISMATCH,
               "%s: /grid/toys row %lld: toy %lld of hypothesis %lld of point %lld is not one of "
               "a point in progress",
               path, (long long)i, (long long)k, (long long)h, (long long)u);
    if (!seen[u]) HFS_ALLOC(seen[u], 2 * (size_t)po->toys_max);
    if (seen[u][h * po->toys_max + k]++)
      HFS_FAIL(HFS_ERR_MISMATCH,
               "%s: /grid/toys row %lld: toy %lld of hypothesis %lld of point %lld twice", path,
               (long long)i, (long long)k, (long long)h, (long long)u);
    int64_t j = k / po->toys_batch;
    toy_point *tp = &s->tp[u];
    HFS_CHECK(toy_room(s, tp, j + 1));
    (h ? tp->b : tp->sb)[k] = t.r[i];
    count[u * s->nbatch + j]++;
  }
  for (int64_t u = 0; u < s->n; u++)
    for (int64_t j = 0; seen[u] && j < s->nbatch; j++)
      if (count[u * s->nbatch + j] == 2 * (hfs_point_toy_count(po, j + 1) - j * po->toys_batch))
        s->tp[u].have[j] = 1;
cleanup:
  for (int u = 0; seen && u < s->n; u++) free(seen[u]);
  free(seen);
  free(count);
  hfs_grid_toys_free(&t);
  hfs_h5_close(&h5);
  return rc;
}

/* Take a toy point's checks as far as its batches in index order go; the
 * point is done at the first check that stops it, or at a failed batch. */
static int toy_advance(grid_state *s, int64_t u) {
  int rc = HFS_OK;
  toy_point *t = &s->tp[u];
  const hfs_point_options *po = &s->cfg->grid.point;
  if (!t->have_asym) return HFS_OK;
  hfs_point_result r = t->asym;
  if (r.status == HFS_POINT_ERROR) {
    point_done(s, u, &r, t->time_s);
    return HFS_OK;
  }
  while (t->have && t->checked < s->nbatch && t->have[t->checked]) {
    int stop = 0;
    if (t->have[t->checked] == 2) {
      hfs_point_toys_failed(&r, t->failed);
      point_done(s, u, &r, t->time_s);
      break;
    }
    t->checked++;
    HFS_CHECK(hfs_point_toys_check(po, t->sb, t->b, t->checked, &r, &stop, &t->last_err));
    if (stop) {
      point_done(s, u, &r, t->time_s);
      break;
    }
  }
cleanup:
  return rc;
}

static int grid_collect(void *state, int64_t unit, const void *result) {
  int rc = HFS_OK;
  grid_state *s = state;
  const grid_unit *g = result;
  int64_t u = unit / s->slots, batch = unit % s->slots - 1;
  /* a speculative batch of a point that stopped before it */
  if (s->done[u]) return HFS_OK;
  if (!s->nbatch) {
    point_done(s, u, &g->r, g->time_s);
    return HFS_OK;
  }
  toy_point *t = &s->tp[u];
  t->time_s += g->time_s;
  if (batch < 0) {
    t->asym = g->r;
    t->have_asym = 1;
  } else {
    HFS_CHECK(toy_room(s, t, batch + 1));
    if (g->r.status == HFS_POINT_ERROR) {
      t->have[batch] = 2;
      if (batch < t->failed_at) {
        t->failed_at = batch;
        snprintf(t->failed, sizeof t->failed, "%s", g->r.message);
      }
    } else {
      const hfs_toy_result *toys = (const hfs_toy_result *)(g + 1);
      int64_t at = batch * s->cfg->grid.point.toys_batch;
      memcpy(t->sb + at, toys, sizeof *toys * (size_t)g->ntoys);
      memcpy(t->b + at, toys + s->cfg->grid.point.toys_batch, sizeof *toys * (size_t)g->ntoys);
      t->have[batch] = 1;
    }
  }
  HFS_CHECK(toy_advance(s, u));
cleanup:
  return rc;
}

static int point_failed(const hfs_job_config *cfg, const hfs_point_result *r) {
  return r->status != HFS_POINT_OK || (cfg->grid.point.limit && r->limit_status != HFS_POINT_OK);
}

static int grid_finish(void *state, int *whole, int *nfailed) {
  grid_state *s = state;
  *whole = 1;
  *nfailed = 0;
  for (int u = 0; u < s->n; u++) {
    *whole &= s->done[u] != 0;
    if (s->done[u] && in_part(s, u)) *nfailed += point_failed(s->cfg, &s->results[u]);
  }
  return HFS_OK;
}

/* The file: root identity, the table with its done column, the run's
 * identity on /grid.  Shared by a run's commits and by merge. */
typedef struct {
  const hfs_run_info *info;
  int sessions;
  const hfs_grid_meta *meta;
  int n;
  const char *const *names;
  const double *values;
  const hfs_point_result *results;
  const int64_t *done;
  const double *time_s;
  const char *options;
  int array_index, array_count;
  const hfs_grid_toys *toys; /* of the points in progress; NULL: none */
} grid_file_out;

static int write_grid_file(const grid_file_out *w, const char *path) {
  int rc = HFS_OK;
  hfs_h5 *h5 = NULL;
  HFS_CHECK(hfs_h5_create(path, &h5));
  HFS_CHECK(hfs_store_write_run_identity(h5, w->info, w->sessions));
  HFS_CHECK(
      hfs_store_write_grid(h5, w->meta, w->n, w->names, w->values, w->results, w->done, w->time_s));
  HFS_CHECK(hfs_store_write_grid_identity(h5, w->options, w->array_index, w->array_count));
  if (w->toys) HFS_CHECK(hfs_store_write_grid_toys(h5, w->toys));
  HFS_CHECK(hfs_h5_close(&h5));
cleanup:
  hfs_h5_discard(&h5);
  return rc;
}

static const char *calc_name(const hfs_point_options *po) {
  return po->toys ? "toys" : "asymptotic";
}

/* The toys of the batches in of the points in progress, for a checkpoint
 * (none once every point is done, so a resumed run's last commit equals an
 * uninterrupted one's). */
static int collect_toys(const grid_state *s, hfs_grid_toys *out) {
  int rc = HFS_OK;
  const hfs_point_options *po = &s->cfg->grid.point;
  int64_t rows = 0, k = 0;
  memset(out, 0, sizeof *out);
  for (int u = 0; s->tp && u < s->n; u++)
    for (int64_t j = 0; !s->done[u] && s->tp[u].have && j < s->nbatch; j++)
      if (s->tp[u].have[j] == 1) rows += 2 * (hfs_point_toy_count(po, j + 1) - j * po->toys_batch);
  if (!rows) return HFS_OK;
  HFS_ALLOC(out->point, rows);
  HFS_ALLOC(out->hyp, rows);
  HFS_ALLOC(out->toy, rows);
  HFS_ALLOC(out->r, rows);
  for (int u = 0; u < s->n; u++) {
    const toy_point *t = &s->tp[u];
    for (int64_t j = 0; !s->done[u] && t->have && j < s->nbatch; j++) {
      if (t->have[j] != 1) continue;
      for (int h = 0; h < 2; h++)
        for (int64_t i = j * po->toys_batch; i < hfs_point_toy_count(po, j + 1); i++, k++) {
          out->point[k] = u;
          out->hyp[k] = h;
          out->toy[k] = i;
          out->r[k] = h ? t->b[i] : t->sb[i];
        }
    }
  }
  out->n = rows;
cleanup:
  if (rc) hfs_grid_toys_free(out);
  return rc;
}

static int grid_save(void *state, const char *path) {
  int rc = HFS_OK;
  grid_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  const hfs_patchset *ps = cfg->grid.ps;
  int n = s->n, nl = hfs_patchset_nlabels(ps);
  const char **names = NULL, **labels = NULL;
  double *values = NULL;
  hfs_grid_toys toys;
  memset(&toys, 0, sizeof toys);
  HFS_ALLOC(names, n);
  HFS_ALLOC(labels, nl);
  HFS_ALLOC(values, (size_t)n * (size_t)(nl ? nl : 1));
  for (int l = 0; l < nl; l++) labels[l] = hfs_patchset_label(ps, l);
  for (int u = 0; u < n; u++) {
    int k = cfg->grid.points[u];
    names[u] = hfs_patchset_name(ps, k);
    for (int l = 0; l < nl; l++)
      values[(size_t)u * (size_t)nl + (size_t)l] = hfs_patchset_value(ps, k, l);
  }
  hfs_run_info info = {"grid",
                       cfg->command_line,
                       cfg->workspace,
                       cfg->workspace_sha256,
                       cfg->grid.measurement,
                       hfs_optimizer_name(cfg->fit.optimizer),
                       cfg->model_options.normsys_code,
                       cfg->model_options.histosys_code,
                       hfs_job_elapsed(s->job),
                       hfs_job_nranks(s->job),
                       NULL /* each point's patch names its own POI */};
  hfs_grid_meta meta = {nl,
                        labels,
                        cfg->grid.patchset,
                        hfs_patchset_digest(ps, "sha256"),
                        cfg->grid.point.mu,
                        cfg->grid.point.lim.cl,
                        calc_name(&cfg->grid.point),
                        hfs_teststat_name(cfg->grid.point.ts)};
  grid_file_out w = {&info,
                     s->sessions,
                     &meta,
                     n,
                     names,
                     values,
                     s->results,
                     s->done,
                     s->time_s,
                     s->options,
                     cfg->toys.array_index,
                     cfg->toys.array_count,
                     NULL};
  HFS_CHECK(collect_toys(s, &toys));
  w.toys = &toys;
  HFS_CHECK(write_grid_file(&w, path));
cleanup:
  hfs_grid_toys_free(&toys);
  free(names);
  free(labels);
  free(values);
  return rc;
}

/* Merge: every part read whole, checked against the first, combined, and
 * committed as a run's commit is: one atomic replace whose in-memory image
 * carries the progress record (staged), never a patch of the written file. */
static int commit_merged(const grid_file_out *w, int64_t done, const char *path) {
  hfs_store_progress p;
  memset(&p, 0, sizeof p);
  snprintf(p.kind, sizeof p.kind, "%s", hfs_job_grid.name);
  snprintf(p.unit, sizeof p.unit, "%s", hfs_job_grid.unit_noun);
  p.done = done;
  p.total = w->n;
  p.complete = done == w->n;
  p.array_index = 0;
  p.array_count = 1;
  p.rate = -1;
  hfs_store_stage_progress(&p);
  int rc = write_grid_file(w, path);
  hfs_store_stage_progress(NULL);
  return rc;
}

static int read_part(const char *path, hfs_grid_file *g) {
  hfs_h5 *h5 = NULL;
  int rc = hfs_h5_open(path, 0, &h5);
  if (!rc) rc = hfs_store_read_grid(h5, g);
  hfs_h5_close(&h5);
  return rc;
}

static int grid_merge(const char *target, const char *const *parts, int nparts, int64_t *ndone,
                      int64_t *ntotal) {
  int rc = HFS_OK;
  hfs_grid_file out, part;
  int *from = NULL; /* the part each point came from */
  memset(&out, 0, sizeof out);
  memset(&part, 0, sizeof part);
  HFS_CHECK(read_part(parts[0], &out));
  HFS_ALLOC(from, out.n);
  for (int u = 0; u < out.n; u++) from[u] = out.done[u] ? 0 : -1;
  for (int i = 1; i < nparts; i++) {
    HFS_CHECK(read_part(parts[i], &part));
    if (strcmp(part.workspace_sha256, out.workspace_sha256))
      HFS_FAIL(HFS_ERR_MISMATCH, "merge: %s was made from another workspace than %s", parts[i],
               parts[0]);
    int same = !strcmp(part.options, out.options) && part.n == out.n;
    for (int u = 0; same && u < out.n; u++) same = !strcmp(part.names[u], out.names[u]);
    if (!same)
      HFS_FAIL(HFS_ERR_MISMATCH, "merge: %s was made with other options than %s", parts[i],
               parts[0]);
    for (int u = 0; u < out.n; u++) {
      if (!part.done[u]) continue;
      if (from[u] >= 0)
        HFS_FAIL(HFS_ERR_MISMATCH,
                 "merge: %s (part %d/%d) overlaps %s: point %s is in both; each point must "
                 "come from one part",
                 parts[i], part.array_index, part.array_count, parts[from[u]], out.names[u]);
      out.results[u] = part.results[u];
      out.time_s[u] = part.time_s[u];
      out.done[u] = 1;
      from[u] = i;
    }
    out.sessions += part.sessions;
    hfs_grid_file_free(&part);
  }
  int64_t done = 0;
  for (int u = 0; u < out.n; u++) done += out.done[u] != 0;
  char line[64];
  snprintf(line, sizeof line, "hfscan merge (%d parts)", nparts);
  hfs_run_info info = {"grid",
                       line,
                       out.workspace,
                       out.workspace_sha256,
                       out.measurement[0] ? out.measurement : NULL,
                       out.optimizer,
                       out.normsys_code,
                       out.histosys_code,
                       0,
                       1,
                       NULL};
  hfs_grid_meta meta = {out.nlabels,
                        (const char *const *)out.labels,
                        out.patchset[0] ? out.patchset : NULL,
                        out.patchset_digest[0] ? out.patchset_digest : NULL,
                        out.mu,
                        out.cl,
                        out.calc[0] ? out.calc : NULL,
                        out.test_stat[0] ? out.test_stat : NULL};
  grid_file_out w = {&info,
                     out.sessions,
                     &meta,
                     out.n,
                     (const char *const *)out.names,
                     out.values,
                     out.results,
                     out.done,
                     out.time_s,
                     out.options,
                     0,
                     1,
                     NULL};
  HFS_CHECK(commit_merged(&w, done, target));
  *ndone = done;
  *ntotal = out.n;
cleanup:
  hfs_grid_file_free(&part);
  hfs_grid_file_free(&out);
  free(from);
  return rc;
}

const hfs_job_kind hfs_job_grid = {
    .name = "grid",
    .unit_noun = "points",
    .result_size = sizeof(grid_unit),
    .setup = grid_setup,
    .nunits = grid_nunits,
    .options = grid_options,
    .identify = grid_identify,
    .resume = grid_resume,
    .pending = grid_pending,
    .progress = grid_progress,
    .run = grid_run,
    .collect = grid_collect,
    .finish = grid_finish,
    .save = grid_save,
    .destroy = grid_destroy,
    .merge = grid_merge,
    .result_bytes = grid_result_bytes,
    .rounds = 1,
};

const hfs_point_result *hfs_job_grid_results(const hfs_job *job, int *n, const int64_t **done) {
  const grid_state *s = hfs_job_state_of(job);
  *n = 0;
  *done = NULL;
  if (!s || !s->results) return NULL;
  *n = s->n;
  *done = s->done;
  return s->results;
}
