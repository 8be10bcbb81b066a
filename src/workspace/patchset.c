/* pyhf patchsets (schema 1.0.0, PYHF:src/pyhf/schemas/1.0.0/defs.json,
 * "patchset"; PYHF:src/pyhf/patchset.py for the checks beyond the schema).
 *
 * The document is kept parsed with integers as integers, so that a patched
 * workspace written back, and its digest, are the ones pyhf would give. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hfs_error.h"
#include "hfs_workspace.h"
#include "spec_internal.h"

typedef struct {
  const char *name;
  json_t *ops;    /* the RFC 6902 operations (borrowed from root) */
  json_t *values; /* one per label */
  char **texts;   /* the values as text */
  char *label;    /* "PATCHSET:NAME", for messages */
} ps_patch;

struct hfs_patchset {
  char *file;
  json_t *root;
  const char *description;
  int nlabels;
  const char **labels;
  int npatches;
  ps_patch *patches;
  const char *sha256, *md5;
  /* the background workspace read once (hfs_patchset_keep_background) */
  char *bkg_file;
  json_t *bkg;
};

static int ps_fail(const hfs_patchset *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ps_fail(const hfs_patchset *ps, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return hfs_error_set(HFS_ERR_SCHEMA, "%s: %s%s%s", ps->file, path, *path ? ": " : "", msg);
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: break;
  }
  return "null";
}

/* obj[key] of the given jansson type; NULL with the error set otherwise. */
static json_t *member(const hfs_patchset *ps, const char *path, json_t *obj, const char *key,
                      json_type want, const char *wanted, int *rc) {
  char where[128];
  json_t *v = json_object_get(obj, key);
  snprintf(where, sizeof where, "%s%s%s", path, *path ? "." : "", key);
  if (!v) {
    *rc = ps_fail(ps, path, "missing required key '%s'", key);
    return NULL;
  }
  if (json_typeof(v) != want) {
    *rc = ps_fail(ps, where, "expected %s, got %s", wanted, type_name(v));
    return NULL;
  }
  return v;
}

/* The schema's pattern ^[a-zA-Z0-9_]+$ for labels and patch names. */
static int plain_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
          (*s >= 'A' && *s <= 'Z')))
      return 0;
  return 1;
}

static int hex_of_length(const char *s, size_t n) {
  if (strlen(s) != n) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
      return 0;
  return 1;
}

static int only_keys(const hfs_patchset *ps, const char *path, json_t *obj,
                     const char *const *known) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    int ok = 0;
    for (const char *const *q = known; *q; q++) ok |= !strcmp(k, *q);
    if (!ok)
      return ps_fail(ps, path,
                     "unknown key '%s' (not allowed here by the "
                     "pyhf 1.0.0 patchset schema)",
                     k);
  }
  return HFS_OK;
}

