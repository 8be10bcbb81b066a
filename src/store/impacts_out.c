/* Writers and resume readers of ranking and scan results (docs/output.md). */
#include "hfs_error.h"
#include "hfs_impacts_out.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P(buf, grp, name) snprintf(buf, sizeof buf, "%s/%s", grp, name)

int hfs_store_write_run_identity(hfs_h5 *f, const hfs_run_info *in, int sessions) {
  int rc = HFS_OK;
  HFS_CHECK(hfs_store_write_run_info(f, in));
  HFS_CHECK(hfs_h5_attr_int(f, "/provenance", "sessions", sessions));
cleanup:
  return rc;
}

/* The unit table: one dataset per field of hfs_impact_fit, one row per
 * unit; the fit time is informational and lives under /provenance.  A unit
 * not done has status -1, zero counts and NaN values.  Files of earlier
 * versions lack cov_status (read as 0) and the times (read as NaN). */
typedef struct {
  const char *name;
  size_t offset;  /* in hfs_impact_fit */
  int is_int;     /* int32_t field, stored as int64; else double */
  int provenance; /* under /provenance/GROUP instead of GROUP/units */
  int optional;   /* may be absent when resuming */
  int64_t missing_int;
} unit_column;

static const unit_column unit_columns[] = {
    {"status", offsetof(hfs_impact_fit, status), 1, 0, 0, -1},
    {"cov_status", offsetof(hfs_impact_fit, cov_status), 1, 0, 1, 0},
    {"n_iter", offsetof(hfs_impact_fit, n_iter), 1, 0, 0, 0},
    {"n_eval", offsetof(hfs_impact_fit, n_eval), 1, 0, 0, 0},
    {"value", offsetof(hfs_impact_fit, value), 0, 0, 0, 0},
    {"poi", offsetof(hfs_impact_fit, poi), 0, 0, 0, 0},
    {"poi_error", offsetof(hfs_impact_fit, poi_error), 0, 0, 0, 0},
    {"twice_nll", offsetof(hfs_impact_fit, twice_nll), 0, 0, 0, 0},
    {"unit_time_s", offsetof(hfs_impact_fit, time_s), 0, 1, 1, 0},
};
#define N_UNIT_COLUMNS (sizeof unit_columns / sizeof unit_columns[0])

static void column_path(char *buf, size_t n, const unit_column *c, const char *g,
                        const char *prov) {
  if (c->provenance)
    snprintf(buf, n, "%s/%s", prov, c->name);
  else
    snprintf(buf, n, "%s/units/%s", g, c->name);
}

static int write_units(hfs_h5 *f, const char *g, const char *prov, int64_t n,
                       const hfs_impact_fit *(*get)(const void *, int64_t), const void *ctx) {
  int rc = HFS_OK;
  char p[512];
  int64_t *ints = NULL, d[1] = {n};
  double *reals = NULL;
  HFS_ALLOC(ints, n);
  HFS_ALLOC(reals, n);
  for (int64_t u = 0; u < n; ++u) ints[u] = get(ctx, u) != NULL;
  P(p, g, "units/done");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, ints));
  for (size_t c = 0; c < N_UNIT_COLUMNS; ++c) {
    const unit_column *col = &unit_columns[c];
    for (int64_t u = 0; u < n; ++u) {
      const char *x = (const char *)get(ctx, u);
      if (col->is_int) {
        int32_t v;
        if (x) memcpy(&v, x + col->offset, sizeof v);
        ints[u] = x ? v : col->missing_int;
      } else {
        double v = NAN;
        if (x) memcpy(&v, x + col->offset, sizeof v);
        reals[u] = v;
      }
    }
    column_path(p, sizeof p, col, g, prov);
    HFS_CHECK(col->is_int ? hfs_h5_write_int(f, p, 1, d, ints)
                          : hfs_h5_write_double(f, p, 1, d, reals));
  }
cleanup:
  free(ints);
  free(reals);
  return rc;
}

static const hfs_impact_fit *ranking_get(const void *ctx, int64_t u) {
  return hfs_ranking_unit(ctx, u);
}
/* The units as run (the checkpoint); the curves below carry the repairs. */
static const hfs_impact_fit *scan_get(const void *ctx, int64_t u) {
  return hfs_scan_raw_unit(ctx, u);
}

