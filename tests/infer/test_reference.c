/* Asymptotic hypothesis tests, discovery significance and upper limits
 * against pyhf's numbers for every reference workspace (and the validation
 * settings of pyhf's own tests, some of which once came from ROOT), with both
 * optimizer backends; and the published Belle II likelihood. */
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_test.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(json_t *j) { return json_is_null(j) || !j ? NAN : json_number_value(j); }

/* 1e-4 absolute, and 1e-3 relative when below 1e-3 (reference README). */
static void assert_p(double a, double b, const char *what, const char *name) {
  double tol = fabs(b) < 1e-3 ? fmax(1e-3 * fabs(b), 1e-9) : 1e-4;
  if (!(fabs(a - b) <= tol)) print_error("%s: %s\n", name, what);
  assert_close(a, b, tol);
}

typedef struct {
  hfs_spec *spec;
  hfs_model *m;
  hfs_infer *I;
} ctx;

static void open_case(ctx *c, const char *path, int ncode, int hcode, hfs_optimizer opt) {
  hfs_model_options mo = {ncode, hcode};
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  fo.optimizer = opt;
  int rc = hfs_spec_read_file(path, &c->spec);
  if (!rc) rc = hfs_model_create(c->spec, NULL, &mo, &c->m);
  if (!rc) rc = hfs_infer_create(c->m, &fo, NULL, NULL, &c->I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void close_case(ctx *c) {
  hfs_infer_destroy(&c->I);
  hfs_model_destroy(&c->m);
  hfs_spec_destroy(&c->spec);
}

static void check_case(const char *dir, const char *name, hfs_optimizer opt) {
  char wsp[1400], refp[1400];
  snprintf(wsp, sizeof wsp, "%s/%s.json", dir, name);
  snprintf(refp, sizeof refp, "%s/%s.ref.json", dir, name);
  json_error_t jerr;
  json_t *ref = json_load_file(refp, 0, &jerr);
  assert_non_null(ref);
  ctx c;
  open_case(&c, wsp, 4, 4, opt);
  /* This likelihood has two minima in the histosys parameter and pyhf's
   * fits stop in the higher one (twice_nll 30.8004 against 29.3311 at
   * alpha = 0.414, tests/fit); its CLs values rest on that local minimum, so
   * here the test asserts only that hfscan's minimum is at least as low. */
  if (!strcmp(name, "val_2bin_2channel_coupledhistosys")) {
    hfs_fit_result fr;
    assert_int_equal(hfs_fit_result_init(&fr, hfs_model_npar(c.m), 0), HFS_OK);
    assert_int_equal(hfs_infer_fit_free(c.I, NULL, NULL, NULL, &fr), HFS_OK);
    double ref_min = num(json_object_get(json_object_get(ref, "mle_minuit_precise"), "twice_nll"));
    assert_true(fr.twice_nll <= ref_min + 1e-6);
    printf("  %s: free fit %.6f (pyhf %.6f); CLs not compared (pyhf's local minimum)\n", name,
           fr.twice_nll, ref_min);
    hfs_fit_result_free(&fr);
    close_case(&c);
    json_decref(ref);
    return;
  }
  const char *mus[] = {"mu=1", "mu=0.5", "mu=2"};
  json_t *hts = json_object_get(ref, "hypotest");
  for (int k = 0; k < 3; ++k) {
    json_t *h = json_object_get(hts, mus[k]);
    if (!h || json_object_get(h, "error")) continue;
    hfs_hypotest r;
    assert_int_equal(hfs_infer_hypotest(c.I, HFS_TS_QTILDE, num(json_object_get(h, "poi")), &r),
                     HFS_OK);
    char what[128];
    snprintf(what, sizeof what, "%s CLs_obs", mus[k]);
    assert_p(r.cls_obs, num(json_object_get(h, "CLs_obs")), what, name);
    assert_p(r.clsb_obs, num(json_object_get(h, "CLsb_obs")), what, name);
    assert_p(r.clb_obs, num(json_object_get(h, "CLb_obs")), what, name);
    for (int e = 0; e < 5; ++e) {
      snprintf(what, sizeof what, "%s CLs_exp[%d]", mus[k], e);
      assert_p(r.cls_exp[e], num(json_array_get(json_object_get(h, "CLs_exp"), e)), what, name);
    }
    double qo = num(json_object_get(h, "q_obs")), qa = num(json_object_get(h, "q_asimov"));
    assert_close(r.q_obs, qo, fmax(1e-5, 1e-4 * fabs(qo)));
    assert_close(r.q_asimov, qa, fmax(1e-5, 1e-4 * fabs(qa)));
  }
  json_t *d = json_object_get(ref, "discovery");
  if (d && !json_object_get(d, "error")) {
    hfs_significance s;
    assert_int_equal(hfs_infer_significance(c.I, &s), HFS_OK);
    /* Z within 1e-3 (the tolerance), and p0 within what that
     * allows: with mu-hat on its bound (val_1bin_lumi) pyhf's q0 = 1.6e-7
     * is its optimizer's noise and moves p0 by 1.6e-4 while Z moves 4e-4. */
    double zr = num(json_object_get(d, "Z_obs"));
    assert_close(s.z, zr, 1e-3);
    double p0r = num(json_object_get(d, "p0_obs"));
    double p0tol = fmax(1e-3 * exp(-0.5 * zr * zr) / sqrt(2 * M_PI), 1e-4);
    if (p0r < 1e-3) p0tol = fmax(1e-3 * p0r, 1e-12);
    if (fabs(s.p0 - p0r) > p0tol) print_error("%s: p0\n", name);
    assert_close(s.p0, p0r, p0tol);
    for (int e = 0; e < 5; ++e) {
      assert_p(s.p0_exp[e], num(json_array_get(json_object_get(d, "p0_exp"), e)), "p0_exp", name);
      assert_close(s.z_exp[e], num(json_array_get(json_object_get(d, "Z_exp"), e)), 1e-3);
    }
  }
  const char *cls[] = {"cl=0.95", "cl=0.9"};
  for (int k = 0; k < 2; ++k) {
    json_t *u = json_object_get(json_object_get(ref, "upper_limits"), cls[k]);
    if (!u || json_object_get(u, "error")) continue;
    hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
    lo.cl = num(json_object_get(u, "cl"));
    hfs_limit L;
    int rc = hfs_infer_limit(c.I, &lo, &L);
    if (rc) print_error("%s %s: %s\n", name, cls[k], hfs_error_message());
    assert_int_equal(rc, HFS_OK);
    /* pyhf's own root finder stops at rtol 1e-4; the issue allows 0.5% */
    double o = num(json_object_get(u, "obs"));
    if (fabs(L.obs - o) > 1e-3 * fabs(o)) print_error("%s %s obs\n", name, cls[k]);
    assert_close(L.obs, o, 1e-3 * fabs(o));
    for (int e = 0; e < 5; ++e) {
      double x = num(json_array_get(json_object_get(u, "exp"), e));
      if (fabs(L.exp[e] - x) > 1e-3 * fabs(x)) print_error("%s %s exp[%d]\n", name, cls[k], e);
      assert_close(L.exp[e], x, 1e-3 * fabs(x));
    }
    hfs_limit_free(&L);
  }
  close_case(&c);

  /* pyhf's validation settings: normsys code1, histosys code0, q or q0 */
  json_t *v = json_object_get(ref, "validation");
  if (v) {
    json_t *st = json_object_get(v, "settings");
    const char *ts = json_string_value(json_object_get(st, "test_stat"));
    int code1 = strstr(json_string_value(json_object_get(
                           json_object_get(json_object_get(st, "modifier_settings"), "normsys"),
                           "interpcode")),
                       "code1") != NULL;
    open_case(&c, wsp, code1 ? 1 : 4, code1 ? 0 : 4, opt);
    double mu = num(json_object_get(st, "poi_test"));
    if (!strcmp(ts, "q0")) {
      hfs_significance s;
      assert_int_equal(hfs_infer_significance(c.I, &s), HFS_OK);
      assert_p(s.p0, num(json_object_get(v, "pyhf_this_run_p0_obs")), "val p0", name);
      for (int e = 0; e < 5; ++e)
        assert_p(s.p0_exp[e], num(json_array_get(json_object_get(v, "pyhf_this_run_p0_exp"), e)),
                 "val p0_exp", name);
    } else {
      hfs_teststat t;
      assert_int_equal(hfs_teststat_from_name(ts, &t), HFS_OK);
      hfs_hypotest r;
      assert_int_equal(hfs_infer_hypotest(c.I, t, mu, &r), HFS_OK);
      assert_p(r.cls_obs, num(json_object_get(v, "pyhf_this_run_CLs_obs")), "val CLs", name);
      for (int e = 0; e < 5; ++e)
        assert_p(r.cls_exp[e], num(json_array_get(json_object_get(v, "pyhf_this_run_CLs_exp"), e)),
                 "val CLs_exp", name);
      json_t *root = json_object_get(v, "root_CLs_obs");
      if (root) {
        assert_p(r.cls_obs, num(root), "ROOT CLs", name);
        for (int e = 0; e < 5; ++e)
          assert_p(r.cls_exp[e], num(json_array_get(json_object_get(v, "root_CLs_exp"), e)),
                   "ROOT CLs_exp", name);
      }
    }
    close_case(&c);
  }
  json_decref(ref);
}

static void run_all(const char *shared, hfs_optimizer opt) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/reference", shared);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 9 || strcmp(e->d_name + l - 9, ".ref.json") != 0) continue;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(l - 9), e->d_name);
    check_case(dir, name, opt);
    ++count;
  }
  closedir(d);
  assert_true(count >= 25);
}

