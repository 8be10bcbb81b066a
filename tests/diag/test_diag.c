/* Diagnostics: Asimov data sets (fits return the injected POI and the
 * nuisance parameters at their centres), the saturated goodness-of-fit
 * statistic against a direct computation, its degrees of freedom, and the
 * uniformity of its p-values on data drawn from the model. */
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quick(void) { return getenv("HFS_TEST_QUICK") != NULL; }

typedef struct {
  hfs_spec *s;
  hfs_model *m;
  hfs_infer *I;
} setup;

static void open_ws(setup *t, const char *path, const char *text) {
  int rc = path ? hfs_spec_read_file(path, &t->s)
                : hfs_spec_read_buffer(text, strlen(text), "diag.json", &t->s);
  if (!rc) rc = hfs_model_create(t->s, NULL, NULL, &t->m);
  if (!rc) rc = hfs_infer_create(t->m, NULL, NULL, NULL, &t->I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void close_ws(setup *t) {
  hfs_infer_destroy(&t->I);
  hfs_model_destroy(&t->m);
  hfs_spec_destroy(&t->s);
}

/* Four bins, a signal strength, a 10% normsys on the background, a shapesys
 * on the background (Poisson constraints) and an unconstrained background
 * normalisation: every kind of constraint the statistic treats. */
static const char *SMALL =
    "{\"version\":\"1.0.0\",\"channels\":[{\"name\":\"SR\",\"samples\":["
    "{\"name\":\"s\",\"data\":[4,9,6,2],\"modifiers\":[{\"name\":\"mu\",\"type\":\"normfactor\","
    "\"data\":null}]},"
    "{\"name\":\"b\",\"data\":[60,50,40,30],\"modifiers\":["
    "{\"name\":\"bn\",\"type\":\"normsys\",\"data\":{\"hi\":1.1,\"lo\":0.9}},"
    "{\"name\":\"bs\",\"type\":\"shapesys\",\"data\":[3,3,2,2]},"
    "{\"name\":\"k\",\"type\":\"normfactor\",\"data\":null}]}]},"
    "{\"name\":\"CR\",\"samples\":[{\"name\":\"b\",\"data\":[200,150],\"modifiers\":["
    "{\"name\":\"k\",\"type\":\"normfactor\",\"data\":null}]}]}],"
    "\"observations\":[{\"name\":\"SR\",\"data\":[70,55,51,30]},{\"name\":\"CR\",\"data\":[190,"
    "160]}],"
    "\"measurements\":[{\"name\":\"m\",\"config\":{\"poi\":\"mu\",\"parameters\":[{\"name\":\"mu\","
    "\"bounds\":[[-5,10]]}]}}]}";

static const char *belle2_like(void) { return HFS_SOURCE_DIR "/inputs/belle2_like.json"; }

/* Fit the Asimov set from a start away from the generating point and check
 * that the fit returns to it. */
static void check_asimov(setup *t, double mu, hfs_asimov_nuis nuis) {
  int n = hfs_model_npar(t->m), poi = hfs_model_poi(t->m);
  double *main = calloc((size_t)hfs_model_nbins(t->m), sizeof *main);
  double *aux = calloc((size_t)hfs_model_naux(t->m) + 1, sizeof *aux);
  double *theta = calloc((size_t)n, sizeof *theta), *start = calloc((size_t)n, sizeof *start);
  hfs_fit_summary gen;
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  assert_int_equal(hfs_asimov_generate(t->I, mu, nuis, main, aux, theta, &gen), HFS_OK);
  assert_int_equal(gen.status, HFS_FIT_CONVERGED);
  assert_close(theta[poi], mu, 0);
  for (int i = 0; i < n; ++i) {
    double w = hfs_model_par_prefit_width(t->m, i);
    start[i] = theta[i] + 0.3 * (w > 0 ? w : 0.2 * (fabs(theta[i]) + 1));
    if (start[i] > hfs_model_par_hi(t->m, i)) start[i] = theta[i] - 0.3 * (w > 0 ? w : 0.1);
  }
  if (nuis == HFS_ASIMOV_PREFIT)
    for (int i = 0; i < n; ++i)
      if (i != poi) assert_close(theta[i], hfs_model_par_init(t->m, i), 0);
  assert_int_equal(hfs_fit_result_init(&r, n, 0), HFS_OK);
  assert_int_equal(hfs_infer_fit_free(t->I, main, aux, start, &r), HFS_OK);
  assert_int_equal(r.status, HFS_FIT_CONVERGED);
  assert_close(r.theta[poi], mu, 1e-6);
  for (int i = 0; i < n; ++i) assert_close(r.theta[i], theta[i], 1e-6);
  hfs_fit_result_free(&r);
  free(main);
  free(aux);
  free(theta);
  free(start);
}

static void test_asimov_fits(void **state) {
  (void)state;
  setup t;
  open_ws(&t, belle2_like(), NULL);
  check_asimov(&t, 2.0, HFS_ASIMOV_POSTFIT);
  if (!quick()) {
    check_asimov(&t, 1.0, HFS_ASIMOV_PREFIT);
    check_asimov(&t, 3.5, HFS_ASIMOV_PREFIT);
  }
  close_ws(&t);
  open_ws(&t, NULL, SMALL);
  check_asimov(&t, 0.0, HFS_ASIMOV_PREFIT);
  check_asimov(&t, 1.5, HFS_ASIMOV_POSTFIT);
  close_ws(&t);
}

static void test_asimov_bounds(void **state) {
  (void)state;
  setup t;
  open_ws(&t, NULL, SMALL);
  double main[6], aux[8];
  assert_int_equal(hfs_asimov_generate(t.I, 10.5, HFS_ASIMOV_PREFIT, main, aux, NULL, NULL),
                   HFS_ERR_ARG);
  assert_non_null(strstr(hfs_error_message(), "outside the bounds [-5, 10]"));
  assert_int_equal(hfs_asimov_generate(t.I, NAN, HFS_ASIMOV_POSTFIT, main, aux, NULL, NULL),
                   HFS_ERR_ARG);
  close_ws(&t);
}

/* The statistic written out by hand: Poisson deviance of the main bins plus
 * the constraint terms' distance from their maxima. */
static void test_gof_statistic(void **state) {
  (void)state;
  setup t;
  open_ws(&t, NULL, SMALL);
  hfs_model *m = t.m;
  int n = hfs_model_npar(m), nb = hfs_model_nbins(m);
  hfs_gof g;
  assert_int_equal(hfs_gof_statistic(t.I, NULL, NULL, NULL, &g), HFS_OK);
  assert_int_equal(g.fit.status, HFS_FIT_CONVERGED);
  /* 6 bins; mu and k are free and unconstrained */
  assert_int_equal(g.ndof, 6 - 2);
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  assert_int_equal(hfs_fit_result_init(&r, n, 0), HFS_OK);
  assert_int_equal(hfs_infer_fit_free(t.I, NULL, NULL, NULL, &r), HFS_OK);
  double *nu = calloc((size_t)nb, sizeof *nu);
  hfs_model_expected(m, r.theta, nu, NULL);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  double t_hand = 0;
  for (int b = 0; b < nb; ++b)
    t_hand += 2 * (nu[b] - obs[b] + (obs[b] > 0 ? obs[b] * log(obs[b] / nu[b]) : 0));
  for (int i = 0; i < n; ++i) {
    int a = hfs_model_par_aux_index(m, i);
    if (a < 0) continue;
    if (hfs_model_par_constraint(m, i) == HFS_CONSTR_GAUSS) {
      double z = (r.theta[i] - aux[a]) / hfs_model_par_sigma(m, i);
      t_hand += z * z;
    } else { /* Poisson(aux | tau gamma) against its maximum at tau gamma = aux */
      double lam = hfs_model_par_tau(m, i) * r.theta[i];
      t_hand += 2 * (lam - aux[a] + aux[a] * log(aux[a] / lam));
    }
  }
  assert_close(g.t, t_hand, 1e-8 * (1 + t_hand));
  /* chi2 survival function with 4 degrees of freedom in closed form */
  assert_close(g.p_asymptotic, exp(-g.t / 2) * (1 + g.t / 2), 1e-12);
  hfs_fit_result_free(&r);
  free(nu);
  close_ws(&t);
}

/* Toys depend on the seed and their index only. */
static void test_gof_toys_reproducible(void **state) {
  (void)state;
  setup t;
  open_ws(&t, NULL, SMALL);
  hfs_gof_toys *A = NULL, *B = NULL;
  hfs_gof obs;
  assert_int_equal(hfs_gof_toys_create(t.I, 7, &A, &obs), HFS_OK);
  assert_int_equal(hfs_gof_toys_create(t.I, 7, &B, NULL), HFS_OK);
  hfs_gof_toy a[3], b[3];
  for (int k = 2; k >= 0; --k) assert_int_equal(hfs_gof_toys_run(B, k, &b[k]), HFS_OK);
  for (int k = 0; k < 3; ++k) assert_int_equal(hfs_gof_toys_run(A, k, &a[k]), HFS_OK);
  for (int k = 0; k < 3; ++k) {
    assert_int_equal(a[k].status, HFS_FIT_CONVERGED);
    assert_true(a[k].t == b[k].t);
  }
  assert_true(a[0].t != a[1].t);
  hfs_gof_toys_destroy(&A);
  hfs_gof_toys_destroy(&B);
  assert_int_equal(hfs_gof_toys_create(t.I, 8, &A, NULL), HFS_OK);
  assert_int_equal(hfs_gof_toys_run(A, 0, &b[0]), HFS_OK);
  assert_true(b[0].t != a[0].t);
  hfs_gof_toys_destroy(&A);
  close_ws(&t);
}

static int cmp(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* Kolmogorov-Smirnov distance of a sample from the uniform distribution. */
static double ks_uniform(double *p, int n) {
  qsort(p, (size_t)n, sizeof *p, cmp);
  double d = 0;
  for (int i = 0; i < n; ++i) {
    double lo = p[i] - (double)i / n, hi = (double)(i + 1) / n - p[i];
    if (lo > d) d = lo;
    if (hi > d) d = hi;
  }
  return d;
}

/* Data sets drawn from the model itself: their asymptotic and toy p-values
 * are uniform (KS test at the 1% level, seeded so it always gives the same
 * verdict). */
static void test_gof_pvalues_uniform(void **state) {
  (void)state;
  setup t;
  open_ws(&t, NULL, SMALL);
  hfs_model *m = t.m;
  int nb = hfs_model_nbins(m), na = hfs_model_naux(m);
  int M = quick() ? 24 : 200, K = quick() ? 16 : 100;
  double *main = calloc((size_t)nb, sizeof *main), *aux = calloc((size_t)na, sizeof *aux);
  double *pa = calloc((size_t)M, sizeof *pa), *pt = calloc((size_t)M, sizeof *pt);
  hfs_gof_toy *toys = calloc((size_t)K, sizeof *toys);
  /* The truth: the model at its nominal point with mu = 1. */
  assert_int_equal(hfs_asimov_generate(t.I, 1.0, HFS_ASIMOV_PREFIT, main, aux, NULL, NULL), HFS_OK);
  assert_int_equal(hfs_model_set_data(m, main, aux), HFS_OK);
  hfs_gof_toys *truth = NULL;
  assert_int_equal(hfs_gof_toys_create(t.I, 12345, &truth, NULL), HFS_OK);
  int64_t failed = 0;
  for (int e = 0; e < M; ++e) {
    assert_int_equal(hfs_gof_toys_generate(truth, e, main, aux), HFS_OK);
    assert_int_equal(hfs_model_set_data(m, main, aux), HFS_OK);
    hfs_gof_toys *G = NULL;
    hfs_gof obs;
    assert_int_equal(hfs_gof_toys_create(t.I, 1000 + (uint64_t)e, &G, &obs), HFS_OK);
    assert_int_equal(obs.fit.status, HFS_FIT_CONVERGED);
    for (int k = 0; k < K; ++k) assert_int_equal(hfs_gof_toys_run(G, k, &toys[k]), HFS_OK);
    hfs_gof_pvalue pv;
    hfs_gof_toys_pvalue(toys, K, obs.t, &pv);
    failed += pv.nfailed;
    pa[e] = obs.p_asymptotic;
    pt[e] = pv.p;
    hfs_gof_toys_destroy(&G);
  }
  double crit = 1.63 / sqrt((double)M); /* KS critical value, 1% level */
  double da = ks_uniform(pa, M), dt = ks_uniform(pt, M);
  print_message(
      "KS distance from uniform over %d data sets: asymptotic %.4f, toys %.4f "
      "(critical %.4f); %lld toy fits not converged\n",
      M, da, dt, crit, (long long)failed);
  assert_true(failed == 0);
  assert_true(da < crit);
  /* toy p-values are multiples of 1/K: allow that step */
  assert_true(dt < crit + 1.0 / K);
  hfs_gof_toys_destroy(&truth);
  free(main);
  free(aux);
  free(pa);
  free(pt);
  free(toys);
  close_ws(&t);
}

static void test_gof_belle2_like(void **state) {
  (void)state;
  setup t;
  open_ws(&t, belle2_like(), NULL);
  hfs_gof g;
  assert_int_equal(hfs_gof_statistic(t.I, NULL, NULL, NULL, &g), HFS_OK);
  assert_int_equal(g.fit.status, HFS_FIT_CONVERGED);
  /* 24 bins; mu is the only free unconstrained parameter */
  assert_int_equal(g.ndof, 23);
  assert_true(g.t > 0 && g.p_asymptotic > 0 && g.p_asymptotic < 1);
  /* On its own Asimov data the best fit is the saturated model's equal in
   * the main bins and the constraints: t vanishes. */
  int nb = hfs_model_nbins(t.m), na = hfs_model_naux(t.m);
  double *main = calloc((size_t)nb, sizeof *main), *aux = calloc((size_t)na, sizeof *aux);
  assert_int_equal(hfs_asimov_generate(t.I, 1.0, HFS_ASIMOV_PREFIT, main, aux, NULL, NULL), HFS_OK);
  assert_int_equal(hfs_gof_statistic(t.I, main, aux, NULL, &g), HFS_OK);
  assert_close(g.t, 0, 1e-8);
  free(main);
  free(aux);
  close_ws(&t);
}

/* Two normalisations with overlapping templates and a million events: the
 * likelihood is Gaussian to a part in a thousand. */
static const char *GAUSS =
    "{\"version\":\"1.0.0\",\"channels\":[{\"name\":\"SR\",\"samples\":["
    "{\"name\":\"A\",\"data\":[1e6,2e5],\"modifiers\":[{\"name\":\"a\",\"type\":\"normfactor\","
    "\"data\":null}]},"
    "{\"name\":\"B\",\"data\":[3e5,1e6],\"modifiers\":[{\"name\":\"b\",\"type\":\"normfactor\","
    "\"data\":null}]}]}],"
    "\"observations\":[{\"name\":\"SR\",\"data\":[1302000,1197000]}],"
    "\"measurements\":[{\"name\":\"m\",\"config\":{\"poi\":\"a\",\"parameters\":["
    "{\"name\":\"a\",\"bounds\":[[0,5]]},{\"name\":\"b\",\"bounds\":[[0,5]]}]}}]}";

/* Run every unit of a scan in this process. */
static hfs_pscan_point *scan_all(hfs_pscan *s) {
  int64_t n = hfs_pscan_nunits(s);
  hfs_pscan_point *res = calloc((size_t)n, sizeof *res);
  for (int64_t u = n - 1; u >= 0; --u) assert_int_equal(hfs_pscan_run(s, u, &res[u]), HFS_OK);
  return res;
}

/* The 68% and 95% contours of the 2D scan, found on the grid by linear
 * interpolation along each row, lie on the ellipse of the covariance; the
 * grid's centre is the fit and its minimum. */
static void test_scan2d_gaussian(void **state) {
  (void)state;
  setup t;
  open_ws(&t, NULL, GAUSS);
  hfs_model *m = t.m;
  int ia = hfs_model_par_find(m, "a"), ib = hfs_model_par_find(m, "b"), n = hfs_model_npar(m);
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  assert_int_equal(hfs_fit_result_init(&r, n, 1), HFS_OK);
  assert_int_equal(hfs_fitter_minimize(hfs_infer_fitter(t.I), NULL, NULL, hfs_infer_init(t.I),
                                       hfs_infer_fixed(t.I), 1, &r),
                   HFS_OK);
  double ca = r.cov[ia * n + ia], cb = r.cov[ib * n + ib], cab = r.cov[ia * n + ib];
  double sa = sqrt(ca), sb = sqrt(cb), det = ca * cb - cab * cab;
  assert_true(fabs(cab) / (sa * sb) > 0.3); /* a tilted ellipse */
  int N = quick() ? 21 : 41;
  int par[2] = {ia, ib}, np[2] = {N, N};
  double lo[2] = {r.theta[ia] - 3 * sa, r.theta[ib] - 3 * sb};
  double hi[2] = {r.theta[ia] + 3 * sa, r.theta[ib] + 3 * sb};
  hfs_pscan *s = NULL;
  assert_int_equal(hfs_pscan_create(t.I, 2, par, lo, hi, np, NULL, &s), HFS_OK);
  hfs_pscan_point *res = scan_all(s);
  double f0 = hfs_pscan_free_fit(s)->twice_nll;
  int64_t centre = (int64_t)(N / 2) * N + N / 2, best = 0;
  for (int64_t u = 0; u < (int64_t)N * N; ++u) {
    assert_int_equal(res[u].status, HFS_FIT_CONVERGED);
    assert_true(res[u].twice_nll - f0 > -1e-9);
    if (res[u].twice_nll < res[best].twice_nll) best = u;
  }
  assert_true(best == centre);
  assert_close(res[centre].x, r.theta[ia], 1e-12);
  assert_close(res[centre].y, r.theta[ib], 1e-12);
  assert_close(res[centre].twice_nll - f0, 0, 1e-7);
  const double levels[2] = {2.2957, 5.9915}; /* 68.27% and 95% for two parameters */
  int ncross = 0;
  double worst = 0;
  for (int l = 0; l < 2; ++l)
    for (int i = 0; i < N; ++i) {
      double da = res[(int64_t)i * N].x - r.theta[ia];
      /* the ellipse: (cb da^2 - 2 cab da db + ca db^2) / det = level */
      for (int j = 0; j + 1 < N; ++j) {
        double d0 = res[(int64_t)i * N + j].twice_nll - f0,
               d1 = res[(int64_t)i * N + j + 1].twice_nll - f0;
        if ((d0 - levels[l]) * (d1 - levels[l]) > 0) continue;
        double y0 = res[(int64_t)i * N + j].y, y1 = res[(int64_t)i * N + j + 1].y;
        double y = y0 + (levels[l] - d0) / (d1 - d0) * (y1 - y0) - r.theta[ib];
        /* radial distance from the ellipse: sqrt(Q / level) - 1, which stays
         * meaningful where a row grazes the ellipse */
        double q = (cb * da * da - 2 * cab * da * y + ca * y * y) / det;
        double e = fabs(sqrt(q / levels[l]) - 1);
        if (e > worst) worst = e;
        ++ncross;
      }
    }
  print_message("%d contour crossings; largest radial distance from the ellipse %.2e\n", ncross,
                worst);
  assert_true(ncross >= (quick() ? 30 : 60));
  /* linear interpolation on the coarse quick grid adds its own error */
  assert_true(worst < (quick() ? 2e-2 : 5e-3));
  free(res);
  hfs_pscan_destroy(&s);
  hfs_fit_result_free(&r);
  close_ws(&t);
}

/* On the default input: a 2D scan through the best fit has its minimum
 * there, equal to the fit; a nuisance parameter scanned in 1D with the
 * statistical groups frozen; bad ranges and fixed parameters refused. */
static void test_scan_any_parameter(void **state) {
  (void)state;
  setup t;
  open_ws(&t, belle2_like(), NULL);
  hfs_model *m = t.m;
  int n = hfs_model_npar(m), poi = hfs_model_poi(m), np = hfs_model_par_find(m, "norm_charged_B");
  assert_true(np >= 0);
  hfs_pscan *s = NULL;
  int par[2] = {poi, np}, npts[2] = {5, 5};
  double lo[2] = {0, -1}, hi[2] = {10, 1};
  assert_int_equal(hfs_pscan_create(t.I, 2, par, lo, hi, npts, NULL, &s), HFS_OK);
  const hfs_fit_result *ff = hfs_pscan_free_fit(s);
  double m0 = ff->theta[poi], t0 = ff->theta[np], sm = ff->error_hessian[poi],
         st = ff->error_hessian[np];
  hfs_pscan_destroy(&s);
  lo[0] = m0 - sm;
  hi[0] = m0 + sm;
  lo[1] = t0 - st;
  hi[1] = t0 + st;
  assert_int_equal(hfs_pscan_create(t.I, 2, par, lo, hi, npts, NULL, &s), HFS_OK);
  hfs_pscan_point *res = scan_all(s);
  double f0 = hfs_pscan_free_fit(s)->twice_nll;
  int64_t best = 0;
  for (int64_t u = 0; u < 25; ++u) {
    assert_int_equal(res[u].status, HFS_FIT_CONVERGED);
    assert_true(res[u].twice_nll - f0 > -1e-6);
    if (res[u].twice_nll < res[best].twice_nll) best = u;
  }
  assert_int_equal(best, 12);
  assert_close(res[12].x, m0, 1e-12);
  assert_close(res[12].y, t0, 1e-12);
  assert_close(res[12].twice_nll - f0, 0, 1e-6);
  /* about one sigma along an axis: 2 delta NLL near 1 (Hessian errors) */
  assert_true(fabs(res[2].twice_nll - f0 - 1) < 0.2);
  free(res);
  hfs_pscan_destroy(&s);
  /* bad input */
  lo[0] = -1;
  hi[0] = 3;
  assert_int_equal(hfs_pscan_create(t.I, 1, par, lo, hi, npts, NULL, &s), HFS_ERR_ARG);
  assert_non_null(strstr(hfs_error_message(), "outside the parameter's bounds [0, 20]"));
  int twice[2] = {poi, poi};
  lo[0] = 0;
  assert_int_equal(hfs_pscan_create(t.I, 2, twice, lo, hi, npts, NULL, &s), HFS_ERR_ARG);
  assert_non_null(strstr(hfs_error_message(), "given twice"));
  int *fixed = calloc((size_t)n, sizeof *fixed);
  fixed[np] = 1;
  hfs_infer *J = NULL;
  assert_int_equal(hfs_infer_create(m, NULL, fixed, NULL, &J), HFS_OK);
  assert_int_equal(hfs_pscan_create(J, 1, &np, lo + 1, hi + 1, npts, NULL, &s), HFS_ERR_ARG);
  assert_non_null(strstr(hfs_error_message(), "held fixed"));
  hfs_infer_destroy(&J);
  free(fixed);
  close_ws(&t);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_asimov_fits),         cmocka_unit_test(test_asimov_bounds),
      cmocka_unit_test(test_gof_statistic),       cmocka_unit_test(test_gof_toys_reproducible),
      cmocka_unit_test(test_gof_pvalues_uniform), cmocka_unit_test(test_gof_belle2_like),
      cmocka_unit_test(test_scan2d_gaussian),     cmocka_unit_test(test_scan_any_parameter),
  };
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
