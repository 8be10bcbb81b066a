/* The structured Newton backend against TAO on real likelihoods: the
 * published ones of ../shared/workspaces (Belle II; ATLAS sbottom, every
 * tenth signal patch of each region; ATLAS 3L eRJR, all 66 signal points
 * as BkgOnly + patch; the 1Lbb patchset is not a JSON Patch and its
 * BkgOnly has no POI) and 1000 Belle II toys at
 * mu = 1 (500 signal+background, 500 background; a free fit and a fit with
 * mu fixed at 1 on each).  Newton must reach a twice_nll at least as low as
 * TAO's (within 1e-8) and agree in mu-hat to 1e-6 wherever TAO converged,
 * and converge wherever TAO did.  Failure counts per backend are printed.
 * HFS_TEST_QUICK (sanitizer builds) takes 40 toys and fewer points. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_fit.h"
#include "hfs_infer.h"
#include "hfs_log.h"
#include "hfs_test.h"
#include "hfs_toys.h"

static const char *shared;
static int quick;

typedef struct {
  int cases, fail[2], worse, mu_off, polished;
  double max_dnll, max_dmu;
} tally;

static void quiet(const char *line, void *ctx) {
  (void)line;
  (void)ctx;
}

/* Fit with both backends and compare. */
static void compare(const char *label, hfs_fitter *fn, hfs_fitter *ft, int poi, const double *main,
                    const double *aux, const double *init, const int *fixed, hfs_fit_result *rn,
                    hfs_fit_result *rt, tally *t) {
  assert_int_equal(hfs_fitter_minimize(fn, main, aux, init, fixed, 0, rn), HFS_OK);
  assert_int_equal(hfs_fitter_minimize(ft, main, aux, init, fixed, 0, rt), HFS_OK);
  t->cases++;
  int okn = rn->status == HFS_FIT_CONVERGED, okt = rt->status == HFS_FIT_CONVERGED;
  t->fail[0] += !okn;
  t->fail[1] += !okt;
  /* The Newton backend's own end point stands: the fitter finishes none of
   * its fits with the dense polishing steps (each a dense Hessian and
   * Cholesky) meant for backends that stop short. */
  t->polished += strstr(rn->reason, "polishing") != NULL;
  if (!okn || !okt)
    printf("  %s: newton %s (%s), tao %s (%s)\n", label, hfs_fit_status_name(rn->status),
           rn->reason, hfs_fit_status_name(rt->status), rt->reason);
  if (!okt) return;
  double dnll = rn->twice_nll - rt->twice_nll;
  double dmu = fabs(rn->theta[poi] - rt->theta[poi]);
  if (dnll > t->max_dnll) t->max_dnll = dnll;
  if (!(fixed && fixed[poi]) && dmu > t->max_dmu) t->max_dmu = dmu;
  if (!(dnll <= 1e-8)) {
    t->worse++;
    printf("  %s: twice_nll newton %.10f above tao %.10f\n", label, rn->twice_nll, rt->twice_nll);
  }
  if (!(fixed && fixed[poi]) && !(dmu <= 1e-6)) {
    t->mu_off++;
    printf("  %s: mu-hat newton %.9f, tao %.9f\n", label, rn->theta[poi], rt->theta[poi]);
  }
}

static void report(const char *what, const tally *t) {
  printf(
      "  %s: %d fits; not converged: newton %d, tao %d; newton above tao %d, "
      "mu-hat apart %d; newton fits polished by the fitter %d; largest twice_nll(newton) - "
      "twice_nll(tao) %.1e, largest |mu-hat difference| %.1e\n",
      what, t->cases, t->fail[0], t->fail[1], t->worse, t->mu_off, t->polished, t->max_dnll,
      t->max_dmu);
  assert_true(t->cases > 0);
  assert_int_equal(t->fail[0], 0);
  assert_int_equal(t->worse, 0);
  assert_int_equal(t->mu_off, 0);
  assert_int_equal(t->polished, 0);
}

