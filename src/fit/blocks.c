/* Block linear algebra of the structured Hessian.
 *
 * A HistFactory Hessian is an arrow: each bin's gammas (staterror, shapesys,
 * shapefactor) couple among themselves and to the shared parameters (POI,
 * normsys, histosys, lumi), never to another bin's gammas.  Ordering the
 * locals first,
 *
 *     H = [ A  B ]     A = diag(A_1 .. A_nb), A_b = L_b L_b^T
 *         [ B' C ]     S = C - sum_b W_b' W_b,  W_b = L_b^-1 B_b,
 *
 * so a solve costs one small Cholesky per block, a few triangular solves and
 * one Cholesky of the Schur complement S on the shared parameters: on the
 * Belle II likelihood (52 shared, 180 local) about 0.15 Mflop against 4 for a
 * dense Cholesky.  B_b has structural zero columns (a bin is touched by a
 * fraction of the shared parameters); W_b keeps only the nonzero ones.
 *
 * The inverse comes from the same factors:
 *     H^-1 = [ A^-1 + Z S^-1 Z'   -Z S^-1 ]    Z_b = A_b^-1 B_b = L_b^-T W_b
 *            [ -S^-1 Z'            S^-1   ]
 * which is what the covariance needs, without a dense dpotri.
 *
 * A problem without structure is one dense block of shared parameters: the
 * Schur complement is then the Hessian itself.  Everything is sized at
 * creation; evaluations, factorisations and solves allocate nothing. */
#include "fit_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_lanes.h"

struct hfs_fit_blocks {
  int npar, nshared, nblocks, nlocal;
  int *shared;      /* nshared parameter indices */
  int *boff;        /* nblocks + 1 */
  int *bpar;        /* nlocal */
  int *aoff, *woff; /* nblocks + 1: offsets of k_b^2 and k_b nshared */
  hfs_fit_hessian_blocks_fn hblocks;
  hfs_fit_hessian_fn hessian;
  /* the same with the data replaced by their expectation (optional) */
  hfs_fit_hessian_blocks_fn hblocks_exp;
  hfs_fit_hessian_fn hessian_exp;
  double *hss, *hbb, *hbs; /* the Hessian as evaluated */
  double *hdiag;           /* npar: its diagonal */
  double dmax;             /* largest |diagonal| */
  /* selection */
  int ns;
  int *s_sel, *s_pos; /* ns: position in shared[], caller's position */
  int *l_n;           /* nblocks: selected locals per block */
  int *l_sel, *l_pos; /* at boff: position in the block, caller's one */
  int *pos;           /* npar scratch for the covariance */
  /* factors */
  double *fa;         /* at aoff: L_b, m_b x m_b column-major */
  double *fw;         /* at fwo: W_b, m_b x c_b row-major, packed so
                         that blocks with the same columns follow
                         each other (one BLAS update per group) */
  int *fwo;           /* nblocks: offset of W_b in fw */
  double *fz;         /* at fwo: Z_b (inverse only), likewise */
  double *q;          /* nshared x nlocal: Q = L_S^-1 M (inverse only) */
  double *tll;        /* nlocal^2: Q'Q (inverse only) */
  double *ainv;       /* at aoff: A_b^-1 (inverse only) */
  unsigned char *nzc; /* nblocks x nshared: B_b's column j has a nonzero
                         (set by eval, so that the factorisations and
                         their damped retries do not rescan B_b) */
  int *fcols;         /* nblocks x nshared: selected nonzero columns */
  int *fnc;           /* nblocks: their number c_b */
  double *fs;         /* nshared^2: Cholesky factor of S (lower) */
  double *fs0;        /* nshared^2: S before its factorisation, for the
                         Schur-only damped retries */
  double *sinv;       /* nshared^2: S^-1; scratch of the factorisation */
  double *v;          /* nlocal + nshared scratch */
  double *vt;         /* nshared + largest block: the solve's scratch */
  int *fcolh;         /* nblocks x nshared: B_b's column of each of fcols */
  /* groups of consecutive blocks with the same columns, as factorised:
   * their W rows follow each other in fw, so that the solve gathers and
   * scatters the shared entries once per group */
  int ngroups;
  int *gk0;   /* ngroups + 1: first block of each group */
  double *vg; /* nlocal: the selected locals of the grouped blocks after the
                 solve's first pass, group after group in W's row order */
};

void hfs__fit_blocks_destroy(hfs_fit_blocks **pb) {
  if (!pb || !*pb) return;
  hfs_fit_blocks *b = *pb;
  free(b->shared);
  free(b->boff);
  free(b->bpar);
  free(b->aoff);
  free(b->woff);
  free(b->hss);
  free(b->hbb);
  free(b->hbs);
  free(b->hdiag);
  free(b->s_sel);
  free(b->s_pos);
  free(b->l_n);
  free(b->l_sel);
  free(b->l_pos);
  free(b->pos);
  free(b->fa);
  free(b->fw);
  free(b->fz);
  free(b->fwo);
  free(b->q);
  free(b->tll);
  free(b->ainv);
  free(b->nzc);
  free(b->fs0);
  free(b->fcols);
  free(b->fnc);
  free(b->fs);
  free(b->sinv);
  free(b->v);
  free(b->vt);
  free(b->fcolh);
  free(b->gk0);
  free(b->vg);
  free(b);
  *pb = NULL;
}

