/* The compiled form of a model (model_internal.h): modifiers fused per
 * parameter and sample, the parameters' places in the Hessian structure and
 * the scratch of the evaluation.  Built once from the layout of build.c. */
#include "hfs_error.h"
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

/* Fuse the scalar and histosys modifiers of each sample by parameter. */
static int fuse(hfs_model *m) {
  int rc = HFS_OK;
  int *slot = NULL;
  int nhb = 0;
  for (int i = 0; i < m->nblocks; ++i)
    nhb += (m->blocks[i].h1 - m->blocks[i].h0) * m->blocks[i].nbins;
  HFS_ALLOC(m->cs, m->nblocks);
  HFS_ALLOC(m->mterm, m->nscal);
  HFS_ALLOC(m->cns, m->nnormsys);
  HFS_ALLOC(m->aterm, m->nhist);
  HFS_ALLOC(m->fd_up, nhb);
  HFS_ALLOC(m->fd_dn, nhb);
  HFS_ALLOC(slot, m->npar);
  int nm = 0, nn = 0, na = 0, off = 0;
  m->max_mterm = 1;
  m->max_bin_terms = 1;
  for (int i = 0; i < m->nblocks; ++i) {
    const hfs_sample_block *bl = &m->blocks[i];
    hfs_csample *c = &m->cs[i];
    c->bin0 = bl->bin0;
    c->nbins = bl->nbins;
    c->nom = bl->nom;
    c->b0 = bl->b0;
    c->b1 = bl->b1;
    /* one mterm per parameter, its normsys factors contiguous in cns */
    c->m0 = nm;
    for (int k = bl->s0; k < bl->s1; ++k) {
      int p = m->scal[k].par, seen = 0;
      for (int t = c->m0; t < nm; ++t) seen |= m->mterm[t].par == p;
      if (seen) continue;
      hfs_mterm *t = &m->mterm[nm++];
      t->par = p;
      t->nlin = 0;
      t->n0 = nn;
      for (int k2 = k; k2 < bl->s1; ++k2) {
        if (m->scal[k2].par != p) continue;
        if (m->scal[k2].normsys < 0)
          t->nlin++;
        else
          m->cns[nn++] = m->normsys[m->scal[k2].normsys];
      }
      t->n1 = nn;
    }
    c->m1 = nm;
    if (c->m1 - c->m0 > m->max_mterm) m->max_mterm = c->m1 - c->m0;
    /* one aterm per parameter, shifts summed, stored bin-major (bin j of
     * term t at fd0 + j * nterms + t) so that the per-bin sums over terms
     * run over contiguous memory */
    c->a0 = na;
    for (int h = bl->h0; h < bl->h1; ++h) {
      int p = m->hist[h].par, seen = 0;
      for (int t2 = c->a0; t2 < na; ++t2) seen |= m->aterm[t2].par == p;
      if (!seen) m->aterm[na++].par = p;
    }
    int nat = na - c->a0;
    if (nat > m->max_aterm) m->max_aterm = nat;
    c->fd0 = off;
    off += nat * bl->nbins;
    for (int h = bl->h0; h < bl->h1; ++h) {
      int t = c->a0;
      while (m->aterm[t].par != m->hist[h].par) ++t;
      for (int j = 0; j < bl->nbins; ++j) {
        m->fd_up[c->fd0 + j * nat + (t - c->a0)] += m->d_up[m->hist[h].off + j];
        m->fd_dn[c->fd0 + j * nat + (t - c->a0)] += m->d_dn[m->hist[h].off + j];
      }
    }
    c->a1 = na;
    int nt = (c->m1 - c->m0) + (c->a1 - c->a0) + (c->b1 - c->b0);
    if (nt > m->max_bin_terms) m->max_bin_terms = nt;
  }
  m->nmterm = nm;
  m->ncns = nn;
  m->naterm = na;
  /* the one-normsys terms of code 4 and their coefficients, by pairs of
   * terms (a_k of terms 2q and 2q + 1 side by side) for the two-lane pass;
   * padded to an even count with a term that is not simple */
  size_t npair = ((size_t)nm + 1) / 2;
  HFS_ALLOC(m->mt_par, 2 * npair);
  HFS_ALLOC(m->mt_simple, 2 * npair);
  HFS_ALLOC(m->mt_c, 12 * npair);
  for (int t = 0; t < nm; ++t) {
    const hfs_mterm *mt = &m->mterm[t];
    m->mt_par[t] = mt->par;
    m->mt_simple[t] = mt->nlin == 0 && mt->n1 == mt->n0 + 1 && m->cns[mt->n0].code == 4;
    for (int k = 0; k < 6; ++k)
      m->mt_c[12 * (size_t)(t / 2) + 2 * k + t % 2] = m->mt_simple[t] ? m->cns[mt->n0].a[k] : 0;
  }
  /* the pairs whose two terms are simple, for the two-lane pass; the terms
   * of the other pairs, evaluated in a loop of their own after it
   * (NextStat's 50 normfactors went out of line one by one) */
  HFS_ALLOC(m->mt_pair, npair);
  HFS_ALLOC(m->mt_other, 2 * npair);
  m->nmpair = m->nmother = 0;
  for (size_t q = 0; q < npair; ++q) {
    if (m->mt_simple[2 * q] && m->mt_simple[2 * q + 1]) {
      m->mt_pair[m->nmpair++] = (int)q;
      continue;
    }
    for (int t = 2 * (int)q; t < 2 * (int)q + 2 && t < nm; ++t) m->mt_other[m->nmother++] = t;
  }
  /* parameters with a histosys somewhere */
  for (int q = 0; q < m->npar; ++q) slot[q] = 0;
  for (int t = 0; t < na; ++t) slot[m->aterm[t].par] = 1;
  m->nhpar = 0;
  for (int q = 0; q < m->npar; ++q) m->nhpar += slot[q];
  HFS_ALLOC(m->hpar, m->nhpar);
  m->nhpar = 0;
  for (int q = 0; q < m->npar; ++q)
    if (slot[q]) m->hpar[m->nhpar++] = q;
cleanup:
  free(slot);
  return rc;
}

