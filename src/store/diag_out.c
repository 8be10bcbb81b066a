/* Writers of the diagnostics' results (hfs_diag_out.h). */
#include "hfs_error.h"
#include "hfs_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hfs_store_write_data_kind(hfs_h5 *f, const char *g, int asimov, double mu,
                              hfs_asimov_nuis nuis) {
  int rc = HFS_OK;
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_str(f, g, "data_kind", asimov ? "asimov" : "observed"));
  if (asimov) {
    HFS_CHECK(hfs_h5_attr_double(f, g, "asimov_mu", mu));
    HFS_CHECK(hfs_h5_attr_str(f, g, "asimov_nuisance", hfs_asimov_nuis_name(nuis)));
  }
cleanup:
  return rc;
}

int hfs_store_write_gof(hfs_h5 *f, const char *g, const hfs_gof *gof, const char *options,
                        uint64_t seed, const hfs_gof_toy *toys, const uint8_t *done, int64_t n,
                        const hfs_gof_pvalue *p) {
  int rc = HFS_OK;
  char path[512];
  double *t = NULL, *nll = NULL;
  int64_t *st = NULL, *dn = NULL;
  HFS_CHECK(hfs_h5_group(f, g));
  if (options) HFS_CHECK(hfs_h5_attr_str(f, g, "options", options));
  HFS_CHECK(hfs_h5_attr_double(f, g, "t_obs", gof->t));
  HFS_CHECK(hfs_h5_attr_int(f, g, "ndof", gof->ndof));
  HFS_CHECK(hfs_h5_attr_double(f, g, "p_asymptotic", gof->p_asymptotic));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll", gof->twice_nll));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll_saturated", gof->twice_nll_saturated));
  HFS_CHECK(hfs_h5_attr_str(f, g, "fit_status", hfs_fit_status_name(gof->fit.status)));
  if (n > 0) {
    HFS_ALLOC(t, n);
    HFS_ALLOC(nll, n);
    HFS_ALLOC(st, n);
    HFS_ALLOC(dn, n);
    for (int64_t i = 0; i < n; ++i) {
      dn[i] = !done || done[i];
      t[i] = dn[i] ? toys[i].t : NAN;
      nll[i] = dn[i] ? toys[i].twice_nll : NAN;
      st[i] = dn[i] ? toys[i].status : -1;
    }
    HFS_CHECK(hfs_h5_attr_int(f, g, "seed", (int64_t)seed));
    HFS_CHECK(hfs_h5_attr_int(f, g, "ntoys", n));
    if (p) {
      HFS_CHECK(hfs_h5_attr_double(f, g, "p_toys", p->p));
      HFS_CHECK(hfs_h5_attr_double(f, g, "p_toys_err", p->p_err));
      HFS_CHECK(hfs_h5_attr_int(f, g, "ntoys_used", p->nused));
      HFS_CHECK(hfs_h5_attr_int(f, g, "ntoys_failed", p->nfailed));
    }
    int64_t dims[2] = {n, 1};
    snprintf(path, sizeof path, "%s/toys/t", g);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, t));
    snprintf(path, sizeof path, "%s/toys/twice_nll", g);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, nll));
    snprintf(path, sizeof path, "%s/toys/status", g);
    HFS_CHECK(hfs_h5_write_int(f, path, 1, dims, st));
    snprintf(path, sizeof path, "%s/toys/done", g);
    HFS_CHECK(hfs_h5_write_int(f, path, 1, dims, dn));
  }
cleanup:
  free(t);
  free(nll);
  free(st);
  free(dn);
  return rc;
}

int hfs_store_read_gof_toys(hfs_h5 *f, const char *g, int64_t n, hfs_gof_toy *toys, uint8_t *done) {
  int rc = HFS_OK;
  char path[512];
  double *t = NULL, *nll = NULL;
  int64_t *st = NULL, *dn = NULL;
  HFS_ALLOC(t, n);
  HFS_ALLOC(nll, n);
  HFS_ALLOC(st, n);
  HFS_ALLOC(dn, n);
  snprintf(path, sizeof path, "%s/toys/done", g);
  if (hfs_h5_size(f, path) != n)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: %s holds no table of %lld toys", hfs_h5_path(f), path,
             (long long)n);
  HFS_CHECK(hfs_h5_read_int(f, path, dn, n));
  snprintf(path, sizeof path, "%s/toys/t", g);
  HFS_CHECK(hfs_h5_read_double(f, path, t, n));
  snprintf(path, sizeof path, "%s/toys/twice_nll", g);
  HFS_CHECK(hfs_h5_read_double(f, path, nll, n));
  snprintf(path, sizeof path, "%s/toys/status", g);
  HFS_CHECK(hfs_h5_read_int(f, path, st, n));
  for (int64_t i = 0; i < n; ++i) {
    done[i] = dn[i] != 0;
    memset(&toys[i], 0, sizeof toys[i]);
    toys[i].t = t[i];
    toys[i].twice_nll = nll[i];
    toys[i].status = (int32_t)st[i];
  }
