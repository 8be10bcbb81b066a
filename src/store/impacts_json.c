/* The impacts file of CMS Combine's combineTool.py -M Impacts, which its
 * plotImpacts.py reads, from a finished ranking (hfs_diag_out.h). */
#include "hfs_error.h"
#include "hfs_store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* NaN (a failed fit) has no JSON form: null, which plotImpacts.py rejects
 * loudly rather than plotting a wrong number. */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *triple(double lo, double val, double hi) {
  json_t *a = json_array();
  json_array_append_new(a, num(lo));
  json_array_append_new(a, num(val));
  json_array_append_new(a, num(hi));
  return a;
}

int hfs_store_write_impacts_json(const char *path, const hfs_ranking *r, hfs_model *m) {
  int rc = HFS_OK;
  json_t *root = json_object(), *pois = json_array(), *params = json_array();
  const hfs_fit_result *free_fit = hfs_ranking_free_fit(r);
  int poi = hfs_model_poi(m);
  const char *poi_name = hfs_model_par_name(m, poi);
  double mu_hat = free_fit->theta[poi], mu_err = free_fit->has_errors ? free_fit->error[poi] : NAN;
  char key[300];
  json_t *p = json_object();
  json_object_set_new(p, "name", json_string(poi_name));
  json_object_set_new(p, "fit", triple(mu_hat - mu_err, mu_hat, mu_hat + mu_err));
  json_array_append_new(pois, p);
  const int *order = hfs_ranking_order(r);
  for (int k = 0; k < hfs_ranking_nranked(r); ++k) {
    const hfs_ranking_entry *e = hfs_ranking_entry_at(r, order[k]);
    json_t *q = json_object(), *groups = json_array();
    json_object_set_new(q, "name", json_string(e->name));
    json_object_set_new(
        q, "fit",
        triple(e->held_at[HFS_IMPACT_POSTFIT_DOWN], e->value, e->held_at[HFS_IMPACT_POSTFIT_UP]));
    json_object_set_new(
        q, "prefit", triple(e->theta0 - e->prefit_width, e->theta0, e->theta0 + e->prefit_width));
    double dn = e->impact[HFS_IMPACT_POSTFIT_DOWN], up = e->impact[HFS_IMPACT_POSTFIT_UP];
    json_object_set_new(q, poi_name, triple(mu_hat + dn, mu_hat, mu_hat + up));
    snprintf(key, sizeof key, "impact_%s", poi_name);
    json_object_set_new(q, key, num(fmax(fabs(dn), fabs(up))));
    json_object_set_new(
        q, "type",
        json_string(hfs_model_par_constraint(m, e->par) == HFS_CONSTR_POISSON ? "Poisson"
                                                                              : "Gaussian"));
    for (int g = 0; g < hfs_ranking_ngroups(r); ++g) {
      const hfs_ranking_group *G = hfs_ranking_group_at(r, g);
      /* "all" is hfscan's statistical-only fit, not a group of the analysis */
      if (!strcmp(G->name, "all")) continue;
      if (hfs_ranking_group_members(r, g)[e->par])
        json_array_append_new(groups, json_string(G->name));
    }
    json_object_set_new(q, "groups", groups);
    json_array_append_new(params, q);
  }
  json_object_set_new(root, "POIs", pois);
  json_object_set_new(root, "method", json_string("default"));
  json_object_set_new(root, "params", params);
  if (json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot write the impacts file", path);
cleanup:
  json_decref(root);
  return rc;
}
