/* pyhf's digest of a JSON document: the SHA-256 of the text Python's
 * json.dumps(obj, sort_keys=True, ensure_ascii=False) writes, encoded as
 * UTF-8 (PYHF:src/pyhf/utils.py, digest).  A patchset records this digest of
 * the background-only workspace it was made for, so a reader must reproduce
 * Python's serialisation byte for byte:
 *
 *  - separators ", " and ": ", no newline, keys sorted by code point (byte
 *    order of UTF-8 is the same order);
 *  - strings escape '"', '\\', \b \f \n \r \t and other control characters
 *    below 0x20 as \u00xx; everything else, non-ASCII included, is written
 *    as it is;
 *  - integers as integers, floats as Python's repr: the shortest digits that
 *    read back to the same double, in positional form for decimal exponents
 *    -4 <= e < 16 (with ".0" when there is no fractional part) and as
 *    "1.5e-05" / "1e+16" otherwise.
 *
 * The document must have been parsed with integers kept as integers
 * (hfs__spec_parse_exact), since 100 and 100.0 hash differently. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_util.h"
#include "spec_internal.h"

typedef struct {
  char *buf;
  size_t len, cap;
  int nomem;
} sink;

static void put(sink *s, const char *p, size_t n) {
  if (s->nomem) return;
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 1 << 16;
    while (cap < s->len + n) cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b) {
      s->nomem = 1;
      return;
    }
    s->buf = b;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

static void puts_(sink *s, const char *p) { put(s, p, strlen(p)); }

static void put_string(sink *s, const char *str, size_t n) {
  put(s, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)str[i];
    char esc[8];
    const char *e = NULL;
    switch (c) {
      case '"': e = "\\\""; break;
      case '\\': e = "\\\\"; break;
      case '\b': e = "\\b"; break;
      case '\f': e = "\\f"; break;
      case '\n': e = "\\n"; break;
      case '\r': e = "\\r"; break;
      case '\t': e = "\\t"; break;
      default:
        if (c < 0x20) {
          snprintf(esc, sizeof esc, "\\u%04x", c);
          e = esc;
        }
    }
    if (e)
      puts_(s, e);
    else
      put(s, (const char *)&str[i], 1);
  }
  put(s, "\"", 1);
}

/* Python's float repr (format code 'r' of PyOS_double_to_string). */
void hfs__py_float_repr(double x, char *out, size_t n) {
  char tmp[40], digits[24];
  int prec, exp10;
  if (x == 0) {
    snprintf(out, n, "%s", signbit(x) ? "-0.0" : "0.0");
    return;
  }
  /* The shortest %.{p}e that reads back exactly: the correctly rounded
   * decimal of that length, which is the one Python's dtoa picks. */
  for (prec = 0; prec < 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec, x);
    if (strtod(tmp, NULL) == x) break;
  }
  snprintf(tmp, sizeof tmp, "%.*e", prec, x);
  const char *p = tmp;
  int neg = *p == '-';
  if (neg) p++;
  size_t nd = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  digits[nd] = '\0';
  exp10 = atoi(p + 1);
  /* Trailing zeros carry no information (a %.0e already has none). */
  while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = '\0';
  int decpt = exp10 + 1; /* x = 0.d1d2... * 10^decpt */
  size_t o = 0;
  char res[64];
  if (neg) res[o++] = '-';
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      res[o++] = '0';
      res[o++] = '.';
      for (int k = 0; k < -decpt; k++) res[o++] = '0';
      for (size_t k = 0; k < nd; k++) res[o++] = digits[k];
    } else {
      for (int k = 0; k < decpt; k++) res[o++] = (size_t)k < nd ? digits[k] : '0';
      res[o++] = '.';
      if ((size_t)decpt < nd)
        for (size_t k = (size_t)decpt; k < nd; k++) res[o++] = digits[k];
      else
        res[o++] = '0';
    }
    res[o] = '\0';
  } else {
    res[o++] = digits[0];
    if (nd > 1) {
      res[o++] = '.';
      for (size_t k = 1; k < nd; k++) res[o++] = digits[k];
    }
    snprintf(res + o, sizeof res - o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
  }
  snprintf(out, n, "%s", res);
}

static int cmp_key(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void newline(sink *s, int indent, int level) {
  put(s, "\n", 1);
  for (int k = 0; k < indent * level; k++) put(s, " ", 1);
}

/* indent < 0: one line with ", " and ": " (json.dumps's defaults);
 * indent >= 0: one member per line, "," and ": " (json.dumps(indent=...)).
 * Depth is bounded by the parser (HFS_SPEC_MAX_DEPTH), so recursion is. */
static void put_value(sink *s, const json_t *v, int indent, int level) {
  char num[64];
  const char *sep = indent < 0 ? ", " : ",";
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      size_t n = json_object_size(v), i = 0;
      const char **keys = malloc((n ? n : 1) * sizeof *keys);
      const char *k;
      json_t *x;
      if (!keys) {
        s->nomem = 1;
        return;
      }
      json_object_foreach((json_t *)v, k, x) keys[i++] = k;
      qsort(keys, n, sizeof *keys, cmp_key);
      put(s, "{", 1);
      for (i = 0; i < n; i++) {
        if (i) puts_(s, sep);
        if (indent >= 0) newline(s, indent, level + 1);
        put_string(s, keys[i], strlen(keys[i]));
        put(s, ": ", 2);
        put_value(s, json_object_get(v, keys[i]), indent, level + 1);
      }
      if (n && indent >= 0) newline(s, indent, level);
      put(s, "}", 1);
      free(keys);
      break;
    }
    case JSON_ARRAY: {
      size_t n = json_array_size(v);
      put(s, "[", 1);
      for (size_t i = 0; i < n; i++) {
        if (i) puts_(s, sep);
        if (indent >= 0) newline(s, indent, level + 1);
        put_value(s, json_array_get(v, i), indent, level + 1);
      }
      if (n && indent >= 0) newline(s, indent, level);
      put(s, "]", 1);
      break;
    }
    case JSON_STRING: put_string(s, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
      snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      puts_(s, num);
      break;
    case JSON_REAL:
      hfs__py_float_repr(json_real_value(v), num, sizeof num);
      puts_(s, num);
      break;
    case JSON_TRUE: puts_(s, "true"); break;
    case JSON_FALSE: puts_(s, "false"); break;
    case JSON_NULL: puts_(s, "null"); break;
  }
}

int hfs__spec_dump(const json_t *root, int indent, char **text, size_t *len) {
  sink s = {0};
  put_value(&s, root, indent, 0);
  if (indent >= 0) put(&s, "\n", 1);
  if (s.nomem) {
    free(s.buf);
    return hfs_error_set(HFS_ERR_NOMEM, "JSON output: out of memory");
  }
  *text = s.buf;
  *len = s.len;
  return HFS_OK;
}

int hfs__spec_digest(const json_t *root, char hex[65]) {
  char *text = NULL;
  size_t len = 0;
  int rc = hfs__spec_dump(root, -1, &text, &len);
  if (rc) return rc;
  hfs_sha256_buffer(text, len, hex);
  free(text);
  return HFS_OK;
}

int hfs_workspace_digest(const char *filename, char hex[65]) {
  char *buf = NULL;
  size_t len = 0;
  json_t *root = NULL;
  int rc = HFS_OK;
  HFS_CHECK(hfs__spec_slurp(filename, &buf, &len));
  HFS_CHECK(hfs__spec_parse_exact(buf, len, filename, &root));
  HFS_CHECK(hfs__spec_digest(root, hex));
cleanup:
  json_decref(root);
  free(buf);
  return rc;
}
