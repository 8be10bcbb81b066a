/* Maximum-likelihood fits of an hfs_model behind one optimizer interface.
 *
 * Three backends implement it: hfscan's structured projected Newton method
 * (the default), PETSc/TAO (a bounded Newton trust-region solver fed the
 * model's analytic gradient and Hessian) and NLopt (a bounded truncated
 * Newton method on the analytic gradient).  A fitter is bound to one model and owns every buffer a
 * fit needs, so repeated fits (toys, scans, impacts) allocate nothing.
 *
 * Every fit yields a record: status (converged, or why not), twice_nll,
 * iterations, likelihood evaluations, wall time, the parameters and, on
 * request, uncertainties and correlations from the analytic Hessian at the
 * minimum.  A failed fit is reported in its record, never hidden: the
 * function returns HFS_OK for an optimizer that did not converge and a
 * non-zero code only for misuse or a library error.
 *
 * Convergence is decided here, not by the backend: a fit has converged when
 * the max-norm of the projected gradient of twice_nll (components pushing
 * against an active bound count as zero) is below opts.gtol, an absolute
 * tolerance on twice_nll.  A backend that stops short of it (first-order
 * methods stall where f no longer decreases measurably) is finished by a few
 * projected Newton steps on the analytic Hessian.
 *
 * Errors are the Hessian errors sqrt(diag(2 H^-1)) at the minimum.  MINUIT
 * (pyhf's minuit optimizer) reports something else for parameters with
 * limits: it maps its internal error through a sine transformation, which
 * shrinks the error of a parameter within a few errors of a limit (a POI one
 * error above 0: several percent; a normsys inside [-5, 5]: about 0.6%).
 * tests/fit/test_fit_reference.c reproduces MINUIT's numbers from ours to
 * 0.1%. */
#ifndef HFS_FIT_H
#define HFS_FIT_H

#include "hfs_model.h"

typedef enum { HFS_OPT_TAO = 0, HFS_OPT_NLOPT = 1, HFS_OPT_NEWTON = 2 } hfs_optimizer;

/* Name <-> kind ("newton", "tao", "nlopt").  newton (the default) is
 * hfscan's own projected Newton method on the exact Hessian, solved through
 * its block structure (per-bin gammas eliminated block by block, a Schur
 * complement on the shared parameters; backend_newton.c, blocks.c).  TAO
 * runs TAOBNTL (bounded Newton trust region) on the dense analytic Hessian,
 * NLopt LD_TNEWTON_PRECOND_RESTART on diagonally scaled parameters.  All
 * three converged in every reference and toy fit tried (docs/performance.md
 * has their counts and times).  Where a likelihood has two minima they may
 * end in different ones. */
const char *hfs_optimizer_name(hfs_optimizer o);
int hfs_optimizer_from_name(const char *name, hfs_optimizer *out);

typedef enum {
  HFS_FIT_CONVERGED = 0,   /* projected gradient below tolerance */
  HFS_FIT_MAXITER = 1,     /* iteration or evaluation limit reached */
  HFS_FIT_LINESEARCH = 2,  /* line search / roundoff stopped early */
  HFS_FIT_NONFINITE = 3,   /* likelihood not finite at start or end */
  HFS_FIT_FAILED = 4,      /* optimizer reported failure */
  HFS_FIT_HESSE_FAILED = 5 /* no longer produced: a converged fit whose
                              Hessian is not positive definite is
                              converged with cov_status below 3 (files
                              of earlier versions may hold it) */
} hfs_fit_status;

const char *hfs_fit_status_name(int status);

/* Quality of a fit's covariance, MINUIT's covariance status (MnUserCovariance
 * / MinuitCovarianceStatus) with the same numbers:
 *   0  none: not computed (not requested, or not finite)
 *   1  approximate: computed at a point that is not a converged minimum
 *   2  made positive definite: the Hessian at the minimum is not positive
 *      definite (a flat or almost flat direction); its scaled eigenvalues
 *      were shifted as MINUIT's MnPosDef does, and the errors come from the
 *      shifted matrix -- an indication, not a measurement
 *   3  accurate: the Hessian at a converged minimum, positive definite */
