/* The scheduler proper: the handle, the master loop, the worker loop and the
 * in-process path for one rank.  The protocol is described in hfs_sched.h and
 * docs/scheduler.md. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, fileno */
#include "hfs_sched.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hfs_error.h"
#include "hfs_launcher.h"
#include "hfs_util.h"
#include "sched_internal.h"

_Static_assert(sizeof(hfs__sched_result_head) % 16 == 0,
               "results must follow the header at an aligned offset");

struct hfs_sched {
  MPI_Comm comm;
  int rank;
  int size;
  hfs_sched_options opts;
  char *hosts; /* master: size x MPI_MAX_PROCESSOR_NAME, each rank's host */
};

/* Set from signal handlers, read by the master between messages and by the
 * workers between units (they pass it on with their next result). */
static volatile sig_atomic_t stop_flag;
/* Set when a run ended without the final collective because a rank stopped
 * answering or the launcher vanished: the processes can no longer agree and
 * the caller must end the job (hfs_sched_peer_lost). */
static int peer_lost;
static char peer_lost_msg[HFS__SCHED_MSG_MAX];

/* How often the master looks for silent workers and a vanished launcher. */
#define HFS__WATCH_SECONDS 0.25
/* A worker is silent for too long after this many times its longest batch
 * (or the option's floor, whichever is larger). */
#define HFS__SILENCE_FACTOR 10.0

/* The master looks for messages at least this often while it computes its
 * own units, unless a single unit takes longer. */
#define HFS__MASTER_POLL_SECONDS 2e-4

/* Seconds every rank waits after each unit, from HFS_TEST_UNIT_DELAY_MS: the
 * tests that signal, kill or requeue a run part-way need it to be part-way
 * when the signal lands, whatever the speed of the machine (a run of toys that
 * took 8 s when such a test was written finishes in 0.4 s now).  Zero unless
 * set; read once per run. */
static double unit_delay;

static void read_unit_delay(void) {
  const char *v = getenv("HFS_TEST_UNIT_DELAY_MS");
  unit_delay = 0.0;
  if (v && *v) {
    char *end;
    double ms = strtod(v, &end);
    if (*end == '\0' && ms > 0.0 && ms < 1e6) unit_delay = ms * 1e-3;
  }
}

/* One unit of a task, then the test delay if one is set. */
static int run_unit(const hfs_sched_task *task, int64_t unit, void *res) {
  int rc = task->run(task->ctx, unit, res);
  if (unit_delay > 0.0) {
    struct timespec ts = {(time_t)unit_delay,
                          (long)((unit_delay - (double)(time_t)unit_delay) * 1e9)};
    nanosleep(&ts, NULL);
  }
  return rc;
}

void hfs_sched_request_stop(void) { stop_flag = 1; }

int hfs_sched_stop_requested(void) { return stop_flag != 0; }

const char *hfs_sched_peer_lost(void) { return peer_lost ? peer_lost_msg : NULL; }

int hfs__sched_lose_peer(const char *msg) {
  peer_lost = 1;
  snprintf(peer_lost_msg, sizeof peer_lost_msg, "%s", msg);
  return hfs_error_set(HFS_ERR_INTERRUPTED, "%s", peer_lost_msg);
}

/* For the collectives after the last scheduler (hfs_sched_final_check). */
static double remembered_timeout = 300.0;
static char *remembered_hosts;
static int remembered_size;

void hfs__sched_remember(double timeout, const char *hosts, int size) {
  remembered_timeout = timeout;
  if (!hosts) return;
  char *copy = malloc((size_t)size * MPI_MAX_PROCESSOR_NAME);
  if (!copy) return;
  memcpy(copy, hosts, (size_t)size * MPI_MAX_PROCESSOR_NAME);
  free(remembered_hosts);
  remembered_hosts = copy;
  remembered_size = size;
}

int hfs_sched_learn_hosts(void) {
  int rc = HFS_OK, size = 1, rank = 0;
  char name[MPI_MAX_PROCESSOR_NAME] = "", *table = NULL;
  int len = 0;
  HFS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  HFS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  if (size < 2) return HFS_OK;
  if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS) snprintf(name, sizeof name, "?");
  if (rank == 0) HFS_ALLOC(table, (size_t)size * MPI_MAX_PROCESSOR_NAME);
  hfs__sched_watch w = {MPI_COMM_WORLD,     rank, size,
                        remembered_timeout, NULL, "the start of the command"};
  MPI_Request req = MPI_REQUEST_NULL;
  HFS_MPI_CHECK(MPI_Igather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, table, MPI_MAX_PROCESSOR_NAME,
                            MPI_CHAR, 0, MPI_COMM_WORLD, &req));
  HFS_CHECK(hfs__sched_wait(&w, &req));
  if (rank == 0) hfs__sched_remember(remembered_timeout, table, size);
