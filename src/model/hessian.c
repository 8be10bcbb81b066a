/* The Hessian of twice_nll, accumulated directly into the block structure
 * of hfs_model_structure (docs/likelihood.md, "Derivatives").
 *
 * A sample-bin's rate is nu = P A with P the product of its multiplicative
 * terms (sample-wide kappas, per-bin gammas) and A its nominal plus
 * additive shifts.  With l_p = kappa_p' / kappa_p and a_p = dA/dtheta_p,
 *   d2 nu = P A l l^T + P (l a^T + a l^T) + diag(P A (kappa''/kappa - l^2) + P a''),
 * and the kappa part of l does not depend on the bin: summed over the bins
 * of a sample with the data weights w_b, the shared-shared curvature is the
 * symmetric rank-2 update l y^T + y l^T (y = c1 l / 2 + sum_b w_b P a_b,
 * c1 = sum_b w_b nu_b) plus a diagonal, one per sample instead of one per
 * pair of modifiers.  Gammas enter as rows: d2 nu / d gamma d q =
 * d(nu / gamma) / dq.  The data term is the rank-1 (n_b / nu_b^2) J_b J_b^T
 * per bin.  All rank updates of the shared block go through one BLAS syr2k
 * and one syrk.  Where a factor is exactly zero (mu = 0) the logarithmic
 * form does not apply: one zero sample-wide kappa gives a single row, other
 * cases take the exact product form. */
#include "hfs_error.h"
#include "model_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* H[p][q] += v for one ordered pair of parameters.  (shared, local) pairs
 * are skipped: they are the transposes of hbs entries, which come from the
 * (local, shared) pair. */
static inline void add_pair(hfs_model *m, double *hss, double *hbb, double *hbs, int p, int q,
                            double v) {
  int ns = m->st_nshared, sp = m->sh_idx[p], sq = m->sh_idx[q];
  if (sp >= 0) {
    if (sq >= 0) hss[(size_t)sp * ns + sq] += v;
    return;
  }
  int b = m->loc_blk[p], r = m->loc_pos[p];
  if (sq >= 0) {
    hbs[m->bs_off[b] + (size_t)r * ns + sq] += v;
  } else {
    int k = m->st_block_off[b + 1] - m->st_block_off[b];
    hbb[m->bb_off[b] + (size_t)r * k + m->loc_pos[q]] += v;
  }
}

/* y += s x in two lanes (this file is built at -O2, whose vectoriser
 * leaves such loops scalar); each entry's arithmetic is the scalar one. */
static inline void axpy2(double *restrict y, double s, const double *restrict x, int n) {
  v2d sv = {s, s};
  int a = 0;
  for (; a + 2 <= n; a += 2) *(v2du *)(y + a) += sv * *(const v2du *)(x + a);
  for (; a < n; ++a) y[a] += s * x[a];
}

/* One sample-bin's gradient as a sparse vector (uidx, uvec). */
static inline void u_add(hfs_model *m, int *n, int p, double v) {
  int k = m->umark[p];
  if (!k) {
    m->umark[p] = k = ++*n;
    m->uidx[k - 1] = p;
    m->uvec[k - 1] = 0;
  }
  m->uvec[k - 1] += v;
}

/* Adds the sample-bin gradient to the bin's data-term Jacobian and clears
 * the sparse vector's marks. */
static void u_flush(hfs_model *m, int n, int g) {
  int ns = m->st_nshared;
  for (int e = 0; e < n; ++e) {
    int p = m->uidx[e], sp = m->sh_idx[p];
    if (sp >= 0)
      m->hJ[(size_t)g * ns + sp] += m->uvec[e];
    else
      m->jloc[m->st_block_off[m->loc_blk[p]] + m->loc_pos[p]] += m->uvec[e];
    m->umark[p] = 0;
  }
}

