/* PETSc/TAO backend: bounded Newton or quasi-Newton solvers on the
 * problem's analytic gradient (and Hessian for the Newton types).
 *
 * This is the only file of hfscan that includes PETSc.  Every object lives
 * on PETSC_COMM_SELF: a fit is serial and each MPI rank fits on its own.
 * A TAO object has a fixed dimension, so the state keeps one per number of
 * free parameters met so far (free fit, POI fixed, ...); repeated fits of a
 * size already seen reuse it.
 *
 * The default is TAOBNTL (bounded Newton trust region with a line-search
 * fallback) on the dense analytic Hessian, solved by Steihaug-Toint CG with a
 * Jacobi preconditioner.  Measured on the reference workspaces, the Belle II
 * likelihood and toys of both (tests/fit/fit_timing.c), it converged in every
 * fit, where TAOBNLS (line search, CG) failed its line search in 1-10% of
 * toys of the models with strongly non-quadratic modifiers, TAOBNLS with a
 * Cholesky solve in 8%, and the quasi-Newton TAOBQNLS/TAOBLMVM did not
 * reach the tolerance on the 232-parameter model within 2000 iterations.
 * Those stay selectable (fit_internal.h, and PETSc options with the prefix
 * "hfs_", e.g. -hfs_tao_type bnls, through PETSC_OPTIONS or the argv given
 * to hfs_fit_library_init, override the settings made here).
 *
 * The trust-region types stop with an error on a non-finite trial value, so
 * where the likelihood is +INFINITY (an invalid rate) TAO sees a finite wall
 * instead (TAO_WALL). */
#include "fit_internal.h"

#include <math.h>
#include <petsctao.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"

#define TAO_SLOTS 4

typedef struct {
  int nfree; /* 0: slot unused */
  Tao tao;
  Vec x, xl, xu, hdiag;
  Mat H;
  unsigned long used;
} tao_slot;

typedef struct {
  const char *type;
  const char *ksp_type; /* NULL: the type uses no Hessian */
  const char *pc_type;
  int cap;
  tao_slot slots[TAO_SLOTS];
  unsigned long tick;
  hfs_fit_problem *p; /* problem of the fit under way, for callbacks */
  int hess_rc;        /* hfs status of a failed Hessian callback */
} tao_state;

static int petsc_initialised_here = 0;
static int petsc_handler_pushed = 0;
/* PETSc's message for the last error, kept by petsc_error_handler. */
static char petsc_last_error[160];

/* Errors travel back as codes (as with PetscReturnErrorHandler) instead of
 * printing a traceback; the message of the innermost call is kept for the
 * fit record or the hfs error. */
static PetscErrorCode petsc_error_handler(MPI_Comm comm, int line, const char *fun,
                                          const char *file, PetscErrorCode n, PetscErrorType p,
                                          const char *mess, void *ctx) {
  (void)comm;
  (void)file;
  (void)ctx;
  if (p == PETSC_ERROR_INITIAL)
    snprintf(petsc_last_error, sizeof petsc_last_error, "%s (%s:%d)",
             mess && *mess ? mess : "unknown error", fun ? fun : "?", line);
  return n;
}

static const char *petsc_message(PetscErrorCode ierr) {
  const char *text = NULL;
  if (petsc_handler_pushed && petsc_last_error[0]) return petsc_last_error;
  PetscErrorMessage((int)ierr, &text, NULL);
  return text ? text : "unknown error";
}

/* Record a PETSc error as an hfs error with PETSc's own text. */
static int tao_error(PetscErrorCode ierr, const char *what, int line) {
  return hfs_error_set(HFS_ERR_OPTIMIZER, "PETSc error %d: %s, in %s (%s:%d)", (int)ierr,
                       petsc_message(ierr), what, __FILE__, line);
}

