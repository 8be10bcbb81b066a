/* hfscan ranking: pulls, constraints, impacts on the POI and grouped
 * impacts; hfscan scan: profile-likelihood scan of the POI with its
 * crossings and stat/syst split.  Both distribute their fits over MPI with
 * the scheduler (one fit = one unit); the master keeps the unit table in
 * the output file, which doubles as the checkpoint (docs/ranking.md). */
#include "cli.h"
#include "cli_json.h"
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_store.h"
#include "hfs_sched.h"
#include "hfs_core.h"

#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void hfs_cli_set_stop_hook(void (*h)(void));

enum { KIND_RANKING, KIND_SCAN };

typedef struct {
  int kind;
  hfs_ranking *r;
  hfs_scan *s;
  /* master only */
  const hfs_cli_opts *o;
  const hfs_cli_ctx *c;
  const char *options;
  int sessions;
  double t_start, last_commit;
} job;

static int64_t job_nunits(const job *j) {
  return j->kind == KIND_SCAN ? hfs_scan_nunits(j->s) : hfs_ranking_nunits(j->r);
}

static int unit_done(const job *j, int64_t u) {
  return j->kind == KIND_SCAN ? hfs_scan_unit(j->s, u) != NULL : hfs_ranking_unit(j->r, u) != NULL;
}

/* Write the whole file next to the target and rename it into place, so a
 * crash while writing never destroys the previous checkpoint. */
