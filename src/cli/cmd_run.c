/* Job files and merging (in progress). */
#include "cli.h"

int hfs_cmd_run(int argc, char **argv) {
  (void)argc; (void)argv;
  hfs_cli_error("run is not available in this build yet");
  return HFS_EXIT_USAGE;
}
int hfs_cmd_merge(int argc, char **argv) {
  (void)argc; (void)argv;
  hfs_cli_error("merge is not available in this build yet");
  return HFS_EXIT_USAGE;
}