/* "/ranking" -> "/provenance/ranking" */
static void prov_path(char *buf, size_t n, const char *group) {
  snprintf(buf, n, "/provenance%s%s", group[0] == '/' ? "" : "/", group);
}

static int write_ranking_results(hfs_h5 *f, const char *g, hfs_ranking *r, hfs_model *m) {
  int rc = HFS_OK;
  char p[512];
  int n = hfs_ranking_nranked(r), G = hfs_ranking_ngroups(r), npar = hfs_model_npar(m);
  const char **names = NULL, **types = NULL, **gnames = NULL, **gpat = NULL;
  int64_t *idx = NULL, *status = NULL, *order = NULL, *rank = NULL, *nfail = NULL;
  int64_t *gn = NULL, *gst = NULL, *gmem = NULL;
  double *cols[8] = {0};
  double *held = NULL, *imp = NULL, *gerr = NULL, *gimp = NULL;
  enum { C_THETA0, C_WIDTH, C_VALUE, C_ERROR, C_PULL, C_CONSTR, C_KEY, NCOL };
  static const char *const cname[NCOL] = {"theta0", "prefit_width", "value",   "error",
                                          "pull",   "constraint",   "rank_key"};
  HFS_ALLOC(names, n);
  HFS_ALLOC(types, n);
  HFS_ALLOC(idx, n);
  HFS_ALLOC(status, 4 * (int64_t)n);
  HFS_ALLOC(order, n);
  HFS_ALLOC(rank, n);
  HFS_ALLOC(nfail, n);
  HFS_ALLOC(held, 4 * (int64_t)n);
  HFS_ALLOC(imp, 4 * (int64_t)n);
  for (int c = 0; c < NCOL; ++c) HFS_ALLOC(cols[c], n);
  const int *ord = hfs_ranking_order(r);
  for (int k = 0; k < n; ++k) {
    const hfs_ranking_entry *e = hfs_ranking_entry_at(r, k);
    names[k] = e->name;
    types[k] = hfs_modtype_name(hfs_model_par_type(m, e->par));
    idx[k] = e->par;
    nfail[k] = e->nfailed;
    cols[C_THETA0][k] = e->theta0;
    cols[C_WIDTH][k] = e->prefit_width;
    cols[C_VALUE][k] = e->value;
    cols[C_ERROR][k] = e->error;
    cols[C_PULL][k] = e->pull;
    cols[C_CONSTR][k] = e->constraint;
    cols[C_KEY][k] = e->rank_key;
    for (int j = 0; j < HFS_IMPACT_NFITS; ++j) {
      held[4 * k + j] = e->held_at[j];
      imp[4 * k + j] = e->impact[j];
      status[4 * k + j] = e->status[j];
    }
    order[k] = ord[k];
    rank[ord[k]] = k;
  }
  int64_t d[2] = {n, 4};
  P(p, g, "parameters/name");
  HFS_CHECK(hfs_h5_write_strings(f, p, n, names));
  P(p, g, "parameters/type");
  HFS_CHECK(hfs_h5_write_strings(f, p, n, types));
  P(p, g, "parameters/index");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, idx));
  P(p, g, "parameters/n_failed");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, nfail));
  for (int c = 0; c < NCOL; ++c) {
    char q[128];
    snprintf(q, sizeof q, "parameters/%s", cname[c]);
    P(p, g, q);
    HFS_CHECK(hfs_h5_write_double(f, p, 1, d, cols[c]));
  }
  P(p, g, "parameters/held_at");
  HFS_CHECK(hfs_h5_write_double(f, p, 2, d, held));
  P(p, g, "parameters/impact");
  HFS_CHECK(hfs_h5_write_double(f, p, 2, d, imp));
  HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "prefit_up,prefit_down,postfit_up,postfit_down"));
  P(p, g, "parameters/status");
  HFS_CHECK(hfs_h5_write_int(f, p, 2, d, status));
  HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "prefit_up,prefit_down,postfit_up,postfit_down"));
  P(p, g, "parameters/rank");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, rank));
  P(p, g, "order");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, order));

  HFS_ALLOC(gnames, G);
  HFS_ALLOC(gpat, G);
  HFS_ALLOC(gn, G);
  HFS_ALLOC(gst, G);
  HFS_ALLOC(gerr, G);
  HFS_ALLOC(gimp, G);
  HFS_ALLOC(gmem, (int64_t)G * npar);
  for (int k = 0; k < G; ++k) {
    const hfs_ranking_group *x = hfs_ranking_group_at(r, k);
    const int *mem = hfs_ranking_group_members(r, k);
    gnames[k] = x->name;
    gpat[k] = x->pattern;
    gn[k] = x->nmembers;
    gst[k] = x->status;
    gerr[k] = x->poi_error;
    gimp[k] = x->impact;
    for (int i = 0; i < npar; ++i) gmem[(int64_t)k * npar + i] = mem[i] != 0;
  }
  int64_t dg[2] = {G, npar};
  P(p, g, "groups/name");
  HFS_CHECK(hfs_h5_write_strings(f, p, G, gnames));
  P(p, g, "groups/pattern");
  HFS_CHECK(hfs_h5_write_strings(f, p, G, gpat));
  P(p, g, "groups/n_members");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, dg, gn));
  P(p, g, "groups/status");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, dg, gst));
  P(p, g, "groups/poi_error");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dg, gerr));
  P(p, g, "groups/impact");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dg, gimp));
  P(p, g, "groups/members");
  HFS_CHECK(hfs_h5_write_int(f, p, 2, dg, gmem));