int hfs__fit_blocks_create(int npar, const hfs_fit_structure *s, hfs_fit_hessian_blocks_fn hblocks,
                           hfs_fit_hessian_fn hessian, hfs_fit_blocks **out) {
  int rc = HFS_OK;
  hfs_fit_blocks *b = NULL;
  int *seen = NULL;
  if (!out || npar < 0 || (s && !hblocks) || (!s && !hessian))
    HFS_FAIL(HFS_ERR_ARG, "fit: bad arguments to the block Hessian");
  *out = NULL;
  HFS_ALLOC(b, 1);
  b->npar = npar;
  b->hblocks = hblocks;
  b->hessian = hessian;
  b->nshared = s ? s->nshared : npar;
  b->nblocks = s ? s->nblocks : 0;
  b->nlocal = s ? s->block_off[s->nblocks] : 0;
  int ns = b->nshared, nb = b->nblocks, nl = b->nlocal;
  if (ns + nl != npar || ns < 0 || nb < 0)
    HFS_FAIL(HFS_ERR_ARG,
             "fit: block structure has %d shared and %d local "
             "parameters for %d",
             ns, nl, npar);
  HFS_ALLOC(b->shared, ns);
  HFS_ALLOC(b->boff, nb + 1);
  HFS_ALLOC(b->bpar, nl);
  HFS_ALLOC(b->aoff, nb + 1);
  HFS_ALLOC(b->woff, nb + 1);
  HFS_ALLOC(seen, npar);
  for (int j = 0; j < ns; j++) {
    int i = s ? s->shared[j] : j;
    if (i < 0 || i >= npar || seen[i]++)
      HFS_FAIL(HFS_ERR_ARG, "fit: block structure: bad shared parameter %d", i);
    b->shared[j] = i;
  }
  for (int k = 0; k <= nb && s; k++) b->boff[k] = s->block_off[k];
  for (int k = 0; k < nb; k++) {
    int kb = b->boff[k + 1] - b->boff[k];
    if (kb < 0) HFS_FAIL(HFS_ERR_ARG, "fit: block structure: block %d has size %d", k, kb);
    b->aoff[k + 1] = b->aoff[k] + kb * kb;
    b->woff[k + 1] = b->woff[k] + kb * ns;
  }
  for (int q = 0; q < nl; q++) {
    int i = s->block_par[q];
    if (i < 0 || i >= npar || seen[i]++)
      HFS_FAIL(HFS_ERR_ARG, "fit: block structure: bad local parameter %d", i);
    b->bpar[q] = i;
  }
  size_t na = (size_t)b->aoff[nb], nw = (size_t)b->woff[nb], nss = (size_t)ns * (size_t)ns;
  HFS_ALLOC(b->hss, nss);
  HFS_ALLOC(b->hbb, na);
  HFS_ALLOC(b->hbs, nw);
  HFS_ALLOC(b->hdiag, npar);
  HFS_ALLOC(b->s_sel, ns);
  HFS_ALLOC(b->s_pos, ns);
  HFS_ALLOC(b->l_n, nb);
  HFS_ALLOC(b->l_sel, nl);
  HFS_ALLOC(b->l_pos, nl);
  HFS_ALLOC(b->pos, npar);
  HFS_ALLOC(b->fa, na);
  HFS_ALLOC(b->fw, nw);
  HFS_ALLOC(b->fz, nw);
  HFS_ALLOC(b->fwo, nb);
  HFS_ALLOC(b->q, nw);
  HFS_ALLOC(b->tll, (size_t)nl * (size_t)nl);
  HFS_ALLOC(b->ainv, na);
  HFS_ALLOC(b->nzc, (size_t)nb * (size_t)ns);
  HFS_ALLOC(b->fs0, nss);
  HFS_ALLOC(b->fcols, (size_t)nb * (size_t)ns);
  HFS_ALLOC(b->fnc, nb);
  HFS_ALLOC(b->fs, nss);
  HFS_ALLOC(b->sinv, nss);
  HFS_ALLOC(b->v, nl + ns);
  {
    int kmax = 0;
    for (int k = 0; k < nb; k++)
      if (b->boff[k + 1] - b->boff[k] > kmax) kmax = b->boff[k + 1] - b->boff[k];
    HFS_ALLOC(b->vt, ns + kmax + 1);
  }
  HFS_ALLOC(b->fcolh, (size_t)nb * (size_t)ns + 1);
  HFS_ALLOC(b->gk0, nb + 1);
  HFS_ALLOC(b->vg, nl + 1);
  *out = b;
  b = NULL;
cleanup:
  free(seen);
  hfs__fit_blocks_destroy(&b);
  return rc;
}

