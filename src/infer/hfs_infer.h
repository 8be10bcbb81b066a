/* Statistical inference on an hfs_model: test statistics, Asimov data,
 * asymptotic CLs hypothesis tests, discovery significance and CLs upper
 * limits, in pyhf's conventions (docs/inference.md).
 *
 * An hfs_infer context owns a fitter and every buffer a test needs, and
 * caches what does not depend on the tested mu (the free fit to the data,
 * the Asimov data set and the free fit to it), so a limit scan costs two fits
 * per tested mu.  Pure computation: no MPI, no I/O.  One context serves one
 * thread. */
#ifndef HFS_INFER_H
#define HFS_INFER_H

#include "hfs_fit.h"

#include <stdint.h>

typedef enum {
  HFS_TS_QTILDE = 0, /* q~_mu, pyhf's default (POI lower bound 0) */
  HFS_TS_Q,          /* q_mu */
  HFS_TS_TMU,        /* t_mu, two-sided */
  HFS_TS_TMUTILDE,   /* t~_mu, two-sided with bounded mu-hat */
  HFS_TS_Q0          /* discovery */
} hfs_teststat;

const char *hfs_teststat_name(hfs_teststat ts);
int hfs_teststat_from_name(const char *name, hfs_teststat *out);

/* Compact record of one fit, kept in results and output files. */
typedef struct {
  int status; /* hfs_fit_status */
  double twice_nll;
  double poi; /* POI value at the minimum (or where it was fixed) */
  int n_iter, n_eval;
  double time_s;
  /* Global-minimum search (hfs_fit.h, hfs_multistart_minimize): fits run,
   * distinct minima met, the start kept (0: the first fit). */
  int n_starts, n_minima, kept_start;
  /* 1 when this free fit was redone from a conditional fit's solution,
   * which had reached a lower twice_nll (the test statistic's repair). */
  int repaired;
} hfs_fit_summary;

void hfs_fit_summarize(const hfs_fit_result *r, int poi, hfs_fit_summary *s);

typedef struct hfs_infer hfs_infer;

/* fixed/init: NULL means the model's suggested ones (the --fix options of
 * the command line arrive here).  The context keeps pointers to the model
 * only. */
int hfs_infer_create(hfs_model *m, const hfs_fit_options *fo, const int *fixed, const double *init,
                     hfs_infer **out);
void hfs_infer_destroy(hfs_infer **I);

/* Which fits search for the global minimum (hfs_multistart_minimize):
 * those to the observed data and to Asimov data sets (default on), and those
 * to toys (default off: --robust toys).  Not collective. */
void hfs_infer_set_robust(hfs_infer *I, int observed, int toys);
/* Whether the search is on for fits to the observed data. */
int hfs_infer_robust_observed(const hfs_infer *I);
/* A fit like hfs_fitter_minimize(hfs_infer_fitter(I), ...), with the
 * global-minimum search when it is on for these data (main NULL: the
 * observed data): used by rankings and scans.  extra: further start points
 * (NULL entries skipped), e.g. a neighbouring scan point's solution. */
int hfs_infer_minimize(hfs_infer *I, const double *main, const double *aux, const double *init,
                       const int *fixed, const double *const *extra, int nextra, int with_errors,
                       hfs_fit_result *r);
/* Free fits redone from a conditional fit's solution since the context was
 * created (the test statistic's repairs). */
int hfs_infer_nrepairs(const hfs_infer *I);

hfs_model *hfs_infer_model(hfs_infer *I);
hfs_fitter *hfs_infer_fitter(hfs_infer *I);
const int *hfs_infer_fixed(const hfs_infer *I);
const double *hfs_infer_init(const hfs_infer *I);

/* Fits on arbitrary data (main, aux; NULL = observed).  start NULL = init. */
int hfs_infer_fit_free(hfs_infer *I, const double *main, const double *aux, const double *start,
                       hfs_fit_result *r);
int hfs_infer_fit_fixed_poi(hfs_infer *I, double mu, const double *main, const double *aux,
                            const double *start, hfs_fit_result *r);

/* Value of a test statistic on the given data from its two fits (both
 * results are returned; either pointer may be NULL). */
int hfs_infer_teststat(hfs_infer *I, hfs_teststat ts, double mu, const double *main,
                       const double *aux, double *t, hfs_fit_summary *free_fit,
                       hfs_fit_summary *cond_fit);
