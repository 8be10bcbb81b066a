/* Fit diagnostics: Asimov data sets for blinded runs and the saturated-model
 * goodness of fit (docs/diagnostics.md).  Pure computation: no MPI, no I/O.
 * Part of the infer module: include hfs_infer.h, which brings this header. */
#ifndef HFS_DIAG_H
#define HFS_DIAG_H

#include "hfs_infer.h"

#include <stdint.h>

/* Where the nuisance parameters of an Asimov data set sit. */
typedef enum {
  HFS_ASIMOV_PREFIT = 0, /* at their initial values (cabinetry's Asimov,
                            Combine's -t -1) */
  HFS_ASIMOV_POSTFIT     /* at the fit to the observed data with the POI held
                            at mu (pyhf's generate_asimov_data, Combine's
                            -t -1 --toysFrequentist) */
} hfs_asimov_nuis;

const char *hfs_asimov_nuis_name(hfs_asimov_nuis n); /* "prefit", "postfit" */

/* Asimov data at POI value mu: main (nbins) and aux (naux) data expected at
 * the generating parameters, which are written to theta (npar; may be NULL).
 * Pre-fit: the context's initial values (with --fix values) and the POI at
 * mu, no fit (gen->n_eval 0).  Post-fit: the conditional fit to the model's
 * observed data, recorded in gen (may be NULL).  HFS_ERR_ARG when mu is
 * outside the POI's bounds.  A post-fit generation whose fit did not converge
 * returns HFS_OK with the status in gen: the caller decides. */
int hfs_asimov_generate(hfs_infer *I, double mu, hfs_asimov_nuis nuis, double *main, double *aux,
                        double *theta, hfs_fit_summary *gen);

/* ---- Goodness of fit: saturated model ----
 *
 * The statistic of Baker and Cousins as cabinetry and Combine's GoodnessOfFit
 * --algo saturated compute it: t = twice_nll(theta-hat) - twice_nll_sat,
 * where the saturated model sets every main rate to its count and every
 * constraint term to its maximum (the parameter at its auxiliary datum), so
 *   t = 2 sum_b [nu_b - n_b + n_b ln(n_b / nu_b)] + constraint pulls.
 * twice_nll_sat is exactly hfs_model_twice_nll_constant() of the data.
 * Degrees of freedom: main bins minus free unconstrained parameters
 * (cabinetry's unconstrained_parameter_count: free parameters with no
 * constraint term, per-bin ones counted bin by bin), as constrained
 * parameters bring their own auxiliary measurement. */
typedef struct {
  double t;            /* statistic, >= 0 */
  int ndof;            /* may be <= 0: then p_asymptotic is NaN */
  double p_asymptotic; /* P(chi2_ndof >= t) */
  double twice_nll;    /* best fit */
  double twice_nll_saturated;
  hfs_fit_summary fit;
} hfs_gof;

int hfs_gof_ndof(hfs_infer *I);
/* Statistic of given data (NULL: observed) from a free fit started at start
 * (NULL: init).  A fit that does not converge is reported in out->fit. */
int hfs_gof_statistic(hfs_infer *I, const double *main, const double *aux, const double *start,
                      hfs_gof *out);

/* Toys for the p-value: drawn from the model at the best fit to the observed
 * data (frequentist toys: main counts Poisson, auxiliary data around the
 * fitted parameters), each refitted freely.  Toy i under a seed is the same
 * pseudo-data on any process, so the toys are work units. */
typedef struct {
  double t; /* NaN when the toy's fit was not finite */
  double twice_nll;
  int32_t status; /* hfs_fit_status of the toy's fit */
  int32_t pad;
} hfs_gof_toy;

typedef struct hfs_gof_toys hfs_gof_toys;

/* Fits the observed data (the same way on every process): the observed
 * statistic in *obs (may be NULL). */
int hfs_gof_toys_create(hfs_infer *I, uint64_t seed, hfs_gof_toys **out, hfs_gof *obs);
void hfs_gof_toys_destroy(hfs_gof_toys **G);
/* Generating parameters (npar; the best fit to the observed data). */
const double *hfs_gof_toys_theta(const hfs_gof_toys *G);
int hfs_gof_toys_generate(hfs_gof_toys *G, int64_t toy, double *main, double *aux);
int hfs_gof_toys_run(hfs_gof_toys *G, int64_t toy, hfs_gof_toy *out);

