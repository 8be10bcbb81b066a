/* Job kind "toys": toy-based hypothesis tests and CLs limit scans.  A unit
 * is one toy (point, hypothesis, index); the master keeps the run in a toy
 * file (hfs_toyfile.h) that doubles as the checkpoint. */
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_job.h"
#include "hfs_store.h"
#include "hfs_toys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hfs_job *job;
  const hfs_job_config *cfg;
  const char *mode; /* "hypotest" or "limit": the file's kind */
  hfs_infer *I;
  hfs_toys *toys;
  int P;
  double *mu;
  hfs_toyfile tf; /* master */
  double t0;      /* start of the wall time not yet added to tf.wall_s */
} toys_state;

/* The grid: given, or up to 1.5 times the larger of the observed and +2
 * sigma asymptotic limits (computed on the master, broadcast). */
static int make_grid(toys_state *s) {
  int rc = HFS_OK;
  const hfs_job_config *cfg = s->cfg;
  hfs_model *m = cfg->model;
  if (!cfg->toys.limit) {
    s->P = 1;
    HFS_ALLOC(s->mu, 1);
    s->mu[0] = cfg->toys.mu;
  } else if (cfg->toys.npoints > 0) {
    int P = s->P = cfg->toys.npoints;
    HFS_ALLOC(s->mu, P);
    for (int p = 0; p < P; ++p)
      s->mu[p] = P == 1 ? cfg->toys.lo : cfg->toys.lo + (cfg->toys.hi - cfg->toys.lo) * p / (P - 1);
  } else {
    double hi = 0;
    int lrc = HFS_OK;
    if (hfs_job_is_master(s->job)) {
      hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
      hfs_limit L;
      lo.cl = cfg->toys.cl;
      lo.ts = cfg->toys.ts;
      lrc = hfs_infer_limit(s->I, &lo, &L);
      if (!lrc) {
        hi = 1.5 * (L.exp[4] > L.obs ? L.exp[4] : L.obs);
        double poi_hi = hfs_model_par_hi(m, hfs_model_poi(m));
        if (hi > poi_hi) hi = poi_hi;
        hfs_limit_free(&L);
      }
    }
    HFS_CHECK(hfs_job_bcast(s->job, &lrc, sizeof lrc));
    if (lrc)
      HFS_FAIL(HFS_ERR_ARG,
               "toy limit: no --scan given and the asymptotic limit that would set "
               "the grid failed; give --scan LO:HI:N");
    HFS_CHECK(hfs_job_bcast(s->job, &hi, sizeof hi));
    s->P = 16;
    HFS_ALLOC(s->mu, s->P);
    for (int p = 0; p < s->P; ++p) s->mu[p] = hi * (p + 1) / s->P;
  }
cleanup:
  return rc;
}

static void toys_destroy(void *state) {
  toys_state *s = state;
  hfs_toys_destroy(&s->toys);
  hfs_infer_destroy(&s->I);
  hfs_toyfile_free(&s->tf);
  free(s->mu);
  free(s);
}

static int toys_setup(hfs_job *job, void **state) {
  int rc = HFS_OK;
  toys_state *s = NULL;
  HFS_ALLOC(s, 1);
  *state = s;
  s->job = job;
  s->cfg = hfs_job_config_of(job);
  const hfs_job_config *cfg = s->cfg;
  s->mode = cfg->toys.limit ? "limit" : "hypotest";
  s->t0 = hfs_now();
  /* toys work for any statistic; limits need a one-sided one */
  if (cfg->toys.limit && (cfg->toys.ts == HFS_TS_TMU || cfg->toys.ts == HFS_TS_TMUTILDE))
    HFS_FAIL(HFS_ERR_ARG, "toy limits use q or qtilde");
  if (cfg->toys.ntoys < 1) HFS_FAIL(HFS_ERR_ARG, "toys: --ntoys must be at least 1");
  HFS_CHECK(hfs_infer_create(cfg->model, &cfg->fit, cfg->fixed, cfg->init, &s->I));
  hfs_infer_set_robust(s->I, cfg->robust_observed, cfg->robust_toys);
  HFS_CHECK(make_grid(s));
  HFS_CHECK(hfs_toys_create(s->I, cfg->toys.ts, cfg->toys.seed, s->P, s->mu, &s->toys));
cleanup:
  return rc;
}

static int64_t toys_nunits(const void *state) {
  const toys_state *s = state;
  return (int64_t)s->P * 2 * s->cfg->toys.ntoys;
}

/* The options that determine the results, in a canonical form: a resumed
 * run or a merged part must have exactly these. */
