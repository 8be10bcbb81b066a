/* The optimizer core: result records, the problem wrapper the backends call,
 * and the engine that runs a backend, checks its answer and adds the
 * covariance.  Nothing here knows the model (see fit_internal.h). */
/* clock_gettime and CLOCK_MONOTONIC are POSIX. */
#define _POSIX_C_SOURCE 200809L

#include "fit_internal.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lapacke.h>

#include "hfs_error.h"
#include "hfs_util.h"

/* A backend that stops short of the tolerance without having exhausted its
 * budget is finished by at most HFS_FIT_POLISH_STEPS projected Newton steps
 * when the problem has a Hessian; if that does not get there either, the
 * backend is started again from where it stopped (this resets quasi-Newton
 * memories and trust radii), at most HFS_FIT_MAX_RESTARTS times. */
#define HFS_FIT_MAX_RESTARTS 3
#define HFS_FIT_POLISH_STEPS 8

const char *hfs_optimizer_name(hfs_optimizer o) {
  switch (o) {
    case HFS_OPT_TAO: return "tao";
    case HFS_OPT_NLOPT: return "nlopt";
    case HFS_OPT_NEWTON: return "newton";
  }
  return "unknown";
}

int hfs_optimizer_from_name(const char *name, hfs_optimizer *out) {
  if (!name || !out) return hfs_error_set(HFS_ERR_ARG, "optimizer: no name");
  if (strcmp(name, "tao") == 0) {
    *out = HFS_OPT_TAO;
    return HFS_OK;
  }
  if (strcmp(name, "nlopt") == 0) {
    *out = HFS_OPT_NLOPT;
    return HFS_OK;
  }
  if (strcmp(name, "newton") == 0) {
    *out = HFS_OPT_NEWTON;
    return HFS_OK;
  }
  return hfs_error_set(HFS_ERR_ARG,
                       "optimizer: unknown name \"%s\" (expected newton, tao or nlopt)", name);
}

const char *hfs_fit_status_name(int status) {
  switch (status) {
    case HFS_FIT_CONVERGED: return "converged";
    case HFS_FIT_MAXITER: return "maxiter";
    case HFS_FIT_LINESEARCH: return "linesearch";
    case HFS_FIT_NONFINITE: return "nonfinite";
    case HFS_FIT_FAILED: return "failed";
    case HFS_FIT_HESSE_FAILED: return "hesse_failed";
  }
  return "unknown";
}

const char *hfs_cov_status_name(int cov_status) {
  switch (cov_status) {
    case HFS_COV_NONE: return "none";
    case HFS_COV_APPROXIMATE: return "approximate";
    case HFS_COV_MADE_POSDEF: return "made_posdef";
    case HFS_COV_ACCURATE: return "accurate";
  }
  return "unknown";
}

int hfs_fit_result_init(hfs_fit_result *r, int npar, int with_cov) {
  int rc = HFS_OK;
  if (!r || npar < 0) return hfs_error_set(HFS_ERR_ARG, "hfs_fit_result_init: bad arguments");
  memset(r, 0, sizeof *r);
  r->npar = npar;
  r->twice_nll = NAN;
  r->grad_norm = NAN;
  HFS_ALLOC(r->theta, npar);
  HFS_ALLOC(r->error, npar);
  HFS_ALLOC(r->error_hessian, npar);
  if (with_cov) {
    HFS_ALLOC(r->cov, (size_t)npar * (size_t)npar);
    HFS_ALLOC(r->corr, (size_t)npar * (size_t)npar);
  }
cleanup:
  if (rc != HFS_OK) hfs_fit_result_free(r);
  return rc;
}

double hfs_fit_minuit_error(double x, double lo, double hi, double sigma) {
  if (!isfinite(lo) || !isfinite(hi) || !(hi > lo) || !(sigma > 0)) return sigma;
  double half = 0.5 * (hi - lo);
  double p = asin(fmin(1.0, fmax(-1.0, (x - lo) / half - 1.0)));
  double dxdp = half * cos(p);
  if (!(dxdp > 0)) return sigma;
  double s = sigma / dxdp;
  double up = lo + half * (sin(p + s) + 1.0), dn = lo + half * (sin(p - s) + 1.0);
  return 0.5 * (fabs(up - x) + fabs(dn - x));
}

