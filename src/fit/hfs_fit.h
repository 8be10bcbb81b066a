/* Maximum-likelihood fits of an hfs_model behind one optimizer interface.
 *
 * Two backends implement it: PETSc/TAO (a bounded Newton-type or
 * quasi-Newton solver fed the model's analytic gradient and Hessian) and NLopt
 * (a bounded L-BFGS).  A fitter is bound to one model and owns every buffer a
 * fit needs, so repeated fits (toys, scans, impacts) allocate nothing.
 *
 * Every fit yields a record: status (converged, or why not), twice_nll,
 * iterations, likelihood evaluations, wall time, the parameters and, on
 * request, uncertainties and correlations from the analytic Hessian at the
 * minimum.  A failed fit is reported in its record, never hidden: the
 * function returns HFS_OK for an optimizer that did not converge and a
 * non-zero code only for misuse or a library error. */
#ifndef HFS_FIT_H
#define HFS_FIT_H

#include "hfs_model.h"

typedef enum { HFS_OPT_TAO = 0, HFS_OPT_NLOPT = 1 } hfs_optimizer;

/* Name <-> kind ("tao", "nlopt"). */
const char *hfs_optimizer_name(hfs_optimizer o);
int hfs_optimizer_from_name(const char *name, hfs_optimizer *out);

typedef enum {
  HFS_FIT_CONVERGED = 0,       /* projected gradient below tolerance */
  HFS_FIT_MAXITER = 1,         /* iteration or evaluation limit reached */
  HFS_FIT_LINESEARCH = 2,      /* line search / roundoff stopped early */
  HFS_FIT_NONFINITE = 3,       /* likelihood not finite at start or end */
  HFS_FIT_FAILED = 4,          /* optimizer reported failure */
  HFS_FIT_HESSE_FAILED = 5     /* minimum found, Hessian not positive definite */
} hfs_fit_status;

const char *hfs_fit_status_name(int status);

/* Result of one fit.  Arrays have npar entries (cov: npar*npar, row-major)
 * and are owned by the record: create with hfs_fit_result_init, release with
 * hfs_fit_result_free.  Fixed parameters have error 0 and zero rows and
 * columns in cov/corr. */
typedef struct {
  int status;
  char reason[96];             /* optimizer's own stop reason */
  double twice_nll;
  double grad_norm;            /* max-norm of the projected gradient */
  int n_iter;
  int n_eval;
  double time_s;
  int npar;
  double *theta;
  double *error;
  double *cov;                 /* NULL unless errors were requested */
  double *corr;
  int has_errors;
} hfs_fit_result;

int hfs_fit_result_init(hfs_fit_result *r, int npar, int with_cov);
void hfs_fit_result_free(hfs_fit_result *r);
int hfs_fit_result_copy(hfs_fit_result *dst, const hfs_fit_result *src);

typedef struct hfs_fitter hfs_fitter;

/* Settings of a fitter (defaults via HFS_FIT_OPTIONS_DEFAULT). */
typedef struct {
  hfs_optimizer optimizer;
  double gtol;                 /* projected-gradient tolerance on twice_nll */
  int max_iter;
} hfs_fit_options;

#define HFS_FIT_OPTIONS_DEFAULT {HFS_OPT_TAO, 1e-7, 2000}

int hfs_fitter_create(hfs_model *model, const hfs_fit_options *opts,
                      hfs_fitter **out);
void hfs_fitter_destroy(hfs_fitter **f);

/* Minimise twice_nll(theta | main, aux) starting from init (npar values; the
 * values of fixed parameters are kept).  fixed[i] != 0 holds parameter i.
 * main/aux default to the model's observed data when NULL; init defaults to
 * the suggested init, fixed to the suggested fixed set.  with_errors asks for
 * uncertainties and correlations (res must have been initialised with_cov).
 * Bounds are the model's. */
int hfs_fitter_minimize(hfs_fitter *f, const double *main, const double *aux,
                        const double *init, const int *fixed, int with_errors,
                        hfs_fit_result *res);

/* Covariance of the free parameters from the analytic Hessian at theta:
 * cov = 2 H^-1 (H of twice_nll).  Returns HFS_ERR_NUMERIC if H restricted to
 * the free parameters is not positive definite. */
int hfs_fitter_covariance(hfs_fitter *f, const double *main, const double *aux,
                          const double *theta, const int *fixed, double *cov,
                          double *error, double *corr);

/* Library set-up for the TAO backend (PETSc).  Call once per process after
 * MPI_Init and before any TAO fit; harmless if PETSc is already initialised.
 * hfs_fit_library_finalize() undoes it. */
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
  int (*minimize)(void *state, hfs_fit_problem *p, double *x, const double *lo,
                  const double *hi, const hfs_fit_options *opts,
                  hfs_fit_result *res);
  void (*destroy)(void **state);
  /* Optional: build the solver objects for fits with nfree free parameters
   * now, so that such fits allocate nothing later. */
  int (*prepare)(void *state, int nfree);
} hfs_fit_backend;

/* Objective for backends: twice_nll and gradient over the free parameters. */
double hfs_fit_problem_eval(hfs_fit_problem *p, const double *x, double *g);
/* Hessian over the free parameters (nfree x nfree, row-major). */
int hfs_fit_problem_hessian(hfs_fit_problem *p, const double *x, double *h);
int hfs_fit_problem_nfree(const hfs_fit_problem *p);

#endif
