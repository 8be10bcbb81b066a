/* The compiled HistFactory model and its likelihood.
 *
 * hfs_model_create() turns a checked workspace (hfs_spec) and one of its
 * measurements into flat arrays in pyhf's conventions: channels and samples
 * sorted by name, parameters in pyhf's par_order, per-bin parameters named
 * "name[i]", auxiliary data in parameter order.  After creation the model
 * never allocates: the likelihood, its gradient and Hessian use scratch
 * buffers owned by the model, so one model serves one thread at a time.
 *
 * The likelihood is pure arithmetic: no MPI, no I/O.  twice_nll is pyhf's
 * -2 ln L including every constant term (Poisson lgamma(n+1), Gaussian
 * ln(sigma sqrt(2 pi)), Poisson-constraint lgamma(aux+1)); see
 * docs/likelihood.md. */
#ifndef HFS_MODEL_H
#define HFS_MODEL_H

#include "hfs_workspace.h"

#include <stddef.h>

typedef struct hfs_model hfs_model;

/* Interpolation codes as in pyhf/ROOT.  normsys: 0, 1, 2, 4 (default 4);
 * histosys: 0, 2, 4 where 4 means pyhf's code4p (default). */
typedef struct {
  int normsys_code;
  int histosys_code;
} hfs_model_options;

#define HFS_MODEL_OPTIONS_DEFAULT                                                                  \
  { 4, 4 }

typedef enum {
  HFS_CONSTR_NONE = 0, /* normfactor, shapefactor */
  HFS_CONSTR_GAUSS,    /* normsys, histosys, lumi, staterror */
  HFS_CONSTR_POISSON   /* shapesys */
} hfs_constraint;

/* Build the model for measurement `measurement` (NULL: the first one). */
int hfs_model_create(const hfs_spec *spec, const char *measurement, const hfs_model_options *opts,
                     hfs_model **out);
void hfs_model_destroy(hfs_model **model);

/* Sizes. */
int hfs_model_npar(const hfs_model *m);
int hfs_model_nbins(const hfs_model *m); /* main bins, all channels */
int hfs_model_naux(const hfs_model *m);  /* auxiliary data entries */
int hfs_model_poi(const hfs_model *m);   /* index of the POI */
const char *hfs_model_measurement(const hfs_model *m);

/* Parameters, in the model's order. */
const char *hfs_model_par_name(const hfs_model *m, int i);    /* "mu", "gam[2]" */
int hfs_model_par_find(const hfs_model *m, const char *name); /* -1 if absent */
double hfs_model_par_init(const hfs_model *m, int i);
double hfs_model_par_lo(const hfs_model *m, int i);
double hfs_model_par_hi(const hfs_model *m, int i);
int hfs_model_par_fixed(const hfs_model *m, int i); /* suggested_fixed */
hfs_constraint hfs_model_par_constraint(const hfs_model *m, int i);
hfs_modtype hfs_model_par_type(const hfs_model *m, int i); /* defining modifier */
/* Constraint: Gaussian mean source (aux index) and width; Poisson factor tau.
 * Returns -1 for unconstrained parameters. */
int hfs_model_par_aux_index(const hfs_model *m, int i);
double hfs_model_par_sigma(const hfs_model *m, int i); /* Gaussian width */
double hfs_model_par_tau(const hfs_model *m, int i);   /* Poisson factor */
/* Pre-fit width in the parameter's own convention: 1 for alphas, sigma for
 * lumi/staterror, 1/sqrt(tau) for shapesys, 0 for unconstrained. */
double hfs_model_par_prefit_width(const hfs_model *m, int i);
void hfs_model_init(const hfs_model *m, double *theta); /* suggested init */
/* Replace a parameter's bounds and suggested initial value (the command
 * line's --bounds and --set).  HFS_ERR_ARG unless lo < hi and
 * lo <= init <= hi; the model is unchanged then. */
int hfs_model_par_set_range(hfs_model *m, int i, double lo, double hi, double init);

/* Channels in model order (sorted by name) and their bin ranges. */
int hfs_model_nchannels(const hfs_model *m);
const char *hfs_model_channel_name(const hfs_model *m, int c);
int hfs_model_channel_offset(const hfs_model *m, int c);
int hfs_model_channel_nbins(const hfs_model *m, int c);