void hfs_fit_result_free(hfs_fit_result *r) {
  if (!r) return;
  free(r->theta);
  free(r->error);
  free(r->error_hessian);
  free(r->cov);
  free(r->corr);
  memset(r, 0, sizeof *r);
}

/* An initialised destination of the right size is overwritten without
 * allocating (toy loops copy records); a zeroed one is initialised first. */
int hfs_fit_result_copy(hfs_fit_result *dst, const hfs_fit_result *src) {
  int rc = HFS_OK;
  if (!dst || !src || !src->theta)
    return hfs_error_set(HFS_ERR_ARG, "hfs_fit_result_copy: bad arguments");
  if (dst == src) return HFS_OK;
  if (!dst->theta) HFS_CHECK(hfs_fit_result_init(dst, src->npar, src->cov != NULL));
  if (dst->npar != src->npar)
    HFS_FAIL(HFS_ERR_ARG, "hfs_fit_result_copy: %d parameters into %d", src->npar, dst->npar);
  if (src->cov && !dst->cov)
    HFS_FAIL(HFS_ERR_ARG, "hfs_fit_result_copy: destination has no covariance storage");
  {
    size_t n = (size_t)src->npar;
    double *theta = dst->theta, *error = dst->error, *eh = dst->error_hessian, *cov = dst->cov,
           *corr = dst->corr;
    *dst = *src;
    dst->theta = theta;
    dst->error = error;
    dst->error_hessian = eh;
    dst->cov = cov;
    dst->corr = corr;
    memcpy(dst->theta, src->theta, n * sizeof *src->theta);
    memcpy(dst->error, src->error, n * sizeof *src->error);
    memcpy(dst->error_hessian, src->error_hessian, n * sizeof *src->error);
    if (src->cov) {
      memcpy(dst->cov, src->cov, n * n * sizeof *src->cov);
      memcpy(dst->corr, src->corr, n * n * sizeof *src->corr);
    } else if (dst->cov) {
      memset(dst->cov, 0, n * n * sizeof *dst->cov);
      memset(dst->corr, 0, n * n * sizeof *dst->corr);
    }
  }
cleanup:
  return rc;
}

/* ---- the problem seen by backends ---- */

int hfs_fit_problem_nfree(const hfs_fit_problem *p) { return p->nfree; }

static void problem_scatter(hfs_fit_problem *p, const double *x) {
  for (int k = 0; k < p->nfree; k++) p->theta[p->free_idx[k]] = x[k];
}

double hfs_fit_problem_eval(hfs_fit_problem *p, const double *x, double *g) {
  size_t bytes = (size_t)p->nfree * sizeof *x;
  if (g && p->last_valid && memcmp(x, p->last_x, bytes) == 0) {
    memcpy(g, p->last_g, bytes);
    return p->last_f;
  }
  problem_scatter(p, x);
  double f = p->objective(p->ctx, p->theta, g ? p->grad_full : NULL);
  p->n_eval++;
  /* NaN is treated like the model's +INFINITY: a point to back away from.
   * The gradient there means nothing, so backends see zeros rather than
   * whatever the objective left behind. */
  if (!(f < INFINITY)) f = INFINITY;
  if (f < p->best_f) {
    p->best_f = f;
    memcpy(p->best_x, x, bytes);
  }
  if (g) {
    for (int k = 0; k < p->nfree; k++) g[k] = isfinite(f) ? p->grad_full[p->free_idx[k]] : 0.0;
    memcpy(p->last_x, x, bytes);
    memcpy(p->last_g, g, bytes);
    p->last_f = f;
    p->last_valid = 1;
  }
  return f;
}

int hfs_fit_problem_hessian(hfs_fit_problem *p, const double *x, double *h) {
  int rc = HFS_OK;
  if (!p->hessian) return hfs_error_set(HFS_ERR_ARG, "fit: this problem has no Hessian");
  problem_scatter(p, x);
  if (p->nfree == p->npar) {
    /* Nothing fixed: the free block is the whole matrix. */
    HFS_CHECK(p->hessian(p->ctx, p->theta, h));
    goto cleanup;
  }
  HFS_CHECK(p->hessian(p->ctx, p->theta, p->hess_full));
  size_t npar = (size_t)p->npar;
  for (int a = 0; a < p->nfree; a++) {
    const double *row = p->hess_full + (size_t)p->free_idx[a] * npar;
    for (int b = 0; b < p->nfree; b++)
      h[(size_t)a * (size_t)p->nfree + (size_t)b] = row[p->free_idx[b]];
  }
cleanup:
  return rc;
}