cleanup:
  free(names);
  free(types);
  free(idx);
  free(status);
  free(order);
  free(rank);
  free(nfail);
  free(held);
  free(imp);
  for (int c = 0; c < NCOL; ++c) free(cols[c]);
  free(gnames);
  free(gpat);
  free(gn);
  free(gst);
  free(gerr);
  free(gimp);
  free(gmem);
  return rc;
}

int hfs_store_write_ranking(hfs_h5 *f, const char *g, hfs_ranking *r, hfs_model *m,
                            const int *fixed, const char *options) {
  int rc = HFS_OK;
  char p[512], prov[256];
  int64_t nu = hfs_ranking_nunits(r), n = hfs_ranking_nranked(r);
  int64_t *kind = NULL, *par = NULL, *grp = NULL;
  const hfs_fit_result *ff = hfs_ranking_free_fit(r);
  int poi = hfs_model_poi(m);
  int complete = hfs_ranking_order(r) != NULL;
  prov_path(prov, sizeof prov, g);
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_str(f, g, "poi", hfs_model_par_name(m, poi)));
  HFS_CHECK(hfs_h5_attr_double(f, g, "poi_hat", ff->theta[poi]));
  HFS_CHECK(hfs_h5_attr_double(f, g, "poi_error", ff->has_errors ? ff->error[poi] : NAN));
  HFS_CHECK(
      hfs_h5_attr_double(f, g, "poi_error_hessian", ff->has_errors ? ff->error_hessian[poi] : NAN));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_ranked", n));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_groups", hfs_ranking_ngroups(r)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_units", nu));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_done", hfs_ranking_ndone(r)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "complete", complete));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_failed_fits", hfs_ranking_nfailed(r)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_posdef_fits", hfs_ranking_nposdef(r)));
  if (options) HFS_CHECK(hfs_h5_attr_str(f, g, "options", options));
  P(p, g, "free_fit");
  HFS_CHECK(hfs_store_write_fit(f, p, m, ff, fixed));
  HFS_CHECK(write_units(f, g, prov, nu, ranking_get, r));
  HFS_ALLOC(kind, nu);
  HFS_ALLOC(par, nu);
  HFS_ALLOC(grp, nu);
  for (int64_t u = 0; u < nu; ++u) {
    int k, kd, gg;
    hfs_ranking_unit_info(r, u, &k, &kd, &gg);
    kind[u] = kd;
    par[u] = k;
    grp[u] = gg;
  }
  int64_t d[1] = {nu};
  P(p, g, "units/parameter");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, par));
  P(p, g, "units/kind");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, kind));
  HFS_CHECK(hfs_h5_attr_str(f, p, "values",
                            "0 prefit_up, 1 prefit_down, 2 postfit_up, "
                            "3 postfit_down, -1 group fit"));
  P(p, g, "units/group");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, d, grp));
  if (complete) HFS_CHECK(write_ranking_results(f, g, r, m));
cleanup:
  free(kind);
  free(par);
  free(grp);
  return rc;
}