typedef enum {
  HFS_COV_NONE = 0,
  HFS_COV_APPROXIMATE = 1,
  HFS_COV_MADE_POSDEF = 2,
  HFS_COV_ACCURATE = 3
} hfs_cov_status;

/* "none", "approximate", "made_posdef", "accurate". */
const char *hfs_cov_status_name(int cov_status);

/* Result of one fit.  Arrays have npar entries (cov: npar*npar, row-major)
 * and are owned by the record: create with hfs_fit_result_init, release with
 * hfs_fit_result_free.  Fixed parameters have error 0 and zero rows and
 * columns in cov/corr.
 *
 * Two uncertainties are reported.  error_hessian is sqrt(diag(2 H^-1)), the
 * exact parabolic error at the minimum.  error follows MINUIT's convention,
 * which pyhf (minuit), ROOT and CMS Combine report: a parameter with two
 * limits is fitted internally as p = asin(2 (x - lo) / (hi - lo) - 1), and
 * its error is (|x(p + s) - x| + |x(p - s) - x|) / 2 with s the internal
 * error; this is what makes pyhf quote 4.599 +- 1.317 for Belle II where the
 * Hessian error is 1.334.  Correlations are the same in both conventions. */
typedef struct {
  int status;
  char reason[160]; /* optimizer's own stop reason */
  double twice_nll;
  double grad_norm; /* max-norm of the projected gradient */
  int n_iter;
  int n_eval;
  double time_s;
  int npar;
  double *theta;
  double *error;         /* MINUIT convention (see above) */
  double *error_hessian; /* sqrt(diag(cov)) */
  double *cov;           /* NULL unless errors were requested */
  double *corr;
  int has_errors;
  int cov_status; /* hfs_cov_status; has_errors <=> > 0 */
  /* Global-minimum search (hfs_multistart_minimize; a plain fit: 1, 1, 0):
   * fits run, distinct converged minima met, and which start gave the
   * minimum kept (0: the first fit, not a restart). */
  int n_starts;
  int n_minima;
  int kept_start;
} hfs_fit_result;

int hfs_fit_result_init(hfs_fit_result *r, int npar, int with_cov);

/* MINUIT's external error of a parameter at x within [lo, hi] whose
 * parabolic (Hessian) error is sigma; infinite bounds leave sigma as is. */
double hfs_fit_minuit_error(double x, double lo, double hi, double sigma);
/* Frees the arrays and zeroes the record; harmless on a zeroed record. */
void hfs_fit_result_free(hfs_fit_result *r);
/* Copy src into dst: a zeroed dst is initialised first (allocating); an
 * initialised one of the same npar is overwritten without allocating. */
int hfs_fit_result_copy(hfs_fit_result *dst, const hfs_fit_result *src);

typedef struct hfs_fitter hfs_fitter;

/* Settings of a fitter (defaults via HFS_FIT_OPTIONS_DEFAULT). */
typedef struct {
  hfs_optimizer optimizer;
  double gtol;  /* projected-gradient tolerance on twice_nll
                   (absolute, max-norm) */
  int max_iter; /* iterations; for NLopt, which counts none,
                   evaluations that lowered twice_nll */
} hfs_fit_options;

#define HFS_FIT_OPTIONS_DEFAULT                                                                    \
  { HFS_OPT_NEWTON, 1e-7, 2000 }

/* Bind a fitter to model (borrowed: it must outlive the fitter) with opts
 * (NULL: defaults).  Allocates every buffer and the solver objects for a
 * free fit and for one with the POI fixed, so that such fits allocate
 * nothing in hfscan's code (PETSc still creates small internal objects per
 * TAO solve).  A fit with another number of free parameters builds its
 * solver objects once, on first use (up to 4 sizes are kept).  The TAO
 * optimizer needs hfs_fit_library_init first.  Not collective; one fitter
 * serves one thread at a time. */
