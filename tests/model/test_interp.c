/* Interpolation codes: code4 coefficients in two independent forms, and
 * continuity of value, slope and curvature where the codes promise it. */
#include "hfs_test.h"
#include "interp.h"

static void test_code4_two_forms(void **state) {
  (void)state;
  const double cases[][2] = {{0.8, 1.2}, {0.5, 1.7}, {0.95, 1.01}, {1.3, 0.9}, {0.2, 3.0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    hfs_normsys_coef c;
    double a[6];
    assert_int_equal(hfs_normsys_prepare(&c, 4, cases[i][0], cases[i][1]), 0);
    hfs_code4_coefficients_closed(cases[i][0], cases[i][1], a);
    for (int k = 0; k < 6; ++k) assert_close(c.a[k], a[k], 1e-12);
  }
}

static void test_code4_continuity(void **state) {
  (void)state;
  hfs_normsys_coef c;
  assert_int_equal(hfs_normsys_prepare(&c, 4, 0.7, 1.4), 0);
  for (int side = -1; side <= 1; side += 2) {
    double in[3], out[3];
    hfs_normsys_eval(&c, side * (1 - 1e-9), in);
    hfs_normsys_eval(&c, side * (1 + 1e-9), out);
    for (int k = 0; k < 3; ++k) assert_close(in[k], out[k], 1e-6);
  }
  double at0[3];
  hfs_normsys_eval(&c, 0, at0);
  assert_close(at0[0], 1, 1e-15);
  hfs_normsys_eval(&c, 1, at0);
  assert_close(at0[0], 1.4, 1e-12);
  hfs_normsys_eval(&c, -1, at0);
  assert_close(at0[0], 0.7, 1e-12);
}

static void test_code4p_continuity(void **state) {
  (void)state;
  for (int side = -1; side <= 1; side += 2) {
    double in[6], out[6];
    hfs_interp_additive(4, side * (1 - 1e-9), in);
    hfs_interp_additive(4, side * (1 + 1e-9), out);
    for (int k = 0; k < 6; ++k) assert_close(in[k], out[k], 1e-6);
  }
  /* Delta(+1) = d_up, Delta(-1) = -d_dn */
  double w[6];
  hfs_interp_additive(4, 1, w);
  assert_close(w[0], 1, 1e-15);
  assert_close(w[1], 0, 1e-15);
  hfs_interp_additive(4, -1, w);
  assert_close(w[0], 0, 1e-15);
  assert_close(w[1], -1, 1e-15);
}

/* Derivatives of every code against central differences. */
static void test_derivatives_fd(void **state) {
  (void)state;
  const double xs[] = {-2.3, -1.2, -0.7, -0.1, 0.05, 0.4, 0.9, 1.6, 3.1};
  const int acodes[] = {0, 2, 4};
  const double h = 1e-6;
  for (size_t ic = 0; ic < 3; ++ic)
    for (size_t ix = 0; ix < sizeof xs / sizeof xs[0]; ++ix) {
      double p[6], m[6], w[6];
      hfs_interp_additive(acodes[ic], xs[ix] + h, p);
      hfs_interp_additive(acodes[ic], xs[ix] - h, m);
      hfs_interp_additive(acodes[ic], xs[ix], w);
      for (int k = 0; k < 2; ++k) {
        assert_close(w[2 + k], (p[k] - m[k]) / (2 * h), 1e-6);
        assert_close(w[4 + k], (p[2 + k] - m[2 + k]) / (2 * h), 1e-6);
      }
    }
  const int mcodes[] = {0, 1, 2, 4};
  for (size_t ic = 0; ic < 4; ++ic) {
    hfs_normsys_coef c;
    assert_int_equal(hfs_normsys_prepare(&c, mcodes[ic], 0.75, 1.3), 0);
    for (size_t ix = 0; ix < sizeof xs / sizeof xs[0]; ++ix) {
      double p[3], m[3], v[3];
      hfs_normsys_eval(&c, xs[ix] + h, p);
      hfs_normsys_eval(&c, xs[ix] - h, m);
      hfs_normsys_eval(&c, xs[ix], v);
      assert_close(v[1], (p[0] - m[0]) / (2 * h), 1e-6);
      assert_close(v[2], (p[1] - m[1]) / (2 * h), 1e-6);
    }
  }
}

static void test_nonpositive_factor_refused(void **state) {
  (void)state;
  hfs_normsys_coef c;
  assert_int_equal(hfs_normsys_prepare(&c, 4, 0.0, 1.2), -1);
  assert_int_equal(hfs_normsys_prepare(&c, 1, 0.9, -1.0), -1);
  assert_int_equal(hfs_normsys_prepare(&c, 0, 0.0, 1.2), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_code4_two_forms),
      cmocka_unit_test(test_code4_continuity),
      cmocka_unit_test(test_code4p_continuity),
      cmocka_unit_test(test_derivatives_fd),
      cmocka_unit_test(test_nonpositive_factor_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