/* Sample-bin without zero factors, any gammas (the general form). */
static void bin_fast_general(hfs_model *m, const hfs_csample *c, int j, const double *theta,
                             double w, double *Y, double *c1, double *hss, double *hbb,
                             double *hbs) {
  int ns = m->st_nshared, n = 0, g = c->bin0 + j;
  double P = m->csF[c - m->cs] * m->sb_G[c->nom + j], nu = P * m->sb_A[c->nom + j];
  *c1 += w * nu;
  for (int t = c->m0; t < c->m1; ++t) u_add(m, &n, m->mterm[t].par, nu * m->mk1[t] / m->mk[t]);
  for (int t = c->a0; t < c->a1; ++t) {
    int p = m->aterm[t].par, sp = m->sh_idx[p];
    const double *pw = &m->pw[6 * p];
    int at = c->fd0 + j * (c->a1 - c->a0) + t - c->a0;
    double du = m->fd_up[at], dd = m->fd_dn[at];
    double a1 = P * (pw[2] * du + pw[3] * dd), a2 = P * (pw[4] * du + pw[5] * dd);
    u_add(m, &n, p, a1);
    Y[sp] += w * a1;
    hss[(size_t)sp * ns + sp] += w * a2;
  }
  for (int k = c->b0; k < c->b1; ++k) {
    int q = m->pb_par[m->binmod[k].off + j];
    u_add(m, &n, q, nu / theta[q]);
  }
  /* gamma rows: w d(nu / gamma) / dp, the gradient without this factor */
  for (int k = c->b0; k < c->b1; ++k) {
    int q = m->pb_par[m->binmod[k].off + j];
    double s = w / theta[q], own = nu / theta[q];
    int shared = m->sh_idx[q] >= 0;
    for (int e = 0; e < n; ++e) {
      int p = m->uidx[e];
      double v = s * (m->uvec[e] - (p == q ? own : 0));
      if (!shared) {
        add_pair(m, hss, hbb, hbs, q, p, v);
      } else if (m->sh_idx[p] >= 0) {
        add_pair(m, hss, hbb, hbs, q, p, v);
        if (!m->is_perbin[p]) add_pair(m, hss, hbb, hbs, p, q, v);
      }
    }
  }
  u_flush(m, n, g);
}

/* The terms of one sample-bin (bin_fast): each gradient entry v goes into
 * the bin's data-term column Jg and into the rows of the bin's nr gammas;
 * histosys terms also into Y and the diagonal.  Inlined with nr constant
 * for the common 0 and 1. */
static inline __attribute__((always_inline)) void fast_terms(hfs_model *m, const hfs_csample *c,
                                                             int j, double P, double nu, double w,
                                                             double *Jg, double *Y, double *hss,
                                                             double *const *row, const double *rs,
                                                             int nr) {
  const double *mk = m->mk, *mk1 = m->mk1;
  const hfs_mterm *mt = m->mterm;
  for (int t = c->m0; t < c->m1; ++t) {
    int sp = mt[t].sh;
    double v = nu * mk1[t] / mk[t];
    Jg[sp] += v;
    for (int r = 0; r < nr; ++r) row[r][sp] += rs[r] * v;
  }
  int na = c->a1 - c->a0;
  const hfs_aterm *at = &m->aterm[c->a0];
  const double *du = &m->fd_up[c->fd0 + j * na], *dd = &m->fd_dn[c->fd0 + j * na];
  size_t diag = (size_t)m->st_nshared + 1;
  double wP = w * P;
  for (int t = 0; t < na; ++t) {
    int sp = at[t].sh;
    const double *pw = &m->pw[6 * at[t].par];
    double v = P * (pw[2] * du[t] + pw[3] * dd[t]);
    Jg[sp] += v;
    Y[sp] += w * v;
    hss[sp * diag] += wP * (pw[4] * du[t] + pw[5] * dd[t]);
    for (int r = 0; r < nr; ++r) row[r][sp] += rs[r] * v;
  }
}

/* Sample-bin without zero factors whose gammas are all local (the common
 * case): each term's gradient entry goes straight into the data-term
 * column and into the rows of the bin's gammas.  hist: the model has
 * histosys terms, and the loops run in copies for nr = 0 and 1
 * (fast_terms); hist 0 only for a model without any (no aterm loop), whose
 * plain loops over nr are faster there than the copies. */