int hfs_store_write_scan(hfs_h5 *f, const char *g, hfs_scan *s, hfs_model *m, const int *fixed,
                         const char *options) {
  int rc = HFS_OK;
  char p[512], prov[256];
  int n = hfs_scan_npoints(s), L = hfs_scan_nintervals(s), X = hfs_scan_nextra(s);
  int64_t nu = hfs_scan_nunits(s);
  const hfs_fit_result *ff = hfs_scan_free_fit(s);
  int poi = hfs_model_poi(m);
  double *dnll = NULL, *lv = NULL, *lo = NULL, *hi = NULL, *dn = NULL, *up = NULL;
  double *sdn = NULL, *sup = NULL, *xmu = NULL, *xd = NULL, *xt = NULL;
  int64_t *st = NULL, *lob = NULL, *hib = NULL, *nf = NULL, *nfl = NULL, *xc = NULL;
  int64_t *xst = NULL, *xit = NULL, *xev = NULL;
  prov_path(prov, sizeof prov, g);
  HFS_CHECK(hfs_h5_group(f, g));
  HFS_CHECK(hfs_h5_attr_str(f, g, "poi", hfs_model_par_name(m, poi)));
  HFS_CHECK(hfs_h5_attr_double(f, g, "poi_hat", ff->theta[poi]));
  HFS_CHECK(hfs_h5_attr_double(f, g, "poi_error", ff->has_errors ? ff->error[poi] : NAN));
  HFS_CHECK(
      hfs_h5_attr_double(f, g, "poi_error_hessian", ff->has_errors ? ff->error_hessian[poi] : NAN));
  HFS_CHECK(hfs_h5_attr_double(f, g, "twice_nll_hat", ff->twice_nll));
  HFS_CHECK(hfs_h5_attr_double(f, g, "poi_lo", hfs_model_par_lo(m, poi)));
  HFS_CHECK(hfs_h5_attr_double(f, g, "poi_hi", hfs_model_par_hi(m, poi)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_points", n));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_units", nu));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_done", hfs_scan_ndone(s)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "complete", L > 0));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_failed_fits", hfs_scan_nfailed(s)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_posdef_fits", hfs_scan_nposdef(s)));
  HFS_CHECK(hfs_h5_attr_int(f, g, "n_repairs", hfs_scan_nrepairs(s)));
  if (options) HFS_CHECK(hfs_h5_attr_str(f, g, "options", options));
  P(p, g, "free_fit");
  HFS_CHECK(hfs_store_write_fit(f, p, m, ff, fixed));
  HFS_CHECK(write_units(f, g, prov, nu, scan_get, s));

  /* The grid as curves: 2 delta NLL and status per point and curve. */
  HFS_ALLOC(dnll, 2 * (int64_t)n);
  HFS_ALLOC(st, 2 * (int64_t)n);
  for (int k = 0; k < n; ++k)
    for (int c = 0; c < HFS_SCAN_NCURVES; ++c) {
      const hfs_impact_fit *x = hfs_scan_unit(s, (int64_t)c * n + k);
      dnll[2 * k + c] = x ? hfs_scan_dnll(s, x) : NAN;
      st[2 * k + c] = x ? x->status : -1;
    }
  int64_t d[2] = {n, 2};
  P(p, g, "points/mu");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, d, hfs_scan_grid(s)));
  P(p, g, "points/dnll");
  HFS_CHECK(hfs_h5_write_double(f, p, 2, d, dnll));
  HFS_CHECK(hfs_h5_attr_str(f, p, "quantity", HFS_STORE_DNLL_NAME));
  HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "total,stat"));
  HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "total,stat"));
  P(p, g, "points/status");
  HFS_CHECK(hfs_h5_write_int(f, p, 2, d, st));
  HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "total,stat"));
  if (L == 0) goto cleanup;

  HFS_ALLOC(lv, L);
  HFS_ALLOC(sdn, L);
  HFS_ALLOC(sup, L);
  HFS_ALLOC(lo, 2 * L);
  HFS_ALLOC(hi, 2 * L);
  HFS_ALLOC(dn, 2 * L);
  HFS_ALLOC(up, 2 * L);
  HFS_ALLOC(lob, 2 * L);
  HFS_ALLOC(hib, 2 * L);
  HFS_ALLOC(nf, 2 * L);
  HFS_ALLOC(nfl, 2 * L);
  for (int l = 0; l < L; ++l) {
    const hfs_scan_interval *iv = hfs_scan_interval_at(s, l);
    lv[l] = iv->level;
    sdn[l] = iv->syst_dn;
    sup[l] = iv->syst_up;
    for (int c = 0; c < HFS_SCAN_NCURVES; ++c) {
      const hfs_scan_crossing *x = &iv->curve[c];
      lo[2 * l + c] = x->lo;
      hi[2 * l + c] = x->hi;
      dn[2 * l + c] = x->dn;
      up[2 * l + c] = x->up;
      lob[2 * l + c] = x->lo_at_bound;
      hib[2 * l + c] = x->hi_at_bound;
      nf[2 * l + c] = x->nfits;
      nfl[2 * l + c] = x->nfailed;
    }
  }
  int64_t dl[2] = {L, 2};
  struct {
    const char *name;
    double *v;
  } dv[] = {{"lo", lo}, {"hi", hi}, {"dn", dn}, {"up", up}};
  struct {
    const char *name;
    int64_t *v;
  } iv[] = {{"lo_at_bound", lob}, {"hi_at_bound", hib}, {"n_fits", nf}, {"n_failed", nfl}};
  P(p, g, "intervals/level");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dl, lv));
  P(p, g, "intervals/syst_dn");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dl, sdn));
  P(p, g, "intervals/syst_up");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dl, sup));
  for (size_t j = 0; j < sizeof dv / sizeof dv[0]; ++j) {
    char q[128];
    snprintf(q, sizeof q, "intervals/%s", dv[j].name);
    P(p, g, q);
    HFS_CHECK(hfs_h5_write_double(f, p, 2, dl, dv[j].v));
    HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "total,stat"));
  }
  for (size_t j = 0; j < sizeof iv / sizeof iv[0]; ++j) {
    char q[128];
    snprintf(q, sizeof q, "intervals/%s", iv[j].name);
    P(p, g, q);
    HFS_CHECK(hfs_h5_write_int(f, p, 2, dl, iv[j].v));
    HFS_CHECK(hfs_h5_attr_str(f, p, "columns", "total,stat"));
  }

  /* The extra fits of the root searches, in the order they were made. */
  HFS_ALLOC(xc, X);
  HFS_ALLOC(xst, X);
  HFS_ALLOC(xit, X);
  HFS_ALLOC(xev, X);
  HFS_ALLOC(xmu, X);
  HFS_ALLOC(xd, X);
  HFS_ALLOC(xt, X);
  for (int i = 0; i < X; ++i) {
    int c;
    const hfs_impact_fit *x;
    hfs_scan_extra_at(s, i, &c, &x);
    xc[i] = c;
    xst[i] = x->status;
    xit[i] = x->n_iter;
    xev[i] = x->n_eval;
    xmu[i] = x->value;
    xd[i] = hfs_scan_dnll(s, x);
    xt[i] = x->time_s;
  }
  int64_t dx[1] = {X};
  P(p, g, "crossing_fits/curve");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, dx, xc));
  HFS_CHECK(hfs_h5_attr_str(f, p, "values", "0 total, 1 stat"));
  P(p, g, "crossing_fits/mu");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dx, xmu));
  P(p, g, "crossing_fits/dnll");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dx, xd));
  HFS_CHECK(hfs_h5_attr_str(f, p, "quantity", HFS_STORE_DNLL_NAME));
  P(p, g, "crossing_fits/status");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, dx, xst));
  P(p, g, "crossing_fits/n_iter");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, dx, xit));
  P(p, g, "crossing_fits/n_eval");
  HFS_CHECK(hfs_h5_write_int(f, p, 1, dx, xev));
  P(p, prov, "crossing_fit_time_s");
  HFS_CHECK(hfs_h5_write_double(f, p, 1, dx, xt));
