/* The optimizer core on analytic problems, every backend x every problem:
 * bounded Rosenbrock, a quadratic with an active bound, a Poisson counting
 * likelihood (interior and at the POI bound), an objective that is +INFINITY
 * in a region, fixed parameters, no free parameter, failures recorded as
 * statuses, and the covariance of a quadratic against its analytic
 * inverse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hfs_error.h"
#include "hfs_test.h"

typedef struct {
  const char *name;
  int npar;
  hfs_fit_objective_fn f;
  hfs_fit_hessian_fn h;
  double lo[4], hi[4];
  int calls; /* objective calls, to check n_eval */
} problem;

static const hfs_fit_backend *const backends[] = {
    &hfs__fit_backend_tao_bntl,      &hfs__fit_backend_tao_bntr,    &hfs__fit_backend_tao_bnls,
    &hfs__fit_backend_tao_bnls_chol, &hfs__fit_backend_tao_bqnls,   &hfs__fit_backend_tao_blmvm,
    &hfs__fit_backend_nlopt_lbfgs,   &hfs__fit_backend_nlopt_slsqp, &hfs__fit_backend_nlopt_tnewton,
    &hfs__fit_backend_newton,
};
#define NBACKENDS ((int)(sizeof backends / sizeof backends[0]))

/* ---- problems ---- */

/* 2-D Rosenbrock, 100 (y - x^2)^2 + (1 - x)^2. */
static double rosen_f(void *ctx, const double *t, double *g) {
  ((problem *)ctx)->calls++;
  double x = t[0], y = t[1], a = y - x * x;
  if (g) {
    g[0] = -400.0 * x * a - 2.0 * (1.0 - x);
    g[1] = 200.0 * a;
  }
  return 100.0 * a * a + (1.0 - x) * (1.0 - x);
}
static int rosen_h(void *ctx, const double *t, double *h) {
  (void)ctx;
  double x = t[0], y = t[1];
  h[0] = 1200.0 * x * x - 400.0 * y + 2.0;
  h[1] = h[2] = -400.0 * x;
  h[3] = 200.0;
  return HFS_OK;
}

/* (x - a)^T A (x - a) in 3-D; its Hessian is 2A, so the covariance
 * 2 H^-1 is A^-1. */
static const double QA[9] = {4, 1, 0, 1, 3, 0.5, 0, 0.5, 2};
static const double Qa[3] = {1, -2, 0.5};
static double quad_f(void *ctx, const double *t, double *g) {
  ((problem *)ctx)->calls++;
  double d[3], f = 0.0;
  for (int i = 0; i < 3; i++) d[i] = t[i] - Qa[i];
  for (int i = 0; i < 3; i++) {
    double ad = 0.0;
    for (int j = 0; j < 3; j++) ad += QA[3 * i + j] * d[j];
    f += d[i] * ad;
    if (g) g[i] = 2.0 * ad;
  }
  return f;
}
static int quad_h(void *ctx, const double *t, double *h) {
  (void)ctx;
  (void)t;
  for (int k = 0; k < 9; k++) h[k] = 2.0 * QA[k];
  return HFS_OK;
}

/* A counting likelihood in pyhf's form: a signal region with
 * lambda1 = mu s + beta b1 and a control region with lambda2 = beta b2;
 * twice_nll = 2 sum (lambda - n ln lambda), +INFINITY where a rate is not
 * positive.  PN[0] is the signal-region count (set per test). */
static double PN[2] = {40.0, 110.0};
static const double PS = 10.0, PB1 = 20.0, PB2 = 100.0;
static double pois_f(void *ctx, const double *t, double *g) {
  ((problem *)ctx)->calls++;
  double mu = t[0], beta = t[1];
  double l1 = mu * PS + beta * PB1, l2 = beta * PB2;
  if (!(l1 > 0.0) || !(l2 > 0.0)) return INFINITY;
  if (g) {
    double r1 = 1.0 - PN[0] / l1, r2 = 1.0 - PN[1] / l2;
    g[0] = 2.0 * PS * r1;
    g[1] = 2.0 * (PB1 * r1 + PB2 * r2);
  }
  return 2.0 * (l1 - PN[0] * log(l1) + l2 - PN[1] * log(l2));
}
static int pois_h(void *ctx, const double *t, double *h) {
  (void)ctx;
  double mu = t[0], beta = t[1];
  double l1 = mu * PS + beta * PB1, l2 = beta * PB2;
  double w1 = 2.0 * PN[0] / (l1 * l1), w2 = 2.0 * PN[1] / (l2 * l2);
  h[0] = w1 * PS * PS;
  h[1] = h[2] = w1 * PS * PB1;
  h[3] = w1 * PB1 * PB1 + w2 * PB2 * PB2;
  return HFS_OK;
}

