#include "hfs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg[1024];
static _Thread_local int last_code;
static _Thread_local struct {
  const char *file[HFS_ERROR_TRACE_MAX];
  int line[HFS_ERROR_TRACE_MAX];
  int depth; /* sites seen, may exceed HFS_ERROR_TRACE_MAX */
} trace;
static _Thread_local char trace_text[HFS_ERROR_TRACE_MAX * 256 + 32];

static const char *const texts[] = {
#define HFS_ERROR_TEXT(sym, text) text,
    HFS_ERROR_LIST(HFS_ERROR_TEXT)
#undef HFS_ERROR_TEXT
};

const char *hfs_strerror(int code) {
  if (code < 0 || code >= HFS_ERR_COUNT) return "unknown error";
  return texts[code];
}

int hfs_error_set(int code, const char *fmt, ...) {
  /* Formatted apart first: a caller may pass hfs_error_message() itself as
   * an argument, to wrap the previous message. */
  char text[sizeof msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  memcpy(msg, text, sizeof text);
  last_code = code;
  trace.depth = 0;
  return code;
}

void hfs_error_trace_push(const char *file, int line) {
  int d = trace.depth;
  if (d < HFS_ERROR_TRACE_MAX) {
    trace.file[d] = file;
    trace.line[d] = line;
  }
  trace.depth = d + 1;
}

int hfs_error_trace_depth(void) { return trace.depth; }

/* Paths relative to the source tree: the build maps the prefix away
 * (-fmacro-prefix-map); this is the fallback for other builds. */
static const char *short_path(const char *file) {
  const char *s = strstr(file, "/src/");
  return s ? s + 1 : file;
}

const char *hfs_error_trace(void) {
  size_t off = 0, cap = sizeof trace_text;
  int n = trace.depth < HFS_ERROR_TRACE_MAX ? trace.depth : HFS_ERROR_TRACE_MAX;
  trace_text[0] = '\0';
  for (int i = 0; i < n && off < cap; ++i) {
    int w = snprintf(trace_text + off, cap - off, "%s%s:%d", i ? " <- " : "",
                     short_path(trace.file[i]), trace.line[i]);
    if (w < 0) break;
    off += (size_t)w;
  }
  if (trace.depth > n && off < cap)
    snprintf(trace_text + off, cap - off, " <- (%d more)", trace.depth - n);
  return trace_text;
}

const char *hfs_error_message(void) { return msg[0] ? msg : hfs_strerror(last_code); }

int hfs_error_code(void) { return last_code; }

void hfs_error_clear(void) {
  msg[0] = '\0';
  last_code = HFS_OK;
  trace.depth = 0;
}
