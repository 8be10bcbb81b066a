/* Per-fit timing of the backends on real workspaces (not a test: it asserts
 * nothing and its numbers depend on the machine).
 *
 *   bench_fit WORKSPACE.json [--patch PATCH]... [REPEATS [BACKEND...]]
 *
 * PATCH is a JSON Patch file or PATCHSET.json[.gz]:NAME (one patch of a pyhf
 * patchset), applied in order as hfscan's --patch does.  For each backend
 * (default: all), fits the first measurement's model from the suggested
 * init with errors REPEATS times (default 200) and prints the median and
 * minimum thread CPU time per fit (a shared machine inflates wall time far
 * more), with the fit's status, twice_nll,
 * the POI's value and error, iterations and evaluations.  With a negative
 * REPEATS, fits -REPEATS toy data sets instead (main counts drawn from the
 * expected rates at the observed best fit, aux data fixed, the same toys
 * for every backend) and counts the statuses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_args.h"
#include "fit_internal.h"
#include "hfs_error.h"
#include "hfs_model.h"
#include "hfs_workspace.h"

typedef struct {
  hfs_model *m;
  const double *main, *aux;
  double *nu_e, *aux_e; /* expected data at a point */
} model_ctx;

static double objective(void *ctx, const double *theta, double *grad) {
  model_ctx *c = ctx;
  return hfs_model_twice_nll(c->m, c->main, c->aux, theta, grad);
}

static int hessian(void *ctx, const double *theta, double *hess) {
  model_ctx *c = ctx;
  return hfs_model_hessian(c->m, c->main, c->aux, theta, hess);
}

static int hessian_blocks(void *ctx, const double *theta, double *hss, double *hbb, double *hbs) {
  model_ctx *c = ctx;
  return hfs_model_hessian_blocks(c->m, c->main, c->aux, theta, hss, hbb, hbs);
}

/* The Hessians with the data replaced by their expectation, as the fitter
 * gives the Newton backend (src/fit/fit.c). */
static int hessian_expected(void *ctx, const double *theta, double *hess) {
  model_ctx *c = ctx;
  hfs_model_expected(c->m, theta, c->nu_e, c->aux_e);
  return hfs_model_hessian(c->m, c->nu_e, c->aux_e, theta, hess);
}

static int hessian_blocks_expected(void *ctx, const double *theta, double *hss, double *hbb,
                                   double *hbs) {
  model_ctx *c = ctx;
  hfs_model_expected(c->m, theta, c->nu_e, c->aux_e);
  return hfs_model_hessian_blocks(c->m, c->nu_e, c->aux_e, theta, hss, hbb, hbs);
}