int hfs__fit_problem_setup(hfs_fit_problem *p, const double *theta, const int *fixed) {
  int n = 0;
  for (int i = 0; i < p->npar; i++) {
    p->theta[i] = theta[i];
    if (!fixed || !fixed[i]) p->free_idx[n++] = i;
  }
  p->nfree = n;
  p->last_valid = 0;
  p->factor_valid = 0; /* a new fit or covariance: the factors will change */
  p->best_f = INFINITY;
  return n;
}

double hfs__fit_projected_gradient_norm(int n, const double *x, const double *g, const double *lo,
                                        const double *hi) {
  double m = 0.0;
  for (int k = 0; k < n; k++) {
    double gk = g[k];
    if (x[k] <= lo[k] && gk > 0.0) gk = 0.0;
    if (x[k] >= hi[k] && gk < 0.0) gk = 0.0;
    if (!(fabs(gk) <= m)) m = fabs(gk); /* NaN propagates */
  }
  return m;
}

double hfs__fit_gradient_excess(int n, const double *x, const double *g, const double *lo,
                                const double *hi, const double *hdiag) {
  double m = 0.0;
  for (int k = 0; k < n; k++) {
    double gk = g[k];
    if (x[k] <= lo[k] && gk > 0.0) gk = 0.0;
    if (x[k] >= hi[k] && gk < 0.0) gk = 0.0;
    double floor_k = 32.0 * DBL_EPSILON * fabs(x[k]) * fabs(hdiag[k]);
    double ex = fabs(gk) - floor_k;
    if (!(ex <= m)) m = ex; /* NaN propagates */
  }
  return m > 0.0 ? m : 0.0;
}

/* ---- the engine ---- */

const hfs_fit_backend *hfs__fit_backend_default(hfs_optimizer o) {
  switch (o) {
    case HFS_OPT_TAO: return &hfs__fit_backend_tao_bntl;
    case HFS_OPT_NLOPT: return &hfs__fit_backend_nlopt_tnewton;
    case HFS_OPT_NEWTON: return &hfs__fit_backend_newton;
  }
  return NULL;
}

int hfs__fit_engine_create(int npar, const double *lo, const double *hi,
                           hfs_fit_objective_fn objective, hfs_fit_hessian_fn hessian, void *ctx,
                           const hfs_fit_backend *backend, const hfs_fit_options *opts,
                           hfs_fit_engine **out) {
  int rc = HFS_OK;
  hfs_fit_engine *e = NULL;
  if (!out || npar < 0 || !lo || !hi || !objective || !opts)
    HFS_FAIL(HFS_ERR_ARG, "fit: bad arguments to the engine");
  *out = NULL;
  if (!backend) backend = hfs__fit_backend_default(opts->optimizer);
  if (!backend) HFS_FAIL(HFS_ERR_ARG, "fit: unknown optimizer %d", (int)opts->optimizer);
  if (!(opts->gtol > 0.0) || opts->max_iter < 1)
    HFS_FAIL(HFS_ERR_ARG, "fit: gtol must be > 0 and max_iter >= 1 (got %g, %d)", opts->gtol,
             opts->max_iter);
  for (int i = 0; i < npar; i++)
    if (!(lo[i] <= hi[i]))
      HFS_FAIL(HFS_ERR_ARG, "fit: parameter %d has bounds [%g, %g]", i, lo[i], hi[i]);
  HFS_ALLOC(e, 1);
  size_t n = (size_t)npar, nn = n * n;
  e->backend = backend;
  e->opts = *opts;
  e->prob.npar = npar;
  e->prob.objective = objective;
  e->prob.hessian = hessian;
  e->prob.ctx = ctx;
  HFS_ALLOC(e->prob.free_idx, n);
  HFS_ALLOC(e->prob.theta, n);
  HFS_ALLOC(e->prob.grad_full, n);
  HFS_ALLOC(e->prob.last_x, n);
  HFS_ALLOC(e->prob.last_g, n);
  HFS_ALLOC(e->prob.best_x, n);
  HFS_ALLOC(e->lo, n);
  HFS_ALLOC(e->hi, n);
  HFS_ALLOC(e->x, n);
  HFS_ALLOC(e->xlo, n);
  HFS_ALLOC(e->xhi, n);
  HFS_ALLOC(e->g, n);
  HFS_ALLOC(e->d, n);
  HFS_ALLOC(e->xt, n);
  HFS_ALLOC(e->gt, n);
  HFS_ALLOC(e->idx, n);
  HFS_ALLOC(e->fixed_b, n);
  HFS_ALLOC(e->err_b, n);
  HFS_ALLOC(e->fit_theta, n);
  if (hessian) {
    HFS_ALLOC(e->prob.hess_full, nn);
    HFS_ALLOC(e->hfree, nn);
    HFS_ALLOC(e->cov_free, nn);
    HFS_ALLOC(e->eig, 4 * n);
    HFS_CHECK(hfs__fit_blocks_create(npar, NULL, NULL, hessian, &e->prob.blocks));
  }
  memcpy(e->lo, lo, n * sizeof *lo);
  memcpy(e->hi, hi, n * sizeof *hi);
  HFS_CHECK(backend->create(npar, &e->state));
  *out = e;
  e = NULL;
cleanup:
  hfs__fit_engine_destroy(&e);
  return rc;
}

