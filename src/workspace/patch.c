/* RFC 6902 JSON Patch (with RFC 6901 JSON Pointers) on jansson trees.
 *
 * Published likelihoods often come as a background-only workspace plus one
 * patch per signal hypothesis (HEPData "pallets"); pyhf users apply them with
 * `pyhf patchset apply` or the jsonpatch package.  Patching happens on the
 * parsed document, before the structural reading, so that the reader sees
 * exactly the workspace pyhf would see.
 *
 * Every message names the patch file, the index of the operation, its op and
 * path, and the problem: "P.json: [3] (op remove, path /channels/7): path
 * does not exist".  The document never becomes deeper than
 * HFS_SPEC_MAX_DEPTH, so that the recursive jansson functions used here and
 * later (comparison, copy, release) stay within a bounded stack. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hfs_error.h"
#include "hfs_workspace.h"
#include "spec_internal.h"

/* Longest rendering of a pointer or member name inside a message. */
#define PATCH_SHOW_MAX 160

typedef enum { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST } op_kind;

static const char *const op_names[] = {"add", "remove", "replace", "move", "copy", "test"};

/* Where in the patch file an operation is, for messages. */
typedef struct {
  const char *file;
  size_t index;
  const char *op;   /* NULL until known */
  const char *path; /* raw pointer strings; NULL until known */
  const char *from;
} patch_ctx;

/* A parsed JSON Pointer: the unescaped reference tokens, and for each the
 * length of the raw pointer up to and including it (to name prefixes). */
typedef struct {
  const char *raw;
  size_t n;
  char **tok;
  size_t *end;
} pointer;

