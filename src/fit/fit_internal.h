/* Private machinery of the fit module: the problem seen by the backends and
 * the engine that drives a backend over it.
 *
 * The engine knows nothing about hfs_model: it minimises an objective given
 * as function pointers over the full parameter vector, with some parameters
 * held fixed.  The fitter (fit.c) plugs the model's twice_nll and Hessian in;
 * the unit tests plug analytic problems in, so the optimizer core is tested
 * without a model.  Internal names carry the hfs__fit_ prefix (docs/architecture.md). */
#ifndef HFS_FIT_INTERNAL_H
#define HFS_FIT_INTERNAL_H

#include "hfs_fit.h"

/* Objective over the full vector theta (npar): returns twice_nll (+INFINITY
 * where it is undefined) and fills grad (npar) unless grad is NULL. */
typedef double (*hfs_fit_objective_fn)(void *ctx, const double *theta, double *grad);
/* Hessian over the full vector (npar x npar, row-major, symmetric).  Returns
 * an hfs status. */
typedef int (*hfs_fit_hessian_fn)(void *ctx, const double *theta, double *hess);

/* Block structure of the Hessian over the full vector: every parameter is
 * either shared or local to one block, and locals of different blocks never
 * couple (HistFactory's per-bin gammas, one block per bin).  Same layout as
 * hfs_model_structure; arrays are borrowed. */
typedef struct {
  int nshared;
  const int *shared; /* nshared parameter indices */
  int nblocks;
  const int *block_off; /* nblocks + 1 offsets into block_par */
  const int *block_par; /* local parameter indices, grouped by block */
} hfs_fit_structure;

/* The Hessian in that structure (layout of hfs_model_hessian_blocks): hss
 * nshared x nshared, then per block b of size k_b a k_b x k_b block in hbb
 * and a k_b x nshared coupling in hbs, row-major, blocks in order. */
typedef int (*hfs_fit_hessian_blocks_fn)(void *ctx, const double *theta, double *hss, double *hbb,
                                         double *hbs);

/* The structured Hessian of a problem and its damped block factorisation
 * (blocks.c): storage for the blocks, the subset of parameters a solve runs
 * over, per-block Cholesky factors and the Schur complement on the shared
 * parameters.  Problems without a structure are one dense block of shared
 * parameters.  Everything is allocated at creation. */
typedef struct hfs_fit_blocks hfs_fit_blocks;
typedef struct hfs_fit_start_cache hfs_fit_start_cache;

/* The problem a backend minimises: the free parameters x are scattered into
 * the full vector theta, whose fixed entries hold their fixed values. */
struct hfs_fit_problem {
  int npar;
  int nfree;
  int *free_idx;     /* nfree entries used, npar allocated */
  double *theta;     /* npar */
  double *grad_full; /* npar */
  double *hess_full; /* npar * npar, NULL without a Hessian function */
  hfs_fit_objective_fn objective;
  hfs_fit_hessian_fn hessian;
  void *ctx;
  int n_eval; /* objective calls since the fit started */
  /* The last point evaluated with a gradient, so that the engine's final
   * check does not repeat the backend's last evaluation. */
  double *last_x; /* npar allocated */
  double *last_g; /* npar allocated */
  double last_f;
  int last_valid;
  /* The lowest point evaluated, whatever the backend returns. */
  double *best_x; /* npar allocated */
  double best_f;
  /* The structured Hessian (NULL without a Hessian function). */
  hfs_fit_blocks *blocks;
  /* Set by a backend that stopped because the gradient is at its rounding
   * floor (hfs__fit_gradient_excess at its final point, below gtol; NaN
   * otherwise), so that the engine does not polish what cannot improve. */
  double floor_excess;
  /* Set by the Newton backend when the blocks hold a factorisation of the
   * Hessian near the point it returned (see hfs__fit_engine_profile_direction). */
  int factor_valid;
  /* Optional watch of a fit under way (the global-minimum search's
   * restarts): the Newton backend calls it after each undamped Newton or chord
   * step d from x (f, gradient g; all over the free parameters), and stops the
   * fit (HFS_FIT_MAXITER, watch_stopped set) when it returns non-zero. */
  int (*watch)(void *ctx, const struct hfs_fit_problem *p, const double *x, double f,
               const double *g, const double *d);
  void *watch_ctx;
  int watch_stopped;
  /* Set (with start_cache) while fits start at shared points: the Newton
   * backend's first step is then a Fisher-scoring step, its factors from
   * the cache (hfs__fit_engine_first_scoring). */
  int first_scoring;
  hfs_fit_start_cache *start_cache;
};

