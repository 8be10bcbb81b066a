/* JSON helpers of the command line that several commands share. */
#include "cli_json.h"

void hfs_cli_json_set_reals(json_t *o, const char *const *keys, const double *v, int n) {
  for (int i = 0; i < n; ++i) json_object_set_new(o, keys[i], hfs_cli_json_real(v[i]));
}
