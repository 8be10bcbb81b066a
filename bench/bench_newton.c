/* Costs inside one structured Newton fit (not a test: it asserts nothing).
 *
 *   bench_newton WORKSPACE.json [--patch PATCH]... [REPEATS]
 *
 * PATCH is a JSON Patch file or PATCHSET.json[.gz]:NAME, applied in order.
 *
 * At the observed best fit: the dense analytic Hessian, the block Hessian,
 * the block factorisation of all free parameters, one solve, and the
 * covariance from the factorisation against the dense dpotrf + dpotri; then
 * the per-fit time of the Newton backend and TAO from the suggested init,
 * with and without errors, and the same on REPEATS toys (main and auxiliary
 * data drawn around the best fit; the free fit from there, then the fit with
 * the POI fixed at 1 from the free fit's minimum, as hfscan's toys).  Every
 * figure is the median of REPEATS (default 200) runs of thread CPU time, in
 * microseconds (a shared machine inflates wall time far more); the toys'
 * rate is per CPU second of the process, with the wall rate beside it. */
#define _POSIX_C_SOURCE 200809L
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_args.h"
#include "fit_internal.h"
#include "hfs_error.h"
#include "hfs_model.h"
#include "hfs_workspace.h"

typedef struct {
  hfs_model *m;
  const double *main, *aux;
  double *nu, *aux_exp; /* expected data at a point */
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

/* The block Hessian with the data replaced by their expectation, as the
 * fitter gives the Newton backend (src/fit/fit.c). */
static int hessian_blocks_expected(void *ctx, const double *theta, double *hss, double *hbb,
                                   double *hbs) {
  model_ctx *c = ctx;
  hfs_model_expected(c->m, theta, c->nu, c->aux_exp);
  return hfs_model_hessian_blocks(c->m, c->nu, c->aux_exp, theta, hss, hbb, hbs);
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return t[n / 2];
}

/* median and minimum: on a shared machine the minimum is the steadier */
static void report(const char *label, double *t, int n) {
  double med = median(t, n);
  printf("  %-25s %9.1f us  (min %.1f)\n", label, 1e6 * med, 1e6 * t[0]);
}

/* xorshift64* and a Poisson draw for the toys. */
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

int main(int argc, char **argv) {
  int rc = HFS_OK;
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  hfs_fit_engine *e[2] = {NULL, NULL};
  hfs_fit_result res;
  double *lo = NULL, *hi = NULL, *init = NULL, *t = NULL, *dense = NULL, *hss = NULL, *hbb = NULL,
         *hbs = NULL, *r = NULL, *d = NULL, *toy = NULL, *nu = NULL, *best = NULL, *cinit = NULL,
         *auxm = NULL, *toyaux = NULL;
  int *fixed = NULL, *cfixed = NULL;
  memset(&res, 0, sizeof res);
  model_ctx ctx = {NULL, NULL, NULL, NULL, NULL};
  int npatch = 0;
  const char **patches = bench_take_patches(&argc, argv, &npatch);
  if (argc < 2 || !patches) {
    fprintf(stderr, "usage: %s WORKSPACE.json [--patch PATCH]... [REPEATS]\n", argv[0]);
    free(patches);
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 200;
  if (reps < 1) reps = 1;
  HFS_CHECK(hfs_fit_library_init(NULL, NULL));
  HFS_CHECK(hfs_spec_read_patched(argv[1], patches, npatch, 0, &spec));
  HFS_CHECK(hfs_model_create(spec, NULL, NULL, &m));
  int npar = hfs_model_npar(m), poi = hfs_model_poi(m), nbins = hfs_model_nbins(m);
  hfs_model_structure ms;
  hfs_model_structure_get(m, &ms);
  HFS_ALLOC(lo, npar);
  HFS_ALLOC(hi, npar);
  HFS_ALLOC(init, npar);
  HFS_ALLOC(fixed, npar);
  HFS_ALLOC(cfixed, npar);
  HFS_ALLOC(cinit, npar);
  HFS_ALLOC(best, npar);
  HFS_ALLOC(t, reps);
  HFS_ALLOC(dense, (size_t)npar * npar);
  HFS_ALLOC(hss, (size_t)npar * npar);
  HFS_ALLOC(hbb, (size_t)npar * npar);
  HFS_ALLOC(hbs, (size_t)npar * npar);
  HFS_ALLOC(r, npar);
  HFS_ALLOC(d, npar);
  HFS_ALLOC(nu, nbins);
  HFS_ALLOC(toy, (size_t)reps * nbins);
  hfs_model_init(m, init);
  for (int i = 0; i < npar; i++) {
    lo[i] = hfs_model_par_lo(m, i);
    hi[i] = hfs_model_par_hi(m, i);
    fixed[i] = hfs_model_par_fixed(m, i);
  }
  int naux = hfs_model_naux(m);
  HFS_ALLOC(auxm, naux + 1);
  ctx.m = m;
  ctx.main = hfs_model_observed(m);
  ctx.aux = hfs_model_auxdata(m);
  HFS_ALLOC(ctx.nu, nbins);
  HFS_ALLOC(ctx.aux_exp, naux + 1);
  const hfs_fit_backend *backends[2] = {&hfs__fit_backend_newton, &hfs__fit_backend_tao_bntl};
  hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
  for (int k = 0; k < 2; k++) {
    HFS_CHECK(
        hfs__fit_engine_create(npar, lo, hi, objective, hessian, &ctx, backends[k], &o, &e[k]));
    if (ms.nblocks > 0) {
      hfs_fit_structure fs = {ms.nshared, ms.shared, ms.nblocks, ms.block_off, ms.block_par};
      HFS_CHECK(hfs__fit_engine_set_structure(e[k], &fs, hessian_blocks));
      hfs__fit_blocks_set_expected(e[k]->prob.blocks, hessian_blocks_expected, NULL);
    }
  }
  HFS_CHECK(hfs_fit_result_init(&res, npar, 1));
  HFS_CHECK(hfs__fit_engine_minimize(e[0], init, fixed, 0, &res));
  memcpy(best, res.theta, (size_t)npar * sizeof *best);
  int nfree = 0;
  for (int i = 0; i < npar; i++) nfree += !fixed[i];
  printf("%s: %d parameters (%d free), %d bins; %d shared, %d blocks\n", argv[1], npar, nfree,
         nbins, ms.nshared, ms.nblocks);

  /* The pieces of one Newton iteration at the best fit. */
  for (int k = 0; k < reps; k++) {
    double t0 = bench_cpu_now();
    HFS_CHECK(hfs_model_hessian(m, ctx.main, ctx.aux, best, dense));
    t[k] = bench_cpu_now() - t0;
  }
  report("dense Hessian", t, reps);
  if (ms.nblocks > 0) {
    for (int k = 0; k < reps; k++) {
      double t0 = bench_cpu_now();
      HFS_CHECK(hfs_model_hessian_blocks(m, ctx.main, ctx.aux, best, hss, hbb, hbs));
      t[k] = bench_cpu_now() - t0;
    }
    report("block Hessian", t, reps);
  }
  hfs_fit_problem *p = &e[0]->prob;
  hfs_fit_blocks *b = p->blocks;
  int n = hfs__fit_problem_setup(p, best, fixed);
  double *x = e[0]->x;
  int *pos = e[0]->idx;
  for (int k = 0; k < n; k++) x[k] = best[p->free_idx[k]];
  HFS_CHECK(hfs__fit_blocks_eval(b, p, x));
  for (int i = 0; i < npar; i++) pos[i] = -1;
  for (int k = 0; k < n; k++) {
    pos[p->free_idx[k]] = k;
    r[k] = 1.0 + 0.01 * k;
  }
  for (int k = 0; k < reps; k++) {
    double t0 = bench_cpu_now();
    hfs__fit_blocks_select(b, pos);
    if (hfs__fit_blocks_factor(b, 0.0)) HFS_FAIL(HFS_ERR_NUMERIC, "not positive definite");
    t[k] = bench_cpu_now() - t0;
  }
  report("block factorisation", t, reps);
  for (int k = 0; k < reps; k++) {
    double t0 = bench_cpu_now();
    hfs__fit_blocks_solve(b, r, d);
    t[k] = bench_cpu_now() - t0;
  }
  report("block solve", t, reps);
  for (int k = 0; k < reps; k++) {
    double t0 = bench_cpu_now();
    hfs__fit_blocks_inverse(b, e[0]->cov_free, n, e[0]->d);
    t[k] = bench_cpu_now() - t0;
  }
  report("block inverse (full)", t, reps);
  for (int k = 0; k < reps; k++) {
    double t0 = bench_cpu_now();
    hfs__fit_blocks_inverse(b, NULL, n, e[0]->d);
    t[k] = bench_cpu_now() - t0;
  }
  report("block inverse (diagonal)", t, reps);
  HFS_CHECK(hfs_fit_problem_hessian(p, x, e[0]->hfree));
  for (int k = 0; k < reps; k++) {
    double t0 = bench_cpu_now();
    memcpy(e[0]->cov_free, e[0]->hfree, (size_t)n * n * sizeof(double));
    LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, e[0]->cov_free, n);
    LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', n, e[0]->cov_free, n);
    t[k] = bench_cpu_now() - t0;
  }
  report("dense dpotrf + dpotri", t, reps);

  /* Whole fits from the suggested init. */
  for (int k = 0; k < 2; k++) {
    for (int we = 0; we < 2; we++) {
      for (int j = 0; j < reps; j++) {
        double t0 = bench_cpu_now();
        HFS_CHECK(hfs__fit_engine_minimize(e[k], init, fixed, we, &res));
        t[j] = bench_cpu_now() - t0;
      }
      printf("  fit %-9s %-13s %9.1f us  (%s, %d iterations, %d evaluations)\n", backends[k]->name,
             we ? "with errors" : "", 1e6 * median(t, reps), hfs_fit_status_name(res.status),
             res.n_iter, res.n_eval);
    }
  }

  /* Toys as hfscan's (src/infer/toys.c): main and auxiliary data drawn
   * around the best fit, the free fit started there, the fit with the POI
   * at 1 started from the free fit's minimum. */
  HFS_ALLOC(toyaux, (size_t)reps * (naux > 0 ? naux : 1));
  hfs_model_expected(m, best, nu, auxm);
  unsigned long long st = 0x9e3779b97f4a7c15ULL;
  for (int j = 0; j < reps; j++) {
    for (int c = 0; c < nbins; c++) toy[(size_t)j * nbins + c] = poisson(&st, nu[c]);
    for (int i = 0; i < npar; i++) {
      int a = hfs_model_par_aux_index(m, i);
      if (a < 0) continue;
      double *v = &toyaux[(size_t)j * naux + a];
      if (hfs_model_par_constraint(m, i) == HFS_CONSTR_GAUSS)
        *v = best[i] + hfs_model_par_sigma(m, i) * sqrt(-2.0 * log(uniform(&st))) *
                           cos(6.283185307179586 * uniform(&st));
      else
        *v = poisson(&st, auxm[a]);
    }
  }
  memcpy(cfixed, fixed, (size_t)npar * sizeof *cfixed);
  memcpy(cinit, init, (size_t)npar * sizeof *cinit);
  if (poi >= 0) {
    cfixed[poi] = 1;
    cinit[poi] = 1.0;
  }
  /* BENCH_NO_PROFILE=1: the conditional fit from the free minimum as is */
  int use_dir = !getenv("BENCH_NO_PROFILE");
  /* BENCH_NO_FIRST_SCORING=1: the free fit's first step on the toy's own
   * Hessian instead of the cached Fisher information (src/fit/start_cache.c) */
  int first_scoring = !getenv("BENCH_NO_FIRST_SCORING");
  for (int k = 0; k < 2; k++) {
    int bad = 0, iters = 0, iters_c = 0, ndir = 0;
    double c0 = cpu_now(), w0 = bench_cpu_now();
    for (int j = 0; j < reps; j++) {
      ctx.main = toy + (size_t)j * nbins;
      ctx.aux = toyaux + (size_t)j * naux;
      HFS_CHECK(hfs__fit_engine_first_scoring(e[k], first_scoring));
      HFS_CHECK(hfs__fit_engine_minimize(e[k], best, fixed, 0, &res));
      HFS_CHECK(hfs__fit_engine_first_scoring(e[k], 0));
      bad += res.status != HFS_FIT_CONVERGED;
      iters += res.n_iter;
      memcpy(cinit, res.theta, (size_t)npar * sizeof *cinit);
      /* the conditional fit from the free minimum moved along the POI's
       * profile direction, as hfscan's toys (src/infer/infer.c) */
      if (poi >= 0 && use_dir && hfs__fit_engine_profile_direction(e[k], res.theta, poi, d, NULL)) {
        ndir++;
        for (int i = 0; i < npar; i++)
          if (!cfixed[i])
            cinit[i] = fmin(hi[i], fmax(lo[i], cinit[i] + (1.0 - res.theta[poi]) * d[i]));
      }
      if (poi >= 0) cinit[poi] = 1.0;
      HFS_CHECK(hfs__fit_engine_minimize(e[k], cinit, cfixed, 0, &res));
      bad += res.status != HFS_FIT_CONVERGED;
      iters_c += res.n_iter;
    }
    double cpu = cpu_now() - c0, wall = bench_cpu_now() - w0;
    printf(
        "  toys %-9s %d toys: %.1f us CPU per toy (%.0f toys per CPU second; wall %.0f/s), "
        "%.1f iterations per fit (free %.1f, conditional %.1f, %d from the profile), "
        "%d fits not converged\n",
        backends[k]->name, reps, 1e6 * cpu / reps, reps / cpu, reps / wall,
        (iters + iters_c) / (2.0 * reps), (double)iters / reps, (double)iters_c / reps, ndir, bad);
    ctx.main = hfs_model_observed(m);
    ctx.aux = hfs_model_auxdata(m);
  }
cleanup:
  if (rc != HFS_OK) fprintf(stderr, "error: %s\n", hfs_error_message());
  hfs_fit_result_free(&res);
  hfs__fit_engine_destroy(&e[0]);
  hfs__fit_engine_destroy(&e[1]);
  free(lo);
  free(hi);
  free(init);
  free(fixed);
  free(cfixed);
  free(cinit);
  free(best);
  free(t);
  free(dense);
  free(hss);
  free(hbb);
  free(hbs);
  free(r);
  free(d);
  free(nu);
  free(toy);
  free(auxm);
  free(toyaux);
  free(ctx.nu);
  free(ctx.aux_exp);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
  free(patches);
  hfs_fit_library_finalize();
  return rc == HFS_OK ? 0 : 1;
}
