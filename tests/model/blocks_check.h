/* Test helper: the structured Hessian against the dense one at theta. */
#ifndef HFS_BLOCKS_CHECK_H
#define HFS_BLOCKS_CHECK_H

#include "hfs_model.h"
#include "hfs_test.h"

#include <stdlib.h>

/* hfs_model_hessian_blocks holds exactly the dense Hessian's entries, and
 * every entry between locals of different blocks is zero (the structure
 * drops nothing).  Returns the dense status (no check where it fails). */
static int check_blocks(hfs_model *m, const double *th) {
  int n = hfs_model_npar(m);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  hfs_model_structure st;
  hfs_model_structure_get(m, &st);
  int ns = st.nshared;
  assert_int_equal(ns + st.block_off[st.nblocks], n);
  double *H = calloc((size_t)n * n, sizeof *H), *hss = calloc((size_t)ns * ns + 1, sizeof *hss);
  double *hbb = calloc((size_t)n * n + 1, sizeof *hbb),
         *hbs = calloc((size_t)n * ns + 1, sizeof *hbs);
  int *blk = calloc(n, sizeof *blk);
  for (int q = 0; q < n; ++q) blk[q] = -1;
  for (int b = 0; b < st.nblocks; ++b)
    for (int i = st.block_off[b]; i < st.block_off[b + 1]; ++i) blk[st.block_par[i]] = b;
  int rc = hfs_model_hessian(m, obs, aux, th, H);
  if (rc == HFS_OK) {
    assert_int_equal(hfs_model_hessian_blocks(m, obs, aux, th, hss, hbb, hbs), HFS_OK);
    for (int a = 0; a < ns; ++a)
      for (int c = 0; c < ns; ++c)
        assert_close(hss[a * ns + c], H[st.shared[a] * n + st.shared[c]], 0);
    const double *bb = hbb, *bs = hbs;
    for (int b = 0; b < st.nblocks; ++b) {
      const int *bp = &st.block_par[st.block_off[b]];
      int k = st.block_off[b + 1] - st.block_off[b];
      for (int i = 0; i < k; ++i) {
        for (int j = 0; j < k; ++j) assert_close(bb[i * k + j], H[bp[i] * n + bp[j]], 0);
        for (int c = 0; c < ns; ++c) assert_close(bs[i * ns + c], H[bp[i] * n + st.shared[c]], 0);
      }
      bb += k * k;
      bs += k * ns;
    }
    for (int p = 0; p < n; ++p)
      for (int q = 0; q < n; ++q)
        if (blk[p] >= 0 && blk[q] >= 0 && blk[p] != blk[q]) assert_close(H[p * n + q], 0, 0);
  }
  free(H);
  free(hss);
  free(hbb);
  free(hbs);
  free(blk);
  return rc;
}

#endif