static int save(job *j) {
  int rc = HFS_OK;
  hfs_h5 *h5 = NULL;
  const hfs_cli_opts *o = j->o;
  const hfs_cli_ctx *c = j->c;
  size_t n = strlen(o->output) + 8;
  char *tmp = malloc(n);
  if (!tmp) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  snprintf(tmp, n, "%s.part", o->output);
  hfs_run_info info = {j->kind == KIND_SCAN ? "scan" : "ranking", o->argv_line, o->workspace,
                       c->sha256, hfs_model_measurement(c->model),
                       hfs_optimizer_name(o->fit.optimizer), o->model.normsys_code,
                       o->model.histosys_code, hfs_now() - j->t_start, hfs_cli_size()};
  HFS_CHECK(hfs_h5_create(tmp, &h5));
  HFS_CHECK(hfs_store_write_run_identity(h5, &info, j->sessions));
  if (j->kind == KIND_SCAN)
    HFS_CHECK(hfs_store_write_scan(h5, "/scan", j->s, c->model, j->options));
  else
    HFS_CHECK(hfs_store_write_ranking(h5, "/ranking", j->r, c->model, j->options));
  HFS_CHECK(hfs_cli_poi_bound_h5(h5, j->kind == KIND_SCAN ? "/scan" : "/ranking", c->model,
                                 j->kind == KIND_SCAN ? hfs_scan_free_fit(j->s)
                                                      : hfs_ranking_free_fit(j->r),
                                 j->kind == KIND_SCAN ? "scan" : "ranking"));
  HFS_CHECK(hfs_h5_close(&h5));
  /* On disk before it replaces the previous checkpoint. */
  int fd = open(tmp, O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    HFS_FAIL(HFS_ERR_IO, "%s: cannot sync %s to disk", o->output, tmp);
  }
  close(fd);
  if (rename(tmp, o->output) != 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot rename %s into place", o->output, tmp);
  j->last_commit = hfs_now();
cleanup:
  hfs_h5_close(&h5);
  if (rc) remove(tmp);
  free(tmp);
  return rc;
}

static int unit_run(void *ctx, int64_t u, void *result) {
  job *j = ctx;
  return j->kind == KIND_SCAN ? hfs_scan_run(j->s, u, result) : hfs_ranking_run(j->r, u, result);
}

static int unit_collect(void *ctx, int64_t u, const void *result) {
  job *j = ctx;
  int rc = j->kind == KIND_SCAN ? hfs_scan_store(j->s, u, result)
                                : hfs_ranking_store(j->r, u, result);
  if (rc) return rc;
  if (j->o->output && hfs_now() - j->last_commit >= j->o->checkpoint_interval) return save(j);
  return HFS_OK;
}

/* The settings that determine the unit results, in a canonical form: a run
 * resumes a file only if they are identical. */
static char *canonical_options(const hfs_cli_opts *o, const hfs_cli_ctx *c, const job *j) {
  size_t cap = 4096 + 64 * (size_t)hfs_model_npar(c->model);
  for (int g = 0; g < o->ngroups; ++g) cap += strlen(o->groups[g]) + 2;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  size_t l = 0;
  l += snprintf(buf + l, cap - l,
                "kind=%s;workspace_sha256=%s;measurement=%s;normsys_code=%d;histosys_code=%d;"
                "optimizer=%s;fixed=",
                j->kind == KIND_SCAN ? "scan" : "ranking", c->sha256,
                hfs_model_measurement(c->model), o->model.normsys_code, o->model.histosys_code,
                hfs_optimizer_name(o->fit.optimizer));
  for (int i = 0; i < hfs_model_npar(c->model) && l < cap; ++i)
    if (c->fixed[i] && !hfs_model_par_fixed(c->model, i))
      l += snprintf(buf + l, cap - l, "%s=%.17g,", hfs_model_par_name(c->model, i), c->init[i]);
  if (j->kind == KIND_SCAN) {
    const double *mu = hfs_scan_grid(j->s);
    int n = hfs_scan_npoints(j->s);
    if (l < cap)
      l += snprintf(buf + l, cap - l, ";grid=%.17g:%.17g:%d", mu[0], mu[n - 1], n);
  } else {
    if (l < cap) l += snprintf(buf + l, cap - l, ";groups=");
    for (int g = 0; g < o->ngroups && l < cap; ++g)
      l += snprintf(buf + l, cap - l, "%s|", o->groups[g]);
  }
  return buf;
}

/* Every rank must agree on a set-up status, or some would wait forever in
 * the scheduler while others leave. */
static int agree(int rc) {
  int all = rc;
  MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (all && !rc) hfs_error_set(all, "another rank failed to set up the run");
  return all;
}

static int file_exists(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0;
}

static const char *status_mark(int st) { return st == HFS_FIT_CONVERGED ? "" : "*"; }

static void print_ranking(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_ranking *r,
                          double wall) {
  hfs_model *m = c->model;
  int poi = hfs_model_poi(m), n = hfs_ranking_nranked(r);
  const hfs_fit_result *ff = hfs_ranking_free_fit(r);
  const int *order = hfs_ranking_order(r);
  int top = o->top > 0 && o->top < n ? o->top : n;
  int nfailed = hfs_ranking_nfailed(r);
  if (o->json) {
    json_t *j = json_object();
    json_object_set_new(j, "workspace", json_string(o->workspace));
    json_object_set_new(j, "measurement", json_string(hfs_model_measurement(m)));
    json_object_set_new(j, "poi", json_string(hfs_model_par_name(m, poi)));
    json_object_set_new(j, "poi_hat", hfs_cli_json_real(ff->theta[poi]));
    json_object_set_new(j, "poi_unc", hfs_cli_json_real(ff->has_errors ? ff->error[poi] : NAN));
    json_object_set_new(j, "poi_unc_hessian",
                        hfs_cli_json_real(ff->has_errors ? ff->error_hessian[poi] : NAN));
    json_object_set_new(j, "free_fit_status", json_string(hfs_fit_status_name(ff->status)));
    hfs_cli_poi_bound_json(j, m, ff, "ranking");
    json_object_set_new(j, "n_ranked", json_integer(n));
    json_object_set_new(j, "n_failed_fits", json_integer(nfailed));
    json_object_set_new(j, "free_fit_covariance", json_string(hfs_cov_status_name(ff->cov_status)));
    json_object_set_new(j, "n_posdef_fits", json_integer(hfs_ranking_nposdef(r)));
    json_t *list = json_array();
    for (int q = 0; q < top; ++q) {
      const hfs_ranking_entry *e = hfs_ranking_entry_at(r, order[q]);
      json_t *x = json_object();
      json_object_set_new(x, "name", json_string(e->name));
      json_object_set_new(x, "type", json_string(hfs_modtype_name(hfs_model_par_type(m, e->par))));
      json_object_set_new(x, "pull", hfs_cli_json_real(e->pull));
      json_object_set_new(x, "constraint", hfs_cli_json_real(e->constraint));
      json_object_set_new(x, "value", hfs_cli_json_real(e->value));
      json_object_set_new(x, "error", hfs_cli_json_real(e->error));
      json_object_set_new(x, "prefit_width", hfs_cli_json_real(e->prefit_width));
      json_t *st = json_object();
      for (int f = 0; f < HFS_IMPACT_NFITS; ++f) {
        char key[64];
        snprintf(key, sizeof key, "impact_%s", hfs_impact_fit_names[f]);
        json_object_set_new(x, key, hfs_cli_json_real(e->impact[f]));
        json_object_set_new(st, hfs_impact_fit_names[f],
                            json_string(hfs_fit_status_name(e->status[f])));
      }
      json_object_set_new(x, "fit_status", st);
      json_object_set_new(x, "failed", json_boolean(e->nfailed > 0));
      json_array_append_new(list, x);
    }
    json_object_set_new(j, "ranking", list);
    json_t *gl = json_array();
    for (int g = 0; g < hfs_ranking_ngroups(r); ++g) {
      const hfs_ranking_group *G = hfs_ranking_group_at(r, g);
      json_t *x = json_object();
      json_object_set_new(x, "name", json_string(G->name));
      json_object_set_new(x, "pattern", json_string(G->pattern));
      json_object_set_new(x, "n_members", json_integer(G->nmembers));
      json_object_set_new(x, "poi_unc_group_fixed", hfs_cli_json_real(G->poi_error));
      json_object_set_new(x, "impact", hfs_cli_json_real(G->impact));
      json_object_set_new(x, "fit_status", json_string(hfs_fit_status_name(G->status)));
      json_array_append_new(gl, x);
    }
    json_object_set_new(j, "groups", gl);
    json_object_set_new(j, "time_s", json_real(wall));
    hfs_cli_print_json(j);
    json_decref(j);
    return;
  }
  const char *pn = hfs_model_par_name(m, poi);
  printf("hfscan ranking: %s (measurement %s, %d parameters, %d ranked, optimizer %s)\n",
         o->workspace, hfs_model_measurement(m), hfs_model_npar(m), n,
         hfs_optimizer_name(o->fit.optimizer));
  printf("%s_hat = %.5f +- %.5f (Hessian %.5f); free fit %s\n", pn, ff->theta[poi],
         ff->has_errors ? ff->error[poi] : NAN, ff->has_errors ? ff->error_hessian[poi] : NAN,
         hfs_fit_status_name(ff->status));
  printf("%4s %-40s %8s %8s %10s %10s %10s %10s\n", "rank", "parameter", "pull", "constr",
         "pre up", "pre down", "post up", "post down");
  for (int q = 0; q < top; ++q) {
    const hfs_ranking_entry *e = hfs_ranking_entry_at(r, order[q]);
    printf("%4d %-40.40s %8.3f %8.3f", q + 1, e->name, e->pull, e->constraint);
    for (int f = 0; f < HFS_IMPACT_NFITS; ++f)
      printf(" %+9.5f%1s", e->impact[f], status_mark(e->status[f]));
    printf("\n");
  }
  if (top < n) printf("(%d more; --top 0 prints all)\n", n - top);
  if (hfs_ranking_ngroups(r) > 0) {
    printf("grouped impacts on %s (Hessian sigma_%s = %.5f; impact = sqrt(sigma^2 - "
           "sigma_held^2)):\n",
           pn, pn, ff->has_errors ? ff->error_hessian[poi] : NAN);
    printf("  %-32s %7s %12s %10s\n", "group", "members", "sigma_held", "impact");
    for (int g = 0; g < hfs_ranking_ngroups(r); ++g) {
      const hfs_ranking_group *G = hfs_ranking_group_at(r, g);
      printf("  %-32.32s %7d %12.5f %10.5f%s\n", G->name, G->nmembers, G->poi_error, G->impact,
             status_mark(G->status));
    }
  }
  printf("%lld fits in %.2f s on %d rank%s; %d did not converge%s; %d converged with a "
         "covariance made positive definite\n",
         (long long)hfs_ranking_nunits(r) + 1, wall, hfs_cli_size(), hfs_cli_size() > 1 ? "s" : "",
         nfailed, nfailed ? " (marked *; see the output file)" : "", hfs_ranking_nposdef(r));
}

static json_t *crossing_json(const hfs_scan_crossing *x) {
  json_t *j = json_object();
  json_object_set_new(j, "lo", hfs_cli_json_real(x->lo));
  json_object_set_new(j, "hi", hfs_cli_json_real(x->hi));
  json_object_set_new(j, "dn", hfs_cli_json_real(x->dn));
  json_object_set_new(j, "up", hfs_cli_json_real(x->up));
  json_object_set_new(j, "lo_at_bound", json_boolean(x->lo_at_bound));
  json_object_set_new(j, "hi_at_bound", json_boolean(x->hi_at_bound));
  json_object_set_new(j, "n_fits", json_integer(x->nfits));
  json_object_set_new(j, "n_failed", json_integer(x->nfailed));
  return j;
}

static void print_scan(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_scan *s, double wall) {
  hfs_model *m = c->model;
  int poi = hfs_model_poi(m), n = hfs_scan_npoints(s);
  const hfs_fit_result *ff = hfs_scan_free_fit(s);
  const char *pn = hfs_model_par_name(m, poi);
  double mh = ff->theta[poi];
  int nfailed = hfs_scan_nfailed(s);
  if (o->json) {
    json_t *j = json_object();
    json_object_set_new(j, "workspace", json_string(o->workspace));
    json_object_set_new(j, "poi", json_string(pn));
    json_object_set_new(j, "poi_hat", hfs_cli_json_real(mh));
    json_object_set_new(j, "poi_unc_hessian",
                        hfs_cli_json_real(ff->has_errors ? ff->error_hessian[poi] : NAN));
    json_object_set_new(j, "free_fit_status", json_string(hfs_fit_status_name(ff->status)));
    hfs_cli_poi_bound_json(j, m, ff, "scan");
    json_t *iv = json_array();
    for (int l = 0; l < hfs_scan_nintervals(s); ++l) {
      const hfs_scan_interval *x = hfs_scan_interval_at(s, l);
      json_t *q = json_object();
      json_object_set_new(q, "level", json_real(x->level));
      json_object_set_new(q, "total", crossing_json(&x->curve[HFS_SCAN_TOTAL]));
      json_object_set_new(q, "stat", crossing_json(&x->curve[HFS_SCAN_STAT]));
      json_t *sy = json_object();
      json_object_set_new(sy, "dn", hfs_cli_json_real(x->syst_dn));
      json_object_set_new(sy, "up", hfs_cli_json_real(x->syst_up));
      json_object_set_new(q, "syst", sy);
      json_array_append_new(iv, q);
    }
    json_object_set_new(j, "intervals", iv);
    json_t *pts = json_array();
    for (int k = 0; k < n; ++k) {
      const hfs_impact_fit *t = hfs_scan_unit(s, k), *st = hfs_scan_unit(s, (int64_t)n + k);
      json_t *q = json_object();
      json_object_set_new(q, "mu", json_real(hfs_scan_grid(s)[k]));
      json_object_set_new(q, "dnll_total", hfs_cli_json_real(hfs_scan_dnll(s, t)));
      json_object_set_new(q, "dnll_stat", hfs_cli_json_real(hfs_scan_dnll(s, st)));
      json_object_set_new(q, "status_total", json_string(hfs_fit_status_name(t->status)));
      json_object_set_new(q, "status_stat", json_string(hfs_fit_status_name(st->status)));
      json_array_append_new(pts, q);
    }
    json_object_set_new(j, "points", pts);
    json_object_set_new(j, "n_failed_fits", json_integer(nfailed));
    json_object_set_new(j, "free_fit_covariance", json_string(hfs_cov_status_name(ff->cov_status)));
    json_object_set_new(j, "n_posdef_fits", json_integer(hfs_scan_nposdef(s)));
    json_object_set_new(j, "time_s", json_real(wall));
    hfs_cli_print_json(j);
    json_decref(j);
    return;
  }
  printf("hfscan scan: %s (measurement %s, %d points in [%g, %g], optimizer %s)\n", o->workspace,
         hfs_model_measurement(m), n, hfs_scan_grid(s)[0], hfs_scan_grid(s)[n - 1],
         hfs_optimizer_name(o->fit.optimizer));
  printf("%s_hat = %.5f, Hessian uncertainty %.5f; free fit %s\n", pn, mh,
         ff->has_errors ? ff->error_hessian[poi] : NAN, hfs_fit_status_name(ff->status));
  for (int l = 0; l < hfs_scan_nintervals(s); ++l) {
    const hfs_scan_interval *x = hfs_scan_interval_at(s, l);
    const hfs_scan_crossing *t = &x->curve[HFS_SCAN_TOTAL], *st = &x->curve[HFS_SCAN_STAT];
    char v[6][24];
    const double d[6] = {t->dn, t->up, st->dn, st->up, x->syst_dn, x->syst_up};
    for (int q = 0; q < 6; ++q) /* no crossing (a bound) prints as "none" */
      snprintf(v[q], sizeof v[q], isfinite(d[q]) ? "%.5f" : "none", d[q]);
    printf("2 delta NLL = %g:  %s = %.5f  -%s/+%s (total)  -%s/+%s (stat)  -%s/+%s (syst)\n",
           x->level, pn, mh, v[0], v[1], v[2], v[3], v[4], v[5]);
    printf("    total [%.5f, %.5f]%s%s   stat [%.5f, %.5f]%s%s\n", t->lo, t->hi,
           t->lo_at_bound ? " (no lower crossing above the bound)" : "",
           t->hi_at_bound ? " (no upper crossing below the bound)" : "", st->lo, st->hi,
           st->lo_at_bound ? " (no lower crossing)" : "",
           st->hi_at_bound ? " (no upper crossing)" : "");
  }
  printf("%10s %12s %12s\n", pn, "2dNLL total", "2dNLL stat");
  for (int k = 0; k < n; ++k) {
    const hfs_impact_fit *t = hfs_scan_unit(s, k), *st = hfs_scan_unit(s, (int64_t)n + k);
    printf("%10.5f %12.5f%1s %11.5f%1s\n", hfs_scan_grid(s)[k], hfs_scan_dnll(s, t),
           status_mark(t->status), hfs_scan_dnll(s, st), status_mark(st->status));
  }
  printf("%lld grid fits + %d crossing fits in %.2f s on %d rank%s; %d did not converge%s; "
         "%d converged with a covariance made positive definite\n",
         (long long)hfs_scan_nunits(s), hfs_scan_nextra(s), wall, hfs_cli_size(),
         hfs_cli_size() > 1 ? "s" : "", nfailed, nfailed ? " (marked *)" : "",
         hfs_scan_nposdef(s));
}

static int run(const char *cmd, int kind, int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  hfs_infer *I = NULL;
  hfs_sched *sched = NULL;
  hfs_h5 *h5 = NULL;
  job j;
  char *options = NULL;
  int64_t *pending = NULL, npending = 0;
  int rank = hfs_cli_rank(), rc = HFS_OK, exit_code = HFS_EXIT_OK;
  double t0 = hfs_now();
  memset(&c, 0, sizeof c);
  memset(&j, 0, sizeof j);
  hfs_cli_opts_default(&o);
  exit_code = hfs_cli_parse(cmd, argc, argv, &o);
  if (exit_code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return exit_code < 0 ? HFS_EXIT_OK : exit_code;
  }
  j.kind = kind;
  j.o = &o;
  j.c = &c;
  j.sessions = 1;
  j.t_start = t0;
  j.last_commit = t0;

  /* Every rank builds the same model and free fit (deterministic), so that
   * any rank can run any unit. */
  rc = hfs_cli_load(&o, &c);
  if (!rc) rc = hfs_infer_create(c.model, &o.fit, c.fixed, c.init, &I);
  if (!rc && kind == KIND_SCAN) {
    rc = hfs_scan_create(I, o.scan_lo, o.scan_hi, o.nscan, &j.s);
  } else if (!rc) {
    rc = hfs_ranking_create(I, &j.r);
    for (int g = 0; g < o.ngroups && !rc; ++g) {
      char name[256];
      const char *eq = strchr(o.groups[g], '=');
      snprintf(name, sizeof name, "%.*s", (int)(eq - o.groups[g]), o.groups[g]);
      rc = hfs_ranking_add_group(j.r, name, eq + 1);
      if (rc) {
        /* The message lives in the buffer hfs_error_set() writes to. */
        char why[512];
        snprintf(why, sizeof why, "%s", hfs_error_message());
        rc = hfs_error_set(rc, "--group %s: %s", o.groups[g], why);
      }
    }
    if (!rc && o.ngroups == 0) rc = hfs_ranking_add_default_groups(j.r);
    if (!rc) rc = hfs_ranking_add_all_group(j.r);
  }
  if (!rc && !(options = canonical_options(&o, &c, &j)))
    rc = hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  j.options = options;
  HFS_CHECK(agree(rc));

  /* The master resumes an existing output or starts afresh. */
  int64_t nunits = job_nunits(&j);
  if (rank == 0) {
    if (o.output && file_exists(o.output) && !o.overwrite) {
      rc = hfs_h5_open(o.output, 0, &h5);
      if (!rc)
        rc = kind == KIND_SCAN ? hfs_store_resume_scan(h5, "/scan", options, j.s, &j.sessions)
                               : hfs_store_resume_ranking(h5, "/ranking", options, j.r, &j.sessions);
      hfs_h5_close(&h5);
      if (rc)
        rc = hfs_error_set(HFS_ERR_MISMATCH, "%s exists and cannot be resumed (%s); use "
                                             "--overwrite to start afresh",
                           o.output, hfs_error_message());
      else {
        j.sessions++;
        if (!o.quiet) fprintf(stderr, "hfscan: resuming %s\n", o.output);
      }
    }
    if (!rc) {
      pending = malloc(sizeof *pending * (size_t)(nunits ? nunits : 1));
      if (!pending) rc = hfs_error_set(HFS_ERR_NOMEM, "out of memory");
      for (int64_t u = 0; !rc && u < nunits; ++u)
        if (!unit_done(&j, u)) pending[npending++] = u;
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rc) {
    if (rank != 0) hfs_error_set(rc, "the master rank failed to prepare the run");
    goto cleanup;
  }
  MPI_Bcast(&npending, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) {
    pending = malloc(sizeof *pending * (size_t)(npending ? npending : 1));
    if (!pending) rc = hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  }
  HFS_CHECK(agree(rc));
  MPI_Bcast(pending, (int)npending, MPI_INT64_T, 0, MPI_COMM_WORLD);

  hfs_sched_options so;
  hfs_sched_options_default(&so);
  so.progress = !o.quiet;
  char name[64];
  snprintf(name, sizeof name, "%s (%lld fits)", cmd, (long long)nunits);
  hfs_sched_task task = {name, sizeof(hfs_impact_fit), unit_run, unit_collect, &j};
  HFS_CHECK(hfs_sched_create(MPI_COMM_WORLD, &so, &sched));
  hfs_cli_set_stop_hook(hfs_sched_request_stop);
  /* A signal during the free fit came before the hook existed. */
  if (hfs_cli_interrupted) hfs_sched_request_stop();
  int run_rc = hfs_sched_run(sched, &task, pending, npending, NULL);
  hfs_cli_set_stop_hook(NULL);
  if (run_rc != HFS_OK && run_rc != HFS_ERR_INTERRUPTED) HFS_CHECK(run_rc);

  if (rank == 0) {
    if (run_rc == HFS_ERR_INTERRUPTED) {
      if (o.output) HFS_CHECK(save(&j));
      int64_t done = kind == KIND_SCAN ? hfs_scan_ndone(j.s) : hfs_ranking_ndone(j.r);
      fprintf(stderr, "hfscan: interrupted: %lld of %lld fits done%s%s; run the same command "
                      "again to resume\n",
              (long long)done, (long long)nunits, o.output ? ", checkpoint written to " : "",
              o.output ? o.output : "");
      exit_code = HFS_EXIT_INTERRUPTED;
    } else {
      int nfailed;
      if (kind == KIND_SCAN) {
        double def[2] = {1.0, 3.84};
        HFS_CHECK(hfs_scan_finish(j.s, o.nlevels ? o.levels : def, o.nlevels ? o.nlevels : 2));
        nfailed = hfs_scan_nfailed(j.s);
      } else {
        HFS_CHECK(hfs_ranking_finish(j.r));
        nfailed = hfs_ranking_nfailed(j.r);
      }
      if (o.output) HFS_CHECK(save(&j));
      const hfs_fit_result *ff = kind == KIND_SCAN ? hfs_scan_free_fit(j.s)
                                                   : hfs_ranking_free_fit(j.r);
      if (ff->status == HFS_FIT_CONVERGED && ff->cov_status != HFS_COV_ACCURATE)
        hfs_cli_error("warning: free fit: %s", hfs_cli_cov_warning(ff->cov_status));
      if (kind == KIND_SCAN) print_scan(&o, &c, j.s, hfs_now() - t0);
      else print_ranking(&o, &c, j.r, hfs_now() - t0);
      hfs_cli_poi_bound_warn(c.model,
                             kind == KIND_SCAN ? hfs_scan_free_fit(j.s) : hfs_ranking_free_fit(j.r),
                             cmd);
      if (nfailed) {
        hfs_cli_error("warning: %d fit%s did not converge; recorded with their status%s%s",
                      nfailed, nfailed > 1 ? "s" : "", o.output ? " in " : "",
                      o.output ? o.output : "");
        exit_code = HFS_EXIT_FIT_FAILED;
      }
    }
  }
  /* Workers end with 0 (or 3 when interrupted); mpiexec reports the
   * master's status, so no collective is needed after the master's own
   * work, which may fail on its own. */
  if (rank != 0 && run_rc == HFS_ERR_INTERRUPTED) exit_code = HFS_EXIT_INTERRUPTED;
cleanup:
  if (rc) {
    if (rank == 0) hfs_cli_error("%s", hfs_error_message());
    exit_code = rc == HFS_ERR_ARG ? HFS_EXIT_USAGE : HFS_EXIT_ERROR;
  }
  hfs_h5_close(&h5);
  hfs_sched_destroy(&sched);
  hfs_ranking_destroy(&j.r);
  hfs_scan_destroy(&j.s);
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  free(options);
  free(pending);
  return exit_code;
}

int hfs_cmd_ranking(int argc, char **argv) { return run("ranking", KIND_RANKING, argc, argv); }
int hfs_cmd_scan(int argc, char **argv) { return run("scan", KIND_SCAN, argc, argv); }