static int read_metadata(hfs_patchset *ps, json_t *meta) {
  int rc = HFS_OK;
  json_t *v, *labels, *digests, *refs;
  static const char *const digest_keys[] = {"md5", "sha256", NULL};
  if (!(v = member(ps, "metadata", meta, "description", JSON_STRING, "a string", &rc))) return rc;
  ps->description = json_string_value(v);
  if (!(refs = member(ps, "metadata", meta, "references", JSON_OBJECT, "an object", &rc)))
    return rc;
  if (json_object_size(refs) == 0)
    return ps_fail(ps, "metadata.references",
                   "empty (the schema requires "
                   "at least one reference)");
  if (!(digests = member(ps, "metadata", meta, "digests", JSON_OBJECT, "an object", &rc)))
    return rc;
  HFS_CHECK(only_keys(ps, "metadata.digests", digests, digest_keys));
  if (json_object_size(digests) == 0)
    return ps_fail(ps, "metadata.digests",
                   "empty (the schema requires a "
                   "sha256 or md5 digest)");
  for (int k = 0; digest_keys[k]; k++) {
    char where[64];
    snprintf(where, sizeof where, "metadata.digests.%s", digest_keys[k]);
    json_t *d = json_object_get(digests, digest_keys[k]);
    if (!d) continue;
    size_t n = k == 0 ? 32 : 64;
    if (!json_is_string(d) || !hex_of_length(json_string_value(d), n))
      return ps_fail(ps, where, "expected %zu hexadecimal digits", n);
    if (k == 0)
      ps->md5 = json_string_value(d);
    else
      ps->sha256 = json_string_value(d);
  }
  if (!(labels = member(ps, "metadata", meta, "labels", JSON_ARRAY, "an array", &rc))) return rc;
  if (json_array_size(labels) == 0)
    return ps_fail(ps, "metadata.labels",
                   "empty (the schema requires at "
                   "least one label)");
  ps->nlabels = (int)json_array_size(labels);
  HFS_ALLOC(ps->labels, ps->nlabels);
  for (int k = 0; k < ps->nlabels; k++) {
    char where[64];
    snprintf(where, sizeof where, "metadata.labels[%d]", k);
    json_t *l = json_array_get(labels, (size_t)k);
    if (!json_is_string(l) || !plain_name(json_string_value(l)))
      return ps_fail(ps, where,
                     "expected a name of letters, digits and "
                     "'_', got %s",
                     type_name(l));
    ps->labels[k] = json_string_value(l);
  }
cleanup:
  return rc;
}

/* A value as text: a string as it is, a number as Python prints it. */
static char *value_text(const json_t *v) {
  char num[64];
  if (json_is_string(v)) return strdup(json_string_value(v));
  if (json_is_integer(v))
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else
    hfs__py_float_repr(json_real_value(v), num, sizeof num);
  return strdup(num);
}

static int read_patch(hfs_patchset *ps, int i, json_t *jp) {
  static const char *const keys[] = {"metadata", "patch", NULL};
  char path[64], where[96];
  int rc = HFS_OK;
  ps_patch *p = &ps->patches[i];
  json_t *meta, *name, *values;
  snprintf(path, sizeof path, "patches[%d]", i);
  if (!json_is_object(jp)) return ps_fail(ps, path, "expected an object, got %s", type_name(jp));
  HFS_CHECK(only_keys(ps, path, jp, keys));
  if (!(meta = member(ps, path, jp, "metadata", JSON_OBJECT, "an object", &rc))) return rc;
  if (!(p->ops = member(ps, path, jp, "patch", JSON_ARRAY,
                        "an array (a JSON "
                        "Patch)",
                        &rc)))
    return rc;
  snprintf(where, sizeof where, "%s.metadata", path);
  if (!(name = member(ps, where, meta, "name", JSON_STRING, "a string", &rc))) return rc;
  p->name = json_string_value(name);
  if (!plain_name(p->name)) {
    snprintf(where, sizeof where, "%s.metadata.name", path);
    return ps_fail(ps, where, "'%s' is not a name of letters, digits and '_'", p->name);
  }
  snprintf(where, sizeof where, "%s.metadata", path);
  if (!(values = member(ps, where, meta, "values", JSON_ARRAY, "an array", &rc))) return rc;
  p->values = values;
  snprintf(where, sizeof where, "%s.metadata.values", path);
  if ((int)json_array_size(values) != ps->nlabels)
    return ps_fail(ps, where, "%zu values for %d labels", json_array_size(values), ps->nlabels);
  HFS_ALLOC(p->texts, ps->nlabels);
  for (int k = 0; k < ps->nlabels; k++) {
    json_t *v = json_array_get(values, (size_t)k);
    if (!json_is_number(v) && !json_is_string(v)) {
      snprintf(where, sizeof where, "%s.metadata.values[%d]", path, k);
      return ps_fail(ps, where, "expected a number or a string, got %s", type_name(v));
    }
    p->texts[k] = value_text(v);
    if (!p->texts[k]) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", ps->file);
  }
  size_t n = strlen(ps->file) + strlen(p->name) + 2;
  HFS_ALLOC(p->label, n);
  snprintf(p->label, n, "%s:%s", ps->file, p->name);
cleanup:
  return rc;
}