static char *toys_options(const void *state) {
  const toys_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_model *m = cfg->model;
  size_t n = HFS_TOYFILE_OPTS, l = 0;
  char *buf = malloc(n);
  if (!buf) return NULL;
  l += snprintf(buf + l, n - l,
                "kind=%s;measurement=%s;test_stat=%s;ntoys=%lld;seed=%llu;cl=%.17g;"
                "normsys_code=%d;histosys_code=%d;optimizer=%s;max_iter=%d%s;fixed=",
                s->mode, hfs_model_measurement(m), hfs_teststat_name(cfg->toys.ts),
                (long long)cfg->toys.ntoys, (unsigned long long)cfg->toys.seed,
                cfg->toys.limit ? cfg->toys.cl : 0.0, cfg->model_options.normsys_code,
                cfg->model_options.histosys_code, hfs_optimizer_name(cfg->fit.optimizer),
                cfg->fit.max_iter, hfs_job_robust_suffix(cfg));
  for (int i = 0; i < hfs_model_npar(m) && l < n; ++i)
    if (cfg->fixed[i] && !hfs_model_par_fixed(m, i))
      l += snprintf(buf + l, n - l, "%s=%.17g,", hfs_model_par_name(m, i), cfg->init[i]);
  if (l < n) l += snprintf(buf + l, n - l, ";mu=");
  for (int p = 0; p < s->P && l < n; ++p) l += snprintf(buf + l, n - l, "%.17g,", s->mu[p]);
  return buf;
}

/* What every session sets, fresh or resumed. */
static void session(toys_state *s) {
  const hfs_job_config *cfg = s->cfg;
  hfs_toyfile *tf = &s->tf;
  hfs_model *m = cfg->model;
  snprintf(tf->workspace, sizeof tf->workspace, "%s", cfg->workspace ? cfg->workspace : "");
  snprintf(tf->measurement, sizeof tf->measurement, "%s", hfs_model_measurement(m));
  snprintf(tf->optimizer, sizeof tf->optimizer, "%s", hfs_optimizer_name(cfg->fit.optimizer));
  snprintf(tf->poi, sizeof tf->poi, "%s", hfs_model_par_name(m, hfs_model_poi(m)));
  tf->normsys_code = cfg->model_options.normsys_code;
  tf->histosys_code = cfg->model_options.histosys_code;
  s->tf.cl = s->cfg->toys.cl;
  s->tf.nranks = hfs_job_nranks(s->job);
  snprintf(s->tf.command_line, sizeof s->tf.command_line, "%s",
           s->cfg->command_line ? s->cfg->command_line : "");
}

