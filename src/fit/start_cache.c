/* Factorisations of the expected Hessian at start points that many fits
 * share.
 *
 * Toys are drawn around a generating point and their free fits start there.
 * The expected Hessian at a point (the data replaced by their expectation:
 * the Fisher information) does not depend on the data, so the first step of
 * every such fit, a Fisher-scoring step, solves with the same matrix.  The
 * cache keeps the matrix and its factors per start point (the free
 * parameters' values and which parameters are free) and per selection (the
 * parameters not held at a bound by the first step's active set, which
 * depends on each toy's gradient).  A hit reuses them; a miss evaluates and
 * factorises into the least recently used slot.  Either way the factors are
 * the same bits, so results do not depend on the order fits come in (ranks,
 * batches).  Slots are allocated at creation: lookups allocate nothing. */
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hfs_error.h"

typedef struct {
  hfs_fit_blocks *b;
  double *key;  /* npar: the start over the free parameters */
  int *key_idx; /* npar: the free parameters' indices */
  int nkey;     /* number of free parameters; -1: empty */
  int *sel;     /* npar: the selection factorised (positions, -1 out) */
  int have_sel, fr;
  unsigned long used;
} start_slot;

struct hfs_fit_start_cache {
  int npar, nslots;
  unsigned long tick;
  start_slot *slot;
};

void hfs__fit_start_cache_destroy(hfs_fit_start_cache **pc) {
  if (!pc || !*pc) return;
  hfs_fit_start_cache *c = *pc;
  for (int i = 0; c->slot && i < c->nslots; i++) {
    hfs__fit_blocks_destroy(&c->slot[i].b);
    free(c->slot[i].key);
    free(c->slot[i].key_idx);
    free(c->slot[i].sel);
  }
  free(c->slot);
  free(c);
  *pc = NULL;
}

int hfs__fit_start_cache_create(const hfs_fit_blocks *like, int npar, int nslots,
                                hfs_fit_start_cache **out) {
  int rc = HFS_OK;
  hfs_fit_start_cache *c = NULL;
  if (!like || !out || npar < 1 || nslots < 1 || !hfs__fit_blocks_has_expected(like))
    HFS_FAIL(HFS_ERR_ARG, "fit: a start cache needs blocks with an expected Hessian");
  HFS_ALLOC(c, 1);
  c->npar = npar;
  c->nslots = nslots;
  HFS_ALLOC(c->slot, nslots);
  for (int i = 0; i < nslots; i++) {
    start_slot *s = &c->slot[i];
    s->nkey = -1;
    HFS_CHECK(hfs__fit_blocks_create_like(like, &s->b));
    HFS_ALLOC(s->key, npar);
    HFS_ALLOC(s->key_idx, npar);
    HFS_ALLOC(s->sel, npar);
  }
  *out = c;
  c = NULL;
cleanup:
  hfs__fit_start_cache_destroy(&c);
  return rc;
}

static int same_key(const start_slot *s, const hfs_fit_problem *p, const double *x) {
  int n = p->nfree;
  return s->nkey == n && memcmp(s->key_idx, p->free_idx, (size_t)n * sizeof *s->key_idx) == 0 &&
         memcmp(s->key, x, (size_t)n * sizeof *x) == 0;
}

hfs_fit_blocks *hfs__fit_start_cache_eval(hfs_fit_start_cache *c, hfs_fit_problem *p,
                                          const double *x, int *slot) {
  int n = p->nfree, pick = 0;
  for (int i = 0; i < c->nslots; i++) {
    if (same_key(&c->slot[i], p, x)) {
      c->slot[i].used = ++c->tick;
      *slot = i;
      return c->slot[i].b;
    }
    if (c->slot[i].used < c->slot[pick].used) pick = i;
  }
  start_slot *s = &c->slot[pick];
  s->nkey = -1;
  s->have_sel = 0;
  if (hfs__fit_blocks_eval_expected(s->b, p, x) != HFS_OK) return NULL;
  memcpy(s->key, x, (size_t)n * sizeof *x);
  memcpy(s->key_idx, p->free_idx, (size_t)n * sizeof *s->key_idx);
  s->nkey = n;
  s->used = ++c->tick;
  *slot = pick;
  return s->b;
}

int hfs__fit_start_cache_factor(hfs_fit_start_cache *c, int slot, const int *pos) {
  start_slot *s = &c->slot[slot];
  size_t bytes = (size_t)c->npar * sizeof *pos;
  if (s->have_sel && memcmp(s->sel, pos, bytes) == 0) return s->fr;
  hfs__fit_blocks_select(s->b, pos);
  s->fr = hfs__fit_blocks_factor(s->b, 0.0);
  memcpy(s->sel, pos, bytes);
  s->have_sel = 1;
  return s->fr;
}
