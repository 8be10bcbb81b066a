/* Pulls, constraints, impacts and grouped impacts of nuisance parameters.
 *
 * Definitions (docs/ranking.md; the same as cabinetry and TRExFitter): the
 * free fit gives theta-hat and the Hessian uncertainties sigma-hat; for a
 * constrained parameter, the pull is (theta-hat - theta0) / w and the
 * constraint sigma-hat / w with w the prefit width; an impact is the change
 * of mu-hat when the parameter is held at a shifted value (clipped to its
 * bounds) and everything else is profiled again.  A grouped impact is
 * sqrt(sigma_mu^2 - sigma_mu,held^2) where sigma_mu,held comes from the
 * Hessian of the fit with the group held at its best-fit values. */
#include "hfs_error.h"
#include "hfs_impacts.h"
#include "impacts_internal.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hfs_impact_fit_names[HFS_IMPACT_NFITS] = {"prefit_up", "prefit_down",
                                                            "postfit_up", "postfit_down"};

typedef struct {
  char *name;
  char *pattern;
  int *members; /* npar flags */
  int nmembers;
} group_def;

struct hfs_ranking {
  hfs_infer *I;
  hfs_model *m;
  hfs_fitter *fitter;
  int npar, poi;
  const int *user_fixed;
  hfs_fit_result free_fit; /* with uncertainties */
  hfs_fit_result scratch;  /* with covariance storage for group units */
  int *fixed;              /* scratch mask */
  double *start;           /* scratch start point */
  int nranked;
  int *ranked; /* model indices of the ranked parameters */
  int ngroups;
  group_def *groups;
  int64_t nunits;
  hfs_impact_fit *units;
  unsigned char *done;
  int64_t ndone;
  int started; /* a unit was run or stored: groups are frozen */
  int finished;
  hfs_ranking_entry *entries;
  int *order;
  hfs_ranking_group *group_res;
};

int hfs_ranking_create(hfs_infer *I, hfs_ranking **out) {
  int rc = HFS_OK;
  hfs_ranking *r = NULL;
  if (!I || !out) HFS_FAIL(HFS_ERR_ARG, "hfs_ranking_create: bad arguments");
  *out = NULL;
  HFS_ALLOC(r, 1);
  r->I = I;
  r->m = hfs_infer_model(I);
  r->fitter = hfs_infer_fitter(I);
  r->npar = hfs_model_npar(r->m);
  r->poi = hfs_model_poi(r->m);
  r->user_fixed = hfs_infer_fixed(I);
  /* Impacts are shifts of the fitted POI: with the POI held they are all zero by construction,
   * which would read as "no systematic matters" (the scan refuses the same way). */
  if (r->user_fixed[r->poi])
    HFS_FAIL(HFS_ERR_ARG, "ranking: the POI %s is held fixed; impacts on it need it free",
             hfs_model_par_name(r->m, r->poi));
  HFS_CHECK(hfs_fit_result_init(&r->free_fit, r->npar, 1));
  HFS_CHECK(hfs_fit_result_init(&r->scratch, r->npar, 1));
  HFS_ALLOC(r->fixed, r->npar);
  HFS_ALLOC(r->start, r->npar);
  HFS_ALLOC(r->ranked, r->npar);
  for (int i = 0; i < r->npar; ++i)
    if (i != r->poi && !r->user_fixed[i] && hfs_model_par_constraint(r->m, i) != HFS_CONSTR_NONE)
      r->ranked[r->nranked++] = i;
  r->nunits = 4 * (int64_t)r->nranked;
  HFS_ALLOC(r->units, r->nunits);
  HFS_ALLOC(r->done, r->nunits);
  HFS_CHECK(hfs__impact_free_fit(I, &r->free_fit));
  *out = r;
  r = NULL;
cleanup:
  hfs_ranking_destroy(&r);
  return rc;
}

void hfs_ranking_destroy(hfs_ranking **rp) {
  if (!rp || !*rp) return;
  hfs_ranking *r = *rp;
  hfs_fit_result_free(&r->free_fit);
  hfs_fit_result_free(&r->scratch);
  free(r->fixed);
  free(r->start);
  free(r->ranked);
  for (int g = 0; g < r->ngroups; ++g) {
    free(r->groups[g].name);
    free(r->groups[g].pattern);
    free(r->groups[g].members);
  }
  free(r->groups);
  free(r->units);
  free(r->done);
  free(r->entries);
  free(r->order);
  free(r->group_res);
  free(r);
  *rp = NULL;
}