cleanup:
  free(t);
  free(nll);
  free(st);
  free(dn);
  return rc;
}

int hfs_store_write_yields(hfs_h5 *f, const char *g, const hfs_yields *y) {
  int rc = HFS_OK;
  char path[512];
  const char **names = NULL;
  HFS_ALLOC(names, y->nchannels);
  for (int c = 0; c < y->nchannels; ++c) names[c] = y->ch[c].name;
  HFS_CHECK(hfs_h5_group(f, g));
  snprintf(path, sizeof path, "%s/channels", g);
  HFS_CHECK(hfs_h5_write_strings(f, path, y->nchannels, names));
  for (int c = 0; c < y->nchannels; ++c) {
    const hfs_yields_channel *ch = &y->ch[c];
    char grp[480];
    int64_t d2[2] = {ch->nsamples, ch->nbins}, db[2] = {ch->nbins, 1}, ds[2] = {ch->nsamples, 1};
    snprintf(grp, sizeof grp, "%s/%d", g, c);
    HFS_CHECK(hfs_h5_group(f, grp));
    HFS_CHECK(hfs_h5_attr_str(f, grp, "name", ch->name));
    HFS_CHECK(hfs_h5_attr_int(f, grp, "nbins", ch->nbins));
    HFS_CHECK(hfs_h5_attr_double(f, grp, "sum", ch->sum));
    HFS_CHECK(hfs_h5_attr_double(f, grp, "sum_uncertainty", ch->sum_unc));
    snprintf(path, sizeof path, "%s/samples", grp);
    HFS_CHECK(hfs_h5_write_strings(f, path, ch->nsamples, ch->sample_names));
    snprintf(path, sizeof path, "%s/yields", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 2, d2, ch->yields));
    snprintf(path, sizeof path, "%s/uncertainties", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 2, d2, ch->unc));
    snprintf(path, sizeof path, "%s/total", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, db, ch->total));
    snprintf(path, sizeof path, "%s/total_uncertainty", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, db, ch->total_unc));
    snprintf(path, sizeof path, "%s/data", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, db, ch->data));
    snprintf(path, sizeof path, "%s/integral", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, ds, ch->integral));
    snprintf(path, sizeof path, "%s/integral_uncertainty", grp);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, ds, ch->integral_unc));
  }
cleanup:
  free(names);
  return rc;
}

int hfs_store_write_prefit_widths(hfs_h5 *f, const char *g, hfs_model *m, const double *init) {
  int rc = HFS_OK;
  int n = hfs_model_npar(m);
  char path[512];
  double *w = NULL;
  int64_t dims[2] = {n, 1};
  HFS_ALLOC(w, n);
  for (int i = 0; i < n; ++i)
    w[i] = hfs_model_par_constraint(m, i) == HFS_CONSTR_NONE ? 0 : hfs_model_par_prefit_width(m, i);
  snprintf(path, sizeof path, "%s/parameters/init", g);
  HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, init));
  snprintf(path, sizeof path, "%s/parameters/prefit_width", g);
  HFS_CHECK(hfs_h5_write_double(f, path, 1, dims, w));
cleanup:
  free(w);
  return rc;
}

