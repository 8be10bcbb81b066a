/* Reading and structurally checking pyhf JSON workspaces (schema 1.0.0).
 *
 * The reader walks the jansson tree once, checking each node against the
 * schema while copying it into the plain hfs_spec structs.  The JSON path of
 * the node being read is kept in a small buffer inside the reader so that
 * every message can name the exact place of a problem. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hfs_error.h"
#include "hfs_core.h"
#include "hfs_workspace.h"
#include "spec_internal.h"

/* Paths of real workspaces are short; the buffer only has to be long enough
 * to keep messages readable when a key is absurdly long (it is truncated). */
#define SPEC_PATH_MAX 512
/* Longest rendering of a user-supplied name or key inside a message. */
#define SPEC_SHOW_MAX 100

typedef struct {
  const char *label;
  char path[SPEC_PATH_MAX];
  size_t len;
} spec_reader;

/* JSON value kinds as the schema names them; jansson's integer and real are
 * both "number" and true/false are "boolean". */
typedef enum { K_OBJECT, K_ARRAY, K_STRING, K_NUMBER, K_BOOLEAN, K_NULL } kind;

static const char *const kind_names[] = {"object", "array", "string", "number", "boolean", "null"};
static const char *const kind_wanted[] = {"an object", "an array",  "a string",
                                          "a number",  "a boolean", "null"};

static const char *const modtype_names[HFS_MOD_NTYPES] = {
    "histosys", "lumi", "normfactor", "normsys", "shapefactor", "shapesys", "staterror"};

const char *hfs_modtype_name(hfs_modtype t) {
  if ((int)t < 0 || t >= HFS_MOD_NTYPES) return "unknown";
  return modtype_names[t];
}

/* Copy s into buf for display: control characters become \xNN so that a
 * message stays on one line, and long strings are cut (at a UTF-8 character
 * boundary) with "...". */
static const char *show(const char *s, char *buf, size_t n) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    /* Room for the longest rendering of one byte (4) plus "..." and NUL. */
    if (o + 8 > n) {
      if ((c & 0xC0) == 0x80) {
        while (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80) o--;
        if (o > 0 && (unsigned char)buf[o - 1] >= 0xC0) o--;
      }
      memcpy(buf + o, "...", 4);
      return buf;
    }
    if (c < 0x20 || c == 0x7f) {
      snprintf(buf + o, n - o, "\\x%02x", c);
      o += 4;
    } else {
      buf[o++] = (char)c;
    }
  }
  buf[o] = '\0';
  return buf;
}

/* Shortest of %.15g / %.17g that reads back as the same double, so that
 * "init 12 outside bounds [0, 10]" reads naturally yet stays exact. */
static const char *fmtnum(double x, char *buf, size_t n) {
  snprintf(buf, n, "%.15g", x);
  if (strtod(buf, NULL) != x) snprintf(buf, n, "%.17g", x);
  return buf;
}

static size_t path_key(spec_reader *r, const char *key) {
  char shown[SPEC_SHOW_MAX];
  size_t old = r->len;
  show(key, shown, sizeof shown);
  if (old < sizeof r->path)
    snprintf(r->path + old, sizeof r->path - old, "%s%s", old ? "." : "", shown);
  r->len = strlen(r->path);
  return old;
}

static size_t path_index(spec_reader *r, size_t i) {
  size_t old = r->len;
  if (old < sizeof r->path) snprintf(r->path + old, sizeof r->path - old, "[%zu]", i);
  r->len = strlen(r->path);
  return old;
}

static void path_restore(spec_reader *r, size_t old) {
  r->len = old;
  r->path[old] = '\0';
}

/* Record "LABEL: PATH: problem" for the node the reader is at. */
static int rd_fail(spec_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rd_fail(spec_reader *r, int code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return hfs_error_set(code, "%s: %s: %s", r->label, r->len ? r->path : "(root)", msg);
}

static int rd_nomem(spec_reader *r) { return rd_fail(r, HFS_ERR_NOMEM, "out of memory"); }

static kind kind_of(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return K_OBJECT;
    case JSON_ARRAY: return K_ARRAY;
    case JSON_STRING: return K_STRING;
    case JSON_INTEGER:
    case JSON_REAL: return K_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE: return K_BOOLEAN;
    case JSON_NULL: break;
  }
  return K_NULL;
}

static int expect(spec_reader *r, const json_t *v, kind want) {
  kind got = kind_of(v);
  if (got == want) return HFS_OK;
  return rd_fail(r, HFS_ERR_SCHEMA, "expected %s, got %s", kind_wanted[want], kind_names[got]);
}

static int in_list(const char *key, const char *const *list) {
  for (; *list; list++)
    if (strcmp(key, *list) == 0) return 1;
  return 0;
}

/* Check that obj (already known to be an object) has only keys from `known`
 * (the schema's additionalProperties:false) and every key in `required`. */
static int check_keys(spec_reader *r, json_t *obj, const char *const *known,
                      const char *const *required) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    if (!in_list(key, known)) {
      char shown[SPEC_SHOW_MAX];
      path_key(r, key);
      return rd_fail(r, HFS_ERR_SCHEMA,
                     "unknown key '%s' (not allowed here by the pyhf 1.0.0 "
                     "schema)",
                     show(key, shown, sizeof shown));
    }
  }
  for (; *required; required++)
    if (!json_object_get(obj, *required))
      return rd_fail(r, HFS_ERR_SCHEMA, "missing required key '%s'", *required);
  return HFS_OK;
}

/* Read obj[key] as a string into a fresh copy (*out). */
static int read_string(spec_reader *r, json_t *obj, const char *key, char **out) {
  json_t *v = json_object_get(obj, key);
  size_t old = path_key(r, key);
  int rc = expect(r, v, K_STRING);
  if (rc) return rc;
  *out = strdup(json_string_value(v));
  if (!*out) return rd_nomem(r);
  path_restore(r, old);
  return HFS_OK;
}