cleanup:
  free(table);
  return rc;
}

void hfs_sched_hang_timeout(double seconds) {
  if (seconds > 0) remembered_timeout = seconds;
}

int hfs_sched_final_check(void) {
  int rc = HFS_OK, size = 1, rank = 0;
  if (peer_lost) return hfs_error_set(HFS_ERR_INTERRUPTED, "%s", peer_lost_msg);
  HFS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  HFS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  hfs__sched_watch w = {MPI_COMM_WORLD,
                        rank,
                        size,
                        remembered_timeout,
                        remembered_size == size ? remembered_hosts : NULL,
                        "the end of the command"};
  rc = hfs__sched_final_roll(&w);
cleanup:
  free(remembered_hosts);
  remembered_hosts = NULL;
  remembered_size = 0;
  return rc;
}

void hfs_sched_options_default(hfs_sched_options *opts) {
  memset(opts, 0, sizeof *opts);
  opts->master_computes = 1;
  opts->target_batch_seconds = 0.05;
  opts->max_batch_units = 65536;
  opts->max_message_bytes = (size_t)1 << 20;
  opts->prefetch = 2;
  opts->progress = 1;
  opts->progress_stream = NULL;
  opts->progress_interval = 10.0;
  opts->worker_timeout = 300.0;
}

static int check_options(const hfs_sched_options *o) {
  if (!(o->target_batch_seconds > 0))
    return hfs_error_set(HFS_ERR_ARG, "scheduler: target_batch_seconds must be > 0");
  if (o->max_batch_units < 1)
    return hfs_error_set(HFS_ERR_ARG, "scheduler: max_batch_units must be >= 1");
  if (o->max_message_bytes > (size_t)INT_MAX)
    return hfs_error_set(HFS_ERR_ARG, "scheduler: max_message_bytes must fit in an int");
  if (o->prefetch < 1) return hfs_error_set(HFS_ERR_ARG, "scheduler: prefetch must be >= 1");
  if (!(o->progress_interval > 0))
    return hfs_error_set(HFS_ERR_ARG, "scheduler: progress_interval must be > 0");
  if (!(o->worker_timeout > 0))
    return hfs_error_set(HFS_ERR_ARG, "scheduler: worker_timeout must be > 0");
  return HFS_OK;
}

int hfs_sched_create(MPI_Comm comm, const hfs_sched_options *opts, hfs_sched **out) {
  int rc = HFS_OK;
  hfs_sched *s = NULL;
  int initialized = 0;
  if (!out) return hfs_error_set(HFS_ERR_ARG, "scheduler: out is NULL");
  *out = NULL;
  MPI_Initialized(&initialized);
  if (!initialized) return hfs_error_set(HFS_ERR_MPI, "scheduler: MPI is not initialised");
  HFS_ALLOC(s, 1);
  s->comm = MPI_COMM_NULL;
  if (opts)
    s->opts = *opts;
  else
    hfs_sched_options_default(&s->opts);
  /* Agree on the verdict before the collective duplicate, so that one rank's
   * bad options fail every rank instead of leaving the others waiting. */
  int lrc = check_options(&s->opts);
  int bad = lrc != HFS_OK, anybad = 0;
  /* Watched like every collective outside the loop (watch.c); the hosts
   * of the previous scheduler, if any, name a rank that does not answer. */
  hfs__sched_watch w = {
      comm, 0, 1, bad ? 300.0 : s->opts.worker_timeout, NULL, "the start of the job"};
  MPI_Request req = MPI_REQUEST_NULL;
  HFS_MPI_CHECK(MPI_Comm_rank(comm, &w.rank));
  HFS_MPI_CHECK(MPI_Comm_size(comm, &w.size));
  if (remembered_size == w.size) w.hosts = remembered_hosts;
  HFS_MPI_CHECK(MPI_Iallreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm, &req));
  HFS_CHECK(hfs__sched_wait(&w, &req));
  if (bad) {
    rc = lrc;
    goto cleanup;
  }
  if (anybad) HFS_FAIL(HFS_ERR_ARG, "scheduler: invalid options on another rank");
  HFS_MPI_CHECK(MPI_Comm_idup(comm, &s->comm, &req));
  HFS_CHECK(hfs__sched_wait(&w, &req));
  HFS_MPI_CHECK(MPI_Comm_set_name(s->comm, "hfscan-sched"));
  /* Errors on the private communicator come back as codes; the command line
   * decides whether to abort. */
  HFS_MPI_CHECK(MPI_Comm_set_errhandler(s->comm, MPI_ERRORS_RETURN));
  HFS_MPI_CHECK(MPI_Comm_rank(s->comm, &s->rank));
  HFS_MPI_CHECK(MPI_Comm_size(s->comm, &s->size));
  {
    /* The master names the host of a rank that stops answering. */
    char name[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS) snprintf(name, sizeof name, "?");
    if (s->rank == 0) HFS_ALLOC(s->hosts, (size_t)s->size * MPI_MAX_PROCESSOR_NAME);
    w.comm = s->comm;
    HFS_MPI_CHECK(MPI_Igather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, s->hosts,
                              MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, s->comm, &req));
    HFS_CHECK(hfs__sched_wait(&w, &req));
  }
  hfs__sched_remember(s->opts.worker_timeout, s->hosts, s->size);
  *out = s;
  s = NULL;
