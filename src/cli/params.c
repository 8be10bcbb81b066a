/* --bounds, --set and --freeze, and the note for a POI at its bound
 * (docs/cli.md, "Parameter bounds, values and frozen parameters"). */
#include "params.h"
#include "cli.h"
#include "hfs_error.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *option_name(hfs_edit_kind k) {
  return k == HFS_EDIT_BOUNDS ? "--bounds" : k == HFS_EDIT_SET ? "--set" : "--freeze";
}

static int number(const char *s, size_t len, double *v) {
  char buf[64], *end;
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  *v = strtod(buf, &end);
  /* Bounds may be infinite ("inf"), values may not: checked by the caller. */
  return errno == 0 && end != buf && *end == '\0' && !isnan(*v);
}

static int push(hfs_cli_params *p, hfs_edit_kind kind, const char *name, size_t len, double lo,
                double hi, double value) {
  if (p->n == HFS_MAX_EDITS) {
    hfs_cli_error("%s: at most %d parameter edits in all", option_name(kind), HFS_MAX_EDITS);
    return 1;
  }
  hfs_cli_edit *e = &p->e[p->n];
  if (!(e->name = strndup(name, len))) {
    hfs_cli_error("out of memory");
    return 1;
  }
  e->kind = kind;
  e->lo = lo;
  e->hi = hi;
  e->value = value;
  p->n++;
  return 0;
}

int hfs_cli_params_add(hfs_cli_params *p, hfs_edit_kind kind, const char *arg) {
  if (kind == HFS_EDIT_FREEZE) {
    /* Commas inside {} belong to a regular expression (rgx{a{1,2}}). */
    const char *s = arg;
    while (1) {
      size_t len = 0;
      int depth = 0;
      for (; s[len] && !(s[len] == ',' && depth == 0); ++len)
        depth += s[len] == '{' ? 1 : s[len] == '}' && depth > 0 ? -1 : 0;
      if (len == 0) {
        hfs_cli_error("--freeze %s: empty name in the list", arg);
        return 1;
      }
      if (push(p, kind, s, len, 0, 0, 0)) return 1;
      if (!s[len]) return 0;
      s += len + 1;
    }
  }
  const char *eq = strchr(arg, '=');
  if (kind == HFS_EDIT_SET) {
    double v;
    if (!eq || eq == arg || !number(eq + 1, strlen(eq + 1), &v) || !isfinite(v)) {
      hfs_cli_error("--set %s: expected NAME=VALUE with a finite number", arg);
      return 1;
    }
    return push(p, kind, arg, (size_t)(eq - arg), 0, 0, v);
  }
  /* The last colon splits LO:HI, so a name may not hold one but "-inf" may
   * be a bound. */
  const char *colon = eq ? strrchr(eq + 1, ':') : NULL;
  double lo, hi;
  if (!eq || eq == arg || !colon || !number(eq + 1, (size_t)(colon - eq - 1), &lo) ||
      !number(colon + 1, strlen(colon + 1), &hi)) {
    hfs_cli_error("--bounds %s: expected NAME=LO:HI with two numbers", arg);
    return 1;
  }
  if (!(lo < hi)) {
    hfs_cli_error("--bounds %s: the lower bound must be below the upper one", arg);
    return 1;
  }
  return push(p, kind, arg, (size_t)(eq - arg), lo, hi, 0);
}

void hfs_cli_params_free(hfs_cli_params *p) {
  for (int k = 0; k < p->n; ++k) free(p->e[k].name);
  p->n = 0;
}

/* The modifier a per-bin parameter belongs to: "gam[3]" -> "gam". */
static size_t base_length(const char *name) {
  size_t n = strlen(name);
  if (n > 0 && name[n - 1] == ']') {
    const char *b = strrchr(name, '[');
    if (b) return (size_t)(b - name);
  }
  return n;
}

/* Mark the parameters one --freeze item names: a parameter, a modifier (all
 * of its bins), rgx{EXPR} (POSIX extended, matched anywhere in the name, as
 * Combine's), or allConstrainedNuisances.  Returns how many. */
