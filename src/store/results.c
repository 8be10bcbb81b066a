/* Writers of fit, hypothesis-test, limit and significance results. */
#include "hfs_error.h"
#include "hfs_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P(buf, grp, name) snprintf(buf, sizeof buf, "%s/%s", grp, name)

int hfs_store_write_run_info(hfs_h5 *f, const hfs_run_info *in) {
  int rc = HFS_OK;
  char when[64];
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  /* what determines the results, at the root */
  if (in->command) HFS_CHECK(hfs_h5_attr_str(f, "/", "command", in->command));
  if (in->workspace) HFS_CHECK(hfs_h5_attr_str(f, "/", "workspace", in->workspace));
  if (in->workspace_sha256)
    HFS_CHECK(hfs_h5_attr_str(f, "/", "workspace_sha256", in->workspace_sha256));
  if (in->measurement) HFS_CHECK(hfs_h5_attr_str(f, "/", "measurement", in->measurement));
  if (in->poi) HFS_CHECK(hfs_h5_attr_str(f, "/", "poi", in->poi));
  if (in->optimizer) HFS_CHECK(hfs_h5_attr_str(f, "/", "optimizer", in->optimizer));
  HFS_CHECK(hfs_h5_attr_int(f, "/", "normsys_code", in->normsys_code));
  HFS_CHECK(hfs_h5_attr_str(f, "/", "histosys_code",
                            in->histosys_code == 4   ? "4p"
                            : in->histosys_code == 2 ? "2"
                                                     : "0"));
  /* what varies from run to run, apart so that h5diff --exclude-path
   * /provenance compares results only */
  HFS_CHECK(hfs_h5_group(f, "/provenance"));
  HFS_CHECK(hfs_h5_attr_str(f, "/provenance", "hfscan_version", HFS_VERSION " (" HFS_GIT ")"));
  HFS_CHECK(hfs_h5_attr_str(f, "/provenance", "written", when));
  if (in->argv_line) HFS_CHECK(hfs_h5_attr_str(f, "/provenance", "command_line", in->argv_line));
  HFS_CHECK(hfs_h5_attr_double(f, "/provenance", "wall_s", in->wall_s));
  HFS_CHECK(hfs_h5_attr_int(f, "/provenance", "nranks", in->nranks));
cleanup:
  return rc;
}

int hfs_store_label_bands(hfs_h5 *f, const char *dataset) {
  return hfs_h5_attr_str(f, dataset, "columns", HFS_STORE_BAND_COLUMNS);
}

int hfs_store_write_fit(hfs_h5 *f, const char *g, hfs_model *m, const hfs_fit_result *r,
                        const int *fixed) {
  int rc = HFS_OK;
  int n = hfs_model_npar(m);
  char p[512];
  const char **names = NULL;
  double *lo = NULL, *hi = NULL;
  int64_t *fx = NULL;
  HFS_ALLOC(names, n);
  HFS_ALLOC(lo, n);
  HFS_ALLOC(hi, n);
  HFS_ALLOC(fx, n);
  for (int i = 0; i < n; ++i) {
    names[i] = hfs_model_par_name(m, i);
    lo[i] = hfs_model_par_lo(m, i);
    hi[i] = hfs_model_par_hi(m, i);
    fx[i] = fixed ? fixed[i] : hfs_model_par_fixed(m, i);
  }
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_str(f, g, "status", hfs_fit_status_name(r->status)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "status_code", r->status));
  HFS_CHECK(hfs_h5_attr_str(f, g, "reason", r->reason));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll", r->twice_nll));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_iter", r->n_iter));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_eval", r->n_eval));
  HFS_CHECK(hfs_h5_attr_int(f, g, "has_errors", r->has_errors));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_starts", r->n_starts));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_minima", r->n_minima));
  HFS_CHECK(hfs_h5_attr_int(f, g, "kept_start", r->kept_start));
  HFS_CHECK(hfs_h5_attr_int(f, g, "cov_status", r->cov_status));
  HFS_CHECK(hfs_h5_attr_str(f, g, "cov_quality", hfs_cov_status_name(r->cov_status)));
  snprintf(p, sizeof p, "/provenance%s", g);
  HFS_CHECK(hfs_h5_group(f, p));
  HFS_CHECK(hfs_h5_attr_double(f, p, "time_s", r->time_s));
  HFS_CHECK(hfs_h5_attr_str(f, g, "poi", hfs_model_par_name(m, hfs_model_poi(m))));
  int64_t d[2] = {n, n};
  P(p, g, "parameters/name");
  HFS_CHECK(hfs_h5_write_strings(f, p, n, names));
  P(p, g, "parameters/value");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, r->theta));
  P(p, g, "parameters/lo");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, lo));
  P(p, g, "parameters/hi");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, hi));
  P(p, g, "parameters/fixed");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, fx));
  if (r->has_errors) {
    P(p, g, "parameters/error");
    HFS_CHECK(hfs_h5_write_double(f, p, 1, d, r->error));
    P(p, g, "parameters/error_hessian");
    HFS_CHECK(hfs_h5_write_double(f, p, 1, d, r->error_hessian));
    if (r->corr) {
      P(p, g, "correlation");
      HFS_CHECK(hfs_h5_write_double(f, p, 2, d, r->corr));
    }
    if (r->cov) {
      P(p, g, "covariance");
      HFS_CHECK(hfs_h5_write_double(f, p, 2, d, r->cov));
    }
  }