cleanup:
  hfs_sched_destroy(&s);
  return rc;
}

void hfs_sched_destroy(hfs_sched **s) {
  if (!s || !*s) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  /* Freeing a communicator is collective: not with a rank gone. */
  if (!finalized && !peer_lost && (*s)->comm != MPI_COMM_NULL) MPI_Comm_free(&(*s)->comm);
  free((*s)->hosts);
  free(*s);
  *s = NULL;
}

int hfs_sched_rank(const hfs_sched *s) { return s->rank; }
int hfs_sched_size(const hfs_sched *s) { return s->size; }
int hfs_sched_is_master(const hfs_sched *s) { return s->rank == 0; }
MPI_Comm hfs_sched_comm(const hfs_sched *s) { return s->comm; }
double hfs__sched_timeout(const hfs_sched *s) { return s->opts.worker_timeout; }
const char *hfs__sched_hosts(const hfs_sched *s) { return s->hosts; }

/* Waiting without a busy loop: spin briefly (a reply is often microseconds
 * away), then sleep in growing steps up to ~1 ms.  A blocking MPI call would
 * spin on the CPU, which starves the computing ranks when ranks outnumber
 * cores.  The added latency is hidden by prefetching. */
void hfs__sched_backoff(int *idle) {
  if (*idle < 64) {
    ++*idle;
    return;
  }
  int step = *idle - 64;
  if (step > 7) step = 7;
  struct timespec ts = {0, 10000L << step}; /* 10 us .. 1.28 ms */
  nanosleep(&ts, NULL);
  ++*idle;
}

/* The unit at a position of the list; a NULL list means 0, 1, 2, ... */
static inline int64_t unit_at(const int64_t *units, int64_t pos) {
  return units ? units[pos] : pos;
}

static const char *task_name(const hfs_sched_task *task) {
  return task && task->name && *task->name ? task->name : "units";
}

/* A unit's failure text: run()'s own message when it set one. */
static void failure_text(char *buf, size_t len, const char *name, const char *what, int64_t unit,
                         int rank, int code) {
  const char *m = hfs_error_code() == code ? hfs_error_message() : hfs_strerror(code);
  snprintf(buf, len, "task '%s': %s %lld failed on rank %d: %s", name, what, (long long)unit, rank,
           m);
}

/* Outcome of a run, broadcast from the master so every rank returns it. */
typedef struct {
  int32_t status;
  int32_t pad;
  int64_t failed_unit;
  char msg[HFS__SCHED_MSG_MAX];
} run_outcome;

/* State of one run as the master sees it (also used with one rank). */
typedef struct {
  const hfs_sched *s;
  const hfs_sched_task *task;
  const int64_t *units;
  int64_t nunits;
  hfs_sched_stats *st;
  hfs__sched_progress prog;
  int64_t next; /* position of the next unit to hand out */
  int halting;  /* no new unit will be handed out */
  int collect_failed;
  run_outcome out;
  double timed_seconds; /* run() time and units behind the mean unit time */
  int64_t timed_units;
  double t_loop;  /* start of the master loop, after the checks */
  int stop_rank;  /* worker whose signal stopped the run, or -1 */
  double longest; /* longest batch of a worker or unit of the master so far */
  int lost;       /* the final collective cannot take place */
} run_state;

/* Record the first hard failure; it outranks an interruption. */
static void record_failure(run_state *r, int code, int64_t unit, const char *msg) {
  r->halting = 1;
  if (r->out.status != HFS_OK && r->out.status != HFS_ERR_INTERRUPTED) return;
  r->out.status = code;
  r->out.failed_unit = unit;
  snprintf(r->out.msg, sizeof r->out.msg, "%s", msg);
}

static void check_stop(run_state *r) {
  if (r->halting || !stop_flag) return;
  r->halting = 1;
  if (r->out.status == HFS_OK) r->out.status = HFS_ERR_INTERRUPTED;
}

/* Hand one result to collect().  Not timed here: callers time whole loops,
 * because two clock reads per unit would dominate units that do nothing. */
