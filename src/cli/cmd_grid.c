/* hfscan grid BKG.json PATCHSET.json: every point of a pyhf patchset (a
 * signal grid) in one distributed run of the job kind "grid"
 * (src/job/kind_grid.c): the rank that runs a point's unit applies the
 * patch, builds the model and runs the test (and the limit) at the tested
 * mu, or one batch of the point's toys; the master gathers the records by
 * point index and writes the table (docs/grid.md).  A point whose fits fail
 * is recorded with its statuses and the rest go on. */
#include "cli.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_store.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_SEL 256

typedef struct {
  const char *patchset;
  const char *sel[GRID_MAX_SEL];
  int nsel;
  int limit;
  const char *harvest;
  int64_t toys_min, toys_max, toys_batch;
  double cls_acc;
  int limit_method; /* HFS_LIMIT_* */
} grid_args;

/* What the printers need: the selection and its records, by unit. */
typedef struct {
  const grid_args *g;
  const hfs_patchset *ps;
  const int *points; /* patchset index of each unit */
  hfs_point_options po;
  const hfs_point_result *res; /* by unit */
} grid_view;

/* The job layer builds each point through this (any rank, any order). */
typedef struct {
  const hfs_cli_opts *o;
  const hfs_patchset *ps;
} grid_builder;

static int build_point(void *ctx, int k, hfs_job_grid_model *out) {
  const grid_builder *b = ctx;
  hfs_spec *spec = NULL;
  hfs_cli_ctx *c = calloc(1, sizeof *c);
  if (!c) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  out->owner = c;
  /* The digest was checked once, by every rank, before the run.  The
   * parameter options (--fix, --bounds, --set, --freeze) apply to every
   * point as to a single workspace. */
  int rc = hfs_patchset_workspace(b->ps, k, b->o->workspace, HFS_SPEC_NO_DIGEST_CHECK, &spec);
  if (!rc) rc = hfs_cli_load_spec(b->o, spec, c);
  if (!rc) {
    out->model = c->model;
    out->fixed = c->fixed;
    out->init = c->init;
  }
  return rc;
}

static void release_point(void *ctx, hfs_job_grid_model *pm) {
  (void)ctx;
  hfs_cli_ctx_free(pm->owner);
  free(pm->owner);
  memset(pm, 0, sizeof *pm);
}

static int parse_int64(const char *s, int64_t *v) {
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  *v = x;
  return errno == 0 && end != s && *end == '\0' && x > 0;
}

void hfs_cli_grid_usage(FILE *out) {
  fputs(
      "grid's own options (docs/grid.md):\n"
      "      --points NAME|GLOB  run only these patches (repeatable; default: all)\n"
      "      --limit also the upper limit on the POI at --cl with its expected bands\n"
      "      --harvest FILE  also write HistFitter's harvest list\n"
      "      --toys-min N  with --calc toys: toys per hypothesis before a point may stop "
      "(default 500)\n"
      "      --toys-max N  ... and at most (default 20000)\n"
      "      --toys-batch N  toys per hypothesis between the accuracy checks (default 250)\n"
      "      --cls-accuracy X  stop a point when the error on CLs is below X (default 0.005)\n",
      out);
}

/* Take the grid's own arguments out of argv (PATCHSET, --points, --limit,
 * --harvest, toy counts); the rest go to the common parser. */