/* Constraints on the entries of a number array. */
typedef enum { ANY, NONNEG, POSITIVE } sign_rule;

static int check_number(spec_reader *r, const json_t *v, sign_rule rule, const char *what,
                        double *out) {
  char num[32];
  int rc = expect(r, v, K_NUMBER);
  if (rc) return rc;
  double x = json_number_value(v);
  /* jansson already refuses NaN, Infinity and overflowing literals; this
   * guards against a future parser that does not. */
  if (!isfinite(x))
    return rd_fail(r, HFS_ERR_SCHEMA, "non-finite number (%s)", fmtnum(x, num, sizeof num));
  if (rule == NONNEG && x < 0)
    return rd_fail(r, HFS_ERR_SCHEMA, "negative %s %s (must be >= 0)", what,
                   fmtnum(x, num, sizeof num));
  if (rule == POSITIVE && !(x > 0))
    return rd_fail(r, HFS_ERR_SCHEMA, "%s must be > 0, got %s", what, fmtnum(x, num, sizeof num));
  *out = x;
  return HFS_OK;
}

/* Read an array of at least one number at the reader's current path into a
 * fresh array (*out, *n). */
static int read_numbers(spec_reader *r, const json_t *arr, sign_rule rule, const char *what,
                        double **out, int *n) {
  int rc = expect(r, arr, K_ARRAY);
  if (rc) return rc;
  size_t len = json_array_size(arr);
  if (len == 0)
    return rd_fail(r, HFS_ERR_SCHEMA, "expected at least one number, got an empty array");
  if (len > INT_MAX) return rd_fail(r, HFS_ERR_SCHEMA, "too many entries (%zu)", len);
  double *x = calloc(len, sizeof *x);
  if (!x) return rd_nomem(r);
  for (size_t i = 0; i < len; i++) {
    size_t old = path_index(r, i);
    rc = check_number(r, json_array_get(arr, i), rule, what, &x[i]);
    if (rc) {
      free(x);
      return rc;
    }
    path_restore(r, old);
  }
  *out = x;
  *n = (int)len;
  return HFS_OK;
}

/* Same for obj[key]. */
static int read_numbers_key(spec_reader *r, json_t *obj, const char *key, sign_rule rule,
                            const char *what, double **out, int *n) {
  size_t old = path_key(r, key);
  int rc = read_numbers(r, json_object_get(obj, key), rule, what, out, n);
  if (rc) return rc;
  path_restore(r, old);
  return HFS_OK;
}

/* An array of `min` or more entries at the current path; its length goes to
 * *n as an int. */
static int expect_array(spec_reader *r, const json_t *v, size_t min, const char *entry, int *n) {
  int rc = expect(r, v, K_ARRAY);
  if (rc) return rc;
  size_t len = json_array_size(v);
  if (len < min)
    return rd_fail(r, HFS_ERR_SCHEMA, "expected at least %zu %s, got none", min, entry);
  if (len > INT_MAX) return rd_fail(r, HFS_ERR_SCHEMA, "too many entries (%zu)", len);
  *n = (int)len;
  return HFS_OK;
}

/* Element count for calloc: never 0 (so NULL always means failure) and
 * visibly non-negative to the compiler. */
static size_t alloc_count(int n) { return n > 0 ? (size_t)n : 1; }

static int dup_path(spec_reader *r, char **out) {
  *out = strdup(r->path);
  return *out ? HFS_OK : rd_nomem(r);
}

/* Duplicate detection: sort (type, name, index) triples and look for equal
 * neighbours, which keeps huge inputs at n log n. */
typedef struct {
  const char *name;
  int type;
  int idx;
} name_ref;