static int op_fail(const patch_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int op_fail(const patch_ctx *c, const char *fmt, ...) {
  char msg[512], where[2 * PATCH_SHOW_MAX + 64] = "";
  char shown_path[PATCH_SHOW_MAX], shown_from[PATCH_SHOW_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->op && c->path && c->from)
    snprintf(where, sizeof where, " (op %s, from %s, path %s)", c->op,
             hfs__spec_show(c->from, shown_from, sizeof shown_from),
             hfs__spec_show(c->path, shown_path, sizeof shown_path));
  else if (c->op && c->path)
    snprintf(where, sizeof where, " (op %s, path %s)", c->op,
             hfs__spec_show(c->path, shown_path, sizeof shown_path));
  else if (c->op)
    snprintf(where, sizeof where, " (op %s)", c->op);
  return hfs_error_set(HFS_ERR_SCHEMA, "%s: [%zu]%s: %s", c->file, c->index, where, msg);
}

static const char *kind_phrase(const json_t *v) {
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

static void pointer_free(pointer *p) {
  for (size_t i = 0; i < p->n; i++) free(p->tok[i]);
  free(p->tok);
  free(p->end);
  memset(p, 0, sizeof *p);
}

/* The raw pointer up to token i (exclusive), for messages; "" names the
 * whole document. */
static const char *prefix(const pointer *p, size_t i, char *buf, size_t n) {
  char cut[PATCH_SHOW_MAX];
  size_t len = i == 0 ? 0 : p->end[i - 1];
  if (len == 0) return "the document root";
  if (len >= sizeof cut) len = sizeof cut - 1;
  memcpy(cut, p->raw, len);
  cut[len] = '\0';
  return hfs__spec_show(cut, buf, n);
}

/* Split and unescape a JSON Pointer (RFC 6901): "" is the whole document,
 * anything else starts with '/'; "~1" stands for '/' and "~0" for '~'. */
static int pointer_parse(const patch_ctx *c, const char *which, const json_t *js, pointer *p) {
  const char *s = json_string_value(js);
  size_t len = json_string_length(js);
  memset(p, 0, sizeof *p);
  p->raw = s;
  if (strlen(s) != len) return op_fail(c, "'%s' contains a NUL character", which);
  if (len == 0) return HFS_OK;
  if (s[0] != '/')
    return op_fail(c, "'%s' must be empty or start with '/' (a JSON Pointer)", which);
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += s[i] == '/';
  p->tok = calloc(n, sizeof *p->tok);
  p->end = calloc(n, sizeof *p->end);
  if (!p->tok || !p->end) {
    pointer_free(p);
    return hfs_error_set(HFS_ERR_NOMEM, "%s: out of memory", c->file);
  }
  const char *at = s + 1;
  for (size_t t = 0; t < n; t++) {
    const char *stop = strchr(at, '/');
    size_t tl = stop ? (size_t)(stop - at) : strlen(at);
    char *tok = malloc(tl + 1);
    if (!tok) {
      pointer_free(p);
      return hfs_error_set(HFS_ERR_NOMEM, "%s: out of memory", c->file);
    }
    p->tok[p->n++] = tok;
    size_t o = 0;
    for (size_t i = 0; i < tl; i++) {
      if (at[i] != '~') {
        tok[o++] = at[i];
      } else if (i + 1 < tl && (at[i + 1] == '0' || at[i + 1] == '1')) {
        tok[o++] = at[i + 1] == '0' ? '~' : '/';
        i++;
      } else {
        pointer_free(p);
        return op_fail(c,
                       "invalid escape in '%s' ('~' must be followed by 0 or "
                       "1)",
                       which);
      }
    }
    tok[o] = '\0';
    p->end[t] = (size_t)(at + tl - s);
    at += tl + 1;
  }
  return HFS_OK;
}

/* An array index token: "0" or digits without a leading zero. */
static int parse_index(const char *tok, size_t *out) {
  size_t v = 0;
  if (!*tok || (tok[0] == '0' && tok[1])) return 0;
  for (const char *q = tok; *q; q++) {
    if (*q < '0' || *q > '9') return 0;
    if (v > (SIZE_MAX - 9) / 10) return 0;
    v = 10 * v + (size_t)(*q - '0');
  }
  *out = v;
  return 1;
}

/* The place a pointer names: its parent container and, within it, a member
 * name or an array position.  target is the value there (NULL when an add
 * creates it).  A pointer with no tokens names the root: parent NULL. */
typedef struct {
  json_t *parent;
  const char *key;
  size_t index;
  int append; /* "-": one past the last array entry */
  json_t *target;
} place;

/* Resolve p in root.  for_add allows a new member, the index one past the
 * end and "-" as the last token; otherwise the target must exist. */
static int locate(const patch_ctx *c, const char *which, json_t *root, const pointer *p,
                  int for_add, place *pl) {
  char shown[PATCH_SHOW_MAX], tshown[PATCH_SHOW_MAX];
  json_t *cur = root;
  memset(pl, 0, sizeof *pl);
  if (p->n == 0) {
    pl->target = root;
    return HFS_OK;
  }
  for (size_t i = 0; i < p->n; i++) {
    const char *tok = p->tok[i];
    int last = i + 1 == p->n;
    json_t *next = NULL;
    if (json_is_object(cur)) {
      next = json_object_get(cur, tok);
      if (last) {
        pl->parent = cur;
        pl->key = tok;
      }
    } else if (json_is_array(cur)) {
      size_t idx = 0, size = json_array_size(cur);
      if (last && for_add && strcmp(tok, "-") == 0) {
        pl->parent = cur;
        pl->append = 1;
        pl->index = size;
        return HFS_OK;
      }
      if (!parse_index(tok, &idx))
        return op_fail(c,
                       "%s does not exist ('%s' is not an array index, and "
                       "%s is an array)",
                       which, hfs__spec_show(tok, tshown, sizeof tshown),
                       prefix(p, i, shown, sizeof shown));
      if (last && for_add && idx > size)
        return op_fail(c,
                       "array index %zu is out of range (the array has %zu "
                       "entries; add accepts 0 to %zu or '-')",
                       idx, size, size);
      if (idx < size) next = json_array_get(cur, idx);
      if (last) {
        pl->parent = cur;
        pl->index = idx;
      }
      if (!next && !(last && for_add))
        return op_fail(c,
                       "%s does not exist (index %zu, but %s has %zu "
                       "entries)",
                       which, idx, prefix(p, i, shown, sizeof shown), size);
    } else {
      return op_fail(c, "%s does not exist (%s is %s, not an object or array)", which,
                     prefix(p, i, shown, sizeof shown), kind_phrase(cur));
    }
    if (!next && !(last && for_add)) {
      if (last) return op_fail(c, "%s does not exist", which);
      return op_fail(c, "%s does not exist (%s has no member '%s')", which,
                     prefix(p, i, shown, sizeof shown), hfs__spec_show(tok, tshown, sizeof tshown));
    }
    cur = next;
  }
  pl->target = cur;
  return HFS_OK;
}

/* Nesting depth of a value: 0 for a scalar, 1 + the deepest child for a
 * container.  Values come from documents already limited in depth, so the
 * recursion is bounded. */
static int depth_of(const json_t *v) {
  int d = 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      int e = depth_of(x);
      if (e > d) d = e;
    }
    return d + 1;
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      int e = depth_of(x);
      if (e > d) d = e;
    }
    return d + 1;
  }
  return 0;
}

/* RFC 6902 equality for "test": numbers compare by value, so 12 equals
 * 12.0 (integers are kept as integers for digests).  Depth is bounded as
 * for depth_of. */
