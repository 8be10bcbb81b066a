/* The published ATLAS likelihoods of ../shared/workspaces, read as
 * background-only workspace + signal patch:
 *  - sbottom multi-b: the asymptotic q~ hypotest at mu = 1 for pyhf's five
 *    regression points must give pyhf's CLs (tests/test_regression.py),
 *    with both optimizers;
 *  - 3L eRJR: a free fit of each of the 66 signal points converges with
 *    both optimizers, and the two agree. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_log.h"
#include "hfs_test.h"

static const char *shared;

/* The sbottom patches remove validation channels but keep their
 * observations, and the 3L measurement names a parameter (mu_BG) that no
 * modifier defines; pyhf ignores both, and so does hfscan, with a warning
 * that would only clutter the test's output. */
static void quiet(const char *line, void *ctx) {
  (void)line;
  (void)ctx;
}

typedef struct {
  const char *region, *point;
  double cls_obs;
  double cls_exp[5];
  double rtol_obs; /* pyhf's own relative tolerance on CLs_obs */
} sbottom_ref;

/* ../shared/workspaces/README.md, from pyhf's tests/test_regression.py
 * (normsys code4, histosys code4p, q~, asymptotics, mu = 1). */
static const sbottom_ref sbottom[] = {
    {"A",
     "sbottom_1300_205_60",
     0.24443627759085326,
     {0.09022509053507759, 0.1937839194960632, 0.38432344933992, 0.6557757334303531,
      0.8910420971601081},
     1e-5},
    {"A",
     "sbottom_1400_950_60",
     0.021373283911064852,
     {0.0026445531093281147, 0.013976126501170727, 0.06497105816950004, 0.23644030478043676,
      0.5744785776763938},
     1.5e-5},
    {"A",
     "sbottom_1500_850_60",
     0.045367205665400624,
     {0.00598431785676406, 0.026102240062850574, 0.10093641492218848, 0.31019245951964736,
      0.6553623337518385},
     1e-5},
    {"B",
     "sbottom_1400_550_60",
     0.9744675266677597,
     {0.9338879894557114, 0.9569045303300702, 0.9771296335437559, 0.9916370124133669,
      0.9983701133999316},
     1e-5},
    {"C",
     "sbottom_1600_850_60",
     0.711023707425625,
     {0.2955492909588046, 0.4446885457298284, 0.6371473864200973, 0.8336149623750603,
      0.9585901381554178},
     1e-5},
};

/* CLs_obs is held to pyhf's own relative tolerance (1e-5, 1.5e-5 for
 * A/1400_950_60), the expected band to 1e-4 absolute. */
#define CLS_EXP_ATOL 1e-4

typedef struct {
  hfs_spec *spec;
  hfs_model *model;
} loaded;