static int cmp_ref(const void *pa, const void *pb) {
  const name_ref *a = pa, *b = pb;
  if (a->type != b->type) return a->type < b->type ? -1 : 1;
  int c = strcmp(a->name, b->name);
  if (c) return c;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

static int same_ref(const name_ref *a, const name_ref *b) {
  return a->type == b->type && strcmp(a->name, b->name) == 0;
}

/* Sort refs in place; return the smallest index that repeats an earlier
 * entry (the "second one", where the error is reported) and the index of
 * that earlier entry in *first, or -1 when all are distinct. */
static int find_duplicate(name_ref *refs, int n, int *first) {
  int best = -1;
  qsort(refs, (size_t)n, sizeof *refs, cmp_ref);
  for (int i = 1; i < n; i++) {
    if (!same_ref(&refs[i], &refs[i - 1])) continue;
    if (i >= 2 && same_ref(&refs[i - 1], &refs[i - 2])) continue;
    if (best < 0 || refs[i].idx < best) {
      best = refs[i].idx;
      *first = refs[i - 1].idx;
    }
  }
  return best;
}

/* Report a duplicated name among the `n` entries of the array at the
 * reader's path.  Each entry's name is found at name_offset inside items
 * of `stride` bytes, so that one helper serves channels, samples,
 * observations, measurements and parameters. */
static int check_unique_names(spec_reader *r, const void *items, size_t stride, size_t name_offset,
                              int n, const char *what) {
  int first = 0, dup;
  name_ref *refs = calloc(alloc_count(n), sizeof *refs);
  if (!refs) return rd_nomem(r);
  for (int i = 0; i < n; i++) {
    const char *item = (const char *)items + (size_t)i * stride;
    refs[i].name = *(char *const *)(item + name_offset);
    refs[i].idx = i;
  }
  dup = find_duplicate(refs, n, &first);
  if (dup >= 0) {
    char shown[SPEC_SHOW_MAX];
    const char *item = (const char *)items + (size_t)dup * stride;
    const char *name = *(char *const *)(item + name_offset);
    char where[SPEC_PATH_MAX];
    free(refs);
    snprintf(where, sizeof where, "%s", r->path);
    path_index(r, (size_t)dup);
    path_key(r, "name");
    return rd_fail(r, HFS_ERR_SCHEMA, "duplicate %s name '%s' (first at %s[%d])", what,
                   show(name, shown, sizeof shown), where, first);
  }
  free(refs);
  return HFS_OK;
}

static int read_modifier_data(spec_reader *r, json_t *jm, hfs_spec_modifier *m, int nbins) {
  static const char *const hist_keys[] = {"hi_data", "lo_data", NULL};
  static const char *const norm_keys[] = {"hi", "lo", NULL};
  json_t *d = json_object_get(jm, "data");
  size_t old = path_key(r, "data");
  int rc = HFS_OK;
  switch (m->type) {
    case HFS_MOD_NORMSYS:
      if ((rc = expect(r, d, K_OBJECT))) return rc;
      if ((rc = check_keys(r, d, norm_keys, norm_keys))) return rc;
      for (int k = 0; k < 2; k++) {
        size_t o2 = path_key(r, norm_keys[k]);
        rc = check_number(r, json_object_get(d, norm_keys[k]), ANY, "", k == 0 ? &m->hi : &m->lo);
        if (rc) return rc;
        path_restore(r, o2);
      }
      break;
    case HFS_MOD_HISTOSYS:
      if ((rc = expect(r, d, K_OBJECT))) return rc;
      if ((rc = check_keys(r, d, hist_keys, hist_keys))) return rc;
      for (int k = 0; k < 2; k++) {
        int n = 0;
        double **dst = k == 0 ? &m->hi_data : &m->lo_data;
        size_t o2 = path_key(r, hist_keys[k]);
        rc = read_numbers(r, json_object_get(d, hist_keys[k]), ANY, "", dst, &n);
        if (rc) return rc;
        if (n != nbins)
          return rd_fail(r, HFS_ERR_SCHEMA, "has %d entries, but the sample has %d bins", n, nbins);
        m->ndata = n;
        path_restore(r, o2);
      }
      break;
    case HFS_MOD_SHAPESYS:
    case HFS_MOD_STATERROR:
      rc = read_numbers(r, d, NONNEG, "uncertainty", &m->data, &m->ndata);
      if (rc) return rc;
      if (m->ndata != nbins)
        return rd_fail(r, HFS_ERR_SCHEMA, "has %d entries, but the sample has %d bins", m->ndata,
                       nbins);
      break;
    default:
      if ((rc = expect(r, d, K_NULL))) return rc;
      break;
  }
  path_restore(r, old);
  return HFS_OK;
}

static int read_modifier(spec_reader *r, json_t *jm, hfs_spec_modifier *m, int nbins) {
  static const char *const keys[] = {"name", "type", "data", NULL};
  char shown[SPEC_SHOW_MAX];
  int rc;
  if ((rc = expect(r, jm, K_OBJECT))) return rc;
  if ((rc = dup_path(r, &m->path))) return rc;
  if ((rc = check_keys(r, jm, keys, keys))) return rc;
  if ((rc = read_string(r, jm, "name", &m->name))) return rc;

  json_t *jt = json_object_get(jm, "type");
  size_t old = path_key(r, "type");
  if ((rc = expect(r, jt, K_STRING))) return rc;
  const char *type = json_string_value(jt);
  int t;
  for (t = 0; t < HFS_MOD_NTYPES; t++)
    if (strcmp(type, modtype_names[t]) == 0) break;
  if (t == HFS_MOD_NTYPES)
    return rd_fail(r, HFS_ERR_SCHEMA,
                   "unknown modifier type '%s' (expected one of histosys, "
                   "lumi, normfactor, normsys, shapefactor, shapesys, "
                   "staterror)",
                   show(type, shown, sizeof shown));
  m->type = (hfs_modtype)t;
  path_restore(r, old);

  /* The schema pins the name of a lumi modifier; a second luminosity
   * parameter under another name would not be constrained by the
   * measurement's lumi entry the way the author probably meant. */
  if (m->type == HFS_MOD_LUMI && strcmp(m->name, "lumi") != 0) {
    path_key(r, "name");
    return rd_fail(r, HFS_ERR_SCHEMA,
                   "a lumi modifier must be named 'lumi' (pyhf schema), got "
                   "'%s'",
                   show(m->name, shown, sizeof shown));
  }
  return read_modifier_data(r, jm, m, nbins);
}

/* Same name and type twice on one sample: pyhf keeps only the last one
 * without a word, which is almost certainly not what the author meant. */
static int check_unique_modifiers(spec_reader *r, const hfs_spec_sample *s) {
  int first = 0, dup;
  name_ref *refs = calloc(alloc_count(s->nmods), sizeof *refs);
  if (!refs) return rd_nomem(r);
  for (int i = 0; i < s->nmods; i++) {
    refs[i].name = s->mods[i].name;
    refs[i].type = (int)s->mods[i].type;
    refs[i].idx = i;
  }
  dup = find_duplicate(refs, s->nmods, &first);
  free(refs);
  if (dup >= 0) {
    char shown[SPEC_SHOW_MAX];
    const hfs_spec_modifier *m = &s->mods[dup];
    char where[SPEC_PATH_MAX];
    snprintf(where, sizeof where, "%s", r->path);
    path_index(r, (size_t)dup);
    return rd_fail(r, HFS_ERR_SCHEMA,
                   "modifier '%s' of type %s appears twice on this sample "
                   "(first at %s[%d]); pyhf would silently keep only the "
                   "last one",
                   show(m->name, shown, sizeof shown), modtype_names[m->type], where, first);
  }
  return HFS_OK;
}

/* nbins_channel < 0 for the first sample, which defines the channel's bin
 * count. */
static int read_sample(spec_reader *r, json_t *js, hfs_spec_sample *s, int nbins_channel) {
  static const char *const keys[] = {"name", "data", "modifiers", NULL};
  int rc;
  if ((rc = expect(r, js, K_OBJECT))) return rc;
  if ((rc = dup_path(r, &s->path))) return rc;
  if ((rc = check_keys(r, js, keys, keys))) return rc;
  if ((rc = read_string(r, js, "name", &s->name))) return rc;

  size_t old = path_key(r, "data");
  rc = read_numbers(r, json_object_get(js, "data"), ANY, "", &s->data, &s->nbins);
  if (rc) return rc;
  if (nbins_channel >= 0 && s->nbins != nbins_channel)
    return rd_fail(r, HFS_ERR_SCHEMA,
                   "has %d bins, expected %d (the bin count of the channel's "
                   "first sample)",
                   s->nbins, nbins_channel);
  path_restore(r, old);

  json_t *jmods = json_object_get(js, "modifiers");
  old = path_key(r, "modifiers");
  if ((rc = expect_array(r, jmods, 0, "modifiers", &s->nmods))) return rc;
  s->mods = calloc(alloc_count(s->nmods), sizeof *s->mods);
  if (!s->mods) {
    s->nmods = 0;
    return rd_nomem(r);
  }
  for (int m = 0; m < s->nmods; m++) {
    size_t o2 = path_index(r, (size_t)m);
    rc = read_modifier(r, json_array_get(jmods, (size_t)m), &s->mods[m], s->nbins);
    if (rc) return rc;
    path_restore(r, o2);
  }
  if ((rc = check_unique_modifiers(r, s))) return rc;
  path_restore(r, old);
  return HFS_OK;
}

static int read_channel(spec_reader *r, json_t *jc, hfs_spec_channel *c) {
  static const char *const keys[] = {"name", "samples", NULL};
  int rc;
  if ((rc = expect(r, jc, K_OBJECT))) return rc;
  if ((rc = dup_path(r, &c->path))) return rc;
  if ((rc = check_keys(r, jc, keys, keys))) return rc;
  if ((rc = read_string(r, jc, "name", &c->name))) return rc;

  json_t *js = json_object_get(jc, "samples");
  size_t old = path_key(r, "samples");
  if ((rc = expect_array(r, js, 1, "sample", &c->nsamples))) return rc;
  c->samples = calloc(alloc_count(c->nsamples), sizeof *c->samples);
  if (!c->samples) {
    c->nsamples = 0;
    return rd_nomem(r);
  }
  for (int s = 0; s < c->nsamples; s++) {
    size_t o2 = path_index(r, (size_t)s);
    rc = read_sample(r, json_array_get(js, (size_t)s), &c->samples[s], s == 0 ? -1 : c->nbins);
    if (rc) return rc;
    if (s == 0) c->nbins = c->samples[0].nbins;
    path_restore(r, o2);
  }
  rc = check_unique_names(r, c->samples, sizeof *c->samples, offsetof(hfs_spec_sample, name),
                          c->nsamples, "sample");
  if (rc) return rc;
  path_restore(r, old);
  return HFS_OK;
}

static int read_observation(spec_reader *r, json_t *jo, hfs_spec_observation *o) {
  static const char *const keys[] = {"name", "data", NULL};
  int rc;
  if ((rc = expect(r, jo, K_OBJECT))) return rc;
  if ((rc = dup_path(r, &o->path))) return rc;
  if ((rc = check_keys(r, jo, keys, keys))) return rc;
  if ((rc = read_string(r, jo, "name", &o->name))) return rc;
  return read_numbers_key(r, jo, "data", NONNEG, "observed count", &o->data, &o->nbins);
}

static int read_bounds(spec_reader *r, json_t *jb, hfs_spec_param *p) {
  char a[32], b[32];
  int n = 0, rc;
  if ((rc = expect_array(r, jb, 1, "[lo, hi] pair", &n))) return rc;
  p->bounds = calloc(2 * alloc_count(n), sizeof *p->bounds);
  if (!p->bounds) return rd_nomem(r);
  p->nbounds = n;
  for (int i = 0; i < n; i++) {
    json_t *pair = json_array_get(jb, (size_t)i);
    size_t old = path_index(r, (size_t)i);
    if ((rc = expect(r, pair, K_ARRAY))) return rc;
    if (json_array_size(pair) != 2)
      return rd_fail(r, HFS_ERR_SCHEMA,
                     "a bounds entry must be a pair [lo, hi] of 2 numbers, "
                     "got %zu entries",
                     json_array_size(pair));
    for (int k = 0; k < 2; k++) {
      size_t o2 = path_index(r, (size_t)k);
      rc = check_number(r, json_array_get(pair, (size_t)k), ANY, "", &p->bounds[2 * i + k]);
      if (rc) return rc;
      path_restore(r, o2);
    }
    if (p->bounds[2 * i] > p->bounds[2 * i + 1])
      return rd_fail(r, HFS_ERR_SCHEMA, "inverted bounds [%s, %s] (lo > hi)",
                     fmtnum(p->bounds[2 * i], a, sizeof a),
                     fmtnum(p->bounds[2 * i + 1], b, sizeof b));
    path_restore(r, old);
  }
  return HFS_OK;
}

static int read_param(spec_reader *r, json_t *jp, hfs_spec_param *p) {
  static const char *const keys[] = {"name",    "inits",  "bounds", "auxdata",
                                     "factors", "sigmas", "fixed",  NULL};
  static const char *const required[] = {"name", NULL};
  char x[32], a[32], b[32];
  json_t *v;
  int rc;
  if ((rc = expect(r, jp, K_OBJECT))) return rc;
  if ((rc = dup_path(r, &p->path))) return rc;
  if ((rc = check_keys(r, jp, keys, required))) return rc;
  if ((rc = read_string(r, jp, "name", &p->name))) return rc;
  if (json_object_get(jp, "inits") &&
      (rc = read_numbers_key(r, jp, "inits", ANY, "", &p->inits, &p->ninits)))
    return rc;
  if ((v = json_object_get(jp, "bounds"))) {
    size_t old = path_key(r, "bounds");
    if ((rc = read_bounds(r, v, p))) return rc;
    path_restore(r, old);
  }
  if (json_object_get(jp, "auxdata") &&
      (rc = read_numbers_key(r, jp, "auxdata", ANY, "", &p->auxdata, &p->nauxdata)))
    return rc;
  if (json_object_get(jp, "sigmas") &&
      (rc = read_numbers_key(r, jp, "sigmas", POSITIVE, "sigma", &p->sigmas, &p->nsigmas)))
    return rc;
  if (json_object_get(jp, "factors") &&
      (rc = read_numbers_key(r, jp, "factors", POSITIVE, "factor", &p->factors, &p->nfactors)))
    return rc;
  if ((v = json_object_get(jp, "fixed"))) {
    size_t old = path_key(r, "fixed");
    if ((rc = expect(r, v, K_BOOLEAN))) return rc;
    p->has_fixed = 1;
    p->fixed = json_is_true(v);
    path_restore(r, old);
  }
  /* With unequal lengths the pairing is ambiguous; the model compiler
   * checks the lengths against the parameter's size after merging. */
  if (p->ninits > 0 && p->ninits == p->nbounds) {
    for (int i = 0; i < p->ninits; i++) {
      double lo = p->bounds[2 * i], hi = p->bounds[2 * i + 1];
      if (p->inits[i] < lo || p->inits[i] > hi) {
        path_key(r, "inits");
        path_index(r, (size_t)i);
        return rd_fail(r, HFS_ERR_SCHEMA, "init %s outside bounds [%s, %s]",
                       fmtnum(p->inits[i], x, sizeof x), fmtnum(lo, a, sizeof a),
                       fmtnum(hi, b, sizeof b));
      }
    }
  }
  return HFS_OK;
}

static int read_measurement(spec_reader *r, json_t *jm, hfs_spec_measurement *m) {
  static const char *const keys[] = {"name", "config", NULL};
  static const char *const config_keys[] = {"poi", "parameters", NULL};
  int rc;
  if ((rc = expect(r, jm, K_OBJECT))) return rc;
  if ((rc = dup_path(r, &m->path))) return rc;
  if ((rc = check_keys(r, jm, keys, keys))) return rc;
  if ((rc = read_string(r, jm, "name", &m->name))) return rc;

  json_t *jc = json_object_get(jm, "config");
  size_t old = path_key(r, "config");
  if ((rc = expect(r, jc, K_OBJECT))) return rc;
  if ((rc = check_keys(r, jc, config_keys, config_keys))) return rc;
  if ((rc = read_string(r, jc, "poi", &m->poi))) return rc;

  json_t *jp = json_object_get(jc, "parameters");
  size_t o2 = path_key(r, "parameters");
  if ((rc = expect_array(r, jp, 0, "parameters", &m->nparams))) return rc;
  m->params = calloc(alloc_count(m->nparams), sizeof *m->params);
  if (!m->params) {
    m->nparams = 0;
    return rd_nomem(r);
  }
  for (int p = 0; p < m->nparams; p++) {
    size_t o3 = path_index(r, (size_t)p);
    if ((rc = read_param(r, json_array_get(jp, (size_t)p), &m->params[p]))) return rc;
    path_restore(r, o3);
  }
  rc = check_unique_names(r, m->params, sizeof *m->params, offsetof(hfs_spec_param, name),
                          m->nparams, "parameter");
  if (rc) return rc;
  path_restore(r, o2);
  path_restore(r, old);
  return HFS_OK;
}

/* Generic driver for the three top-level arrays: check the array, allocate
 * `count` items of `size` bytes and call `one` on each with the path set to
 * KEY[i]. */
typedef int (*item_reader)(spec_reader *, json_t *, void *);

static int rd_channel(spec_reader *r, json_t *j, void *item) { return read_channel(r, j, item); }
static int rd_observation(spec_reader *r, json_t *j, void *item) {
  return read_observation(r, j, item);
}
static int rd_measurement(spec_reader *r, json_t *j, void *item) {
  return read_measurement(r, j, item);
}

static int read_top_array(spec_reader *r, json_t *root, const char *key, const char *entry,
                          size_t size, item_reader one, void **items, int *count,
                          size_t name_offset) {
  json_t *arr = json_object_get(root, key);
  int n = 0, rc;
  size_t old = path_key(r, key);
  if ((rc = expect_array(r, arr, 1, entry, &n))) return rc;
  *items = calloc(alloc_count(n), size);
  if (!*items) return rd_nomem(r);
  *count = n;
  for (int i = 0; i < n; i++) {
    size_t o2 = path_index(r, (size_t)i);
    rc = one(r, json_array_get(arr, (size_t)i), (char *)*items + (size_t)i * size);
    if (rc) return rc;
    path_restore(r, o2);
  }
  if ((rc = check_unique_names(r, *items, size, name_offset, n, entry))) return rc;
  path_restore(r, old);
  return HFS_OK;
}

static int cmp_ref_name(const void *key, const void *elem) {
  return strcmp((const char *)key, ((const name_ref *)elem)->name);
}

/* Pair every channel with the observation of the same name.  Observations
 * without a channel are only warned about (pyhf ignores them too), and only
 * once the whole workspace has been found valid. */
static int match_observations(spec_reader *r, hfs_spec *s) {
  char shown[SPEC_SHOW_MAX];
  int rc = HFS_OK;
  name_ref *refs = calloc(alloc_count(s->nobs), sizeof *refs);
  char *used = calloc(alloc_count(s->nobs), 1);
  if (!refs || !used) {
    rc = rd_nomem(r);
    goto cleanup;
  }
  /* Names are unique by now, so sorting by name alone is well defined. */
  for (int o = 0; o < s->nobs; o++) {
    refs[o].name = s->obs[o].name;
    refs[o].idx = o;
  }
  qsort(refs, (size_t)s->nobs, sizeof *refs, cmp_ref);
  for (int c = 0; c < s->nchannels; c++) {
    const hfs_spec_channel *ch = &s->channels[c];
    const name_ref *hit = bsearch(ch->name, refs, (size_t)s->nobs, sizeof *refs, cmp_ref_name);
    if (!hit) {
      path_key(r, "channels");
      path_index(r, (size_t)c);
      rc = rd_fail(r, HFS_ERR_SCHEMA, "no observation named '%s'",
                   show(ch->name, shown, sizeof shown));
      goto cleanup;
    }
    const hfs_spec_observation *ob = &s->obs[hit->idx];
    used[hit->idx] = 1;
    if (ob->nbins != ch->nbins) {
      path_key(r, "observations");
      path_index(r, (size_t)hit->idx);
      path_key(r, "data");
      rc = rd_fail(r, HFS_ERR_SCHEMA, "has %d bins, but channel '%s' (channels[%d]) has %d",
                   ob->nbins, show(ch->name, shown, sizeof shown), c, ch->nbins);
      goto cleanup;
    }
  }
  for (int o = 0; o < s->nobs; o++)
    if (!used[o])
      hfs_warn(
          "%s: observations[%d]: no channel named '%s'; the observation "
          "is ignored",
          r->label, o, show(s->obs[o].name, shown, sizeof shown));
cleanup:
  free(refs);
  free(used);
  return rc;
}

static int read_workspace(spec_reader *r, json_t *root, hfs_spec *s) {
  static const char *const keys[] = {"channels", "measurements", "observations", "version", NULL};
  char shown[SPEC_SHOW_MAX];
  int rc;
  if (!json_is_object(root))
    return rd_fail(r, HFS_ERR_SCHEMA, "the top level is %s%s, expected an object",
                   kind_of(root) == K_NULL ? "" : "a JSON ", kind_names[kind_of(root)]);
  if ((rc = check_keys(r, root, keys, keys))) return rc;
  if ((rc = read_string(r, root, "version", &s->version))) return rc;
  if (strcmp(s->version, "1.0.0") != 0) {
    path_key(r, "version");
    return rd_fail(r, HFS_ERR_SCHEMA, "unsupported workspace version '%s' (expected '1.0.0')",
                   show(s->version, shown, sizeof shown));
  }
  rc = read_top_array(r, root, "channels", "channel", sizeof *s->channels, rd_channel,
                      (void **)&s->channels, &s->nchannels, offsetof(hfs_spec_channel, name));
  if (rc) return rc;
  rc = read_top_array(r, root, "observations", "observation", sizeof *s->obs, rd_observation,
                      (void **)&s->obs, &s->nobs, offsetof(hfs_spec_observation, name));
  if (rc) return rc;
  rc = read_top_array(r, root, "measurements", "measurement", sizeof *s->meas, rd_measurement,
                      (void **)&s->meas, &s->nmeas, offsetof(hfs_spec_measurement, name));
  if (rc) return rc;
  return match_observations(r, s);
}

/* Refuse deeply nested documents before jansson sees them: its recursive
 * descent parser would otherwise build (and later free recursively) a tree
 * whose depth is chosen by the input.  Brackets inside strings do not
 * count.  Columns count characters, like jansson's. */
static int check_depth(const char *text, size_t len, const char *label) {
  int depth = 0, in_string = 0, escaped = 0;
  long line = 1, column = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if ((c & 0xC0) != 0x80) column++;
    if (in_string) {
      if (escaped)
        escaped = 0;
      else if (c == '\\')
        escaped = 1;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > HFS_SPEC_MAX_DEPTH)
        return hfs_error_set(HFS_ERR_PARSE,
                             "%s: line %ld, column %ld: nesting deeper than "
                             "%d levels; refusing to parse the document",
                             label, line, column, HFS_SPEC_MAX_DEPTH);
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
    if (c == '\n') {
      line++;
      column = 0;
    }
  }
  return HFS_OK;
}