/* Free fit of one workspace (optionally patched) with both backends. */
static void fit_workspace(const char *label, const char *ws, const char *patch, tally *t) {
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  hfs_fitter *fn = NULL, *ft = NULL;
  hfs_fit_result rn, rt;
  const char *p = patch;
  int rc = hfs_spec_read_file_patched(ws, &p, patch ? 1 : 0, &spec);
  if (!rc) rc = hfs_model_create(spec, NULL, NULL, &m);
  if (rc) printf("  %s: %s\n", label, hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  hfs_fit_options on = HFS_FIT_OPTIONS_DEFAULT, ot = HFS_FIT_OPTIONS_DEFAULT;
  on.optimizer = HFS_OPT_NEWTON;
  ot.optimizer = HFS_OPT_TAO;
  assert_int_equal(hfs_fitter_create(m, &on, &fn), HFS_OK);
  assert_int_equal(hfs_fitter_create(m, &ot, &ft), HFS_OK);
  int npar = hfs_model_npar(m);
  assert_int_equal(hfs_fit_result_init(&rn, npar, 0), HFS_OK);
  assert_int_equal(hfs_fit_result_init(&rt, npar, 0), HFS_OK);
  compare(label, fn, ft, hfs_model_poi(m), NULL, NULL, NULL, NULL, &rn, &rt, t);
  hfs_fit_result_free(&rn);
  hfs_fit_result_free(&rt);
  hfs_fitter_destroy(&fn);
  hfs_fitter_destroy(&ft);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of dir whose names contain key, sorted; returns how many. */
static int list_files(const char *dir, const char *key, char **names, int cap) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < cap)
    if (strstr(de->d_name, key)) names[n++] = strdup(de->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  return n;
}

static void test_published(void **state) {
  (void)state;
  tally t = {0};
  char ws[4200], patch[4600], label[300];
  snprintf(ws, sizeof ws, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json", shared);
  fit_workspace("belle2", ws, NULL, &t);
  const char *regions[3] = {"A", "B", "C"};
  char *names[512];
  for (int r = 0; r < 3; r++) {
    char dir[4000];
    snprintf(dir, sizeof dir, "%s/workspaces/atlas_sbottom_multib_ins1748602/Region%s", shared,
             regions[r]);
    snprintf(ws, sizeof ws, "%s/BkgOnly.json", dir);
    int n = list_files(dir, "patch.", names, 512);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
      if (i % (quick ? 60 : 10) == 0) {
        snprintf(patch, sizeof patch, "%s/%s", dir, names[i]);
        snprintf(label, sizeof label, "sbottom %s %s", regions[r], names[i]);
        fit_workspace(label, ws, patch, &t);
      }
      free(names[i]);
    }
  }
  {
    char dir[4000];
    snprintf(dir, sizeof dir, "%s/workspaces/atlas_ewk3l_erjr", shared);
    snprintf(ws, sizeof ws, "%s/BkgOnly.json", dir);
    char pdir[4300];
    snprintf(pdir, sizeof pdir, "%s/patches", dir);
    int n = list_files(pdir, "patch.", names, 512);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
      if (!quick || i % 11 == 0) {
        snprintf(patch, sizeof patch, "%s/%s", pdir, names[i]);
        snprintf(label, sizeof label, "3L %s", names[i]);
        fit_workspace(label, ws, patch, &t);
      }
      free(names[i]);
    }
  }
  report("published likelihoods", &t);
}

/* The Belle II likelihood with toys at mu = 1 (Newton fits for the
 * generating points). */
typedef struct {
  hfs_spec *spec;
  hfs_model *m;
  hfs_infer *I;
  hfs_toys *T;
} belle2_toys;

