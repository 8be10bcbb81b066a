/* Analytic gradient and Hessian of twice_nll against finite differences, for
 * every modifier type and every interpolation code, including a POI at 0
 * (a zero factor) and a sample carrying two per-bin modifiers. */
#include "hfs_error.h"
#include "hfs_model.h"
#include "hfs_test.h"
#include "blocks_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *WS =
    "{\"version\": \"1.0.0\","
    " \"channels\": ["
    "  {\"name\": \"SR\", \"samples\": ["
    "   {\"name\": \"sig\", \"data\": [5.0, 8.0, 3.0], \"modifiers\": ["
    "     {\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null},"
    "     {\"name\": \"lumi\", \"type\": \"lumi\", \"data\": null},"
    "     {\"name\": \"sig_th\", \"type\": \"normsys\", \"data\": {\"hi\": 1.1, \"lo\": 0.85}}]},"
    "   {\"name\": \"bkg\", \"data\": [50.0, 40.0, 20.0], \"modifiers\": ["
    "     {\"name\": \"jes\", \"type\": \"histosys\", \"data\": {\"hi_data\": [55.0, 41.0, 19.0], "
    "\"lo_data\": [46.0, 38.5, 21.5]}},"
    "     {\"name\": \"jes\", \"type\": \"normsys\", \"data\": {\"hi\": 1.05, \"lo\": 0.97}},"
    "     {\"name\": \"bkg_norm\", \"type\": \"normsys\", \"data\": {\"hi\": 1.2, \"lo\": 0.75}},"
    "     {\"name\": \"stat_SR\", \"type\": \"staterror\", \"data\": [3.0, 2.5, 2.0]},"
    "     {\"name\": \"bkg_shape\", \"type\": \"shapesys\", \"data\": [4.0, 3.0, 2.5]},"
    "     {\"name\": \"lumi\", \"type\": \"lumi\", \"data\": null}]},"
    "   {\"name\": \"other\", \"data\": [10.0, 12.0, 6.0], \"modifiers\": ["
    "     {\"name\": \"stat_SR\", \"type\": \"staterror\", \"data\": [1.0, 1.5, 1.0]},"
    "     {\"name\": \"res\", \"type\": \"histosys\", \"data\": {\"hi_data\": [11.0, 12.5, 6.1], "
    "\"lo_data\": [9.5, 11.0, 6.0]}}]}]},"
    "  {\"name\": \"CR\", \"samples\": ["
    "   {\"name\": \"bkg\", \"data\": [200.0, 150.0, 90.0], \"modifiers\": ["
    "     {\"name\": \"bkg_norm\", \"type\": \"normsys\", \"data\": {\"hi\": 1.2, \"lo\": 0.75}},"
    "     {\"name\": \"cr_sf\", \"type\": \"shapefactor\", \"data\": null},"
    "     {\"name\": \"k_cr\", \"type\": \"normfactor\", \"data\": null}]}]}],"
    " \"observations\": [{\"name\": \"SR\", \"data\": [70, 55, 33]},"
    "                  {\"name\": \"CR\", \"data\": [190, 160, 85]}],"
    " \"measurements\": [{\"name\": \"m\", \"config\": {\"poi\": \"mu\", \"parameters\": ["
    "   {\"name\": \"lumi\", \"auxdata\": [1.0], \"sigmas\": [0.03], \"bounds\": [[0.8, 1.2]], "
    "\"inits\": [1.0]}]}}]}";

static hfs_model *build(int ncode, int hcode) {
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  int rc = hfs_spec_read_buffer(WS, strlen(WS), "derivs.json", &spec);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  hfs_model_options o = {ncode, hcode};
  rc = hfs_model_create(spec, NULL, &o, &m);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  hfs_spec_destroy(&spec);
  return m;
}

/* A point with every kind of parameter away from its defaults and away from
 * |alpha| = 1 (code2 is discontinuous there by design). */
static void point(const hfs_model *m, double *th, int variant) {
  int n = hfs_model_npar(m);
  for (int i = 0; i < n; ++i) {
    double x = hfs_model_par_init(m, i);
    double shift = 0.13 * ((i * 7 + variant * 3) % 5 - 2) + 0.05 * variant;
    switch (hfs_model_par_type(m, i)) {
      case HFS_MOD_NORMSYS:
      case HFS_MOD_HISTOSYS: x = (variant == 2) ? 1.7 * (i % 2 ? 1 : -1) : shift * 3 + 0.07; break;
      default: x = x * (1 + 0.5 * shift); break;
    }
    th[i] = x;
  }
  if (variant == 1) th[hfs_model_poi(m)] = 0; /* zero factor */
}