static void master_collect(run_state *r, int64_t unit, const void *res) {
  if (r->collect_failed) return;
  if (r->task->collect) {
    hfs_error_clear();
    int rc = r->task->collect(r->task->ctx, unit, res);
    if (rc != HFS_OK) {
      char text[HFS__SCHED_MSG_MAX];
      failure_text(text, sizeof text, task_name(r->task), "collecting unit", unit, r->s->rank, rc);
      r->collect_failed = 1;
      record_failure(r, rc, unit, text);
      return;
    }
  }
  r->st->units++;
}

/* Run units on the master itself, one at a time, until it is time to look
 * for messages again.  Returns after at least one unit. */
static void master_compute(run_state *r, void *res) {
  double t0 = hfs_now();
  double t_end = t0 + HFS__MASTER_POLL_SECONDS;
  do {
    int64_t unit = unit_at(r->units, r->next++);
    hfs_error_clear();
    int rc = run_unit(r->task, unit, res);
    double t1 = hfs_now();
    r->st->master_run_seconds += t1 - t0;
    r->st->run_seconds += t1 - t0;
    r->st->units_by_master++;
    r->timed_seconds += t1 - t0;
    r->timed_units++;
    if (t1 - t0 > r->longest) r->longest = t1 - t0;
    if (rc != HFS_OK) {
      char text[HFS__SCHED_MSG_MAX];
      failure_text(text, sizeof text, task_name(r->task), "unit", unit, r->s->rank, rc);
      record_failure(r, rc, unit, text);
      return;
    }
    master_collect(r, unit, res);
    t0 = hfs_now();
    r->st->collect_seconds += t0 - t1;
    if (t0 >= t_end) return;
    check_stop(r);
  } while (!r->halting && r->next < r->nunits);
}

/* One rank: the same callbacks, no message. */
static int run_serial(run_state *r) {
  int rc = HFS_OK;
  unsigned char *res = NULL;
  HFS_ALLOC(res, r->task->result_size);
  while (!r->halting && r->next < r->nunits) {
    check_stop(r);
    if (r->halting) break;
    master_compute(r, res);
    hfs__sched_progress_tick(&r->prog, r->st->units, hfs_now());
  }
cleanup:
  free(res);
  return rc;
}

typedef struct {
  int outstanding; /* batches sent and not yet answered */
  int requested;   /* its REQUEST arrived */
  int stopped;     /* its stop message was sent (or it was given up) */
  double heard;    /* when it last sent a message, or was first given work */
} hfs__worker_state;

typedef struct {
  run_state *r;
  hfs__worker_state *w;
  int nworkers, nrequested, nstopped, ncompute;
  unsigned char *buf;
  size_t cap;
  int64_t max_batch;
  double target;     /* batch duration aimed at, >= the option */
  double next_watch; /* when to look for silent workers again */
} hfs__master;

/* Hand out batches to worker `rank` until it holds `prefetch` of them, and
 * stop it when it holds none and none will come. */
static int fill(hfs__master *m, int rank) {
  int rc = HFS_OK;
  run_state *r = m->r;
  hfs__worker_state *w = &m->w[rank];
  MPI_Comm comm = r->s->comm;
  if (!r->halting && w->outstanding < r->s->opts.prefetch && r->next < r->nunits) {
    /* The master's own cost per batch so far: everything but waiting,
     * computing and collecting, per message received (one per batch). */
    const hfs_sched_stats *st = r->st;
    double busy =
        hfs_now() - r->t_loop - st->wait_seconds - st->master_run_seconds - st->collect_seconds;
    m->target = hfs__sched_batch_target(
        r->s->opts.target_batch_seconds,
        st->messages_received > 0 ? busy / (double)st->messages_received : 0, m->ncompute);
  }
  while (!r->halting && w->outstanding < r->s->opts.prefetch && r->next < r->nunits) {
    double mean = r->timed_units > 0 ? r->timed_seconds / (double)r->timed_units : -1.0;
    int64_t count =
        hfs__sched_batch_size(mean, m->target, r->nunits - r->next, m->ncompute, m->max_batch);
    int64_t msg[2] = {r->next, count};
    HFS_MPI_CHECK(MPI_Send(msg, 2, MPI_INT64_T, rank, HFS__SCHED_TAG_WORK, comm));
    if (w->outstanding == 0) w->heard = hfs_now();
    r->next += count;
    w->outstanding++;
    r->st->batches++;
    r->st->messages_sent++;
    r->st->bytes_sent += (int64_t)sizeof msg;
  }
  if (w->outstanding == 0 && !w->stopped) {
    HFS_MPI_CHECK(MPI_Send(NULL, 0, MPI_INT64_T, rank, HFS__SCHED_TAG_WORK, comm));
    w->stopped = 1;
    m->nstopped++;
    r->st->messages_sent++;
  }
cleanup:
  return rc;
}

