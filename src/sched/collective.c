/* Collectives between runs on the scheduler's communicator: agreeing on a
 * status and broadcasting set-up data from the master.  Every MPI call is
 * checked; a failure comes back as HFS_ERR_MPI with MPI's own text. */
#include "hfs_error.h"
#include "hfs_sched.h"

#include <limits.h>

static int mpi_failed(int err, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(err, text, &len) != MPI_SUCCESS) len = 0;
  text[len] = '\0';
  return hfs_error_set(HFS_ERR_MPI, "scheduler: %s: %s", what, len ? text : "unknown MPI error");
}

int hfs_sched_agree(hfs_sched *s, int rc) {
  int all = rc, e = MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, hfs_sched_comm(s));
  if (e != MPI_SUCCESS) return mpi_failed(e, "MPI_Allreduce of the set-up status");
  if (all && !rc) hfs_error_set(all, "another rank failed to set up the run");
  return all;
}

int hfs_sched_bcast(hfs_sched *s, void *buf, size_t bytes) {
  char *p = buf;
  /* MPI counts are ints: large buffers go in slices. */
  while (bytes > 0) {
    int n = bytes > (size_t)INT_MAX ? INT_MAX : (int)bytes;
    int e = MPI_Bcast(p, n, MPI_BYTE, 0, hfs_sched_comm(s));
    if (e != MPI_SUCCESS) return mpi_failed(e, "MPI_Bcast from the master");
    p += n;
    bytes -= (size_t)n;
  }
  return HFS_OK;
}