/* The same with the free fit started from `start` (NULL = init): toys start
 * from their generating parameters, which saves iterations and is the same
 * for every toy of a hypothesis. */
int hfs_infer_teststat_from(hfs_infer *I, hfs_teststat ts, double mu, const double *main,
                            const double *aux, const double *start, double *t,
                            hfs_fit_summary *free_fit, hfs_fit_summary *cond_fit);

/* Asimov data set at POI value mu_a: main and aux data expected at the
 * conditional fit to the observed data (pyhf's generate_asimov_data).  The
 * buffers must have nbins and naux entries. */
int hfs_infer_asimov(hfs_infer *I, double mu_a, double *main, double *aux,
                     hfs_fit_summary *gen_fit);

/* Fit slots of a hypothesis test. */
enum {
  HFS_HT_FREE_DATA = 0,
  HFS_HT_COND_DATA,
  HFS_HT_ASIMOV_GEN,
  HFS_HT_FREE_ASIMOV,
  HFS_HT_COND_ASIMOV,
  HFS_HT_NFITS
};
extern const char *const hfs_hypotest_fit_names[HFS_HT_NFITS];

typedef struct hfs_hypotest_s {
  double mu;
  hfs_teststat ts;
  double cls_obs, clsb_obs, clb_obs;
  double cls_exp[5]; /* -2, -1, 0, +1, +2 sigma (pyhf order, ascending) */
  double q_obs, q_asimov, mu_hat;
  hfs_fit_summary fits[HFS_HT_NFITS];
} hfs_hypotest;

/* Asymptotic hypothesis test at mu (arXiv:1007.1727 in pyhf's form). */
int hfs_infer_hypotest(hfs_infer *I, hfs_teststat ts, double mu, hfs_hypotest *out);

typedef struct {
  double q0, p0, z; /* observed */
  double q0_asimov;
  double p0_exp[5], z_exp[5]; /* pyhf order; index 2 = median */
  double mu_hat;
  hfs_fit_summary fits[HFS_HT_NFITS];
} hfs_significance;

int hfs_infer_significance(hfs_infer *I, hfs_significance *out);

/* Upper limit on the POI at confidence level cl (0.95 default). */
typedef struct {
  double cl;
  double rtol;     /* relative tolerance on the limits (1e-5) */
  hfs_teststat ts; /* QTILDE or Q */
  int nscan;       /* optional grid kept in the result */
  double scan_lo, scan_hi;
  /* HFS_LIMIT_BRENT (0): every point a full hypothesis test, Brent's
   * method per curve, the points kept in the result.  HFS_LIMIT_SECANT:
   * for grids, the same roots in fewer fits: the expected curves from
   * Asimov fits alone, each fit warm-started from its nearest neighbour,
   * safeguarded secant steps on nearly linear transforms of the curves; no
   * points kept, no nscan (docs/grid.md).  HFS_LIMIT_STEPS (the default):
   * SECANT's search under BRENT's contract: every limit found or the call
   * fails (the first curve's error, nothing kept), nscan honoured, the
   * points tested on both data sets kept as hypothesis tests (the expected
   * curves' other points need the Asimov fits only and are not tests). */
  int method;
  /* HFS_LIMIT_SECANT: a test already made with this context (the grid
   * point's CLs at mu), reused as the first point; NULL: none */
  const struct hfs_hypotest_s *known;
} hfs_limit_options;

enum { HFS_LIMIT_BRENT = 0, HFS_LIMIT_SECANT = 1, HFS_LIMIT_STEPS = 2 };

#define HFS_LIMIT_OPTIONS_DEFAULT                                                                  \
  { 0.95, 1e-5, HFS_TS_QTILDE, 0, 0, 0, HFS_LIMIT_STEPS, NULL }

typedef struct {
  double cl;
  double obs;
  double exp[5];        /* -2 ... +2 sigma */
  int npoints;          /* hypotests computed (root finding + grid) */
  hfs_hypotest *points; /* all of them, sorted by mu (owned) */
  int nscan;
  int *scan_index;   /* indices into points of the grid (owned) */
  int nfailed_fits;  /* fits that did not converge, over all points */
  int nkept_restart; /* fits whose first try stopped in a local minimum */
  int nrepairs;      /* free fits redone from a conditional solution */
  /* HFS_LIMIT_SECANT: a curve whose root cannot be found (outside the
   * POI's bounds, a fit that cannot start) does not stop the others: its
   * value is NaN, its code (HFS_ERR_*) in curve_rc ([0] observed, [1..5]
   * expected -2 ... +2 sigma) and the first such message in message; the
   * call fails only when no curve has a value. */
  int curve_rc[6];
  char message[240];
} hfs_limit;