/* Observed data of the measurement: main counts (nbins) and the nominal
 * auxiliary data (naux), both owned by the model. */
const double *hfs_model_observed(const hfs_model *m);
const double *hfs_model_auxdata(const hfs_model *m);
/* Replace the observed data (main: nbins counts >= 0, aux: naux entries) by
 * copies of main and aux, e.g. an Asimov data set for a blinded run
 * (src/infer/asimov.c).  HFS_ERR_ARG for a negative or non-finite count. */
int hfs_model_set_data(hfs_model *m, const double *main, const double *aux);

/* Expected main data nu(theta) (nbins) and, if aux_out is not NULL, the
 * constraint means at theta (naux): theta for Gaussian, tau*gamma for
 * Poisson constraints, as pyhf's expected_data(). */
void hfs_model_expected(hfs_model *m, const double *theta, double *main_out, double *aux_out);

/* -2 ln L(theta | main, aux).  If grad is not NULL it receives the gradient
 * (npar).  Returns +INFINITY where an expected rate is not positive while its
 * count is (or is negative), so optimizers back off; never NaN for finite
 * theta within bounds. */
double hfs_model_twice_nll(hfs_model *m, const double *main, const double *aux, const double *theta,
                           double *grad);

/* Analytic Hessian of twice_nll (npar x npar, row-major, symmetric). */
int hfs_model_hessian(hfs_model *m, const double *main, const double *aux, const double *theta,
                      double *hess);

/* Constant part of twice_nll (sum of the lgamma and log-sigma terms) for the
 * given data, for comparisons with implementations that drop it. */
double hfs_model_twice_nll_constant(const hfs_model *m, const double *main, const double *aux);

/* Hessian structure for structured Newton solvers.  A parameter is "local"
 * to main bin b when every rate factor it enters acts on bin b only
 * (staterror, shapesys and shapefactor gammas: one per bin); the locals of
 * different bins never couple in the Hessian of twice_nll.  Every other
 * parameter is "shared".  Owned by the model; valid for its lifetime. */
typedef struct {
  int nshared; /* shared parameters, ascending indices */
  const int *shared;
  int nblocks;          /* bins that have at least one local parameter */
  const int *block_off; /* nblocks + 1 offsets into block_par */
  const int *block_par; /* local parameter indices, grouped by block, ascending within a block */
  const int *block_bin; /* the main bin of each block */
} hfs_model_structure;
void hfs_model_structure_get(const hfs_model *m, hfs_model_structure *s);

/* Hessian of twice_nll in that structure.  hss: nshared x nshared,
 * row-major, in shared[] order.  For block b of size k_b = block_off[b+1] -
 * block_off[b]: hbb + sum_{c<b} k_c^2 holds its k_b x k_b block, hbs +
 * sum_{c<b} k_c * nshared its k_b x nshared coupling to the shared
 * parameters.  Entries equal the dense hfs_model_hessian's.  Fails like
 * hfs_model_hessian where the likelihood is not finite. */
int hfs_model_hessian_blocks(hfs_model *m, const double *main, const double *aux,
                             const double *theta, double *hss, double *hbb, double *hbs);

/* Samples of a channel (model order, sorted by name as pyhf). */
int hfs_model_channel_nsamples(const hfs_model *m, int c);
const char *hfs_model_sample_name(const hfs_model *m, int c, int s);

/* Expected main rates of channel c at theta, of one sample (s >= 0) or of
 * the sum of all samples (s = -1): nu receives hfs_model_channel_nbins(c)
 * values; jac, if not NULL, the exact Jacobian d nu_b / d theta_j
 * (nbins_c x npar, row-major).  No allocation.  HFS_ERR_ARG for c or s out
 * of range. */
int hfs_model_rates(hfs_model *m, const double *theta, int c, int s, double *nu, double *jac);

/* Why twice_nll is not finite at theta, for error messages: names the first
 * non-finite parameter, else the first non-finite expected rate of one
 * sample (channel, bin, sample), else the first bin whose total rate is
 * negative, or not positive while its count in main (may be NULL) is.
 * Writes one line into buf and returns 1; returns 0 if none is found. */
int hfs_model_first_nonfinite(hfs_model *m, const double *main, const double *theta, char *buf,
                              size_t len);

#endif
