/* The collectives outside the scheduler's loop, watched by the master.
 *
 * Inside the loop the master hears from every worker at least once per
 * batch and gives up a silent one (sched.c, watch()).  Outside it (the
 * scheduler's creation, the job's set-up with its agreement and broadcasts,
 * the check at the start of a run, the outcome after it, the end of a
 * command) every rank waits in a collective, and one stopped rank (SIGSTOP,
 * a hung node) would hold all the others forever.  So these collectives are
 * non-blocking, and the master waits for one at most the hang timeout
 * (--worker-timeout).  Then it calls the roll: every worker waiting in a
 * watched collective answers, and the first that does not is named with its
 * host (the collective cannot complete without it).  The run ends as
 * interrupted without another collective (hfs_sched_peer_lost): the caller
 * commits what it holds and aborts the job.  Workers wait without a limit,
 * because the master may compute alone for long (a toy limit's asymptotic
 * pre-scan, a resume reading a large file); they sleep while waiting
 * instead of spinning, answer the roll and stop when the launcher is gone. */
#define _POSIX_C_SOURCE 200809L
#include "hfs_error.h"
#include "hfs_launcher.h"
#include "hfs_sched.h"
#include "hfs_util.h"
#include "sched_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long the master waits for the answers to its roll call. */
#define HFS__ROLL_SECONDS 2.0

/* A worker answers a roll call (tag) on comm, if one came; *answered
 * says whether. */
static int answer_roll(MPI_Comm comm, int tag, int *answered) {
  int rc = HFS_OK, flag = 0;
  *answered = 0;
  HFS_MPI_CHECK(MPI_Iprobe(0, tag, comm, &flag, MPI_STATUS_IGNORE));
  if (!flag) return HFS_OK;
  HFS_MPI_CHECK(MPI_Recv(NULL, 0, MPI_BYTE, 0, tag, comm, MPI_STATUS_IGNORE));
  HFS_MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, 0, tag, comm));
  *answered = 1;
cleanup:
  return rc;
}

static int launcher_lost(const hfs__sched_watch *w) {
  char msg[HFS__SCHED_MSG_MAX];
  snprintf(msg, sizeof msg, "rank %d: the launcher (pid %ld) is gone; stopping without writing",
           w->rank, hfs_launcher_pid());
  return hfs__sched_lose_peer(msg);
}

/* The first worker that does not answer a roll call (tag) within seconds,
 * or 0. */
static int call_roll(const hfs__sched_watch *w, int tag, double seconds, int *silent) {
  int rc = HFS_OK, idle = 0, flag = 0;
  MPI_Request *reqs = NULL;
  *silent = 0;
  HFS_ALLOC(reqs, w->size - 1);
  for (int r = 1; r < w->size; ++r)
    HFS_MPI_CHECK(MPI_Irecv(NULL, 0, MPI_BYTE, r, tag, w->comm, &reqs[r - 1]));
  for (int r = 1; r < w->size; ++r) HFS_MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, r, tag, w->comm));
  double t0 = hfs_now();
  while (hfs_now() - t0 < seconds) {
    HFS_MPI_CHECK(MPI_Testall(w->size - 1, reqs, &flag, MPI_STATUSES_IGNORE));
    if (flag) break;
    hfs__sched_backoff(&idle);
  }
  for (int r = 1; r < w->size && !flag && !*silent; ++r) {
    int one = 0;
    HFS_MPI_CHECK(MPI_Test(&reqs[r - 1], &one, MPI_STATUS_IGNORE));
    if (!one) *silent = r;
  }
cleanup:
  /* Unanswered receives stay posted: the job is ended next. */
  free(reqs);
  return rc;
}

static int give_up(const hfs__sched_watch *w, double waited, int silent) {
  char msg[HFS__SCHED_MSG_MAX];
  if (silent)
    snprintf(msg, sizeof msg,
             "rank %d on %s has not reached %s for %.0f s (limit %.0f s, --worker-timeout); "
             "stopping with what was committed",
             silent, w->hosts ? w->hosts + (size_t)silent * MPI_MAX_PROCESSOR_NAME : "?", w->phase,
             waited, w->timeout);
  else
    snprintf(msg, sizeof msg,
             "a rank has not completed %s for %.0f s (limit %.0f s, --worker-timeout); "
             "stopping with what was committed",
             w->phase, waited, w->timeout);
  return hfs__sched_lose_peer(msg);
}

int hfs__sched_wait(const hfs__sched_watch *w, MPI_Request *req) {
  int rc = HFS_OK, idle = 0, flag = 0, answered = 0, silent = 0;
  double t0 = hfs_now();
  for (;;) {
    HFS_MPI_CHECK(MPI_Test(req, &flag, MPI_STATUS_IGNORE));
    if (flag) break;
    hfs__sched_backoff(&idle);
    if ((idle & 255) != 0) continue;
    if (hfs_launcher_gone()) HFS_CHECK(launcher_lost(w));
    if (w->rank != 0) {
      HFS_CHECK(answer_roll(w->comm, HFS__SCHED_TAG_ROLL, &answered));
      if (w->comm != MPI_COMM_WORLD)
        HFS_CHECK(answer_roll(MPI_COMM_WORLD, HFS__SCHED_TAG_ROLL, &answered));
    } else if (hfs_now() - t0 > w->timeout) {
      HFS_MPI_CHECK(MPI_Test(req, &flag, MPI_STATUS_IGNORE));
      if (flag) break;
      double waited = hfs_now() - t0;
      HFS_CHECK(call_roll(w, HFS__SCHED_TAG_ROLL, HFS__ROLL_SECONDS, &silent));
      HFS_CHECK(give_up(w, waited, silent));
    }
  }
cleanup:
  return rc;
}

/* The end of a command: a barrier would not do, because a rank that
 * entered it and then stopped has done its part of it and would still hold
 * MPI_Finalize.  The master calls the roll (its own tag, so that no earlier
 * wait answers it) and waits for every answer; each worker waits for the
 * call, answers, and is then free to finalize. */
int hfs__sched_final_roll(const hfs__sched_watch *w) {
  int rc = HFS_OK, idle = 0, answered = 0, silent = 0;
  if (w->size < 2) return HFS_OK;
  if (w->rank == 0) {
    double t0 = hfs_now();
    HFS_CHECK(call_roll(w, HFS__SCHED_TAG_FINAL, w->timeout, &silent));
    if (silent) HFS_CHECK(give_up(w, hfs_now() - t0, silent));
    goto cleanup;
  }
  for (;;) {
    HFS_CHECK(answer_roll(w->comm, HFS__SCHED_TAG_FINAL, &answered));
    if (answered) break;
    /* a late roll call of a collective this rank has left */
    HFS_CHECK(answer_roll(w->comm, HFS__SCHED_TAG_ROLL, &answered));
    hfs__sched_backoff(&idle);
    if ((idle & 255) == 0 && hfs_launcher_gone()) HFS_CHECK(launcher_lost(w));
  }
cleanup:
  return rc;
}