/* Where each parameter sits in the block structure. */
static int place(hfs_model *m) {
  int rc = HFS_OK;
  HFS_ALLOC(m->sh_idx, m->npar);
  HFS_ALLOC(m->loc_blk, m->npar);
  HFS_ALLOC(m->loc_pos, m->npar);
  HFS_ALLOC(m->bin_blk, m->nbins);
  for (int q = 0; q < m->npar; ++q) m->sh_idx[q] = m->loc_blk[q] = m->loc_pos[q] = -1;
  for (int a = 0; a < m->st_nshared; ++a) m->sh_idx[m->st_shared[a]] = a;
  for (int g = 0; g < m->nbins; ++g) m->bin_blk[g] = -1;
  for (int b = 0; b < m->st_nblocks; ++b) {
    m->bin_blk[m->st_block_bin[b]] = b;
    for (int i = m->st_block_off[b]; i < m->st_block_off[b + 1]; ++i) {
      m->loc_blk[m->st_block_par[i]] = b;
      m->loc_pos[m->st_block_par[i]] = i - m->st_block_off[b];
    }
  }
  for (int t = 0; t < m->nmterm; ++t) m->mterm[t].sh = m->sh_idx[m->mterm[t].par];
  for (int t = 0; t < m->naterm; ++t) m->aterm[t].sh = m->sh_idx[m->aterm[t].par];
cleanup:
  return rc;
}

