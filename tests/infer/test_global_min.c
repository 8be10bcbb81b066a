/* The global minimum (issue 17).  val_2bin_2channel_coupledhistosys has two
 * minima in coupled_histosys: with the default interpolation codes (normsys
 * 4, histosys 4p) and with pyhf's validation codes (normsys 1, histosys 0).
 * For both, every backend (Newton, TAO, NLopt) and the test statistics q
 * and qtilde at mu = 1,
 * every fit of the hypothesis test must reach the global minimum found here
 * independently: a scan of coupled_histosys on a 0.01 grid over [-3, 3]
 * with the other parameters profiled (each point a fit with the parameter
 * held), refined by golden-section search around the best grid point.  q,
 * q_Asimov and CLs are recomputed from those minima and must agree to 1e-6.
 *
 * A repair (the free fit redone from a lower conditional solution) is
 * exercised on the same likelihood started in the higher basin.
 *
 * The search must change nothing elsewhere: every other reference
 * workspace and the Belle II likelihood give the same twice_nll (free fit
 * and the four fits of a hypotest at mu = 1) and CLs, to 1e-8, with and
 * without it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_test.h"

typedef struct {
  hfs_spec *spec;
  hfs_model *m;
  hfs_fitter *f;
  hfs_fit_result r;
  int npar, alpha, poi;
  int *fixed;
  double *init;
} profiler;

static int load(const char *path, int ncode, int hcode, hfs_spec **spec, hfs_model **m) {
  hfs_model_options mo = {ncode, hcode};
  int rc = hfs_spec_read_file(path, spec);
  if (!rc) rc = hfs_model_create(*spec, NULL, &mo, m);
  if (rc) print_error("%s: %s\n", path, hfs_error_message());
  return rc;
}

/* min over the other free parameters of twice_nll with alpha held at a
 * (and the POI held at mu unless mu is NaN). */
static double profile_at(profiler *P, const double *main, const double *aux, double a, double mu) {
  memcpy(P->fixed, P->fixed + P->npar, sizeof(int) * (size_t)P->npar);
  hfs_model_init(P->m, P->init);
  P->fixed[P->alpha] = 1;
  P->init[P->alpha] = a;
  if (!isnan(mu)) {
    P->fixed[P->poi] = 1;
    P->init[P->poi] = mu;
  }
  assert_int_equal(hfs_fitter_minimize(P->f, main, aux, P->init, P->fixed, 0, &P->r), HFS_OK);
  return P->r.status == HFS_FIT_CONVERGED ? P->r.twice_nll : INFINITY;
}

/* Global minimum over alpha (and the rest); theta (npar) gets its point. */
static double global_min(profiler *P, const double *main, const double *aux, double mu,
                         double *theta) {
  double best = INFINITY, ab = 0;
  for (int k = -300; k <= 300; k++) {
    double v = profile_at(P, main, aux, 0.01 * k, mu);
    if (v < best) {
      best = v;
      ab = 0.01 * k;
    }
  }
  /* golden section on [ab - 0.01, ab + 0.01]: one minimum there */
  const double g = 0.5 * (sqrt(5.0) - 1.0);
  double lo = ab - 0.01, hi = ab + 0.01;
  double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
  double f1 = profile_at(P, main, aux, x1, mu), f2 = profile_at(P, main, aux, x2, mu);
  while (hi - lo > 1e-9) {
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = profile_at(P, main, aux, x1, mu);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = profile_at(P, main, aux, x2, mu);
    }
  }
  double v = profile_at(P, main, aux, 0.5 * (lo + hi), mu);
  if (theta) memcpy(theta, P->r.theta, sizeof(double) * (size_t)P->npar);
  return v < best ? v : best;
}

static double ts_value(hfs_teststat ts, double mu, double mu_hat, double nf, double nc) {
  double t = nc - nf;
  if (!(t > 0)) t = 0;
  return mu_hat > mu && (ts == HFS_TS_Q || ts == HFS_TS_QTILDE) ? 0 : t;
}

/* Returns the repairs made (free fits redone from a lower conditional
 * solution) and, in *free_repaired, whether the free fit to the data is
 * one. */
