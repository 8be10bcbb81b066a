/* Private state of an inference context (src/infer). */
#ifndef HFS_INFER_INTERNAL_H
#define HFS_INFER_INTERNAL_H

#include "hfs_infer.h"

struct hfs_infer {
  hfs_model *m;
  hfs_fitter *fitter;
  int npar, nbins, naux, poi;
  int *fixed;     /* user's fixed set */
  int *fixed_poi; /* the same with the POI held */
  double *init;
  double *start;            /* scratch start point */
  hfs_fit_result r;         /* scratch fit result */
  hfs_fit_result r2;        /* scratch free fit of a test statistic */
  hfs_fit_result free_data; /* cached free fit to the observed data */
  int have_free_data;
  /* cached Asimov set for asimov_mu */
  int have_asimov;
  double asimov_mu;
  double *asimov_main, *asimov_aux;
  hfs_fit_summary asimov_gen;
  hfs_fit_result free_asimov;
  int have_free_asimov;
  hfs_multistart *ms; /* global-minimum search */
  int robust_observed, robust_toys;
  int nrepairs;
  double *start2; /* scratch start point of a repair */
  /* Profile directions of the POI at the free fits (hfs_fitter_profile_
   * direction): the conditional fits at mu start from theta-hat + (mu -
   * mu-hat) dir.  dir: of the last free fit of a test statistic (toys). */
  double *dir, *dir_data, *dir_asimov;
  int have_dir_data, have_dir_asimov;
};

/* q at mu on the observed data or on the cached Asimov set alone, the
 * conditional fit started from start (NULL: the free fit's solution);
 * hfs__infer_last_theta is its solution until the next fit (infer.c). */
int hfs__infer_q_data(hfs_infer *I, hfs_teststat ts, double mu, const double *start, double *q,
                      hfs_fit_summary *free_fit, hfs_fit_summary *cond_fit);
int hfs__infer_q_asimov(hfs_infer *I, hfs_teststat ts, double mu, const double *start, double *qa,
                        hfs_fit_summary *free_fit, hfs_fit_summary *cond_fit);
const double *hfs__infer_last_theta(const hfs_infer *I);

/* The limit of a grid point (hfs_limit_options.method = HFS_LIMIT_SECANT;
 * limit_fast.c). */
int hfs__infer_limit_secant(hfs_infer *I, const hfs_limit_options *o, hfs_limit *L);

#endif