static int split_args(int argc, char **argv, grid_args *g, int *nargc, char **nargv) {
  int n = 0;
  nargv[n++] = argv[0];
  if (argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-') {
    nargv[n++] = argv[1];
    g->patchset = argv[2];
  } else if (argc < 2 || strcmp(argv[1], "--help")) {
    hfs_cli_error(
        "grid: expected BKG.json PATCHSET.json first (hfscan grid BKG.json "
        "PATCHSET.json [options])");
    return HFS_EXIT_USAGE;
  }
  for (int i = g->patchset ? 3 : 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--limit")) {
      g->limit = 1;
    } else if (!strcmp(a, "--limit-method") && val &&
               (!strcmp(val, "brent") || !strcmp(val, "secant"))) {
      g->limit_method = !strcmp(val, "brent") ? HFS_LIMIT_BRENT : HFS_LIMIT_SECANT;
      i++;
    } else if (!strcmp(a, "--limit-method")) {
      hfs_cli_error("--limit-method %s: expected brent or secant", val ? val : "(nothing)");
      return HFS_EXIT_USAGE;
    } else if (!strcmp(a, "--points") || !strcmp(a, "--harvest") || !strcmp(a, "--toys-min") ||
               !strcmp(a, "--toys-max") || !strcmp(a, "--toys-batch") ||
               !strcmp(a, "--cls-accuracy")) {
      if (!val) {
        hfs_cli_error("option %s needs a value", a);
        return HFS_EXIT_USAGE;
      }
      i++;
      int ok = 1;
      if (!strcmp(a, "--points")) {
        if (g->nsel == GRID_MAX_SEL) {
          hfs_cli_error("--points: at most %d selections", GRID_MAX_SEL);
          return HFS_EXIT_USAGE;
        }
        g->sel[g->nsel++] = val;
      } else if (!strcmp(a, "--harvest")) {
        g->harvest = val;
      } else if (!strcmp(a, "--toys-min")) {
        ok = parse_int64(val, &g->toys_min);
      } else if (!strcmp(a, "--toys-max")) {
        ok = parse_int64(val, &g->toys_max);
      } else if (!strcmp(a, "--toys-batch")) {
        ok = parse_int64(val, &g->toys_batch);
      } else {
        char *end;
        g->cls_acc = strtod(val, &end);
        ok = end != val && *end == '\0' && g->cls_acc > 0 && g->cls_acc < 1;
      }
      if (!ok) {
        hfs_cli_error("%s %s: expected a positive %s", a, val,
                      !strcmp(a, "--cls-accuracy") ? "number below 1" : "integer");
        return HFS_EXIT_USAGE;
      }
    } else {
      nargv[n++] = argv[i];
    }
  }
  if (g->toys_max < g->toys_min) {
    hfs_cli_error("--toys-max %lld is below --toys-min %lld", (long long)g->toys_max,
                  (long long)g->toys_min);
    return HFS_EXIT_USAGE;
  }
  *nargc = n;
  return HFS_EXIT_OK;
}

/* The selected patchset indices, in patchset order; a selection that
 * matches nothing is an error. */
static int select_points(const hfs_patchset *ps, const grid_args *g, int **out, int *n) {
  int np = hfs_patchset_size(ps), rc = HFS_OK;
  int *pts = NULL;
  char *hit = NULL;
  HFS_ALLOC(pts, np);
  HFS_ALLOC(hit, g->nsel);
  *n = 0;
  for (int i = 0; i < np; ++i) {
    int take = g->nsel == 0;
    for (int s = 0; s < g->nsel; ++s)
      if (fnmatch(g->sel[s], hfs_patchset_name(ps, i), 0) == 0) take = hit[s] = 1;
    if (take) pts[(*n)++] = i;
  }
  for (int s = 0; s < g->nsel; ++s)
    if (!hit[s])
      HFS_FAIL(HFS_ERR_NOT_FOUND, "--points %s: no patch of %s matches (hfscan patchset list %s)",
               g->sel[s], hfs_patchset_file(ps), hfs_patchset_file(ps));
  *out = pts;
  pts = NULL;
cleanup:
  free(pts);
  free(hit);
  return rc;
}

static const char *status_word(int s) {
  static const char *const w[] = {"ok", "fit_failed", "error", "not_run"};
  return s >= 0 && s <= 3 ? w[s] : "?";
}

static json_t *json_band(const double *v) {
  json_t *a = json_array();
  for (int b = 0; b < 5; b++) json_array_append_new(a, hfs_cli_json_real(v[b]));
  return a;
}

static json_t *json_values(const hfs_patchset *ps, int k) {
  json_t *a = json_array();
  for (int l = 0; l < hfs_patchset_nlabels(ps); l++) {
    double v = hfs_patchset_value(ps, k, l);
    json_array_append_new(a,
                          isnan(v) ? json_string(hfs_patchset_value_text(ps, k, l)) : json_real(v));
  }
  return a;
}