void hfs__fit_engine_destroy(hfs_fit_engine **pe) {
  if (!pe || !*pe) return;
  hfs_fit_engine *e = *pe;
  if (e->state) e->backend->destroy(&e->state);
  hfs__fit_blocks_destroy(&e->prob.blocks);
  hfs__fit_start_cache_destroy(&e->prob.start_cache);
  free(e->prob.free_idx);
  free(e->prob.theta);
  free(e->prob.grad_full);
  free(e->prob.hess_full);
  free(e->prob.last_x);
  free(e->prob.last_g);
  free(e->prob.best_x);
  free(e->lo);
  free(e->hi);
  free(e->x);
  free(e->xlo);
  free(e->xhi);
  free(e->g);
  free(e->d);
  free(e->xt);
  free(e->gt);
  free(e->idx);
  free(e->fixed_b);
  free(e->err_b);
  free(e->fit_theta);
  free(e->hfree);
  free(e->cov_free);
  free(e->eig);
  free(e);
  *pe = NULL;
}

int hfs__fit_engine_set_structure(hfs_fit_engine *e, const hfs_fit_structure *s,
                                  hfs_fit_hessian_blocks_fn hblocks) {
  int rc = HFS_OK;
  hfs_fit_blocks *b = NULL;
  if (!e || !s || !hblocks || !e->prob.hessian)
    HFS_FAIL(HFS_ERR_ARG, "fit: a block structure needs a problem with a Hessian");
  HFS_CHECK(hfs__fit_blocks_create(e->prob.npar, s, hblocks, NULL, &b));
  hfs__fit_blocks_destroy(&e->prob.blocks);
  e->prob.blocks = b;
cleanup:
  return rc;
}

int hfs__fit_engine_first_scoring(hfs_fit_engine *e, int on) {
  int rc = HFS_OK;
  hfs_fit_problem *p = &e->prob;
  /* a tested value's two generating points (s+b and b), whose toys may
   * alternate on a rank, and room for a grid's neighbouring points */
  if (on && !p->start_cache && p->blocks && hfs__fit_blocks_has_expected(p->blocks))
    HFS_CHECK(hfs__fit_start_cache_create(p->blocks, p->npar, 4, &p->start_cache));
  p->first_scoring = on && p->start_cache;
cleanup:
  return rc;
}

int hfs__fit_engine_prepare(hfs_fit_engine *e, int nfree) {
  if (nfree < 1 || nfree > e->prob.npar || !e->backend->prepare) return HFS_OK;
  return e->backend->prepare(e->state, nfree);
}

/* Errors of free parameters stay NaN until a covariance is computed; fixed
 * parameters have none. */