/* A hint for jansson's wording when the cause is a non-finite number. */
static const char *nonfinite_hint(const json_error_t *e, const char *text, size_t len) {
  static const char hint[] =
      " (JSON numbers must be finite: NaN, Infinity and out-of-range values "
      "such as 1e999 are not allowed)";
  if (strstr(e->text, "real number overflow")) return hint;
  if (!strstr(e->text, "invalid token")) return "";
  const char *near = strstr(e->text, "near '");
  if (near) {
    near += 6;
    if (*near == '-') near++;
    if (strncasecmp(near, "nan", 3) == 0 || strncasecmp(near, "inf", 3) == 0) return hint;
  }
  /* "-Infinity" is reported as "near '-'"; look at the input itself. */
  if (e->position >= 0 && (size_t)e->position < len) {
    size_t rest = len - (size_t)e->position;
    const char *p = text + e->position;
    if (rest >= 3 && (strncasecmp(p, "inf", 3) == 0 || strncasecmp(p, "nan", 3) == 0)) return hint;
  }
  return "";
}

static int spec_parse(const char *text, size_t len, const char *label, int exact, json_t **root) {
  json_error_t jerr;
  int rc = HFS_OK;

  *root = NULL;
  if (!text && len > 0) HFS_FAIL(HFS_ERR_ARG, "%s: no text (NULL buffer)", label);
  if (len == 0) HFS_FAIL(HFS_ERR_PARSE, "%s: empty file", label);
  {
    size_t i = 0;
    while (i < len && text[i] && strchr(" \t\r\n", text[i])) i++;
    if (i == len) HFS_FAIL(HFS_ERR_PARSE, "%s: empty file (only white space)", label);
  }
  HFS_CHECK(check_depth(text, len, label));

  /* Duplicate keys are refused (pyhf's json.load would silently keep the
   * last one).  Any top-level value is accepted so that a non-object gets
   * a clearer message below than jansson's, and integers are read as reals
   * so that a long integer literal is a number, not an overflow. */
  /* The exact reading (integers stay integers, for digests and for
   * writing a document back) falls back to reals when an integer literal
   * does not fit. */
  *root = NULL;
  if (exact) *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (!*root)
    *root = json_loadb(text, len,
                       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!*root) {
    char shown[200];
    HFS_FAIL(HFS_ERR_PARSE, "%s: line %d, column %d: %s%s", label, jerr.line, jerr.column,
             show(jerr.text, shown, sizeof shown), nonfinite_hint(&jerr, text, len));
  }

cleanup:
  return rc;
}

