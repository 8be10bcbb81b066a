/* Fits whose minimum is real while the Hessian there is not positive
 * definite (issue 10): two free normfactors scaling the same bins leave a
 * flat direction.  Two models of tests/data: flat_normfactors.json (signal
 * scaled by mu and k) and lumi_shapesys_14par.json (14 parameters: mu, lumi,
 * two background normfactors on the same bins, a shapesys per bin of two
 * channels).  With both optimizers the fit must be converged, carry MINUIT's
 * covariance status 2 (made positive definite) with finite errors for every
 * free parameter, and reach the minimum found independently: the same model
 * with one of the two normfactors held at 1, whose only effect is to remove
 * the flat direction, must give the same twice_nll and the same product of
 * the two normfactors, with an accurate covariance.  Earlier versions called
 * these fits failures (hesse_failed) with every error NaN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_fit.h"
#include "hfs_model.h"
#include "hfs_test.h"
#include "hfs_workspace.h"

typedef struct {
  const char *file;
  const char *a, *b; /* the two normfactors of the flat direction */
} flat_case;

static const flat_case cases[] = {
    {"flat_normfactors.json", "mu", "k"},
    {"lumi_shapesys_14par.json", "bkg_norm", "bkg_scale"},
};

static int par_index(hfs_model *m, const char *name) {
  for (int i = 0; i < hfs_model_npar(m); i++)
    if (strcmp(hfs_model_par_name(m, i), name) == 0) return i;
  return -1;
}

static void check_case(const flat_case *c, hfs_optimizer opt) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", HFS_TEST_DATA, c->file);
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  hfs_fitter *f = NULL;
  int rc = hfs_spec_read_file(path, &spec);
  if (!rc) rc = hfs_model_create(spec, NULL, NULL, &m);
  hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
  o.optimizer = opt;
  if (!rc) rc = hfs_fitter_create(m, &o, &f);
  if (rc) print_error("%s: %s\n", path, hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  int n = hfs_model_npar(m), ia = par_index(m, c->a), ib = par_index(m, c->b);
  assert_true(ia >= 0 && ib >= 0);
  printf("  %s (%d parameters), %s\n", c->file, n, hfs_optimizer_name(opt));

  hfs_fit_result r, held;
  assert_int_equal(hfs_fit_result_init(&r, n, 1), HFS_OK);
  assert_int_equal(hfs_fit_result_init(&held, n, 1), HFS_OK);
  assert_int_equal(hfs_fitter_minimize(f, NULL, NULL, NULL, NULL, 1, &r), HFS_OK);
  printf("    free: %s, twice_nll %.10f, covariance %s (%s)\n", hfs_fit_status_name(r.status),
         r.twice_nll, hfs_cov_status_name(r.cov_status), r.reason);
  assert_int_equal(r.status, HFS_FIT_CONVERGED);
  assert_int_equal(r.cov_status, HFS_COV_MADE_POSDEF);
  assert_int_equal(r.has_errors, 1);
  for (int i = 0; i < n; i++) {
    if (!(isfinite(r.error[i]) && r.error[i] > 0))
      print_error("%s: error %g\n", hfs_model_par_name(m, i), r.error[i]);
    assert_true(isfinite(r.error[i]) && r.error[i] > 0);
    assert_true(isfinite(r.error_hessian[i]) && r.error_hessian[i] > 0);
    assert_close(r.corr[(size_t)i * (size_t)n + (size_t)i], 1.0, 1e-12);
  }

  /* The independent minimum: b held at 1 leaves no flat direction. */
  /* n > 0 was asserted by the fit above; the bound tells the compiler so. */
  size_t nn = n > 0 ? (size_t)n : 1;
  int *fixed = calloc(nn, sizeof *fixed);
  double *init = calloc(nn, sizeof *init);
  assert_non_null(fixed);
  assert_non_null(init);
  hfs_model_init(m, init);
  for (int i = 0; i < n; i++) fixed[i] = hfs_model_par_fixed(m, i);
  fixed[ib] = 1;
  init[ib] = 1.0;
  assert_int_equal(hfs_fitter_minimize(f, NULL, NULL, init, fixed, 1, &held), HFS_OK);
  printf("    %s held: %s, twice_nll %.10f, covariance %s\n", c->b,
         hfs_fit_status_name(held.status), held.twice_nll, hfs_cov_status_name(held.cov_status));
  assert_int_equal(held.status, HFS_FIT_CONVERGED);
  assert_int_equal(held.cov_status, HFS_COV_ACCURATE);
  assert_close(r.twice_nll, held.twice_nll, 1e-6);
  assert_close(r.theta[ia] * r.theta[ib], held.theta[ia], 1e-4 * held.theta[ia]);
  /* The held parameter has no error; the others keep theirs. */
  assert_close(held.error[ib], 0.0, 0.0);
  free(fixed);
  free(init);
  hfs_fit_result_free(&held);
  hfs_fit_result_free(&r);
  hfs_fitter_destroy(&f);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
}

static void test_flat_tao(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) check_case(&cases[k], HFS_OPT_TAO);
}

static void test_flat_nlopt(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) check_case(&cases[k], HFS_OPT_NLOPT);
}

int main(void) {
  int rc = hfs_fit_library_init(NULL, NULL);
  if (rc) {
    fprintf(stderr, "%s\n", hfs_error_message());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flat_tao),
      cmocka_unit_test(test_flat_nlopt),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
