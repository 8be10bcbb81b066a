/* The block linear algebra of the structured Newton fit (src/fit/blocks.c)
 * against dense LAPACK on a synthetic arrow matrix with every case the
 * factorisation and the solve tell apart: groups of consecutive blocks with
 * the same shared columns (their W rows are solved together), a block of
 * one local, a block with no shared column inside a group's run, a block
 * coupled to every shared parameter, and selections that drop shared and
 * local parameters (fixed or at a bound).  The solve and the inverse must
 * equal the dense ones to rounding. */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hfs_error.h"
#include "hfs_test.h"

enum { NS = 9, NB = 8 };
static const int ksize[NB] = {3, 3, 1, 4, 2, 4, 1, 3};
/* the shared columns each block couples to (-1 ends a list) */
static const int kcols[NB][NS + 1] = {{0, 2, 5, 7, -1},
                                      {0, 2, 5, 7, -1},
                                      {0, 2, 5, 7, -1},
                                      {1, 3, -1},
                                      {-1},
                                      {1, 3, -1},
                                      {8, -1},
                                      {0, 1, 2, 3, 4, 5, 6, 7, 8, -1}};

typedef struct {
  int npar;
  double *h; /* dense npar x npar, parameters ordered shared first */
  int shared[NS], boff[NB + 1], bpar[64];
} synth;

static double urand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return ((*s >> 8) & 0xffff) / 65536.0 - 0.5;
}

static void synth_make(synth *z) {
  unsigned seed = 7;
  int nl = 0;
  z->boff[0] = 0;
  for (int k = 0; k < NB; k++) z->boff[k + 1] = z->boff[k] + ksize[k];
  nl = z->boff[NB];
  z->npar = NS + nl;
  int n = z->npar;
  z->h = calloc((size_t)n * n, sizeof *z->h);
  assert_non_null(z->h);
  /* Interleave shared and local indices so that positions differ from
   * the structure's order. */
  int is = 0, il = 0;
  int *order = calloc((size_t)n, sizeof *order);
  for (int i = 0; i < n; i++) order[i] = (i % 4 == 1 && is < NS) || il >= nl ? -(++is) : ++il;
  for (int i = 0; i < n; i++) {
    if (order[i] < 0)
      z->shared[-order[i] - 1] = i;
    else
      z->bpar[order[i] - 1] = i;
  }
  free(order);
  /* H = G G' + n I restricted to the structure: positive definite. */
  double *g = calloc((size_t)n * n, sizeof *g);
  for (int i = 0; i < n * n; i++) g[i] = urand(&seed);
  int *blk = calloc((size_t)n, sizeof *blk), *sh = calloc((size_t)n, sizeof *sh);
  for (int i = 0; i < n; i++) blk[i] = -1, sh[i] = -1;
  for (int j = 0; j < NS; j++) sh[z->shared[j]] = j;
  for (int k = 0; k < NB; k++)
    for (int q = z->boff[k]; q < z->boff[k + 1]; q++) blk[z->bpar[q]] = k;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      int keep = 1;
      if (blk[i] >= 0 && blk[j] >= 0) keep = blk[i] == blk[j];
      if (blk[i] >= 0 && sh[j] >= 0) {
        keep = 0;
        for (const int *c = kcols[blk[i]]; *c >= 0; c++) keep |= *c == sh[j];
      }
      if (blk[j] >= 0 && sh[i] >= 0) {
        keep = 0;
        for (const int *c = kcols[blk[j]]; *c >= 0; c++) keep |= *c == sh[i];
      }
      if (!keep) continue;
      double s = i == j ? (double)n : 0.0;
      for (int r = 0; r < n; r++) s += g[i * n + r] * g[j * n + r];
      z->h[i * n + j] = s;
    }
  free(g);
  free(blk);
  free(sh);
}

static double objective(void *ctx, const double *theta, double *grad) {
  (void)ctx;
  (void)theta;
  (void)grad;
  return 0.0;
}

static int hess_dense(void *ctx, const double *theta, double *h) {
  (void)theta;
  synth *z = ctx;
  memcpy(h, z->h, (size_t)z->npar * z->npar * sizeof *h);
  return HFS_OK;
}

static int hess_blocks(void *ctx, const double *theta, double *hss, double *hbb, double *hbs) {
  (void)theta;
  synth *z = ctx;
  int n = z->npar;
  for (int a = 0; a < NS; a++)
    for (int c = 0; c < NS; c++) hss[a * NS + c] = z->h[z->shared[a] * n + z->shared[c]];
  for (int k = 0; k < NB; k++) {
    int k0 = z->boff[k], kb = ksize[k];
    for (int r = 0; r < kb; r++) {
      int i = z->bpar[k0 + r];
      for (int c = 0; c < kb; c++) *hbb++ = z->h[i * n + z->bpar[k0 + c]];
      for (int c = 0; c < NS; c++) hbs[r * NS + c] = z->h[i * n + z->shared[c]];
    }
    hbs += kb * NS;
  }
  return HFS_OK;
}

/* Factor and solve over the free parameters not in drop[], then invert;
 * compare with LAPACK on the dense submatrix. */