static inline __attribute__((always_inline)) void bin_fast(hfs_model *m, const hfs_csample *c,
                                                           int j, const double *theta, double w,
                                                           double *Y, double *c1, double *hss,
                                                           double *hbb, double *hbs, int hist) {
  enum { MAXR = 8 };
  int ns = m->st_nshared, g = c->bin0 + j, nr = c->b1 - c->b0;
  if (nr > MAXR) {
    bin_fast_general(m, c, j, theta, w, Y, c1, hss, hbb, hbs);
    return;
  }
  double *row[MAXR], rs[MAXR], gv[MAXR];
  int rq[MAXR];
  for (int r = 0; r < nr; ++r) {
    int q = m->pb_par[m->binmod[c->b0 + r].off + j];
    if (m->sh_idx[q] >= 0) {
      bin_fast_general(m, c, j, theta, w, Y, c1, hss, hbb, hbs);
      return;
    }
    rq[r] = q;
  }
  double P = m->csF[c - m->cs] * m->sb_G[c->nom + j], nu = P * m->sb_A[c->nom + j];
  *c1 += w * nu;
  double *Jg = m->hJ + (size_t)g * ns;
  for (int r = 0; r < nr; ++r) {
    int q = rq[r];
    row[r] = hbs + m->bs_off[m->loc_blk[q]] + (size_t)m->loc_pos[q] * ns;
    rs[r] = w / theta[q];
    gv[r] = nu / theta[q];
  }
  if (!hist) {
    const double *mk = m->mk, *mk1 = m->mk1;
    for (int t = c->m0; t < c->m1; ++t) {
      int sp = m->mterm[t].sh;
      double v = nu * mk1[t] / mk[t];
      Jg[sp] += v;
      for (int r = 0; r < nr; ++r) row[r][sp] += rs[r] * v;
    }
  } else if (nr == 0) {
    fast_terms(m, c, j, P, nu, w, Jg, Y, hss, row, rs, 0);
  } else if (nr == 1) {
    fast_terms(m, c, j, P, nu, w, Jg, Y, hss, row, rs, 1);
  } else {
    fast_terms(m, c, j, P, nu, w, Jg, Y, hss, row, rs, nr);
  }
  for (int r = 0; r < nr; ++r) {
    int q = rq[r], b = m->loc_blk[q];
    m->jloc[m->st_block_off[b] + m->loc_pos[q]] += gv[r];
    if (nr == 1) break;
    int k = m->st_block_off[b + 1] - m->st_block_off[b];
    double *bb = hbb + m->bb_off[b] + (size_t)m->loc_pos[q] * k;
    for (int r2 = 0; r2 < nr; ++r2)
      if (r2 != r) bb[m->loc_pos[rq[r2]]] += rs[r] * gv[r2];
  }
}

/* Sample-bin whose sample-wide term z is zero (and no gamma is): nu =
 * kappa_z R, so d2 nu = kappa_z' (e_z dR^T + dR e_z^T) + kappa_z'' R e_z e_z^T.
 * Inlined like bin_exact although rare: as calls from the two copies of the
 * sample loop they cost the loop's common path registers (1.5 %). */
