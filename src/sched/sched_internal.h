/* Private to the scheduler (and its tests): batch sizing, progress lines and
 * the layout of the messages. */
#ifndef HFS_SCHED_INTERNAL_H
#define HFS_SCHED_INTERNAL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Message tags, one enum for the whole protocol. */
enum hfs__sched_tag {
  HFS__SCHED_TAG_REQUEST = 1, /* worker -> master, empty: "I am ready" */
  HFS__SCHED_TAG_WORK = 2,    /* master -> worker: {pos, count}; empty = stop */
  HFS__SCHED_TAG_RESULT = 3,  /* worker -> master: header, results, error text */
  HFS__SCHED_TAG_ROLL = 4,    /* both ways, empty: the master's roll call and the answers
                                 (watch.c); sent only when a collective is late */
  HFS__SCHED_TAG_FINAL = 5    /* both ways, empty: the roll call at the end of a
                                 command (hfs_sched_final_check) */
};

/* Wait without a busy loop: spin briefly, then sleep in growing steps up
 * to ~1 ms (sched.c).  idle counts the calls since work last arrived. */
void hfs__sched_backoff(int *idle);

/* A collective outside the scheduler's loop, watched by the master
 * (watch.c): on comm, whose rank 0 waits at most timeout seconds for the
 * others; hosts (master: size x MPI_MAX_PROCESSOR_NAME) names them, or
 * NULL. */
typedef struct {
  MPI_Comm comm;
  int rank, size;
  double timeout;
  const char *hosts;
  const char *phase; /* "the job's set-up": what the ranks have not reached */
} hfs__sched_watch;

/* Complete a non-blocking collective: on the master within the timeout,
 * after which the first rank that does not answer a roll call is named and
 * the run is lost (hfs__sched_lose_peer: HFS_ERR_INTERRUPTED); on a worker
 * for as long as it takes, answering roll calls, unless the launcher
 * vanishes. */
int hfs__sched_wait(const hfs__sched_watch *w, MPI_Request *req);
/* The roll call at the end of a command on w->comm (watch.c). */
int hfs__sched_final_roll(const hfs__sched_watch *w);
/* Record that the processes can no longer agree (hfs_sched_peer_lost);
 * returns HFS_ERR_INTERRUPTED with msg as the error message. */
int hfs__sched_lose_peer(const char *msg);
/* The hang timeout and host table of the last scheduler created here,
 * kept for the collectives after it (hfs_sched_final_check). */
void hfs__sched_remember(double timeout, const char *hosts, int size);
/* A scheduler's hang timeout (worker_timeout) and, on the master, its
 * host table (sched.c). */
struct hfs_sched;
double hfs__sched_timeout(const struct hfs_sched *s);
const char *hfs__sched_hosts(const struct hfs_sched *s);

/* Head of a RESULT message.  All ranks run the same binary, so the struct is
 * sent as bytes.  Its size is a multiple of 16 so that the results that follow
 * it keep the alignment of a malloc'd buffer. */
typedef struct {
  int64_t pos;         /* position of the batch's first unit in the list */
  int64_t count;       /* units in the batch */
  int64_t done;        /* units computed; results of units [pos, pos+done) follow */
  int64_t failed_unit; /* unit whose run() failed, or -1 */
  double run_seconds;  /* time spent in run() for this batch */
  int32_t status;      /* HFS_OK or the code run() returned */
  int32_t msg_len;     /* bytes of error text after the results (with NUL) */
  /* 1: a stop was requested on this worker (a signal reached it); the batch
   * may then be cut short (done < count) */
  int32_t stop;
  int32_t pad[3];
} hfs__sched_result_head;

/* Longest error text carried in a message (including the NUL). */
#define HFS__SCHED_MSG_MAX 512

/* Units in the next batch.  mean_unit_seconds < 0 means no unit time is known
 * yet.  remaining is the number of units not yet dispatched, ncompute the
 * number of ranks that compute.  Returns a value in [1, remaining] (0 when
 * remaining is 0). */
int64_t hfs__sched_batch_size(double mean_unit_seconds, double target_seconds, int64_t remaining,
                              int ncompute, int64_t max_units);

/* Duration a batch should last: the option, raised when the master's own
 * cost per batch (measured) is so high that it would exceed 1% of the work
 * or keep the master more than 25% busy. */
double hfs__sched_batch_target(double target_option, double cost_per_batch, int ncompute);

/* Progress reporting on the master. */
typedef struct {
  FILE *stream; /* NULL: silent */
  int tty;
  const char *name;
  int64_t total;
  double interval; /* seconds between plain lines */
  double t_start, t_last;
  int nranks;
  int drawn; /* a '\r' line is on screen */
} hfs__sched_progress;

void hfs__sched_progress_begin(hfs__sched_progress *p, FILE *stream, double interval,
                               const char *name, int64_t total, int nranks, double now);
/* Cheap when nothing is due: compares two doubles. */
void hfs__sched_progress_tick(hfs__sched_progress *p, int64_t done, double now);
/* Final line; status is the run's return code. */
void hfs__sched_progress_end(hfs__sched_progress *p, int64_t done, int status, double now);

#endif