static void result_clear(hfs_fit_result *res, const int *fixed) {
  size_t n = (size_t)res->npar;
  res->status = HFS_FIT_FAILED;
  res->reason[0] = '\0';
  res->twice_nll = NAN;
  res->grad_norm = NAN;
  res->n_iter = 0;
  res->n_eval = 0;
  res->time_s = 0.0;
  res->has_errors = 0;
  res->cov_status = HFS_COV_NONE;
  res->n_starts = 1;
  res->n_minima = 1;
  res->kept_start = 0;
  for (size_t i = 0; i < n; i++)
    res->error[i] = res->error_hessian[i] = (fixed && fixed[i]) ? 0.0 : NAN;
  if (res->cov) {
    memset(res->cov, 0, n * n * sizeof *res->cov);
    memset(res->corr, 0, n * n * sizeof *res->corr);
  }
}

static void append_reason(hfs_fit_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void append_reason(hfs_fit_result *res, const char *fmt, ...) {
  size_t len = strlen(res->reason);
  if (len + 1 >= sizeof res->reason) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res->reason + len, sizeof res->reason - len, fmt, ap);
  va_end(ap);
}

/* Projected Newton steps from e->x (f and gradient e->g known) until the
 * projected gradient is below gtol.  First-order methods stop where f no
 * longer decreases measurably, which on large likelihoods (|terms| ~ 1e5,
 * rounding ~ 1e-11) is long before the gradient is small; Newton steps
 * converge on the gradient instead.  Variables on a bound with the gradient
 * pushing outwards stay put; the others take the Newton step of their
 * block, cut back until f does not rise beyond rounding and the projected
 * gradient falls.  Returns the number of steps taken. */
static int engine_polish(hfs_fit_engine *e, int nfree, double *f, double *pg) {
  hfs_fit_problem *p = &e->prob;
  double gtol = e->opts.gtol;
  int steps = 0;
  while (steps < HFS_FIT_POLISH_STEPS && *pg >= gtol) {
    if (hfs_fit_problem_hessian(p, e->x, e->hfree) != HFS_OK) break;
    int m = 0;
    for (int k = 0; k < nfree; k++) {
      int active =
          (e->x[k] <= e->xlo[k] && e->g[k] > 0.0) || (e->x[k] >= e->xhi[k] && e->g[k] < 0.0);
      if (!active) e->idx[m++] = k;
    }
    if (m == 0) break;
    double *a = e->cov_free, *rhs = e->gt;
    for (int r = 0; r < m; r++) {
      const double *row = e->hfree + (size_t)e->idx[r] * (size_t)nfree;
      for (int c = 0; c < m; c++) a[(size_t)r * (size_t)m + (size_t)c] = row[e->idx[c]];
      rhs[r] = -e->g[e->idx[r]];
    }
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', m, a, m) != 0) {
      /* A flat direction (two normfactors on the same bins) makes the block
       * singular, and rounding makes it indefinite.  The gradient has no
       * component along such a direction, so a Levenberg-damped step,
       * H + 1e-8 diag(H), is the Newton step in the others. */
      for (int r = 0; r < m; r++) {
        const double *row = e->hfree + (size_t)e->idx[r] * (size_t)nfree;
        for (int c = 0; c < m; c++) a[(size_t)r * (size_t)m + (size_t)c] = row[e->idx[c]];
        double *dg = &a[(size_t)r * (size_t)m + (size_t)r];
        *dg += 1e-8 * fabs(*dg) + 1e-300;
      }
      if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', m, a, m) != 0) break;
    }
    if (LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', m, 1, a, m, rhs, m) != 0) break;
    for (int k = 0; k < nfree; k++) e->d[k] = 0.0;
    for (int r = 0; r < m; r++) e->d[e->idx[r]] = rhs[r];
    double slack = 1e-11 * (1.0 + fabs(*f)), t = 1.0;
    int accepted = 0;
    for (int ls = 0; ls < 30 && !accepted; ls++, t *= 0.5) {
      for (int k = 0; k < nfree; k++) {
        double v = e->x[k] + t * e->d[k];
        e->xt[k] = v < e->xlo[k] ? e->xlo[k] : v > e->xhi[k] ? e->xhi[k] : v;
      }
      double ft = hfs_fit_problem_eval(p, e->xt, e->gt);
      if (!isfinite(ft)) continue;
      double pgt = hfs__fit_projected_gradient_norm(nfree, e->xt, e->gt, e->xlo, e->xhi);
      if (ft < *f - slack || (ft <= *f + slack && pgt < *pg)) {
        memcpy(e->x, e->xt, (size_t)nfree * sizeof *e->x);
        memcpy(e->g, e->gt, (size_t)nfree * sizeof *e->g);
        *f = ft;
        *pg = pgt;
        accepted = 1;
      }
    }
    if (!accepted) break;
    steps++;
  }
  return steps;
}

