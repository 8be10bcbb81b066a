/* Job kind "pscan": profile-likelihood scans of any one or two parameters,
 * with statistical-only variants that hold named groups at their best fit
 * (docs/diagnostics.md).  A unit is one grid point (hfs_pscan_run); the
 * master keeps the grid in the output file, which doubles as the
 * checkpoint. */
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
  hfs_pscan *s;
  int *frozen;          /* npar */
  int nfrozen;          /* frozen besides the scanned parameters */
  hfs_pscan_point *res; /* master: by unit */
  uint8_t *done;        /* master */
  int sessions;
} pscan_state;

/* The name of a "NAME=PATTERN" group definition equals want. */
static int group_is(const char *def, const char *want) {
  const char *eq = strchr(def, '=');
  return eq && strlen(want) == (size_t)(eq - def) && !strncmp(def, want, strlen(want));
}

/* The parameters held at their best-fit values: the members of the named
 * groups, which are the ranking's: ranking.groups NAME=PATTERN ones, one per
 * kind of modifier ("normsys", "staterror", ...) and "all" (every free
 * parameter but the POI).  The patterns are resolved by a ranking context
 * (which fits the model once), so that they mean exactly what they mean in
 * a ranking. */
static int frozen_set(const hfs_job_config *cfg, hfs_infer *I, int *frozen) {
  int rc = HFS_OK;
  hfs_ranking *r = NULL;
  hfs_model *m = hfs_infer_model(I);
  const int *uf = hfs_infer_fixed(I);
  int n = hfs_model_npar(m), poi = hfs_model_poi(m);
  memset(frozen, 0, sizeof(int) * (size_t)n);
  for (int k = 0; k < cfg->pscan.nfreeze_groups; ++k) {
    const char *want = cfg->pscan.freeze_groups[k];
    int user = -1, hit = 0;
    for (int g = 0; g < cfg->ranking.ngroups; ++g)
      if (group_is(cfg->ranking.groups[g], want)) user = g;
    if (user >= 0) {
      if (!r) {
        HFS_CHECK(hfs_ranking_create(I, &r));
        for (int g = 0; g < cfg->ranking.ngroups; ++g) {
          char name[128];
          const char *def = cfg->ranking.groups[g], *eq = strchr(def, '=');
          if (!eq) HFS_FAIL(HFS_ERR_ARG, "--group %s: expected NAME=PATTERN", def);
          snprintf(name, sizeof name, "%.*s", (int)(eq - def), def);
          HFS_CHECK(hfs_ranking_add_group(r, name, eq + 1));
        }
      }
      const int *mem = hfs_ranking_group_members(r, user);
      for (int i = 0; i < n; ++i) frozen[i] |= mem[i];
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (i == poi || uf[i]) continue;
      if (!strcmp(want, "all") || !strcmp(want, hfs_modtype_name(hfs_model_par_type(m, i)))) {
        frozen[i] = 1;
        hit = 1;
      }
    }
    if (!hit)
      HFS_FAIL(HFS_ERR_ARG,
               "--freeze-group %s: no group of that name in %s (use all, a modifier kind with "
               "free parameters such as normsys or staterror, or a --group NAME=PATTERN)",
               want, cfg->workspace);
  }
cleanup:
  hfs_ranking_destroy(&r);
  return rc;
}

static void pscan_destroy(void *state) {
  pscan_state *s = state;
  hfs_pscan_destroy(&s->s);
  hfs_infer_destroy(&s->I);
  free(s->frozen);
  free(s->res);
  free(s->done);
  free(s);
}

/* Every rank makes the same free fit (deterministic), so that any rank can
 * run any point. */
static int pscan_setup(hfs_job *job, void **state) {
  int rc = HFS_OK;
  pscan_state *s = NULL;
  HFS_ALLOC(s, 1);
  *state = s;
  s->job = job;
  s->cfg = hfs_job_config_of(job);
  s->sessions = 1;
  const hfs_job_config *cfg = s->cfg;
  hfs_model *m = cfg->model;
  int par[2] = {-1, -1}, npar = hfs_model_npar(m);
  if (cfg->pscan.ndim < 1 || cfg->pscan.ndim > 2)
    HFS_FAIL(HFS_ERR_ARG, "scan: 1 or 2 parameters, not %d", cfg->pscan.ndim);
  for (int k = 0; k < cfg->pscan.ndim; ++k) {
    par[k] = hfs_model_par_find(m, cfg->pscan.par[k]);
    if (par[k] < 0)
      HFS_FAIL(HFS_ERR_ARG, "--par %s: no parameter of that name in %s", cfg->pscan.par[k],
               cfg->workspace);
  }
  HFS_CHECK(hfs_infer_create(m, &cfg->fit, cfg->fixed, cfg->init, &s->I));
  hfs_infer_set_robust(s->I, cfg->robust_observed, cfg->robust_toys);
  HFS_ALLOC(s->frozen, npar);
  HFS_CHECK(frozen_set(cfg, s->I, s->frozen));
  for (int i = 0; i < npar; ++i) s->nfrozen += s->frozen[i] && i != par[0] && i != par[1];
  HFS_CHECK(hfs_pscan_create(s->I, cfg->pscan.ndim, par, cfg->pscan.lo, cfg->pscan.hi, cfg->pscan.n,
                             s->frozen, &s->s));
  if (hfs_job_is_master(job)) {
    HFS_ALLOC(s->res, hfs_pscan_nunits(s->s));
    HFS_ALLOC(s->done, hfs_pscan_nunits(s->s));
  }
cleanup:
  return rc;
}

static int64_t pscan_nunits(const void *state) {
  return hfs_pscan_nunits(((const pscan_state *)state)->s);
}