/* acc[j] = sum_q |w[q][j]| over the rows x n row-major w. */
static void abs_colsum(const double *restrict w, int rows, int n, double *restrict acc) {
  for (int j = 0; j < n; j++) acc[j] = 0.0;
  for (int q = 0; q < rows; q++)
    for (int j = 0; j < n; j++) acc[j] += fabs(w[(size_t)q * n + j]);
}

int hfs__fit_blocks_create_like(const hfs_fit_blocks *b, hfs_fit_blocks **out) {
  int rc = HFS_OK;
  hfs_fit_structure s = {b->nshared, b->shared, b->nblocks, b->boff, b->bpar};
  HFS_CHECK(hfs__fit_blocks_create(b->npar, b->hblocks ? &s : NULL, b->hblocks, b->hessian, out));
  (*out)->hblocks_exp = b->hblocks_exp;
  (*out)->hessian_exp = b->hessian_exp;
cleanup:
  return rc;
}

static int eval_with(hfs_fit_blocks *b, hfs_fit_problem *p, const double *x,
                     hfs_fit_hessian_blocks_fn hblocks, hfs_fit_hessian_fn hessian) {
  int rc = HFS_OK;
  for (int k = 0; k < p->nfree; k++) p->theta[p->free_idx[k]] = x[k];
  if (hblocks)
    HFS_CHECK(hblocks(p->ctx, p->theta, b->hss, b->hbb, b->hbs));
  else
    HFS_CHECK(hessian(p->ctx, p->theta, b->hss));
  int ns = b->nshared;
  double dmax = 0.0;
  for (int j = 0; j < ns; j++) b->hdiag[b->shared[j]] = b->hss[(size_t)j * ns + j];
  for (int k = 0; k < b->nblocks; k++) {
    int k0 = b->boff[k], kb = b->boff[k + 1] - k0;
    const double *a = b->hbb + b->aoff[k];
    for (int q = 0; q < kb; q++) b->hdiag[b->bpar[k0 + q]] = a[q * kb + q];
    /* A column is nonzero where the sum of its |entries| is (NaN too: it
     * counts as nonzero): summing doubles along the contiguous rows
     * vectorises, or-ing comparisons into bytes did not (a tenth of the
     * Belle II block Hessian's time). */
    unsigned char *nz = b->nzc + (size_t)k * ns;
    const double *hw = b->hbs + b->woff[k];
    if (kb == 1) {
      for (int j = 0; j < ns; j++) nz[j] = hw[j] != 0.0;
    } else {
      abs_colsum(hw, kb, ns, b->v);
      for (int j = 0; j < ns; j++) nz[j] = b->v[j] != 0.0;
    }
  }
  for (int i = 0; i < b->npar; i++)
    if (fabs(b->hdiag[i]) > dmax) dmax = fabs(b->hdiag[i]);
  b->dmax = dmax;
cleanup:
  return rc;
}

int hfs__fit_blocks_eval(hfs_fit_blocks *b, hfs_fit_problem *p, const double *x) {
  return eval_with(b, p, x, b->hblocks, b->hessian);
}

void hfs__fit_blocks_set_expected(hfs_fit_blocks *b, hfs_fit_hessian_blocks_fn hblocks,
                                  hfs_fit_hessian_fn hessian) {
  b->hblocks_exp = b->hblocks ? hblocks : NULL;
  b->hessian_exp = b->hblocks ? NULL : hessian;
}

int hfs__fit_blocks_has_expected(const hfs_fit_blocks *b) {
  return b->hblocks_exp != NULL || b->hessian_exp != NULL;
}

int hfs__fit_blocks_eval_expected(hfs_fit_blocks *b, hfs_fit_problem *p, const double *x) {
  if (!hfs__fit_blocks_has_expected(b))
    return hfs_error_set(HFS_ERR_ARG, "fit: no expected Hessian for these blocks");
  return eval_with(b, p, x, b->hblocks_exp, b->hessian_exp);
}

const double *hfs__fit_blocks_hdiag(const hfs_fit_blocks *b) { return b->hdiag; }

int hfs__fit_blocks_nshared(const hfs_fit_blocks *b) { return b->nshared; }

int hfs__fit_blocks_select(hfs_fit_blocks *b, const int *pos) {
  int ns = 0, total = 0;
  for (int j = 0; j < b->nshared; j++) {
    int q = pos[b->shared[j]];
    if (q < 0) continue;
    b->s_sel[ns] = j;
    b->s_pos[ns++] = q;
  }
  b->ns = ns;
  total = ns;
  for (int k = 0; k < b->nblocks; k++) {
    int k0 = b->boff[k], kb = b->boff[k + 1] - k0, m = 0;
    for (int q = 0; q < kb; q++) {
      int ps = pos[b->bpar[k0 + q]];
      if (ps < 0) continue;
      b->l_sel[k0 + m] = q;
      b->l_pos[k0 + m++] = ps;
    }
    b->l_n[k] = m;
    total += m;
  }
  return total;
}