static json_t *grid_json(const grid_view *j, int n) {
  json_t *o = json_object(), *labels = json_array(), *pts = json_array();
  for (int l = 0; l < hfs_patchset_nlabels(j->ps); l++)
    json_array_append_new(labels, json_string(hfs_patchset_label(j->ps, l)));
  json_object_set_new(o, "labels", labels);
  json_object_set_new(o, "mu", json_real(j->po.mu));
  json_object_set_new(o, "cl", json_real(j->po.lim.cl));
  json_object_set_new(o, "calc", json_string(j->po.toys ? "toys" : "asymptotic"));
  for (int u = 0; u < n; u++) {
    const hfs_point_result *r = &j->res[u];
    int k = j->points[u];
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string(hfs_patchset_name(j->ps, k)));
    json_object_set_new(p, "values", json_values(j->ps, k));
    json_object_set_new(p, "status", json_string(status_word(r->status)));
    json_object_set_new(p, "CLs_obs", hfs_cli_json_real(r->cls_obs));
    json_object_set_new(p, "CLs_exp", json_band(r->cls_exp));
    if (j->po.toys) {
      json_object_set_new(p, "CLs_err", hfs_cli_json_real(r->cls_err));
      json_object_set_new(p, "ntoys", json_integer(r->ntoys_sb));
    }
    if (j->po.limit) {
      json_t *l = json_object();
      json_object_set_new(l, "status", json_string(status_word(r->limit_status)));
      json_t *st = json_array();
      for (int b = 1; b < 6; b++)
        json_array_append_new(st, json_string(status_word(r->limit_part_status[b])));
      json_object_set_new(l, "obs_status", json_string(status_word(r->limit_part_status[0])));
      json_object_set_new(l, "exp_status", st);
      json_object_set_new(l, "obs", hfs_cli_json_real(r->limit_obs));
      json_object_set_new(l, "exp", json_band(r->limit_exp));
      json_object_set_new(p, "limit", l);
    }
    if (r->message[0]) json_object_set_new(p, "message", json_string(r->message));
    json_array_append_new(pts, p);
  }
  json_object_set_new(o, "points", pts);
  return o;
}

/* HistFitter's harvest list (the format of its hypotest harvesting and of
 * the pyhf-to-harvest converters that ATLAS contour tools read): CLs and
 * the expected band as CLsexp, clsd1s/clsd2s (-1/-2 sigma), clsu1s/clsu2s,
 * the limits (-1 when not computed), fit flags, and the coordinates under
 * the patchset's label names. */