/* A small deterministic generator (xorshift64*) for the toys. */
static double uniform(unsigned long long *st) {
  *st ^= *st >> 12;
  *st ^= *st << 25;
  *st ^= *st >> 27;
  return ((*st * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
}

static double poisson(unsigned long long *st, double lam) {
  if (lam < 30.0) {
    double l = exp(-lam), p = 1.0;
    int k = 0;
    do {
      k++;
      p *= uniform(st);
    } while (p > l);
    return k - 1;
  }
  double z = sqrt(-2.0 * log(uniform(st))) * cos(6.283185307179586 * uniform(st));
  double v = floor(lam + sqrt(lam) * z + 0.5);
  return v < 0 ? 0 : v;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const hfs_fit_backend *const all_backends[] = {
    &hfs__fit_backend_newton,        &hfs__fit_backend_tao_bntl,      &hfs__fit_backend_tao_bntr,
    &hfs__fit_backend_tao_bnls,      &hfs__fit_backend_tao_bnls_chol, &hfs__fit_backend_tao_bqnls,
    &hfs__fit_backend_tao_blmvm,     &hfs__fit_backend_nlopt_lbfgs,   &hfs__fit_backend_nlopt_slsqp,
    &hfs__fit_backend_nlopt_tnewton,
};

int main(int argc, char **argv) {
  int rc = HFS_OK;
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  double *lo = NULL, *hi = NULL, *init = NULL, *times = NULL;
  int *fixed = NULL;
  int npatch = 0;
  const char **patches = bench_take_patches(&argc, argv, &npatch);
  if (argc < 2 || !patches) {
    fprintf(stderr, "usage: %s WORKSPACE.json [--patch PATCH]... [REPEATS [BACKEND...]]\n",
            argv[0]);
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 200;
  int toys = reps < 0 ? -reps : 0;
  if (reps < 1) reps = toys > 0 ? toys : 1;
  double *toy_main = NULL, *nu = NULL;
  model_ctx ctx = {NULL, NULL, NULL, NULL, NULL};
  HFS_CHECK(hfs_fit_library_init(NULL, NULL));
  HFS_CHECK(hfs_spec_read_patched(argv[1], patches, npatch, 0, &spec));
  hfs_model_options mo = HFS_MODEL_OPTIONS_DEFAULT;
  HFS_CHECK(hfs_model_create(spec, NULL, &mo, &m));
  int npar = hfs_model_npar(m), poi = hfs_model_poi(m);
  HFS_ALLOC(lo, npar);
  HFS_ALLOC(hi, npar);
  HFS_ALLOC(init, npar);
  HFS_ALLOC(fixed, npar);
  HFS_ALLOC(times, reps);
  hfs_model_init(m, init);
  for (int i = 0; i < npar; i++) {
    lo[i] = hfs_model_par_lo(m, i);
    hi[i] = hfs_model_par_hi(m, i);
    fixed[i] = hfs_model_par_fixed(m, i);
  }
  ctx.m = m;
  ctx.main = hfs_model_observed(m);
  ctx.aux = hfs_model_auxdata(m);
  int nbins = hfs_model_nbins(m);
  HFS_ALLOC(ctx.nu_e, nbins + 1);
  HFS_ALLOC(ctx.aux_e, hfs_model_naux(m) + 1);
  HFS_ALLOC(toy_main, (size_t)toys * (size_t)nbins + 1);
  HFS_ALLOC(nu, nbins);
  if (toys > 0) {
    /* Toys around the observed best fit (TAO's default backend). */
    hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
    hfs_fit_engine *e = NULL;
    hfs_fit_result res;
    HFS_CHECK(hfs__fit_engine_create(npar, lo, hi, objective, hessian, &ctx, NULL, &o, &e));
    HFS_CHECK(hfs_fit_result_init(&res, npar, 0));
    HFS_CHECK(hfs__fit_engine_minimize(e, init, fixed, 0, &res));
    hfs_model_expected(m, res.theta, nu, NULL);
    unsigned long long st = 0x9e3779b97f4a7c15ULL;
    for (int t = 0; t < toys; t++)
      for (int b = 0; b < nbins; b++) toy_main[(size_t)t * nbins + b] = poisson(&st, nu[b]);
    hfs_fit_result_free(&res);
    hfs__fit_engine_destroy(&e);
  }
  printf("%s%s: %d parameters, %d bins\n", argv[1], npatch ? " + patches" : "", npar,
         hfs_model_nbins(m));
  hfs_model_structure ms;
  hfs_model_structure_get(m, &ms);
  hfs_fit_structure fs = {ms.nshared, ms.shared, ms.nblocks, ms.block_off, ms.block_par};
  int nb = (int)(sizeof all_backends / sizeof all_backends[0]);
  for (int k = 0; k < nb; k++) {
    const hfs_fit_backend *b = all_backends[k];
    if (argc > 3) {
      int wanted = 0;
      for (int a = 3; a < argc; a++) wanted |= strcmp(argv[a], b->name) == 0;
      if (!wanted) continue;
    }
    hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
    hfs_fit_engine *e = NULL;
    hfs_fit_result res;
    HFS_CHECK(hfs__fit_engine_create(npar, lo, hi, objective, hessian, &ctx, b, &o, &e));
    /* as hfs_fitter_create does, for every backend */
    if (ms.nblocks > 0) HFS_CHECK(hfs__fit_engine_set_structure(e, &fs, hessian_blocks));
    hfs__fit_blocks_set_expected(e->prob.blocks, hessian_blocks_expected, hessian_expected);
    HFS_CHECK(hfs_fit_result_init(&res, npar, 1));
    int counts[6] = {0};
    for (int r = 0; r < reps; r++) {
      if (toys) ctx.main = toy_main + (size_t)r * nbins;
      double t0 = bench_cpu_now();
      HFS_CHECK(hfs__fit_engine_minimize(e, init, fixed, 1, &res));
      times[r] = bench_cpu_now() - t0;
      if (res.status >= 0 && res.status < 6) counts[res.status]++;
      if (toys && res.status != HFS_FIT_CONVERGED)
        printf("    toy %d: %s 2nll=%.8f |pg|=%.2g %s\n", r, hfs_fit_status_name(res.status),
               res.twice_nll, res.grad_norm, res.reason);
    }
    ctx.main = hfs_model_observed(m);
    if (toys)
      printf(
          "%-15s %d toys: converged %d, maxiter %d, linesearch %d, nonfinite %d, "
          "failed %d, hesse_failed %d\n",
          b->name, toys, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    printf(
        "%-15s median %8.3f ms  min %8.3f ms  %-10s 2nll=%.8f  %s=%.6f +- %.6f"
        "  |pg|=%.1e iter=%d eval=%d  %s\n",
        b->name, 1e3 * times[reps / 2], 1e3 * times[0], hfs_fit_status_name(res.status),
        res.twice_nll, hfs_model_par_name(m, poi), res.theta[poi], res.error[poi], res.grad_norm,
        res.n_iter, res.n_eval, res.reason);
    for (int i = 0; i < npar; i++) {
      double span = hi[i] - lo[i], x = res.theta[i];
      if (!fixed[i] && (x - lo[i] < 1e-6 * span || hi[i] - x < 1e-6 * span))
        printf("    at a bound: %s = %.10g in [%g, %g], error %.4g\n", hfs_model_par_name(m, i), x,
               lo[i], hi[i], res.error[i]);
    }
    hfs_fit_result_free(&res);
    hfs__fit_engine_destroy(&e);
  }
cleanup:
  if (rc != HFS_OK) fprintf(stderr, "error: %s\n", hfs_error_message());
  free(lo);
  free(hi);
  free(init);
  free(fixed);
  free(times);
  free(toy_main);
  free(nu);
  free(ctx.nu_e);
  free(ctx.aux_e);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
  free(patches);
  hfs_fit_library_finalize();
  return rc == HFS_OK ? 0 : 1;
}