/* 2 sum (x_i - 2 ln x_i): minimum at x_i = 2, +INFINITY for x_i <= 0.  From
 * x = 10 a Newton step lands at -30, deep in the undefined region. */
static double log_f(void *ctx, const double *t, double *g) {
  ((problem *)ctx)->calls++;
  double f = 0.0;
  for (int i = 0; i < 2; i++) {
    if (!(t[i] > 0.0)) return INFINITY;
    f += 2.0 * (t[i] - 2.0 * log(t[i]));
    if (g) g[i] = 2.0 * (1.0 - 2.0 / t[i]);
  }
  return f;
}
static int log_h(void *ctx, const double *t, double *h) {
  (void)ctx;
  h[0] = 4.0 / (t[0] * t[0]);
  h[1] = h[2] = 0.0;
  h[3] = 4.0 / (t[1] * t[1]);
  return HFS_OK;
}

static double inf_f(void *ctx, const double *t, double *g) {
  ((problem *)ctx)->calls++;
  (void)t;
  if (g) g[0] = g[1] = 0.0;
  return INFINITY;
}

static problem rosen = {"rosenbrock", 2, rosen_f, rosen_h, {-1.5, -1.5}, {2.0, 2.0}, 0};
static problem rosen_bounded = {"rosenbrock x<=0.8", 2,          rosen_f, rosen_h,
                                {-1.5, -1.5},        {0.8, 2.0}, 0};
static problem quad_bounded = {"quadratic y>=-1", 3, quad_f, quad_h, {-10, -1, -10},
                               {10, 10, 10},      0};
static problem quad_free = {"quadratic", 3, quad_f, quad_h, {-10, -10, -10}, {10, 10, 10}, 0};
static problem pois = {"poisson", 2, pois_f, pois_h, {0.0, 0.5}, {10.0, 2.0}, 0};
static problem logp = {"log", 2, log_f, log_h, {-50.0, -50.0}, {50.0, 50.0}, 0};
static problem infp = {"inf", 2, inf_f, NULL, {-1.0, -1.0}, {1.0, 1.0}, 0};

/* ---- helpers ---- */

static hfs_fit_options default_opts(void) {
  hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
  return o;
}

/* Fit pr with backend b; returns the engine's status code and fills res
 * (initialised here with covariance storage). */
static void fit(problem *pr, const hfs_fit_backend *b, const hfs_fit_options *o, const double *init,
                const int *fixed, int with_errors, hfs_fit_result *res) {
  hfs_fit_engine *e = NULL;
  int rc = hfs__fit_engine_create(pr->npar, pr->lo, pr->hi, pr->f, pr->h, pr, b, o, &e);
  if (rc != HFS_OK) print_error("engine_create: %s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  assert_int_equal(hfs_fit_result_init(res, pr->npar, 1), HFS_OK);
  pr->calls = 0;
  rc = hfs__fit_engine_minimize(e, init, fixed, with_errors, res);
  if (rc != HFS_OK) print_error("minimize: %s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  /* Every objective call goes through the problem wrapper and is counted. */
  assert_int_equal(res->n_eval, pr->calls);
  hfs__fit_engine_destroy(&e);
  assert_null(e);
}

static void expect_converged(const hfs_fit_backend *b, problem *pr, const hfs_fit_result *res,
                             const double *want, double tol) {
  printf("  %-14s %-18s status=%-10s f=%.10g |pg|=%.2e iter=%d eval=%d  %s\n", b->name, pr->name,
         hfs_fit_status_name(res->status), res->twice_nll, res->grad_norm, res->n_iter, res->n_eval,
         res->reason);
  if (res->status != HFS_FIT_CONVERGED) {
    print_error("%s on %s: status %s (%s)\n", b->name, pr->name, hfs_fit_status_name(res->status),
                res->reason);
    fail();
  }
  assert_true(res->grad_norm < 1e-7);
  for (int i = 0; i < pr->npar; i++) assert_close(res->theta[i], want[i], tol);
}

/* ---- tests ---- */

static void test_rosenbrock(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[2] = {-1.2, 1.0}, want[2] = {1.0, 1.0};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&rosen, backends[k], &o, init, NULL, 0, &res);
    expect_converged(backends[k], &rosen, &res, want, 1e-6);
    assert_close(res.twice_nll, 0.0, 1e-12);
    hfs_fit_result_free(&res);
  }
}