static int values_equal(const json_t *a, const json_t *b) {
  if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
  if (json_typeof(a) != json_typeof(b)) return 0;
  if (json_is_array(a)) {
    if (json_array_size(a) != json_array_size(b)) return 0;
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!values_equal(json_array_get(a, i), json_array_get(b, i))) return 0;
    return 1;
  }
  if (json_is_object(a)) {
    const char *k;
    json_t *x;
    if (json_object_size(a) != json_object_size(b)) return 0;
    json_object_foreach((json_t *)a, k, x) {
      const json_t *y = json_object_get(b, k);
      if (!y || !values_equal(x, y)) return 0;
    }
    return 1;
  }
  return json_equal((json_t *)a, (json_t *)b);
}

/* Put value (a reference the function takes over, also on failure) at p,
 * located with for_add = 1 (add, copy, move: an array entry is inserted) or
 * 0 (replace: the array entry is overwritten). */
static int put(const patch_ctx *c, json_t **root, const pointer *p, const place *pl, int replace,
               json_t *value) {
  int d = depth_of(value);
  if ((size_t)d + p->n > HFS_SPEC_MAX_DEPTH) {
    json_decref(value);
    return op_fail(c, "the result would nest deeper than %d levels", HFS_SPEC_MAX_DEPTH);
  }
  int bad = 0;
  if (!pl->parent) {
    json_decref(*root);
    *root = value;
  } else if (json_is_object(pl->parent)) {
    bad = json_object_set_new(pl->parent, pl->key, value);
  } else if (pl->append) {
    bad = json_array_append_new(pl->parent, value);
  } else if (replace) {
    bad = json_array_set_new(pl->parent, pl->index, value);
  } else {
    bad = json_array_insert_new(pl->parent, pl->index, value);
  }
  if (bad) return hfs_error_set(HFS_ERR_NOMEM, "%s: out of memory", c->file);
  return HFS_OK;
}

static int remove_at(const patch_ctx *c, const place *pl) {
  int bad;
  if (!pl->parent) return op_fail(c, "cannot remove the whole document");
  if (json_is_object(pl->parent))
    bad = json_object_del(pl->parent, pl->key);
  else
    bad = json_array_remove(pl->parent, pl->index);
  if (bad) return hfs_error_set(HFS_ERR_INTERNAL, "%s: remove failed", c->file);
  return HFS_OK;
}

static int pointer_is_proper_prefix(const pointer *a, const pointer *b) {
  if (a->n >= b->n) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->tok[i], b->tok[i]) != 0) return 0;
  return 1;
}

/* Read the string member `key` of an operation, required or not. */
static int op_string(const patch_ctx *c, json_t *jop, const char *key, json_t **out) {
  json_t *v = json_object_get(jop, key);
  *out = v;
  if (!v) return op_fail(c, "missing '%s'", key);
  if (!json_is_string(v)) return op_fail(c, "'%s' must be a string, got %s", key, kind_phrase(v));
  return HFS_OK;
}

static int apply_op(patch_ctx *c, json_t **root, json_t *jop) {
  pointer path = {0}, from = {0};
  place pl, src;
  json_t *jv, *jpath, *jfrom = NULL, *value = NULL;
  op_kind kind = OP_ADD;
  int rc = HFS_OK, found = 0;

  if (!json_is_object(jop))
    return op_fail(c, "expected an operation (an object), got %s", kind_phrase(jop));
  /* Members that RFC 6902 does not define for an operation are ignored, as
   * the RFC requires. */
  jv = json_object_get(jop, "op");
  if (!jv) return op_fail(c, "missing 'op'");
  if (!json_is_string(jv)) return op_fail(c, "'op' must be a string, got %s", kind_phrase(jv));
  for (int k = 0; k < (int)(sizeof op_names / sizeof op_names[0]); k++)
    if (strcmp(json_string_value(jv), op_names[k]) == 0) {
      kind = (op_kind)k;
      found = 1;
    }
  if (!found) {
    char shown[PATCH_SHOW_MAX];
    return op_fail(c,
                   "unknown op '%s' (RFC 6902 defines add, remove, replace, "
                   "move, copy and test)",
                   hfs__spec_show(json_string_value(jv), shown, sizeof shown));
  }
  c->op = op_names[kind];
  HFS_CHECK(op_string(c, jop, "path", &jpath));
  c->path = json_string_value(jpath);
  if (kind == OP_MOVE || kind == OP_COPY) {
    HFS_CHECK(op_string(c, jop, "from", &jfrom));
    c->from = json_string_value(jfrom);
  }
  if (kind == OP_ADD || kind == OP_REPLACE || kind == OP_TEST) {
    value = json_object_get(jop, "value");
    if (!value) HFS_CHECK(op_fail(c, "missing 'value'"));
  }
  HFS_CHECK(pointer_parse(c, "path", jpath, &path));
  if (jfrom) HFS_CHECK(pointer_parse(c, "from", jfrom, &from));

  switch (kind) {
    case OP_ADD:
      HFS_CHECK(locate(c, "path", *root, &path, 1, &pl));
      /* The value stays shared with the patch document, which is released
       * unchanged once every operation has been applied. */
      HFS_CHECK(put(c, root, &path, &pl, 0, json_incref(value)));
      break;
    case OP_REMOVE:
      HFS_CHECK(locate(c, "path", *root, &path, 0, &pl));
      HFS_CHECK(remove_at(c, &pl));
      break;
    case OP_REPLACE:
      HFS_CHECK(locate(c, "path", *root, &path, 0, &pl));
      HFS_CHECK(put(c, root, &path, &pl, 1, json_incref(value)));
      break;
    case OP_TEST:
      HFS_CHECK(locate(c, "path", *root, &path, 0, &pl));
      if (!values_equal(pl.target, value))
        HFS_CHECK(op_fail(c, "test failed: the value at the path differs"));
      break;
    case OP_COPY: {
      HFS_CHECK(locate(c, "from path", *root, &from, 0, &src));
      json_t *copy = json_deep_copy(src.target);
      if (!copy) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", c->file);
      rc = locate(c, "path", *root, &path, 1, &pl);
      if (rc) {
        json_decref(copy);
        goto cleanup;
      }
      HFS_CHECK(put(c, root, &path, &pl, 0, copy));
      break;
    }
    case OP_MOVE: {
      if (pointer_is_proper_prefix(&from, &path))
        HFS_CHECK(op_fail(c, "cannot move a value into one of its own members"));
      HFS_CHECK(locate(c, "from path", *root, &from, 0, &src));
      json_t *moved = json_incref(src.target);
      /* Remove first: the target path is interpreted in the document
       * without the moved value (RFC 6902, 4.4). */
      rc = remove_at(c, &src);
      if (!rc) rc = locate(c, "path", *root, &path, 1, &pl);
      if (rc) {
        json_decref(moved);
        goto cleanup;
      }
      HFS_CHECK(put(c, root, &path, &pl, 0, moved));
      break;
    }
  }

cleanup:
  pointer_free(&path);
  pointer_free(&from);
  return rc;
}