static inline __attribute__((always_inline)) void bin_zrow(hfs_model *m, const hfs_csample *c,
                                                           int j, int z, double Fz,
                                                           const double *theta, double w,
                                                           double *hss, double *hbb, double *hbs) {
  int n = 0, g = c->bin0 + j;
  double P = Fz * m->sb_G[c->nom + j], R = P * m->sb_A[c->nom + j];
  for (int t = c->m0; t < c->m1; ++t)
    if (t != z) u_add(m, &n, m->mterm[t].par, R * m->mk1[t] / m->mk[t]);
  for (int t = c->a0; t < c->a1; ++t) {
    const double *pw = &m->pw[6 * m->aterm[t].par];
    int at = c->fd0 + j * (c->a1 - c->a0) + t - c->a0;
    double du = m->fd_up[at], dd = m->fd_dn[at];
    u_add(m, &n, m->aterm[t].par, P * (pw[2] * du + pw[3] * dd));
  }
  for (int k = c->b0; k < c->b1; ++k) {
    int q = m->pb_par[m->binmod[k].off + j];
    u_add(m, &n, q, R / theta[q]);
  }
  int zp = m->mterm[z].par;
  double d1 = m->mk1[z], d2 = m->mk2[z];
  for (int e = 0; e < n; ++e) {
    int p = m->uidx[e];
    double v = w * d1 * m->uvec[e];
    add_pair(m, hss, hbb, hbs, zp, p, v);
    add_pair(m, hss, hbb, hbs, p, zp, v);
    m->umark[p] = 0;
  }
  add_pair(m, hss, hbb, hbs, zp, zp, w * d2 * R);
  n = 0;
  u_add(m, &n, zp, d1 * R);
  u_flush(m, n, g);
}

/* Products of the multiplicative terms leaving out one or two of them,
 * exact with any number of zero factors. */
typedef struct {
  int nzero, z1, z2;
  double K, Knz; /* product of all, of the nonzero ones */
} excl;

static double excl1(const excl *x, const double *v, int i) {
  if (x->nzero == 0) return x->K / v[i];
  if (x->nzero == 1) return i == x->z1 ? x->Knz : 0;
  return 0;
}

static double excl2(const excl *x, const double *v, int i, int k) {
  if (x->nzero == 0) return x->K / (v[i] * v[k]);
  if (x->nzero == 1) return i == x->z1 ? x->Knz / v[k] : k == x->z1 ? x->Knz / v[i] : 0;
  if (x->nzero == 2) return ((i == x->z1 && k == x->z2) || (i == x->z2 && k == x->z1)) ? x->Knz : 0;
  return 0;
}

/* Any sample-bin, from the product form term by term (pairs of terms). */
static inline __attribute__((always_inline)) void bin_exact(hfs_model *m, const hfs_csample *c,
                                                            int j, const double *theta, double w,
                                                            double *hss, double *hbb, double *hbs) {
  int nt = 0, g = c->bin0 + j;
  double *v = m->sv, *d1 = m->sv + m->max_bin_terms, *d2 = m->sv + 2 * m->max_bin_terms;
  int *par = m->sp;
  for (int t = c->m0; t < c->m1; ++t, ++nt) {
    par[nt] = m->mterm[t].par;
    v[nt] = m->mk[t];
    d1[nt] = m->mk1[t];
    d2[nt] = m->mk2[t];
  }
  for (int k = c->b0; k < c->b1; ++k, ++nt) {
    par[nt] = m->pb_par[m->binmod[k].off + j];
    v[nt] = theta[par[nt]];
    d1[nt] = 1;
    d2[nt] = 0;
  }
  int nmul = nt;
  for (int t = c->a0; t < c->a1; ++t, ++nt) {
    const double *pw = &m->pw[6 * m->aterm[t].par];
    int at = c->fd0 + j * (c->a1 - c->a0) + t - c->a0;
    double du = m->fd_up[at], dd = m->fd_dn[at];
    par[nt] = m->aterm[t].par;
    d1[nt] = pw[2] * du + pw[3] * dd;
    d2[nt] = pw[4] * du + pw[5] * dd;
  }
  excl x = {0, -1, -1, 1, 1};
  for (int i = 0; i < nmul; ++i) {
    x.K *= v[i];
    if (v[i] == 0) {
      if (x.nzero == 0)
        x.z1 = i;
      else if (x.nzero == 1)
        x.z2 = i;
      x.nzero++;
    } else {
      x.Knz *= v[i];
    }
  }
  double A = m->sb_A[c->nom + j];
  int n = 0;
  for (int i = 0; i < nt; ++i) {
    int mi = i < nmul;
    double Ki = mi ? excl1(&x, v, i) : x.K;
    u_add(m, &n, par[i], mi ? Ki * d1[i] * A : x.K * d1[i]);
    add_pair(m, hss, hbb, hbs, par[i], par[i], w * (mi ? Ki * d2[i] * A : x.K * d2[i]));
    for (int k = 0; k < nt; ++k) {
      if (k == i) continue;
      int mk = k < nmul;
      double cc;
      if (mi && mk)
        cc = excl2(&x, v, i, k) * d1[i] * d1[k] * A;
      else if (!mi && !mk)
        cc = 0;
      else
        cc = excl1(&x, v, mi ? i : k) * d1[i] * d1[k];
      if (cc != 0) add_pair(m, hss, hbb, hbs, par[i], par[k], w * cc);
    }
  }
  u_flush(m, n, g);
}