static int master_handle(hfs__master *m, const MPI_Status *probe) {
  int rc = HFS_OK;
  run_state *r = m->r;
  MPI_Comm comm = r->s->comm;
  int src = probe->MPI_SOURCE, tag = probe->MPI_TAG, nbytes = 0;
  HFS_MPI_CHECK(MPI_Get_count(probe, MPI_BYTE, &nbytes));
  if ((size_t)nbytes > m->cap) {
    unsigned char *bigger = realloc(m->buf, (size_t)nbytes);
    if (!bigger) HFS_FAIL(HFS_ERR_NOMEM, "scheduler: out of memory");
    m->buf = bigger;
    m->cap = (size_t)nbytes;
  }
  HFS_MPI_CHECK(MPI_Recv(m->buf, nbytes, MPI_BYTE, src, tag, comm, MPI_STATUS_IGNORE));
  r->st->messages_received++;
  r->st->bytes_received += nbytes;
  hfs__worker_state *w = &m->w[src];
  w->heard = hfs_now();
  if (tag == HFS__SCHED_TAG_REQUEST && !w->requested) {
    w->requested = 1;
    m->nrequested++;
    HFS_CHECK(fill(m, src));
  } else if (tag == HFS__SCHED_TAG_RESULT && w->outstanding > 0) {
    hfs__sched_result_head h;
    size_t rs = r->task->result_size;
    if ((size_t)nbytes < sizeof h) goto bad;
    memcpy(&h, m->buf, sizeof h);
    if (h.pos < 0 || h.done < 0 || h.done > h.count || h.pos > r->nunits ||
        h.done > r->nunits - h.pos || h.msg_len < 0 || h.msg_len > HFS__SCHED_MSG_MAX ||
        (size_t)nbytes != sizeof h + (size_t)h.done * rs + (size_t)h.msg_len)
      goto bad;
    w->outstanding--;
    r->st->run_seconds += h.run_seconds;
    if (h.run_seconds > r->longest) r->longest = h.run_seconds;
    if (h.stop && !r->halting) {
      /* A signal reached this worker: the same stop as one on the master. */
      r->halting = 1;
      if (r->out.status == HFS_OK) {
        r->out.status = HFS_ERR_INTERRUPTED;
        r->stop_rank = src;
      }
    }
    /* Only whole batches feed the mean, so that a skipped batch (done 0)
     * does not pose as infinitely fast work. */
    if (h.done == h.count && h.status == HFS_OK) {
      r->timed_seconds += h.run_seconds;
      r->timed_units += h.done;
    }
    const unsigned char *res = m->buf + sizeof h;
    double t0 = hfs_now();
    for (int64_t k = 0; k < h.done; k++)
      master_collect(r, unit_at(r->units, h.pos + k), res + (size_t)k * rs);
    r->st->collect_seconds += hfs_now() - t0;
    if (h.status != HFS_OK) {
      char text[HFS__SCHED_MSG_MAX] = "";
      if (h.msg_len > 0) {
        memcpy(text, res + (size_t)h.done * rs, (size_t)h.msg_len);
        text[HFS__SCHED_MSG_MAX - 1] = '\0';
      }
      record_failure(r, h.status, h.failed_unit, text);
    }
    HFS_CHECK(fill(m, src));
  } else {
    goto bad;
  }
cleanup:
  return rc;
bad:
  /* Cannot happen between ranks of one build; stop cleanly if it does. */
  {
    char text[HFS__SCHED_MSG_MAX];
    snprintf(text, sizeof text, "scheduler: unexpected message (tag %d, %d bytes) from rank %d",
             tag, nbytes, src);
    record_failure(r, HFS_ERR_INTERNAL, -1, text);
  }
  return rc;
}

/* Give up a worker that has been silent for far longer than its work
 * takes (stopped with SIGSTOP, its node hung or gone): stop the run with
 * what was collected, so that a requeue continues it.  Its batches stay
 * undone and are computed again on resume. */
static void watch(hfs__master *m, double now) {
  run_state *r = m->r;
  const hfs_sched *s = r->s;
  if (now < m->next_watch) return;
  m->next_watch = now + HFS__WATCH_SECONDS;
  if (hfs_launcher_gone()) {
    r->halting = 1;
    r->out.status = HFS_ERR_INTERRUPTED;
    snprintf(r->out.msg, sizeof r->out.msg,
             "task '%s': the launcher (pid %ld) is gone; stopping without writing",
             task_name(r->task), hfs_launcher_pid());
    r->lost = 1;
    m->nstopped = m->nworkers;
    return;
  }
  double limit = HFS__SILENCE_FACTOR * r->longest;
  if (limit < s->opts.worker_timeout) limit = s->opts.worker_timeout;
  for (int k = 1; k <= m->nworkers; ++k) {
    hfs__worker_state *w = &m->w[k];
    double since = w->requested ? w->heard : r->t_loop;
    if (w->stopped || (w->requested && w->outstanding == 0) || now - since <= limit) continue;
    if (!r->lost) {
      char text[HFS__SCHED_MSG_MAX];
      snprintf(text, sizeof text,
               "task '%s': rank %d on %s has sent nothing for %.0f s (limit %.0f s, "
               "--worker-timeout); stopping with what was collected",
               task_name(r->task), k,
               s->hosts ? s->hosts + (size_t)k * MPI_MAX_PROCESSOR_NAME : "?", now - since, limit);
      /* Reported as an interruption: the run resumes from its checkpoint. */
      r->halting = 1;
      if (r->out.status == HFS_OK || r->out.status == HFS_ERR_INTERRUPTED) {
        r->out.status = HFS_ERR_INTERRUPTED;
        snprintf(r->out.msg, sizeof r->out.msg, "%s", text);
      }
      r->lost = 1;
    }
    w->stopped = 1;
    w->outstanding = 0;
    m->nstopped++;
  }
}