#define TAO_CHECK(expr)                                                                            \
  do {                                                                                             \
    PetscErrorCode ierr_ = (expr);                                                                 \
    if (ierr_) {                                                                                   \
      rc = tao_error(ierr_, #expr, __LINE__);                                                      \
      goto cleanup;                                                                                \
    }                                                                                              \
  } while (0)

int hfs__fit_petsc_ready(void) {
  PetscBool init = PETSC_FALSE, fin = PETSC_FALSE;
  if (PetscInitialized(&init) || PetscFinalized(&fin)) return 0;
  return init && !fin;
}

/* hfs_fit_library_init only records its arguments: PETSc starts on the
 * first TAO fit, so that commands fitting with the other backends do not
 * pay its start-up.  It starts on MPI_COMM_SELF (every TAO object lives
 * there anyway), so ranks need not agree on when that happens: a master
 * that never fits never starts it. */
static int library_wanted = 0;
static int *library_argc = NULL;
static char ***library_argv = NULL;

static int petsc_start(void) {
  int rc = HFS_OK;
  if (!hfs__fit_petsc_ready()) {
    PetscBool fin = PETSC_FALSE;
    PetscFinalized(&fin);
    if (fin)
      HFS_FAIL(HFS_ERR_OPTIMIZER,
               "PETSc was finalised in this process "
               "and cannot be initialised again");
    int mpi_up = 0;
    MPI_Initialized(&mpi_up);
    /* PETSc accepts another world only when MPI is already running; when
     * it starts MPI itself the process is alone anyway. */
    if (mpi_up) PETSC_COMM_WORLD = MPI_COMM_SELF;
    if (library_argc && library_argv)
      TAO_CHECK(PetscInitialize(library_argc, library_argv, NULL, NULL));
    else
      TAO_CHECK(PetscInitializeNoArguments());
    petsc_initialised_here = 1;
  }
  /* Errors come back as codes and are reported through hfs_error; PETSc's
   * default handler would also print a traceback for every failed fit. */
  if (!petsc_handler_pushed) {
    TAO_CHECK(PetscPushErrorHandler(petsc_error_handler, NULL));
    petsc_handler_pushed = 1;
  }
cleanup:
  return rc;
}

int hfs_fit_library_init(int *argc, char ***argv) {
  PetscBool fin = PETSC_FALSE;
  library_wanted = 1;
  library_argc = argc;
  library_argv = argv;
  /* A program that runs PETSc itself keeps it; only the handler is ours. */
  if (hfs__fit_petsc_ready()) return petsc_start();
  PetscFinalized(&fin);
  if (fin)
    return hfs_error_set(HFS_ERR_OPTIMIZER,
                         "PETSc was finalised in this process "
                         "and cannot be initialised again");
  return HFS_OK;
}

void hfs_fit_library_finalize(void) {
  library_wanted = 0;
  if (!hfs__fit_petsc_ready()) return;
  if (petsc_handler_pushed) {
    PetscPopErrorHandler();
    petsc_handler_pushed = 0;
  }
  if (petsc_initialised_here) {
    PetscFinalize();
    petsc_initialised_here = 0;
  }
}

/* ---- callbacks ---- */

/* Where the likelihood is undefined (+INFINITY) TAO sees a finite wall
 * instead: the trust-region types stop with an error on a non-finite trial
 * value, while a huge finite one just makes them reject the step and shrink
 * the region.  The line searches treat it like +INFINITY. */
#define TAO_WALL 1e300

static PetscErrorCode tao_objective(Tao tao, Vec X, PetscReal *f, void *ctx) {
  (void)tao;
  tao_state *s = ctx;
  const PetscScalar *x;
  PetscCall(VecGetArrayRead(X, &x));
  *f = hfs_fit_problem_eval(s->p, x, NULL);
  if (!isfinite(*f)) *f = TAO_WALL;
  PetscCall(VecRestoreArrayRead(X, &x));
  return 0;
}

static PetscErrorCode tao_objective_gradient(Tao tao, Vec X, PetscReal *f, Vec G, void *ctx) {
  (void)tao;
  tao_state *s = ctx;
  const PetscScalar *x;
  PetscScalar *g;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(G, &g));
  *f = hfs_fit_problem_eval(s->p, x, g);
  if (!isfinite(*f)) *f = TAO_WALL;
  PetscCall(VecRestoreArray(G, &g));
  PetscCall(VecRestoreArrayRead(X, &x));
  return 0;
}

/* The dense matrix is column-major with leading dimension nfree; the
 * Hessian is symmetric, so the problem's row-major block fits as is. */
static PetscErrorCode tao_hessian(Tao tao, Vec X, Mat H, Mat Hpre, void *ctx) {
  (void)tao;
  (void)Hpre;
  tao_state *s = ctx;
  const PetscScalar *x;
  PetscScalar *h;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(MatDenseGetArray(H, &h));
  int rc = hfs_fit_problem_hessian(s->p, x, h);
  PetscCall(MatDenseRestoreArray(H, &h));
  PetscCall(VecRestoreArrayRead(X, &x));
  if (rc != HFS_OK) {
    s->hess_rc = rc;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER, "hfscan: Hessian evaluation failed");
  }
  return 0;
}

