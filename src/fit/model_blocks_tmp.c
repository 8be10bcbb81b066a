/* TEMPORARY stand-in for the model's structure API (until it lands on main). */
#include <stdlib.h>
#include <string.h>
#include "model_internal.h"
#include "model_blocks_tmp.h"

static const hfs_model *cached;
static int *sh, *boff, *bpar, *bbin, nsh, nb;
static double *dense;

static void compute(const hfs_model *m, int force);
void hfs_model_structure_get(const hfs_model *m, hfs_model_structure *s) {
  compute(m, 1);
  s->nshared = nsh; s->shared = sh; s->nblocks = nb; s->block_off = boff;
  s->block_par = bpar; s->block_bin = bbin;
}
static void compute(const hfs_model *m, int force) {
  if (force || cached != m) {
    free(sh); free(boff); free(bpar); free(bbin); free(dense);
    int np = m->npar;
    int *cnt = calloc(np, sizeof *cnt), *bin = calloc(np, sizeof *bin);
    for (int g = 0; g < m->nbins; g++)
      for (int k = m->binpar_off[g]; k < m->binpar_off[g + 1]; k++) {
        cnt[m->binpar[k]]++;
        bin[m->binpar[k]] = g;
      }
    sh = calloc(np, sizeof *sh); bpar = calloc(np, sizeof *bpar);
    boff = calloc(m->nbins + 1, sizeof *boff); bbin = calloc(m->nbins, sizeof *bbin);
    nsh = 0; nb = 0;
    int *local = calloc(np, sizeof *local);
    for (int i = 0; i < np; i++) {
      hfs_modtype t = m->ptype[i];
      local[i] = cnt[i] == 1 && (t == HFS_MOD_STATERROR || t == HFS_MOD_SHAPESYS || t == HFS_MOD_SHAPEFACTOR);
      if (!local[i]) sh[nsh++] = i;
    }
    int nl = 0;
    for (int g = 0; g < m->nbins; g++) {
      int start = nl;
      for (int i = 0; i < np; i++) if (local[i] && bin[i] == g) bpar[nl++] = i;
      if (nl > start) { boff[nb] = start; bbin[nb] = g; nb++; }
    }
    boff[nb] = nl;
    free(cnt); free(bin); free(local);
    dense = malloc(sizeof(double) * np * np);
    cached = m;
  }
}

int hfs_model_hessian_blocks(hfs_model *m, const double *main, const double *aux,
                             const double *theta, double *hss, double *hbb, double *hbs) {
  compute(m, 0);
  int np = m->npar;
  int rc = hfs_model_hessian(m, main, aux, theta, dense);
  if (rc) return rc;
  for (int a = 0; a < nsh; a++)
    for (int c = 0; c < nsh; c++) hss[a * nsh + c] = dense[sh[a] * np + sh[c]];
  for (int b = 0; b < nb; b++) {
    int k = boff[b + 1] - boff[b];
    for (int q = 0; q < k; q++) {
      int i = bpar[boff[b] + q];
      for (int r = 0; r < k; r++) *hbb++ = dense[i * np + bpar[boff[b] + r]];
    }
    for (int q = 0; q < k; q++) {
      int i = bpar[boff[b] + q];
      for (int c = 0; c < nsh; c++) *hbs++ = dense[i * np + sh[c]];
    }
  }
  return 0;
}