int hfs__fit_engine_minimize(hfs_fit_engine *e, const double *init, const int *fixed,
                             int with_errors, hfs_fit_result *res) {
  int rc = HFS_OK;
  hfs_fit_problem *p = &e->prob;
  double t0 = hfs_now();
  if (!init || !res || !res->theta || !res->error)
    HFS_FAIL(HFS_ERR_ARG, "fit: minimize needs a start point and a result record");
  if (res->npar != p->npar)
    HFS_FAIL(HFS_ERR_ARG, "fit: result record has %d parameters, the problem %d", res->npar,
             p->npar);
  if (with_errors && !res->cov)
    HFS_FAIL(HFS_ERR_ARG,
             "fit: errors requested but the result record has "
             "no covariance storage (hfs_fit_result_init with_cov)");
  if (with_errors && !p->hessian)
    HFS_FAIL(HFS_ERR_ARG, "fit: errors requested but the problem has no Hessian");
  result_clear(res, fixed);
  p->n_eval = 0;
  p->floor_excess = NAN;
  p->watch_stopped = 0;
  int nfree = hfs__fit_problem_setup(p, init, fixed);

  for (int i = 0; i < p->npar; i++) {
    if (!isfinite(init[i])) {
      memcpy(res->theta, init, (size_t)p->npar * sizeof *init);
      res->status = HFS_FIT_NONFINITE;
      snprintf(res->reason, sizeof res->reason, "start value of parameter %d is not finite", i);
      goto done;
    }
  }
  /* Start inside the box: optimizers assume a feasible start. */
  for (int k = 0; k < nfree; k++) {
    int i = p->free_idx[k];
    double v = init[i];
    e->xlo[k] = e->lo[i];
    e->xhi[k] = e->hi[i];
    e->x[k] = v < e->lo[i] ? e->lo[i] : v > e->hi[i] ? e->hi[i] : v;
  }
  problem_scatter(p, e->x);

  if (nfree == 0) {
    double f = p->objective(p->ctx, p->theta, NULL);
    p->n_eval++;
    res->twice_nll = f;
    res->grad_norm = 0.0;
    res->status = isfinite(f) ? HFS_FIT_CONVERGED : HFS_FIT_NONFINITE;
    snprintf(res->reason, sizeof res->reason, "%s",
             isfinite(f) ? "no free parameters" : "no free parameters; twice_nll not finite");
    memcpy(res->theta, p->theta, (size_t)p->npar * sizeof *p->theta);
    goto errors;
  }

  double f = hfs_fit_problem_eval(p, e->x, e->g);
  if (!isfinite(f)) {
    res->status = HFS_FIT_NONFINITE;
    snprintf(res->reason, sizeof res->reason, "twice_nll not finite at the start point");
    memcpy(res->theta, p->theta, (size_t)p->npar * sizeof *p->theta);
    goto done;
  }

  double pg = INFINITY, floor_ex = NAN;
  for (int attempt = 0; attempt <= HFS_FIT_MAX_RESTARTS; attempt++) {
    hfs_fit_options o = e->opts;
    o.max_iter = e->opts.max_iter - res->n_iter;
    if (o.max_iter < 1) {
      res->status = HFS_FIT_MAXITER;
      break;
    }
    double f_before = f, pg_before = pg;
    p->floor_excess = NAN;
    p->factor_valid = 0;
    HFS_CHECK(e->backend->minimize(e->state, p, e->x, e->xlo, e->xhi, &o, res));
    f = hfs_fit_problem_eval(p, e->x, e->g);
    /* A backend that failed can leave an unfinished trial point; the fit
     * reports the lowest point it evaluated.  An iterate above it by
     * rounding only (Newton accepts a step that keeps twice_nll within
     * rounding when it lowers the gradient) is kept: the lowest point,
     * often a rejected trial, has the larger gradient, and going back to it
     * cost a third of Belle II's toy fits a dense polishing step for a
     * twice_nll ~1e-14 lower. */
    int keep = e->backend->returns_iterate && f <= p->best_f + 1e-11 * (1.0 + fabs(p->best_f));
    if (f > p->best_f && !keep) {
      memcpy(e->x, p->best_x, (size_t)nfree * sizeof *e->x);
      f = hfs_fit_problem_eval(p, e->x, e->g);
      p->floor_excess = NAN;
      p->factor_valid = 0;
    }
    pg = hfs__fit_projected_gradient_norm(nfree, e->x, e->g, e->xlo, e->xhi);
    if (!isfinite(f) || pg < e->opts.gtol || p->watch_stopped) break;
    /* The backend judged the gradient at this point by its rounding floor
     * (the test below, on the same Hessian diagonal): polishing steps
     * cannot lower it, and a dense Hessian would only repeat the test. */
    if (p->floor_excess < e->opts.gtol) {
      floor_ex = p->floor_excess;
      break;
    }
    if (res->status == HFS_FIT_MAXITER || res->status == HFS_FIT_NONFINITE) break;
    if (p->hessian) {
      int steps = engine_polish(e, nfree, &f, &pg);
      res->n_iter += steps;
      if (steps > 0)
        append_reason(res, "; %d Newton polishing step%s", steps, steps > 1 ? "s" : "");
      if (pg < e->opts.gtol) break;
    }
    /* Restart only while it still helps. */
    if (!(f < f_before) && !(pg < 0.5 * pg_before)) break;
  }
  /* A gradient that cannot get smaller in floating point is converged:
   * judge what is left against its rounding floor. */
  if (floor_ex < e->opts.gtol) {
    pg = floor_ex;
    if (res->status != HFS_FIT_NONFINITE) res->status = HFS_FIT_CONVERGED;
    append_reason(res, "; gradient at its rounding floor");
  } else if (isfinite(f) && !(pg < e->opts.gtol) && p->hessian && !p->watch_stopped &&
             hfs_fit_problem_hessian(p, e->x, e->hfree) == HFS_OK) {
    for (int k = 0; k < nfree; k++) e->d[k] = e->hfree[(size_t)k * nfree + k];
    double ex = hfs__fit_gradient_excess(nfree, e->x, e->g, e->xlo, e->xhi, e->d);
    if (ex < e->opts.gtol) {
      pg = ex;
      if (res->status != HFS_FIT_NONFINITE) res->status = HFS_FIT_CONVERGED;
      append_reason(res, "; gradient at its rounding floor");
    }
  }
  problem_scatter(p, e->x);
  memcpy(res->theta, p->theta, (size_t)p->npar * sizeof *p->theta);
  if (p->factor_valid) memcpy(e->fit_theta, p->theta, (size_t)p->npar * sizeof *p->theta);
  res->twice_nll = f;
  res->grad_norm = pg;
  if (!isfinite(f)) {
    res->status = HFS_FIT_NONFINITE;
    append_reason(res, "; twice_nll not finite at the end");
  } else if (pg < e->opts.gtol) {
    res->status = HFS_FIT_CONVERGED;
  } else {
    if (res->status == HFS_FIT_CONVERGED) res->status = HFS_FIT_LINESEARCH;
    append_reason(res, "; projected gradient %.3g >= gtol %.3g", pg, e->opts.gtol);
  }

errors:
  if (with_errors && isfinite(res->twice_nll)) {
    int q = HFS_COV_NONE;
    int crc = hfs__fit_engine_covariance_checked(e, res->theta, fixed, res->cov, res->error,
                                                 res->corr, &q);
    if (crc == HFS_OK) {
      res->has_errors = 1;
      /* A matrix at a point that is not a minimum only approximates the
       * curvature there (MINUIT's status 1). */
      res->cov_status =
          res->status == HFS_FIT_CONVERGED || q == HFS_COV_MADE_POSDEF ? q : HFS_COV_APPROXIMATE;
      if (q == HFS_COV_MADE_POSDEF)
        append_reason(res,
                      "; Hessian not positive definite, covariance made positive "
                      "definite");
      memcpy(res->error_hessian, res->error, (size_t)res->npar * sizeof *res->error);
      /* In MINUIT's internal coordinates a parameter sitting on a limit has
       * zero slope dx/dp and decouples: the others' errors are those with
       * it held.  Reproduce that before mapping through the limits. */
      int nb = 0, nf = 0;
      for (int k = 0; k < nfree; k++) e->idx[p->free_idx[k]] = k;
      for (int i = 0; i < res->npar; i++) {
        int fx = fixed && fixed[i];
        int at = 0;
        if (!fx) {
          /* On a limit up to rounding (a backend may stop 1e-10 inside), with
           * the gradient pushing outwards enough that the unconstrained
           * minimum lies beyond the limit by more than 1e-3 sigma
           * (g > 1e-3 sigma H = 2e-3 / sigma): only then does MINUIT run
           * into the limit and decouple the parameter. */
          double sd = res->error[i] > 0 ? res->error[i] : 1.0;
          double g = e->g[e->idx[i]];
          int near_lo = res->theta[i] - e->lo[i] <= 1e-6 * sd;
          int near_hi = e->hi[i] - res->theta[i] <= 1e-6 * sd;
          at = (near_lo && g > 2e-3 / sd) || (near_hi && g < -2e-3 / sd);
          /* mark "on a limit" (2) apart from "decoupled" (1) */
          e->fixed_b[i] = at ? 1 : (near_lo || near_hi) ? 2 : 0;
        } else {
          e->fixed_b[i] = 1;
        }
        nb += at;
        nf += !fx;
      }
      /* the covariance with the decoupled ones held wants a 0/1 mask */
      for (int i = 0; i < res->npar; i++) e->idx[i] = e->fixed_b[i] == 1;
      const double *base = res->error_hessian;
      if (nb > 0 && nb < nf &&
          hfs__fit_engine_covariance(e, res->theta, e->idx, NULL, e->err_b, NULL) == HFS_OK)
        base = e->err_b;
      for (int i = 0; i < res->npar; i++) {
        if (fixed && fixed[i]) continue;
        /* a parameter on a limit keeps its Hessian error: MINUIT's number
         * there depends on how close to the limit it stopped */
        res->error[i] = e->fixed_b[i]
                            ? res->error_hessian[i]
                            : hfs_fit_minuit_error(res->theta[i], e->lo[i], e->hi[i], base[i]);
      }
    } else if (crc == HFS_ERR_NUMERIC) {
      /* The minimum stands; only its errors are unknown. */
      append_reason(res, "; no covariance: %s", hfs_error_message());
      hfs_error_clear();
    } else {
      rc = crc;
      goto cleanup;
    }
  }
done:
  res->n_eval = p->n_eval;
  res->time_s = hfs_now() - t0;
cleanup:
  return rc;
}

