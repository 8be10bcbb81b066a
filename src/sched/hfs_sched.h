/* The MPI scheduler: runs a list of independent work units on all ranks of a
 * communicator and hands every result to rank 0.
 *
 * The scheduler knows nothing about statistics.  A unit is an index (int64)
 * and a task says how to compute the fixed-size result of one index (run) and
 * what to do with it on the master (collect).  A toy batch, a CLs point, an
 * impact fit or a signal hypothesis of a grid are all units; later features
 * only add kinds of task.
 *
 * Protocol (master/worker, pull model).  Rank 0 of the communicator is the
 * master.  Each worker first sends a REQUEST; the master answers with up to
 * `prefetch` WORK messages, each naming a batch as a contiguous slice of the
 * unit list (start position and count: 16 bytes whatever the batch size,
 * because every rank holds the same list).  A worker computes a batch and
 * sends a RESULT (a header, the results, and the text of an error if there was
 * one); each RESULT counts as the request for one more batch, so a worker
 * always has its next batch queued while it computes the current one and never
 * waits on the master.  Fast and slow workers balance because each pulls work
 * at its own pace.  A WORK message with no data tells a worker the run is
 * over; the master sends it only after every result of that worker has
 * arrived, so no message of one run can leak into the next.  A broadcast then
 * gives every rank the same return status.  With one rank everything runs
 * in-process with the same callbacks and no MPI message.
 *
 * The master computes units itself between messages (option master_computes,
 * on by default): otherwise two ranks on two cores leave half the machine
 * idle.  It runs its own units one at a time, checking for messages every
 * ~0.2 ms or after each unit when units are longer, and only when no message
 * is waiting, so with many workers it naturally becomes a pure dispatcher.
 *
 * Batch size.  A batch costs the master a fixed ~0.5-1 us (one receive, one
 * send, bookkeeping) plus a per-unit collect.  The master keeps the mean
 * unit time measured by all ranks (workers report their run() time with each
 * result) and sizes a batch to last target_batch_seconds (default 0.05 s):
 * the fixed cost is then ~0.002% of the work, far under the 1% budget, and a
 * worker still returns 20 times a second, which keeps the tail, a stop and
 * the progress line prompt.  Until a first time is known, batches hold one
 * unit.  A batch never exceeds remaining / (2 * computing ranks) units, so
 * near the end batches shrink to single units and all ranks finish within
 * about one unit time of each other; nor max_batch_units, nor what fits in
 * max_message_bytes.  The target itself is raised when the master's measured
 * cost per batch would exceed 1% of a batch's work or keep it more than 25%
 * busy (beyond ~10^4 ranks), so the master never becomes the bottleneck.
 * See docs/scheduler.md for the numbers.
 *
 * Reproducibility.  The scheduler runs every listed unit exactly once and
 * collects it exactly once; which rank runs it and in which order results
 * arrive depend on timing.  A task whose run() depends only on the unit index
 * (seed random numbers from the index, never from the rank) therefore gives
 * the same set of results at any number of ranks.  collect() is called in
 * arrival order: store results by unit index.
 *
 * Errors.  A unit that fails in a way the caller wants to keep (a fit that did
 * not converge) should say so in its result and return HFS_OK.  A non-zero
 * return from run() is a hard error: the master stops dispatching, collects
 * what is in flight (units a worker had queued after its failure are skipped),
 * stops the workers, and hfs_sched_run() returns that code on every rank with
 * the message "task 'NAME': unit U failed on rank R: <run's message>" and
 * stats->failed_unit = U.  A non-zero return from collect() does the same
 * (collect is not called again in that run).  HFS_ERR_MPI (or HFS_ERR_NOMEM
 * inside the protocol) means the ranks may be out of step: the caller should
 * abort the job.
 *
 * Threads: the scheduler calls MPI from the calling thread only, so
 * MPI_THREAD_FUNNELED is enough.  A handle must not be used concurrently. */
#ifndef HFS_SCHED_H
#define HFS_SCHED_H

#include "hfs_error.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct hfs_sched hfs_sched;

/* The one check of an MPI call for every module: a failure records
 * HFS_ERR_MPI with the call's text and MPI's own message (and the site in
 * the error trace) and jumps to the caller's `cleanup:` label.  Only
 * meaningful on a communicator whose error handler returns (the
 * scheduler's does; MPI_COMM_WORLD's aborts by default). */