static int run_master(run_state *r) {
  int rc = HFS_OK;
  const hfs_sched *s = r->s;
  hfs__master m = {0};
  unsigned char *res = NULL;
  m.r = r;
  m.nworkers = s->size - 1;
  m.ncompute = m.nworkers + (s->opts.master_computes ? 1 : 0);
  size_t rs = r->task->result_size;
  size_t room = s->opts.max_message_bytes > sizeof(hfs__sched_result_head)
                    ? s->opts.max_message_bytes - sizeof(hfs__sched_result_head)
                    : 0;
  m.max_batch = s->opts.max_batch_units;
  if (rs > 0 && (int64_t)(room / rs) < m.max_batch) m.max_batch = (int64_t)(room / rs);
  if (m.max_batch < 1) m.max_batch = 1;
  HFS_ALLOC(m.w, s->size);
  HFS_ALLOC(res, rs);
  m.target = s->opts.target_batch_seconds;
  r->t_loop = hfs_now();
  int idle = 0; /* > 0 while nothing is to be done */
  double idle_since = 0;
  while (m.nstopped < m.nworkers) {
    check_stop(r);
    int flag = 0;
    MPI_Status probe;
    HFS_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, s->comm, &flag, &probe));
    /* The master computes only when every worker has asked and been
     * served, so none waits on it; before all have asked, a long unit here
     * would delay their first batch. */
    int compute = !flag && s->opts.master_computes && !r->halting && r->next < r->nunits &&
                  m.nrequested == m.nworkers;
    double now = hfs_now();
    if (flag || compute) {
      if (idle) r->st->wait_seconds += now - idle_since;
      idle = 0;
      if (flag)
        HFS_CHECK(master_handle(&m, &probe));
      else
        master_compute(r, res);
    } else {
      if (!idle) idle_since = now;
      hfs__sched_backoff(&idle);
    }
    double t_now = hfs_now();
    hfs__sched_progress_tick(&r->prog, r->st->units, t_now);
    watch(&m, t_now);
  }
cleanup:
  free(m.w);
  free(m.buf);
  free(res);
  return rc;
}

