/* One point of a signal grid: the asymptotic test at mu (one free and one
 * conditional fit on the data, the same on the Asimov data), the limit with
 * its bands when asked, and with toys an adaptive toy count.
 *
 * The toy count follows Combine's HybridNew grids: toys come in batches,
 * and after each batch the binomial error on CLs is compared with the
 * target accuracy; the point stops at the target or at the maximum, never
 * before the minimum.  The first check comes after the toys expected to
 * reach the accuracy from the asymptotic result, so easy points need one
 * check.  Each batch is computed from its index alone (a job spreads one
 * point's batches over ranks) and the decision depends only on the batches
 * in index order, so the same seed gives the same count and result however
 * and wherever the batches were computed. */
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_toys.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_nan(double *x, int n) {
  for (int i = 0; i < n; i++) x[i] = NAN;
}

static int fit_failed(const hfs_fit_summary *f, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += f[i].status != HFS_FIT_CONVERGED;
  return k;
}

/* Toys per hypothesis expected to reach the accuracy, from the asymptotic
 * p-values: var(CLs) ~ CLs^2 ((1 - CLsb)/(N CLsb) + (1 - CLb)/(N CLb)). */
static int64_t toys_needed(const hfs_point_result *r, double acc) {
  double clsb = r->clsb_obs, clb = r->clb_obs, cls = r->cls_obs;
  if (!(clsb > 0) || !(clb > 0) || !(acc > 0)) return 0;
  double v = cls * cls * ((1 - clsb) / clsb + (1 - clb) / clb);
  double n = v / (acc * acc);
  return n > 1e12 ? (int64_t)1e12 : (int64_t)ceil(n);
}

int hfs_point_options_check(const hfs_point_options *o) {
  if (o->toys &&
      (o->toys_min < 1 || o->toys_max < o->toys_min || o->toys_batch < 1 || !(o->cls_accuracy > 0)))
    return hfs_error_set(HFS_ERR_ARG,
                         "toys: need 1 <= min <= max, batch >= 1 "
                         "and an accuracy > 0");
  return HFS_OK;
}

static int64_t batches_for(const hfs_point_options *o, int64_t ntoys) {
  int64_t k = (ntoys + o->toys_batch - 1) / o->toys_batch;
  int64_t kmax = (o->toys_max + o->toys_batch - 1) / o->toys_batch;
  return k < 1 ? 1 : k > kmax ? kmax : k;
}

int64_t hfs_point_toy_batches(const hfs_point_options *o) { return batches_for(o, o->toys_max); }

int64_t hfs_point_toy_first_check(const hfs_point_options *o, const hfs_point_result *asym) {
  int64_t first = asym ? toys_needed(asym, o->cls_accuracy) : 0;
  if (first < o->toys_min) first = o->toys_min;
  return batches_for(o, first);
}

int64_t hfs_point_toy_count(const hfs_point_options *o, int64_t nbatches) {
  int64_t n = nbatches * o->toys_batch;
  return n > o->toys_max ? o->toys_max : n;
}

int hfs_point_toys_batch(hfs_infer *I, const hfs_point_options *o, int64_t batch,
                         hfs_toy_result *sb, hfs_toy_result *b, int64_t *n) {
  hfs_toys *T = NULL;
  int rc = HFS_OK;
  double mu = o->mu;
  int64_t first = batch * o->toys_batch, last = hfs_point_toy_count(o, batch + 1);
  *n = 0;
  if (batch < 0 || first >= last)
    HFS_FAIL(HFS_ERR_ARG, "toys: batch %lld out of range", (long long)batch);
  HFS_CHECK(hfs_toys_create(I, o->ts, o->seed, 1, &mu, &T));
  for (int64_t t = first; t < last; t++) {
    HFS_CHECK(hfs_toys_run(T, 0, HFS_TOY_SB, t, &sb[t - first]));
    HFS_CHECK(hfs_toys_run(T, 0, HFS_TOY_B, t, &b[t - first]));
  }
  *n = last - first;
cleanup:
  hfs_toys_destroy(&T);
  return rc;
}