cleanup:
  free(dnll);
  free(st);
  free(lv);
  free(sdn);
  free(sup);
  free(lo);
  free(hi);
  free(dn);
  free(up);
  free(lob);
  free(hib);
  free(nf);
  free(nfl);
  free(xc);
  free(xst);
  free(xit);
  free(xev);
  free(xmu);
  free(xd);
  free(xt);
  return rc;
}

int hfs_store_read_identity(hfs_h5 *f, const char *g, char sha256[65], char **options) {
  int rc = HFS_OK;
  size_t cap = 1 << 20;
  *options = NULL;
  HFS_ALLOC(*options, cap);
  if (hfs_h5_get_attr_str(f, g, "options", *options, cap) != HFS_OK)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: %s holds no resumable run", hfs_h5_path(f), g);
  if (hfs_h5_get_attr_str(f, "/", "workspace_sha256", sha256, 65) != HFS_OK)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: no workspace_sha256 attribute", hfs_h5_path(f));
cleanup:
  if (rc) {
    free(*options);
    *options = NULL;
  }
  return rc;
}

/* Read the unit table of /GROUP and hand each finished unit to store. */
static int resume_units(hfs_h5 *f, const char *g, int64_t n,
                        int (*store)(void *, int64_t, const hfs_impact_fit *), void *ctx) {
  int rc = HFS_OK;
  char p[512], prov[256];
  int64_t *done = NULL, *ints = NULL;
  double *reals = NULL;
  hfs_impact_fit *x = NULL;
  prov_path(prov, sizeof prov, g);
  HFS_ALLOC(done, n);
  HFS_ALLOC(ints, n);
  HFS_ALLOC(reals, n);
  HFS_ALLOC(x, n);
  P(p, g, "units/done");
  HFS_CHECK(hfs_h5_read_int(f, p, done, n));
  for (size_t c = 0; c < N_UNIT_COLUMNS; ++c) {
    const unit_column *col = &unit_columns[c];
    column_path(p, sizeof p, col, g, prov);
    int got = col->is_int ? hfs_h5_read_int(f, p, ints, n) : hfs_h5_read_double(f, p, reals, n);
    if (got != HFS_OK) {
      if (!col->optional) HFS_CHECK(got);
      hfs_error_clear();
      for (int64_t u = 0; u < n; ++u) {
        ints[u] = 0;
        reals[u] = NAN;
      }
    }
    for (int64_t u = 0; u < n; ++u) {
      char *dst = (char *)&x[u] + col->offset;
      if (col->is_int) {
        int32_t v = (int32_t)ints[u];
        memcpy(dst, &v, sizeof v);
      } else {
        memcpy(dst, &reals[u], sizeof reals[u]);
      }
    }
  }
  for (int64_t u = 0; u < n; ++u)
    if (done[u]) HFS_CHECK(store(ctx, u, &x[u]));
cleanup:
  free(done);
  free(ints);
  free(reals);
  free(x);
  return rc;
}