static int run_worker(const hfs_sched *s, const hfs_sched_task *task, const int64_t *units,
                      int64_t nunits, hfs_sched_stats *st) {
  int rc = HFS_OK;
  MPI_Comm comm = s->comm;
  size_t rs = task->result_size;
  unsigned char *buf[2] = {NULL, NULL};
  size_t cap[2] = {0, 0};
  MPI_Request sreq[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  MPI_Request wreq = MPI_REQUEST_NULL;
  int64_t work[2][2];
  int slot = 0, b = 0, failed = 0;
  /* A receive for the next batch is always posted, so the master's sends
   * complete whatever the MPI's eager limit. */
  HFS_MPI_CHECK(MPI_Irecv(work[slot], 2, MPI_INT64_T, 0, HFS__SCHED_TAG_WORK, comm, &wreq));
  HFS_MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, 0, HFS__SCHED_TAG_REQUEST, comm));
  st->messages_sent++;
  for (;;) {
    MPI_Status ws;
    int flag = 0, idle = 0, n = 0;
    double t_wait = hfs_now();
    for (;;) {
      HFS_MPI_CHECK(MPI_Test(&wreq, &flag, &ws));
      if (flag) break;
      hfs__sched_backoff(&idle);
      if ((idle & 255) == 0 && hfs_launcher_gone()) {
        peer_lost = 1;
        snprintf(peer_lost_msg, sizeof peer_lost_msg,
                 "scheduler: rank %d: the launcher (pid %ld) is gone", s->rank, hfs_launcher_pid());
        HFS_FAIL(HFS_ERR_INTERRUPTED, "%s", peer_lost_msg);
      }
    }
    st->wait_seconds += hfs_now() - t_wait;
    st->messages_received++;
    HFS_MPI_CHECK(MPI_Get_count(&ws, MPI_INT64_T, &n));
    if (n == 0) break; /* the run is over */
    st->bytes_received += (int64_t)n * 8;
    st->batches++;
    int64_t pos = work[slot][0], count = work[slot][1];
    slot ^= 1;
    HFS_MPI_CHECK(MPI_Irecv(work[slot], 2, MPI_INT64_T, 0, HFS__SCHED_TAG_WORK, comm, &wreq));
    hfs__sched_result_head h = {pos, count, 0, -1, 0.0, HFS_OK, 0, 0, {0, 0, 0}};
    char text[HFS__SCHED_MSG_MAX] = "";
    if (n != 2 || pos < 0 || count < 1 || pos > nunits || count > nunits - pos) {
      snprintf(text, sizeof text, "scheduler: bad work message on rank %d", s->rank);
      h.status = HFS_ERR_INTERNAL;
      h.count = h.pos = 0;
      failed = 1;
    }
    /* The buffer two batches back is free once its send completed. */
    HFS_MPI_CHECK(MPI_Wait(&sreq[b], MPI_STATUS_IGNORE));
    size_t need = sizeof h + (size_t)h.count * rs + HFS__SCHED_MSG_MAX;
    if (need > cap[b]) {
      unsigned char *bigger = realloc(buf[b], need);
      if (!bigger) HFS_FAIL(HFS_ERR_NOMEM, "scheduler: out of memory");
      buf[b] = bigger;
      cap[b] = need;
    }
    unsigned char *res = buf[b] + sizeof h;
    if (!failed) {
      double t0 = hfs_now();
      for (int64_t k = 0; k < h.count; k++) {
        /* A stop cuts the batch short: the master collects what is done
         * and the rest stays pending for the resume. */
        if (stop_flag) break;
        int64_t unit = unit_at(units, pos + k);
        hfs_error_clear();
        int urc = run_unit(task, unit, res + (size_t)k * rs);
        if (urc != HFS_OK) {
          failure_text(text, sizeof text, task_name(task), "unit", unit, s->rank, urc);
          h.status = urc;
          h.failed_unit = unit;
          failed = 1; /* later batches are answered without running them */
          break;
        }
        h.done++;
      }
      h.run_seconds = hfs_now() - t0;
      st->run_seconds += h.run_seconds;
      st->units += h.done;
    }
    h.stop = stop_flag != 0;
    if (h.status != HFS_OK) {
      h.msg_len = (int32_t)strlen(text) + 1;
      memcpy(res + (size_t)h.done * rs, text, (size_t)h.msg_len);
    }
    memcpy(buf[b], &h, sizeof h);
    size_t bytes = sizeof h + (size_t)h.done * rs + (size_t)h.msg_len;
    HFS_MPI_CHECK(
        MPI_Isend(buf[b], (int)bytes, MPI_BYTE, 0, HFS__SCHED_TAG_RESULT, comm, &sreq[b]));
    st->messages_sent++;
    st->bytes_sent += (int64_t)bytes;
    b ^= 1;
  }
  HFS_MPI_CHECK(MPI_Waitall(2, sreq, MPI_STATUSES_IGNORE));
cleanup:
  if (rc != HFS_OK && wreq != MPI_REQUEST_NULL) {
    /* Best effort after an MPI error; the caller is expected to abort. */
    MPI_Cancel(&wreq);
    MPI_Request_free(&wreq);
  }
  free(buf[0]);
  free(buf[1]);
  return rc;
}

/* A 64-bit digest of the unit list and result size, to check that every rank
 * runs the same thing. */
static uint64_t units_digest(const int64_t *units, int64_t n, size_t rs) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n ^ ((uint64_t)rs << 32);
  for (int64_t i = 0; i < n; i++) {
    uint64_t z = h + (uint64_t)unit_at(units, i) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    h = z ^ (z >> 31);
  }
  return h;
}

static int check_task(const hfs_sched_task *task, const int64_t *units, int64_t nunits) {
  if (!task || !task->run) return hfs_error_set(HFS_ERR_ARG, "scheduler: task without run()");
  if (nunits < 0) return hfs_error_set(HFS_ERR_ARG, "scheduler: negative unit count");
  if (task->result_size > (size_t)INT_MAX - sizeof(hfs__sched_result_head) - HFS__SCHED_MSG_MAX)
    return hfs_error_set(HFS_ERR_ARG, "scheduler: task '%s': result_size %zu is too large",
                         task_name(task), task->result_size);
  for (int64_t i = 0; units && i < nunits; i++)
    if (units[i] < 0)
      return hfs_error_set(HFS_ERR_ARG, "scheduler: units[%lld] = %lld is negative", (long long)i,
                           (long long)units[i]);
  return HFS_OK;
}