static void check(synth *z, const int *drop, int ndrop, double lambda) {
  int n = z->npar;
  double *lo = calloc((size_t)n, sizeof *lo), *hi = calloc((size_t)n, sizeof *hi);
  for (int i = 0; i < n; i++) lo[i] = -10.0, hi[i] = 10.0;
  hfs_fit_options o = HFS_FIT_OPTIONS_DEFAULT;
  hfs_fit_engine *e = NULL;
  assert_int_equal(
      hfs__fit_engine_create(n, lo, hi, objective, hess_dense, z, &hfs__fit_backend_newton, &o, &e),
      HFS_OK);
  hfs_fit_structure fs = {NS, z->shared, NB, z->boff, z->bpar};
  assert_int_equal(hfs__fit_engine_set_structure(e, &fs, hess_blocks), HFS_OK);
  hfs_fit_problem *p = &e->prob;
  int *fixed = calloc((size_t)n, sizeof *fixed);
  double *theta = calloc((size_t)n, sizeof *theta);
  int nf = hfs__fit_problem_setup(p, theta, fixed);
  assert_int_equal(nf, n);
  for (int k = 0; k < n; k++) e->x[k] = 0.0;
  assert_int_equal(hfs__fit_blocks_eval(p->blocks, p, e->x), HFS_OK);
  /* the selection: every free parameter but drop[], at positions in a
   * different order from the parameters' */
  int *pos = calloc((size_t)n, sizeof *pos), *sel = calloc((size_t)n, sizeof *sel), m = 0;
  for (int i = 0; i < n; i++) pos[i] = 0;
  for (int d = 0; d < ndrop; d++) pos[drop[d]] = -1;
  for (int i = n - 1; i >= 0; i--)
    if (pos[i] == 0) sel[m++] = i;
  for (int i = 0; i < n; i++) pos[i] = -1;
  for (int q = 0; q < m; q++) pos[sel[q]] = q;
  assert_int_equal(hfs__fit_blocks_select(p->blocks, pos), m);
  assert_int_equal(hfs__fit_blocks_factor(p->blocks, lambda), 0);
  /* the dense reduced matrix with the same damping */
  double *a = calloc((size_t)m * m, sizeof *a), *r = calloc((size_t)n, sizeof *r);
  double *d = calloc((size_t)n, sizeof *d), *x = calloc((size_t)m, sizeof *x);
  double dmax = 0.0;
  for (int i = 0; i < n; i++) dmax = fmax(dmax, fabs(z->h[i * n + i]));
  for (int q = 0; q < m; q++) {
    for (int c = 0; c < m; c++) a[q * m + c] = z->h[sel[q] * n + sel[c]];
    a[q * m + q] += lambda * fmax(fabs(a[q * m + q]), 1e-10 * dmax);
  }
  unsigned seed = 3;
  for (int q = 0; q < m; q++) x[q] = r[q] = urand(&seed);
  double *ac = calloc((size_t)m * m, sizeof *ac);
  memcpy(ac, a, (size_t)m * m * sizeof *a);
  assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', m, 1, ac, m, x, 1), 0);
  hfs__fit_blocks_solve(p->blocks, r, d);
  double err = 0.0, scale = 0.0;
  for (int q = 0; q < m; q++) {
    err = fmax(err, fabs(d[q] - x[q]));
    scale = fmax(scale, fabs(x[q]));
  }
  printf("  %d of %d selected, lambda %g: solve max |d - d_dense| = %.2e (|d| %.2e)\n", m, n,
         lambda, err, scale);
  assert_true(err <= 1e-12 * scale);
  /* the inverse */
  memcpy(ac, a, (size_t)m * m * sizeof *a);
  assert_int_equal(LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', m, ac, m), 0);
  assert_int_equal(LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', m, ac, m), 0);
  double *cov = calloc((size_t)m * m, sizeof *cov), *diag = calloc((size_t)m, sizeof *diag);
  hfs__fit_blocks_inverse(p->blocks, cov, m, diag);
  double ierr = 0.0, iscale = 0.0;
  for (int q = 0; q < m; q++)
    for (int c = 0; c <= q; c++) {
      double v = ac[q * m + c];
      ierr = fmax(ierr, fmax(fabs(cov[q * m + c] - v), fabs(cov[c * m + q] - v)));
      if (q == c) ierr = fmax(ierr, fabs(diag[q] - v));
      iscale = fmax(iscale, fabs(v));
    }
  printf("  inverse max error %.2e (largest entry %.2e)\n", ierr, iscale);
  assert_true(ierr <= 1e-12 * iscale);
  free(cov);
  free(diag);
  free(ac);
  free(a);
  free(r);
  free(d);
  free(x);
  free(pos);
  free(sel);
  free(fixed);
  free(theta);
  free(lo);
  free(hi);
  hfs__fit_engine_destroy(&e);
}

static void test_full(void **state) {
  (void)state;
  synth z;
  synth_make(&z);
  check(&z, NULL, 0, 0.0);
  check(&z, NULL, 0, 1e-3);
  free(z.h);
}

static void test_selections(void **state) {
  (void)state;
  synth z;
  synth_make(&z);
  /* a shared column of the first group, the single local of block 2, one
   * local of block 0 and every local of block 5 */
  int drop1[] = {z.shared[2],          z.bpar[z.boff[2]],     z.bpar[z.boff[0] + 1],
                 z.bpar[z.boff[5]],    z.bpar[z.boff[5] + 1], z.bpar[z.boff[5] + 2],
                 z.bpar[z.boff[5] + 3]};
  check(&z, drop1, 7, 0.0);
  /* every shared parameter: the blocks alone */
  int drop2[NS];
  for (int j = 0; j < NS; j++) drop2[j] = z.shared[j];
  check(&z, drop2, NS, 0.0);
  /* every local: the shared block alone */
  int drop3[64], nd = 0;
  for (int q = 0; q < z.boff[NB]; q++) drop3[nd++] = z.bpar[q];
  check(&z, drop3, nd, 0.0);
  free(z.h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_selections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
