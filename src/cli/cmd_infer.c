/* hfscan hypotest, limit, significance (asymptotic; toys in cmd_toys.c). */
#include "cli.h"
#include "cli_guard.h"
#include "cli_json.h"
#include "hfs_error.h"
#include "hfs_store.h"
#include "hfs_core.h"

#include <stdlib.h>
#include <string.h>

int hfs_cli_toys_hypotest(hfs_cli_opts *o, hfs_cli_ctx *c);
int hfs_cli_toys_limit(hfs_cli_opts *o, hfs_cli_ctx *c);
int hfs_cli_toys_significance(hfs_cli_opts *o, hfs_cli_ctx *c);

json_t *hfs_cli_json_fits(const hfs_fit_summary *s, int n, const char *const *kinds) {
  json_t *a = json_array();
  for (int i = 0; i < n; ++i) {
    json_t *f = json_object();
    if (kinds) json_object_set_new(f, "kind", json_string(kinds[i]));
    json_object_set_new(f, "status", json_string(hfs_fit_status_name(s[i].status)));
    json_object_set_new(f, "twice_nll", hfs_cli_json_real(s[i].twice_nll));
    json_object_set_new(f, "poi", hfs_cli_json_real(s[i].poi));
    json_object_set_new(f, "n_iter", json_integer(s[i].n_iter));
    json_object_set_new(f, "n_eval", json_integer(s[i].n_eval));
    json_object_set_new(f, "time_s", json_real(s[i].time_s));
    json_object_set_new(f, "n_starts", json_integer(s[i].n_starts));
    json_object_set_new(f, "n_minima", json_integer(s[i].n_minima));
    json_object_set_new(f, "kept_start", json_integer(s[i].kept_start));
    json_object_set_new(f, "repaired", json_boolean(s[i].repaired));
    json_array_append_new(a, f);
  }
  return a;
}

static json_t *reals(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; ++i) json_array_append_new(a, hfs_cli_json_real(v[i]));
  return a;
}

static int count_failed(const hfs_fit_summary *s, int n) {
  int k = 0;
  for (int i = 0; i < n; ++i) k += s[i].status != HFS_FIT_CONVERGED;
  return k;
}

/* The global-minimum search over a set of fits: how many kept a restart's
 * minimum (the first fit had stopped in a local one) and how many free fits
 * were repaired from a conditional fit's solution. */
static void count_minima(const hfs_fit_summary *s, int n, int *kept, int *repaired) {
  for (int i = 0; i < n; ++i) {
    *kept += s[i].kept_start != 0;
    *repaired += s[i].repaired != 0;
  }
}

static void warn_minima(const char *what, int kept, int repaired) {
  if (kept)
    hfs_cli_error(
        "warning: %s: %d fit%s stopped first in a local minimum; the lowest minimum "
        "met is kept (see fits: kept_start, n_minima)",
        what, kept, kept > 1 ? "s" : "");
  if (repaired)
    hfs_cli_error(
        "warning: %s: %d free fit%s redone from a conditional fit that reached "
        "lower (see fits: repaired)",
        what, repaired, repaired > 1 ? "s were" : " was");
}

static void text_minima(const hfs_fit_summary *s, int n) {
  int starts = 0, minima = 0, kept = 0, repaired = 0;
  for (int i = 0; i < n; ++i) {
    starts += s[i].n_starts;
    minima = s[i].n_minima > minima ? s[i].n_minima : minima;
  }
  count_minima(s, n, &kept, &repaired);
  printf(
      "global minimum: %d fits from %d starts, at most %d distinct minima in one fit, %d kept "
      "a restart's, %d repaired\n",
      n, starts, minima, kept, repaired);
}

/* Parse, load and set up an inference context: shared by the commands. */
static int setup(const char *cmd, int argc, char **argv, hfs_cli_opts *o, hfs_cli_ctx *c,
                 hfs_infer **I, int *exit_code) {
  memset(c, 0, sizeof *c);
  *I = NULL;
  hfs_cli_opts_default(o);
  *exit_code = hfs_cli_parse(cmd, argc, argv, o);
  if (*exit_code != HFS_EXIT_OK) {
    if (*exit_code < 0) *exit_code = HFS_EXIT_OK;
    return -1;
  }
  int rc = hfs_cli_output_guard(o, 1);
  if (!rc) rc = hfs_cli_load(o, c);
  if (!rc) rc = hfs_infer_create(c->model, &o->fit, c->fixed, c->init, I);
  if (rc == HFS_ERR_NOMEM && c->model)
    rc = hfs_error_set(rc, "%s (model of %d parameters, %d bins)", hfs_error_message(),
                       hfs_model_npar(c->model), hfs_model_nbins(c->model));
  if (!rc) hfs_cli_apply_robust(o, *I);
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    *exit_code = HFS_EXIT_ERROR;
    return -1;
  }
  return 0;
}