/* ---- state ---- */

static void slot_free(tao_slot *slot) {
  TaoDestroy(&slot->tao);
  VecDestroy(&slot->x);
  VecDestroy(&slot->xl);
  VecDestroy(&slot->xu);
  VecDestroy(&slot->hdiag);
  MatDestroy(&slot->H);
  slot->nfree = 0;
}

/* TAO's own test, plus the engine's rounding-floor rule: a projected
 * gradient whose every component is within rounding of zero (judged with
 * the diagonal of the current Newton Hessian) is converged, rather than
 * iterating to the limit on a gradient floating point cannot shrink. */
static PetscErrorCode tao_converged(Tao tao, void *ctx) {
  tao_slot *slot = ctx;
  TaoConvergedReason reason;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  if (reason != TAO_CONTINUE_ITERATING || !slot->H) return 0;
  PetscReal gatol, grtol, gttol;
  PetscCall(TaoGetTolerances(tao, &gatol, &grtol, &gttol));
  Vec x, g;
  PetscCall(TaoGetSolution(tao, &x));
  PetscCall(TaoGetGradient(tao, &g, NULL, NULL));
  PetscCall(MatGetDiagonal(slot->H, slot->hdiag));
  PetscInt n;
  const PetscScalar *ax, *ag, *al, *au, *ad;
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetArrayRead(x, &ax));
  PetscCall(VecGetArrayRead(g, &ag));
  PetscCall(VecGetArrayRead(slot->xl, &al));
  PetscCall(VecGetArrayRead(slot->xu, &au));
  PetscCall(VecGetArrayRead(slot->hdiag, &ad));
  double ex = hfs__fit_gradient_excess((int)n, ax, ag, al, au, ad);
  PetscCall(VecRestoreArrayRead(slot->hdiag, &ad));
  PetscCall(VecRestoreArrayRead(slot->xu, &au));
  PetscCall(VecRestoreArrayRead(slot->xl, &al));
  PetscCall(VecRestoreArrayRead(g, &ag));
  PetscCall(VecRestoreArrayRead(x, &ax));
  if (ex < gatol) PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  return 0;
}

static int slot_build(tao_state *s, tao_slot *slot, int n) {
  int rc = HFS_OK;
  TAO_CHECK(VecCreateSeq(PETSC_COMM_SELF, n, &slot->x));
  TAO_CHECK(VecDuplicate(slot->x, &slot->xl));
  TAO_CHECK(VecDuplicate(slot->x, &slot->xu));
  TAO_CHECK(VecDuplicate(slot->x, &slot->hdiag));
  TAO_CHECK(TaoCreate(PETSC_COMM_SELF, &slot->tao));
  TAO_CHECK(TaoSetType(slot->tao, s->type));
  TAO_CHECK(TaoSetSolution(slot->tao, slot->x));
  TAO_CHECK(TaoSetVariableBounds(slot->tao, slot->xl, slot->xu));
  TAO_CHECK(TaoSetObjective(slot->tao, tao_objective, s));
  TAO_CHECK(TaoSetObjectiveAndGradient(slot->tao, NULL, tao_objective_gradient, s));
  /* Convergence is judged on the absolute gradient only: TAO's relative
   * tests (gradient over |f| or over the initial gradient) would stop early
   * on likelihoods with a large constant term.  The engine sets gatol and
   * the limits before every solve. */
  TAO_CHECK(TaoSetTolerances(slot->tao, 1e-8, 0.0, 0.0));
  if (s->ksp_type) {
    KSP ksp;
    PC pc;
    TAO_CHECK(MatCreateSeqDense(PETSC_COMM_SELF, n, n, NULL, &slot->H));
    TAO_CHECK(MatSetOption(slot->H, MAT_SYMMETRIC, PETSC_TRUE));
    TAO_CHECK(TaoSetHessian(slot->tao, slot->H, slot->H, tao_hessian, s));
    TAO_CHECK(TaoSetConvergenceTest(slot->tao, tao_converged, slot));
    TAO_CHECK(TaoGetKSP(slot->tao, &ksp));
    TAO_CHECK(KSPGetPC(ksp, &pc));
    TAO_CHECK(KSPSetType(ksp, s->ksp_type));
    TAO_CHECK(PCSetType(pc, s->pc_type));
  }
  TAO_CHECK(TaoSetOptionsPrefix(slot->tao, "hfs_"));
  TAO_CHECK(TaoSetFromOptions(slot->tao));
  slot->nfree = n;
cleanup:
  if (rc != HFS_OK) slot_free(slot);
  return rc;
}