/* The bound x <= 0.8 is active: x sits exactly on it, y = x^2. */
static void test_rosenbrock_bound(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[2] = {-1.2, 1.0}, want[2] = {0.8, 0.64};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&rosen_bounded, backends[k], &o, init, NULL, 0, &res);
    expect_converged(backends[k], &rosen_bounded, &res, want, 1e-6);
    assert_true(res.theta[0] == 0.8);
    assert_close(res.twice_nll, 0.04, 1e-10);
    hfs_fit_result_free(&res);
  }
}

static void test_quadratic_bound(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[3] = {0.0, 0.0, 0.0}, want[3] = {0.75, -1.0, 0.25};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&quad_bounded, backends[k], &o, init, NULL, 0, &res);
    expect_converged(backends[k], &quad_bounded, &res, want, 1e-8);
    assert_true(res.theta[1] == -1.0);
    hfs_fit_result_free(&res);
  }
}

/* With z fixed at 3 the others solve A_ff d_f = -A_fz d_z; z stays exactly
 * where it was put even though its own gradient is not zero. */
static void test_fixed_parameter(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[3] = {0.0, 0.0, 3.0};
  const int fixed[3] = {0, 0, 1};
  const double dz = 3.0 - Qa[2];
  const double want[3] = {Qa[0] + 0.5 * dz / 11.0, Qa[1] - 2.0 * dz / 11.0, 3.0};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&quad_free, backends[k], &o, init, fixed, 1, &res);
    expect_converged(backends[k], &quad_free, &res, want, 1e-8);
    assert_true(res.theta[2] == 3.0);
    assert_int_equal(res.has_errors, 1);
    assert_true(res.error[2] == 0.0);
    for (int i = 0; i < 3; i++) {
      assert_true(res.cov[3 * i + 2] == 0.0 && res.cov[3 * 2 + i] == 0.0);
      assert_true(res.corr[3 * i + 2] == 0.0 && res.corr[3 * 2 + i] == 0.0);
    }
    /* The free block's covariance is the inverse of A_ff: [[3,-1],[-1,4]]/11. */
    assert_close(res.cov[0], 3.0 / 11.0, 1e-12);
    assert_close(res.cov[1], -1.0 / 11.0, 1e-12);
    assert_close(res.cov[4], 4.0 / 11.0, 1e-12);
    hfs_fit_result_free(&res);
  }
}

static void test_poisson(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[2] = {1.0, 1.0};
  PN[0] = 40.0;
  const double want[2] = {1.8, 1.1};
  const double fmin = 2.0 * (PN[0] - PN[0] * log(PN[0]) + PN[1] - PN[1] * log(PN[1]));
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&pois, backends[k], &o, init, NULL, 1, &res);
    expect_converged(backends[k], &pois, &res, want, 1e-7);
    assert_close(res.twice_nll, fmin, 1e-9);
    assert_int_equal(res.has_errors, 1);
    /* At the minimum lambda = n: H = 2 sum grad(lambda) grad(lambda)^T / n. */
    double h00 = 2.0 * PS * PS / PN[0], h01 = 2.0 * PS * PB1 / PN[0];
    double h11 = 2.0 * (PB1 * PB1 / PN[0] + PB2 * PB2 / PN[1]);
    double det = h00 * h11 - h01 * h01;
    assert_close(res.error_hessian[0], sqrt(2.0 * h11 / det), 1e-6);
    assert_close(res.error_hessian[1], sqrt(2.0 * h00 / det), 1e-8);
    assert_close(res.corr[1], -h01 / sqrt(h00 * h11), 1e-6);
    hfs_fit_result_free(&res);
  }
}

/* A deficit: mu-hat would be negative, so mu sits exactly at its bound 0
 * and beta fits both regions: beta = (n1 + n2) / (b1 + b2). */