static int write_file(const hfs_cli_opts *o, const hfs_cli_ctx *c, const char *cmd, double wall,
                      int (*body)(hfs_h5 *, const void *), const void *arg) {
  int rc = HFS_OK;
  hfs_h5 *h5 = NULL;
  hfs_run_info info = hfs_cli_run_info(cmd, o, c, wall);
  HFS_CHECK(hfs_h5_create(o->output, &h5));
  HFS_CHECK(hfs_store_write_run_info(h5, &info));
  HFS_CHECK(body(h5, arg));
  rc = hfs_h5_close(&h5);
cleanup:
  hfs_h5_discard(&h5);
  return rc;
}

static int body_hypotest(hfs_h5 *f, const void *a) {
  return hfs_store_write_hypotest(f, "/hypotest", a);
}
static int body_limit(hfs_h5 *f, const void *a) { return hfs_store_write_limit(f, "/limit", a); }
static int body_sig(hfs_h5 *f, const void *a) {
  return hfs_store_write_significance(f, "/significance", a);
}

int hfs_cmd_hypotest(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  hfs_infer *I;
  int exit_code, rc = HFS_OK;
  if (setup("hypotest", argc, argv, &o, &c, &I, &exit_code)) goto done;
  if (!o.have_mu) {
    hfs_cli_error("hypotest: --mu X is required");
    exit_code = HFS_EXIT_USAGE;
    goto done;
  }
  {
    /* As --fix: a tested value outside the POI's bounds has no fit. */
    int poi = hfs_model_poi(c.model);
    double lo = hfs_model_par_lo(c.model, poi), hi = hfs_model_par_hi(c.model, poi);
    if (!(o.mu >= lo && o.mu <= hi)) {
      if (hfs_cli_rank() == 0)
        hfs_cli_error("--mu %g: outside the bounds [%g, %g] of the POI %s", o.mu, lo, hi,
                      hfs_model_par_name(c.model, poi));
      exit_code = HFS_EXIT_USAGE;
      goto done;
    }
  }
  if (o.toys) {
    exit_code = hfs_cli_toys_hypotest(&o, &c);
    goto done;
  }
  if (hfs_cli_rank() != 0) goto done; /* asymptotics run on one rank */
  double t0 = hfs_now();
  hfs_hypotest h;
  HFS_CHECK(hfs_infer_hypotest(I, o.ts, o.mu, &h));
  if (o.json) {
    json_t *j = json_object();
    json_object_set_new(j, "mu", json_real(h.mu));
    json_object_set_new(j, "test_stat", json_string(hfs_teststat_name(h.ts)));
    json_object_set_new(j, "calculator", json_string("asymptotic"));
    json_object_set_new(j, "CLs_obs", hfs_cli_json_real(h.cls_obs));
    json_object_set_new(j, "CLsb_obs", hfs_cli_json_real(h.clsb_obs));
    json_object_set_new(j, "CLb_obs", hfs_cli_json_real(h.clb_obs));
    json_object_set_new(j, "CLs_exp", reals(h.cls_exp, 5));
    json_object_set_new(j, "q_obs", hfs_cli_json_real(h.q_obs));
    json_object_set_new(j, "q_asimov", hfs_cli_json_real(h.q_asimov));
    json_object_set_new(j, "mu_hat", hfs_cli_json_real(h.mu_hat));
    if (!o.brief)
      json_object_set_new(j, "fits",
                          hfs_cli_json_fits(h.fits, HFS_HT_NFITS, hfs_hypotest_fit_names));
    hfs_cli_print_json(j);
    json_decref(j);
  } else if (hfs_cli_show_result(&o)) {
    printf("hfscan hypotest: %s, %s = %g, test statistic %s (asymptotic)\n", o.workspace,
           hfs_model_par_name(c.model, hfs_model_poi(c.model)), h.mu, hfs_teststat_name(h.ts));
    printf("CLs  observed  %.6f   (CLs+b %.6f, CLb %.6f)\n", h.cls_obs, h.clsb_obs, h.clb_obs);
    printf("CLs  expected  -2s %.6f  -1s %.6f  median %.6f  +1s %.6f  +2s %.6f\n", h.cls_exp[0],
           h.cls_exp[1], h.cls_exp[2], h.cls_exp[3], h.cls_exp[4]);
    printf("q_obs %.6f  q_asimov %.6f  mu_hat %.6f\n", h.q_obs, h.q_asimov, h.mu_hat);
    text_minima(h.fits, HFS_HT_NFITS);
  }
  {
    int kept = 0, repaired = 0;
    count_minima(h.fits, HFS_HT_NFITS, &kept, &repaired);
    warn_minima("hypotest", kept, repaired);
  }
  if (o.output) HFS_CHECK(write_file(&o, &c, "hypotest", hfs_now() - t0, body_hypotest, &h));
  int nf = count_failed(h.fits, HFS_HT_NFITS);
  if (nf) hfs_cli_error("warning: %d of the test's fits did not converge (see fits)", nf);
  exit_code = nf ? HFS_EXIT_FIT_FAILED : HFS_EXIT_OK;
cleanup:
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    exit_code = HFS_EXIT_ERROR;
  }
