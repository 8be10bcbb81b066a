/* The output guard of a command: before any fit, the master checks that
 * the output can be written and takes its lock (hfs_output_guard.h); the
 * locks are held until the process ends. */
#ifndef HFS_CLI_GUARD_H
#define HFS_CLI_GUARD_H

#include "cli.h"

/* Nothing to do without -o.  collective = 1: called on every rank of
 * MPI_COMM_WORLD, the master checks and broadcasts the verdict so that
 * every rank returns the same status; 0: called by rank 0 alone.  Returns
 * HFS_OK or the error, with its message set. */
int hfs_cli_output_guard(const hfs_cli_opts *o, int collective);
/* A folder of outputs (summary -o DIR), collective: the master locks the
 * folder itself (DIR.lock beside it, so a second summary on DIR is refused
 * at once) and each of its files as hfs_cli_output_guard does (so is a
 * single command writing one of them). */
int hfs_cli_output_guard_folder(const char *dir, const char *const *files, int nfiles);
/* Releases the locks (main, after the command); safe to call always. */
void hfs_cli_output_release(void);

#endif