static void test_poisson_at_bound(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[2] = {1.0, 1.0};
  PN[0] = 15.0;
  const double want[2] = {0.0, (PN[0] + PN[1]) / (PB1 + PB2)};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&pois, backends[k], &o, init, NULL, 1, &res);
    expect_converged(backends[k], &pois, &res, want, 1e-8);
    assert_true(res.theta[0] == 0.0);
    hfs_fit_result_free(&res);
  }
  PN[0] = 40.0;
}

static void test_infinite_region(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[2] = {10.0, 0.5}, want[2] = {2.0, 2.0};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&logp, backends[k], &o, init, NULL, 0, &res);
    expect_converged(backends[k], &logp, &res, want, 1e-7);
    hfs_fit_result_free(&res);
  }
}

static void test_no_free_parameter(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[3] = {0.5, 0.25, -0.5};
  const int fixed[3] = {1, 1, 1};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&quad_free, backends[k], &o, init, fixed, 1, &res);
    assert_int_equal(res.status, HFS_FIT_CONVERGED);
    assert_int_equal(res.n_eval, 1);
    assert_int_equal(res.n_iter, 0);
    assert_int_equal(res.has_errors, 1);
    assert_int_equal(res.cov_status, HFS_COV_ACCURATE);
    double dummy[3];
    assert_close(res.twice_nll, quad_f(&quad_free, init, dummy), 0.0);
    for (int i = 0; i < 3; i++) {
      assert_true(res.theta[i] == init[i]);
      assert_true(res.error[i] == 0.0);
    }
    hfs_fit_result_free(&res);
  }
}

static void test_nonfinite_start(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double nan_init[2] = {NAN, 1.0};
  const double undefined_init[2] = {-1.0, 1.0}; /* log problem: +INFINITY */
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&logp, backends[k], &o, nan_init, NULL, 0, &res);
    assert_int_equal(res.status, HFS_FIT_NONFINITE);
    assert_int_equal(res.n_eval, 0);
    assert_true(strstr(res.reason, "parameter 0") != NULL);
    hfs_fit_result_free(&res);
    fit(&logp, backends[k], &o, undefined_init, NULL, 0, &res);
    assert_int_equal(res.status, HFS_FIT_NONFINITE);
    assert_int_equal(res.n_eval, 1);
    assert_true(res.theta[0] == -1.0);
    hfs_fit_result_free(&res);
  }
}

static void test_infinite_everywhere(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[2] = {0.0, 0.0};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&infp, backends[k], &o, init, NULL, 0, &res);
    assert_int_equal(res.status, HFS_FIT_NONFINITE);
    assert_false(isfinite(res.twice_nll));
    hfs_fit_result_free(&res);
  }
}

static void test_max_iter(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  o.max_iter = 2;
  const double init[2] = {-1.2, 1.0};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_result res;
    fit(&rosen, backends[k], &o, init, NULL, 0, &res);
    printf("  %-14s max_iter=2: status=%s iter=%d eval=%d  %s\n", backends[k]->name,
           hfs_fit_status_name(res.status), res.n_iter, res.n_eval, res.reason);
    assert_int_equal(res.status, HFS_FIT_MAXITER);
    assert_true(res.n_iter <= 2);
    assert_true(isfinite(res.twice_nll));
    assert_true(res.grad_norm >= o.gtol);
    hfs_fit_result_free(&res);
  }
}

/* cov = 2 H^-1 = A^-1 for the quadratic, checked against the adjugate. */
static void test_covariance_quadratic(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  hfs_fit_engine *e = NULL;
  assert_int_equal(hfs__fit_engine_create(3, quad_free.lo, quad_free.hi, quad_f, quad_h, &quad_free,
                                          &hfs__fit_backend_nlopt_lbfgs, &o, &e),
                   HFS_OK);
  const double *A = QA;
  double adj[9];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      adj[3 * i + j] = A[3 * r0 + c0] * A[3 * r1 + c1] - A[3 * r0 + c1] * A[3 * r1 + c0];
    }
  double det = A[0] * adj[0] + A[1] * adj[3] + A[2] * adj[6];
  double cov[9], err[3], corr[9];
  assert_int_equal(hfs__fit_engine_covariance(e, Qa, NULL, cov, err, corr), HFS_OK);
  for (int k = 0; k < 9; k++) assert_close(cov[k], adj[k] / det, 1e-14);
  for (int i = 0; i < 3; i++) {
    assert_close(err[i], sqrt(adj[4 * i] / det), 1e-14);
    assert_close(corr[4 * i], 1.0, 0.0);
  }
  assert_close(corr[1], adj[1] / sqrt(adj[0] * adj[4]), 1e-14);
  /* NULL outputs are allowed. */
  assert_int_equal(hfs__fit_engine_covariance(e, Qa, NULL, NULL, err, NULL), HFS_OK);
  hfs__fit_engine_destroy(&e);
}