/* Toy p-value: fraction of usable toys (converged fits) with t >= t_obs, its
 * binomial error; failed toys are counted, not used. */
typedef struct {
  double p, p_err;
  int64_t nused, nfailed;
} hfs_gof_pvalue;

void hfs_gof_toys_pvalue(const hfs_gof_toy *toys, int64_t n, double t_obs, hfs_gof_pvalue *out);

/* ---- Yields per channel, bin and sample ----
 *
 * Expected rates at theta with uncertainties sigma_f = sqrt(J C J^T)
 * propagated through a covariance C with the model's exact Jacobian J of
 * the rates (hfs_model_rates), for every sample-bin, every bin's total, and
 * the sums over bins (a sample's and the channel's integral), so
 * correlations between samples and bins are kept. */
typedef struct {
  const char *name; /* owned by the model */
  int nbins, nsamples;
  const char **sample_names;       /* nsamples, owned by the model */
  double *yields, *unc;            /* nsamples x nbins, row-major */
  double *total, *total_unc;       /* nbins: sum over samples */
  double *integral, *integral_unc; /* nsamples: sum over bins */
  double sum, sum_unc;             /* the channel's total */
  double *data;                    /* nbins: the model's observed counts */
} hfs_yields_channel;

typedef struct {
  int nchannels;
  hfs_yields_channel *ch;
} hfs_yields;

/* Pre-fit covariance: diagonal, the squared pre-fit widths of the free
 * constrained parameters (unconstrained and fixed parameters: 0, as in
 * cabinetry).  cov: npar x npar. */
void hfs_yields_prefit_cov(const hfs_model *m, const int *fixed, double *cov);
/* Yields at theta with uncertainties from cov (npar x npar; NULL: no
 * uncertainties, unc arrays 0).  Allocates out's arrays: release with
 * hfs_yields_free. */
int hfs_yields_compute(hfs_model *m, const double *theta, const double *cov, hfs_yields *out);
void hfs_yields_free(hfs_yields *y);

/* ---- Profile-likelihood scans of any one or two parameters ----
 *
 * A grid over one or two parameters (the POI or any other free parameter);
 * at each point the scanned parameters are held at the grid values, the
 * `frozen` ones at their values in the free fit (statistical-only variants),
 * and everything else is profiled.  Each point is one work unit that starts
 * from the free fit, so results do not depend on which process ran it.
 * 2 delta NLL of a point is its twice_nll minus the free fit's. */
typedef struct {
  int32_t status; /* hfs_fit_status */
  int32_t n_iter, n_eval, pad;
  double x, y; /* the scanned parameters' values (y: NaN in 1D) */
  double poi;  /* POI at the minimum */
  double twice_nll;
  double time_s;
} hfs_pscan_point;

typedef struct hfs_pscan hfs_pscan;

/* ndim 1 or 2 parameters par[] with n[] points from lo[] to hi[] (n = 1:
 * lo only); frozen: npar flags or NULL.  Fits the model freely first.
 * HFS_ERR_ARG for a parameter held fixed, the same parameter twice, or a
 * range outside the parameter's bounds (the message names it). */
int hfs_pscan_create(hfs_infer *I, int ndim, const int *par, const double *lo, const double *hi,
                     const int *n, const int *frozen, hfs_pscan **out);
void hfs_pscan_destroy(hfs_pscan **s);
const hfs_fit_result *hfs_pscan_free_fit(const hfs_pscan *s);
int hfs_pscan_ndim(const hfs_pscan *s);
int hfs_pscan_par(const hfs_pscan *s, int d); /* model index of scanned parameter d */
/* Grid of dimension d (0 or 1): n values (owned by the context). */
const double *hfs_pscan_axis(const hfs_pscan *s, int d, int *n);
/* Units: point (i, j) of a 2D grid is unit i * n[1] + j. */
int64_t hfs_pscan_nunits(const hfs_pscan *s);
int hfs_pscan_run(hfs_pscan *s, int64_t u, hfs_pscan_point *out);

#endif