int hfs__model_compile(hfs_model *m, int normsys_code) {
  int rc = HFS_OK;
  m->normsys_code = normsys_code;
  HFS_CHECK(fuse(m));
  HFS_CHECK(place(m));
  /* a sample without histosys has A = its nominal at every point, one
   * without per-bin factors G = 1: set here once, the rate pass leaves them
   * (NextStat's model: every sample one or the other) */
  for (int i = 0; i < m->nblocks; ++i) {
    const hfs_csample *c = &m->cs[i];
    if (c->a1 == c->a0)
      memcpy(&m->sb_A[c->nom], &m->nominal[c->nom], sizeof(double) * (size_t)c->nbins);
    if (c->b1 == c->b0)
      for (int j = 0; j < c->nbins; ++j) m->sb_G[c->nom + j] = 1;
  }
  size_t ns = (size_t)m->st_nshared, nbb = 0, nbs = 0;
  for (int b = 0; b < m->st_nblocks; ++b) {
    size_t k = (size_t)(m->st_block_off[b + 1] - m->st_block_off[b]);
    nbb += k * k;
    nbs += k * ns;
  }
  HFS_ALLOC(m->mk, m->nmterm + 1);
  HFS_ALLOC(m->mk1, m->nmterm + 1);
  HFS_ALLOC(m->mk2, m->nmterm + 1);
  HFS_ALLOC(m->mpre, m->nmterm);
  HFS_ALLOC(m->pw, 6 * (size_t)m->npar);
  HFS_ALLOC(m->gw, 6 * (size_t)m->naterm);
  HFS_ALLOC(m->asum, 2 * (size_t)m->max_aterm);
  HFS_ALLOC(m->csF, m->nblocks);
  HFS_ALLOC(m->csFc, 4 * (size_t)m->nblocks);
  HFS_ALLOC(m->hX, ns * (size_t)m->nblocks);
  HFS_ALLOC(m->hY, ns * (size_t)m->nblocks);
  HFS_ALLOC(m->hJ, ns * (size_t)m->nbins);
  HFS_ALLOC(m->hsym, ns * ns);
  HFS_ALLOC(m->jloc, m->st_block_off[m->st_nblocks]);
  HFS_ALLOC(m->uvec, m->npar);
  HFS_ALLOC(m->uidx, m->npar);
  HFS_ALLOC(m->umark, m->npar);
  HFS_ALLOC(m->hss, ns * ns);
  HFS_ALLOC(m->hbb, nbb);
  HFS_ALLOC(m->hbs, nbs);
  HFS_ALLOC(m->is_perbin, m->npar);
  for (int q = 0; q < m->npar; ++q)
    m->is_perbin[q] = m->ptype[q] == HFS_MOD_STATERROR || m->ptype[q] == HFS_MOD_SHAPESYS ||
                      m->ptype[q] == HFS_MOD_SHAPEFACTOR;
  HFS_ALLOC(m->bb_off, m->st_nblocks);
  HFS_ALLOC(m->bs_off, m->st_nblocks);
  nbb = nbs = 0;
  for (int b = 0; b < m->st_nblocks; ++b) {
    size_t k = (size_t)(m->st_block_off[b + 1] - m->st_block_off[b]);
    m->bb_off[b] = nbb;
    m->bs_off[b] = nbs;
    nbb += k * k;
    nbs += k * ns;
  }
  HFS_ALLOC(m->sv, 3 * (size_t)m->max_bin_terms);
  HFS_ALLOC(m->sp, 2 * (size_t)m->max_bin_terms);
cleanup:
  return rc;
}

void hfs__model_compiled_free(hfs_model *m) {
  free(m->cs);
  free(m->mterm);
  free(m->aterm);
  free(m->cns);
  free(m->fd_up);
  free(m->fd_dn);
  free(m->hpar);
  free(m->mt_par);
  free(m->mt_simple);
  free(m->mt_other);
  free(m->mt_pair);
  free(m->mt_c);
  free(m->sh_idx);
  free(m->loc_blk);
  free(m->loc_pos);
  free(m->bin_blk);
  free(m->mk);
  free(m->mk1);
  free(m->mk2);
  free(m->mpre);
  free(m->pw);
  free(m->gw);
  free(m->asum);
  free(m->csF);
  free(m->csFc);
  free(m->hX);
  free(m->hY);
  free(m->hJ);
  free(m->hsym);
  free(m->jloc);
  free(m->uvec);
  free(m->uidx);
  free(m->umark);
  free(m->hss);
  free(m->hbb);
  free(m->hbs);
  free(m->is_perbin);
  free(m->bb_off);
  free(m->bs_off);
  free(m->sv);
  free(m->sp);
}
