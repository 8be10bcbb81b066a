/* Job kinds "ranking" and "scan": runs of independent profile fits after
 * one free fit (docs/ranking.md).  A unit is one fit (hfs_impact_fit); the
 * master keeps the unit table in the output file, which doubles as the
 * checkpoint.  The two kinds differ only in the infer object behind the
 * units, so they share this file. */
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_job.h"
#include "hfs_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hfs_job *job;
  const hfs_job_config *cfg;
  int is_scan;
  hfs_infer *I;
  hfs_ranking *r;
  hfs_scan *s;
  char *options;
  int sessions;
} fits_state;

static const char *kind_name(const fits_state *s) { return s->is_scan ? "scan" : "ranking"; }
static const char *group_path(const fits_state *s) { return s->is_scan ? "/scan" : "/ranking"; }

/* The settings that determine the unit results, in a canonical form. */
static char *canonical_options(const fits_state *s) {
  const hfs_job_config *cfg = s->cfg;
  hfs_model *m = cfg->model;
  size_t cap = 4096 + 64 * (size_t)hfs_model_npar(m);
  for (int g = 0; g < cfg->ranking.ngroups; ++g) cap += strlen(cfg->ranking.groups[g]) + 2;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  size_t l = 0;
  l += snprintf(buf + l, cap - l,
                "kind=%s;workspace_sha256=%s;measurement=%s;normsys_code=%d;histosys_code=%d;"
                "optimizer=%s%s;fixed=",
                kind_name(s), cfg->workspace_sha256, hfs_model_measurement(m),
                cfg->model_options.normsys_code, cfg->model_options.histosys_code,
                hfs_optimizer_name(cfg->fit.optimizer), hfs_job_robust_suffix(cfg));
  for (int i = 0; i < hfs_model_npar(m) && l < cap; ++i)
    if (cfg->fixed[i] && !hfs_model_par_fixed(m, i))
      l += snprintf(buf + l, cap - l, "%s=%.17g,", hfs_model_par_name(m, i), cfg->init[i]);
  if (s->is_scan) {
    const double *mu = hfs_scan_grid(s->s);
    int n = hfs_scan_npoints(s->s);
    if (l < cap) l += snprintf(buf + l, cap - l, ";grid=%.17g:%.17g:%d", mu[0], mu[n - 1], n);
  } else {
    if (l < cap) l += snprintf(buf + l, cap - l, ";groups=");
    for (int g = 0; g < cfg->ranking.ngroups && l < cap; ++g)
      l += snprintf(buf + l, cap - l, "%s|", cfg->ranking.groups[g]);
  }
  return buf;
}

static int add_groups(fits_state *s) {
  int rc = HFS_OK;
  const hfs_job_config *cfg = s->cfg;
  for (int g = 0; g < cfg->ranking.ngroups; ++g) {
    const char *def = cfg->ranking.groups[g], *eq = strchr(def, '=');
    char name[256];
    if (!eq) HFS_FAIL(HFS_ERR_ARG, "--group %s: expected NAME=PATTERN", def);
    snprintf(name, sizeof name, "%.*s", (int)(eq - def), def);
    rc = hfs_ranking_add_group(s->r, name, eq + 1);
    if (rc) {
      /* The message lives in the buffer hfs_error_set() writes to. */
      char why[512];
      snprintf(why, sizeof why, "%s", hfs_error_message());
      HFS_FAIL(rc, "--group %s: %s", def, why);
    }
  }
  if (cfg->ranking.ngroups == 0) HFS_CHECK(hfs_ranking_add_default_groups(s->r));
  HFS_CHECK(hfs_ranking_add_all_group(s->r));
cleanup:
  return rc;
}

static void fits_destroy(void *state) {
  fits_state *s = state;
  hfs_ranking_destroy(&s->r);
  hfs_scan_destroy(&s->s);
  hfs_infer_destroy(&s->I);
  free(s->options);
  free(s);
}

/* Every rank makes the same free fit (deterministic), so that any rank can
 * run any unit. */