int hfs__spec_parse(const char *text, size_t len, const char *label, json_t **root) {
  return spec_parse(text, len, label, 0, root);
}

int hfs__spec_parse_exact(const char *text, size_t len, const char *label, json_t **root) {
  return spec_parse(text, len, label, 1, root);
}

const char *hfs__spec_show(const char *s, char *buf, size_t n) { return show(s, buf, n); }

/* The structural reading of a parsed document into a new hfs_spec. */
int hfs__spec_from_root(json_t *root, const char *label, hfs_spec **out) {
  spec_reader r = {.label = label};
  hfs_spec *s = NULL;
  int rc = HFS_OK;

  s = calloc(1, sizeof *s);
  if (!s) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", r.label);
  s->file = strdup(r.label);
  if (!s->file) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", r.label);
  HFS_CHECK(read_workspace(&r, root, s));
  *out = s;
  s = NULL;

cleanup:
  hfs_spec_destroy(&s);
  return rc;
}

int hfs_spec_read_buffer(const char *text, size_t len, const char *label, hfs_spec **out) {
  json_t *root = NULL;
  int rc = HFS_OK;

  if (!out) return hfs_error_set(HFS_ERR_ARG, "hfs_spec_read_buffer: out is NULL");
  *out = NULL;
  if (!label) label = "<buffer>";
  HFS_CHECK(hfs__spec_parse(text, len, label, &root));
  HFS_CHECK(hfs__spec_from_root(root, label, out));

cleanup:
  json_decref(root);
  return rc;
}

