#include "hfs_log.h"

#include <stdarg.h>
#include <stdio.h>

static hfs_warn_sink current_sink;
static void *current_ctx;

void hfs_warn(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (current_sink)
    current_sink(line, current_ctx);
  else
    fprintf(stderr, "hfscan: warning: %s\n", line);
}

hfs_warn_sink hfs_warn_set_sink(hfs_warn_sink sink, void *ctx) {
  hfs_warn_sink old = current_sink;
  current_sink = sink;
  current_ctx = ctx;
  return old;
}
