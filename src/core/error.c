#include "hfs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char hfs__msg[1024];
static _Thread_local int hfs__code;

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
  return code;
}

const char *hfs_error_message(void) {
  return hfs__msg[0] ? hfs__msg : hfs_strerror(hfs__code);
}

int hfs_error_code(void) { return hfs__code; }

void hfs_error_clear(void) {
  hfs__msg[0] = '\0';
  hfs__code = HFS_OK;
}