static int toys_start(void *state) {
  int rc = HFS_OK;
  toys_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_toyfile *tf = &s->tf;
  char *opts = NULL;
  HFS_CHECK(hfs_toyfile_alloc(tf, s->P, cfg->toys.ntoys, hfs_model_npar(cfg->model)));
  if (!(opts = toys_options(s))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  snprintf(tf->kind, sizeof tf->kind, "%s", s->mode);
  snprintf(tf->workspace_sha256, sizeof tf->workspace_sha256, "%s", cfg->workspace_sha256);
  snprintf(tf->options, sizeof tf->options, "%s", opts);
  tf->seed = cfg->toys.seed;
  snprintf(tf->test_stat, sizeof tf->test_stat, "%s", hfs_teststat_name(cfg->toys.ts));
  memcpy(tf->mu, s->mu, sizeof(double) * (size_t)s->P);
  tf->array_index = cfg->toys.array_index;
  tf->array_count = cfg->toys.array_count;
  tf->sessions = 1;
  for (int p = 0; p < s->P; ++p) {
    HFS_CHECK(hfs_infer_teststat(s->I, cfg->toys.ts, s->mu[p], NULL, NULL, &tf->obs_t[p],
                                 &tf->obs_fits[2 * p], &tf->obs_fits[2 * p + 1]));
    tf->obs_mu_hat[p] = tf->obs_fits[2 * p].poi;
    for (int h = 0; h < 2; ++h)
      HFS_CHECK(hfs_toys_point_pars(s->toys, p, h, NULL, &tf->gen_fits[2 * p + h]));
  }
  session(s);
cleanup:
  free(opts);
  return rc;
}

static int toys_identify(void *state, const char *path, char sha256[65], char **options,
                         int *array_index, int *array_count) {
  int rc = HFS_OK;
  toys_state *s = state;
  HFS_CHECK(hfs_toyfile_load(path, &s->tf));
  snprintf(sha256, 65, "%s", s->tf.workspace_sha256);
  if (!(*options = strdup(s->tf.options))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  *array_index = s->tf.array_index;
  *array_count = s->tf.array_count;
cleanup:
  return rc;
}

static int toys_resume(void *state, const char *path) {
  toys_state *s = state;
  (void)path; /* loaded whole by toys_identify */
  s->tf.sessions++;
  session(s);
  return HFS_OK;
}

static int in_part(const toys_state *s, int64_t u) {
  return hfs_toyfile_unit_in_part(&s->tf, u, s->cfg->toys.array_index, s->cfg->toys.array_count);
}

/* Toy-major order: an interrupted run holds the first toys of every point
 * rather than all toys of the first points. */
static int64_t toys_pending(const void *state, int64_t *units) {
  const toys_state *s = state;
  int64_t n = 0, N = s->cfg->toys.ntoys;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t ph = 0; ph < 2 * s->P; ++ph) {
      int64_t u = ph * N + t;
      if (!s->tf.done[u] && in_part(s, u)) units[n++] = u;
    }
  return n;
}

static void toys_progress(const void *state, int64_t *done, int64_t *total) {
  const toys_state *s = state;
  int64_t n = toys_nunits(s);
  *done = *total = 0;
  for (int64_t u = 0; u < n; ++u)
    if (in_part(s, u)) {
      ++*total;
      *done += s->tf.done[u] != 0;
    }
}

static int toys_run(void *state, int64_t unit, void *result) {
  toys_state *s = state;
  int64_t N = s->cfg->toys.ntoys, toy = unit % N, ph = unit / N;
  return hfs_toys_run(s->toys, (int)(ph / 2), (int)(ph % 2), toy, result);
}

static int toys_collect(void *state, int64_t unit, const void *result) {
  toys_state *s = state;
  memcpy(&s->tf.units[unit], result, sizeof(hfs_toy_result));
  s->tf.done[unit] = 1;
  return HFS_OK;
}

int hfs_job_toys_compute(hfs_toyfile *tf) {
  int rc = HFS_OK;
  int64_t n = hfs_toyfile_nunits(tf);
  HFS_CHECK(hfs_toys_run_cls(tf->npoints, tf->ntoys, tf->units, tf->done, tf->obs_t, tf->cls));
  tf->have_results = 1;
  tf->complete = 1;
  for (int64_t u = 0; u < n; ++u) tf->complete &= tf->done[u] != 0;
  if (!strcmp(tf->kind, "limit")) {
    HFS_CHECK(
        hfs_toys_run_limit(tf->npoints, tf->mu, tf->cls, tf->cl, &tf->limit_obs, tf->limit_exp));
    tf->have_limit = 1;
  }
cleanup:
  return rc;
}

/* Toys whose fits fail are left out of the p-values and counted there.  The
 * result rests on the observed fits of each point and on at least one toy
 * of each hypothesis with converged fits: *nfailed counts the points where
 * that fails (exit status 4, docs/slurm.md). */
static int toys_finish(void *state, int *whole, int *nfailed) {
  int rc = HFS_OK;
  toys_state *s = state;
  int64_t n = toys_nunits(s);
  *nfailed = 0;
  *whole = 1;
  for (int64_t u = 0; u < n; ++u) *whole &= s->tf.done[u] != 0;
  if (*whole) HFS_CHECK(hfs_job_toys_compute(&s->tf));
  s->tf.complete = *whole;
  for (int p = 0; *whole && p < s->tf.npoints; ++p) {
    const hfs_fit_summary *f = &s->tf.obs_fits[2 * p];
    int bad_fit = f[0].status != HFS_FIT_CONVERGED || f[1].status != HFS_FIT_CONVERGED;
    int no_toys = s->tf.cls[p].n_sb == 0 || s->tf.cls[p].n_b == 0;
    /* Exit status 4 always comes with the reason. */
    if (bad_fit)
      hfs_warn("point mu = %g: the observed fits did not converge (free: %s, conditional: %s)",
               s->tf.mu[p], hfs_fit_status_name(f[0].status), hfs_fit_status_name(f[1].status));
    if (no_toys)
      hfs_warn("point mu = %g: no toy of a hypothesis converged (s+b: %lld, b: %lld usable)",
               s->tf.mu[p], (long long)s->tf.cls[p].n_sb, (long long)s->tf.cls[p].n_b);
    *nfailed += bad_fit || no_toys;
  }
cleanup:
  return rc;
}

static int toys_save(void *state, const char *path) {
  toys_state *s = state;
  s->tf.wall_s += hfs_now() - s->t0;
  s->t0 = hfs_now();
  return hfs_toyfile_write(&s->tf, path);
}

/* Job-array parts of one toy run into one file.  Parts must not overlap,
 * or a toy would be counted twice: the same file given twice, two copies
 * of one array part, or parts of arrays of different sizes whose toy
 * ranges intersect. */
static int toys_merge(const char *target, const char *const *parts, int nparts, int64_t *ndone,
                      int64_t *ntotal) {
  hfs_toyfile out, part;
  int rc = HFS_OK;
  int64_t *first_lo = NULL, *first_hi = NULL; /* toy range of each part */
  memset(&out, 0, sizeof out);
  memset(&part, 0, sizeof part);
  HFS_ALLOC(first_lo, nparts);
  HFS_ALLOC(first_hi, nparts);
  for (int i = 0; i < nparts; ++i) {
    HFS_CHECK(hfs_toyfile_load(parts[i], &part));
    first_lo[i] = part.ntoys * part.array_index / part.array_count;
    first_hi[i] = part.ntoys * (part.array_index + 1) / part.array_count;
    for (int k = 0; k < i; ++k)
      if (first_lo[i] < first_hi[k] && first_lo[k] < first_hi[i])
        HFS_FAIL(HFS_ERR_MISMATCH,
                 "merge: %s (part %d/%d, toys %lld-%lld) overlaps %s (toys %lld-%lld): each "
                 "toy must come from one part",
                 parts[i], part.array_index, part.array_count, (long long)first_lo[i],
                 (long long)first_hi[i] - 1, parts[k], (long long)first_lo[k],
                 (long long)first_hi[k] - 1);
    if (i == 0) {
      out = part;
      memset(&part, 0, sizeof part);
      continue;
    }
    if (strcmp(part.workspace_sha256, out.workspace_sha256))
      HFS_FAIL(HFS_ERR_MISMATCH, "merge: %s was made from another workspace than %s", parts[i],
               parts[0]);
    if (strcmp(part.kind, out.kind) || strcmp(part.options, out.options) ||
        part.npoints != out.npoints || part.ntoys != out.ntoys || part.npar != out.npar)
      HFS_FAIL(HFS_ERR_MISMATCH, "merge: %s was made with other options than %s", parts[i],
               parts[0]);
    int64_t n = hfs_toyfile_nunits(&out);
    for (int64_t u = 0; u < n; ++u) {
      if (!part.done[u]) continue;
      if (out.done[u] && memcmp(&out.units[u], &part.units[u], sizeof out.units[u]))
        HFS_FAIL(HFS_ERR_MISMATCH, "merge: toy %lld differs between %s and an earlier part",
                 (long long)u, parts[i]);
      out.units[u] = part.units[u];
      out.done[u] = 1;
    }
    out.sessions += part.sessions;
    out.wall_s += part.wall_s;
    hfs_toyfile_free(&part);
  }
  out.array_index = 0;
  out.array_count = 1;
  int64_t n = hfs_toyfile_nunits(&out), done = 0;
  for (int64_t u = 0; u < n; ++u) done += out.done[u] != 0;
  if (done == n)
    HFS_CHECK(hfs_job_toys_compute(&out));
  else
    out.have_results = out.complete = 0;
  snprintf(out.command_line, sizeof out.command_line, "hfscan merge (%d parts)", nparts);
  HFS_CHECK(hfs_job_toys_commit(&out, target));
  *ndone = done;
  *ntotal = n;
cleanup:
  hfs_toyfile_free(&part);
  hfs_toyfile_free(&out);
  free(first_lo);
  free(first_hi);
  return rc;
}

const hfs_job_kind hfs_job_toys = {
    .name = "toys",
    .unit_noun = "toys",
    .result_size = sizeof(hfs_toy_result),
    .setup = toys_setup,
    .nunits = toys_nunits,
    .options = toys_options,
    .start = toys_start,
    .identify = toys_identify,
    .resume = toys_resume,
    .pending = toys_pending,
    .progress = toys_progress,
    .run = toys_run,
    .collect = toys_collect,
    .finish = toys_finish,
    .save = toys_save,
    .destroy = toys_destroy,
    .merge = toys_merge,
};

const hfs_toyfile *hfs_job_toys_file(const hfs_job *job) {
  const toys_state *s = hfs_job_state_of(job);
  return s ? &s->tf : NULL;
}

/* One atomic replace with the record staged (hfs_store_stage_progress). */
int hfs_job_toys_commit(const hfs_toyfile *tf, const char *path) {
  hfs_store_progress p;
  memset(&p, 0, sizeof p);
  snprintf(p.kind, sizeof p.kind, "%s", hfs_job_toys.name);
  snprintf(p.unit, sizeof p.unit, "%s", hfs_job_toys.unit_noun);
  int64_t n = hfs_toyfile_nunits(tf);
  for (int64_t u = 0; u < n; ++u)
    if (hfs_toyfile_unit_in_part(tf, u, tf->array_index, tf->array_count)) {
      ++p.total;
      p.done += tf->done[u] != 0;
    }
  p.complete = tf->complete;
  p.array_index = tf->array_index;
  p.array_count = tf->array_count;
  p.rate = -1;
  hfs_store_stage_progress(&p);
  int rc = hfs_toyfile_write(tf, path);
  hfs_store_stage_progress(NULL);
  return rc;
}
