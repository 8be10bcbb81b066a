/* Private state of an inference context (src/infer). */
#ifndef HFS_INFER_INTERNAL_H
#define HFS_INFER_INTERNAL_H

#include "hfs_infer.h"

struct hfs_infer {
  hfs_model *m;
  hfs_fitter *fitter;
  int npar, nbins, naux, poi;
  int *fixed;          /* user's fixed set */
  int *fixed_poi;      /* the same with the POI held */
  double *init;
  double *start;       /* scratch start point */
  hfs_fit_result r;    /* scratch fit result */
  hfs_fit_result r2;   /* scratch free fit of a test statistic */
  hfs_fit_result free_data;   /* cached free fit to the observed data */
  int have_free_data;
  /* cached Asimov set for asimov_mu */
  int have_asimov;
  double asimov_mu;
  double *asimov_main, *asimov_aux;
  hfs_fit_summary asimov_gen;
  hfs_fit_result free_asimov;
  int have_free_asimov;
  hfs_multistart *ms;  /* global-minimum search */
  int robust_observed, robust_toys;
  int nrepairs;
  double *start2;      /* scratch start point of a repair */
};

#endif