int hfs__fit_engine_profile_direction(hfs_fit_engine *e, const double *theta, int par, double *v,
                                      double *var) {
  hfs_fit_problem *p = &e->prob;
  if (!p->factor_valid || !p->blocks || par < 0 || par >= p->npar ||
      memcmp(theta, e->fit_theta, (size_t)p->npar * sizeof *theta) != 0)
    return 0;
  int n = p->nfree, kpar = -1;
  for (int k = 0; k < n; k++) {
    e->gt[k] = 0.0;
    e->d[k] = 0.0;
    if (p->free_idx[k] == par) kpar = k;
  }
  if (kpar < 0) return 0;
  e->gt[kpar] = 1.0;
  /* parameters outside the factorisation (held on a bound) keep d = 0 */
  hfs__fit_blocks_solve(p->blocks, e->gt, e->d);
  double dp = e->d[kpar];
  if (!(dp > 0.0) || !isfinite(dp)) return 0;
  for (int i = 0; i < p->npar; i++) v[i] = 0.0;
  for (int k = 0; k < n; k++) {
    double vk = e->d[k] / dp;
    if (!isfinite(vk)) return 0;
    v[p->free_idx[k]] = vk;
  }
  v[par] = 1.0;
  if (var) *var = 2.0 * dp;
  return 1;
}