static int select_params(const hfs_model *m, const char *item, int *sel, int *bad_regex) {
  int npar = hfs_model_npar(m), count = 0, poi = hfs_model_poi(m);
  size_t il = strlen(item);
  regex_t re;
  int use_re = il > 5 && !strncmp(item, "rgx{", 4) && item[il - 1] == '}';
  *bad_regex = 0;
  if (use_re) {
    char expr[512];
    snprintf(expr, sizeof expr, "%.*s", (int)(il - 5), item + 4);
    if (regcomp(&re, expr, REG_EXTENDED | REG_NOSUB) != 0) {
      *bad_regex = 1;
      return 0;
    }
  }
  for (int i = 0; i < npar; ++i) {
    const char *name = hfs_model_par_name(m, i);
    int hit;
    if (use_re)
      hit = regexec(&re, name, 0, NULL, 0) == 0;
    else if (!strcmp(item, "allConstrainedNuisances"))
      hit = i != poi && hfs_model_par_constraint(m, i) != HFS_CONSTR_NONE;
    else
      hit = !strcmp(item, name) || (base_length(name) == il && !strncmp(item, name, il));
    if (hit) {
      sel[i] = 1;
      count++;
    }
  }
  if (use_re) regfree(&re);
  return count;
}

int hfs_cli_params_apply(const hfs_cli_params *p, hfs_model *m, const char *workspace, int *fixed,
                         double *init) {
  int rc = HFS_OK, npar = hfs_model_npar(m);
  int *sel = NULL;
  for (int pass = HFS_EDIT_BOUNDS; pass <= HFS_EDIT_FREEZE; ++pass)
    for (int k = 0; k < p->n; ++k) {
      const hfs_cli_edit *e = &p->e[k];
      if ((int)e->kind != pass) continue;
      if (e->kind == HFS_EDIT_FREEZE) {
        int bad = 0;
        free(sel);
        HFS_ALLOC(sel, npar);
        memset(sel, 0, sizeof *sel * (size_t)npar);
        if (select_params(m, e->name, sel, &bad) == 0)
          HFS_FAIL(HFS_ERR_ARG, "--freeze %s: %s in %s", e->name,
                   bad ? "not a valid regular expression"
                       : "no parameter, modifier or match of that name",
                   workspace);
        for (int i = 0; i < npar; ++i)
          if (sel[i]) fixed[i] = 1;
        continue;
      }
      int i = hfs_model_par_find(m, e->name);
      if (i < 0 && e->kind == HFS_EDIT_BOUNDS)
        HFS_FAIL(HFS_ERR_ARG, "--bounds %s=%g:%g: no parameter of that name in %s", e->name, e->lo,
                 e->hi, workspace);
      if (i < 0)
        HFS_FAIL(HFS_ERR_ARG, "--set %s=%g: no parameter of that name in %s", e->name, e->value,
                 workspace);
      double lo = hfs_model_par_lo(m, i), hi = hfs_model_par_hi(m, i);
      if (e->kind == HFS_EDIT_BOUNDS) {
        /* A start outside the new range moves to its nearest end. */
        double v = fmin(fmax(init[i], e->lo), e->hi);
        HFS_CHECK(hfs_model_par_set_range(m, i, e->lo, e->hi, v));
        init[i] = v;
      } else {
        if (!(e->value >= lo && e->value <= hi))
          HFS_FAIL(HFS_ERR_ARG,
                   "--set %s=%g: outside the parameter's bounds [%g, %g] (widen them with "
                   "--bounds %s=LO:HI)",
                   e->name, e->value, lo, hi, e->name);
        HFS_CHECK(hfs_model_par_set_range(m, i, lo, hi, e->value));
        init[i] = e->value;
      }
    }
cleanup:
  free(sel);
  return rc;
}

void hfs_cli_params_canonical(const hfs_cli_params *p, char *buf, size_t n) {
  size_t l = 0;
  buf[0] = '\0';
  for (int k = 0; k < p->n && l < n; ++k) {
    const hfs_cli_edit *e = &p->e[k];
    if (e->kind == HFS_EDIT_BOUNDS)
      l += snprintf(buf + l, n - l, "bounds:%s=%.17g:%.17g;", e->name, e->lo, e->hi);
    else if (e->kind == HFS_EDIT_SET)
      l += snprintf(buf + l, n - l, "set:%s=%.17g;", e->name, e->value);
    else
      l += snprintf(buf + l, n - l, "freeze:%s;", e->name);
  }
}