cleanup:
  free(names);
  free(lo);
  free(hi);
  free(fx);
  return rc;
}

int hfs_store_write_fit_summaries(hfs_h5 *f, const char *g, int64_t n, const hfs_fit_summary *s) {
  int rc = HFS_OK;
  char p[512];
  int64_t *st = NULL, *it = NULL, *ev = NULL, *gm = NULL;
  double *nll = NULL, *poi = NULL, *t = NULL;
  HFS_ALLOC(gm, 4 * n);
  HFS_ALLOC(st, n);
  HFS_ALLOC(it, n);
  HFS_ALLOC(ev, n);
  HFS_ALLOC(nll, n);
  HFS_ALLOC(poi, n);
  HFS_ALLOC(t, n);
  for (int64_t i = 0; i < n; ++i) {
    st[i] = s[i].status;
    it[i] = s[i].n_iter;
    ev[i] = s[i].n_eval;
    nll[i] = s[i].twice_nll;
    poi[i] = s[i].poi;
    t[i] = s[i].time_s;
    gm[i] = s[i].n_starts;
    gm[n + i] = s[i].n_minima;
    gm[2 * n + i] = s[i].kept_start;
    gm[3 * n + i] = s[i].repaired;
  }
  int64_t d[1] = {n};
  /* the global-minimum search: docs/inference.md */
  static const char *const gname[4] = {"n_starts", "n_minima", "kept_start", "repaired"};
  for (int k = 0; k < 4; ++k) {
    P(p, g, gname[k]);
    HFS_CHECK(hfs_h5_write_int(f, p, 1, d, gm + k * n));
  }
  P(p, g, "status");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, st));
  P(p, g, "n_iter");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, it));
  P(p, g, "n_eval");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, ev));
  P(p, g, "twice_nll");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, nll));
  P(p, g, "poi");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, poi));
  /* Timings vary from run to run: under /provenance, so that h5diff
   * --exclude-path /provenance of two equal runs reports nothing. */
  snprintf(p, sizeof p, "/provenance%s/time_s", g);
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, t));
cleanup:
  free(st);
  free(it);
  free(ev);
  free(nll);
  free(poi);
  free(t);
  free(gm);
  return rc;
}

int hfs_store_write_hypotest(hfs_h5 *f, const char *g, const hfs_hypotest *h) {
  int rc = HFS_OK;
  char p[512];
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_str(f, g, "test_stat", hfs_teststat_name(h->ts)));
  HFS_CHECK(hfs_h5_attr_str(f, g, "calculator", "asymptotic"));
  HFS_CHECK(hfs_h5_attr_double(f, g, "mu", h->mu));
  HFS_CHECK(hfs_h5_attr_double(f, g, "CLs_obs", h->cls_obs));
  HFS_CHECK(hfs_h5_attr_double(f, g, "CLsb_obs", h->clsb_obs));
  HFS_CHECK(hfs_h5_attr_double(f, g, "CLb_obs", h->clb_obs));
  HFS_CHECK(hfs_h5_attr_double(f, g, "q_obs", h->q_obs));
  HFS_CHECK(hfs_h5_attr_double(f, g, "q_asimov", h->q_asimov));
  HFS_CHECK(hfs_h5_attr_double(f, g, "mu_hat", h->mu_hat));
  int64_t d[1] = {5};
  P(p, g, "CLs_exp");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, h->cls_exp));
  HFS_CHECK(hfs_store_label_bands(f, p));
  P(p, g, "fits");
  HFS_CHECK(hfs_store_write_fit_summaries(f, p, HFS_HT_NFITS, h->fits));
  P(p, g, "fits/kind");
  HFS_CHECK(hfs_h5_write_strings(f, p, HFS_HT_NFITS, hfs_hypotest_fit_names));