/* Name of the modifier behind a parameter: "gam" for "gam[3]". */
static size_t base_length(const char *name) {
  size_t n = strlen(name);
  if (n > 0 && name[n - 1] == ']') {
    const char *b = strrchr(name, '[');
    if (b) return (size_t)(b - name);
  }
  return n;
}

/* Split a group pattern at commas that are not inside brackets, braces or
 * parentheses (a regular expression may contain "{1,3}"), honouring
 * backslash escapes.  Returns the length of the first item. */
static size_t item_length(const char *p) {
  int depth = 0;
  size_t i = 0;
  for (; p[i]; ++i) {
    if (p[i] == '\\' && p[i + 1]) {
      ++i;
      continue;
    }
    if (p[i] == '[' || p[i] == '{' || p[i] == '(')
      depth++;
    else if ((p[i] == ']' || p[i] == '}' || p[i] == ')') && depth > 0)
      depth--;
    else if (p[i] == ',' && depth == 0)
      break;
  }
  return i;
}

/* Mark the parameters an item selects; returns how many it selects (some
 * may have been selected by earlier items already), -1 without memory. */
static int match_item(hfs_ranking *r, const char *item, int *members, int *bad_regex, char *err,
                      size_t nerr) {
  regex_t re;
  int count = 0;
  /* grep -E semantics: the expression may match anywhere ("^norm_" for a
   * prefix, "jes$" for a suffix). */
  int have_re = regcomp(&re, item, REG_EXTENDED | REG_NOSUB);
  if (have_re != 0) {
    regerror(have_re, &re, err, nerr);
    *bad_regex = 1;
  }
  /* An item that names a parameter or a modifier is taken literally, so
   * that "gam[2]" is that bin and "jes" is not also "jes_flavour". */
  char base[512];
  int exact = 0;
  for (int i = 0; i < r->npar && !exact; ++i) {
    const char *name = hfs_model_par_name(r->m, i);
    size_t bl = base_length(name);
    exact = !strcmp(item, name) || (strlen(item) == bl && !strncmp(item, name, bl));
  }
  for (int i = 0; i < r->npar; ++i) {
    if (i == r->poi || r->user_fixed[i]) continue;
    const char *name = hfs_model_par_name(r->m, i);
    size_t bl = base_length(name);
    if (bl >= sizeof base) bl = sizeof base - 1;
    memcpy(base, name, bl);
    base[bl] = '\0';
    /* The expression is tried on the modifier's name too, so that "err$"
     * also selects "sgn_err[5]". */
    int hit = exact ? !strcmp(item, name) || !strcmp(item, base)
                    : have_re == 0 && (regexec(&re, name, 0, NULL, 0) == 0 ||
                                       regexec(&re, base, 0, NULL, 0) == 0);
    if (hit) {
      count++;
      members[i] = 1;
    }
  }
  if (have_re == 0) regfree(&re);
  return count;
}

/* Append a group; takes ownership of members (npar flags) in every case. */
static int add_group_mask(hfs_ranking *r, const char *name, const char *pattern, int *members) {
  int rc = HFS_OK;
  int n = 0;
  for (int i = 0; i < r->npar; ++i) n += members[i] != 0;
  if (r->started)
    HFS_FAIL(HFS_ERR_ARG, "group '%s': groups must be added before any unit runs", name);
  for (int k = 0; k < r->ngroups; ++k)
    if (!strcmp(r->groups[k].name, name)) HFS_FAIL(HFS_ERR_ARG, "group '%s' given twice", name);
  if (n == 0) HFS_FAIL(HFS_ERR_ARG, "group '%s': selects no free parameter", name);
  group_def *gs = realloc(r->groups, sizeof *gs * (size_t)(r->ngroups + 1));
  if (!gs) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  r->groups = gs;
  hfs_impact_fit *u = realloc(r->units, sizeof *u * (size_t)(r->nunits + 1));
  if (!u) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  r->units = u;
  unsigned char *d = realloc(r->done, (size_t)(r->nunits + 1));
  if (!d) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  r->done = d;
  group_def *g = &r->groups[r->ngroups];
  g->name = strdup(name);
  g->pattern = strdup(pattern);
  if (!g->name || !g->pattern) {
    free(g->name);
    free(g->pattern);
    HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  }
  g->members = members;
  g->nmembers = n;
  members = NULL;
  r->ngroups++;
  memset(&r->units[r->nunits], 0, sizeof *u);
  r->done[r->nunits] = 0;
  r->nunits++;
cleanup:
  free(members);
  return rc;
}

