/* The compiled model against pyhf's own numbers for every reference
 * workspace: parameter order and names, suggested init/bounds/fixed, aux
 * data, observed data, expected data and twice_nll at the initial point and
 * at pyhf's best fits. */
#include "hfs_error.h"
#include "hfs_model.h"
#include "hfs_test.h"
#include "blocks_check.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(json_t *j) { return json_is_null(j) ? NAN : json_number_value(j); }

/* The structured Hessian equals the dense one; the per-channel rates sum to
 * the expected data.  At theta. */
static void check_blocks_rates(hfs_model *m, const double *th) {
  int nb = hfs_model_nbins(m);
  check_blocks(m, th);
  double *nu = calloc(nb, sizeof *nu), *nuc = calloc(nb, sizeof *nuc);
  hfs_model_expected(m, th, nu, NULL);
  for (int c = 0; c < hfs_model_nchannels(m); ++c) {
    int off = hfs_model_channel_offset(m, c), k = hfs_model_channel_nbins(m, c);
    assert_int_equal(hfs_model_rates(m, th, c, -1, nuc + off, NULL), HFS_OK);
    for (int j = 0; j < k; ++j) assert_close(nuc[off + j], nu[off + j], 1e-12 * fabs(nu[off + j]));
  }
  free(nu);
  free(nuc);
}

static void check_case(const char *dir, const char *name) {
  char wsp[1400], refp[1400];
  snprintf(wsp, sizeof wsp, "%s/%s.json", dir, name);
  snprintf(refp, sizeof refp, "%s/%s.ref.json", dir, name);
  json_error_t jerr;
  json_t *ref = json_load_file(refp, 0, &jerr);
  assert_non_null(ref);
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  int rc = hfs_spec_read_file(wsp, &spec);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  rc = hfs_model_create(spec, NULL, NULL, &m);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  json_t *model = json_object_get(ref, "model");
  json_t *names = json_object_get(model, "par_names");
  int n = hfs_model_npar(m);
  assert_int_equal(n, (int)json_array_size(names));
  for (int i = 0; i < n; ++i)
    assert_string_equal(hfs_model_par_name(m, i), json_string_value(json_array_get(names, i)));
  assert_int_equal(hfs_model_poi(m), (int)json_integer_value(json_object_get(model, "poi_index")));
  json_t *init = json_object_get(model, "suggested_init");
  json_t *bounds = json_object_get(model, "suggested_bounds");
  json_t *fixed = json_object_get(model, "suggested_fixed");
  for (int i = 0; i < n; ++i) {
    assert_close(hfs_model_par_init(m, i), num(json_array_get(init, i)), 1e-12);
    json_t *b = json_array_get(bounds, i);
    assert_close(hfs_model_par_lo(m, i), num(json_array_get(b, 0)), 1e-12);
    assert_close(hfs_model_par_hi(m, i), num(json_array_get(b, 1)), 1e-12);
    assert_int_equal(hfs_model_par_fixed(m, i) != 0, json_is_true(json_array_get(fixed, i)));
  }
  json_t *aux = json_object_get(model, "auxdata");
  assert_int_equal(hfs_model_naux(m), (int)json_array_size(aux));
  for (int a = 0; a < hfs_model_naux(m); ++a)
    assert_close(hfs_model_auxdata(m)[a], num(json_array_get(aux, a)),
                 1e-9 * (1 + fabs(hfs_model_auxdata(m)[a])));
  json_t *data = json_object_get(model, "data");
  int nb = hfs_model_nbins(m);
  for (int b = 0; b < nb; ++b)
    assert_close(hfs_model_observed(m)[b], num(json_array_get(data, b)), 0);

  double *th = calloc((size_t)(n > 0 ? n : 1), sizeof *th);
  double *nu = calloc((size_t)(nb > 0 ? nb : 1), sizeof *nu);
  hfs_model_init(m, th);
  hfs_model_expected(m, th, nu, NULL);
  json_t *exp0 = json_object_get(model, "expected_main_data_at_init");
  for (int b = 0; b < nb; ++b) {
    double e = num(json_array_get(exp0, b));
    assert_close(nu[b], e, 1e-9 * (1 + fabs(e)));
  }
  const double *obs = hfs_model_observed(m), *ad = hfs_model_auxdata(m);
  double f0 = hfs_model_twice_nll(m, obs, ad, th, NULL);
  double r0 = num(json_object_get(json_object_get(model, "nll_at_init"), "twice_nll"));
  if (fabs(f0 - r0) > 1e-9 * (1 + fabs(r0))) print_error("case %s\n", name);
  assert_close(f0, r0, 1e-9 * (1 + fabs(r0)));

  /* at pyhf's best fits the likelihood must give pyhf's minimum values */
  const char *blocks[] = {"mle", "mle_minuit_precise"};
  for (int k = 0; k < 2; ++k) {
    json_t *blk = json_object_get(ref, blocks[k]);
    if (!blk || !json_object_get(blk, "bestfit")) continue;
    json_t *bf = json_object_get(blk, "bestfit");
    for (int i = 0; i < n; ++i) th[i] = num(json_array_get(bf, i));
    double f = hfs_model_twice_nll(m, obs, ad, th, NULL);
    double r = num(json_object_get(blk, "twice_nll"));
    if (fabs(f - r) > 1e-8 * (1 + fabs(r))) print_error("case %s %s\n", name, blocks[k]);
    assert_close(f, r, 1e-8 * (1 + fabs(r)));
  }
  check_blocks_rates(m, th);
  free(th);
  free(nu);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
  json_decref(ref);
}

static void test_reference_cases(void **state) {
  const char *shared = *state;
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
    check_case(dir, name);
    ++count;
  }
  closedir(d);
  assert_true(count >= 25);
}

int main(void) {
  const char *shared = hfs_test_shared_dir();
  if (!shared) return hfs_test_skip("model reference tests");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(test_reference_cases, (void *)shared),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
