/* The output guard of a command (cli_guard.h). */
#include "cli_guard.h"

#include "hfs_error.h"
#include "hfs_sched.h"
#include "hfs_store.h"

#include <mpi.h>

static hfs_store_lock *held;

int hfs_cli_output_guard(const hfs_cli_opts *o, int collective) {
  int rc = HFS_OK;
  if (!o->output) return HFS_OK;
  if (hfs_cli_rank() == 0 && !held) {
    rc = hfs_store_output_check(o->output);
    if (!rc) rc = hfs_store_lock_acquire(o->output, &held);
  }
  if (collective && hfs_cli_size() > 1) {
    int mine = rc;
    rc = HFS_OK;
    HFS_MPI_CHECK(MPI_Bcast(&mine, 1, MPI_INT, 0, MPI_COMM_WORLD));
    rc = mine;
    if (rc && hfs_cli_rank() != 0) hfs_error_set(rc, "the master cannot use %s", o->output);
  }
cleanup:
  return rc;
}

void hfs_cli_output_release(void) { hfs_store_lock_release(&held); }