static int check_case(const char *path, int ncode, int hcode, hfs_optimizer opt, hfs_teststat ts,
                      double mu, int *free_repaired) {
  profiler P;
  memset(&P, 0, sizeof P);
  assert_int_equal(load(path, ncode, hcode, &P.spec, &P.m), HFS_OK);
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  fo.optimizer = opt;
  assert_int_equal(hfs_fitter_create(P.m, &fo, &P.f), HFS_OK);
  P.npar = hfs_model_npar(P.m);
  P.poi = hfs_model_poi(P.m);
  P.alpha = hfs_model_par_find(P.m, "coupled_histosys");
  assert_true(P.alpha >= 0);
  assert_int_equal(hfs_fit_result_init(&P.r, P.npar, 0), HFS_OK);
  P.fixed = calloc(2 * (size_t)P.npar, sizeof *P.fixed);
  P.init = calloc((size_t)P.npar, sizeof *P.init);
  double *theta = calloc((size_t)P.npar, sizeof *theta);
  double *main_a = calloc((size_t)hfs_model_nbins(P.m), sizeof *main_a);
  double *aux_a = calloc((size_t)hfs_model_naux(P.m) + 1, sizeof *aux_a);
  assert_true(P.fixed && P.init && theta && main_a && aux_a);
  for (int i = 0; i < P.npar; i++) P.fixed[P.npar + i] = hfs_model_par_fixed(P.m, i);

  /* The independent global minima of the four fits and the Asimov set. */
  double nf = global_min(&P, NULL, NULL, NAN, theta), mu_hat = theta[P.poi];
  double nc = global_min(&P, NULL, NULL, mu, NULL);
  double ng = global_min(&P, NULL, NULL, 0.0, theta);
  hfs_model_expected(P.m, theta, main_a, aux_a);
  double nfa = global_min(&P, main_a, aux_a, NAN, theta), mu_hat_a = theta[P.poi];
  double nca = global_min(&P, main_a, aux_a, mu, NULL);
  double q = ts_value(ts, mu, mu_hat, nf, nc), qa = ts_value(ts, mu, mu_hat_a, nfa, nca);
  double clsb, clb, cls;
  hfs_asymptotic_pvalues(ts, q, qa, &clsb, &clb, &cls);

  hfs_infer *I = NULL;
  assert_int_equal(hfs_infer_create(P.m, &fo, NULL, NULL, &I), HFS_OK);
  hfs_hypotest h;
  assert_int_equal(hfs_infer_hypotest(I, ts, mu, &h), HFS_OK);
  printf("  codes %d/%d %s %s: scan  nll %.8f %.8f %.8f %.8f %.8f q %.8f qa %.8f CLs %.8f\n", ncode,
         hcode, hfs_optimizer_name(opt), hfs_teststat_name(ts), nf, nc, ng, nfa, nca, q, qa, cls);
  printf("  %*s hfscan nll %.8f %.8f %.8f %.8f %.8f q %.8f qa %.8f CLs %.8f (repairs %d)\n",
         (int)strlen(hfs_optimizer_name(opt)) + (int)strlen(hfs_teststat_name(ts)) + 10, "",
         h.fits[0].twice_nll, h.fits[1].twice_nll, h.fits[2].twice_nll, h.fits[3].twice_nll,
         h.fits[4].twice_nll, h.q_obs, h.q_asimov, h.cls_obs, hfs_infer_nrepairs(I));
  const double want[HFS_HT_NFITS] = {nf, nc, ng, nfa, nca};
  for (int k = 0; k < HFS_HT_NFITS; k++) {
    assert_int_equal(h.fits[k].status, HFS_FIT_CONVERGED);
    /* never above the independent minimum, and at it */
    assert_close(h.fits[k].twice_nll, want[k], 1e-6);
  }
  assert_close(h.q_obs, q, 1e-6);
  assert_close(h.q_asimov, qa, 1e-6);
  assert_close(h.cls_obs, cls, 1e-6);
  assert_true(h.q_obs >= 0 && h.q_asimov >= 0);
  int nrep = hfs_infer_nrepairs(I);
  if (free_repaired) *free_repaired = h.fits[HFS_HT_FREE_DATA].repaired;
  hfs_infer_destroy(&I);
  free(P.fixed);
  free(P.init);
  free(theta);
  free(main_a);
  free(aux_a);
  hfs_fit_result_free(&P.r);
  hfs_fitter_destroy(&P.f);
  hfs_model_destroy(&P.m);
  hfs_spec_destroy(&P.spec);
  return nrep;
}

static char coupled[2048];

static void test_two_minima(void **state) {
  (void)state;
  const hfs_optimizer opts[3] = {HFS_OPT_NEWTON, HFS_OPT_TAO, HFS_OPT_NLOPT};
  const hfs_teststat tss[2] = {HFS_TS_Q, HFS_TS_QTILDE};
  for (int o = 0; o < 3; o++)
    for (int t = 0; t < 2; t++) {
      check_case(coupled, 4, 4, opts[o], tss[t], 1.0, NULL);
      check_case(coupled, 1, 0, opts[o], tss[t], 1.0, NULL);
    }
}