/* The samples' terms: X, Y, the diagonal of hss and the data-term
 * columns.  hist: the model has histosys terms (bin_fast). */
static inline __attribute__((always_inline)) void sample_loop(hfs_model *m, const double *theta,
                                                              double *hss, double *hbb, double *hbs,
                                                              int hist) {
  int ns = m->st_nshared;
  for (int i = 0; i < m->nblocks; ++i) {
    const hfs_csample *c = &m->cs[i];
    const double *mk = &m->mk[c->m0], *mk1 = &m->mk1[c->m0], *mk2 = &m->mk2[c->m0];
    int nm = c->m1 - c->m0, nz = 0, z = -1;
    double Fz = 1;
    for (int k = 0; k < nm; ++k) {
      if (mk[k] == 0) {
        nz++;
        z = c->m0 + k;
      } else {
        Fz *= mk[k];
      }
    }
    double *X = m->hX + (size_t)i * ns, *Y = m->hY + (size_t)i * ns, c1 = 0;
    for (int j = 0; j < c->nbins; ++j) {
      double w = m->wbin[c->bin0 + j];
      int gz = 0;
      for (int k = c->b0; k < c->b1; ++k) gz += theta[m->pb_par[m->binmod[k].off + j]] == 0;
      if (nz + gz == 0)
        bin_fast(m, c, j, theta, w, Y, &c1, hss, hbb, hbs, hist);
      else if (nz == 1 && gz == 0)
        bin_zrow(m, c, j, z, Fz, theta, w, hss, hbb, hbs);
      else
        bin_exact(m, c, j, theta, w, hss, hbb, hbs);
    }
    if (nz) continue;
    for (int k = 0; k < nm; ++k) {
      int sp = m->sh_idx[m->mterm[c->m0 + k].par];
      double l = mk1[k] / mk[k];
      X[sp] = l;
      Y[sp] += 0.5 * c1 * l;
      hss[(size_t)sp * ns + sp] += c1 * (mk2[k] / mk[k] - l * l);
    }
  }
}

/* The copy for models with histosys, out of line: inlined beside the plain
 * copy it made the Hessian of NextStat's model (no histosys) 3 % slower,
 * with the same instructions; one call per Hessian costs nothing. */
static __attribute__((noinline)) void samples_hist(hfs_model *m, const double *theta, double *hss,
                                                   double *hbb, double *hbs) {
  sample_loop(m, theta, hss, hbb, hbs, 1);
}