/* The settings that determine the points: the grid, the frozen parameters
 * (by name, so that any way of naming the same set resumes) and the fit
 * settings; the data set is in the workspace's sha256. */
static char *pscan_options(const void *state) {
  const pscan_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_model *m = cfg->model;
  int npar = hfs_model_npar(m);
  size_t cap = 1024 + 128 * (size_t)npar, l = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  l += snprintf(buf + l, cap - l,
                "kind=pscan;measurement=%s;normsys_code=%d;histosys_code=%d;optimizer=%s;"
                "max_iter=%d%s;fixed=",
                hfs_model_measurement(m), cfg->model_options.normsys_code,
                cfg->model_options.histosys_code, hfs_optimizer_name(cfg->fit.optimizer),
                cfg->fit.max_iter, hfs_job_robust_suffix(cfg));
  for (int i = 0; i < npar && l < cap; ++i)
    if (cfg->fixed[i] && !hfs_model_par_fixed(m, i))
      l += snprintf(buf + l, cap - l, "%s=%.17g,", hfs_model_par_name(m, i), cfg->init[i]);
  if (l < cap) l += snprintf(buf + l, cap - l, ";grid=");
  for (int d = 0; d < hfs_pscan_ndim(s->s) && l < cap; ++d) {
    int n;
    const double *a = hfs_pscan_axis(s->s, d, &n);
    l += snprintf(buf + l, cap - l, "%s%s=%.17g:%.17g:%d", d ? "," : "",
                  hfs_model_par_name(m, hfs_pscan_par(s->s, d)), a[0], a[n - 1], n);
  }
  if (l < cap) l += snprintf(buf + l, cap - l, ";frozen=");
  for (int i = 0; i < npar && l < cap; ++i)
    if (s->frozen[i]) l += snprintf(buf + l, cap - l, "%s,", hfs_model_par_name(m, i));
  return buf;
}

static int pscan_identify(void *state, const char *path, char sha256[65], char **options,
                          int *array_index, int *array_count) {
  (void)state;
  return hfs__job_identify(path, "/pscan", sha256, options, array_index, array_count);
}

static int pscan_resume(void *state, const char *path) {
  int rc = HFS_OK;
  pscan_state *s = state;
  hfs_h5 *h5 = NULL;
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  HFS_CHECK(hfs_store_read_pscan_points(h5, "/pscan", s->s, s->res, s->done));
  s->sessions = hfs__job_next_session(h5);
cleanup:
  hfs_h5_close(&h5);
  return rc;
}

static int64_t pscan_pending(const void *state, int64_t *units) {
  const pscan_state *s = state;
  return hfs__job_undone(s->done, hfs_pscan_nunits(s->s), units);
}

static void pscan_progress(const void *state, int64_t *done, int64_t *total) {
  const pscan_state *s = state;
  *total = hfs_pscan_nunits(s->s);
  *done = hfs__job_ndone(s->done, *total);
}

static int pscan_run(void *state, int64_t u, void *result) {
  return hfs_pscan_run(((pscan_state *)state)->s, u, result);
}

static int pscan_collect(void *state, int64_t u, const void *result) {
  pscan_state *s = state;
  memcpy(&s->res[u], result, sizeof(hfs_pscan_point));
  s->done[u] = 1;
  return HFS_OK;
}

/* Every point that did not converge is recorded with its status and counted
 * (exit status 4). */
static int pscan_finish(void *state, int *whole, int *nfailed) {
  pscan_state *s = state;
  int64_t done, total;
  pscan_progress(s, &done, &total);
  *whole = done == total;
  *nfailed = 0;
  for (int64_t u = 0; u < total; ++u)
    *nfailed += s->done[u] && s->res[u].status != HFS_FIT_CONVERGED;
  return HFS_OK;
}

static int pscan_save(void *state, const char *path) {
  int rc = HFS_OK;
  pscan_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_h5 *h5 = NULL;
  char *opts = NULL;
  hfs_run_info info;
  hfs__job_run_info(s->job, "scan", &info);
  if (!(opts = pscan_options(s))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  HFS_CHECK(hfs_h5_create(path, &h5));
  HFS_CHECK(hfs_store_write_run_identity(h5, &info, s->sessions));
  HFS_CHECK(hfs_store_write_pscan(h5, "/pscan", s->s, opts, cfg->pscan.par, s->res, s->done,
                                  cfg->pscan.freeze_groups, cfg->pscan.nfreeze_groups));
  HFS_CHECK(
      hfs_store_write_data_kind(h5, "/pscan", cfg->data.asimov, cfg->data.mu, cfg->data.nuis));
  HFS_CHECK(hfs_h5_close(&h5));
cleanup:
  hfs_h5_close(&h5);
  free(opts);
  return rc;
}

const hfs_job_kind hfs_job_pscan = {
    .name = "pscan",
    .unit_noun = "points",
    .result_size = sizeof(hfs_pscan_point),
    .setup = pscan_setup,
    .nunits = pscan_nunits,
    .options = pscan_options,
    .identify = pscan_identify,
    .resume = pscan_resume,
    .pending = pscan_pending,
    .progress = pscan_progress,
    .run = pscan_run,
    .collect = pscan_collect,
    .finish = pscan_finish,
    .save = pscan_save,
    .destroy = pscan_destroy,
};

const hfs_pscan *hfs_job_pscan_scan(const hfs_job *job) {
  const pscan_state *s = hfs_job_state_of(job);
  return s ? s->s : NULL;
}

const hfs_pscan_point *hfs_job_pscan_points(const hfs_job *job) {
  const pscan_state *s = hfs_job_state_of(job);
  return s ? s->res : NULL;
}

int hfs_job_pscan_nfrozen(const hfs_job *job) {
  const pscan_state *s = hfs_job_state_of(job);
  return s ? s->nfrozen : 0;
}