int hfs_ranking_add_group(hfs_ranking *r, const char *name, const char *pattern) {
  int rc = HFS_OK;
  int *members = NULL;
  char *item = NULL;
  if (!name || !*name || !pattern || !*pattern)
    HFS_FAIL(HFS_ERR_ARG, "group: expected NAME=PATTERN with both parts non-empty");
  HFS_ALLOC(members, r->npar);
  HFS_ALLOC(item, strlen(pattern) + 1);
  for (const char *p = pattern; *p;) {
    size_t n = item_length(p);
    memcpy(item, p, n);
    item[n] = '\0';
    if (n == 0) HFS_FAIL(HFS_ERR_ARG, "group '%s': empty item in '%s'", name, pattern);
    int bad = 0;
    char err[256] = "";
    int c = match_item(r, item, members, &bad, err, sizeof err);
    if (c < 0) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
    if (c == 0 && bad)
      HFS_FAIL(HFS_ERR_ARG,
               "group '%s': '%s' is neither a parameter name nor a valid regular "
               "expression (%s)",
               name, item, err);
    if (c == 0)
      HFS_FAIL(HFS_ERR_ARG, "group '%s': '%s' matches no free nuisance parameter", name, item);
    p += n;
    if (*p == ',') ++p;
  }
  rc = add_group_mask(r, name, pattern, members);
  members = NULL;
cleanup:
  free(members);
  free(item);
  return rc;
}

int hfs_ranking_add_default_groups(hfs_ranking *r) {
  int rc = HFS_OK;
  int *members = NULL;
  for (int t = 0; t < HFS_MOD_NTYPES; ++t) {
    HFS_ALLOC(members, r->npar);
    int n = 0;
    for (int i = 0; i < r->npar; ++i)
      if (i != r->poi && !r->user_fixed[i] && (int)hfs_model_par_type(r->m, i) == t) {
        members[i] = 1;
        n++;
      }
    if (n == 0) {
      free(members);
      members = NULL;
      continue;
    }
    const char *tn = hfs_modtype_name((hfs_modtype)t);
    char pattern[64];
    snprintf(pattern, sizeof pattern, "type=%s", tn);
    rc = add_group_mask(r, tn, pattern, members);
    members = NULL;
    if (rc) goto cleanup;
  }
cleanup:
  free(members);
  return rc;
}

int hfs_ranking_add_all_group(hfs_ranking *r) {
  int rc = HFS_OK;
  int *members = NULL;
  int n = 0;
  HFS_ALLOC(members, r->npar);
  for (int i = 0; i < r->npar; ++i) n += members[i] = i != r->poi && !r->user_fixed[i];
  /* A model whose only free parameter is the POI has nothing to hold. */
  if (n == 0) goto cleanup;
  rc = add_group_mask(r, "all", "all free parameters but the POI", members);
  members = NULL;
cleanup:
  free(members);
  return rc;
}

const hfs_fit_result *hfs_ranking_free_fit(const hfs_ranking *r) { return &r->free_fit; }
int hfs_ranking_nranked(const hfs_ranking *r) { return r->nranked; }
int hfs_ranking_ngroups(const hfs_ranking *r) { return r->ngroups; }
const int *hfs_ranking_group_members(const hfs_ranking *r, int g) {
  return g >= 0 && g < r->ngroups ? r->groups[g].members : NULL;
}
int64_t hfs_ranking_nunits(const hfs_ranking *r) { return r->nunits; }

void hfs_ranking_unit_info(const hfs_ranking *r, int64_t u, int *k, int *kind, int *g) {
  *k = *kind = *g = -1;
  if (u < 0 || u >= r->nunits) return;
  if (u < 4 * (int64_t)r->nranked) {
    *k = (int)(u / 4);
    *kind = (int)(u % 4);
  } else {
    *g = (int)(u - 4 * (int64_t)r->nranked);
  }
}