/* Levenberg-Marquardt damping of a diagonal entry: proportional to the
 * entry's own size, with a floor so that a zero or negative curvature is
 * also lifted. */
static double damp(const hfs_fit_blocks *b, double hii, double lambda) {
  double floor_ = 1e-10 * (b->dmax > 0.0 ? b->dmax : 1.0);
  return lambda * fmax(fabs(hii), floor_);
}

/* In-place Cholesky of the m x m column-major matrix a (lower); the blocks
 * are 1x1 to about 10x10, below the size where LAPACK's call overhead pays.
 * Returns 1 if not positive definite (NaN included). */
static int small_cholesky(double *a, int m) {
  for (int j = 0; j < m; j++) {
    double d = a[j + j * m];
    for (int k = 0; k < j; k++) d -= a[j + k * m] * a[j + k * m];
    if (!(d > 0.0) || !isfinite(d)) return 1;
    d = sqrt(d);
    a[j + j * m] = d;
    for (int i = j + 1; i < m; i++) {
      double s = a[i + j * m];
      for (int k = 0; k < j; k++) s -= a[i + k * m] * a[j + k * m];
      a[i + j * m] = s / d;
    }
  }
  return 0;
}

/* y <- L^-1 y and y <- L^-T y for the column-major lower factor l. */
static void lower_solve(const double *l, int m, double *y) {
  for (int i = 0; i < m; i++) {
    double s = y[i];
    for (int k = 0; k < i; k++) s -= l[i + k * m] * y[k];
    y[i] = s / l[i + i * m];
  }
}

static void upper_solve(const double *l, int m, double *y) {
  for (int i = m - 1; i >= 0; i--) {
    double s = y[i];
    for (int k = i + 1; k < m; k++) s -= l[k + i * m] * y[k];
    y[i] = s / l[i + i * m];
  }
}

/* S -= G'G for the group of rows G (rows x nc, row-major: column-major
 * nc x rows) of blocks sharing the columns cols. */
static void schur_update(double *S, int ns, double *T, const double *G, int rows, const int *cols,
                         int nc) {
  if (rows == 0 || nc == 0) return;
  cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, nc, rows, 1.0, G, nc, 0.0, T, nc);
  for (int q = 0; q < nc; q++) {
    const double *tq = T + (size_t)q * nc;
    double *sq = S + (size_t)cols[q] * ns;
    for (int p = q; p < nc; p++) sq[cols[p]] -= tq[p];
  }
}

/* Row r of W = L^-1 B for the block's factor a (m x m, column-major
 * lower): w_r = (b_r - sum_{q<r} L_rq w_q) / L_rr, with b_r gathered from
 * the Hessian row hr through hc.  Four columns at a time stay in registers
 * over the q sum (one store per entry instead of one per q); each entry sees
 * the operations of the plain loops in their order. */
static void w_row(double *restrict w, const double *restrict a, int m, int r,
                  const double *restrict hr, const int *restrict hc, int nc) {
  double *wr = w + (size_t)r * nc, inv = 1.0 / a[r + r * m];
  v2d vinv = {inv, inv};
  int p = 0;
  for (; p + 4 <= nc; p += 4) {
    v2d a0 = {hr[hc[p]], hr[hc[p + 1]]}, a1 = {hr[hc[p + 2]], hr[hc[p + 3]]};
    for (int q = 0; q < r; q++) {
      const double *wq = w + (size_t)q * nc + p;
      v2d l = {a[r + q * m], a[r + q * m]};
      a0 -= l * *(const v2du *)wq;
      a1 -= l * *(const v2du *)(wq + 2);
    }
    *(v2du *)(wr + p) = a0 * vinv;
    *(v2du *)(wr + p + 2) = a1 * vinv;
  }
  for (; p < nc; p++) {
    double v = hr[hc[p]];
    for (int q = 0; q < r; q++) v -= a[r + q * m] * w[(size_t)q * nc + p];
    wr[p] = v * inv;
  }
}

/* A block's columns equal the group's (a few entries: no call to memcmp
 * per block). */
static inline int same_cols(const int *a, const int *c, int n) {
  for (int p = 0; p < n; p++)
    if (a[p] != c[p]) return 0;
  return 1;
}

