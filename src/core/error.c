#include "hfs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char hfs__msg[1024];
static _Thread_local int hfs__code;
static _Thread_local struct {
  const char *file[HFS_ERROR_TRACE_MAX];
  int line[HFS_ERROR_TRACE_MAX];
  int depth; /* sites seen, may exceed HFS_ERROR_TRACE_MAX */
} hfs__trace;
static _Thread_local char hfs__trace_text[HFS_ERROR_TRACE_MAX * 256 + 32];

static const char *const hfs__texts[] = {
#define HFS_ERROR_TEXT(sym, text) text,
    HFS_ERROR_LIST(HFS_ERROR_TEXT)
#undef HFS_ERROR_TEXT
};

const char *hfs_strerror(int code) {
  if (code < 0 || code >= HFS_ERR_COUNT) return "unknown error";
  return hfs__texts[code];
}

int hfs_error_set(int code, const char *fmt, ...) {
  /* Formatted apart first: a caller may pass hfs_error_message() itself as
   * an argument, to wrap the previous message. */
  char text[sizeof hfs__msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  memcpy(hfs__msg, text, sizeof text);
  hfs__code = code;
  hfs__trace.depth = 0;
  return code;
}

void hfs_error_trace_push(const char *file, int line) {
  int d = hfs__trace.depth;
  if (d < HFS_ERROR_TRACE_MAX) {
    hfs__trace.file[d] = file;
    hfs__trace.line[d] = line;
  }
  hfs__trace.depth = d + 1;
}

int hfs_error_trace_depth(void) { return hfs__trace.depth; }

/* Paths relative to the source tree: the build maps the prefix away
 * (-fmacro-prefix-map); this is the fallback for other builds. */
static const char *short_path(const char *file) {
  const char *s = strstr(file, "/src/");
  return s ? s + 1 : file;
}

const char *hfs_error_trace(void) {
  size_t off = 0, cap = sizeof hfs__trace_text;
  int n = hfs__trace.depth < HFS_ERROR_TRACE_MAX ? hfs__trace.depth : HFS_ERROR_TRACE_MAX;
  hfs__trace_text[0] = '\0';
  for (int i = 0; i < n && off < cap; ++i) {
    int w = snprintf(hfs__trace_text + off, cap - off, "%s%s:%d", i ? " <- " : "",
                     short_path(hfs__trace.file[i]), hfs__trace.line[i]);
    if (w < 0) break;
    off += (size_t)w;
  }
  if (hfs__trace.depth > n && off < cap)
    snprintf(hfs__trace_text + off, cap - off, " <- (%d more)", hfs__trace.depth - n);
  return hfs__trace_text;
}

const char *hfs_error_message(void) {
  return hfs__msg[0] ? hfs__msg : hfs_strerror(hfs__code);
}

int hfs_error_code(void) { return hfs__code; }

void hfs_error_clear(void) {
  hfs__msg[0] = '\0';
  hfs__code = HFS_OK;
  hfs__trace.depth = 0;
}