static int setup(hfs_job *job, void **state, int is_scan) {
  int rc = HFS_OK;
  fits_state *s = NULL;
  HFS_ALLOC(s, 1);
  *state = s;
  s->job = job;
  s->cfg = hfs_job_config_of(job);
  s->is_scan = is_scan;
  s->sessions = 1;
  const hfs_job_config *cfg = s->cfg;
  HFS_CHECK(hfs_infer_create(cfg->model, &cfg->fit, cfg->fixed, cfg->init, &s->I));
  hfs_infer_set_robust(s->I, cfg->robust_observed, cfg->robust_toys);
  if (is_scan) {
    HFS_CHECK(hfs_scan_create(s->I, cfg->scan.lo, cfg->scan.hi, cfg->scan.npoints, &s->s));
  } else {
    HFS_CHECK(hfs_ranking_create(s->I, &s->r));
    HFS_CHECK(add_groups(s));
  }
  if (!(s->options = canonical_options(s))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
cleanup:
  return rc;
}

static int ranking_setup(hfs_job *job, void **state) { return setup(job, state, 0); }
static int scan_setup(hfs_job *job, void **state) { return setup(job, state, 1); }

static int64_t fits_nunits(const void *state) {
  const fits_state *s = state;
  return s->is_scan ? hfs_scan_nunits(s->s) : hfs_ranking_nunits(s->r);
}

static const hfs_impact_fit *unit_at(const fits_state *s, int64_t u) {
  return s->is_scan ? hfs_scan_unit(s->s, u) : hfs_ranking_unit(s->r, u);
}

static char *fits_options(const void *state) {
  const fits_state *s = state;
  return strdup(s->options);
}

static int fits_identify(void *state, const char *path, char sha256[65], char **options,
                         int *array_index, int *array_count) {
  int rc = HFS_OK;
  fits_state *s = state;
  hfs_h5 *h5 = NULL;
  *array_index = 0;
  *array_count = 1;
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  HFS_CHECK(hfs_store_read_identity(h5, group_path(s), sha256, options));
cleanup:
  hfs_h5_close(&h5);
  return rc;
}

static int fits_resume(void *state, const char *path) {
  int rc = HFS_OK;
  fits_state *s = state;
  hfs_h5 *h5 = NULL;
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  if (s->is_scan)
    HFS_CHECK(hfs_store_resume_scan(h5, "/scan", s->s, &s->sessions));
  else
    HFS_CHECK(hfs_store_resume_ranking(h5, "/ranking", s->r, &s->sessions));
  s->sessions++;
cleanup:
  hfs_h5_close(&h5);
  return rc;
}

static int64_t fits_pending(const void *state, int64_t *units) {
  const fits_state *s = state;
  int64_t n = 0, N = fits_nunits(s);
  for (int64_t u = 0; u < N; ++u)
    if (!unit_at(s, u)) units[n++] = u;
  return n;
}

static void fits_progress(const void *state, int64_t *done, int64_t *total) {
  const fits_state *s = state;
  *total = fits_nunits(s);
  *done = s->is_scan ? hfs_scan_ndone(s->s) : hfs_ranking_ndone(s->r);
}

static int fits_run(void *state, int64_t u, void *result) {
  fits_state *s = state;
  return s->is_scan ? hfs_scan_run(s->s, u, result) : hfs_ranking_run(s->r, u, result);
}

static int fits_collect(void *state, int64_t u, const void *result) {
  fits_state *s = state;
  return s->is_scan ? hfs_scan_store(s->s, u, result) : hfs_ranking_store(s->r, u, result);
}

static int fits_finish(void *state, int *whole, int *nfailed) {
  int rc = HFS_OK;
  fits_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  *whole = 1;
  if (s->is_scan) {
    static const double def[2] = {1.0, 3.84};
    HFS_CHECK(hfs_scan_finish(s->s, cfg->scan.nlevels ? cfg->scan.levels : def,
                              cfg->scan.nlevels ? cfg->scan.nlevels : 2));
    *nfailed = hfs_scan_nfailed(s->s);
  } else {
    HFS_CHECK(hfs_ranking_finish(s->r));
    *nfailed = hfs_ranking_nfailed(s->r);
  }
cleanup:
  return rc;
}

static int fits_save(void *state, const char *path) {
  int rc = HFS_OK;
  fits_state *s = state;
  const hfs_job_config *cfg = s->cfg;
  hfs_h5 *h5 = NULL;
  hfs_run_info info = {kind_name(s),
                       cfg->command_line,
                       cfg->workspace,
                       cfg->workspace_sha256,
                       hfs_model_measurement(cfg->model),
                       hfs_optimizer_name(cfg->fit.optimizer),
                       cfg->model_options.normsys_code,
                       cfg->model_options.histosys_code,
                       hfs_job_elapsed(s->job),
                       hfs_job_nranks(s->job),
                       hfs_model_par_name(cfg->model, hfs_model_poi(cfg->model))};
  HFS_CHECK(hfs_h5_create(path, &h5));
  HFS_CHECK(hfs_store_write_run_identity(h5, &info, s->sessions));
  if (s->is_scan)
    HFS_CHECK(hfs_store_write_scan(h5, "/scan", s->s, cfg->model, cfg->fixed, s->options));
  else
    HFS_CHECK(hfs_store_write_ranking(h5, "/ranking", s->r, cfg->model, cfg->fixed, s->options));
  if (cfg->annotate)
    HFS_CHECK(cfg->annotate(h5, group_path(s), cfg->model,
                            s->is_scan ? hfs_scan_free_fit(s->s) : hfs_ranking_free_fit(s->r),
                            kind_name(s)));
  HFS_CHECK(hfs_h5_close(&h5));
cleanup:
  hfs_h5_discard(&h5); /* a half-written file must not replace the last commit */
  return rc;
}

/* The two descriptors differ in name and set-up only. */
#define FITS_KIND(NAME, SETUP)                                                                     \
  {                                                                                                \
    .name = NAME, .unit_noun = "fits", .result_size = sizeof(hfs_impact_fit), .setup = SETUP,      \
    .nunits = fits_nunits, .options = fits_options, .identify = fits_identify,                     \
    .resume = fits_resume, .pending = fits_pending, .progress = fits_progress, .run = fits_run,    \
    .collect = fits_collect, .finish = fits_finish, .save = fits_save, .destroy = fits_destroy     \
  }

const hfs_job_kind hfs_job_ranking = FITS_KIND("ranking", ranking_setup);
const hfs_job_kind hfs_job_scan = FITS_KIND("scan", scan_setup);

hfs_ranking *hfs_job_ranking_result(const hfs_job *job) {
  fits_state *s = hfs_job_state_of(job);
  return s ? s->r : NULL;
}

hfs_scan *hfs_job_scan_result(const hfs_job *job) {
  fits_state *s = hfs_job_state_of(job);
  return s ? s->s : NULL;
}