int hfs__fit_blocks_factor(hfs_fit_blocks *b, double lambda) {
  int ns = b->ns, NS = b->nshared;
  double *S = b->fs, *T = b->sinv;
  for (int c = 0; c < ns; c++) {
    const double *row = b->hss + (size_t)b->s_sel[c] * NS;
    for (int r = c; r < ns; r++) S[r + (size_t)c * ns] = row[b->s_sel[r]];
    S[c + (size_t)c * ns] += damp(b, S[c + (size_t)c * ns], lambda);
  }
  int wo = 0, g0 = 0, grows = 0, gk = -1;
  b->ngroups = 0;
  for (int k = 0; k < b->nblocks; k++) {
    int m = b->l_n[k];
    b->fnc[k] = 0;
    b->fwo[k] = wo;
    if (m == 0) continue;
    int k0 = b->boff[k], kb = b->boff[k + 1] - k0;
    const int *sel = b->l_sel + k0;
    const double *hb = b->hbb + b->aoff[k], *hw = b->hbs + b->woff[k];
    double *a = b->fa + b->aoff[k];
    int *cols = b->fcols + (size_t)k * NS;
    for (int c = 0; c < m; c++)
      for (int r = c; r < m; r++) a[r + c * m] = hb[sel[r] * kb + sel[c]];
    for (int c = 0; c < m; c++) a[c + c * m] += damp(b, a[c + c * m], lambda);
    if (small_cholesky(a, m)) return 1;
    /* The shared columns this block couples to (structural zeros of B_b
     * are most of it). */
    int nc = 0;
    const unsigned char *nz = b->nzc + (size_t)k * NS;
    for (int c = 0; c < ns; c++)
      if (nz[b->s_sel[c]]) cols[nc++] = c;
    b->fnc[k] = nc;
    if (nc == 0) continue;
    /* A new group when the columns differ from the group's. */
    if (gk < 0 || b->fnc[gk] != nc || !same_cols(cols, b->fcols + (size_t)gk * NS, nc)) {
      if (gk >= 0)
        schur_update(S, ns, T, b->fw + g0, grows, b->fcols + (size_t)gk * NS, b->fnc[gk]);
      b->gk0[b->ngroups++] = k;
      gk = k;
      g0 = wo;
      grows = 0;
    }
    /* W = L^-1 B (m x nc, row-major) */
    double *w = b->fw + wo;
    int *hc = b->fcolh + (size_t)k * NS; /* B_b's column of each selected one */
    for (int p = 0; p < nc; p++) hc[p] = b->s_sel[cols[p]];
    for (int r = 0; r < m; r++) w_row(w, a, m, r, hw + (size_t)sel[r] * NS, hc, nc);
    wo += m * nc;
    grows += m;
  }
  if (gk >= 0) schur_update(S, ns, T, b->fw + g0, grows, b->fcols + (size_t)gk * NS, b->fnc[gk]);
  b->gk0[b->ngroups] = b->nblocks;
  if (ns == 0) return 0;
  memcpy(b->fs0, S, (size_t)ns * (size_t)ns * sizeof *S);
  return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', ns, S, ns) != 0 ? 2 : 0;
}

int hfs__fit_blocks_damp_schur(hfs_fit_blocks *b, double lambda) {
  int ns = b->ns;
  double *S = b->fs;
  memcpy(S, b->fs0, (size_t)ns * (size_t)ns * sizeof *S);
  for (int c = 0; c < ns; c++) S[c + (size_t)c * ns] += damp(b, S[c + (size_t)c * ns], lambda);
  return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', ns, S, ns) != 0;
}

/* t -= W' v for the rows x nc row-major W: four columns at a time held in
 * registers over all rows (one load and store of t per column instead of
 * one per row); every entry sees the same operations in the same order as
 * row by row. */
static void sub_wt_v(const double *restrict w, int rows, int nc, const double *restrict v,
                     double *restrict t) {
  int p = 0;
  for (; p + 4 <= nc; p += 4) {
    v2d a0 = *(const v2du *)(t + p), a1 = *(const v2du *)(t + p + 2);
    for (int q = 0; q < rows; q++) {
      const double *wq = w + (size_t)q * nc + p;
      v2d vq = {v[q], v[q]};
      a0 -= *(const v2du *)wq * vq;
      a1 -= *(const v2du *)(wq + 2) * vq;
    }
    *(v2du *)(t + p) = a0;
    *(v2du *)(t + p + 2) = a1;
  }
  for (; p < nc; p++) {
    double a = t[p];
    for (int q = 0; q < rows; q++) a -= w[(size_t)q * nc + p] * v[q];
    t[p] = a;
  }
}

/* The dot product of x and y in four interleaved partial sums (one chain
 * would be latency-bound). */
static inline double dot4(const double *restrict x, const double *restrict y, int n) {
  if (n < 4) {
    /* the same sum as below, without its set-up */
    double r = 0.0;
    for (int p = 0; p < n; p++) r += x[p] * y[p];
    return r;
  }
  v2d s0 = {0.0, 0.0}, s1 = {0.0, 0.0};
  int p = 0;
  for (; p + 4 <= n; p += 4) {
    s0 += *(const v2du *)(x + p) * *(const v2du *)(y + p);
    s1 += *(const v2du *)(x + p + 2) * *(const v2du *)(y + p + 2);
  }
  double r = (s0[0] + s1[0]) + (s0[1] + s1[1]);
  for (; p < n; p++) r += x[p] * y[p];
  return r;
}

/* y <- L^-T L^-1 y for the Cholesky factor of S (n x n, column-major
 * lower): the forward pass by columns (axpy), the backward one by dot
 * products of columns, both contiguous.  LAPACK's dpotrs costs more in its
 * calls than in its arithmetic at Belle II's n = 52. */
