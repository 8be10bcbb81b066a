/* Why a toy-based limit has no value: a CLs curve (observed or one of the
 * expected bands) that never falls through alpha inside the scan, and how
 * many toys the band would need (docs/inference.md, "Too few toys"). */
#include "toy_notes.h"
#include "cli.h"
#include "hfs_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The fraction of background-only toys beyond each expected band's
 * quantile (-2s ... +2s). */
static const double band_tail[5] = {0.02275013, 0.15865525, 0.5, 0.15865525, 0.02275013};
static const char *const band_name[5] = {"expected -2 sigma", "expected -1 sigma",
                                         "expected median", "expected +1 sigma",
                                         "expected +2 sigma"};

/* Ten toys in the tail that decides a value give it about 30% relative
 * precision: the band's quantile among the background-only toys, and the
 * CLs+b tail at alpha among the signal-plus-background toys. */
static long long toys_needed(double tail, double alpha) {
  return (long long)ceil(10.0 / fmin(tail, alpha));
}

static double curve(const hfs_toyfile *tf, int k, int p) {
  return k < 0 ? tf->cls[p].cls : tf->cls[p].cls_exp[k];
}

/* Why curve k (-1 observed, 0..4 expected) has no downward crossing. */
static void explain(const hfs_toyfile *tf, int k, char *buf, size_t n) {
  double alpha = 1 - tf->cl;
  int nfinite = 0, nbelow = 0, first = -1, last = -1;
  long long nmin = -1;
  for (int p = 0; p < tf->npoints; ++p) {
    const hfs_toy_cls *r = &tf->cls[p];
    long long used = (long long)(r->n_sb < r->n_b ? r->n_sb : r->n_b);
    if (nmin < 0 || used < nmin) nmin = used;
    double v = curve(tf, k, p);
    if (!isfinite(v)) continue;
    nfinite++;
    nbelow += v < alpha;
    if (first < 0) first = p;
    last = p;
  }
  size_t l = 0;
  if (nfinite == 0)
    l += snprintf(buf + l, n - l, "CLs is not defined at any scan point");
  else if (nbelow == nfinite)
    l += snprintf(buf + l, n - l,
                  "the curve is below alpha = %g already at the first scan point %g, so "
                  "the limit lies below the scan (start --scan lower) or the toys are too few",
                  alpha, tf->mu[first]);
  else if (nbelow == 0)
    l += snprintf(buf + l, n - l,
                  "the curve is still above alpha = %g at the last scan point %g: extend "
                  "--scan upward",
                  alpha, tf->mu[last]);
  else
    l += snprintf(buf + l, n - l,
                  "the curve does not fall through alpha = %g between two scan "
                  "points (it rises and falls: too few toys)",
                  alpha);
  long long need = toys_needed(k < 0 ? 1.0 : band_tail[k], alpha);
  if (nmin >= 0 && nmin < need && l < n)
    snprintf(buf + l, n - l,
             "; with %lld usable toys per hypothesis%s, about %lld (--ntoys %lld) are needed "
             "for %s",
             nmin, k < 0 ? "" : " the band's quantile rests on fewer than 10 background-only toys",
             need, need, k < 0 ? "CLs+b near alpha" : "this band");
}

int hfs_cli_toy_limit_notes(const hfs_toyfile *tf, char notes[6][HFS_TOY_NOTE_LEN]) {
  int count = 0;
  for (int k = -1; k < 5; ++k) {
    char *s = notes[k + 1];
    s[0] = '\0';
    double v = k < 0 ? tf->limit_obs : tf->limit_exp[k];
    if (!tf->have_limit || isfinite(v)) continue;
    char why[HFS_TOY_NOTE_LEN - 64];
    explain(tf, k, why, sizeof why);
    snprintf(s, HFS_TOY_NOTE_LEN, "%s limit not found: %s", k < 0 ? "observed" : band_name[k], why);
    count++;
  }
  return count;
}

void hfs_cli_toy_limit_warn(const hfs_toyfile *tf) {
  char notes[6][HFS_TOY_NOTE_LEN];
  if (!hfs_cli_toy_limit_notes(tf, notes)) return;
  for (int k = 0; k < 6; ++k)
    if (notes[k][0]) hfs_cli_error("warning: %s", notes[k]);
}

void hfs_cli_toy_limit_json(json_t *obj, const hfs_toyfile *tf) {
  char notes[6][HFS_TOY_NOTE_LEN];
  hfs_cli_toy_limit_notes(tf, notes);
  json_object_set_new(obj, "obs_note", notes[0][0] ? json_string(notes[0]) : json_null());
  json_t *e = json_array();
  for (int k = 1; k < 6; ++k)
    json_array_append_new(e, notes[k][0] ? json_string(notes[k]) : json_null());
  json_object_set_new(obj, "exp_notes", e);
}

int hfs_cli_toy_limit_h5(const char *path, const hfs_toyfile *tf) {
  int rc = HFS_OK;
  hfs_h5 *h5 = NULL;
  char notes[6][HFS_TOY_NOTE_LEN];
  if (!hfs_cli_toy_limit_notes(tf, notes)) return HFS_OK;
  char all[6 * HFS_TOY_NOTE_LEN + 8];
  size_t l = 0;
  all[0] = '\0';
  for (int k = 0; k < 6; ++k)
    if (notes[k][0]) l += snprintf(all + l, sizeof all - l, "%s%s", l ? "\n" : "", notes[k]);
  HFS_CHECK(hfs_h5_open(path, 1, &h5));
  HFS_CHECK(hfs_h5_attr_str(h5, "/limit", "notes", all));
  HFS_CHECK(hfs_h5_close(&h5));
cleanup:
  hfs_h5_close(&h5);
  return rc;
}