/* An indefinite Hessian at a converged minimum leaves the fit converged
 * with MINUIT's covariance status 2 (made positive definite) and finite
 * errors; the strict covariance refuses it.  Rosenbrock's Hessian at (0, 1)
 * is indefinite. */
static int saddle_h(void *ctx, const double *t, double *h) {
  (void)t;
  double p[2] = {0.0, 1.0};
  return rosen_h(ctx, p, h);
}
static void test_hesse_failed(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  problem pr = rosen;
  pr.h = saddle_h;
  const double init[2] = {-1.2, 1.0};
  hfs_fit_result res;
  fit(&pr, &hfs__fit_backend_nlopt_lbfgs, &o, init, NULL, 1, &res);
  assert_int_equal(res.status, HFS_FIT_CONVERGED);
  assert_int_equal(res.cov_status, HFS_COV_MADE_POSDEF);
  assert_int_equal(res.has_errors, 1);
  assert_true(isfinite(res.error[0]) && res.error[0] > 0);
  assert_true(isfinite(res.error[1]) && res.error[1] > 0);
  assert_close(res.theta[0], 1.0, 1e-6);
  hfs_fit_result_free(&res);
  hfs_fit_engine *e = NULL;
  assert_int_equal(hfs__fit_engine_create(2, pr.lo, pr.hi, pr.f, pr.h, &pr, NULL, &o, &e), HFS_OK);
  double err[2];
  assert_int_equal(hfs__fit_engine_covariance(e, init, NULL, NULL, err, NULL), HFS_ERR_NUMERIC);
  assert_true(isnan(err[0]));
  hfs__fit_engine_destroy(&e);
}

/* One engine, fits of different sizes interleaved: the per-size solver
 * objects are reused and give the same answers as fresh ones. */
static void test_reuse(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  const double init[3] = {0.0, 0.0, 3.0};
  const int fix_z[3] = {0, 0, 1}, fix_none[3] = {0, 0, 0};
  for (int k = 0; k < NBACKENDS; k++) {
    hfs_fit_engine *e = NULL;
    assert_int_equal(hfs__fit_engine_create(3, quad_free.lo, quad_free.hi, quad_f, quad_h,
                                            &quad_free, backends[k], &o, &e),
                     HFS_OK);
    assert_int_equal(hfs__fit_engine_prepare(e, 2), HFS_OK);
    hfs_fit_result first[2], again;
    assert_int_equal(hfs_fit_result_init(&first[0], 3, 0), HFS_OK);
    assert_int_equal(hfs_fit_result_init(&first[1], 3, 0), HFS_OK);
    assert_int_equal(hfs_fit_result_init(&again, 3, 0), HFS_OK);
    assert_int_equal(hfs__fit_engine_minimize(e, init, fix_z, 0, &first[0]), HFS_OK);
    assert_int_equal(hfs__fit_engine_minimize(e, init, fix_none, 0, &first[1]), HFS_OK);
    for (int rep = 0; rep < 3; rep++) {
      for (int w = 0; w < 2; w++) {
        assert_int_equal(hfs__fit_engine_minimize(e, init, w ? fix_none : fix_z, 0, &again),
                         HFS_OK);
        assert_int_equal(again.status, HFS_FIT_CONVERGED);
        assert_int_equal(again.n_eval, first[w].n_eval);
        for (int i = 0; i < 3; i++) assert_true(again.theta[i] == first[w].theta[i]);
      }
    }
    for (int i = 0; i < 3; i++) assert_close(first[1].theta[i], Qa[i], 1e-8);
    hfs_fit_result_free(&first[0]);
    hfs_fit_result_free(&first[1]);
    hfs_fit_result_free(&again);
    hfs__fit_engine_destroy(&e);
  }
}

