/* Collectives between runs on the scheduler's communicator: agreeing on a
 * status and broadcasting set-up data from the master.  Every MPI call is
 * checked; a failure comes back as HFS_ERR_MPI with MPI's own text. */
#include "hfs_error.h"
#include "hfs_sched.h"

#include <limits.h>

int hfs_sched_mpi_error(int err, const char *call) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(err, text, &len) != MPI_SUCCESS) len = 0;
  text[len] = '\0';
  return hfs_error_set(HFS_ERR_MPI, "MPI: %s: %s", call, len ? text : "unknown MPI error");
}

int hfs_sched_agree(hfs_sched *s, int mine) {
  int rc = HFS_OK, all = mine;
  HFS_MPI_CHECK(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, hfs_sched_comm(s)));
  if (all && !mine) hfs_error_set(all, "another rank failed to set up the run");
  rc = all;
cleanup:
  return rc;
}

int hfs_sched_bcast(hfs_sched *s, void *buf, size_t bytes) {
  int rc = HFS_OK;
  char *p = buf;
  /* MPI counts are ints: large buffers go in slices. */
  while (bytes > 0) {
    int n = bytes > (size_t)INT_MAX ? INT_MAX : (int)bytes;
    HFS_MPI_CHECK(MPI_Bcast(p, n, MPI_BYTE, 0, hfs_sched_comm(s)));
    p += n;
    bytes -= (size_t)n;
  }
cleanup:
  return rc;
}