static void load(const char *ws, const char *patch, loaded *l) {
  const char *p = patch;
  memset(l, 0, sizeof *l);
  int rc = hfs_spec_read_file_patched(ws, &p, patch ? 1 : 0, &l->spec);
  if (!rc) rc = hfs_model_create(l->spec, NULL, NULL, &l->model);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void unload(loaded *l) {
  hfs_model_destroy(&l->model);
  hfs_spec_destroy(&l->spec);
}

static void sbottom_run(hfs_optimizer opt) {
  double worst_obs = 0, worst_exp = 0;
  for (size_t i = 0; i < sizeof sbottom / sizeof sbottom[0]; i++) {
    const sbottom_ref *r = &sbottom[i];
    char ws[4200], patch[4200];
    snprintf(ws, sizeof ws, "%s/workspaces/atlas_sbottom_multib_ins1748602/Region%s/BkgOnly.json",
             shared, r->region);
    snprintf(patch, sizeof patch,
             "%s/workspaces/atlas_sbottom_multib_ins1748602/Region%s/patch.%s.json.gz", shared,
             r->region, r->point);
    loaded l;
    load(ws, patch, &l);
    hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
    fo.optimizer = opt;
    hfs_infer *I = NULL;
    assert_int_equal(hfs_infer_create(l.model, &fo, NULL, NULL, &I), HFS_OK);
    hfs_hypotest h;
    int rc = hfs_infer_hypotest(I, HFS_TS_QTILDE, 1.0, &h);
    if (rc) print_error("%s: %s\n", r->point, hfs_error_message());
    assert_int_equal(rc, HFS_OK);
    double rel = fabs(h.cls_obs - r->cls_obs) / r->cls_obs;
    printf("  %-5s %s/%s: CLs_obs %.10f (pyhf %.10f, relative diff %.1e%s)\n",
           hfs_optimizer_name(opt), r->region, r->point, h.cls_obs, r->cls_obs, rel,
           rel <= r->rtol_obs ? "" : ", above pyhf's own tolerance");
    double dexp = 0;
    for (int e = 0; e < 5; e++) dexp = fmax(dexp, fabs(h.cls_exp[e] - r->cls_exp[e]));
    printf("        CLs_exp");
    for (int e = 0; e < 5; e++) printf(" %.8f", h.cls_exp[e]);
    printf("\n        pyhf   ");
    for (int e = 0; e < 5; e++) printf(" %.8f", r->cls_exp[e]);
    printf("  (largest |diff| %.1e)\n", dexp);
    for (int k = 0; k < HFS_HT_NFITS; k++)
      if (h.fits[k].status != HFS_FIT_CONVERGED)
        printf("        fit %s: %s\n", hfs_hypotest_fit_names[k],
               hfs_fit_status_name(h.fits[k].status));
    assert_close(h.cls_obs, r->cls_obs, r->rtol_obs * r->cls_obs);
    if (rel > worst_obs) worst_obs = rel;
    for (int e = 0; e < 5; e++) {
      assert_close(h.cls_exp[e], r->cls_exp[e], CLS_EXP_ATOL);
      double d = fabs(h.cls_exp[e] - r->cls_exp[e]);
      if (d > worst_exp) worst_exp = d;
    }
    hfs_infer_destroy(&I);
    unload(&l);
  }
  printf(
      "  %s: largest relative CLs_obs difference %.1e, largest absolute "
      "CLs_exp difference %.1e\n",
      hfs_optimizer_name(opt), worst_obs, worst_exp);
}

static void test_sbottom_tao(void **state) {
  (void)state;
  sbottom_run(HFS_OPT_TAO);
}

static void test_sbottom_nlopt(void **state) {
  (void)state;
  sbottom_run(HFS_OPT_NLOPT);
}

/* One free fit (with errors) of a model. */
static void fit(hfs_model *m, hfs_optimizer opt, hfs_fit_result *r) {
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  fo.optimizer = opt;
  hfs_fitter *f = NULL;
  assert_int_equal(hfs_fitter_create(m, &fo, &f), HFS_OK);
  assert_int_equal(hfs_fit_result_init(r, hfs_model_npar(m), 1), HFS_OK);
  assert_int_equal(hfs_fitter_minimize(f, NULL, NULL, NULL, NULL, 1, r), HFS_OK);
  hfs_fitter_destroy(&f);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All 66 signal points from their full workspaces, except ERJR_300p0_100p0,
 * whose full workspace does not follow the schema ("fixed": "true"); for it
 * BkgOnly + patch, which is what the authors meant (the two differ in that
 * flag only). */
static void test_ewk3l_fits(void **state) {
  (void)state;
  char dir[4200], bkg[4300], sdir[4300];
  snprintf(dir, sizeof dir, "%s/workspaces/atlas_ewk3l_erjr", shared);
  snprintf(bkg, sizeof bkg, "%s/BkgOnly.json", dir);
  snprintf(sdir, sizeof sdir, "%s/signal_workspaces", dir);
  DIR *d = opendir(sdir);
  assert_non_null(d);
  char *names[128];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 128)
    if (strstr(de->d_name, ".json.gz")) names[n++] = strdup(de->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);

  int converged[2] = {0, 0}, failed = 0;
  double max_dnll = 0, max_dmu = 0, max_dmu_rel = 0;
  double tsum[2] = {0, 0};
  int iters[2] = {0, 0};
  for (int i = 0; i < n; i++) {
    char path[4600], point[256];
    snprintf(point, sizeof point, "%.*s", (int)(strlen(names[i]) - 8), names[i]);
    loaded l;
    if (!strcmp(point, "ERJR_300p0_100p0")) {
      snprintf(path, sizeof path, "%s/patches/patch.%s.json.gz", dir, point);
      load(bkg, path, &l);
    } else {
      snprintf(path, sizeof path, "%s/%s", sdir, names[i]);
      load(path, NULL, &l);
    }
    int poi = hfs_model_poi(l.model);
    assert_string_equal(hfs_model_par_name(l.model, poi), "mu_SIG");
    hfs_fit_result r[2];
    fit(l.model, HFS_OPT_TAO, &r[0]);
    fit(l.model, HFS_OPT_NLOPT, &r[1]);
    int ok = 1;
    for (int k = 0; k < 2; k++) {
      tsum[k] += r[k].time_s;
      iters[k] += r[k].n_iter;
      if (r[k].status == HFS_FIT_CONVERGED) {
        converged[k]++;
      } else {
        ok = 0;
        printf("  %s %s: status %s (%s), twice_nll %.6f, grad %.2e\n", point, k ? "nlopt" : "tao",
               hfs_fit_status_name(r[k].status), r[k].reason, r[k].twice_nll, r[k].grad_norm);
      }
    }
    double dnll = fabs(r[0].twice_nll - r[1].twice_nll);
    double dmu = fabs(r[0].theta[poi] - r[1].theta[poi]);
    double err = r[0].error_hessian[poi];
    double tol_mu = fmax(1e-3, 0.01 * err);
    if (dnll > max_dnll) max_dnll = dnll;
    if (dmu > max_dmu) max_dmu = dmu;
    if (dmu / err > max_dmu_rel) max_dmu_rel = dmu / err;
    if (!ok || dnll > 1e-4 || dmu > tol_mu) {
      failed++;
      printf(
          "  %s: tao twice_nll %.8f mu_SIG %.6f +- %.6f; nlopt %.8f mu_SIG "
          "%.6f\n",
          point, r[0].twice_nll, r[0].theta[poi], err, r[1].twice_nll, r[1].theta[poi]);
    }
    hfs_fit_result_free(&r[0]);
    hfs_fit_result_free(&r[1]);
    unload(&l);
  }
  printf(
      "  ATLAS 3L eRJR: %d signal points; converged: TAO %d, NLopt %d; "
      "largest |twice_nll(TAO) - twice_nll(NLopt)| %.1e, largest "
      "|mu_SIG difference| %.1e (%.1e of its error); fit time TAO %.2f s "
      "(%d iterations), NLopt %.2f s (%d iterations)\n",
      n, converged[0], converged[1], max_dnll, max_dmu, max_dmu_rel, tsum[0], iters[0], tsum[1],
      iters[1]);
  for (int i = 0; i < n; i++) free(names[i]);
  assert_int_equal(n, 66);
  assert_int_equal(converged[0], n);
  assert_int_equal(converged[1], n);
  assert_int_equal(failed, 0);
}

int main(int argc, char **argv) {
  shared = hfs_test_shared_dir();
  if (!shared) return hfs_test_skip("published ATLAS likelihoods");
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  hfs_warn_set_sink(quiet, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sbottom_tao),
      cmocka_unit_test(test_sbottom_nlopt),
      cmocka_unit_test(test_ewk3l_fits),
  };
  int rc = cmocka_run_group_tests_name("infer_atlas", tests, NULL, NULL);
  hfs_fit_library_finalize();
  return rc;
}