cleanup:
  return rc;
}

int hfs_store_write_limit(hfs_h5 *f, const char *g, const hfs_limit *l) {
  int rc = HFS_OK;
  char p[512];
  int n = l->npoints;
  double *mu = NULL, *obs = NULL, *exp = NULL, *qo = NULL, *qa = NULL;
  hfs_fit_summary *fits = NULL;
  HFS_ALLOC(mu, n);
  HFS_ALLOC(obs, n);
  HFS_ALLOC(exp, 5 * n);
  HFS_ALLOC(qo, n);
  HFS_ALLOC(qa, n);
  HFS_ALLOC(fits, (size_t)n * HFS_HT_NFITS);
  for (int i = 0; i < n; ++i) {
    const hfs_hypotest *h = &l->points[i];
    mu[i] = h->mu;
    obs[i] = h->cls_obs;
    qo[i] = h->q_obs;
    qa[i] = h->q_asimov;
    for (int k = 0; k < 5; ++k) exp[5 * i + k] = h->cls_exp[k];
    for (int k = 0; k < HFS_HT_NFITS; ++k) fits[i * HFS_HT_NFITS + k] = h->fits[k];
  }
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_double(f, g, "cl", l->cl));
  HFS_CHECK(hfs_h5_attr_double(f, g, "obs", l->obs));
  HFS_CHECK(hfs_h5_attr_str(f, g, "calculator", "asymptotic"));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_failed_fits", l->nfailed_fits));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_kept_restart", l->nkept_restart));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_repairs", l->nrepairs));
  int64_t d5[1] = {5}, dn[2] = {n, 5}, dn1[1] = {n}, dnf[1] = {(int64_t)n * HFS_HT_NFITS};
  P(p, g, "exp");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d5, l->exp));
  HFS_CHECK(hfs_store_label_bands(f, p));
  P(p, g, "points/mu");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dn1, mu));
  P(p, g, "points/CLs_obs");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dn1, obs));
  P(p, g, "points/CLs_exp");
  HFS_CHECK(hfs_h5_write_double(f, p, 2, dn, exp));
  HFS_CHECK(hfs_store_label_bands(f, p));
  P(p, g, "points/q_obs");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dn1, qo));
  P(p, g, "points/q_asimov");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dn1, qa));
  P(p, g, "points/fits");
  HFS_CHECK(hfs_store_write_fit_summaries(f, p, dnf[0], fits));
  if (l->nscan > 0) {
    int64_t *idx = NULL;
    HFS_ALLOC(idx, l->nscan);
    for (int i = 0; i < l->nscan; ++i) idx[i] = l->scan_index[i];
    int64_t ds[1] = {l->nscan};
    P(p, g, "scan_index");
    rc = hfs_h5_write_int(f, p, 1, ds, idx);
    free(idx);
    if (rc) goto cleanup;
  }
cleanup:
  free(mu);
  free(obs);
  free(exp);
  free(qo);
  free(qa);
  free(fits);
  return rc;
}

int hfs_store_write_significance(hfs_h5 *f, const char *g, const hfs_significance *s) {
  int rc = HFS_OK;
  char p[512];
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_double(f, g, "q0", s->q0));
  HFS_CHECK(hfs_h5_attr_double(f, g, "p0", s->p0));
  HFS_CHECK(hfs_h5_attr_double(f, g, "Z", s->z));
  HFS_CHECK(hfs_h5_attr_double(f, g, "q0_asimov", s->q0_asimov));
  HFS_CHECK(hfs_h5_attr_double(f, g, "mu_hat", s->mu_hat));
  int64_t d[1] = {5};
  P(p, g, "p0_exp");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, s->p0_exp));
  HFS_CHECK(hfs_store_label_bands(f, p));
  P(p, g, "Z_exp");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, s->z_exp));
  HFS_CHECK(hfs_store_label_bands(f, p));
  P(p, g, "fits");
  HFS_CHECK(hfs_store_write_fit_summaries(f, p, HFS_HT_NFITS, s->fits));
cleanup:
  return rc;
}