static void schur_solve(const double *restrict l, int n, double *restrict y) {
  for (int j = 0; j < n; j++) {
    const double *cj = l + (size_t)j * n;
    double yj = y[j] / cj[j];
    y[j] = yj;
    for (int i = j + 1; i < n; i++) y[i] -= cj[i] * yj;
  }
  for (int i = n - 1; i >= 0; i--) {
    const double *ci = l + (size_t)i * n;
    y[i] = (y[i] - dot4(ci + i + 1, y + i + 1, n - i - 1)) / ci[i];
  }
}

/* The solve goes group by group (blocks with the same shared columns, W's
 * rows contiguous): the group's shared entries are gathered into t once,
 * updated by all its rows, and scattered back once.  The locals after the
 * first pass are kept in vg in W's row order. */
void hfs__fit_blocks_solve(hfs_fit_blocks *b, const double *r, double *d) {
  int ns = b->ns, NS = b->nshared;
  double *rs = b->v + b->nlocal, *vg = b->vg;
  double *restrict t = b->vt;
  for (int c = 0; c < ns; c++) rs[c] = r[b->s_pos[c]];
  /* blocks coupled to no selected shared parameter stand alone */
  for (int k = 0; k < b->nblocks; k++) {
    int m = b->l_n[k];
    if (m == 0 || b->fnc[k] > 0) continue;
    int k0 = b->boff[k];
    double *vb = b->v + k0;
    const double *a = b->fa + b->aoff[k];
    for (int q = 0; q < m; q++) vb[q] = r[b->l_pos[k0 + q]];
    lower_solve(a, m, vb);
    upper_solve(a, m, vb);
    for (int q = 0; q < m; q++) d[b->l_pos[k0 + q]] = vb[q];
  }
  for (int g = 0, row0 = 0; g < b->ngroups; g++) {
    int ka = b->gk0[g], kz = b->gk0[g + 1], nc = b->fnc[ka], rows = 0;
    const int *cols = b->fcols + (size_t)ka * NS;
    for (int k = ka; k < kz; k++) {
      int m = b->l_n[k], k0 = b->boff[k];
      if (m == 0 || b->fnc[k] == 0) continue;
      double *vb = vg + row0 + rows;
      const double *a = b->fa + b->aoff[k];
      if (m == 1) {
        vb[0] = r[b->l_pos[k0]] / a[0];
      } else {
        for (int q = 0; q < m; q++) vb[q] = r[b->l_pos[k0 + q]];
        lower_solve(a, m, vb);
      }
      rows += m;
    }
    for (int p = 0; p < nc; p++) t[p] = rs[cols[p]];
    sub_wt_v(b->fw + b->fwo[ka], rows, nc, vg + row0, t);
    for (int p = 0; p < nc; p++) rs[cols[p]] = t[p];
    row0 += rows;
  }
  if (ns > 0) schur_solve(b->fs, ns, rs);
  for (int c = 0; c < ns; c++) d[b->s_pos[c]] = rs[c];
  for (int g = 0, row0 = 0; g < b->ngroups; g++) {
    int ka = b->gk0[g], kz = b->gk0[g + 1], nc = b->fnc[ka];
    const int *cols = b->fcols + (size_t)ka * NS;
    const double *w = b->fw + b->fwo[ka];
    for (int p = 0; p < nc; p++) t[p] = rs[cols[p]];
    for (int k = ka; k < kz; k++) {
      int m = b->l_n[k], k0 = b->boff[k];
      if (m == 0 || b->fnc[k] == 0) continue;
      double *vb = vg + row0;
      const double *a = b->fa + b->aoff[k];
      for (int q = 0; q < m; q++, w += nc) vb[q] -= dot4(w, t, nc);
      if (m == 1) {
        d[b->l_pos[k0]] = vb[0] / a[0];
      } else {
        upper_solve(a, m, vb);
        for (int q = 0; q < m; q++) d[b->l_pos[k0 + q]] = vb[q];
      }
      row0 += m;
    }
  }
}

