/* Private layout of hfs_model, shared by build.c (compilation from the spec)
 * and model.c (likelihood).  Everything is flat arrays so the hot loop walks
 * memory in order and allocates nothing. */
#ifndef HFS_MODEL_INTERNAL_H
#define HFS_MODEL_INTERNAL_H

#include "hfs_lanes.h"
#include "hfs_model.h"
#include "interp.h"

/* Multiplicative modifier that is constant across the bins of a sample:
 * normfactor / lumi (kappa = theta) or normsys (kappa = interpolated). */
typedef struct {
  int par;
  int normsys; /* index into normsys coefficients, or -1 for kappa = theta */
} hfs_scalar_mod;

/* Additive histosys on one sample: Delta_b = u d_up[b] + v d_dn[b]. */
typedef struct {
  int par;
  int off; /* offset of this instance's bins in d_up / d_dn */
} hfs_hist_mod;

/* Per-bin multiplicative modifier (staterror, shapesys, shapefactor):
 * kappa_b = theta[pars[off + b]]. */
typedef struct {
  int off; /* offset into pb_par, one entry per bin of the sample */
} hfs_bin_mod;

/* One sample in one channel. */
typedef struct {
  int bin0; /* first global bin */
  int nbins;
  int nom;    /* offset into nominal[] (and into sb scratch) */
  int s0, s1; /* scalar modifiers [s0, s1) */
  int h0, h1; /* histosys [h0, h1) */
  int b0, b1; /* per-bin modifiers [b0, b1) */
} hfs_sample_block;

/* The compiled form evaluated by the likelihood (compile.c).  Every
 * modifier of one parameter on one sample is fused into one term:
 * multiplicative (normfactor, lumi, normsys: kappa = theta^nlin times the
 * normsys factors [n0, n1) of cns) or additive (histosys: shifts summed into
 * fd_up / fd_dn).  Per-bin factors (gammas) keep the binmod tables. */
typedef struct {
  int par;
  int sh;     /* shared index of par (scalar parameters are shared) */
  int nlin;   /* factors kappa = theta (normfactor, lumi) */
  int n0, n1; /* normsys factors in cns */
} hfs_mterm;

typedef struct {
  int par;
  int sh; /* shared index of par */
} hfs_aterm;

typedef struct {
  int bin0, nbins, nom;
  int m0, m1; /* mterms */
  int a0, a1; /* aterms */
  int fd0;    /* their shifts: bin j of term t at fd0 + j (a1 - a0) + t - a0 */
  int b0, b1; /* per-bin modifiers (binmod) */
} hfs_csample;

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

  double *observed;    /* nbins */
  double *auxdata;     /* naux */
  int *aux_par;        /* naux: parameter of each aux entry */
  double *aux_lognorm; /* 2 ln(sigma sqrt(2 pi)) for Gaussian entries, 0 else */

  /* structure */
  int nblocks;
  hfs_sample_block *blocks;
  int nsb;         /* total sample-bins */
  double *nominal; /* nsb */
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

  /* compiled form (compile.c) */
  hfs_csample *cs; /* nblocks, same order as blocks */
  int nmterm, naterm, ncns;
  hfs_mterm *mterm;
  hfs_aterm *aterm;
  hfs_normsys_coef *cns;
  double *fd_up, *fd_dn;
  int nhpar, *hpar; /* parameters with a histosys, for their weights */
  /* per mterm, what the rate pass reads (compact, in term order): its
   * parameter, whether it is one code-4 normsys (most terms: kappa is the
   * polynomial 1 + a1 x + ... + a6 x^6 inside |x| < 1) and its a1..a6, laid
   * out by pairs of terms for the two-lane pass (a_k of term t at
   * mt_c[12 (t / 2) + 2 k + t % 2]; zero for the other terms).  Padded to an
   * even number of terms. */
  int *mt_par;
  unsigned char *mt_simple;
  int nmpair, *mt_pair;   /* the pairs whose two terms are simple */
  int nmother, *mt_other; /* the terms of the other pairs */
  double *mt_c;
  int normsys_code;
  /* position of each parameter in the structure: shared index, or -1 and
   * then its block and position in the block */
  int *sh_idx, *loc_blk, *loc_pos;
  int *bin_blk; /* nbins: block of each bin, or -1 */
  int max_mterm, max_bin_terms, max_aterm;

  /* evaluation scratch of the compiled form */
  double *mk, *mk1, *mk2;  /* nmterm: kappa, kappa', kappa'' of each fused term */
  double *mpre;            /* nmterm: product of the sample's terms before this one */
  double *pw;              /* npar x 6: histosys weights of each parameter */
  double *gw;              /* 6 x naterm: the weights gathered per term (gw + k naterm) */
  double *asum;            /* 2 x max_aterm: per-term sums of the gradient */
  double *csF;             /* nblocks: product of the sample's multiplicative terms */
  double *csFc;            /* 4 nblocks: its four partial products (model.c) */
  double *hX, *hY;         /* nshared x nblocks: columns of the sample-level update */
  double *hJ;              /* nshared x nbins: data-term columns */
  double *hsym;            /* nshared x nshared: BLAS triangle */
  double *jloc;            /* local parameters' data-term Jacobian (block_par order) */
  double *uvec;            /* npar: one sample-bin's gradient */
  int *uidx;               /* its nonzero positions */
  int *umark;              /* npar: 1 + position in uidx, or 0 */
  double *hss, *hbb, *hbs; /* blocks for the dense Hessian */
  int *is_perbin;          /* npar: 1 for gamma parameters (per-bin factors) */
  size_t *bb_off, *bs_off; /* nblocks: offsets of each block in hbb, hbs */
  double *sv;              /* 3 x max_bin_terms: exact path's term values */
  int *sp;                 /* 2 x max_bin_terms: its parameters and kinds */

  /* scratch (sized at build, reused by every evaluation) */
  double *nu, *wbin;
  double *sb_A, *sb_G;
  double *tmp; /* max(npar, scalars per block) x 2 */
  int max_scal;
  /* cached data constant */
  double *cache_data; /* nbins + naux copy of the data the constant is for */
  double cache_const;
  int cache_valid;
};

/* compile.c: build the compiled form after the layout (build.c); free it. */
int hfs__model_compile(hfs_model *m, int normsys_code);
void hfs__model_compiled_free(hfs_model *m);

/* model.c, for hessian.c: rates at theta with derivatives up to order
 * (0, 1, 2) of the fused terms; the main term's value, setting wbin. */
void hfs__model_eval_rates(hfs_model *m, const double *theta, int order);
double hfs__model_main_term(hfs_model *m, const double *main);

#endif