/* Two patches with the same values are as ambiguous as two with the same
 * name: pyhf refuses both. */
static int same_values(const hfs_patchset *ps, const ps_patch *a, const ps_patch *b) {
  for (int k = 0; k < ps->nlabels; k++) {
    const json_t *x = json_array_get(a->values, (size_t)k);
    const json_t *y = json_array_get(b->values, (size_t)k);
    if (json_is_number(x) && json_is_number(y)) {
      if (json_number_value(x) != json_number_value(y)) return 0;
    } else if (!json_equal((json_t *)x, (json_t *)y)) {
      return 0;
    }
  }
  return 1;
}

static int read_patchset(hfs_patchset *ps) {
  static const char *const top_keys[] = {"metadata", "patches", "version", NULL};
  int rc = HFS_OK;
  json_t *v, *patches;
  if (!json_is_object(ps->root))
    return ps_fail(ps, "", "expected a pyhf patchset (an object), got %s%s", type_name(ps->root),
                   json_is_array(ps->root) ? " (a JSON Patch? give it with "
                                             "--patch)"
                                           : "");
  HFS_CHECK(only_keys(ps, "", ps->root, top_keys));
  if (!(v = member(ps, "", ps->root, "version", JSON_STRING, "a string", &rc))) return rc;
  if (strcmp(json_string_value(v), "1.0.0") != 0)
    return ps_fail(ps, "version", "'%s' (hfscan reads patchset schema 1.0.0)",
                   json_string_value(v));
  if (!(v = member(ps, "", ps->root, "metadata", JSON_OBJECT, "an object", &rc))) return rc;
  HFS_CHECK(read_metadata(ps, v));
  if (!(patches = member(ps, "", ps->root, "patches", JSON_ARRAY, "an array", &rc))) return rc;
  if (json_array_size(patches) == 0)
    return ps_fail(ps, "patches",
                   "empty patchset (no patches; the schema "
                   "requires at least one)");
  if (json_array_size(patches) > 1000000)
    return ps_fail(ps, "patches", "too many patches (%zu)", json_array_size(patches));
  ps->npatches = (int)json_array_size(patches);
  HFS_ALLOC(ps->patches, ps->npatches);
  for (int i = 0; i < ps->npatches; i++)
    HFS_CHECK(read_patch(ps, i, json_array_get(patches, (size_t)i)));
  /* Quadratic, but a patchset holds hundreds of points, not millions, and
   * this keeps the first of two duplicates named in the message. */
  for (int i = 1; i < ps->npatches; i++)
    for (int j = 0; j < i; j++) {
      char where[96];
      snprintf(where, sizeof where, "patches[%d].metadata", i);
      if (!strcmp(ps->patches[i].name, ps->patches[j].name))
        return ps_fail(ps, where,
                       "duplicate patch name '%s' (also "
                       "patches[%d])",
                       ps->patches[i].name, j);
      if (same_values(ps, &ps->patches[i], &ps->patches[j]))
        return ps_fail(ps, where,
                       "patch '%s' has the same values as "
                       "patches[%d] ('%s')",
                       ps->patches[i].name, j, ps->patches[j].name);
    }
cleanup:
  return rc;
}

int hfs_patchset_read(const char *filename, hfs_patchset **out) {
  char *buf = NULL;
  size_t len = 0;
  hfs_patchset *ps = NULL;
  int rc = HFS_OK;
  if (!out) return hfs_error_set(HFS_ERR_ARG, "hfs_patchset_read: out is NULL");
  *out = NULL;
  HFS_ALLOC(ps, 1);
  ps->file = strdup(filename);
  if (!ps->file) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", filename);
  HFS_CHECK(hfs__spec_slurp(filename, &buf, &len));
  HFS_CHECK(hfs__spec_parse_exact(buf, len, filename, &ps->root));
  HFS_CHECK(read_patchset(ps));
  *out = ps;
  ps = NULL;
cleanup:
  hfs_patchset_destroy(&ps);
  free(buf);
  return rc;
}