done:
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}

int hfs_cli_limit(const hfs_cli_opts *o_, const hfs_cli_ctx *c_, hfs_infer *I) {
  const hfs_cli_opts o = *o_;
  const hfs_cli_ctx c = *c_;
  hfs_limit L;
  int exit_code, rc = HFS_OK;
  memset(&L, 0, sizeof L);
  double t0 = hfs_now();
  hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
  lo.cl = o.cl;
  lo.ts = o.ts;
  lo.nscan = o.nscan;
  lo.scan_lo = o.scan_lo;
  lo.scan_hi = o.scan_hi;
  lo.method = o.limit_method;
  HFS_CHECK(hfs_infer_limit(I, &lo, &L));
  double wall = hfs_now() - t0;
  if (o.json) {
    json_t *j = json_object();
    json_object_set_new(j, "cl", json_real(L.cl));
    json_object_set_new(j, "obs", hfs_cli_json_real(L.obs));
    json_object_set_new(j, "exp", reals(L.exp, 5));
    json_object_set_new(j, "test_stat", json_string(hfs_teststat_name(o.ts)));
    json_object_set_new(j, "calculator", json_string("asymptotic"));
    json_t *scan = json_array();
    for (int i = 0; i < L.nscan; ++i) {
      const hfs_hypotest *h = &L.points[L.scan_index[i]];
      json_t *p = json_object();
      json_object_set_new(p, "mu", json_real(h->mu));
      json_object_set_new(p, "CLs_obs", hfs_cli_json_real(h->cls_obs));
      json_object_set_new(p, "CLs_exp", reals(h->cls_exp, 5));
      json_array_append_new(scan, p);
    }
    if (o.brief)
      json_decref(scan); /* --brief: the limit, not its grid */
    else
      json_object_set_new(j, "scan", scan);
    json_object_set_new(j, "n_points", json_integer(L.npoints));
    json_object_set_new(j, "n_failed_fits", json_integer(L.nfailed_fits));
    json_object_set_new(j, "n_kept_restart", json_integer(L.nkept_restart));
    json_object_set_new(j, "n_repairs", json_integer(L.nrepairs));
    json_object_set_new(j, "time_s", json_real(wall));
    hfs_cli_print_json(j);
    json_decref(j);
  } else if (hfs_cli_show_result(&o)) {
    const char *poi = hfs_model_par_name(c.model, hfs_model_poi(c.model));
    char cl[32];
    printf("hfscan limit: %s, %s upper limit on %s (CLs, %s, asymptotic)\n", o.workspace,
           hfs_cli_cl_label(L.cl, cl, sizeof cl), poi, hfs_teststat_name(o.ts));
    printf("observed   %.5f\n", L.obs);
    printf("expected   -2s %.5f  -1s %.5f  median %.5f  +1s %.5f  +2s %.5f\n", L.exp[0], L.exp[1],
           L.exp[2], L.exp[3], L.exp[4]);
    printf(
        "%d hypothesis tests, %.1f ms; global minimum: %d fits kept a restart's minimum, "
        "%d free fits repaired\n",
        L.npoints, 1e3 * wall, L.nkept_restart, L.nrepairs);
    if (L.nscan && !o.brief) {
      printf("%10s %10s %10s %10s %10s %10s %10s\n", poi, "CLs_obs", "-2s", "-1s", "median", "+1s",
             "+2s");
      for (int i = 0; i < L.nscan; ++i) {
        const hfs_hypotest *h = &L.points[L.scan_index[i]];
        printf("%10.4f %10.6f %10.6f %10.6f %10.6f %10.6f %10.6f\n", h->mu, h->cls_obs,
               h->cls_exp[0], h->cls_exp[1], h->cls_exp[2], h->cls_exp[3], h->cls_exp[4]);
      }
    }
  }
  warn_minima("limit", L.nkept_restart, L.nrepairs);
  if (o.output) HFS_CHECK(write_file(&o, &c, "limit", wall, body_limit, &L));
  if (L.nfailed_fits)
    hfs_cli_error("warning: %d fits of the limit scan did not converge (see the output)",
                  L.nfailed_fits);
  exit_code = L.nfailed_fits ? HFS_EXIT_FIT_FAILED : HFS_EXIT_OK;
cleanup:
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    exit_code = HFS_EXIT_ERROR;
  }
  hfs_limit_free(&L);
  return exit_code;
}