/* Where fit `kind` holds ranked parameter k: theta-hat shifted by the
 * prefit or postfit width, clipped to the parameter's bounds. */
static double held_value(const hfs_ranking *r, int k, int kind) {
  int i = r->ranked[k];
  double theta = r->free_fit.theta[i];
  double w = kind <= HFS_IMPACT_PREFIT_DOWN ? hfs_model_par_prefit_width(r->m, i)
                                            : (r->free_fit.has_errors ? r->free_fit.error[i] : NAN);
  double sign = kind == HFS_IMPACT_PREFIT_UP || kind == HFS_IMPACT_POSTFIT_UP ? 1 : -1;
  double v = theta + sign * w;
  double lo = hfs_model_par_lo(r->m, i), hi = hfs_model_par_hi(r->m, i);
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return v;
}

int hfs_ranking_run(hfs_ranking *r, int64_t u, hfs_impact_fit *out) {
  int rc = HFS_OK;
  int k, kind, g;
  if (u < 0 || u >= r->nunits)
    HFS_FAIL(HFS_ERR_ARG, "ranking: unit %lld outside [0, %lld)", (long long)u,
             (long long)r->nunits);
  r->started = 1;
  hfs_ranking_unit_info(r, u, &k, &kind, &g);
  memcpy(r->fixed, r->user_fixed, sizeof(int) * (size_t)r->npar);
  hfs__impact_start_from(r->m, r->free_fit.theta, r->npar, r->start);
  if (g < 0) {
    int i = r->ranked[k];
    double v = held_value(r, k, kind);
    if (!isfinite(v)) {
      /* Without a postfit uncertainty (Hessian failed) there is no point to
       * hold the parameter at; the unit records why. */
      memset(out, 0, sizeof *out);
      out->status = HFS_FIT_HESSE_FAILED;
      out->value = out->poi = out->poi_error = out->twice_nll = NAN;
      return HFS_OK;
    }
    r->fixed[i] = 1;
    r->start[i] = v;
    HFS_CHECK(hfs_infer_minimize(r->I, NULL, NULL, r->start, r->fixed, NULL, 0, 0, &r->scratch));
    hfs__impact_fill(&r->scratch, r->poi, v, out);
  } else {
    const int *mem = r->groups[g].members;
    for (int i = 0; i < r->npar; ++i)
      if (mem[i]) r->fixed[i] = 1;
    HFS_CHECK(hfs_infer_minimize(r->I, NULL, NULL, r->start, r->fixed, NULL, 0, 1, &r->scratch));
    hfs__impact_fill(&r->scratch, r->poi, NAN, out);
    /* The Hessian error: the grouped impact is a Schur complement of the
     * Hessian, which MINUIT's convention for bounded parameters would blur. */
    out->poi_error = r->scratch.has_errors ? r->scratch.error_hessian[r->poi] : NAN;
  }
cleanup:
  return rc;
}

int hfs_ranking_store(hfs_ranking *r, int64_t u, const hfs_impact_fit *res) {
  if (u < 0 || u >= r->nunits)
    return hfs_error_set(HFS_ERR_ARG, "ranking: unit %lld outside [0, %lld)", (long long)u,
                         (long long)r->nunits);
  r->started = 1;
  r->units[u] = *res;
  if (!r->done[u]) r->ndone++;
  r->done[u] = 1;
  r->finished = 0;
  return HFS_OK;
}

const hfs_impact_fit *hfs_ranking_unit(const hfs_ranking *r, int64_t u) {
  return u >= 0 && u < r->nunits && r->done[u] ? &r->units[u] : NULL;
}
int64_t hfs_ranking_ndone(const hfs_ranking *r) { return r->ndone; }

/* Larger key first; NaN last; ties in model order.  Entries are sorted
 * through pointers, so the comparator needs no global. */
static int cmp_rank(const void *a, const void *b) {
  const hfs_ranking_entry *x = *(const hfs_ranking_entry *const *)a;
  const hfs_ranking_entry *y = *(const hfs_ranking_entry *const *)b;
  int xn = isnan(x->rank_key), yn = isnan(y->rank_key);
  if (xn != yn) return xn - yn;
  if (!xn && x->rank_key != y->rank_key) return x->rank_key > y->rank_key ? -1 : 1;
  return x->par - y->par;
}

