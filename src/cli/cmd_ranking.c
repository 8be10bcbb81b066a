/* hfscan ranking: pulls, constraints, impacts on the POI and grouped
 * impacts; hfscan scan: profile-likelihood scan of the POI with its
 * crossings and stat/syst split.  The runs are the job layer's "ranking"
 * and "scan" kinds (src/job/kind_fits.c); this file parses and prints
 * (docs/ranking.md). */
#include "cli.h"
#include "cli_guard.h"
#include "cli_json.h"
#include "hfs_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *status_mark(int st) { return st == HFS_FIT_CONVERGED ? "" : "*"; }

static void print_ranking(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_ranking *r,
                          double wall) {
  hfs_model *m = c->model;
  int poi = hfs_model_poi(m), n = hfs_ranking_nranked(r);
  const hfs_fit_result *ff = hfs_ranking_free_fit(r);
  const int *order = hfs_ranking_order(r);
  int top = o->top > 0 && o->top < n ? o->top : n;
  int nfailed = hfs_ranking_nfailed(r);
  if (!hfs_cli_show_result(o)) return;
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
      static const char *const keys[] = {"pull", "constraint", "value", "error", "prefit_width"};
      const double v[] = {e->pull, e->constraint, e->value, e->error, e->prefit_width};
      hfs_cli_json_set_reals(x, keys, v, 5);
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
    if (o->brief)
      json_decref(gl); /* --brief: the ranking, not the groups */
    else
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
  printf("%4s %-40s %8s %8s %10s %10s %10s %10s\n", "rank", "parameter", "pull", "constr", "pre up",
         "pre down", "post up", "post down");
  for (int q = 0; q < top; ++q) {
    const hfs_ranking_entry *e = hfs_ranking_entry_at(r, order[q]);
    printf("%4d %-40.40s %8.3f %8.3f", q + 1, e->name, e->pull, e->constraint);
    for (int f = 0; f < HFS_IMPACT_NFITS; ++f)
      printf(" %+9.5f%1s", e->impact[f], status_mark(e->status[f]));
    printf("\n");
  }
  if (top < n) printf("(%d more; --top 0 prints all)\n", n - top);
  if (hfs_ranking_ngroups(r) > 0 && !o->brief) {
    printf(
        "grouped impacts on %s (Hessian sigma_%s = %.5f; impact = sqrt(sigma^2 - "
        "sigma_held^2)):\n",
        pn, pn, ff->has_errors ? ff->error_hessian[poi] : NAN);
    printf("  %-32s %7s %12s %10s\n", "group", "members", "sigma_held", "impact");
    for (int g = 0; g < hfs_ranking_ngroups(r); ++g) {
      const hfs_ranking_group *G = hfs_ranking_group_at(r, g);
      printf("  %-32.32s %7d %12.5f %10.5f%s\n", G->name, G->nmembers, G->poi_error, G->impact,
             status_mark(G->status));
    }
  }
  printf(
      "%lld fits in %.2f s on %d rank%s; %d did not converge%s; %d converged with a "
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
  if (!hfs_cli_show_result(o)) return;
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
    if (o->brief)
      json_decref(pts); /* --brief: the intervals, not the curve */
    else
      json_object_set_new(j, "points", pts);
    json_object_set_new(j, "n_failed_fits", json_integer(nfailed));
    json_object_set_new(j, "free_fit_covariance", json_string(hfs_cov_status_name(ff->cov_status)));
    json_object_set_new(j, "n_posdef_fits", json_integer(hfs_scan_nposdef(s)));
    json_object_set_new(j, "n_repairs", json_integer(hfs_scan_nrepairs(s)));
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
  if (!o->brief) printf("%10s %12s %12s\n", pn, "2dNLL total", "2dNLL stat");
  for (int k = 0; k < n && !o->brief; ++k) {
    const hfs_impact_fit *t = hfs_scan_unit(s, k), *st = hfs_scan_unit(s, (int64_t)n + k);
    printf("%10.5f %12.5f%1s %11.5f%1s\n", hfs_scan_grid(s)[k], hfs_scan_dnll(s, t),
           status_mark(t->status), hfs_scan_dnll(s, st), status_mark(st->status));
  }
  printf(
      "%lld grid fits + %d crossing fits in %.2f s on %d rank%s; %d did not converge%s; "
      "%d converged with a covariance made positive definite\n",
      (long long)hfs_scan_nunits(s), hfs_scan_nextra(s), wall, hfs_cli_size(),
      hfs_cli_size() > 1 ? "s" : "", nfailed, nfailed ? " (marked *)" : "", hfs_scan_nposdef(s));
  if (hfs_scan_nrepairs(s))
    printf("%d point%s lower when continued from the neighbouring point's minimum (kept)\n",
           hfs_scan_nrepairs(s), hfs_scan_nrepairs(s) > 1 ? "s" : "");
}

int hfs_cli_fits_job(const hfs_cli_opts *o, const hfs_cli_ctx *c, const hfs_job_kind *kind) {
  hfs_job_config cfg;
  hfs_job *job = NULL;
  hfs_cli_job_config(o, c, &cfg);
  int code = hfs_cli_job_report(hfs_job_run(kind, &cfg, &job));
  if (hfs_cli_rank() == 0 && (code == HFS_EXIT_OK || code == HFS_EXIT_FIT_FAILED)) {
    double wall = hfs_job_elapsed(job);
    const hfs_fit_result *ff = kind == &hfs_job_scan
                                   ? hfs_scan_free_fit(hfs_job_scan_result(job))
                                   : hfs_ranking_free_fit(hfs_job_ranking_result(job));
    if (ff->status == HFS_FIT_CONVERGED && ff->cov_status != HFS_COV_ACCURATE)
      hfs_cli_error("warning: free fit: %s", hfs_cli_cov_warning(ff->cov_status));
    if (kind == &hfs_job_scan)
      print_scan(o, c, hfs_job_scan_result(job), wall);
    else
      print_ranking(o, c, hfs_job_ranking_result(job), wall);
    if (kind == &hfs_job_ranking && o->impacts_json) {
      int rc = hfs_store_write_impacts_json(o->impacts_json, hfs_job_ranking_result(job), c->model);
      if (rc) code = hfs_cli_job_report(HFS_EXIT_ERROR);
    }
    hfs_cli_poi_bound_warn(c->model, ff, kind->name);
    int nfailed = hfs_job_nfailed(job);
    if (nfailed)
      hfs_cli_error("warning: %d fit%s did not converge; recorded with their status%s%s", nfailed,
                    nfailed > 1 ? "s" : "", o->output ? " in " : "", o->output ? o->output : "");
  }
  hfs_job_destroy(&job);
  return code;
}

static int run(const char *cmd, const hfs_job_kind *kind, int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  int code = hfs_cli_parse(cmd, argc, argv, &o);
  if (code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return code < 0 ? HFS_EXIT_OK : code;
  }
  int rc = hfs_cli_output_guard(&o, 1);
  if (!rc) rc = hfs_cli_load(&o, &c);
  code = hfs_cli_job_report(hfs_job_exit_status(rc));
  if (code == HFS_EXIT_OK) code = hfs_cli_fits_job(&o, &c, kind);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return code;
}

int hfs_cmd_ranking(int argc, char **argv) { return run("ranking", &hfs_job_ranking, argc, argv); }
int hfs_cmd_scan(int argc, char **argv) {
  /* Scans of any parameter, 2D scans and frozen groups: cmd_pscan.c. */
  for (int i = 1; i < argc; ++i)
    if ((!strncmp(argv[i], "--par", 5) && (argv[i][5] == '\0' || argv[i][5] == '=')) ||
        !strncmp(argv[i], "--freeze-group", 14))
      return hfs_cmd_pscan(argc, argv);
  return run("scan", &hfs_job_scan, argc, argv);
}