int hfs_cmd_limit(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  hfs_infer *I;
  int exit_code;
  if (setup("limit", argc, argv, &o, &c, &I, &exit_code)) goto done;
  if (o.toys)
    exit_code = hfs_cli_toys_limit(&o, &c);
  else if (hfs_cli_rank() == 0)
    exit_code = hfs_cli_limit(&o, &c, I); /* asymptotics: one rank */
done:
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}

int hfs_cli_significance(const hfs_cli_opts *o_, const hfs_cli_ctx *c_, hfs_infer *I) {
  const hfs_cli_opts o = *o_;
  const hfs_cli_ctx c = *c_;
  int exit_code, rc = HFS_OK;
  (void)c;
  double t0 = hfs_now();
  hfs_significance s;
  HFS_CHECK(hfs_infer_significance(I, &s));
  if (o.json) {
    json_t *j = json_object();
    json_object_set_new(j, "q0", hfs_cli_json_real(s.q0));
    json_object_set_new(j, "p0", hfs_cli_json_real(s.p0));
    json_object_set_new(j, "Z", hfs_cli_json_real(s.z));
    json_object_set_new(j, "q0_asimov", hfs_cli_json_real(s.q0_asimov));
    json_object_set_new(j, "p0_exp", reals(s.p0_exp, 5));
    json_object_set_new(j, "Z_exp", reals(s.z_exp, 5));
    json_object_set_new(j, "mu_hat", hfs_cli_json_real(s.mu_hat));
    if (!o.brief)
      json_object_set_new(j, "fits",
                          hfs_cli_json_fits(s.fits, HFS_HT_NFITS, hfs_hypotest_fit_names));
    hfs_cli_print_json(j);
    json_decref(j);
  } else if (hfs_cli_show_result(&o)) {
    printf("hfscan significance: %s (discovery test q0, asymptotic)\n", o.workspace);
    printf("observed   p0 = %.4e   Z = %.4f sigma   (q0 = %.4f, mu_hat = %.4f)\n", s.p0, s.z, s.q0,
           s.mu_hat);
    printf("expected   p0 = %.4e   Z = %.4f sigma   (median, signal at mu = 1)\n", s.p0_exp[2],
           s.z_exp[2]);
  }
  if (o.output) HFS_CHECK(write_file(&o, &c, "significance", hfs_now() - t0, body_sig, &s));
  int nf = count_failed(s.fits, HFS_HT_NFITS);
  exit_code = nf ? HFS_EXIT_FIT_FAILED : HFS_EXIT_OK;
cleanup:
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    exit_code = HFS_EXIT_ERROR;
  }
  return exit_code;
}

int hfs_cmd_significance(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  hfs_infer *I;
  int exit_code;
  if (setup("significance", argc, argv, &o, &c, &I, &exit_code)) goto done;
  if (o.toys)
    exit_code = hfs_cli_toys_significance(&o, &c);
  else if (hfs_cli_rank() == 0)
    exit_code = hfs_cli_significance(&o, &c, I);
done:
  hfs_infer_destroy(&I);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}
