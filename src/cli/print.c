/* How results are printed, the same for every command: the confidence level
 * as given, whether a result is printed at all (--quiet with -o), and
 * summary --json gathering its parts into one document. */
#include "cli.h"
#include "cli_json.h"

#include <stdio.h>

/* Twelve significant digits drop the rounding noise of 100 * cl and keep
 * any level a user types: 0.9999 is "99.99% CL", never "100% CL". */
const char *hfs_cli_cl_label(double cl, char *buf, size_t n) {
  snprintf(buf, n, "%.12g%% CL", 100 * cl);
  return buf;
}

int hfs_cli_show_result(const hfs_cli_opts *o) { return o->json || !(o->quiet && o->output); }

static json_t *sink;
static const char *sink_key;

void hfs_cli_json_gather(json_t *into, const char *key) {
  sink = into;
  sink_key = key;
}

int hfs_cli_json_gathered(json_t *o) {
  if (!sink) return 0;
  json_object_set(sink, sink_key, o);
  return 1;
}