void hfs_patchset_destroy(hfs_patchset **pps) {
  if (!pps || !*pps) return;
  hfs_patchset *ps = *pps;
  json_decref(ps->bkg);
  free(ps->bkg_file);
  for (int i = 0; i < ps->npatches; i++) {
    if (ps->patches[i].texts)
      for (int k = 0; k < ps->nlabels; k++) free(ps->patches[i].texts[k]);
    free(ps->patches[i].texts);
    free(ps->patches[i].label);
  }
  free(ps->patches);
  free(ps->labels);
  json_decref(ps->root);
  free(ps->file);
  free(ps);
  *pps = NULL;
}

const char *hfs_patchset_file(const hfs_patchset *ps) { return ps->file; }
const char *hfs_patchset_description(const hfs_patchset *ps) { return ps->description; }
int hfs_patchset_size(const hfs_patchset *ps) { return ps->npatches; }
int hfs_patchset_nlabels(const hfs_patchset *ps) { return ps->nlabels; }
const char *hfs_patchset_label(const hfs_patchset *ps, int k) {
  return k >= 0 && k < ps->nlabels ? ps->labels[k] : NULL;
}
const char *hfs_patchset_digest(const hfs_patchset *ps, const char *alg) {
  if (!strcmp(alg, "sha256")) return ps->sha256;
  if (!strcmp(alg, "md5")) return ps->md5;
  return NULL;
}
const char *hfs_patchset_name(const hfs_patchset *ps, int i) {
  return i >= 0 && i < ps->npatches ? ps->patches[i].name : NULL;
}
int hfs_patchset_find(const hfs_patchset *ps, const char *name) {
  for (int i = 0; i < ps->npatches; i++)
    if (!strcmp(ps->patches[i].name, name)) return i;
  return -1;
}
double hfs_patchset_value(const hfs_patchset *ps, int i, int k) {
  const json_t *v = json_array_get(ps->patches[i].values, (size_t)k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}
const char *hfs_patchset_value_text(const hfs_patchset *ps, int i, int k) {
  return ps->patches[i].texts[k];
}

int hfs__patchset_verify_root(const hfs_patchset *ps, const json_t *root, const char *what) {
  char hex[65];
  int rc = HFS_OK;
  if (!ps->sha256) {
    /* md5 is the schema's other algorithm; hfscan computes sha256 only. */
    return hfs_error_set(HFS_ERR_MISMATCH,
                         "%s: has no sha256 digest to "
                         "check %s against (--no-digest-check skips the "
                         "check)",
                         ps->file, what);
  }
  HFS_CHECK(hfs__spec_digest(root, hex));
  if (strcasecmp(hex, ps->sha256) != 0)
    HFS_FAIL(HFS_ERR_MISMATCH,
             "%s: the patchset was made for a workspace of "
             "sha256 digest %s, but %s has %s (--no-digest-check to apply it "
             "anyway)",
             ps->file, ps->sha256, what, hex);
cleanup:
  return rc;
}

int hfs__patchset_apply_root(const hfs_patchset *ps, int k, json_t **root) {
  return hfs__spec_patch_apply(root, ps->patches[k].ops, ps->patches[k].label);
}

static int read_exact(const char *file, json_t **root) {
  char *buf = NULL;
  size_t len = 0;
  int rc = HFS_OK;
  HFS_CHECK(hfs__spec_slurp(file, &buf, &len));
  HFS_CHECK(hfs__spec_parse_exact(buf, len, file, root));
cleanup:
  free(buf);
  return rc;
}

/* The background workspace: a copy of the one kept, or read from file. */
static int read_background(const hfs_patchset *ps, const char *file, json_t **root) {
  if (ps->bkg && !strcmp(ps->bkg_file, file)) {
    if (!(*root = json_deep_copy(ps->bkg))) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
    return HFS_OK;
  }
  return read_exact(file, root);
}

int hfs_patchset_keep_background(hfs_patchset *ps, const char *workspace_file) {
  int rc = HFS_OK;
  json_t *root = NULL;
  HFS_CHECK(read_exact(workspace_file, &root));
  json_decref(ps->bkg);
  free(ps->bkg_file);
  ps->bkg = root;
  root = NULL;
  if (!(ps->bkg_file = strdup(workspace_file))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
cleanup:
  json_decref(root);
  return rc;
}

int hfs_patchset_verify(const hfs_patchset *ps, const char *workspace_file) {
  json_t *root = NULL;
  int rc = HFS_OK;
  HFS_CHECK(read_background(ps, workspace_file, &root));
  HFS_CHECK(hfs__patchset_verify_root(ps, root, workspace_file));
cleanup:
  json_decref(root);
  return rc;
}

static int check_index(const hfs_patchset *ps, int i) {
  if (i < 0 || i >= ps->npatches)
    return hfs_error_set(HFS_ERR_ARG, "%s: no patch %d (%d patches)", ps->file, i, ps->npatches);
  return HFS_OK;
}

static int patched_root(const hfs_patchset *ps, int i, const char *file, unsigned flags,
                        json_t **root) {
  int rc = HFS_OK;
  HFS_CHECK(check_index(ps, i));
  HFS_CHECK(read_background(ps, file, root));
  if (!(flags & HFS_SPEC_NO_DIGEST_CHECK)) HFS_CHECK(hfs__patchset_verify_root(ps, *root, file));
  HFS_CHECK(hfs__patchset_apply_root(ps, i, root));
cleanup:
  return rc;
}

int hfs_patchset_workspace(const hfs_patchset *ps, int i, const char *workspace_file,
                           unsigned flags, hfs_spec **out) {
  json_t *root = NULL;
  char *label = NULL;
  int rc = HFS_OK;
  *out = NULL;
  HFS_CHECK(patched_root(ps, i, workspace_file, flags, &root));
  size_t n = strlen(workspace_file) + strlen(ps->patches[i].label) + 2;
  HFS_ALLOC(label, n);
  snprintf(label, n, "%s+%s", workspace_file, ps->patches[i].label);
  HFS_CHECK(hfs__spec_from_root(root, label, out));
cleanup:
  json_decref(root);
  free(label);
  return rc;
}

static int write_json(const json_t *v, FILE *out) {
  char *text = NULL;
  size_t len = 0;
  int rc = hfs__spec_dump(v, 4, &text, &len);
  if (rc) return rc;
  if (fwrite(text, 1, len, out) != len || fflush(out) != 0)
    rc = hfs_error_set(HFS_ERR_IO, "write error");
  free(text);
  return rc;
}

int hfs_patchset_write_patch(const hfs_patchset *ps, int i, FILE *out) {
  int rc = check_index(ps, i);
  if (rc) return rc;
  return write_json(ps->patches[i].ops, out);
}

int hfs_patchset_write_workspace(const hfs_patchset *ps, int i, const char *workspace_file,
                                 unsigned flags, FILE *out) {
  json_t *root = NULL;
  hfs_spec *spec = NULL;
  int rc = HFS_OK;
  HFS_CHECK(patched_root(ps, i, workspace_file, flags, &root));
  /* A patch that leaves something pyhf would refuse is refused here too,
   * rather than written out. */
  HFS_CHECK(hfs__spec_from_root(root, ps->patches[i].label, &spec));
  HFS_CHECK(write_json(root, out));
cleanup:
  hfs_spec_destroy(&spec);
  json_decref(root);
  return rc;
}
