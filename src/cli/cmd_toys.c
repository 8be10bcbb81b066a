/* Toy-based hypothesis tests and limits (issue in progress). */
#include "cli.h"
#include "hfs_error.h"

int hfs_cli_toys_hypotest(hfs_cli_opts *o, hfs_cli_ctx *c) {
  (void)o; (void)c;
  hfs_cli_error("--calc toys is not available in this build yet");
  return HFS_EXIT_USAGE;
}
int hfs_cli_toys_limit(hfs_cli_opts *o, hfs_cli_ctx *c) {
  (void)o; (void)c;
  hfs_cli_error("--calc toys is not available in this build yet");
  return HFS_EXIT_USAGE;
}