int hfs__spec_patch_apply(json_t **root, const json_t *patch, const char *label) {
  int rc = HFS_OK;
  for (size_t i = 0; i < json_array_size(patch); i++) {
    patch_ctx c = {.file = label, .index = i};
    HFS_CHECK(apply_op(&c, root, json_array_get(patch, i)));
  }
cleanup:
  return rc;
}

/* "PATCHSET.json:NAME": the named patch of a patchset, checked against the
 * document it is applied to. */
static int patch_from_patchset(json_t **root, const char *arg, const char *colon, unsigned flags) {
  hfs_patchset *ps = NULL;
  char *file = strndup(arg, (size_t)(colon - arg));
  int rc = HFS_OK;
  if (!file) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", arg);
  HFS_CHECK(hfs_patchset_read(file, &ps));
  int k = hfs_patchset_find(ps, colon + 1);
  if (k < 0)
    HFS_FAIL(HFS_ERR_NOT_FOUND,
             "%s: no patch named '%s' (%d patches; 'hfscan "
             "patchset list %s' lists them)",
             file, colon + 1, hfs_patchset_size(ps), file);
  if (!(flags & HFS_SPEC_NO_DIGEST_CHECK))
    HFS_CHECK(hfs__patchset_verify_root(ps, *root, "the workspace"));
  HFS_CHECK(hfs__patchset_apply_root(ps, k, root));
cleanup:
  hfs_patchset_destroy(&ps);
  free(file);
  return rc;
}

int hfs__spec_patch_file(json_t **root, const char *patchfile, unsigned flags) {
  char *buf = NULL;
  size_t len = 0;
  json_t *patch = NULL;
  int rc = HFS_OK;

  /* A file of the whole name wins, so that names with a colon still work. */
  const char *colon = strrchr(patchfile, ':');
  if (colon && colon != patchfile && colon[1] && access(patchfile, F_OK) != 0)
    return patch_from_patchset(root, patchfile, colon, flags);
  HFS_CHECK(hfs__spec_slurp(patchfile, &buf, &len));
  HFS_CHECK(hfs__spec_parse_exact(buf, len, patchfile, &patch));
  if (!json_is_array(patch)) {
    /* pyhf's patchsets (an object with "patches") are a common mix-up. */
    int patchset = json_is_object(patch) && json_object_get(patch, "patches");
    HFS_FAIL(HFS_ERR_SCHEMA, "%s: expected a JSON Patch (an array of operations), got %s%s",
             patchfile, kind_phrase(patch),
             patchset ? " (a pyhf patchset: name one patch with "
                        "PATCHSET.json:NAME)"
                      : "");
  }
  HFS_CHECK(hfs__spec_patch_apply(root, patch, patchfile));

cleanup:
  json_decref(patch);
  free(buf);
  return rc;
}