static void belle2_open(belle2_toys *b) {
  char ws[4200];
  snprintf(ws, sizeof ws, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json", shared);
  memset(b, 0, sizeof *b);
  assert_int_equal(hfs_spec_read_file(ws, &b->spec), HFS_OK);
  assert_int_equal(hfs_model_create(b->spec, NULL, NULL, &b->m), HFS_OK);
  hfs_fit_options on = HFS_FIT_OPTIONS_DEFAULT;
  on.optimizer = HFS_OPT_NEWTON;
  assert_int_equal(hfs_infer_create(b->m, &on, NULL, NULL, &b->I), HFS_OK);
  double mu = 1.0;
  assert_int_equal(hfs_toys_create(b->I, HFS_TS_QTILDE, 1, 1, &mu, &b->T), HFS_OK);
}

static void belle2_close(belle2_toys *b) {
  hfs_toys_destroy(&b->T);
  hfs_infer_destroy(&b->I);
  hfs_model_destroy(&b->m);
  hfs_spec_destroy(&b->spec);
}

static void test_belle2_toys(void **state) {
  (void)state;
  belle2_toys bt;
  belle2_open(&bt);
  hfs_model *m = bt.m;
  hfs_toys *T = bt.T;
  double mu = 1.0; /* the toys' */
  hfs_fitter *fn = NULL, *ft = NULL;
  hfs_fit_options on = HFS_FIT_OPTIONS_DEFAULT, ot = HFS_FIT_OPTIONS_DEFAULT;
  on.optimizer = HFS_OPT_NEWTON;
  ot.optimizer = HFS_OPT_TAO;
  assert_int_equal(hfs_fitter_create(m, &on, &fn), HFS_OK);
  assert_int_equal(hfs_fitter_create(m, &ot, &ft), HFS_OK);
  int npar = hfs_model_npar(m), poi = hfs_model_poi(m);
  int nb = hfs_model_nbins(m), na = hfs_model_naux(m);
  double *main = calloc((size_t)nb, sizeof *main), *aux = calloc((size_t)na + 1, sizeof *aux);
  double *init = calloc((size_t)npar, sizeof *init);
  int *fixed = calloc((size_t)npar, sizeof *fixed);
  assert_true(main && aux && init && fixed);
  hfs_model_init(m, init);
  for (int i = 0; i < npar; i++) fixed[i] = hfs_model_par_fixed(m, i);
  hfs_fit_result rn, rt;
  assert_int_equal(hfs_fit_result_init(&rn, npar, 0), HFS_OK);
  assert_int_equal(hfs_fit_result_init(&rt, npar, 0), HFS_OK);
  tally t = {0};
  int ntoys = quick ? 20 : 500;
  for (int hyp = 0; hyp < 2; hyp++) {
    for (int k = 0; k < ntoys; k++) {
      char label[64];
      assert_int_equal(hfs_toys_generate(T, 0, hyp, k, main, aux), HFS_OK);
      snprintf(label, sizeof label, "toy %s %d free", hyp ? "b" : "s+b", k);
      compare(label, fn, ft, poi, main, aux, NULL, NULL, &rn, &rt, &t);
      init[poi] = mu;
      fixed[poi] = 1;
      snprintf(label, sizeof label, "toy %s %d at mu=1", hyp ? "b" : "s+b", k);
      compare(label, fn, ft, poi, main, aux, init, fixed, &rn, &rt, &t);
      hfs_model_init(m, init);
      fixed[poi] = hfs_model_par_fixed(m, poi);
    }
  }
  report("Belle II toys", &t);
  hfs_fit_result_free(&rn);
  hfs_fit_result_free(&rt);
  free(main);
  free(aux);
  free(init);
  free(fixed);
  hfs_fitter_destroy(&fn);
  hfs_fitter_destroy(&ft);
  belle2_close(&bt);
}

/* Free fits of Belle II toys from their generating point with the first
 * step a Fisher-scoring step (hfs_fitter_set_first_scoring, as toys run
 * them) against the same fits without it: the same minimum, every fit
 * converged; and a fit's result does not depend on whether the fitter had
 * the factors at that point cached (a fresh fitter gives the same bits). */
static void test_first_scoring(void **state) {
  (void)state;
  belle2_toys bt;
  belle2_open(&bt);
  hfs_model *m = bt.m;
  hfs_toys *T = bt.T;
  hfs_fitter *fs = NULL, *fn = NULL;
  hfs_fit_options on = HFS_FIT_OPTIONS_DEFAULT;
  on.optimizer = HFS_OPT_NEWTON;
  assert_int_equal(hfs_fitter_create(m, &on, &fs), HFS_OK);
  assert_int_equal(hfs_fitter_create(m, &on, &fn), HFS_OK);
  assert_int_equal(hfs_fitter_set_first_scoring(fs, 1), HFS_OK);
  int npar = hfs_model_npar(m), poi = hfs_model_poi(m);
  int nb = hfs_model_nbins(m), na = hfs_model_naux(m);
  double *main = calloc((size_t)nb, sizeof *main), *aux = calloc((size_t)na + 1, sizeof *aux);
  assert_true(main && aux);
  hfs_fit_result rs, rn, rf;
  assert_int_equal(hfs_fit_result_init(&rs, npar, 0), HFS_OK);
  assert_int_equal(hfs_fit_result_init(&rn, npar, 0), HFS_OK);
  assert_int_equal(hfs_fit_result_init(&rf, npar, 0), HFS_OK);
  int ntoys = quick ? 10 : 200, fails = 0, fresh = 0, iters[2] = {0, 0};
  double max_dnll = 0.0, max_dmu = 0.0;
  for (int hyp = 0; hyp < 2; hyp++) {
    const double *gen = NULL;
    assert_int_equal(hfs_toys_point_pars(T, 0, hyp, &gen, NULL), HFS_OK);
    for (int k = 0; k < ntoys; k++) {
      assert_int_equal(hfs_toys_generate(T, 0, hyp, k, main, aux), HFS_OK);
      assert_int_equal(hfs_fitter_minimize(fs, main, aux, gen, NULL, 0, &rs), HFS_OK);
      assert_int_equal(hfs_fitter_minimize(fn, main, aux, gen, NULL, 0, &rn), HFS_OK);
      fails += rs.status != HFS_FIT_CONVERGED || rn.status != HFS_FIT_CONVERGED;
      iters[0] += rs.n_iter;
      iters[1] += rn.n_iter;
      max_dnll = fmax(max_dnll, fabs(rs.twice_nll - rn.twice_nll));
      max_dmu = fmax(max_dmu, fabs(rs.theta[poi] - rn.theta[poi]));
      if (k % 25 == 7) {
        hfs_fitter *fc = NULL;
        assert_int_equal(hfs_fitter_create(m, &on, &fc), HFS_OK);
        assert_int_equal(hfs_fitter_set_first_scoring(fc, 1), HFS_OK);
        assert_int_equal(hfs_fitter_minimize(fc, main, aux, gen, NULL, 0, &rf), HFS_OK);
        fresh++;
        assert_int_equal(rf.n_iter, rs.n_iter);
        assert_memory_equal(rf.theta, rs.theta, (size_t)npar * sizeof *rf.theta);
        hfs_fitter_destroy(&fc);
      }
    }
  }
  printf(
      "  first scoring: %d toys; not converged %d; iterations %d with, %d without; largest "
      "|twice_nll difference| %.1e, |mu-hat difference| %.1e; %d fresh fitters equal\n",
      2 * ntoys, fails, iters[0], iters[1], max_dnll, max_dmu, fresh);
  assert_int_equal(fails, 0);
  assert_true(max_dnll <= 1e-8);
  assert_true(max_dmu <= 1e-6);
  hfs_fit_result_free(&rs);
  hfs_fit_result_free(&rn);
  hfs_fit_result_free(&rf);
  free(main);
  free(aux);
  hfs_fitter_destroy(&fs);
  hfs_fitter_destroy(&fn);
  belle2_close(&bt);
}

int main(int argc, char **argv) {
  shared = hfs_test_shared_dir();
  if (!shared) return hfs_test_skip("published likelihoods");
  quick = getenv("HFS_TEST_QUICK") != NULL;
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  hfs_warn_set_sink(quiet, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_published),
      cmocka_unit_test(test_belle2_toys),
      cmocka_unit_test(test_first_scoring),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