/* Descriptors of the available backends.  The defaults for the public
 * optimizer kinds are hfs__fit_backend_tao_bntl and
 * hfs__fit_backend_nlopt_tnewton (hfs__fit_backend_default); the others stay
 * selectable for tests and comparisons (see the backends' files for why). */
extern const hfs_fit_backend hfs__fit_backend_tao_bntl;
extern const hfs_fit_backend hfs__fit_backend_tao_bntr;
extern const hfs_fit_backend hfs__fit_backend_tao_bnls;
extern const hfs_fit_backend hfs__fit_backend_tao_bnls_chol;
extern const hfs_fit_backend hfs__fit_backend_tao_bqnls;
extern const hfs_fit_backend hfs__fit_backend_tao_blmvm;
extern const hfs_fit_backend hfs__fit_backend_nlopt_lbfgs;
extern const hfs_fit_backend hfs__fit_backend_nlopt_slsqp;
extern const hfs_fit_backend hfs__fit_backend_nlopt_tnewton;
extern const hfs_fit_backend hfs__fit_backend_newton;

/* The backend used for a public optimizer kind. */
const hfs_fit_backend *hfs__fit_backend_default(hfs_optimizer o);

/* Whether PETSc is usable (hfs_fit_library_init has run or the program
 * initialised PETSc itself). */
int hfs__fit_petsc_ready(void);

/* The engine: a problem, a backend state and every scratch buffer a fit
 * needs, allocated once. */
typedef struct hfs_fit_engine {
  struct hfs_fit_problem prob;
  const hfs_fit_backend *backend;
  void *state;
  hfs_fit_options opts;
  double *lo, *hi;       /* npar: bounds of the full vector */
  double *x, *xlo, *xhi; /* npar allocated: free values and bounds */
  double *g;             /* npar: gradient of the free parameters */
  double *d, *xt, *gt;   /* npar: Newton polishing step, trial point */
  int *idx;              /* npar: inactive free parameters */
  double *hfree;         /* npar * npar: Hessian of the free parameters */
  double *cov_free;      /* npar * npar: its inverse (times 2) */
  double *eig;           /* 4 npar: eigenvalues and LAPACK workspace */
  int *fixed_b;          /* npar: fixed set plus parameters on a bound */
  double *err_b;         /* npar: errors with those held */
  double *fit_theta;     /* npar: result of the last fit that left a
                            factorisation (prob.factor_valid) */
} hfs_fit_engine;

/* Create the blocks of a problem of npar parameters with structure s (NULL:
 * dense) whose Hessian comes from hblocks (s given) or hessian (dense). */
int hfs__fit_blocks_create(int npar, const hfs_fit_structure *s, hfs_fit_hessian_blocks_fn hblocks,
                           hfs_fit_hessian_fn hessian, hfs_fit_blocks **out);
void hfs__fit_blocks_destroy(hfs_fit_blocks **b);
/* Evaluate the Hessian at the problem's free values x; afterwards
 * hfs__fit_blocks_hdiag gives its diagonal over the full vector. */
int hfs__fit_blocks_eval(hfs_fit_blocks *b, hfs_fit_problem *p, const double *x);
const double *hfs__fit_blocks_hdiag(const hfs_fit_blocks *b);
/* The expected Hessian: the same functions evaluated with the data replaced
 * by their expectation at the point (the Fisher information, positive
 * semidefinite for Poisson and Gaussian terms), the one of the two that
 * matches the blocks' kind.  hfs__fit_blocks_eval_expected evaluates it
 * in place of the Hessian (HFS_ERR_ARG when none was set). */
void hfs__fit_blocks_set_expected(hfs_fit_blocks *b, hfs_fit_hessian_blocks_fn hblocks,
                                  hfs_fit_hessian_fn hessian);
