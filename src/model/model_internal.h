/* Private layout of hfs_model, shared by build.c (compilation from the spec)
 * and model.c (likelihood).  Everything is flat arrays so the hot loop walks
 * memory in order and allocates nothing. */
#ifndef HFS_MODEL_INTERNAL_H
#define HFS_MODEL_INTERNAL_H

#include "hfs_model.h"
#include "interp.h"

/* Multiplicative modifier that is constant across the bins of a sample:
 * normfactor / lumi (kappa = theta) or normsys (kappa = interpolated). */
typedef struct {
  int par;
  int normsys;      /* index into normsys coefficients, or -1 for kappa = theta */
} hfs_scalar_mod;

/* Additive histosys on one sample: Delta_b = u d_up[b] + v d_dn[b]. */
typedef struct {
  int par;
  int off;          /* offset of this instance's bins in d_up / d_dn */
} hfs_hist_mod;

/* Per-bin multiplicative modifier (staterror, shapesys, shapefactor):
 * kappa_b = theta[pars[off + b]]. */
typedef struct {
  int off;          /* offset into pb_par, one entry per bin of the sample */
} hfs_bin_mod;

/* One sample in one channel. */
typedef struct {
  int bin0;         /* first global bin */
  int nbins;
  int nom;          /* offset into nominal[] (and into sb scratch) */
  int s0, s1;       /* scalar modifiers [s0, s1) */
  int h0, h1;       /* histosys [h0, h1) */
  int b0, b1;       /* per-bin modifiers [b0, b1) */
} hfs_sample_block;

struct hfs_model {
  char *measurement;
  int npar, nbins, naux, poi, nchan;

  /* parameters */
  char **par_name;
  double *init, *lo, *hi, *sigma, *tau, *prefit;
  int *fixed, *aux_index;
  hfs_constraint *constr;
  hfs_modtype *ptype;

  /* channels */
  char **chan_name;
  int *chan_off, *chan_nbins;

  double *observed;   /* nbins */
  double *auxdata;    /* naux */
  int *aux_par;       /* naux: parameter of each aux entry */
  double *aux_lognorm; /* 2 ln(sigma sqrt(2 pi)) for Gaussian entries, 0 else */

  /* structure */
  int nblocks;
  hfs_sample_block *blocks;
  int nsb;            /* total sample-bins */
  double *nominal;    /* nsb */
  int nscal;
  hfs_scalar_mod *scal;
  int nnormsys;
  hfs_normsys_coef *normsys;
  int nhist;
  hfs_hist_mod *hist;
  double *d_up, *d_dn;
  int nbinmod;
  hfs_bin_mod *binmod;
  int *pb_par;
  int histosys_code;

  /* sample names per block; blocks of channel c are [chan_blk0[c],
   * chan_blk0[c + 1]) */
  char **samp_name;
  int *chan_blk0;

  /* Hessian structure (hfs_model_structure): shared parameters and the
   * local parameters of each bin, grouped by block */
  int st_nshared, st_nblocks;
  int *st_shared, *st_block_off, *st_block_par, *st_block_bin;

  /* parameters touching each bin (CSR), for the Hessian */
  int *binpar_off, *binpar;

  /* scratch (sized at build, reused by every evaluation) */
  double *nu, *wbin;
  double *sb_A, *sb_G;
  double *scal_k;       /* nscal x 3: kappa, kappa', kappa'' */
  double *hist_w;       /* nhist x 6 */
  double *tmp;          /* max(npar, scalars per block) x 2 */
  int max_scal;
  double *jrow;         /* npar */
  double *hdense;       /* npar x npar, for hfs_model_hessian_blocks */
  /* cached data constant */
  double *cache_data;   /* nbins + naux copy of the data the constant is for */
  double cache_const;
  int cache_valid;
};

#endif