/* Inflate gzip data (one or more members, as gzip -c and cat produce) into
 * a fresh buffer. */
static int gunzip(const char *filename, const unsigned char *in, size_t inlen, char **out,
                  size_t *outlen) {
  z_stream z;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int zrc = Z_OK, rc = HFS_OK, open = 0;

  memset(&z, 0, sizeof z);
  /* 16 + MAX_WBITS: a gzip header and trailer, checked by zlib. */
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    HFS_FAIL(HFS_ERR_NOMEM, "%s: cannot start zlib", filename);
  open = 1;
  z.next_in = (unsigned char *)in;
  for (;;) {
    /* zlib counts in uInt: feed and fill very large buffers in pieces. */
    if (z.avail_in == 0 && inlen > 0) {
      size_t piece = inlen < (size_t)UINT_MAX ? inlen : (size_t)UINT_MAX;
      z.avail_in = (uInt)piece;
      inlen -= piece;
    }
    if (len == cap) {
      size_t ncap = cap ? 2 * cap : 1 << 20;
      if (ncap < cap) HFS_FAIL(HFS_ERR_NOMEM, "%s: file too large", filename);
      char *nbuf = realloc(buf, ncap);
      if (!nbuf) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", filename);
      buf = nbuf;
      cap = ncap;
    }
    size_t room = cap - len < (size_t)UINT_MAX ? cap - len : (size_t)UINT_MAX;
    z.next_out = (unsigned char *)buf + len;
    z.avail_out = (uInt)room;
    zrc = inflate(&z, Z_NO_FLUSH);
    len += room - z.avail_out;
    if (zrc == Z_STREAM_END) {
      /* Another member may follow (cat a.gz b.gz); zero padding after the
       * last one is ignored, as gzip does. */
      while (z.avail_in > 0 && *z.next_in == 0) z.next_in++, z.avail_in--;
      if (z.avail_in == 0 && inlen == 0) break;
      if (inflateReset(&z) != Z_OK) HFS_FAIL(HFS_ERR_IO, "%s: corrupt gzip data", filename);
    } else if (zrc == Z_OK || zrc == Z_BUF_ERROR) {
      /* Input used up before the end of the stream, with room left for
       * output: the file was cut short. */
      if (z.avail_in == 0 && inlen == 0 && z.avail_out > 0)
        HFS_FAIL(HFS_ERR_IO, "%s: truncated gzip data", filename);
    } else {
      HFS_FAIL(zrc == Z_MEM_ERROR ? HFS_ERR_NOMEM : HFS_ERR_IO, "%s: corrupt gzip data (zlib: %s)",
               filename, z.msg ? z.msg : "error");
    }
  }
  *out = buf;
  *outlen = len;
  buf = NULL;

cleanup:
  if (open) inflateEnd(&z);
  free(buf);
  return rc;
}