int hfs_cli_poi_at_bound(const hfs_model *m, const hfs_fit_result *r) {
  int poi = hfs_model_poi(m);
  double x = r->theta[poi], lo = hfs_model_par_lo(m, poi), hi = hfs_model_par_hi(m, poi);
  double tol = isfinite(hi - lo) ? 1e-6 * (hi - lo) : 1e-6;
  if (!isfinite(x)) return 0;
  if (isfinite(lo) && x - lo <= tol) return -1;
  if (isfinite(hi) && hi - x <= tol) return 1;
  return 0;
}

int hfs_cli_poi_bound_note(const hfs_model *m, const hfs_fit_result *r, const char *what, char *buf,
                           size_t n) {
  int at = hfs_cli_poi_at_bound(m, r), poi = hfs_model_poi(m);
  buf[0] = '\0';
  if (!at) return 0;
  const char *pn = hfs_model_par_name(m, poi);
  double lo = hfs_model_par_lo(m, poi), hi = hfs_model_par_hi(m, poi), b = at < 0 ? lo : hi;
  const char *side = at < 0 ? "lower" : "upper", *dir = at < 0 ? "below" : "above";
  const char *meaning;
  if (!strcmp(what, "ranking") || !strcmp(what, "summary"))
    meaning =
        "the likelihood would fall further beyond the bound, so the POI's Hessian "
        "error, its impacts (refits that start at the bound stay there, printed as 0) "
        "and the ranking are not defined; pulls and constraints are";
  else if (!strcmp(what, "scan"))
    meaning =
        "the profile-likelihood curve starts at the bound: the interval on this side "
        "is not defined (printed as 'none'), the other side's crossing is";
  else if (!strcmp(what, "fit"))
    meaning = "its Hessian error is the curvature at the bound, not a symmetric uncertainty";
  else
    meaning =
        "the test statistics are defined (the POI's bound is part of the model), but "
        "the best fit says only that the data prefer a value beyond it";
  /* Twice the distance to the other bound (or 10) on the blocked side. */
  double span = isfinite(hi - lo) ? hi - lo : 10.0;
  double nlo = at < 0 ? lo - span : lo, nhi = at < 0 ? hi : hi + span;
  snprintf(buf, n,
           "%s_hat = %g is at its %s bound %g: %s; to let %s go %s %g, widen its bounds, e.g. "
           "--bounds %s=%g:%g (or hold it: --set %s=VALUE --freeze %s)",
           pn, r->theta[poi], side, b, meaning, pn, dir, b, pn, nlo, nhi, pn, pn);
  return at;
}

void hfs_cli_poi_bound_warn(const hfs_model *m, const hfs_fit_result *r, const char *what) {
  char note[1024];
  if (hfs_cli_poi_bound_note(m, r, what, note, sizeof note)) hfs_cli_error("warning: %s", note);
}

void hfs_cli_poi_bound_json(json_t *obj, const hfs_model *m, const hfs_fit_result *r,
                            const char *what) {
  char note[1024];
  int at = hfs_cli_poi_bound_note(m, r, what, note, sizeof note);
  json_object_set_new(obj, "poi_at_bound",
                      at ? json_string(at < 0 ? "lower" : "upper") : json_null());
  if (at) json_object_set_new(obj, "poi_at_bound_note", json_string(note));
}

int hfs_cli_poi_bound_h5(hfs_h5 *h5, const char *group, const hfs_model *m, const hfs_fit_result *r,
                         const char *what) {
  int rc = HFS_OK;
  char note[1024];
  int at = hfs_cli_poi_bound_note(m, r, what, note, sizeof note);
  HFS_CHECK(hfs_h5_attr_str(h5, group, "poi_at_bound", at ? (at < 0 ? "lower" : "upper") : "no"));
  if (at) HFS_CHECK(hfs_h5_attr_str(h5, group, "poi_at_bound_note", note));
cleanup:
  return rc;
}
