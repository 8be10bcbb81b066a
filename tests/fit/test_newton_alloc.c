/* The Newton backend allocates nothing per fit: malloc, calloc, realloc and
 * free are wrapped at link time (-Wl,--wrap) and counted while a fitter,
 * created and warmed up once, runs free fits, fits with the POI fixed,
 * fits with another nuisance parameter fixed, fits with errors and fits of
 * toy data on the default input (inputs/belle2_like.json: staterror blocks
 * and shared parameters) and on a model without per-bin parameters (the
 * dense path).  Only hfscan's own code (the static libraries) is counted;
 * OpenBLAS keeps its own buffer pool. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_fit.h"
#include "hfs_model.h"
#include "hfs_test.h"
#include "hfs_workspace.h"

static long n_alloc;
static int counting;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n) {
  n_alloc += counting;
  return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t s) {
  n_alloc += counting;
  return __real_calloc(n, s);
}
void *__wrap_realloc(void *p, size_t n) {
  n_alloc += counting;
  return __real_realloc(p, n);
}
void __wrap_free(void *p) {
  n_alloc += counting && p;
  __real_free(p);
}

static void run(const char *label, hfs_spec *spec) {
  hfs_model *m = NULL;
  hfs_fitter *f = NULL;
  hfs_fit_result res;
  assert_int_equal(hfs_model_create(spec, NULL, NULL, &m), HFS_OK);
  hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
  assert_int_equal(o.optimizer, HFS_OPT_NEWTON);
  assert_int_equal(hfs_fitter_create(m, &o, &f), HFS_OK);
  int npar = hfs_model_npar(m), poi = hfs_model_poi(m), nb = hfs_model_nbins(m);
  double *init = calloc((size_t)npar, sizeof *init), *toy = calloc((size_t)nb, sizeof *toy);
  int *fixed = calloc((size_t)npar, sizeof *fixed);
  assert_true(init && toy && fixed);
  hfs_model_init(m, init);
  for (int i = 0; i < npar; i++) fixed[i] = hfs_model_par_fixed(m, i);
  const double *obs = hfs_model_observed(m);
  for (int b = 0; b < nb; b++) toy[b] = floor(obs[b] * (1.0 + 0.1 * ((b % 3) - 1)) + 0.5);
  int nuis = poi == 0 ? 1 : 0;
  assert_int_equal(hfs_fit_result_init(&res, npar, 1), HFS_OK);
  long fits = 0;
  for (int pass = 0; pass < 2; pass++) {
    /* pass 0 warms up (first-use buffers of the libraries), pass 1 counts */
    n_alloc = 0;
    counting = pass;
    for (int with_errors = 0; with_errors < 2; with_errors++) {
      for (int d = 0; d < 2; d++) {
        const double *main = d ? toy : NULL;
        assert_int_equal(hfs_fitter_minimize(f, main, NULL, NULL, NULL, with_errors, &res), HFS_OK);
        assert_int_equal(res.status, HFS_FIT_CONVERGED);
        fixed[poi] = 1;
        init[poi] = 1.0;
        assert_int_equal(hfs_fitter_minimize(f, main, NULL, init, fixed, with_errors, &res),
                         HFS_OK);
        assert_int_equal(res.status, HFS_FIT_CONVERGED);
        fixed[poi] = hfs_model_par_fixed(m, poi);
        fixed[nuis] = 1;
        assert_int_equal(hfs_fitter_minimize(f, main, NULL, init, fixed, with_errors, &res),
                         HFS_OK);
        fixed[nuis] = hfs_model_par_fixed(m, nuis);
        hfs_model_init(m, init);
        fits += 3 * pass;
      }
    }
    counting = 0;
  }
  printf("  %s: %ld fits, %ld allocations or frees\n", label, fits, n_alloc);
  assert_int_equal(n_alloc, 0);
  /* The wrapping sees the libraries' allocations: a record allocates. */
  hfs_fit_result probe;
  counting = 1;
  assert_int_equal(hfs_fit_result_init(&probe, npar, 0), HFS_OK);
  hfs_fit_result_free(&probe);
  counting = 0;
  assert_true(n_alloc >= 6);
  hfs_fit_result_free(&res);
  free(init);
  free(toy);
  free(fixed);
  hfs_fitter_destroy(&f);
  hfs_model_destroy(&m);
}

static void test_default_input(void **state) {
  (void)state;
  hfs_spec *spec = NULL;
  assert_int_equal(hfs_spec_read_file(HFS_SOURCE_DIR "/inputs/belle2_like.json", &spec), HFS_OK);
  run("default input", spec);
  hfs_spec_destroy(&spec);
}

static void test_dense_model(void **state) {
  (void)state;
  static const char ws[] =
      "{\"channels\": [{\"name\": \"SR\", \"samples\": ["
      " {\"name\": \"sig\", \"data\": [5.0, 8.0], \"modifiers\": ["
      "  {\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null}]},"
      " {\"name\": \"bkg\", \"data\": [50.0, 40.0], \"modifiers\": ["
      "  {\"name\": \"nb\", \"type\": \"normsys\", \"data\": {\"hi\": 1.1, \"lo\": 0.9}},"
      "  {\"name\": \"hb\", \"type\": \"histosys\", \"data\": {\"hi_data\": [52, 43],"
      "   \"lo_data\": [48, 38]}}]}]}],"
      " \"observations\": [{\"name\": \"SR\", \"data\": [57, 49]}],"
      " \"measurements\": [{\"name\": \"m\", \"config\": {\"poi\": \"mu\", \"parameters\": []}}],"
      " \"version\": \"1.0.0\"}";
  hfs_spec *spec = NULL;
  assert_int_equal(hfs_spec_read_buffer(ws, sizeof ws - 1, "dense.json", &spec), HFS_OK);
  run("dense model", spec);
  hfs_spec_destroy(&spec);
}

int main(int argc, char **argv) {
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_input),
      cmocka_unit_test(test_dense_model),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