static void test_result_copy_and_names(void **state) {
  (void)state;
  hfs_fit_result a, b, c;
  memset(&b, 0, sizeof b);
  assert_int_equal(hfs_fit_result_init(&a, 3, 1), HFS_OK);
  a.status = HFS_FIT_LINESEARCH;
  a.twice_nll = 1.5;
  snprintf(a.reason, sizeof a.reason, "why");
  for (int i = 0; i < 3; i++) a.theta[i] = i + 0.5;
  a.cov[4] = 2.0;
  assert_int_equal(hfs_fit_result_copy(&b, &a), HFS_OK);
  assert_ptr_not_equal(b.theta, a.theta);
  assert_int_equal(b.status, HFS_FIT_LINESEARCH);
  assert_string_equal(b.reason, "why");
  assert_close(b.theta[2], 2.5, 0.0);
  assert_close(b.cov[4], 2.0, 0.0);
  assert_int_equal(hfs_fit_result_init(&c, 2, 0), HFS_OK);
  assert_int_equal(hfs_fit_result_copy(&c, &a), HFS_ERR_ARG);
  hfs_fit_result_free(&a);
  hfs_fit_result_free(&b);
  hfs_fit_result_free(&c);
  hfs_fit_result_free(&c); /* freeing twice is harmless */

  hfs_optimizer opt;
  assert_int_equal(hfs_optimizer_from_name("nlopt", &opt), HFS_OK);
  assert_int_equal(opt, HFS_OPT_NLOPT);
  assert_string_equal(hfs_optimizer_name(opt), "nlopt");
  assert_int_equal(hfs_optimizer_from_name("tao", &opt), HFS_OK);
  assert_int_equal(opt, HFS_OPT_TAO);
  assert_int_equal(hfs_optimizer_from_name("minuit", &opt), HFS_ERR_ARG);
  assert_string_equal(hfs_fit_status_name(HFS_FIT_HESSE_FAILED), "hesse_failed");
}

static void test_bad_arguments(void **state) {
  (void)state;
  hfs_fit_options o = default_opts();
  hfs_fit_engine *e = NULL;
  double lo[2] = {1.0, 0.0}, hi[2] = {0.0, 1.0};
  assert_int_equal(hfs__fit_engine_create(2, lo, hi, quad_f, NULL, NULL, NULL, &o, &e),
                   HFS_ERR_ARG);
  assert_null(e);
  o.gtol = 0.0;
  assert_int_equal(
      hfs__fit_engine_create(2, rosen.lo, rosen.hi, rosen_f, NULL, &rosen, NULL, &o, &e),
      HFS_ERR_ARG);
  o = default_opts();
  assert_int_equal(
      hfs__fit_engine_create(2, rosen.lo, rosen.hi, rosen_f, NULL, &rosen, NULL, &o, &e), HFS_OK);
  hfs_fit_result res;
  const double init[2] = {0.0, 0.0};
  assert_int_equal(hfs_fit_result_init(&res, 2, 0), HFS_OK);
  /* Errors without covariance storage, or without a Hessian: misuse. */
  assert_int_equal(hfs__fit_engine_minimize(e, init, NULL, 1, &res), HFS_ERR_ARG);
  hfs_fit_result_free(&res);
  assert_int_equal(hfs_fit_result_init(&res, 3, 1), HFS_OK);
  assert_int_equal(hfs__fit_engine_minimize(e, init, NULL, 0, &res), HFS_ERR_ARG);
  hfs_fit_result_free(&res);
  hfs__fit_engine_destroy(&e);
  hfs__fit_engine_destroy(&e);
}

int main(void) {
  if (hfs_fit_library_init(NULL, NULL) != HFS_OK) {
    fprintf(stderr, "hfs_fit_library_init: %s\n", hfs_error_message());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rosenbrock),
      cmocka_unit_test(test_rosenbrock_bound),
      cmocka_unit_test(test_quadratic_bound),
      cmocka_unit_test(test_fixed_parameter),
      cmocka_unit_test(test_poisson),
      cmocka_unit_test(test_poisson_at_bound),
      cmocka_unit_test(test_infinite_region),
      cmocka_unit_test(test_no_free_parameter),
      cmocka_unit_test(test_nonfinite_start),
      cmocka_unit_test(test_infinite_everywhere),
      cmocka_unit_test(test_max_iter),
      cmocka_unit_test(test_covariance_quadratic),
      cmocka_unit_test(test_hesse_failed),
      cmocka_unit_test(test_reuse),
      cmocka_unit_test(test_result_copy_and_names),
      cmocka_unit_test(test_bad_arguments),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