int hfs_store_write_pscan(hfs_h5 *f, const char *g, const hfs_pscan *s, const char *options,
                          const char *const *names, const hfs_pscan_point *res, const uint8_t *done,
                          const char *const *frozen, int nfrozen) {
  int rc = HFS_OK;
  char path[512], fz[2048];
  int nd = hfs_pscan_ndim(s), n0, n1 = 1;
  const double *a0 = hfs_pscan_axis(s, 0, &n0), *a1 = nd == 2 ? hfs_pscan_axis(s, 1, &n1) : NULL;
  int64_t n = (int64_t)n0 * n1;
  const hfs_fit_result *ff = hfs_pscan_free_fit(s);
  double *t = NULL, *d = NULL, *poi = NULL, best[2];
  int64_t *st = NULL, *ne = NULL, *ok = NULL;
  size_t l = 0;
  HFS_ALLOC(t, n);
  HFS_ALLOC(d, n);
  HFS_ALLOC(poi, n);
  HFS_ALLOC(st, n);
  HFS_ALLOC(ne, n);
  HFS_ALLOC(ok, n);
  for (int64_t u = 0; u < n; ++u) {
    ok[u] = !done || done[u];
    t[u] = ok[u] ? res[u].twice_nll : NAN;
    d[u] = ok[u] ? res[u].twice_nll - ff->twice_nll : NAN;
    poi[u] = ok[u] ? res[u].poi : NAN;
    st[u] = ok[u] ? res[u].status : -1;
    ne[u] = ok[u] ? res[u].n_eval : 0;
  }
  fz[0] = '\0';
  for (int k = 0; k < nfrozen && l < sizeof fz; ++k)
    l += snprintf(fz + l, sizeof fz - l, "%s%s", k ? "," : "", frozen[k]);
  HFS_CHECK(hfs_h5_group(f, g));
  if (options) HFS_CHECK(hfs_h5_attr_str(f, g, "options", options));
  HFS_CHECK(hfs_h5_attr_int(f, g, "ndim", nd));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll_free", ff->twice_nll));
  HFS_CHECK(hfs_h5_attr_str(f, g, "free_fit_status", hfs_fit_status_name(ff->status)));
  HFS_CHECK(hfs_h5_attr_str(f, g, "frozen_groups", fz));
  snprintf(path, sizeof path, "%s/parameters", g);
  HFS_CHECK(hfs_h5_write_strings(f, path, nd, names));
  for (int k = 0; k < nd; ++k) best[k] = ff->theta[hfs_pscan_par(s, k)];
  int64_t dn[2] = {nd, 1}, d0[2] = {n0, 1}, d1[2] = {n1, 1}, dg[2] = {n0, n1};
  snprintf(path, sizeof path, "%s/best_fit", g);
  HFS_CHECK(hfs_h5_write_double(f, path, 1, dn, best));
  int gr = nd == 2 ? 2 : 1;
  snprintf(path, sizeof path, "%s/axis0", g);
  HFS_CHECK(hfs_h5_write_double(f, path, 1, d0, a0));
  if (a1) {
    snprintf(path, sizeof path, "%s/axis1", g);
    HFS_CHECK(hfs_h5_write_double(f, path, 1, d1, a1));
  }
  snprintf(path, sizeof path, "%s/twice_nll", g);
  HFS_CHECK(hfs_h5_write_double(f, path, gr, dg, t));
  snprintf(path, sizeof path, "%s/dnll2", g);
  HFS_CHECK(hfs_h5_write_double(f, path, gr, dg, d));
  snprintf(path, sizeof path, "%s/poi", g);
  HFS_CHECK(hfs_h5_write_double(f, path, gr, dg, poi));
  snprintf(path, sizeof path, "%s/status", g);
  HFS_CHECK(hfs_h5_write_int(f, path, gr, dg, st));
  snprintf(path, sizeof path, "%s/n_eval", g);
  HFS_CHECK(hfs_h5_write_int(f, path, gr, dg, ne));
  snprintf(path, sizeof path, "%s/done", g);
  HFS_CHECK(hfs_h5_write_int(f, path, gr, dg, ok));
cleanup:
  free(t);
  free(d);
  free(poi);
  free(st);
  free(ne);
  free(ok);
  return rc;
}

int hfs_store_read_pscan_points(hfs_h5 *f, const char *g, const hfs_pscan *s, hfs_pscan_point *res,
                                uint8_t *done) {
  int rc = HFS_OK;
  char path[512];
  int n0, n1 = 1, nd = hfs_pscan_ndim(s);
  const double *a0 = hfs_pscan_axis(s, 0, &n0), *a1 = nd == 2 ? hfs_pscan_axis(s, 1, &n1) : NULL;
  int64_t n = (int64_t)n0 * n1;
  double *t = NULL, *poi = NULL;
  int64_t *st = NULL, *ne = NULL, *dn = NULL;
  HFS_ALLOC(t, n);
  HFS_ALLOC(poi, n);
  HFS_ALLOC(st, n);
  HFS_ALLOC(ne, n);
  HFS_ALLOC(dn, n);
  snprintf(path, sizeof path, "%s/done", g);
  if (hfs_h5_size(f, path) != n)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: %s holds no grid of %lld points", hfs_h5_path(f), path,
             (long long)n);
  HFS_CHECK(hfs_h5_read_int(f, path, dn, n));
  snprintf(path, sizeof path, "%s/twice_nll", g);
  HFS_CHECK(hfs_h5_read_double(f, path, t, n));
  snprintf(path, sizeof path, "%s/poi", g);
  HFS_CHECK(hfs_h5_read_double(f, path, poi, n));
  snprintf(path, sizeof path, "%s/status", g);
  HFS_CHECK(hfs_h5_read_int(f, path, st, n));
  snprintf(path, sizeof path, "%s/n_eval", g);
  HFS_CHECK(hfs_h5_read_int(f, path, ne, n));
  for (int64_t u = 0; u < n; ++u) {
    memset(&res[u], 0, sizeof res[u]);
    done[u] = dn[u] != 0;
    res[u].status = (int32_t)st[u];
    res[u].n_eval = (int32_t)ne[u];
    res[u].x = a0[u / n1];
    res[u].y = a1 ? a1[u % n1] : NAN;
    res[u].poi = poi[u];
    res[u].twice_nll = t[u];
    res[u].time_s = NAN;
  }
cleanup:
  free(t);
  free(poi);
  free(st);
  free(ne);
  free(dn);
  return rc;
}
