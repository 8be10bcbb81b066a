/* Edge cases of the inference: mu-hat at the lower bound, mu-hat above the
 * tested mu, a zero-count bin, a limit outside the POI range (clear error,
 * never a value from outside), and CL other than 95%. */
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_test.h"

#include <stdio.h>
#include <string.h>

static hfs_infer *make(const char *ws, double poi_hi, hfs_spec **sp, hfs_model **mp) {
  char buf[4096];
  snprintf(buf, sizeof buf, ws, poi_hi);
  int rc = hfs_spec_read_buffer(buf, strlen(buf), "edge.json", sp);
  if (!rc) rc = hfs_model_create(*sp, NULL, NULL, mp);
  hfs_infer *I = NULL;
  if (!rc) rc = hfs_infer_create(*mp, NULL, NULL, NULL, &I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  return I;
}

/* signal 5, background 20 with 10% normsys; observed as given */
static const char *WS1 =
    "{\"version\":\"1.0.0\",\"channels\":[{\"name\":\"SR\",\"samples\":["
    "{\"name\":\"s\",\"data\":[5.0, "
    "2.0],\"modifiers\":[{\"name\":\"mu\",\"type\":\"normfactor\",\"data\":null}]},"
    "{\"name\":\"b\",\"data\":[20.0, "
    "3.0],\"modifiers\":[{\"name\":\"bn\",\"type\":\"normsys\",\"data\":{\"hi\":1.1,\"lo\":0.9}}]}]"
    "}],"
    "\"observations\":[{\"name\":\"SR\",\"data\":[%s]}],"
    "\"measurements\":[{\"name\":\"m\",\"config\":{\"poi\":\"mu\",\"parameters\":[{\"name\":\"mu\","
    "\"bounds\":[[0,%%g]]}]}}]}";

static hfs_infer *make_obs(const char *obs, double hi, hfs_spec **sp, hfs_model **mp) {
  char fmt[4096];
  snprintf(fmt, sizeof fmt, WS1, obs);
  return make(fmt, hi, sp, mp);
}

static void teardown(hfs_infer **I, hfs_spec **s, hfs_model **m) {
  hfs_infer_destroy(I);
  hfs_model_destroy(m);
  hfs_spec_destroy(s);
}

static void test_muhat_at_lower_bound(void **state) {
  (void)state;
  hfs_spec *s;
  hfs_model *m;
  hfs_infer *I = make_obs("12, 1", 10, &s, &m); /* deficit */
  hfs_hypotest h;
  assert_int_equal(hfs_infer_hypotest(I, HFS_TS_QTILDE, 1.0, &h), HFS_OK);
  assert_close(h.mu_hat, 0, 1e-6);
  assert_true(h.q_obs > 0);
  assert_true(h.cls_obs > 0 && h.cls_obs < 1);
  /* q~ with mu-hat at 0: CLs below the median expected (a deficit) */
  assert_true(h.cls_obs < h.cls_exp[2]);
  teardown(&I, &s, &m);
}

static void test_muhat_above_tested(void **state) {
  (void)state;
  hfs_spec *s;
  hfs_model *m;
  hfs_infer *I = make_obs("40, 10", 10, &s, &m); /* excess: mu-hat ~ 3.5 */
  hfs_hypotest h;
  assert_int_equal(hfs_infer_hypotest(I, HFS_TS_QTILDE, 1.0, &h), HFS_OK);
  assert_true(h.mu_hat > 1.0);
  assert_close(h.q_obs, 0, 0);          /* q = 0 when mu-hat > mu */
  assert_close(h.clsb_obs, 0.5, 1e-12); /* Phi(-sqrt(qA)+sqrt(qA)) */
  teardown(&I, &s, &m);
}

static void test_zero_count_bin(void **state) {
  (void)state;
  hfs_spec *s;
  hfs_model *m;
  hfs_infer *I = make_obs("22, 0", 10, &s, &m);
  hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
  hfs_limit L;
  assert_int_equal(hfs_infer_limit(I, &lo, &L), HFS_OK);
  assert_true(L.obs > 0 && L.obs < 10);
  for (int k = 0; k < 4; ++k) assert_true(L.exp[k] < L.exp[k + 1]);
  hfs_limit_free(&L);
  teardown(&I, &s, &m);
}

static void test_limit_outside_range(void **state) {
  (void)state;
  hfs_spec *s;
  hfs_model *m;
  /* a big excess and a POI bound of 2: the limit is above the range */
  hfs_infer *I = make_obs("60, 15", 2, &s, &m);
  hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
  hfs_limit L;
  int rc = hfs_infer_limit(I, &lo, &L);
  assert_int_equal(rc, HFS_ERR_BRACKET);
  assert_non_null(strstr(hfs_error_message(), "upper bound 2"));
  assert_int_equal(L.npoints, 0);
  teardown(&I, &s, &m);
}

static void test_other_cl(void **state) {
  (void)state;
  hfs_spec *s;
  hfs_model *m;
  hfs_infer *I = make_obs("22, 3", 10, &s, &m);
  double prev = 0;
  const double cls[] = {0.68, 0.90, 0.95, 0.99};
  for (int k = 0; k < 4; ++k) {
    hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
    lo.cl = cls[k];
    hfs_limit L;
    assert_int_equal(hfs_infer_limit(I, &lo, &L), HFS_OK);
    assert_true(L.obs > prev);
    prev = L.obs;
    /* at the limit CLs equals 1 - CL */
    hfs_hypotest h;
    assert_int_equal(hfs_infer_hypotest(I, HFS_TS_QTILDE, L.obs, &h), HFS_OK);
    assert_close(h.cls_obs, 1 - cls[k], 1e-4);
    hfs_limit_free(&L);
  }
  teardown(&I, &s, &m);
}

int main(int argc, char **argv) {
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_muhat_at_lower_bound),
      cmocka_unit_test(test_muhat_above_tested),
      cmocka_unit_test(test_zero_count_bin),
      cmocka_unit_test(test_limit_outside_range),
      cmocka_unit_test(test_other_cl),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return r;
}
