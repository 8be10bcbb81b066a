/* Collectives between runs on the scheduler's communicator: agreeing on a
 * status and broadcasting set-up data from the master.  Every MPI call is
 * checked; a failure comes back as HFS_ERR_MPI with MPI's own text.  The
 * master watches each (watch.c): a rank that does not come within the hang
 * timeout is named and the run is lost (HFS_ERR_INTERRUPTED). */
#include "hfs_error.h"
#include "hfs_sched.h"
#include "sched_internal.h"

#include <limits.h>

int hfs_sched_mpi_error(int err, const char *call) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(err, text, &len) != MPI_SUCCESS) len = 0;
  text[len] = '\0';
  return hfs_error_set(HFS_ERR_MPI, "MPI: %s: %s", call, len ? text : "unknown MPI error");
}

/* The job's set-up is the phase these collectives serve (watch.c). */
static hfs__sched_watch setup_watch(hfs_sched *s) {
  hfs__sched_watch w = {hfs_sched_comm(s),     hfs_sched_rank(s),   hfs_sched_size(s),
                        hfs__sched_timeout(s), hfs__sched_hosts(s), "the job's set-up"};
  return w;
}

int hfs_sched_agree(hfs_sched *s, int mine) {
  int rc = HFS_OK, all = mine;
  hfs__sched_watch w = setup_watch(s);
  MPI_Request req = MPI_REQUEST_NULL;
  HFS_MPI_CHECK(MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_MAX, w.comm, &req));
  HFS_CHECK(hfs__sched_wait(&w, &req));
  if (all && !mine) hfs_error_set(all, "another rank failed to set up the run");
  rc = all;
cleanup:
  return rc;
}

int hfs_sched_bcast(hfs_sched *s, void *buf, size_t bytes) {
  int rc = HFS_OK;
  char *p = buf;
  hfs__sched_watch w = setup_watch(s);
  /* MPI counts are ints: large buffers go in slices. */
  while (bytes > 0) {
    int n = bytes > (size_t)INT_MAX ? INT_MAX : (int)bytes;
    MPI_Request req = MPI_REQUEST_NULL;
    HFS_MPI_CHECK(MPI_Ibcast(p, n, MPI_BYTE, 0, w.comm, &req));
    HFS_CHECK(hfs__sched_wait(&w, &req));
    p += n;
    bytes -= (size_t)n;
  }
cleanup:
  return rc;
}