static int write_harvest(const grid_view *j, int n, const char *path) {
  json_t *list = json_array();
  int rc = HFS_OK;
  for (int u = 0; u < n; u++) {
    const hfs_point_result *r = &j->res[u];
    int k = j->points[u], bad = r->status != HFS_POINT_OK;
    json_t *p = json_object();
#define NUM(v) (isfinite(v) ? json_real(v) : json_real(-1))
    json_object_set_new(p, "CLs", NUM(r->cls_obs));
    json_object_set_new(p, "CLsexp", NUM(r->cls_exp[2]));
    json_object_set_new(p, "clsd1s", NUM(r->cls_exp[1]));
    json_object_set_new(p, "clsd2s", NUM(r->cls_exp[0]));
    json_object_set_new(p, "clsu1s", NUM(r->cls_exp[3]));
    json_object_set_new(p, "clsu2s", NUM(r->cls_exp[4]));
    json_object_set_new(p, "upperLimit", NUM(r->limit_obs));
    json_object_set_new(p, "expectedUpperLimit", NUM(r->limit_exp[2]));
    json_object_set_new(p, "expectedUpperLimitMinus1Sig", NUM(r->limit_exp[1]));
    json_object_set_new(p, "expectedUpperLimitMinus2Sig", NUM(r->limit_exp[0]));
    json_object_set_new(p, "expectedUpperLimitPlus1Sig", NUM(r->limit_exp[3]));
    json_object_set_new(p, "expectedUpperLimitPlus2Sig", NUM(r->limit_exp[4]));
#undef NUM
    json_object_set_new(p, "failedfit", json_integer(bad));
    json_object_set_new(p, "failedstatus", json_integer(bad));
    json_object_set_new(p, "fitstatus", json_integer(r->status));
    json_object_set_new(p, "failedcov", json_integer(0));
    json_object_set_new(p, "failedp0", json_integer(0));
    json_object_set_new(p, "covqual", json_integer(3));
    json_object_set_new(p, "dodgycov", json_integer(0));
    json_object_set_new(p, "excludedXsec", json_real(-999007));
    json_object_set_new(p, "fID", json_string(hfs_patchset_name(j->ps, k)));
    for (int l = 0; l < hfs_patchset_nlabels(j->ps); l++) {
      double v = hfs_patchset_value(j->ps, k, l);
      json_object_set_new(
          p, hfs_patchset_label(j->ps, l),
          isnan(v) ? json_string(hfs_patchset_value_text(j->ps, k, l)) : json_real(v));
    }
    json_array_append_new(list, p);
  }
  if (json_dump_file(list, path, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0)
    rc = hfs_error_set(HFS_ERR_IO, "%s: cannot write the harvest file", path);
  json_decref(list);
  return rc;
}

static void print_table(const grid_view *j, int n, double wall) {
  printf("hfscan grid: %s, %d points, mu = %g, %s%s\n", j->g->patchset, n, j->po.mu,
         j->po.toys ? "toys" : "asymptotic", j->po.limit ? ", with limits" : "");
  printf("%-28s", "name");
  for (int l = 0; l < hfs_patchset_nlabels(j->ps); l++)
    printf(" %8s", hfs_patchset_label(j->ps, l));
  printf(" %10s %10s %10s %10s", "CLs_obs", "CLs_exp", "-1s", "+1s");
  if (j->po.limit) printf(" %9s %9s", "UL_obs", "UL_exp");
  printf("  status\n");
  int nbad = 0;
  for (int u = 0; u < n; u++) {
    const hfs_point_result *r = &j->res[u];
    int k = j->points[u];
    printf("%-28s", hfs_patchset_name(j->ps, k));
    for (int l = 0; l < hfs_patchset_nlabels(j->ps); l++)
      printf(" %8s", hfs_patchset_value_text(j->ps, k, l));
    printf(" %10.6f %10.6f %10.6f %10.6f", r->cls_obs, r->cls_exp[2], r->cls_exp[1], r->cls_exp[3]);
    if (j->po.limit) printf(" %9.4f %9.4f", r->limit_obs, r->limit_exp[2]);
    printf("  %s%s%s\n", status_word(r->status),
           j->po.limit && r->limit_status != HFS_POINT_OK ? "; limit " : "",
           j->po.limit && r->limit_status != HFS_POINT_OK ? status_word(r->limit_status) : "");
    if (r->message[0]) printf("    %s\n", r->message);
    nbad += r->status != HFS_POINT_OK || (j->po.limit && r->limit_status != HFS_POINT_OK);
  }
  printf("%d points in %.2f s on %d rank%s; %d with a failed fit or error\n", n, wall,
         hfs_cli_size(), hfs_cli_size() > 1 ? "s" : "", nbad);
}

/* A finished array part: its failed points on standard error (exit status
 * 4 always comes with its reason), then the part line. */
static void report_part(const hfs_job *job, const hfs_patchset *ps, const int *points,
                        const hfs_cli_opts *o, int limit) {
  const int64_t *done;
  int n, nbad = 0;
  const hfs_point_result *res = hfs_job_grid_results(job, &n, &done);
  for (int u = 0; u < n; u++) {
    const hfs_point_result *r = &res[u];
    if (u % o->array_count != o->array_index || !done[u]) continue;
    if (r->status == HFS_POINT_OK && (!limit || r->limit_status == HFS_POINT_OK)) continue;
    nbad++;
    hfs_warn("point %s: %s%s%s%s%s", hfs_patchset_name(ps, points[u]), status_word(r->status),
             limit && r->limit_status != HFS_POINT_OK ? ", limit " : "",
             limit && r->limit_status != HFS_POINT_OK ? status_word(r->limit_status) : "",
             r->message[0] ? ": " : "", r->message);
  }
  if (!o->quiet)
    printf(
        "hfscan grid: part %d/%d done (%s), %d point%s with a failed fit or error; combine the "
        "parts with hfscan merge\n",
        o->array_index, o->array_count, o->output ? o->output : "no output", nbad,
        nbad == 1 ? "" : "s");
}

/* The identity of the input: the background workspace's and the
 * patchset's sha256; what changes a point's model (measurement, --fix,
 * --bounds, --set, --freeze, --data) goes into the settings. */
static int grid_identity(const hfs_cli_opts *o, const grid_args *g, char sha[65], char *settings,
                         size_t n) {
  int rc = HFS_OK;
  char cat[129];
  HFS_CHECK(hfs_sha256_file(o->workspace, cat));
  HFS_CHECK(hfs_sha256_file(g->patchset, cat + 64));
  hfs_sha256_buffer(cat, 128, sha);
  size_t l = (size_t)snprintf(settings, n,
                              "measurement=%s;data=%s;fix=", o->measurement ? o->measurement : "",
                              hfs_cli_data_describe());
  for (int i = 0; i < o->nfix && l < n; i++)
    l += (size_t)snprintf(settings + l, n - l, "%s=%.17g,", o->fix_name[i], o->fix_value[i]);
  if (l < n) l += (size_t)snprintf(settings + l, n - l, ";edits=");
  if (l < n) hfs_cli_params_canonical(&o->params, settings + l, n - l);
cleanup:
  return rc;
}

int hfs_cmd_grid(int argc, char **argv) {
  hfs_cli_opts o;
  grid_args g = {.toys_min = 500,
                 .toys_max = 20000,
                 .toys_batch = 250,
                 .cls_acc = 0.005,
                 .limit_method = HFS_LIMIT_SECANT};
  hfs_patchset *ps = NULL;
  hfs_job *job = NULL;
  int *points = NULL, npoints = 0, nargc = 0, rank = hfs_cli_rank();
  int rc = HFS_OK, exit_code;
  char **nargv = calloc((size_t)argc + 1, sizeof *nargv);
  char sha[65], *settings = NULL;
  hfs_cli_opts_default(&o);
  if (!nargv) return HFS_EXIT_ERROR;
  exit_code = split_args(argc, argv, &g, &nargc, nargv);
  if (exit_code == HFS_EXIT_OK) exit_code = hfs_cli_parse("grid", nargc, nargv, &o);
  if (exit_code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    free(nargv);
    return exit_code < 0 ? HFS_EXIT_OK : exit_code;
  }
  exit_code = HFS_EXIT_OK;
  if (o.npatch)
    HFS_FAIL(HFS_ERR_ARG, "grid: --patch does not apply (the patchset gives the patches)");

  /* Every rank reads the patchset and checks the digest (the same files,
   * the same answer), so that any rank can build any point. */
  HFS_CHECK(hfs_patchset_read(g.patchset, &ps));
  HFS_CHECK(hfs_patchset_keep_background(ps, o.workspace));
  if (!o.no_digest_check) HFS_CHECK(hfs_patchset_verify(ps, o.workspace));
  HFS_CHECK(select_points(ps, &g, &points, &npoints));
  HFS_ALLOC(settings, 64 * HFS_MAX_EDITS + 128 * HFS_MAX_FIX + 512);
  HFS_CHECK(grid_identity(&o, &g, sha, settings, 64 * HFS_MAX_EDITS + 128 * HFS_MAX_FIX + 512));

  hfs_point_options po = HFS_POINT_OPTIONS_DEFAULT;
  po.mu = o.have_mu ? o.mu : 1.0;
  po.ts = o.have_ts ? o.ts : HFS_TS_QTILDE;
  if (po.ts != HFS_TS_QTILDE && po.ts != HFS_TS_Q)
    HFS_FAIL(HFS_ERR_ARG, "grid: --test-stat must be qtilde or q");
  po.limit = g.limit;
  po.lim.cl = o.cl;
  po.lim.method = g.limit_method;
  po.toys = o.toys;
  po.seed = o.seed;
  po.toys_min = g.toys_min;
  po.toys_max = g.toys_max;
  po.toys_batch = g.toys_batch;
  po.cls_accuracy = g.cls_acc;
  if (o.output) HFS_CHECK(hfs_cli_prepare_output(o.output));

  hfs_job_config cfg;
  hfs_cli_ctx none;
  memset(&none, 0, sizeof none);
  snprintf(none.sha256, sizeof none.sha256, "%s", sha);
  hfs_cli_job_config(&o, &none, &cfg);
  cfg.annotate = NULL;
  grid_builder builder = {&o, ps};
  cfg.grid.ps = ps;
  cfg.grid.patchset = g.patchset;
  cfg.grid.measurement = o.measurement;
  cfg.grid.points = points;
  cfg.grid.npoints = npoints;
  cfg.grid.point = po;
  cfg.grid.settings = settings;
  cfg.grid.build = build_point;
  cfg.grid.release = release_point;
  cfg.grid.ctx = &builder;
  /* SIGTERM, SIGINT and SIGUSR1 reach the runner's stop flag (main.c). */
  exit_code = hfs_cli_job_report(hfs_job_run(&hfs_job_grid, &cfg, &job));
  if (rank == 0 && job && hfs_job_outcome(job) == HFS_JOB_COMPLETE &&
      (exit_code == HFS_EXIT_OK || exit_code == HFS_EXIT_FIT_FAILED)) {
    const int64_t *done;
    int n;
    grid_view v = {&g, ps, points, po, hfs_job_grid_results(job, &n, &done)};
    if (g.harvest) HFS_CHECK(write_harvest(&v, npoints, g.harvest));
    if (o.json) {
      json_t *js = grid_json(&v, npoints);
      hfs_cli_print_json(js);
      json_decref(js);
    } else if (!o.quiet) {
      print_table(&v, npoints, hfs_job_elapsed(job));
    }
  } else if (rank == 0 && job && hfs_job_outcome(job) == HFS_JOB_PART_DONE &&
             (exit_code == HFS_EXIT_OK || exit_code == HFS_EXIT_FIT_FAILED)) {
    report_part(job, ps, points, &o, g.limit);
  }
cleanup:
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    exit_code = rc == HFS_ERR_ARG ? HFS_EXIT_USAGE : HFS_EXIT_ERROR;
  }
  hfs_job_destroy(&job);
  hfs_patchset_destroy(&ps);
  hfs_cli_opts_free(&o);
  free(settings);
  free(points);
  free(nargv);
  return exit_code;
}