int hfs_fitter_create(hfs_model *model, const hfs_fit_options *opts, hfs_fitter **out);
void hfs_fitter_destroy(hfs_fitter **f);

/* Minimise twice_nll(theta | main, aux) starting from init (npar values; the
 * values of fixed parameters are kept).  fixed[i] != 0 holds parameter i.
 * main/aux default to the model's observed data when NULL; init defaults to
 * the suggested init, fixed to the suggested fixed set.  with_errors asks for
 * uncertainties and correlations (res must have been initialised with_cov).
 * Bounds are the model's; free start values outside them are moved onto
 * them.  Non-finite start values or a non-finite twice_nll at the start
 * give HFS_FIT_NONFINITE without a fit; no free parameter gives one
 * evaluation (HFS_FIT_CONVERGED, n_eval 1).  A Hessian that is not positive
 * definite at a converged minimum leaves the fit converged: the covariance
 * is made positive definite (cov_status HFS_COV_MADE_POSDEF, see above) and
 * the reason says so; only a Hessian that is not finite leaves NaN errors
 * (cov_status HFS_COV_NONE, has_errors 0). */
int hfs_fitter_minimize(hfs_fitter *f, const double *main, const double *aux, const double *init,
                        const int *fixed, int with_errors, hfs_fit_result *res);

/* Covariance of the free parameters from the analytic Hessian at theta:
 * cov = 2 H^-1 (H of twice_nll), npar x npar with zero rows and columns for
 * fixed parameters (fixed NULL: the model's suggested set); error and corr
 * likewise.  Any of cov, error, corr may be NULL.  Returns HFS_ERR_NUMERIC
 * (errors NaN) if H restricted to the free parameters is not positive
 * definite. */
int hfs_fitter_covariance(hfs_fitter *f, const double *main, const double *aux, const double *theta,
                          const int *fixed, double *cov, double *error, double *corr);

/* The profile direction at the minimum of the last fit, from the
 * factorisation the Newton backend left (one block solve, no Hessian):
 * when theta is that fit's result and parameter par was free in it, v
 * (npar) gets the first-order change of every parameter per unit change of
 * par with the others re-minimised (v[par] = 1; 0 for fixed parameters and
 * those held on a bound), var (may be NULL) the variance of par, the
 * (par, par) element of the covariance 2 H^-1, and 1 is returned.  Returns 0 otherwise (another
 * backend, another fit or covariance since, no factorisation).  A start
 * point for a fit with par moved (theta + dpar v): the conditional fits of
 * a test statistic. */
int hfs_fitter_profile_direction(hfs_fitter *f, const double *theta, int par, double *v,
                                 double *var);

/* Fits about to start at points many of them share (toys' free fits at
 * their generating point): while on, the first step of each Newton fit is
 * a Fisher-scoring step, on the expected Hessian at its start point (the
 * data replaced by their expectation: no data enter it), whose
 * factorisation is kept for the next fits from the same point and the same
 * parameters at a bound.  A fit's result does not depend on whether it
 * found the factors kept.  Off (the default), fits start with the Hessian
 * of their data.  The first call with on set allocates the cache; models
 * without an expected Hessian in blocks are not affected. */
int hfs_fitter_set_first_scoring(hfs_fitter *f, int on);

/* Search for the global minimum among the minima the model's structure
 * suggests (multistart.c explains which): after a fit, restarts from
 * points where a nuisance parameter with a non-monotonic or kinked
 * interpolation is moved by +-1 sigma along its profile or across its
 * kink, and from extra starts given by the caller, each screened by one
 * likelihood evaluation; the lowest minimum is kept.  Bound to a model and
 * a fitter (both borrowed; they must outlive it).  Creation analyses the
 * model's expected rates once (a few evaluations per normsys and histosys
 * parameter) and allocates everything; not collective, one thread. */
