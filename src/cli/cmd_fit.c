/* hfscan fit: maximum-likelihood fit with uncertainties and correlations. */
#include "cli.h"
#include "cli_guard.h"
#include "cli_json.h"
#include "hfs_error.h"
#include "hfs_store.h"
#include "hfs_core.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* JSON numbers: NaN/inf have no JSON form and are written as null. */
json_t *hfs_cli_json_real(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *hfs_cli_json_fit(hfs_model *m, const hfs_fit_result *r, const char *optimizer) {
  json_t *o = json_object();
  int n = hfs_model_npar(m);
  json_object_set_new(o, "status", json_string(hfs_fit_status_name(r->status)));
  json_object_set_new(o, "reason", json_string(r->reason));
  json_object_set_new(o, "optimizer", json_string(optimizer));
  json_object_set_new(o, "twice_nll", hfs_cli_json_real(r->twice_nll));
  json_object_set_new(o, "n_starts", json_integer(r->n_starts));
  json_object_set_new(o, "n_minima", json_integer(r->n_minima));
  json_object_set_new(o, "kept_start", json_integer(r->kept_start));
  json_object_set_new(o, "covariance_status", json_integer(r->cov_status));
  json_object_set_new(o, "covariance_quality", json_string(hfs_cov_status_name(r->cov_status)));
  json_object_set_new(o, "poi", json_string(hfs_model_par_name(m, hfs_model_poi(m))));
  json_t *pars = json_array();
  for (int i = 0; i < n; ++i) {
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string(hfs_model_par_name(m, i)));
    json_object_set_new(p, "value", hfs_cli_json_real(r->theta[i]));
    json_object_set_new(p, "error", r->has_errors ? hfs_cli_json_real(r->error[i]) : json_null());
    json_object_set_new(p, "error_hessian",
                        r->has_errors ? hfs_cli_json_real(r->error_hessian[i]) : json_null());
    json_array_append_new(pars, p);
  }
  json_object_set_new(o, "parameters", pars);
  json_t *corr = json_array();
  if (r->has_errors && r->corr)
    for (int i = 0; i < n; ++i) {
      json_t *row = json_array();
      for (int k = 0; k < n; ++k) json_array_append_new(row, hfs_cli_json_real(r->corr[i * n + k]));
      json_array_append_new(corr, row);
    }
  json_object_set_new(o, "correlation", corr);
  json_object_set_new(o, "n_eval", json_integer(r->n_eval));
  json_object_set_new(o, "n_iter", json_integer(r->n_iter));
  json_object_set_new(o, "time_s", json_real(r->time_s));
  return o;
}