static int tao_get_slot(tao_state *s, int nfree, tao_slot **out) {
  int rc = HFS_OK;
  tao_slot *slot = NULL;
  for (int k = 0; k < TAO_SLOTS; k++)
    if (s->slots[k].nfree == nfree) slot = &s->slots[k];
  if (!slot) {
    slot = &s->slots[0];
    for (int k = 1; k < TAO_SLOTS; k++)
      if (s->slots[k].used < slot->used) slot = &s->slots[k];
    slot_free(slot);
    HFS_CHECK(slot_build(s, slot, nfree));
  }
  slot->used = ++s->tick;
  *out = slot;
cleanup:
  return rc;
}

static int tao_create_type(const char *type, const char *ksp_type, const char *pc_type, int cap,
                           void **out) {
  int rc = HFS_OK;
  tao_state *s = NULL;
  if (!hfs__fit_petsc_ready()) {
    if (!library_wanted)
      HFS_FAIL(HFS_ERR_OPTIMIZER,
               "TAO optimizer: PETSc is not initialised "
               "(call hfs_fit_library_init first)");
    HFS_CHECK(petsc_start());
  }
  HFS_ALLOC(s, 1);
  s->type = type;
  s->ksp_type = ksp_type;
  s->pc_type = pc_type;
  s->cap = cap;
  *out = s;
cleanup:
  return rc;
}

static int tao_create_bntl(int cap, void **out) {
  return tao_create_type(TAOBNTL, KSPSTCG, PCJACOBI, cap, out);
}
static int tao_create_bntr(int cap, void **out) {
  return tao_create_type(TAOBNTR, KSPSTCG, PCJACOBI, cap, out);
}
static int tao_create_bnls(int cap, void **out) {
  return tao_create_type(TAOBNLS, KSPCG, PCJACOBI, cap, out);
}
static int tao_create_bnls_chol(int cap, void **out) {
  return tao_create_type(TAOBNLS, KSPPREONLY, PCCHOLESKY, cap, out);
}
static int tao_create_bqnls(int cap, void **out) {
  return tao_create_type(TAOBQNLS, NULL, NULL, cap, out);
}
static int tao_create_blmvm(int cap, void **out) {
  return tao_create_type(TAOBLMVM, NULL, NULL, cap, out);
}

static void tao_backend_destroy(void **state) {
  if (!state || !*state) return;
  tao_state *s = *state;
  /* After PetscFinalize the objects are gone with PETSc's memory. */
  if (hfs__fit_petsc_ready())
    for (int k = 0; k < TAO_SLOTS; k++) slot_free(&s->slots[k]);
  free(s);
  *state = NULL;
}

static int tao_backend_prepare(void *state, int nfree) {
  tao_slot *slot;
  return tao_get_slot(state, nfree, &slot);
}

static int tao_status(TaoConvergedReason reason) {
  switch (reason) {
    case TAO_CONVERGED_GATOL:
    case TAO_CONVERGED_GRTOL:
    case TAO_CONVERGED_GTTOL:
    case TAO_CONVERGED_STEPTOL:
    case TAO_CONVERGED_MINF:
    case TAO_CONVERGED_USER: return HFS_FIT_CONVERGED;
    case TAO_DIVERGED_MAXITS:
    case TAO_DIVERGED_MAXFCN: return HFS_FIT_MAXITER;
    case TAO_DIVERGED_LS_FAILURE:
    case TAO_DIVERGED_TR_REDUCTION: return HFS_FIT_LINESEARCH;
    case TAO_DIVERGED_NAN: return HFS_FIT_NONFINITE;
    default: return HFS_FIT_FAILED;
  }
}

static int copy_to_vec(Vec v, const double *src, int n) {
  PetscScalar *a;
  if (VecGetArrayWrite(v, &a)) return 1;
  memcpy(a, src, (size_t)n * sizeof *a);
  return VecRestoreArrayWrite(v, &a) ? 1 : 0;
}