static void check(hfs_model *m) {
  int n = hfs_model_npar(m);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  double *th = calloc(n, sizeof *th), *g = calloc(n, sizeof *g), *gp = calloc(n, sizeof *gp),
         *gm = calloc(n, sizeof *gm), *H = calloc((size_t)n * n, sizeof *H);
  for (int variant = 0; variant < 3; ++variant) {
    point(m, th, variant);
    double f = hfs_model_twice_nll(m, obs, aux, th, g);
    assert_true(isfinite(f));
    assert_int_equal(hfs_model_hessian(m, obs, aux, th, H), HFS_OK);
    for (int i = 0; i < n; ++i) {
      double h = 1e-5 * (1 + fabs(th[i])), x0 = th[i];
      th[i] = x0 + h;
      double fp = hfs_model_twice_nll(m, obs, aux, th, gp);
      th[i] = x0 - h;
      double fm = hfs_model_twice_nll(m, obs, aux, th, gm);
      th[i] = x0;
      double fd = (fp - fm) / (2 * h);
      if (fabs(fd - g[i]) > 1e-5 * (1 + fabs(g[i])))
        print_error("grad %s (variant %d)\n", hfs_model_par_name(m, i), variant);
      assert_close(g[i], fd, 1e-5 * (1 + fabs(g[i])));
      for (int k = 0; k < n; ++k) {
        double hd = (gp[k] - gm[k]) / (2 * h);
        if (fabs(hd - H[k * n + i]) > 1e-4 * (1 + fabs(hd)))
          print_error("H[%s][%s] (variant %d)\n", hfs_model_par_name(m, k),
                      hfs_model_par_name(m, i), variant);
        assert_close(H[k * n + i], hd, 1e-4 * (1 + fabs(hd)));
        assert_close(H[k * n + i], H[i * n + k], 1e-9 * (1 + fabs(hd)));
      }
    }
  }
  free(th);
  free(g);
  free(gp);
  free(gm);
  free(H);
}

static void test_all_codes(void **state) {
  (void)state;
  const int nc[] = {0, 1, 2, 4}, hc[] = {0, 2, 4};
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 3; ++b) {
      hfs_model *m = build(nc[a], hc[b]);
      check(m);
      hfs_model_destroy(&m);
      assert_null(m);
    }
}

/* The structure the derivative test relies on: parameter sharing as pyhf
 * does it (jes shared by histosys and normsys; staterror gamma per bin). */
static void test_structure(void **state) {
  (void)state;
  hfs_model *m = build(4, 4);
  /* pyhf order: histosys (jes, res), lumi, normfactor (mu), normsys
   * (bkg_norm, sig_th), shapefactor, shapesys, staterror */
  const char *expect[] = {"jes",          "res",        "lumi",         "k_cr",
                          "mu",           "bkg_norm",   "sig_th",       "cr_sf[0]",
                          "cr_sf[1]",     "cr_sf[2]",   "bkg_shape[0]", "bkg_shape[1]",
                          "bkg_shape[2]", "stat_SR[0]", "stat_SR[1]",   "stat_SR[2]"};
  assert_int_equal(hfs_model_npar(m), 16);
  for (int i = 0; i < 16; ++i) assert_string_equal(hfs_model_par_name(m, i), expect[i]);
  assert_int_equal(hfs_model_poi(m), 4);
  assert_string_equal(hfs_model_channel_name(m, 0), "CR");
  /* staterror sigma: sqrt(3^2 + 1^2) / (50 + 10) */
  assert_close(hfs_model_par_sigma(m, 13), sqrt(10.0) / 60, 1e-15);
  assert_close(hfs_model_par_tau(m, 10), (50.0 / 4) * (50.0 / 4), 1e-12);
  hfs_model_destroy(&m);
}

/* The block structure of the test model: scalar parameters shared, every
 * per-bin gamma local to its bin (stat_SR and bkg_shape share SR's bins). */
static void test_blocks(void **state) {
  (void)state;
  hfs_model *m = build(4, 4);
  hfs_model_structure st;
  hfs_model_structure_get(m, &st);
  assert_int_equal(st.nshared, 7);
  for (int i = 0; i < 7; ++i) assert_int_equal(st.shared[i], i);
  assert_int_equal(st.nblocks, 6);
  const int off[] = {0, 1, 2, 3, 5, 7, 9};
  const int par[] = {7, 8, 9, 10, 13, 11, 14, 12, 15};
  for (int b = 0; b <= 6; ++b) assert_int_equal(st.block_off[b], off[b]);
  for (int i = 0; i < 9; ++i) assert_int_equal(st.block_par[i], par[i]);
  for (int b = 0; b < 6; ++b) assert_int_equal(st.block_bin[b], b);

  double *th = calloc(hfs_model_npar(m), sizeof *th);
  for (int variant = 0; variant < 3; ++variant) {
    point(m, th, variant);
    assert_int_equal(check_blocks(m, th), HFS_OK);
  }
  free(th);
  hfs_model_destroy(&m);
}

/* Per-sample rates and their Jacobian: they sum to the expected data, and
 * the Jacobian matches finite differences of the rates. */