void hfs_cli_print_json(json_t *o) {
  if (json_is_object(o) && !json_object_get(o, "data"))
    json_object_set_new(o, "data", hfs_cli_data_json());
  if (hfs_cli_json_gathered(o)) return;
  char *s = json_dumps(o, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
  if (s) {
    puts(s);
    free(s);
  }
}

/* One line for a covariance that is not MINUIT's "accurate": what the
 * errors are worth.  Empty for an accurate one. */
const char *hfs_cli_cov_warning(int cov_status) {
  switch (cov_status) {
    case HFS_COV_MADE_POSDEF:
      return "the Hessian at the minimum is not positive definite (a flat direction?): "
             "the covariance was made positive definite as MINUIT does, errors marked ~ "
             "are indicative only";
    case HFS_COV_APPROXIMATE:
      return "the fit did not converge: the covariance, errors marked ~, is an approximation";
    case HFS_COV_NONE: return "no covariance: errors unknown";
  }
  return "";
}

static void print_table(const hfs_cli_opts *o, hfs_model *m, const hfs_fit_result *r,
                        const int *fixed) {
  int n = hfs_model_npar(m);
  printf("hfscan fit: %s (measurement %s, %d parameters, optimizer %s)\n", o->workspace,
         hfs_model_measurement(m), n, hfs_optimizer_name(o->fit.optimizer));
  printf("status      %s%s%s%s\n", hfs_fit_status_name(r->status), r->reason[0] ? " (" : "",
         r->reason, r->reason[0] ? ")" : "");
  printf("twice_nll   %.6f\n", r->twice_nll);
  printf("evaluations %d (%d iterations), %.2f ms\n", r->n_eval, r->n_iter, 1e3 * r->time_s);
  printf("minima      %d met in %d fit%s%s\n", r->n_minima, r->n_starts, r->n_starts > 1 ? "s" : "",
         r->kept_start ? "; the lowest came from a restart" : "");
  printf("covariance  %s (%d)\n", hfs_cov_status_name(r->cov_status), r->cov_status);
  /* errors of a covariance that is not accurate carry a mark */
  const char *approx = r->cov_status == HFS_COV_ACCURATE ? " " : "~";
  printf("%-40s %14s %12s\n", "parameter", "value", "error");
  for (int i = 0; i < n; ++i) {
    if (o->brief && i != hfs_model_poi(m)) continue;
    const char *mark = i == hfs_model_poi(m) ? "  (POI)" : "";
    if (fixed[i])
      printf("%-40s %14.6f %12s %s\n", hfs_model_par_name(m, i), r->theta[i], "fixed", mark);
    else if (r->has_errors && isfinite(r->error[i]))
      printf("%-40s %14.6f %12.6f%s%s\n", hfs_model_par_name(m, i), r->theta[i], r->error[i],
             approx, mark);
    else
      printf("%-40s %14.6f %12s %s\n", hfs_model_par_name(m, i), r->theta[i], "n/a", mark);
  }
}

int hfs_cli_fit(const hfs_cli_opts *o_, const hfs_cli_ctx *c_) {
  const hfs_cli_opts o = *o_;
  const hfs_cli_ctx c = *c_;
  hfs_fitter *f = NULL;
  hfs_multistart *ms = NULL;
  hfs_fit_result r;
  hfs_h5 *h5 = NULL;
  int rc = HFS_OK, exit_code;
  memset(&r, 0, sizeof r);
  double t0 = hfs_now();
  int n = hfs_model_npar(c.model);
  rc = hfs_fitter_create(c.model, &o.fit, &f);
  if (rc == HFS_ERR_NOMEM)
    rc = hfs_error_set(rc, "%s (model of %d parameters, %d bins)", hfs_error_message(),
                       hfs_model_npar(c.model), hfs_model_nbins(c.model));
  if (rc) goto cleanup;
  HFS_CHECK(hfs_fit_result_init(&r, n, 1));
  if (o.robust != HFS_ROBUST_OFF) {
    HFS_CHECK(hfs_multistart_create(c.model, f, &ms));
    HFS_CHECK(hfs_multistart_minimize(ms, NULL, NULL, c.init, c.fixed, NULL, 0, 1, &r));
  } else {
    HFS_CHECK(hfs_fitter_minimize(f, NULL, NULL, c.init, c.fixed, 1, &r));
  }
  if (o.json) {
    json_t *j = hfs_cli_json_fit(c.model, &r, hfs_optimizer_name(o.fit.optimizer));
    hfs_cli_poi_bound_json(j, c.model, &r, "fit");
    if (o.brief) {
      /* --brief: the POI and the status; no matrix, no nuisance parameters. */
      json_t *all = json_object_get(j, "parameters"), *one = json_array();
      json_array_append(one, json_array_get(all, (size_t)hfs_model_poi(c.model)));
      json_object_set_new(j, "parameters", one);
      json_object_del(j, "correlation");
    }
    json_object_set_new(j, "workspace", json_string(o.workspace));
    json_object_set_new(j, "measurement", json_string(hfs_model_measurement(c.model)));
    hfs_cli_print_json(j);
    json_decref(j);
  } else if (hfs_cli_show_result(&o)) {
    print_table(&o, c.model, &r, c.fixed);
    if (o.brief) printf("(%d nuisance parameters: see hfscan fit without --brief)\n", n - 1);
  }
  fflush(stdout);
  hfs_cli_poi_bound_warn(c.model, &r, "fit");
  if (r.kept_start)
    hfs_cli_error(
        "warning: the first fit stopped in a local minimum; the lowest of the %d "
        "minima met is kept",
        r.n_minima);
  if (r.status == HFS_FIT_CONVERGED && r.cov_status != HFS_COV_ACCURATE)
    hfs_cli_error("warning: %s", hfs_cli_cov_warning(r.cov_status));
  if (o.output) {
    hfs_run_info info = hfs_cli_run_info("fit", &o, &c, hfs_now() - t0);
    HFS_CHECK(hfs_h5_create(o.output, &h5));
    HFS_CHECK(hfs_store_write_run_info(h5, &info));
    HFS_CHECK(hfs_store_write_fit(h5, "/fit", c.model, &r, c.fixed));
    HFS_CHECK(hfs_cli_poi_bound_h5(h5, "/fit", c.model, &r, "fit"));
    HFS_CHECK(hfs_cli_data_store(h5, "/fit"));
    HFS_CHECK(hfs_h5_close(&h5));
  }
cleanup:
  exit_code =
      rc ? HFS_EXIT_ERROR : (r.status == HFS_FIT_CONVERGED ? HFS_EXIT_OK : HFS_EXIT_FIT_FAILED);
  if (rc)
    hfs_cli_error("%s", hfs_error_message());
  else if (exit_code == HFS_EXIT_FIT_FAILED)
    hfs_cli_error("fit did not converge: %s (%s)", hfs_fit_status_name(r.status), r.reason);
  hfs_h5_discard(&h5);
  hfs_fit_result_free(&r);
  hfs_multistart_destroy(&ms);
  hfs_fitter_destroy(&f);
  return exit_code;
}

int hfs_cmd_fit(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  int exit_code;
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  exit_code = hfs_cli_parse("fit", argc, argv, &o);
  if (exit_code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return exit_code < 0 ? HFS_EXIT_OK : exit_code;
  }
  if (hfs_cli_rank() != 0) { /* a fit runs on one rank */
    hfs_cli_opts_free(&o);
    return HFS_EXIT_OK;
  }
  if (hfs_cli_output_guard(&o, 0) || hfs_cli_load(&o, &c)) {
    hfs_cli_error("%s", hfs_error_message());
    exit_code = HFS_EXIT_ERROR;
  } else {
    exit_code = hfs_cli_fit(&o, &c);
  }
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}
