/* Toys: reproducible counter-based generation, CLs from toy distributions
 * (counting, percentiles, failed toys), agreement with the asymptotic CLs on
 * a high-count model and with pyhf's toy values within the statistical
 * uncertainties. */
#include "hfs_error.h"
#include "hfs_test.h"
#include "hfs_toys.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hfs_spec *spec;
  hfs_model *m;
  hfs_infer *I;
} ctx;

static void open_text(ctx *c, const char *text) {
  int rc = hfs_spec_read_buffer(text, strlen(text), "toys.json", &c->spec);
  if (!rc) rc = hfs_model_create(c->spec, NULL, NULL, &c->m);
  if (!rc) rc = hfs_infer_create(c->m, NULL, NULL, NULL, &c->I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void open_file(ctx *c, const char *path) {
  int rc = hfs_spec_read_file(path, &c->spec);
  if (!rc) rc = hfs_model_create(c->spec, NULL, NULL, &c->m);
  if (!rc) rc = hfs_infer_create(c->m, NULL, NULL, NULL, &c->I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void close_ctx(ctx *c) {
  hfs_infer_destroy(&c->I);
  hfs_model_destroy(&c->m);
  hfs_spec_destroy(&c->spec);
}

/* 3 bins, ~1000 background events each, a 10% normsys and a shapesys */
static const char *HIGH =
    "{\"version\":\"1.0.0\",\"channels\":[{\"name\":\"SR\",\"samples\":["
    "{\"name\":\"s\",\"data\":[60.0,80.0,40.0],\"modifiers\":[{\"name\":\"mu\",\"type\":"
    "\"normfactor\",\"data\":null}]},"
    "{\"name\":\"b\",\"data\":[1000.0,900.0,1100.0],\"modifiers\":["
    "{\"name\":\"bn\",\"type\":\"normsys\",\"data\":{\"hi\":1.05,\"lo\":0.95}},"
    "{\"name\":\"bs\",\"type\":\"shapesys\",\"data\":[30.0,30.0,30.0]}]}]}],"
    "\"observations\":[{\"name\":\"SR\",\"data\":[1030,940,1120]}],"
    "\"measurements\":[{\"name\":\"m\",\"config\":{\"poi\":\"mu\",\"parameters\":[]}}]}";

static void test_reproducible_generation(void **state) {
  (void)state;
  ctx c;
  open_text(&c, HIGH);
  double mu[2] = {1.0, 2.0};
  hfs_toys *a = NULL, *b = NULL, *d = NULL;
  assert_int_equal(hfs_toys_create(c.I, HFS_TS_QTILDE, 42, 2, mu, &a), HFS_OK);
  assert_int_equal(hfs_toys_create(c.I, HFS_TS_QTILDE, 42, 2, mu, &b), HFS_OK);
  assert_int_equal(hfs_toys_create(c.I, HFS_TS_QTILDE, 43, 2, mu, &d), HFS_OK);
  int nb = hfs_model_nbins(c.m), na = hfs_model_naux(c.m);
  double m1[16], x1[16], m2[16], x2[16];
  /* toy 7 of point 1 drawn first in one context and after others in the
   * other: the same numbers (a toy owns its random stream) */
  assert_int_equal(hfs_toys_generate(a, 1, HFS_TOY_B, 7, m1, x1), HFS_OK);
  for (int t = 0; t < 7; ++t)
    assert_int_equal(hfs_toys_generate(b, 0, HFS_TOY_SB, t, m2, x2), HFS_OK);
  assert_int_equal(hfs_toys_generate(b, 1, HFS_TOY_B, 7, m2, x2), HFS_OK);
  assert_memory_equal(m1, m2, sizeof(double) * nb);
  assert_memory_equal(x1, x2, sizeof(double) * na);
  /* another seed, another toy index or hypothesis: other data */
  assert_int_equal(hfs_toys_generate(d, 1, HFS_TOY_B, 7, m2, x2), HFS_OK);
  assert_true(memcmp(m1, m2, sizeof(double) * nb) != 0);
  assert_int_equal(hfs_toys_generate(a, 1, HFS_TOY_B, 8, m2, x2), HFS_OK);
  assert_true(memcmp(m1, m2, sizeof(double) * nb) != 0);
  assert_int_equal(hfs_toys_generate(a, 1, HFS_TOY_SB, 7, m2, x2), HFS_OK);
  assert_true(memcmp(m1, m2, sizeof(double) * nb) != 0);
  /* counts are non-negative integers; means follow the generating model */
  double sum = 0;
  for (int t = 0; t < 400; ++t) {
    assert_int_equal(hfs_toys_generate(a, 0, HFS_TOY_B, t, m2, x2), HFS_OK);
    for (int k = 0; k < nb; ++k) assert_true(m2[k] >= 0 && m2[k] == floor(m2[k]));
    sum += m2[0];
  }
  const double *th;
  assert_int_equal(hfs_toys_point_pars(a, 0, HFS_TOY_B, &th, NULL), HFS_OK);
  assert_close(th[hfs_model_poi(c.m)], 0.0, 0);
  double nu[16];
  hfs_model_expected(c.m, th, nu, NULL);
  assert_close(sum / 400, nu[0], 4 * sqrt(nu[0] / 400));
  hfs_toys_destroy(&a);
  hfs_toys_destroy(&b);
  hfs_toys_destroy(&d);
  close_ctx(&c);
}

static hfs_toy_result R(double t, int ok) {
  hfs_toy_result r = {t, 0, 0, 0, ok ? 0 : 4, 0};
  return r;
}

static void test_cls_counting(void **state) {
  (void)state;
  /* s+b: 1..10, b: 0..9 plus one failed toy; t_obs = 5 */
  hfs_toy_result sb[10], b[11];
  for (int i = 0; i < 10; ++i) sb[i] = R(i + 1, 1);
  for (int i = 0; i < 10; ++i) b[i] = R(i, 1);
  b[10] = R(100, 0);
  hfs_toy_cls r;
  assert_int_equal(hfs_toys_cls(sb, 10, b, 11, 5.0, &r), HFS_OK);
  assert_close(r.clsb, 0.6, 1e-15); /* t >= 5: 5..10 */
  assert_close(r.clb, 0.5, 1e-15);  /* 5..9 of 10 used */
  assert_close(r.cls, 1.2, 1e-15);
  assert_int_equal(r.n_b, 10);
  assert_int_equal(r.nfail_b, 1);
  assert_close(r.clsb_err, sqrt(0.6 * 0.4 / 10), 1e-15);
  /* expected: CLs of each b toy, percentiles with linear interpolation;
   * the median of the CLs values of t = 0..9 */
  double v[10];
  for (int i = 0; i < 10; ++i) {
    double psb = (10 - (i > 0 ? i - 1 : 0)) / 10.0, pb = (10 - i) / 10.0;
    v[i] = psb / pb;
  }
  /* sorted ascending: values decrease with i except the first */
  double s[10];
  memcpy(s, v, sizeof s);
  for (int i = 0; i < 10; ++i)
    for (int j = i + 1; j < 10; ++j)
      if (s[j] < s[i]) {
        double t = s[i];
        s[i] = s[j];
        s[j] = t;
      }
  assert_close(r.cls_exp[2], 0.5 * (s[4] + s[5]), 1e-12);
  double mu[4] = {0, 1, 2, 3}, cls[4] = {1.0, 0.3, 0.04, 0.01};
  assert_close(hfs_toys_interpolate_limit(mu, cls, 4, 0.05), 1 + 0.25 / 0.26, 1e-12);
  double never[4] = {1, 0.9, 0.8, 0.7};
  assert_true(isnan(hfs_toys_interpolate_limit(mu, never, 4, 0.05)));
}

/* Run ntoys toys per hypothesis at mu for one point and return CLs. */
static void run_point(ctx *c, hfs_teststat ts, double mu, int ntoys, uint64_t seed,
                      hfs_toy_cls *out) {
  hfs_toys *T = NULL;
  assert_int_equal(hfs_toys_create(c->I, ts, seed, 1, &mu, &T), HFS_OK);
  hfs_toy_result *sb = calloc(ntoys, sizeof *sb), *b = calloc(ntoys, sizeof *b);
  for (int t = 0; t < ntoys; ++t) {
    assert_int_equal(hfs_toys_run(T, 0, HFS_TOY_SB, t, &sb[t]), HFS_OK);
    assert_int_equal(hfs_toys_run(T, 0, HFS_TOY_B, t, &b[t]), HFS_OK);
  }
  double tobs;
  assert_int_equal(hfs_infer_teststat(c->I, ts, mu, NULL, NULL, &tobs, NULL, NULL), HFS_OK);
  assert_int_equal(hfs_toys_cls(sb, ntoys, b, ntoys, tobs, out), HFS_OK);
  free(sb);
  free(b);
  hfs_toys_destroy(&T);
}

/* Toy counts: fewer under the sanitizer build (HFS_TEST_QUICK=1, set by
 * tests/ci.sh), where a fit is ten times slower; the tolerances are
 * statistical and widen with fewer toys. */
static int ntoys(int n) {
  const char *q = getenv("HFS_TEST_QUICK");
  return q && *q == '1' ? n / 5 : n;
}

static void test_high_count_matches_asymptotics(void **state) {
  (void)state;
  ctx c;
  open_text(&c, HIGH);
  const int N = ntoys(1500);
  for (int k = 0; k < 2; ++k) {
    double mu = k ? 1.5 : 0.8;
    hfs_toy_cls r;
    run_point(&c, HFS_TS_QTILDE, mu, N, 7, &r);
    hfs_hypotest h;
    assert_int_equal(hfs_infer_hypotest(c.I, HFS_TS_QTILDE, mu, &h), HFS_OK);
    printf("  mu=%.1f toys CLs %.4f +- %.4f (CLs+b %.4f, CLb %.4f; failed %lld)  asymptotic %.4f\n",
           mu, r.cls, r.cls_err, r.clsb, r.clb, (long long)(r.nfail_sb + r.nfail_b), h.cls_obs);
    assert_true(r.nfail_sb + r.nfail_b < N / 100);
    assert_close(r.cls, h.cls_obs, 3 * r.cls_err + 1e-3);
    assert_close(r.clsb, h.clsb_obs, 3 * r.clsb_err + 1e-3);
    /* the median expected CLs too: it rests on the s+b tail fraction
     * p = CLs/2 at the median background toy, counted from N toys */
    double p = 0.5 * h.cls_exp[2], rel = sqrt((1 - p) / (N * p));
    assert_close(r.cls_exp[2], h.cls_exp[2], 3 * rel * h.cls_exp[2] + 0.005);
  }
  close_ctx(&c);
}

static double num(json_t *j) { return json_is_null(j) || !j ? NAN : json_number_value(j); }

static void test_pyhf_reference_toys(void **state) {
  const char *shared = *state;
  const char *cases[] = {"normfactor_only", "shapesys_poisson", "poi_at_lower_bound"};
  for (int k = 0; k < 3; ++k) {
    char p[1400], r[1400];
    snprintf(p, sizeof p, "%s/reference/%s.json", shared, cases[k]);
    snprintf(r, sizeof r, "%s/reference/%s.ref.json", shared, cases[k]);
    json_error_t je;
    json_t *ref = json_load_file(r, 0, &je);
    assert_non_null(ref);
    json_t *t = json_object_get(ref, "toys_mu=1");
    ctx c;
    open_file(&c, p);
    hfs_toy_cls res;
    run_point(&c, HFS_TS_QTILDE, 1.0, ntoys(2000), 20231125, &res);
    double cls_ref = num(json_object_get(t, "CLs_obs"));
    double err_ref = num(json_object_get(t, "CLs_obs_mc_error_approx"));
    printf("  %s: CLs %.4f +- %.4f, pyhf %.4f +- %.4f\n", cases[k], res.cls, res.cls_err, cls_ref,
           err_ref);
    assert_true(fabs(res.cls - cls_ref) <=
                3 * sqrt(err_ref * err_ref + res.cls_err * res.cls_err) + 1e-12);
    close_ctx(&c);
    json_decref(ref);
  }
}

/* Discovery with toys (pyhf's validation case, normsys code1, histosys
 * code0): p0 = CLs+b of the mu = 0 toys, expected p0 from the mu = 1 toys. */
static void test_pyhf_q0_toys(void **state) {
  const char *shared = *state;
  char p[1400], r[1400];
  snprintf(p, sizeof p, "%s/reference/val_1bin_shapesys_q0.json", shared);
  snprintf(r, sizeof r, "%s/reference/val_1bin_shapesys_q0.ref.json", shared);
  json_error_t je;
  json_t *ref = json_load_file(r, 0, &je);
  assert_non_null(ref);
  json_t *t = json_object_get(json_object_get(ref, "validation"), "toys");
  ctx c;
  int rc = hfs_spec_read_file(p, &c.spec);
  hfs_model_options mo = {1, 0};
  if (!rc) rc = hfs_model_create(c.spec, NULL, &mo, &c.m);
  if (!rc) rc = hfs_infer_create(c.m, NULL, NULL, NULL, &c.I);
  assert_int_equal(rc, HFS_OK);
  hfs_toy_cls res;
  int N = ntoys(2000);
  run_point(&c, HFS_TS_Q0, 0.0, N, 99, &res);
  double p0 = num(json_object_get(t, "pyhf_this_run_p0_obs"));
  double err = sqrt(p0 * (1 - p0) / 2000), mine = sqrt(fmax(res.clsb, 1.0 / N) / N);
  printf("  q0 toys: p0 %.4f +- %.4f, pyhf %.4f +- %.4f; expected median %.4f, pyhf %.4f\n",
         res.clsb, res.clsb_err, p0, err, res.clsb_exp[2],
         num(json_array_get(json_object_get(t, "pyhf_this_run_p0_exp"), 2)));
  assert_true(fabs(res.clsb - p0) <= 3 * sqrt(err * err + mine * mine));
  double m2 = num(json_array_get(json_object_get(t, "pyhf_this_run_p0_exp"), 2));
  assert_close(res.clsb_exp[2], m2, 3 * sqrt(m2 / N) + 0.005);
  close_ctx(&c);
  json_decref(ref);
}

int main(int argc, char **argv) {
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  const char *shared = hfs_test_shared_dir();
  struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reproducible_generation),
      cmocka_unit_test(test_cls_counting),
      cmocka_unit_test(test_high_count_matches_asymptotics),
      cmocka_unit_test_prestate(test_pyhf_reference_toys, (void *)shared),
      cmocka_unit_test_prestate(test_pyhf_q0_toys, (void *)shared),
  };
  int n = shared ? 5 : 3;
  if (!shared) printf("SKIP (part): pyhf toy references need ../shared\n");
  int rc = _cmocka_run_group_tests("toys", tests, (size_t)n, NULL, NULL);
  hfs_fit_library_finalize();
  return rc;
}