/* A repair (issue 17): the same likelihood with coupled_histosys started at
 * -0.5 (tests/data/coupledhistosys_start_high.json), in the basin of the
 * higher minimum.  The free fit stays there (twice_nll 30.80: no restart
 * candidate of its search leaves the basin), while the conditional fit at
 * mu = 0.3, also tried from the initial values with the POI held, reaches
 * the lower basin below it; the free fit is then redone from the
 * conditional solution.  Every fit must still reach the independent global
 * minimum, so t_mu = 0.136 instead of a clipped negative difference. */
static char start_high[2048];

static void test_repair(void **state) {
  (void)state;
  const hfs_optimizer opts[3] = {HFS_OPT_NEWTON, HFS_OPT_TAO, HFS_OPT_NLOPT};
  /* t_mu is not clipped at mu-hat > mu: it shows the repaired value
   * (0.136, against a negative difference with the unrepaired free fit);
   * qtilde is 0 there, as it must be */
  const hfs_teststat tss[2] = {HFS_TS_TMU, HFS_TS_QTILDE};
  for (int o = 0; o < 3; o++)
    for (int t = 0; t < 2; t++) {
      int free_repaired = 0;
      int n = check_case(start_high, 4, 4, opts[o], tss[t], 0.3, &free_repaired);
      printf("  %s %s: %d repair%s\n", hfs_optimizer_name(opts[o]), hfs_teststat_name(tss[t]), n,
             n == 1 ? "" : "s");
      assert_true(n >= 1);
      assert_true(free_repaired);
    }
}

/* The restart candidates: coupled_histosys, and no parameter of a model
 * whose rates are monotonic and smooth in every nuisance parameter. */
static void test_candidates(void **state) {
  (void)state;
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  hfs_fitter *f = NULL;
  hfs_multistart *ms = NULL;
  assert_int_equal(load(coupled, 4, 4, &spec, &m), HFS_OK);
  assert_int_equal(hfs_fitter_create(m, NULL, &f), HFS_OK);
  assert_int_equal(hfs_multistart_create(m, f, &ms), HFS_OK);
  assert_int_equal(hfs_multistart_nflagged(ms), 1);
  assert_string_equal(hfs_model_par_name(m, hfs_multistart_flagged(ms, 0)), "coupled_histosys");
  assert_int_equal(hfs_multistart_flagged(ms, 1), -1);
  hfs_multistart_destroy(&ms);
  hfs_fitter_destroy(&f);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
}

/* A rate that moves the same way for alpha = +1 and -1 is a candidate only
 * when it bends enough to matter (sum over such bins of |dp + dm| /
 * sqrt(nu) >= 0.1, src/fit/multistart.c): one bin of 100 events, four
 * normsys, each on both sides upwards: (0.1 + 0.05) / 10 = 0.015 and
 * (0.6 + 0.3) / 10 = 0.09 stay out, (0.8 + 0.3) / 10 = 0.11 and
 * (5 + 3) / 10 = 0.8 are in; an ordinary normsys (1.05 / 0.95) never. */
static void test_bend_threshold(void **state) {
  (void)state;
  const char *ws =
      "{\"channels\": [{\"name\": \"c\", \"samples\": ["
      "{\"name\": \"s\", \"data\": [5.0], \"modifiers\": [{\"name\": \"mu\", "
      "\"type\": \"normfactor\", \"data\": null}]},"
      "{\"name\": \"b\", \"data\": [100.0], \"modifiers\": ["
      "{\"name\": \"tiny\", \"type\": \"normsys\", \"data\": {\"hi\": 1.001, \"lo\": 1.0005}},"
      "{\"name\": \"below\", \"type\": \"normsys\", \"data\": {\"hi\": 1.006, \"lo\": 1.003}},"
      "{\"name\": \"above\", \"type\": \"normsys\", \"data\": {\"hi\": 1.008, \"lo\": 1.003}},"
      "{\"name\": \"large\", \"type\": \"normsys\", \"data\": {\"hi\": 1.05, \"lo\": 1.03}},"
      "{\"name\": \"plain\", \"type\": \"normsys\", \"data\": {\"hi\": 1.05, \"lo\": 0.95}}"
      "]}]}],"
      "\"observations\": [{\"name\": \"c\", \"data\": [104.0]}],"
      "\"measurements\": [{\"name\": \"m\", \"config\": {\"poi\": \"mu\", \"parameters\": []}}],"
      "\"version\": \"1.0.0\"}";
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  hfs_fitter *f = NULL;
  hfs_multistart *ms = NULL;
  assert_int_equal(hfs_spec_read_buffer(ws, strlen(ws), "bend.json", &spec), HFS_OK);
  assert_int_equal(hfs_model_create(spec, NULL, NULL, &m), HFS_OK);
  assert_int_equal(hfs_fitter_create(m, NULL, &f), HFS_OK);
  assert_int_equal(hfs_multistart_create(m, f, &ms), HFS_OK);
  for (int k = 0; k < hfs_multistart_nflagged(ms); k++)
    printf("  candidate %s\n", hfs_model_par_name(m, hfs_multistart_flagged(ms, k)));
  assert_int_equal(hfs_multistart_nflagged(ms), 2);
  const char *a = hfs_model_par_name(m, hfs_multistart_flagged(ms, 0));
  const char *b = hfs_model_par_name(m, hfs_multistart_flagged(ms, 1));
  assert_true((!strcmp(a, "above") && !strcmp(b, "large")) ||
              (!strcmp(a, "large") && !strcmp(b, "above")));
  hfs_multistart_destroy(&ms);
  hfs_fitter_destroy(&f);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
}