void hfs__fit_blocks_inverse(hfs_fit_blocks *b, double *cov, int n, double *diag) {
  int ns = b->ns, NS = b->nshared;
  size_t ld = (size_t)n;
  double *Si = b->sinv;
  if (ns > 0) {
    memcpy(Si, b->fs, (size_t)ns * (size_t)ns * sizeof *Si);
    /* Cannot fail: the factor has a positive diagonal. */
    LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', ns, Si, ns);
    for (int c = 0; c < ns; c++)
      for (int r = c + 1; r < ns; r++) Si[c + (size_t)r * ns] = Si[r + (size_t)c * ns];
  }
  for (int r = 0; r < ns; r++) {
    if (diag) diag[b->s_pos[r]] = Si[r + (size_t)r * ns];
    if (cov)
      for (int c = 0; c < ns; c++)
        cov[(size_t)b->s_pos[r] * ld + (size_t)b->s_pos[c]] = Si[r + (size_t)c * ns];
  }
  /* Per block A_b^-1 and Z_b = L_b^-T W_b; the columns of M (ns x nl,
   * column-major) are the rows of Z_b spread over the shared columns, so
   * that Q = L_S^-1 M gives the local-local part A^-1 + Q'Q and the
   * shared-local part -L_S^-T Q. */
  int nl = 0;
  for (int k = 0; k < b->nblocks; k++) nl += b->l_n[k];
  double *Q = b->q;
  memset(Q, 0, (size_t)ns * (size_t)nl * sizeof *Q);
  int l0 = 0;
  for (int k = 0; k < b->nblocks; k++) {
    int m = b->l_n[k];
    if (m == 0) continue;
    int nc = b->fnc[k];
    const double *a = b->fa + b->aoff[k], *w = b->fw + b->fwo[k];
    double *ai = b->ainv + b->aoff[k], *z = b->fz + b->fwo[k];
    const int *cols = b->fcols + (size_t)k * NS;
    for (int c = 0; c < m; c++) {
      double *col = ai + c * m;
      for (int r = 0; r < m; r++) col[r] = r == c;
      lower_solve(a, m, col);
      upper_solve(a, m, col);
    }
    for (int r = m - 1; r >= 0; r--) {
      double *zr = z + (size_t)r * nc;
      const double *wr = w + (size_t)r * nc;
      for (int p = 0; p < nc; p++) zr[p] = wr[p];
      for (int q = r + 1; q < m; q++) {
        double l = a[q + r * m];
        const double *zq = z + (size_t)q * nc;
        for (int p = 0; p < nc; p++) zr[p] -= l * zq[p];
      }
      double inv = 1.0 / a[r + r * m];
      for (int p = 0; p < nc; p++) zr[p] *= inv;
      double *mcol = Q + (size_t)(l0 + r) * ns;
      for (int p = 0; p < nc; p++) mcol[cols[p]] = zr[p];
    }
    l0 += m;
  }
  if (ns > 0 && nl > 0)
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, ns, nl, 1.0,
                b->fs, ns, Q, ns);
  if (diag) {
    l0 = 0;
    for (int k = 0; k < b->nblocks; k++) {
      int m = b->l_n[k], k0 = b->boff[k];
      const double *ai = b->ainv + b->aoff[k];
      for (int q = 0; q < m; q++) {
        const double *qc = Q + (size_t)(l0 + q) * ns;
        double s = ai[q + q * m];
        for (int r = 0; r < ns; r++) s += qc[r] * qc[r];
        diag[b->l_pos[k0 + q]] = s;
      }
      l0 += m;
    }
  }
  if (!cov || nl == 0) return;
  double *tll = b->tll;
  if (ns > 0)
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, nl, ns, 1.0, Q, ns, 0.0, tll, nl);
  else
    memset(tll, 0, (size_t)nl * (size_t)nl * sizeof *tll);
  /* The position of each local in the caller's vectors, in Q's order. */
  int *lp = b->pos;
  l0 = 0;
  for (int k = 0; k < b->nblocks; k++) {
    int m = b->l_n[k], k0 = b->boff[k];
    const double *ai = b->ainv + b->aoff[k];
    for (int q = 0; q < m; q++) {
      lp[l0 + q] = b->l_pos[k0 + q];
      for (int qq = q; qq < m; qq++) tll[(size_t)(l0 + q) * nl + l0 + qq] += ai[qq + q * m];
    }
    l0 += m;
  }
  for (int c = 0; c < nl; c++)
    for (int r = c; r < nl; r++) {
      double v = tll[(size_t)c * nl + r];
      cov[(size_t)lp[r] * ld + (size_t)lp[c]] = cov[(size_t)lp[c] * ld + (size_t)lp[r]] = v;
    }
  if (ns > 0) {
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, ns, nl, -1.0, b->fs,
                ns, Q, ns);
    for (int c = 0; c < nl; c++)
      for (int r = 0; r < ns; r++) {
        double v = Q[(size_t)c * ns + r];
        size_t is = (size_t)b->s_pos[r], il = (size_t)lp[c];
        cov[is * ld + il] = cov[il * ld + is] = v;
      }
  }
}

/* Largest row sum of |H_ij| / sqrt(H_ii H_jj) over the selected
 * parameters: a bound on the largest eigenvalue of the unit-diagonal
 * Hessian (Gershgorin). */