int hfs_sched_mpi_error(int err, const char *call);
#define HFS_MPI_CHECK(call)                                                                        \
  do {                                                                                             \
    int hfs__mpi_e = (call);                                                                       \
    if (hfs__mpi_e != MPI_SUCCESS) {                                                               \
      rc = hfs_sched_mpi_error(hfs__mpi_e, #call);                                                 \
      hfs_error_trace_push(__FILE__, __LINE__);                                                    \
      goto cleanup;                                                                                \
    }                                                                                              \
  } while (0)

/* Options.  Only the master's options matter; workers follow its messages.
 * Fill with hfs_sched_options_default() and change what you need. */
typedef struct {
  /* 1: rank 0 also runs units between servicing messages; 0: it only
   * dispatches (advisable beyond ~64 ranks when units last a second or
   * more, see docs/scheduler.md).  Ignored with one rank, which always
   * computes. */
  int master_computes;
  /* Wanted duration of one batch, in seconds (default 0.05). */
  double target_batch_seconds;
  /* Upper bound on units per batch (default 65536). */
  int64_t max_batch_units;
  /* Upper bound on the size of one result message (default 1 MiB); a batch
   * holds at least one unit whatever its size. */
  size_t max_message_bytes;
  /* Batches a worker holds at once: the one it computes plus prefetch-1
   * queued (default 2; 1 disables prefetching). */
  int prefetch;
  /* 1 (default): the master reports progress on progress_stream; 0: silent. */
  int progress;
  /* Where progress goes; NULL means stderr.  On a terminal the line is
   * redrawn in place with '\r'; otherwise (a batch log) a plain line is
   * written every progress_interval seconds, plus a start and an end line. */
  FILE *progress_stream;
  double progress_interval; /* seconds, default 10 */
  /* A worker that holds work and sends nothing for longer than
   * max(worker_timeout, 10 x the longest batch so far, or the master's
   * longest unit) seconds is given up
   * (default 300): the run ends as interrupted, naming its rank and host,
   * without the final collective (see hfs_sched_peer_lost).  Outside the
   * loop (creation, hfs_sched_agree, hfs_sched_bcast, the check at the
   * start of hfs_sched_run, hfs_sched_final_check) the master waits at
   * most worker_timeout seconds for every rank to reach the collective. */
  double worker_timeout;
} hfs_sched_options;

void hfs_sched_options_default(hfs_sched_options *opts);

/* Collective over comm: duplicates comm (MPI_Comm_dup), names the copy
 * "hfscan-sched" and makes MPI errors on it return instead of aborting.  opts
 * may be NULL (defaults); it is copied.  MPI must be initialised.  On success
 * *out owns the duplicate; free it with hfs_sched_destroy(). */
int hfs_sched_create(MPI_Comm comm, const hfs_sched_options *opts, hfs_sched **out);

/* Collective: frees the duplicated communicator and the handle, and sets *s to
 * NULL.  NULL-safe.  After MPI_Finalize it only frees memory. */
void hfs_sched_destroy(hfs_sched **s);

int hfs_sched_rank(const hfs_sched *s);
int hfs_sched_size(const hfs_sched *s);
int hfs_sched_is_master(const hfs_sched *s); /* rank 0 */
/* The scheduler's private communicator, for inspection (its name) or for
 * collectives between runs; never send point-to-point messages on it. */
MPI_Comm hfs_sched_comm(const hfs_sched *s);

/* A kind of work unit.  Each rank passes its own task (its own ctx) with the
 * same name and result_size. */
typedef struct {
  const char *name;   /* for progress lines and errors, e.g. "toys mu=1.2" */
  size_t result_size; /* bytes of one unit's result, fixed; may be 0 */
  /* Runs on any rank (workers, and the master when it computes): computes
   * unit `unit` into result (result_size bytes, aligned for any type T with
   * sizeof(T) == result_size).  Must depend on unit only.  Non-zero = hard
   * error (see above); set the message with hfs_error_set(). */
  int (*run)(void *ctx, int64_t unit, void *result);
  /* Runs on the master only, once per finished unit, in arrival order.  The
   * result pointer is valid during the call only. */
  int (*collect)(void *ctx, int64_t unit, const void *result);
  void *ctx;
} hfs_sched_task;

/* What a run did.  On the master the counts cover the whole run; on a worker
 * they cover that rank only (units it ran, its own run() time and messages).
 * failed_unit and status agree on all ranks. */
typedef struct {
  int64_t units;             /* master: collected; worker: run by this rank */
  int64_t units_by_master;   /* units the master ran itself */
  int64_t batches;           /* batches dispatched (master) / received */
  double wall_seconds;       /* time inside hfs_sched_run */
  double run_seconds;        /* time inside run(), summed over all ranks */
  double master_run_seconds; /* the master's own run() time */
  double collect_seconds;    /* time inside collect() */
  double wait_seconds;       /* idle: master waiting for a message, worker
                              * waiting for a batch */
  /* Master time spent scheduling: wall - master_run - collect - wait. */
  double overhead_seconds;
  int64_t messages_sent, messages_received;
  int64_t bytes_sent, bytes_received;
  int64_t failed_unit; /* unit whose run() or collect() failed, or -1 */
} hfs_sched_stats;

/* Collective: runs the listed units (indices >= 0, each listed once; the list
 * lets a resumed run skip finished units).  units == NULL means the units 0,
 * 1, ..., nunits-1 without storing them.  Every rank passes the same units
 * and result_size, which is checked (HFS_ERR_ARG on all ranks otherwise).
 * Returns the same status on every rank: HFS_OK; HFS_ERR_INTERRUPTED when
 * hfs_sched_request_stop() was called (no new unit was dispatched after the
 * master saw it, every unit already dispatched was collected, and the stop
 * request is cleared so the next run proceeds); or the error of a failed unit
 * (see above).  stats may be NULL. */
int hfs_sched_run(hfs_sched *s, const hfs_sched_task *task, const int64_t *units, int64_t nunits,
                  hfs_sched_stats *stats);

/* Collective on the scheduler's communicator: every rank passes its own
 * status and receives the worst (largest) of all; a rank that was fine but
 * receives an error gets the message "another rank failed to set up the
 * run".  Checked: HFS_ERR_MPI if MPI itself fails. */
int hfs_sched_agree(hfs_sched *s, int rc);
/* Collective: broadcast `bytes` bytes of buf from the master (rank 0) to
 * every rank, in slices of at most INT_MAX bytes.  Checked. */
int hfs_sched_bcast(hfs_sched *s, void *buf, size_t bytes);

/* Async-signal-safe: sets a process-wide flag.  The master stops dispatching
 * at its next check (before any new batch).  On a worker the request travels
 * to the master with its next result (the worker stops its current batch
 * after the unit in progress), so a signal to any one rank stops the run;
 * the run's message names the worker it came from.  A request
 * made before a run makes that run return HFS_ERR_INTERRUPTED at once; one
 * that arrives after the last unit was handed out leaves the run's status
 * HFS_OK and stays pending for the next run. */
void hfs_sched_request_stop(void);
/* Whether a stop has been requested and not yet consumed by a run. */
int hfs_sched_stop_requested(void);

/* Non-NULL (the reason, one line) after a run that could not end together
 * on every rank: the master gave up a silent worker, or the launcher
 * vanished (hfs_launcher.h).  The run returned HFS_ERR_INTERRUPTED on the
 * master, whose collected results are valid (commit them), and no further
 * collective call may be made: the caller ends the job (MPI_Abort, or _exit
 * when the launcher is gone).  NULL otherwise. */
const char *hfs_sched_peer_lost(void);

/* Collective on MPI_COMM_WORLD, the last before MPI_Finalize: rank 0
 * calls the roll and waits at most the last scheduler's worker_timeout
 * (or hfs_sched_hang_timeout's, else 300 s) for every answer, naming a
 * rank that does not answer (HFS_ERR_INTERRUPTED, hfs_sched_peer_lost
 * set): a stopped rank would otherwise hold the others in MPI_Finalize
 * for ever.  HFS_ERR_INTERRUPTED at once when a peer is already lost. */
int hfs_sched_final_check(void);
/* Collective on MPI_COMM_WORLD, right after MPI_Init: rank 0 learns every
 * rank's host, so that a rank given up later is named with it (before the
 * first scheduler too); watched like the others (300 s: no option is read
 * yet). */
int hfs_sched_learn_hosts(void);
/* The timeout of hfs_sched_final_check for a command that creates no
 * scheduler (the command line's --worker-timeout); ignored unless > 0. */
void hfs_sched_hang_timeout(double seconds);

#endif
