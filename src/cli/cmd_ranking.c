/* Ranking and likelihood scans (in progress). */
#include "cli.h"

int hfs_cmd_ranking(int argc, char **argv) {
  (void)argc; (void)argv;
  hfs_cli_error("ranking is not available in this build yet");
  return HFS_EXIT_USAGE;
}
int hfs_cmd_scan(int argc, char **argv) {
  (void)argc; (void)argv;
  hfs_cli_error("scan is not available in this build yet");
  return HFS_EXIT_USAGE;
}