static int tao_backend_minimize(void *state, hfs_fit_problem *p, double *x, const double *lo,
                                const double *hi, const hfs_fit_options *opts,
                                hfs_fit_result *res) {
  int rc = HFS_OK;
  tao_state *s = state;
  tao_slot *slot = NULL;
  int n = hfs_fit_problem_nfree(p);
  if (n > s->cap) HFS_FAIL(HFS_ERR_ARG, "TAO: %d free parameters, created for %d", n, s->cap);
  if (!hfs__fit_petsc_ready())
    HFS_FAIL(HFS_ERR_OPTIMIZER, "TAO optimizer: PETSc is not initialised");
  HFS_CHECK(tao_get_slot(s, n, &slot));
  if (copy_to_vec(slot->x, x, n) || copy_to_vec(slot->xl, lo, n) || copy_to_vec(slot->xu, hi, n))
    HFS_FAIL(HFS_ERR_OPTIMIZER, "TAO: cannot set the start point");
  /* TAO measures the 2-norm of the projected gradient, which bounds the
   * max-norm the engine checks; half of gtol leaves room for rounding. */
  TAO_CHECK(TaoSetTolerances(slot->tao, 0.5 * opts->gtol, 0.0, 0.0));
  TAO_CHECK(TaoSetMaximumIterations(slot->tao, opts->max_iter));
  TAO_CHECK(TaoSetMaximumFunctionEvaluations(slot->tao, 20 * opts->max_iter + 100));
  s->p = p;
  s->hess_rc = HFS_OK;
  petsc_last_error[0] = '\0';
  PetscErrorCode ierr = TaoSolve(slot->tao);
  PetscInt its = 0;
  TaoConvergedReason reason = TAO_CONTINUE_ITERATING;
  TaoGetIterationNumber(slot->tao, &its);
  TaoGetConvergedReason(slot->tao, &reason);
  res->n_iter += (int)its;
  {
    const PetscScalar *a;
    TAO_CHECK(VecGetArrayRead(slot->x, &a));
    memcpy(x, a, (size_t)n * sizeof *x);
    TAO_CHECK(VecRestoreArrayRead(slot->x, &a));
  }
  if (ierr) {
    /* An error inside the solve (a failed Hessian, a PETSc check on the
     * objective) ends this fit, not the program; the solver object may be
     * half-way through, so it is rebuilt for the next fit. */
    res->status = HFS_FIT_FAILED;
    if (s->hess_rc != HFS_OK)
      snprintf(res->reason, sizeof res->reason, "TAO %s: Hessian failed: %s", s->type,
               hfs_error_message());
    else
      snprintf(res->reason, sizeof res->reason, "TAO %s: %s", s->type, petsc_message(ierr));
    slot_free(slot);
  } else {
    res->status = tao_status(reason);
    snprintf(res->reason, sizeof res->reason, "TAO %s: %s", s->type, TaoConvergedReasons[reason]);
  }
cleanup:
  return rc;
}

const hfs_fit_backend hfs__fit_backend_tao_bntl = {
    .name = "tao-bntl",
    .create = tao_create_bntl,
    .minimize = tao_backend_minimize,
    .destroy = tao_backend_destroy,
    .prepare = tao_backend_prepare,
};

const hfs_fit_backend hfs__fit_backend_tao_bntr = {
    .name = "tao-bntr",
    .create = tao_create_bntr,
    .minimize = tao_backend_minimize,
    .destroy = tao_backend_destroy,
    .prepare = tao_backend_prepare,
};

const hfs_fit_backend hfs__fit_backend_tao_bnls_chol = {
    .name = "tao-bnls-chol",
    .create = tao_create_bnls_chol,
    .minimize = tao_backend_minimize,
    .destroy = tao_backend_destroy,
    .prepare = tao_backend_prepare,
};

const hfs_fit_backend hfs__fit_backend_tao_bnls = {
    .name = "tao-bnls",
    .create = tao_create_bnls,
    .minimize = tao_backend_minimize,
    .destroy = tao_backend_destroy,
    .prepare = tao_backend_prepare,
};

const hfs_fit_backend hfs__fit_backend_tao_bqnls = {
    .name = "tao-bqnls",
    .create = tao_create_bqnls,
    .minimize = tao_backend_minimize,
    .destroy = tao_backend_destroy,
    .prepare = tao_backend_prepare,
};

const hfs_fit_backend hfs__fit_backend_tao_blmvm = {
    .name = "tao-blmvm",
    .create = tao_create_blmvm,
    .minimize = tao_backend_minimize,
    .destroy = tao_backend_destroy,
    .prepare = tao_backend_prepare,
};