/* Root finding on CLs(mu) = 1 - cl inside the POI's bounds.  Returns
 * HFS_ERR_BRACKET with a clear message when a curve cannot be bracketed
 * within the bounds: the search never leaves them. */
int hfs_infer_limit(hfs_infer *I, const hfs_limit_options *o, hfs_limit *out);
void hfs_limit_free(hfs_limit *l);

/* Helpers shared with the toy calculator: the asymptotic p-values from the
 * observed and Asimov test statistics. */
void hfs_asymptotic_pvalues(hfs_teststat ts, double q, double qa, double *clsb, double *clb,
                            double *cls);
void hfs_asymptotic_expected(hfs_teststat ts, double qa, double cls_exp[5]);

/* One point of a signal grid (docs/grid.md): CLs at one POI value, with the
 * expected band, optionally the upper limit with its bands, from asymptotics
 * or from toys with an adaptive toy count. */
typedef struct {
  double mu;       /* tested POI value (1: the signal as published) */
  hfs_teststat ts; /* QTILDE (pyhf's default) or Q */
  int limit;       /* also the upper limit */
  hfs_limit_options lim;
  int toys;                   /* toy CLs instead of asymptotic */
  uint64_t seed;              /* toys: this point's seed */
  int64_t toys_min, toys_max; /* per hypothesis */
  int64_t toys_batch;         /* toys per hypothesis between two accuracy checks */
  double cls_accuracy;        /* stop once the binomial error on CLs is below */
} hfs_point_options;

#define HFS_POINT_OPTIONS_DEFAULT                                                                  \
  { 1.0, HFS_TS_QTILDE, 0, HFS_LIMIT_OPTIONS_DEFAULT, 0, 1, 500, 20000, 250, 0.005 }

/* Status of a point's part (CLs, limit). */
enum {
  HFS_POINT_OK = 0,         /* every fit converged */
  HFS_POINT_FIT_FAILED = 1, /* values computed, but a fit did not converge */
  HFS_POINT_ERROR = 2,      /* no value (message says why) */
  HFS_POINT_NOT_RUN = 3     /* not asked for (limit without --limit) */
};

typedef struct {
  int status, limit_status;   /* HFS_POINT_* */
  double cls_obs, cls_exp[5]; /* -2 ... +2 sigma; NaN when not computed */
  double clsb_obs, clb_obs;
  double cls_err;            /* toys: binomial error on CLs_obs; else 0 */
  int64_t ntoys_sb, ntoys_b; /* toys used (0 for asymptotics) */
  int64_t nfail_toys;        /* toys left out (fits not converged) */
  double q_obs, mu_hat;
  double limit_obs, limit_exp[5];
  /* HFS_POINT_* of each limit: [0] observed, [1..5] expected -2 ... +2
   * sigma (limit_status is the worst of them) */
  int limit_part_status[6];
  hfs_fit_summary fits[HFS_HT_NFITS]; /* of the test at mu */
  int nfailed_fits;                   /* fits that did not converge, limit included */
  char message[240];                  /* why status or limit_status is ERROR */
} hfs_point_result;

/* HFS_ERR_ARG (with the message) for toy settings that cannot work. */
int hfs_point_options_check(const hfs_point_options *o);

/* Compute one grid point's asymptotic part: CLs at mu with its band and,
 * with o->limit, the limits.  With o->toys the toy CLs replace the CLs
 * values later, from batches (hfs_toys.h).  Errors of the computation (a fit
 * that cannot start, a limit that cannot be bracketed) are recorded in r,
 * never returned: the return value is HFS_OK unless memory ran out or the
 * options are invalid. */
int hfs_infer_point(hfs_infer *I, const hfs_point_options *o, hfs_point_result *r);

/* The module's other parts: toys (hfs_toys.h), impacts and likelihood
 * scans (hfs_impacts.h), Asimov data and goodness of fit (hfs_diag.h).
 * Include this header; they come with it. */
#include "hfs_impacts.h"
#include "hfs_toys.h"
#include "hfs_diag.h"

#endif