static void test_rates(void **state) {
  (void)state;
  const char *names[2][3] = {{"bkg"}, {"bkg", "other", "sig"}};
  const int nc[] = {0, 1, 2, 4};
  for (int code = 0; code < 4; ++code) {
    hfs_model *m = build(nc[code], code == 0 ? 0 : 4);
    int n = hfs_model_npar(m), nb = hfs_model_nbins(m);
    double *th = calloc(n, sizeof *th), *nuall = calloc(nb, sizeof *nuall);
    double nu[8], sum[8], nup[8], num[8];
    double *J = calloc(8 * (size_t)n, sizeof *J), *Js = calloc(8 * (size_t)n, sizeof *Js);
    assert_int_equal(hfs_model_nchannels(m), 2);
    for (int variant = 0; variant < 3; ++variant) {
      point(m, th, variant);
      hfs_model_expected(m, th, nuall, NULL);
      for (int c = 0; c < 2; ++c) {
        int ncb = hfs_model_channel_nbins(m, c), off = hfs_model_channel_offset(m, c);
        int nsamp = hfs_model_channel_nsamples(m, c);
        assert_int_equal(nsamp, c == 0 ? 1 : 3);
        memset(sum, 0, sizeof sum);
        memset(Js, 0, 8 * (size_t)n * sizeof *Js);
        for (int s = -1; s < nsamp; ++s) {
          if (s >= 0) assert_string_equal(hfs_model_sample_name(m, c, s), names[c][s]);
          assert_int_equal(hfs_model_rates(m, th, c, s, nu, J), HFS_OK);
          for (int j = 0; j < ncb; ++j) {
            if (s < 0)
              assert_close(nu[j], nuall[off + j], 1e-12 * nuall[off + j]);
            else
              sum[j] += nu[j];
            for (int q = 0; q < n && s >= 0; ++q) Js[j * n + q] += J[j * n + q];
          }
          for (int q = 0; q < n; ++q) {
            double h = 1e-6 * (1 + fabs(th[q])), x0 = th[q];
            th[q] = x0 + h;
            assert_int_equal(hfs_model_rates(m, th, c, s, nup, NULL), HFS_OK);
            th[q] = x0 - h;
            assert_int_equal(hfs_model_rates(m, th, c, s, num, NULL), HFS_OK);
            th[q] = x0;
            for (int j = 0; j < ncb; ++j) {
              double fd = (nup[j] - num[j]) / (2 * h);
              if (fabs(fd - J[j * n + q]) > 1e-6 * (1 + fabs(fd)))
                print_error("d nu[%d]/d %s (channel %d sample %d)\n", j, hfs_model_par_name(m, q),
                            c, s);
              assert_close(J[j * n + q], fd, 1e-6 * (1 + fabs(fd)));
            }
          }
        }
        assert_int_equal(hfs_model_rates(m, th, c, -1, nu, J), HFS_OK);
        for (int j = 0; j < ncb; ++j) {
          assert_close(sum[j], nu[j], 1e-12 * nu[j]);
          for (int q = 0; q < n; ++q)
            assert_close(Js[j * n + q], J[j * n + q], 1e-12 * (1 + fabs(J[j * n + q])));
        }
      }
    }
    assert_int_not_equal(hfs_model_rates(m, th, 2, -1, nu, NULL), HFS_OK);
    assert_int_not_equal(hfs_model_rates(m, th, 0, 1, nu, NULL), HFS_OK);
    free(th);
    free(nuall);
    free(J);
    free(Js);
    hfs_model_destroy(&m);
  }
}

/* The diagnosis of a non-finite likelihood names what broke. */
static void test_first_nonfinite(void **state) {
  (void)state;
  hfs_model *m = build(1, 4);
  int n = hfs_model_npar(m);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  double *th = calloc(n, sizeof *th);
  char buf[256];
  hfs_model_init(m, th);
  assert_int_equal(hfs_model_first_nonfinite(m, obs, th, buf, sizeof buf), 0);
  /* code 1 is exp(alpha ln hi): overflows for a huge alpha */
  th[hfs_model_par_find(m, "bkg_norm")] = 1e4;
  assert_false(isfinite(hfs_model_twice_nll(m, obs, aux, th, NULL)));
  assert_int_equal(hfs_model_first_nonfinite(m, obs, th, buf, sizeof buf), 1);
  assert_non_null(strstr(buf, "sample 'bkg' in channel 'CR', bin 0"));
  hfs_model_init(m, th);
  th[hfs_model_poi(m)] = -100;
  assert_false(isfinite(hfs_model_twice_nll(m, obs, aux, th, NULL)));
  assert_int_equal(hfs_model_first_nonfinite(m, obs, th, buf, sizeof buf), 1);
  assert_non_null(strstr(buf, "channel 'SR', bin 0"));
  th[hfs_model_poi(m)] = NAN;
  assert_int_equal(hfs_model_first_nonfinite(m, obs, th, buf, sizeof buf), 1);
  assert_non_null(strstr(buf, "parameter mu"));
  free(th);
  hfs_model_destroy(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_structure),       cmocka_unit_test(test_all_codes),
      cmocka_unit_test(test_blocks),          cmocka_unit_test(test_rates),
      cmocka_unit_test(test_first_nonfinite),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
