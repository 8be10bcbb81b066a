/* Job kind "gof": toys of the saturated-model goodness of fit
 * (docs/diagnostics.md).  A unit is one toy drawn from the best fit to the
 * data and refitted (hfs_gof_toys_run); the master keeps the toy table in
 * the output file, which doubles as the checkpoint. */
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_job.h"
#include "hfs_store.h"
#include "job_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hfs_job *job;
  const hfs_job_config *cfg;
  hfs_infer *I;
  hfs_gof_toys *G;
  hfs_gof obs;       /* the observed statistic (every rank) */
  hfs_gof_toy *toys; /* master: by toy index */
  uint8_t *done;     /* master */
  hfs_gof_pvalue pv;
  int have_pv;
  int sessions;
} gof_state;

/* The settings that determine the toys and their fits; the data set is in
 * the workspace's sha256, which the runner compares on its own. */
static char *gof_options(const void *state) {
  const gof_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_model *m = cfg->model;
  size_t cap = 1024 + 64 * (size_t)hfs_model_npar(m), l = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  l += snprintf(buf + l, cap - l,
                "kind=gof;measurement=%s;ntoys=%lld;seed=%llu;normsys_code=%d;histosys_code=%d;"
                "optimizer=%s;max_iter=%d%s;fixed=",
                hfs_model_measurement(m), (long long)cfg->gof.ntoys,
                (unsigned long long)cfg->gof.seed, cfg->model_options.normsys_code,
                cfg->model_options.histosys_code, hfs_optimizer_name(cfg->fit.optimizer),
                cfg->fit.max_iter, hfs_job_robust_suffix(cfg));
  for (int i = 0; i < hfs_model_npar(m) && l < cap; ++i)
    if (cfg->fixed[i] && !hfs_model_par_fixed(m, i))
      l += snprintf(buf + l, cap - l, "%s=%.17g,", hfs_model_par_name(m, i), cfg->init[i]);
  return buf;
}

static void gof_destroy(void *state) {
  gof_state *s = state;
  hfs_gof_toys_destroy(&s->G);
  hfs_infer_destroy(&s->I);
  free(s->toys);
  free(s->done);
  free(s);
}

/* Every rank fits the observed data the same way (deterministic): the toys
 * are drawn from that fit, so any rank can run any toy. */
static int gof_setup(hfs_job *job, void **state) {
  int rc = HFS_OK;
  gof_state *s = NULL;
  HFS_ALLOC(s, 1);
  *state = s;
  s->job = job;
  s->cfg = hfs_job_config_of(job);
  s->sessions = 1;
  const hfs_job_config *cfg = s->cfg;
  if (cfg->gof.ntoys < 1) HFS_FAIL(HFS_ERR_ARG, "gof: --ntoys must be at least 1");
  HFS_CHECK(hfs_infer_create(cfg->model, &cfg->fit, cfg->fixed, cfg->init, &s->I));
  hfs_infer_set_robust(s->I, cfg->robust_observed, cfg->robust_toys);
  HFS_CHECK(hfs_gof_toys_create(s->I, cfg->gof.seed, &s->G, &s->obs));
  if (hfs_job_is_master(job)) {
    HFS_ALLOC(s->toys, cfg->gof.ntoys);
    HFS_ALLOC(s->done, cfg->gof.ntoys);
  }
cleanup:
  return rc;
}

static int64_t gof_nunits(const void *state) { return ((const gof_state *)state)->cfg->gof.ntoys; }

static int gof_identify(void *state, const char *path, char sha256[65], char **options,
                        int *array_index, int *array_count) {
  (void)state;
  return hfs__job_identify(path, "/gof", sha256, options, array_index, array_count);
}

static int gof_resume(void *state, const char *path) {
  int rc = HFS_OK;
  gof_state *s = state;
  hfs_h5 *h5 = NULL;
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  HFS_CHECK(hfs_store_read_gof_toys(h5, "/gof", s->cfg->gof.ntoys, s->toys, s->done));
  s->sessions = hfs__job_next_session(h5);
cleanup:
  hfs_h5_close(&h5);
  return rc;
}

static int64_t gof_pending(const void *state, int64_t *units) {
  const gof_state *s = state;
  return hfs__job_undone(s->done, s->cfg->gof.ntoys, units);
}

static void gof_progress(const void *state, int64_t *done, int64_t *total) {
  const gof_state *s = state;
  *total = s->cfg->gof.ntoys;
  *done = hfs__job_ndone(s->done, *total);
}

static int gof_run(void *state, int64_t u, void *result) {
  return hfs_gof_toys_run(((gof_state *)state)->G, u, result);
}

static int gof_collect(void *state, int64_t u, const void *result) {
  gof_state *s = state;
  memcpy(&s->toys[u], result, sizeof(hfs_gof_toy));
  s->done[u] = 1;
  return HFS_OK;
}

/* Toys whose fits fail are counted in the p-value's record, not used; the
 * result rests on the observed fit (exit status 4 when it failed). */
static int gof_finish(void *state, int *whole, int *nfailed) {
  gof_state *s = state;
  int64_t done, total;
  gof_progress(s, &done, &total);
  *whole = done == total;
  if (*whole) {
    hfs_gof_toys_pvalue(s->toys, total, s->obs.t, &s->pv);
    s->have_pv = 1;
  }
  *nfailed = s->obs.fit.status != HFS_FIT_CONVERGED;
  if (*nfailed)
    hfs_warn("gof: the fit to the data did not converge (%s)",
             hfs_fit_status_name(s->obs.fit.status));
  return HFS_OK;
}

static int gof_save(void *state, const char *path) {
  int rc = HFS_OK;
  gof_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_h5 *h5 = NULL;
  char *opts = NULL;
  hfs_run_info info;
  hfs__job_run_info(s->job, "gof", &info);
  if (!(opts = gof_options(s))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  HFS_CHECK(hfs_h5_create(path, &h5));
  HFS_CHECK(hfs_store_write_run_identity(h5, &info, s->sessions));
  HFS_CHECK(hfs_store_write_gof(h5, "/gof", &s->obs, opts, cfg->gof.seed, s->toys, s->done,
                                cfg->gof.ntoys, s->have_pv ? &s->pv : NULL));
  HFS_CHECK(hfs_store_write_data_kind(h5, "/gof", cfg->data.asimov, cfg->data.mu, cfg->data.nuis));
  HFS_CHECK(hfs_h5_close(&h5));
cleanup:
  hfs_h5_close(&h5);
  free(opts);
  return rc;
}

const hfs_job_kind hfs_job_gof = {
    .name = "gof",
    .unit_noun = "toys",
    .result_size = sizeof(hfs_gof_toy),
    .setup = gof_setup,
    .nunits = gof_nunits,
    .options = gof_options,
    .identify = gof_identify,
    .resume = gof_resume,
    .pending = gof_pending,
    .progress = gof_progress,
    .run = gof_run,
    .collect = gof_collect,
    .finish = gof_finish,
    .save = gof_save,
    .destroy = gof_destroy,
};

const hfs_gof *hfs_job_gof_observed(const hfs_job *job) {
  const gof_state *s = hfs_job_state_of(job);
  return s ? &s->obs : NULL;
}

const hfs_gof_pvalue *hfs_job_gof_pvalue(const hfs_job *job) {
  const gof_state *s = hfs_job_state_of(job);
  return s && s->have_pv ? &s->pv : NULL;
}