int hfs__spec_slurp(const char *filename, char **out, size_t *outlen) {
  FILE *f = NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = HFS_OK;

  *out = NULL;
  *outlen = 0;
  f = fopen(filename, "rb");
  if (!f) HFS_FAIL(HFS_ERR_IO, "%s: cannot open: %s", filename, strerror(errno));
  /* Read in growing chunks rather than trusting the size from stat, so that
   * pipes and /dev/stdin work too. */
  for (;;) {
    if (len == cap) {
      size_t ncap = cap ? 2 * cap : 1 << 16;
      if (ncap < cap) HFS_FAIL(HFS_ERR_NOMEM, "%s: file too large", filename);
      char *nbuf = realloc(buf, ncap);
      if (!nbuf) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", filename);
      buf = nbuf;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) HFS_FAIL(HFS_ERR_IO, "%s: read error: %s", filename, strerror(errno));
      break;
    }
  }
  if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) {
    char *plain = NULL;
    size_t plen = 0;
    HFS_CHECK(gunzip(filename, (const unsigned char *)buf, len, &plain, &plen));
    free(buf);
    buf = plain;
    len = plen;
  }
  *out = buf;
  *outlen = len;
  buf = NULL;

cleanup:
  if (f) fclose(f);
  free(buf);
  return rc;
}