int hfs_ranking_finish(hfs_ranking *r) {
  int rc = HFS_OK;
  const hfs_ranking_entry **sorted = NULL;
  if (r->ndone != r->nunits)
    HFS_FAIL(HFS_ERR_ARG, "ranking: %lld of %lld units done", (long long)r->ndone,
             (long long)r->nunits);
  if (!r->entries) HFS_ALLOC(r->entries, r->nranked);
  if (!r->order) HFS_ALLOC(r->order, r->nranked);
  free(r->group_res);
  r->group_res = NULL;
  HFS_ALLOC(r->group_res, r->ngroups);
  const hfs_fit_result *ff = &r->free_fit;
  double mu_hat = ff->theta[r->poi];
  for (int k = 0; k < r->nranked; ++k) {
    hfs_ranking_entry *e = &r->entries[k];
    int i = r->ranked[k];
    memset(e, 0, sizeof *e);
    e->par = i;
    e->name = hfs_model_par_name(r->m, i);
    e->theta0 = hfs_infer_init(r->I)[i];
    e->prefit_width = hfs_model_par_prefit_width(r->m, i);
    e->value = ff->theta[i];
    e->error = ff->has_errors ? ff->error[i] : NAN;
    e->pull = (e->value - e->theta0) / e->prefit_width;
    e->constraint = e->error / e->prefit_width;
    e->rank_key = NAN;
    for (int f = 0; f < HFS_IMPACT_NFITS; ++f) {
      const hfs_impact_fit *u = &r->units[4 * k + f];
      e->held_at[f] = u->value;
      e->impact[f] = u->poi - mu_hat;
      e->status[f] = u->status;
      e->nfailed += u->status != HFS_FIT_CONVERGED;
    }
    double a = fabs(e->impact[HFS_IMPACT_POSTFIT_UP]), b = fabs(e->impact[HFS_IMPACT_POSTFIT_DOWN]);
    if (isnan(a)) a = b;
    if (isnan(b)) b = a;
    e->rank_key = a > b ? a : b;
    r->order[k] = k;
  }
  HFS_ALLOC(sorted, r->nranked);
  for (int k = 0; k < r->nranked; ++k) sorted[k] = &r->entries[k];
  qsort(sorted, (size_t)r->nranked, sizeof *sorted, cmp_rank);
  for (int k = 0; k < r->nranked; ++k) r->order[k] = (int)(sorted[k] - r->entries);
  double s_tot = ff->has_errors ? ff->error_hessian[r->poi] : NAN;
  for (int g = 0; g < r->ngroups; ++g) {
    hfs_ranking_group *G = &r->group_res[g];
    const hfs_impact_fit *u = &r->units[4 * (int64_t)r->nranked + g];
    G->name = r->groups[g].name;
    G->pattern = r->groups[g].pattern;
    G->nmembers = r->groups[g].nmembers;
    G->poi_error = u->poi_error;
    G->status = u->status;
    double d = s_tot * s_tot - u->poi_error * u->poi_error;
    G->impact = isnan(d) ? NAN : d > 0 ? sqrt(d) : 0;
  }
  r->finished = 1;
cleanup:
  free(sorted);
  return rc;
}

const hfs_ranking_entry *hfs_ranking_entry_at(const hfs_ranking *r, int k) {
  return r->finished && k >= 0 && k < r->nranked ? &r->entries[k] : NULL;
}
const int *hfs_ranking_order(const hfs_ranking *r) { return r->finished ? r->order : NULL; }
const hfs_ranking_group *hfs_ranking_group_at(const hfs_ranking *r, int g) {
  return r->finished && g >= 0 && g < r->ngroups ? &r->group_res[g] : NULL;
}

int hfs_ranking_nfailed(const hfs_ranking *r) {
  int n = r->free_fit.status != HFS_FIT_CONVERGED;
  for (int64_t u = 0; u < r->nunits; ++u)
    n += r->done[u] && r->units[u].status != HFS_FIT_CONVERGED;
  return n;
}

int hfs_ranking_nposdef(const hfs_ranking *r) {
  int n = r->free_fit.cov_status == HFS_COV_MADE_POSDEF;
  for (int64_t u = 0; u < r->nunits; ++u)
    n += r->done[u] && r->units[u].cov_status == HFS_COV_MADE_POSDEF;
  return n;
}