static void test_reference_tao(void **state) { run_all(*state, HFS_OPT_TAO); }
static void test_reference_nlopt(void **state) { run_all(*state, HFS_OPT_NLOPT); }

/* Published Belle II likelihood: pyhf's numbers from
 * ../shared/workspaces/README.md and the issue. */
static void test_belle2(void **state) {
  const char *shared = *state;
  char p[1024];
  snprintf(p, sizeof p, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json", shared);
  for (int opt = 0; opt < 2; ++opt) {
    ctx c;
    open_case(&c, p, 4, 4, (hfs_optimizer)opt);
    hfs_hypotest h;
    assert_int_equal(hfs_infer_hypotest(c.I, HFS_TS_QTILDE, 1.0, &h), HFS_OK);
    const double exp[5] = {0.11583, 0.23147, 0.42950, 0.69312, 0.90750};
    assert_close(h.cls_obs, 0.63674, 1e-4);
    for (int k = 0; k < 5; ++k) assert_close(h.cls_exp[k], exp[k], 1e-4);
    hfs_significance s;
    assert_int_equal(hfs_infer_significance(c.I, &s), HFS_OK);
    assert_close(s.q0, 11.9728, 1e-3);
    assert_close(s.z, 3.4602, 1e-3);
    assert_close(s.z_exp[2], 0.8102, 1e-3);
    hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
    lo.cl = 0.90;
    hfs_limit L;
    assert_int_equal(hfs_infer_limit(c.I, &lo, &L), HFS_OK);
    const double lexp[5] = {1.0601, 1.4567, 2.0979, 3.0621, 4.3086};
    assert_close(L.obs, 6.3353, 5e-3 * 6.3353);
    for (int k = 0; k < 5; ++k) assert_close(L.exp[k], lexp[k], 5e-3 * lexp[k]);
    /* the values themselves agree far better than 0.5% */
    assert_close(L.obs, 6.3353, 2e-4 * 6.3353);
    hfs_limit_free(&L);
    close_case(&c);
  }
}

int main(int argc, char **argv) {
  const char *shared = hfs_test_shared_dir();
  if (!shared) return hfs_test_skip("inference reference tests");
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(test_reference_tao, (void *)shared),
      cmocka_unit_test_prestate(test_reference_nlopt, (void *)shared),
      cmocka_unit_test_prestate(test_belle2, (void *)shared),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return r;
}