int hfs_spec_read_file(const char *filename, hfs_spec **out) {
  return hfs_spec_read_file_patched(filename, NULL, 0, out);
}

int hfs_spec_read_file_patched(const char *filename, const char *const *patches, int npatches,
                               hfs_spec **out) {
  return hfs_spec_read_patched(filename, patches, npatches, 0, out);
}

int hfs_spec_read_patched(const char *filename, const char *const *patches, int npatches,
                          unsigned flags, hfs_spec **out) {
  char *buf = NULL;
  size_t len = 0;
  int rc = HFS_OK;

  if (!out) return hfs_error_set(HFS_ERR_ARG, "hfs_spec_read_file: out is NULL");
  *out = NULL;
  if (!filename) HFS_FAIL(HFS_ERR_ARG, "hfs_spec_read_file: no file name given");
  HFS_CHECK(hfs__spec_slurp(filename, &buf, &len));
  HFS_CHECK(hfs_spec_read_buffer_patched_flags(buf, len, filename, patches, npatches, flags, out));
cleanup:
  free(buf);
  return rc;
}

int hfs_spec_read_buffer_patched(const char *text, size_t len, const char *filename,
                                 const char *const *patches, int npatches, hfs_spec **out) {
  return hfs_spec_read_buffer_patched_flags(text, len, filename, patches, npatches, 0, out);
}

int hfs_spec_read_buffer_patched_flags(const char *text, size_t len, const char *filename,
                                       const char *const *patches, int npatches, unsigned flags,
                                       hfs_spec **out) {
  char *label = NULL;
  json_t *root = NULL;
  int rc = HFS_OK;

  if (!out) return hfs_error_set(HFS_ERR_ARG, "hfs_spec_read_buffer_patched: out is NULL");
  *out = NULL;
  if (npatches < 0 || (npatches > 0 && !patches))
    HFS_FAIL(HFS_ERR_ARG, "hfs_spec_read_file_patched: bad patch list");
  for (int i = 0; i < npatches; i++)
    if (!patches[i]) HFS_FAIL(HFS_ERR_ARG, "hfs_spec_read_file_patched: patch %d is NULL", i);
  if (npatches == 0) {
    HFS_CHECK(hfs_spec_read_buffer(text, len, filename, out));
    goto cleanup;
  }

  /* The exact parse keeps 100 and 100.0 apart, as the patchset digest needs. */
  HFS_CHECK(hfs__spec_parse_exact(text, len, filename, &root));
  /* Later messages (paths inside the workspace, the model's errors) refer to
   * the patched document; the label "WS+PATCH1+PATCH2" says so. */
  size_t n = strlen(filename) + 1;
  for (int i = 0; i < npatches; i++) n += strlen(patches[i]) + 1;
  label = malloc(n);
  if (!label) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", filename);
  strcpy(label, filename);
  for (int i = 0; i < npatches; i++) {
    strcat(label, "+");
    strcat(label, patches[i]);
  }
  for (int i = 0; i < npatches; i++) HFS_CHECK(hfs__spec_patch_file(&root, patches[i], flags));
  HFS_CHECK(hfs__spec_from_root(root, label, out));

cleanup:
  json_decref(root);
  free(label);
  return rc;
}

static void free_modifier(hfs_spec_modifier *m) {
  free(m->name);
  free(m->hi_data);
  free(m->lo_data);
  free(m->data);
  free(m->path);
}

void hfs_spec_destroy(hfs_spec **spec) {
  if (!spec || !*spec) return;
  hfs_spec *s = *spec;
  for (int c = 0; c < s->nchannels; c++) {
    hfs_spec_channel *ch = &s->channels[c];
    for (int k = 0; k < ch->nsamples; k++) {
      hfs_spec_sample *sa = &ch->samples[k];
      for (int m = 0; m < sa->nmods; m++) free_modifier(&sa->mods[m]);
      free(sa->mods);
      free(sa->name);
      free(sa->data);
      free(sa->path);
    }
    free(ch->samples);
    free(ch->name);
    free(ch->path);
  }
  free(s->channels);
  for (int o = 0; o < s->nobs; o++) {
    free(s->obs[o].name);
    free(s->obs[o].data);
    free(s->obs[o].path);
  }
  free(s->obs);
  for (int k = 0; k < s->nmeas; k++) {
    hfs_spec_measurement *m = &s->meas[k];
    for (int p = 0; p < m->nparams; p++) {
      hfs_spec_param *pa = &m->params[p];
      free(pa->name);
      free(pa->inits);
      free(pa->bounds);
      free(pa->auxdata);
      free(pa->sigmas);
      free(pa->factors);
      free(pa->path);
    }
    free(m->params);
    free(m->name);
    free(m->poi);
    free(m->path);
  }
  free(s->meas);
  free(s->file);
  free(s->version);
  free(s);
  *spec = NULL;
}

const hfs_spec_measurement *hfs_spec_measurement_find(const hfs_spec *s, const char *name) {
  if (!s || !name) return NULL;
  for (int k = 0; k < s->nmeas; k++)
    if (strcmp(s->meas[k].name, name) == 0) return &s->meas[k];
  return NULL;
}

const hfs_spec_observation *hfs_spec_observation_find(const hfs_spec *s, const char *name) {
  if (!s || !name) return NULL;
  for (int o = 0; o < s->nobs; o++)
    if (strcmp(s->obs[o].name, name) == 0) return &s->obs[o];
  return NULL;
}