int hfs_point_toys_check(const hfs_point_options *o, const hfs_toy_result *sb,
                         const hfs_toy_result *b, int64_t nbatches, hfs_point_result *r, int *stop,
                         double *cls_err) {
  int rc = HFS_OK;
  hfs_toy_cls c;
  *stop = 0;
  if (cls_err) *cls_err = NAN;
  if (nbatches < hfs_point_toy_first_check(o, r)) return HFS_OK;
  int64_t n = hfs_point_toy_count(o, nbatches);
  HFS_CHECK(hfs_toys_cls(sb, n, b, n, r->q_obs, &c));
  if (cls_err) *cls_err = c.cls_err;
  if (!(n >= o->toys_max || (n >= o->toys_min && c.cls_err <= o->cls_accuracy))) return HFS_OK;
  *stop = 1;
  r->cls_obs = c.cls;
  r->clsb_obs = c.clsb;
  r->clb_obs = c.clb;
  r->cls_err = c.cls_err;
  memcpy(r->cls_exp, c.cls_exp, sizeof r->cls_exp);
  r->ntoys_sb = c.n_sb;
  r->ntoys_b = c.n_b;
  r->nfail_toys = c.nfail_sb + c.nfail_b;
  if (r->nfail_toys && r->status == HFS_POINT_OK) r->status = HFS_POINT_FIT_FAILED;
cleanup:
  return rc;
}

void hfs_point_toys_failed(hfs_point_result *r, const char *message) {
  r->status = HFS_POINT_ERROR;
  set_nan(&r->cls_obs, 1);
  set_nan(r->cls_exp, 5);
  snprintf(r->message, sizeof r->message, "toys: %s", message);
}

int hfs_infer_point(hfs_infer *I, const hfs_point_options *o, hfs_point_result *r) {
  hfs_hypotest h;
  hfs_limit L;
  int rc;
  memset(r, 0, sizeof *r);
  set_nan(&r->cls_obs, 1);
  set_nan(r->cls_exp, 5);
  set_nan(&r->limit_obs, 1);
  set_nan(r->limit_exp, 5);
  r->clsb_obs = r->clb_obs = r->q_obs = r->mu_hat = NAN;
  r->limit_status = HFS_POINT_NOT_RUN;
  for (int k = 0; k < 6; k++) r->limit_part_status[k] = HFS_POINT_NOT_RUN;
  rc = hfs_point_options_check(o);
  if (rc) return rc;

  rc = hfs_infer_hypotest(I, o->ts, o->mu, &h);
  if (rc == HFS_ERR_NOMEM) return rc;
  if (rc) {
    r->status = HFS_POINT_ERROR;
    snprintf(r->message, sizeof r->message, "%s", hfs_error_message());
  } else {
    r->cls_obs = h.cls_obs;
    r->clsb_obs = h.clsb_obs;
    r->clb_obs = h.clb_obs;
    memcpy(r->cls_exp, h.cls_exp, sizeof r->cls_exp);
    r->q_obs = h.q_obs;
    r->mu_hat = h.mu_hat;
    memcpy(r->fits, h.fits, sizeof r->fits);
    r->nfailed_fits = fit_failed(h.fits, HFS_HT_NFITS);
    r->status = r->nfailed_fits ? HFS_POINT_FIT_FAILED : HFS_POINT_OK;
  }

  if (o->limit) {
    hfs_limit_options lo = o->lim;
    lo.ts = o->ts;
    lo.known = r->status == HFS_POINT_OK || r->status == HFS_POINT_FIT_FAILED ? &h : NULL;
    memset(&L, 0, sizeof L);
    rc = hfs_infer_limit(I, &lo, &L);
    if (rc == HFS_ERR_NOMEM) {
      hfs_limit_free(&L);
      return rc;
    }
    if (rc) {
      r->limit_status = HFS_POINT_ERROR;
      for (int k = 0; k < 6; k++) r->limit_part_status[k] = HFS_POINT_ERROR;
      if (!r->message[0]) snprintf(r->message, sizeof r->message, "limit: %s", hfs_error_message());
    } else {
      /* Each limit has its own status: one outside the POI's bounds leaves
       * the others (and the CLs values) as computed. */
      int part = L.nfailed_fits ? HFS_POINT_FIT_FAILED : HFS_POINT_OK;
      r->limit_obs = L.obs;
      memcpy(r->limit_exp, L.exp, sizeof r->limit_exp);
      r->nfailed_fits += L.nfailed_fits;
      r->limit_status = part;
      for (int k = 0; k < 6; k++) {
        r->limit_part_status[k] = L.curve_rc[k] ? HFS_POINT_ERROR : part;
        if (L.curve_rc[k]) r->limit_status = HFS_POINT_ERROR;
      }
      if (L.message[0] && !r->message[0])
        snprintf(r->message, sizeof r->message, "limit: %.230s", L.message);
    }
    hfs_limit_free(&L);
  }
  hfs_error_clear();
  return HFS_OK;
}