int hfs_sched_run(hfs_sched *s, const hfs_sched_task *task, const int64_t *units, int64_t nunits,
                  hfs_sched_stats *stats) {
  int rc = HFS_OK;
  hfs_sched_stats local;
  run_state r;
  if (!s) return hfs_error_set(HFS_ERR_ARG, "scheduler: NULL handle");
  memset(&local, 0, sizeof local);
  memset(&r, 0, sizeof r);
  local.failed_unit = -1;
  r.s = s;
  r.task = task;
  r.units = units;
  r.nunits = nunits;
  r.st = &local;
  r.out.failed_unit = -1;
  r.stop_rank = -1;
  read_unit_delay();
  double t_start = hfs_now();

  int lrc = check_task(task, units, nunits);
  int bad = lrc != HFS_OK;
  if (s->size > 1) {
    /* One collective settles both local validity and agreement: equal
     * digests give equal max(h) and min(h) = ~max(~h). */
    uint64_t h = bad ? 0 : units_digest(units, nunits, task->result_size);
    uint64_t v[3] = {(uint64_t)bad, h, ~h}, all[3];
    hfs__sched_watch w = {
        s->comm, s->rank, s->size, s->opts.worker_timeout, s->hosts, "the start of the run"};
    MPI_Request req = MPI_REQUEST_NULL;
    HFS_MPI_CHECK(MPI_Iallreduce(v, all, 3, MPI_UINT64_T, MPI_MAX, s->comm, &req));
    HFS_CHECK(hfs__sched_wait(&w, &req));
    if (bad) {
      rc = lrc;
      goto cleanup;
    }
    if (all[0]) HFS_FAIL(HFS_ERR_ARG, "scheduler: invalid task or units on another rank");
    if (all[1] != ~all[2])
      HFS_FAIL(HFS_ERR_ARG,
               "scheduler: task '%s': ranks passed different unit lists or "
               "result sizes",
               task_name(task));
  } else if (bad) {
    rc = lrc;
    goto cleanup;
  }

  if (s->rank == 0) {
    FILE *stream = NULL;
    if (s->opts.progress) stream = s->opts.progress_stream ? s->opts.progress_stream : stderr;
    hfs__sched_progress_begin(&r.prog, stream, s->opts.progress_interval, task_name(task), nunits,
                              s->size, t_start);
    if (s->size == 1)
      rc = run_serial(&r);
    else
      rc = run_master(&r);
    /* Interruption is only reported when it left units undone. */
    if (r.out.status == HFS_ERR_INTERRUPTED && r.next >= nunits && local.units == nunits)
      r.out.status = HFS_OK;
    if (r.out.status == HFS_ERR_INTERRUPTED && !r.lost) {
      char who[64] = "";
      if (r.stop_rank > 0)
        snprintf(who, sizeof who, " on rank %d (%s)", r.stop_rank,
                 s->hosts + (size_t)r.stop_rank * MPI_MAX_PROCESSOR_NAME);
      snprintf(r.out.msg, sizeof r.out.msg,
               "task '%s': interrupted after %lld of %lld units (stop "
               "requested%s)",
               task_name(task), (long long)local.units, (long long)nunits, who);
    }
    hfs__sched_progress_end(&r.prog, local.units, rc != HFS_OK ? rc : r.out.status, hfs_now());
  } else {
    rc = run_worker(s, task, units, nunits, &local);
  }
  /* A local MPI or memory failure leaves the protocol broken: return it
   * without the broadcast; the caller aborts the job. */
  if (rc != HFS_OK) goto cleanup;
  if (r.lost) { /* no rank to agree with: the caller ends the job */
    peer_lost = 1;
    snprintf(peer_lost_msg, sizeof peer_lost_msg, "%s", r.out.msg);
  } else if (s->size > 1) {
    hfs__sched_watch w = {
        s->comm, s->rank, s->size, s->opts.worker_timeout, s->hosts, "the end of the run"};
    MPI_Request req = MPI_REQUEST_NULL;
    HFS_MPI_CHECK(MPI_Ibcast(&r.out, (int)sizeof r.out, MPI_BYTE, 0, s->comm, &req));
    HFS_CHECK(hfs__sched_wait(&w, &req));
  }
  r.out.msg[sizeof r.out.msg - 1] = '\0';
  local.failed_unit = r.out.failed_unit;
  if (r.out.status == HFS_ERR_INTERRUPTED) stop_flag = 0;
  if (r.out.status != HFS_OK)
    rc = hfs_error_set(r.out.status, "%s", r.out.msg);
  else
    hfs_error_clear();

cleanup:
  local.wall_seconds = hfs_now() - t_start;
  if (s->rank == 0)
    local.overhead_seconds =
        local.wall_seconds - local.master_run_seconds - local.collect_seconds - local.wait_seconds;
  if (stats) *stats = local;
  return rc;
}