static double scaled_rowsum_max(const hfs_fit_blocks *b) {
  int ns = b->ns, NS = b->nshared;
  double *rs = b->v; /* nlocal + nshared: locals at boff, then shared */
  double *rss = b->v + b->nlocal;
  double best = 0.0;
  for (int r = 0; r < ns; r++) {
    int jr = b->s_sel[r];
    double dr = b->hss[(size_t)jr * NS + jr], s = 0.0;
    for (int c = 0; c < ns; c++) {
      int jc = b->s_sel[c];
      s += fabs(b->hss[(size_t)jr * NS + jc]) / sqrt(dr * b->hss[(size_t)jc * NS + jc]);
    }
    rss[r] = s;
  }
  for (int k = 0; k < b->nblocks; k++) {
    int m = b->l_n[k], k0 = b->boff[k], kb = b->boff[k + 1] - k0;
    const int *sel = b->l_sel + k0;
    const double *hb = b->hbb + b->aoff[k], *hw = b->hbs + b->woff[k];
    for (int q = 0; q < m; q++) {
      double dq = hb[sel[q] * kb + sel[q]], s = 0.0;
      for (int qq = 0; qq < m; qq++)
        s += fabs(hb[sel[q] * kb + sel[qq]]) / sqrt(dq * hb[sel[qq] * kb + sel[qq]]);
      for (int c = 0; c < ns; c++) {
        int jc = b->s_sel[c];
        double v = fabs(hw[(size_t)sel[q] * NS + jc]) / sqrt(dq * b->hss[(size_t)jc * NS + jc]);
        s += v;
        rss[c] += v;
      }
      rs[k0 + q] = s;
      if (s > best) best = s;
    }
  }
  for (int r = 0; r < ns; r++)
    if (rss[r] > best) best = rss[r];
  return best;
}

int hfs__fit_blocks_covariance(hfs_fit_engine *e, const double *theta, const int *fixed,
                               double *cov, double *error, double *corr, int conditioned) {
  int rc = HFS_OK;
  hfs_fit_problem *p = &e->prob;
  hfs_fit_blocks *b = p->blocks;
  size_t npar = (size_t)p->npar;
  if (!theta || !b) HFS_FAIL(HFS_ERR_ARG, "fit: block covariance needs a point and blocks");
  int n = hfs__fit_problem_setup(p, theta, fixed);
  size_t nf = (size_t)n;
  if (cov) memset(cov, 0, npar * npar * sizeof *cov);
  if (corr) memset(corr, 0, npar * npar * sizeof *corr);
  if (error)
    for (size_t i = 0; i < npar; i++) error[i] = (fixed && fixed[i]) ? 0.0 : NAN;
  if (n == 0) goto cleanup;
  for (int k = 0; k < n; k++) e->x[k] = theta[p->free_idx[k]];
  HFS_CHECK(hfs__fit_blocks_eval(b, p, e->x));
  for (size_t i = 0; i < npar; i++) b->pos[i] = -1;
  for (int k = 0; k < n; k++) b->pos[p->free_idx[k]] = k;
  hfs__fit_blocks_select(b, b->pos);
  if (hfs__fit_blocks_factor(b, 0.0))
    HFS_FAIL(HFS_ERR_NUMERIC,
             "fit: Hessian of the %d free parameters is not "
             "positive definite",
             n);
  int full = cov || corr || conditioned;
  double *a = e->cov_free, *var = e->d;
  double pmax = conditioned ? fmax(scaled_rowsum_max(b), 1.0) : 0.0;
  hfs__fit_blocks_inverse(b, full ? a : NULL, n, var);
  if (conditioned) {
    /* MINUIT calls a Hessian whose unit-diagonal spectrum has
     * pmin <= 1e-6 pmax not positive definite and shifts it (covariance.c).
     * Gershgorin bounds on both ends certify that this one is not such a
     * matrix; if they cannot, the dense path decides. */
    double inv_max = 0.0;
    const double *hd = b->hdiag;
    for (int r = 0; r < n; r++) {
      double s = 0.0, dr = hd[p->free_idx[r]];
      for (int c = 0; c < n; c++) s += fabs(a[(size_t)r * nf + c]) * sqrt(dr * hd[p->free_idx[c]]);
      if (!(s <= inv_max)) inv_max = s;
    }
    if (!(1.0 / inv_max > 1e-6 * pmax))
      HFS_FAIL(HFS_ERR_NUMERIC, "fit: Hessian too close to singular for the block path");
  }
  for (size_t k = 0; k < nf; k++) {
    var[k] *= 2.0;
    if (!(var[k] > 0.0) || !isfinite(var[k]))
      HFS_FAIL(HFS_ERR_NUMERIC, "fit: covariance has a non-positive variance");
  }
  for (size_t r = 0; r < nf; r++) {
    size_t ir = (size_t)p->free_idx[r];
    double sr = sqrt(var[r]);
    if (error) error[ir] = sr;
    if (!full) continue;
    for (size_t c = 0; c < nf; c++) {
      size_t ic = (size_t)p->free_idx[c];
      double v = 2.0 * a[r * nf + c];
      if (!isfinite(v)) HFS_FAIL(HFS_ERR_NUMERIC, "fit: covariance is not finite");
      if (cov) cov[ir * npar + ic] = v;
      if (corr) corr[ir * npar + ic] = r == c ? 1.0 : v / (sr * sqrt(var[c]));
    }
  }
cleanup:
  if (rc != HFS_OK && error)
    for (size_t i = 0; i < npar; i++)
      if (!fixed || !fixed[i]) error[i] = NAN;
  return rc;
}