/* With and without the search: the same numbers to 1e-8. */
static int n_changed;
static void compare_one(const char *path) {
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  if (load(path, 4, 4, &spec, &m)) {
    n_changed++;
    return;
  }
  hfs_infer *on = NULL, *off = NULL;
  assert_int_equal(hfs_infer_create(m, NULL, NULL, NULL, &on), HFS_OK);
  assert_int_equal(hfs_infer_create(m, NULL, NULL, NULL, &off), HFS_OK);
  hfs_infer_set_robust(off, 0, 0);
  hfs_hypotest a, b;
  int ra = hfs_infer_hypotest(on, HFS_TS_QTILDE, 1.0, &a);
  int rb = hfs_infer_hypotest(off, HFS_TS_QTILDE, 1.0, &b);
  double worst = 0;
  int restarts = 0;
  if (ra == HFS_OK && rb == HFS_OK) {
    for (int k = 0; k < HFS_HT_NFITS; k++) {
      worst = fmax(worst, fabs(a.fits[k].twice_nll - b.fits[k].twice_nll));
      restarts += a.fits[k].n_starts - 1;
    }
    worst = fmax(worst, fabs(a.cls_obs - b.cls_obs));
  }
  int nflag = 0;
  {
    hfs_fitter *f = NULL;
    hfs_multistart *ms = NULL;
    if (hfs_fitter_create(m, NULL, &f) == HFS_OK && hfs_multistart_create(m, f, &ms) == HFS_OK)
      nflag = hfs_multistart_nflagged(ms);
    hfs_multistart_destroy(&ms);
    hfs_fitter_destroy(&f);
  }
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  printf("  %-44s %3d candidates, %2d restarts, largest change %.2g%s\n", base, nflag, restarts,
         worst, ra || rb ? " (hypotest failed both ways)" : "");
  if (ra != rb || !(worst <= 1e-8)) n_changed++;
  hfs_infer_destroy(&on);
  hfs_infer_destroy(&off);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
}

static void test_others_unchanged(void **state) {
  (void)state;
  char dir[2048], path[4096];
  snprintf(dir, sizeof dir, "%s/reference", hfs_test_shared_dir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  n_changed = 0;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 5, ".json") || strstr(e->d_name, ".ref.json") ||
        strstr(e->d_name, ".impacts.json") || strstr(e->d_name, "coupledhistosys"))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    compare_one(path);
  }
  closedir(d);
  snprintf(path, sizeof path, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json",
           hfs_test_shared_dir());
  compare_one(path);
  assert_int_equal(n_changed, 0);
}

int main(void) {
  if (!hfs_test_shared_dir()) return hfs_test_skip("reference workspaces");
  snprintf(coupled, sizeof coupled, "%s/reference/val_2bin_2channel_coupledhistosys.json",
           hfs_test_shared_dir());
  snprintf(start_high, sizeof start_high, "%s/coupledhistosys_start_high.json", HFS_TEST_DATA);
  if (hfs_fit_library_init(NULL, NULL) != HFS_OK) {
    fprintf(stderr, "%s\n", hfs_error_message());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_candidates),       cmocka_unit_test(test_bend_threshold),
      cmocka_unit_test(test_two_minima),       cmocka_unit_test(test_repair),
      cmocka_unit_test(test_others_unchanged),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