int hfs__fit_blocks_has_expected(const hfs_fit_blocks *b);
int hfs__fit_blocks_eval_expected(hfs_fit_blocks *b, hfs_fit_problem *p, const double *x);
/* Shared parameters of the structure (all of them for a dense problem). */
int hfs__fit_blocks_nshared(const hfs_fit_blocks *b);
/* Choose the parameters of the next factorisations: pos[i] (npar) is the
 * position of parameter i in the caller's vectors, or -1 to leave it out
 * (fixed, or held on a bound).  Returns how many are in. */
int hfs__fit_blocks_select(hfs_fit_blocks *b, const int *pos);
/* Factor the selected Hessian plus lambda times its scaled diagonal
 * (Levenberg-Marquardt).  Returns 0 when every block and the Schur
 * complement are positive definite, 1 when a block is not, 2 when only the
 * Schur complement S is not (the blocks' factors stand). */
int hfs__fit_blocks_factor(hfs_fit_blocks *b, double lambda);
/* After a return of 2: refactor S plus lambda times its own scaled
 * diagonal, keeping the blocks' factors (a damping of the shared
 * parameters alone, at the cost of one small Cholesky).  Returns 0 when
 * positive definite, 1 otherwise. */
int hfs__fit_blocks_damp_schur(hfs_fit_blocks *b, double lambda);
/* Solve (H + damping) d = r over the selected parameters (r and d indexed by
 * the caller's positions; entries of unselected ones are left alone). */
void hfs__fit_blocks_solve(hfs_fit_blocks *b, const double *r, double *d);
/* The inverse of the factored matrix: cov (n x n over the caller's
 * positions, row-major; n is its leading dimension) and/or its diagonal diag
 * (indexed by positions).  Either may be NULL. */
void hfs__fit_blocks_inverse(hfs_fit_blocks *b, double *cov, int n, double *diag);

/* New blocks with the structure and Hessian functions of b (the expected
 * ones too), holding nothing yet. */
int hfs__fit_blocks_create_like(const hfs_fit_blocks *b, hfs_fit_blocks **out);

/* start_cache.c: the expected Hessian and its factors at start points that
 * many fits share (toys' generating points), nslots of them. */
int hfs__fit_start_cache_create(const hfs_fit_blocks *like, int npar, int nslots,
                                hfs_fit_start_cache **out);
void hfs__fit_start_cache_destroy(hfs_fit_start_cache **c);
/* The blocks holding the expected Hessian at x (over p's free parameters):
 * a slot's if it holds x with the same free set, else evaluated into the
 * least recently used one; *slot says which.  Their hdiag is valid.  NULL
 * where it cannot be evaluated. */
hfs_fit_blocks *hfs__fit_start_cache_eval(hfs_fit_start_cache *c, hfs_fit_problem *p,
                                          const double *x, int *slot);
/* Factorise the slot's blocks, undamped, for the selection pos (npar
 * positions, as hfs__fit_blocks_select), unless they already hold it;
 * hfs__fit_blocks_factor's result. */
int hfs__fit_start_cache_factor(hfs_fit_start_cache *c, int slot, const int *pos);

/* While on, the first step of every Newton fit is a Fisher-scoring step
 * (the expected Hessian at the start point), its factorisation kept for the
 * next fits from the same point.  The cache is created on the first call
 * with on set (where the problem has blocks with an expected Hessian;
 * otherwise nothing changes). */
int hfs__fit_engine_first_scoring(hfs_fit_engine *e, int on);

/* Give the engine's problem a block structure for its Hessian (copied),
 * replacing the dense one; used by the Newton backend and the covariance. */
int hfs__fit_engine_set_structure(hfs_fit_engine *e, const hfs_fit_structure *s,
                                  hfs_fit_hessian_blocks_fn hblocks);

/* Covariance from the block factorisation (see hfs__fit_engine_covariance):
 * HFS_ERR_NUMERIC when it finds the Hessian not positive definite, so the
 * caller can fall back to its dense path.  With conditioned set, also when
 * it cannot prove the matrix far enough from singular that MINUIT's
 * MnPosDef would leave it alone (then the dense path judges). */
int hfs__fit_blocks_covariance(hfs_fit_engine *e, const double *theta, const int *fixed,
                               double *cov, double *error, double *corr, int conditioned);