typedef struct hfs_multistart hfs_multistart;
int hfs_multistart_create(hfs_model *m, hfs_fitter *f, hfs_multistart **out);
void hfs_multistart_destroy(hfs_multistart **ms);
/* Parameters whose interpolation is non-monotonic or kinked (restart
 * candidates): how many, and the k-th one's index (-1 outside). */
int hfs_multistart_nflagged(const hfs_multistart *ms);
int hfs_multistart_flagged(const hfs_multistart *ms, int k);
/* hfs_fitter_minimize followed by the search.  extra: nextra start points
 * (npar each; entries may be NULL; fixed parameters keep init's values);
 * at most 4 are used.  res gets the lowest minimum met, with n_starts,
 * n_minima and kept_start set and n_iter, n_eval, time_s summed over every
 * fit; with_errors computes the uncertainties at the kept minimum. */
int hfs_multistart_minimize(hfs_multistart *ms, const double *main, const double *aux,
                            const double *init, const int *fixed, const double *const *extra,
                            int nextra, int with_errors, hfs_fit_result *res);

/* hfs_fitter_profile_direction for the POI at the minimum of the last
 * hfs_multistart_minimize, whose restarts leave the fitter with another
 * fit's factors: available when the first fit's minimum was kept. */
int hfs_multistart_profile_direction(const hfs_multistart *ms, const double *theta, int par,
                                     double *v);

/* Library set-up for the TAO backend (PETSc).  Call once per process after
 * MPI_Init and before any TAO fit; harmless if PETSc is already initialised
 * (then it is left to its owner).  PETSc itself starts on the first TAO
 * fitter, on MPI_COMM_SELF (not collective: ranks that never fit with TAO
 * never start it), so commands using the other backends skip its start-up.
 * argc/argv (may be NULL; kept until then) pass PETSc options such as
 * -hfs_tao_type; PETSC_OPTIONS works too.  PETSc errors come back as codes
 * with their message in the fit record or hfs_error_message() instead of
 * printed tracebacks.  If MPI was not initialised, PETSc initialises it and
 * hfs_fit_library_finalize() (which finalises only what was initialised
 * here) finalises it. */
int hfs_fit_library_init(int *argc, char ***argv);
void hfs_fit_library_finalize(void);

/* Backend interface (used by the fitter; documented for new backends). */
typedef struct hfs_fit_problem hfs_fit_problem;
typedef struct {
  const char *name;
  /* nfree is the largest number of free parameters minimize will see (the
   * model's npar); the number varies from fit to fit with the fixed set. */
  int (*create)(int nfree, void **state);
  /* Minimise over the free parameters x (length hfs_fit_problem_nfree(p),
   * in/out: start in, best point out) within [lo, hi]; the objective is
   * reached through hfs_fit_problem_eval.  Sets res->status (provisional:
   * the fitter checks the projected gradient itself) and res->reason, and
   * adds its iterations to res->n_iter.  Returns non-zero only for a
   * library error. */
  int (*minimize)(void *state, hfs_fit_problem *p, double *x, const double *lo, const double *hi,
                  const hfs_fit_options *opts, hfs_fit_result *res);
  void (*destroy)(void **state);
  /* Optional: build the solver objects for fits with nfree free parameters
   * now, so that such fits allocate nothing later. */
  int (*prepare)(void *state, int nfree);
  /* 1 if the x minimize returns is always one of its accepted iterates,
   * never a trial point: the fitter then keeps it where its twice_nll is
   * within rounding (1e-11 relative) of the lowest point evaluated, instead
   * of going back to that point. */
  int returns_iterate;
} hfs_fit_backend;

/* Objective for backends: twice_nll and gradient over the free parameters. */
double hfs_fit_problem_eval(hfs_fit_problem *p, const double *x, double *g);
/* Hessian over the free parameters (nfree x nfree, row-major). */
int hfs_fit_problem_hessian(hfs_fit_problem *p, const double *x, double *h);
int hfs_fit_problem_nfree(const hfs_fit_problem *p);

#endif