int hfs_model_hessian_blocks(hfs_model *m, const double *main, const double *aux,
                             const double *theta, double *hss, double *hbb, double *hbs) {
  int ns = m->st_nshared, nbl = m->st_nblocks;
  hfs__model_eval_rates(m, theta, 2);
  double f = hfs__model_main_term(m, main);
  if (!isfinite(f))
    return hfs_error_set(HFS_ERR_NUMERIC, "Hessian requested where the likelihood is not finite");
  size_t nbb = nbl ? m->bb_off[nbl - 1] : 0, nbs = nbl ? m->bs_off[nbl - 1] : 0;
  if (nbl) {
    size_t k = (size_t)(m->st_block_off[nbl] - m->st_block_off[nbl - 1]);
    nbb += k * k;
    nbs += k * (size_t)ns;
  }
  memset(hss, 0, sizeof(double) * (size_t)ns * (size_t)ns);
  memset(hbb, 0, sizeof(double) * nbb);
  memset(hbs, 0, sizeof(double) * nbs);
  memset(m->hX, 0, sizeof(double) * (size_t)ns * (size_t)m->nblocks);
  memset(m->hY, 0, sizeof(double) * (size_t)ns * (size_t)m->nblocks);
  memset(m->hJ, 0, sizeof(double) * (size_t)ns * (size_t)m->nbins);
  memset(m->jloc, 0, sizeof(double) * (size_t)m->st_block_off[nbl]);

  if (m->naterm)
    samples_hist(m, theta, hss, hbb, hbs);
  else
    sample_loop(m, theta, hss, hbb, hbs, 0);

  /* data term 2 n / nu^2 J J^T: local parts directly, shared by syrk */
  for (int g = 0; g < m->nbins; ++g) {
    double n = main[g], nu = m->nu[g];
    double gn = n > 0 ? 2 * n / (nu * nu) : 0;
    double *Jg = m->hJ + (size_t)g * ns;
    int b = m->bin_blk[g];
    if (b >= 0 && gn != 0) {
      int k = m->st_block_off[b + 1] - m->st_block_off[b];
      const double *jl = m->jloc + m->st_block_off[b];
      double *bb = hbb + m->bb_off[b], *bs = hbs + m->bs_off[b];
      for (int r = 0; r < k; ++r) {
        double s = gn * jl[r];
        for (int r2 = 0; r2 < k; ++r2) bb[r * k + r2] += s * jl[r2];
        axpy2(bs + (size_t)r * ns, s, Jg, ns);
      }
    }
    double sg = sqrt(gn);
    for (int a = 0; a < ns; ++a) Jg[a] *= sg;
  }
  if (ns > 0) {
    cblas_dsyr2k(CblasColMajor, CblasUpper, CblasNoTrans, ns, m->nblocks, 1.0, m->hX, ns, m->hY, ns,
                 0.0, m->hsym, ns);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, ns, m->nbins, 1.0, m->hJ, ns, 1.0, m->hsym,
                ns);
    for (int jj = 0; jj < ns; ++jj)
      for (int ii = 0; ii <= jj; ++ii) {
        double v = m->hsym[(size_t)jj * ns + ii];
        hss[(size_t)ii * ns + jj] += v;
        if (ii != jj) hss[(size_t)jj * ns + ii] += v;
      }
  }

  for (int a = 0; a < m->naux; ++a) {
    int q = m->aux_par[a];
    double v = m->constr[q] == HFS_CONSTR_GAUSS ? 2 / (m->sigma[q] * m->sigma[q])
                                                : 2 * aux[a] / (theta[q] * theta[q]);
    add_pair(m, hss, hbb, hbs, q, q, v);
  }
  return HFS_OK;
}

int hfs_model_hessian(hfs_model *m, const double *main, const double *aux, const double *theta,
                      double *H) {
  int np = m->npar, ns = m->st_nshared;
  int rc = hfs_model_hessian_blocks(m, main, aux, theta, m->hss, m->hbb, m->hbs);
  if (rc) return rc;
  memset(H, 0, sizeof(double) * (size_t)np * (size_t)np);
  const int *sh = m->st_shared;
  for (int a = 0; a < ns; ++a)
    for (int c = 0; c < ns; ++c) H[(size_t)sh[a] * np + sh[c]] = m->hss[(size_t)a * ns + c];
  for (int b = 0; b < m->st_nblocks; ++b) {
    const int *bp = &m->st_block_par[m->st_block_off[b]];
    int k = m->st_block_off[b + 1] - m->st_block_off[b];
    const double *bb = m->hbb + m->bb_off[b], *bs = m->hbs + m->bs_off[b];
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) H[(size_t)bp[i] * np + bp[j]] = bb[i * k + j];
      for (int c = 0; c < ns; ++c) {
        H[(size_t)bp[i] * np + sh[c]] = bs[(size_t)i * ns + c];
        H[(size_t)sh[c] * np + bp[i]] = bs[(size_t)i * ns + c];
      }
    }
  }
  return HFS_OK;
}
