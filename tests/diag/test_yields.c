/* Yields and their uncertainties against an independent computation: the
 * Jacobian of the rates by central finite differences of the expected data
 * (hfs_model_expected for bin totals, per-sample rates without their
 * Jacobian for samples) and sqrt(g C g^T) summed naively over the fit's
 * covariance, to 1e-6 relative, post-fit and pre-fit. */
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double sigma(const double *g, const double *cov, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) s += g[i] * cov[(size_t)i * n + k] * g[k];
  return sqrt(s > 0 ? s : 0);
}

/* d nu / d theta_j by central differences for the rates of channel c,
 * sample s (s = -1: bin totals from hfs_model_expected). */
static void fd_jacobian(hfs_model *m, const double *theta, int c, int s, const int *fixed,
                        double *jac) {
  int n = hfs_model_npar(m), nb = hfs_model_channel_nbins(m, c),
      off = hfs_model_channel_offset(m, c);
  double *t = malloc(sizeof(double) * (size_t)n), *up = malloc(sizeof(double) * hfs_model_nbins(m)),
         *dn = malloc(sizeof(double) * hfs_model_nbins(m));
  memcpy(t, theta, sizeof(double) * (size_t)n);
  for (int j = 0; j < n; ++j) {
    if (fixed[j]) {
      for (int b = 0; b < nb; ++b) jac[(size_t)b * n + j] = 0;
      continue;
    }
    double h = 1e-5 * (fabs(theta[j]) > 1 ? fabs(theta[j]) : 1);
    t[j] = theta[j] + h;
    if (s < 0)
      hfs_model_expected(m, t, up, NULL);
    else
      assert_int_equal(hfs_model_rates(m, t, c, s, up + off, NULL), HFS_OK);
    t[j] = theta[j] - h;
    if (s < 0)
      hfs_model_expected(m, t, dn, NULL);
    else
      assert_int_equal(hfs_model_rates(m, t, c, s, dn + off, NULL), HFS_OK);
    t[j] = theta[j];
    for (int b = 0; b < nb; ++b) jac[(size_t)b * n + j] = (up[off + b] - dn[off + b]) / (2 * h);
  }
  free(t);
  free(up);
  free(dn);
}

static void check(hfs_model *m, const double *theta, const double *cov, const int *fixed,
                  const hfs_yields *y) {
  int n = hfs_model_npar(m);
  double *nu = malloc(sizeof(double) * hfs_model_nbins(m));
  hfs_model_expected(m, theta, nu, NULL);
  int nchecked = 0;
  for (int c = 0; c < y->nchannels; ++c) {
    const hfs_yields_channel *ch = &y->ch[c];
    int nb = ch->nbins, off = hfs_model_channel_offset(m, c);
    double *jac = malloc(sizeof(double) * (size_t)nb * n), *g = calloc((size_t)n, sizeof *g);
    assert_string_equal(ch->name, hfs_model_channel_name(m, c));
    for (int s = -1; s < ch->nsamples; ++s) {
      fd_jacobian(m, theta, c, s, fixed, jac);
      const double *unc = s < 0 ? ch->total_unc : &ch->unc[(size_t)s * nb];
      memset(g, 0, sizeof(double) * (size_t)n);
      double sum = 0;
      for (int b = 0; b < nb; ++b) {
        double want = sigma(&jac[(size_t)b * n], cov, n);
        assert_close(unc[b], want, 1e-6 * want + 1e-12);
        for (int j = 0; j < n; ++j) g[j] += jac[(size_t)b * n + j];
        sum += s < 0 ? ch->total[b] : ch->yields[(size_t)s * nb + b];
        ++nchecked;
      }
      double want = sigma(g, cov, n);
      assert_close(s < 0 ? ch->sum_unc : ch->integral_unc[s], want, 1e-6 * want + 1e-12);
      assert_close(s < 0 ? ch->sum : ch->integral[s], sum, 1e-12 * sum);
    }
    for (int b = 0; b < nb; ++b) {
      double tot = 0;
      for (int s = 0; s < ch->nsamples; ++s) tot += ch->yields[(size_t)s * nb + b];
      assert_close(ch->total[b], nu[off + b], 1e-12 * nu[off + b]);
      assert_close(tot, nu[off + b], 1e-10 * nu[off + b]);
      assert_close(ch->data[b], hfs_model_observed(m)[off + b], 0);
    }
    free(jac);
    free(g);
  }
  print_message("%d yields and uncertainties checked\n", nchecked);
  free(nu);
}

static void run(const char *path) {
  hfs_spec *s = NULL;
  hfs_model *m = NULL;
  hfs_fitter *f = NULL;
  hfs_fit_result r;
  hfs_yields y;
  memset(&r, 0, sizeof r);
  int rc = hfs_spec_read_file(path, &s);
  if (!rc) rc = hfs_model_create(s, NULL, NULL, &m);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  int n = hfs_model_npar(m), *fixed = calloc((size_t)n, sizeof *fixed);
  double *init = malloc(sizeof(double) * (size_t)n), *cov = malloc(sizeof(double) * (size_t)n * n);
  for (int i = 0; i < n; ++i) fixed[i] = hfs_model_par_fixed(m, i);
  hfs_model_init(m, init);
  /* post-fit: the fit's covariance */
  assert_int_equal(hfs_fitter_create(m, NULL, &f), HFS_OK);
  assert_int_equal(hfs_fit_result_init(&r, n, 1), HFS_OK);
  assert_int_equal(hfs_fitter_minimize(f, NULL, NULL, init, fixed, 1, &r), HFS_OK);
  assert_int_equal(r.status, HFS_FIT_CONVERGED);
  assert_int_equal(hfs_yields_compute(m, r.theta, r.cov, &y), HFS_OK);
  check(m, r.theta, r.cov, fixed, &y);
  hfs_yields_free(&y);
  /* pre-fit: diagonal, squared pre-fit widths of constrained parameters */
  hfs_yields_prefit_cov(m, fixed, cov);
  for (int i = 0; i < n; ++i) {
    double w = hfs_model_par_prefit_width(m, i);
    double want = hfs_model_par_constraint(m, i) == HFS_CONSTR_NONE || fixed[i] ? 0 : w * w;
    assert_close(cov[(size_t)i * n + i], want, 0);
  }
  assert_int_equal(hfs_yields_compute(m, init, cov, &y), HFS_OK);
  check(m, init, cov, fixed, &y);
  hfs_yields_free(&y);
  free(fixed);
  free(init);
  free(cov);
  hfs_fit_result_free(&r);
  hfs_fitter_destroy(&f);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&s);
}

static void test_default_input(void **state) {
  (void)state;
  run(HFS_SOURCE_DIR "/inputs/belle2_like.json");
}

static void test_belle2(void **state) {
  (void)state;
  char path[1024];
  if (getenv("HFS_TEST_QUICK") || !hfs_test_shared_dir()) skip();
  snprintf(path, sizeof path, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json",
           hfs_test_shared_dir());
  run(path);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_input),
      cmocka_unit_test(test_belle2),
  };
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