static int ranking_store(void *ctx, int64_t u, const hfs_impact_fit *x) {
  return hfs_ranking_store(ctx, u, x);
}
static int scan_store(void *ctx, int64_t u, const hfs_impact_fit *x) {
  return hfs_scan_store(ctx, u, x);
}

static int read_sessions(hfs_h5 *f, int *sessions) {
  int64_t v = 1;
  if (hfs_h5_get_attr_int(f, "/provenance", "sessions", &v) != HFS_OK) v = 1;
  *sessions = (int)v;
  return HFS_OK;
}

/* Shared by both kinds of file: the unit count must be this run's, then
 * every stored unit is handed to `store`. */
static int resume(hfs_h5 *f, const char *g, int64_t nunits,
                  int (*store)(void *, int64_t, const hfs_impact_fit *), void *ctx, int *sessions) {
  int rc = HFS_OK;
  int64_t nu = -1;
  if (hfs_h5_get_attr_int(f, g, "n_units", &nu) != HFS_OK || nu != nunits)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: %s has %lld units, this run %lld", hfs_h5_path(f), g,
             (long long)nu, (long long)nunits);
  HFS_CHECK(resume_units(f, g, nu, store, ctx));
  HFS_CHECK(read_sessions(f, sessions));
cleanup:
  return rc;
}

int hfs_store_resume_ranking(hfs_h5 *f, const char *g, hfs_ranking *r, int *sessions) {
  return resume(f, g, hfs_ranking_nunits(r), ranking_store, r, sessions);
}

int hfs_store_resume_scan(hfs_h5 *f, const char *g, hfs_scan *s, int *sessions) {
  return resume(f, g, hfs_scan_nunits(s), scan_store, s, sessions);
}