/* Create an engine for npar parameters with bounds lo/hi (copied).
 * hessian may be NULL: then Newton-type backends and covariances are
 * unavailable (HFS_ERR_ARG when asked for).  backend NULL selects the default
 * for opts->optimizer. */
int hfs__fit_engine_create(int npar, const double *lo, const double *hi,
                           hfs_fit_objective_fn objective, hfs_fit_hessian_fn hessian, void *ctx,
                           const hfs_fit_backend *backend, const hfs_fit_options *opts,
                           hfs_fit_engine **out);
void hfs__fit_engine_destroy(hfs_fit_engine **e);

/* Make fits with nfree free parameters allocation-free from now on (the
 * backends keep per-size solver objects). */
int hfs__fit_engine_prepare(hfs_fit_engine *e, int nfree);

/* Minimise from init (npar) with fixed[i] != 0 held at init[i] (fixed may be
 * NULL: nothing fixed).  Fills res (initialised for npar, with cov/corr when
 * with_errors).  Returns HFS_OK whenever a record was written, whatever its
 * status. */
int hfs__fit_engine_minimize(hfs_fit_engine *e, const double *init, const int *fixed,
                             int with_errors, hfs_fit_result *res);

/* Covariance (cov = 2 H^-1 over the free parameters, zero rows and columns
 * for fixed ones), errors and correlations at theta.  Any output may be NULL.
 * HFS_ERR_NUMERIC (with NaN errors) if that Hessian is not positive
 * definite. */
int hfs__fit_engine_covariance(hfs_fit_engine *e, const double *theta, const int *fixed,
                               double *cov, double *error, double *corr);
/* The same with MINUIT's check of the spectrum: a Hessian whose scaled
 * eigenvalues are not all above 1e-6 of the largest is made positive
 * definite (covariance.c) and *cov_status (may be NULL) is
 * HFS_COV_MADE_POSDEF, otherwise HFS_COV_ACCURATE; HFS_ERR_NUMERIC (NaN
 * errors, HFS_COV_NONE) only for a Hessian that is not finite. */
int hfs__fit_engine_covariance_checked(hfs_fit_engine *e, const double *theta, const int *fixed,
                                       double *cov, double *error, double *corr, int *cov_status);

/* After a fit whose result was theta and whose backend left a
 * factorisation of the Hessian near it (the Newton backend): v (npar) =
 * H^-1 e_par / (H^-1)_par,par, the change of every free parameter per unit
 * change of parameter par along the profile of the others, to first order
 * (0 for fixed ones and for those held on a bound in that factorisation);
 * var (may be NULL) = 2 (H^-1)_par,par, the variance of par.
 * One block solve.  Returns 1, or 0 when there is no such factorisation
 * (another backend, another fit since, par not in it). */
int hfs__fit_engine_profile_direction(hfs_fit_engine *e, const double *theta, int par, double *v,
                                      double *var);

/* The watch of the fitter's fits (NULL: none); see hfs_fit_problem. */
typedef int (*hfs_fit_watch_fn)(void *ctx, const struct hfs_fit_problem *p, const double *x,
                                double f, const double *g, const double *d);
void hfs__fit_fitter_set_watch(hfs_fitter *f, hfs_fit_watch_fn fn, void *ctx);

/* Set the free set of the problem from fixed (NULL: all free) and load
 * theta; returns nfree. */
int hfs__fit_problem_setup(struct hfs_fit_problem *p, const double *theta, const int *fixed);

/* Max-norm of the gradient g projected on the box [lo, hi] at x: components
 * that push against an active bound count as zero. */
/* Largest projected-gradient component beyond its rounding floor.  A
 * gradient component is a sum of terms as large as |x_k| H_kk; with Poisson
 * constraints of factor 1e11 (published shapesys) that is 1e11 and no
 * representable x_k brings it below ~1e-5.  Components within
 * 32 eps |x_k| H_kk of zero count as zero; hdiag is the Hessian diagonal of
 * the free parameters. */
double hfs__fit_gradient_excess(int n, const double *x, const double *g, const double *lo,
                                const double *hi, const double *hdiag);
double hfs__fit_projected_gradient_norm(int n, const double *x, const double *g, const double *lo,
                                        const double *hi);

#endif
