/* The one runner of every job kind (the steps are listed in hfs_job.h). */
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_job.h"
#include "hfs_sched.h"
#include "hfs_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct hfs_job {
  const hfs_job_kind *kind;
  hfs_job_config cfg;
  hfs_sched *sched;
  void *state;
  int master, nranks;
  double t_start, last_commit;
  hfs_job_state outcome;
  int concluded; /* outcome is final */
  int nfailed;
  int64_t collected; /* units collected in this session */
};

void hfs_job_config_default(hfs_job_config *cfg) {
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  hfs_model_options mo = HFS_MODEL_OPTIONS_DEFAULT;
  memset(cfg, 0, sizeof *cfg);
  cfg->fit = fo;
  cfg->model_options = mo;
  cfg->checkpoint_interval = 30;
  cfg->robust_observed = 1;
  cfg->toys.ts = HFS_TS_QTILDE;
  cfg->toys.cl = 0.95;
  cfg->toys.array_count = 1;
}

const char *hfs_job_robust_suffix(const hfs_job_config *cfg) {
  if (!cfg->robust_observed) return ";robust=off";
  return cfg->robust_toys ? ";robust=toys" : "";
}

int hfs_job_exit_status(int rc) {
  if (rc == HFS_OK) return HFS_JOB_EXIT_OK;
  return rc == HFS_ERR_ARG ? HFS_JOB_EXIT_USAGE : HFS_JOB_EXIT_ERROR;
}

const hfs_job_config *hfs_job_config_of(const hfs_job *job) { return &job->cfg; }
void *hfs_job_state_of(const hfs_job *job) { return job ? job->state : NULL; }
int hfs_job_is_master(const hfs_job *job) { return job->master; }
int hfs_job_nranks(const hfs_job *job) { return job->nranks; }
hfs_job_state hfs_job_outcome(const hfs_job *job) { return job->outcome; }
int hfs_job_nfailed(const hfs_job *job) { return job->nfailed; }
double hfs_job_elapsed(const hfs_job *job) { return hfs_now() - job->t_start; }

int hfs_job_bcast(hfs_job *job, void *buf, size_t bytes) {
  return hfs_sched_bcast(job->sched, buf, bytes);
}

void hfs_job_request_stop(void) { hfs_sched_request_stop(); }

/* One commit of the checkpoint (master): the kind's file with the progress
 * record that `hfscan status` reads, staged so that the file's one atomic
 * replace (hfs_h5_close) carries it. */
static int commit(hfs_job *job) {
  hfs_store_progress p;
  memset(&p, 0, sizeof p);
  snprintf(p.kind, sizeof p.kind, "%s", job->kind->name);
  snprintf(p.unit, sizeof p.unit, "%s", job->kind->unit_noun);
  job->kind->progress(job->state, &p.done, &p.total);
  p.complete = job->concluded && job->outcome == HFS_JOB_COMPLETE;
  p.array_index = job->cfg.toys.array_index;
  p.array_count = job->cfg.toys.array_count;
  double dt = hfs_now() - job->t_start;
  p.rate = dt > 0 ? job->collected / dt : -1;
  hfs_store_stage_progress(&p);
  int rc = job->kind->save(job->state, job->cfg.output);
  hfs_store_stage_progress(NULL);
  job->last_commit = hfs_now();
  return rc;
}

static int run_unit(void *ctx, int64_t unit, void *result) {
  hfs_job *job = ctx;
  return job->kind->run(job->state, unit, result);
}

static int collect_unit(void *ctx, int64_t unit, const void *result) {
  hfs_job *job = ctx;
  int rc = job->kind->collect(job->state, unit, result);
  if (rc) return rc;
  job->collected++;
  if (job->cfg.output && hfs_now() - job->last_commit >= job->cfg.checkpoint_interval)
    return commit(job);
  return HFS_OK;
}

/* Name the first ';'-separated option that differs between two canonical
 * strings. */
static void first_difference(const char *a, const char *b, char *out, size_t n) {
  const char *pa = a, *pb = b;
  while (*pa && *pb) {
    const char *ea = strchr(pa, ';'), *eb = strchr(pb, ';');
    size_t la = ea ? (size_t)(ea - pa) : strlen(pa), lb = eb ? (size_t)(eb - pb) : strlen(pb);
    if (la != lb || strncmp(pa, pb, la)) {
      snprintf(out, n, "file has '%.*s', this run '%.*s'", (int)(la > 200 ? 200 : la), pa,
               (int)(lb > 200 ? 200 : lb), pb);
      return;
    }
    if (!ea || !eb) break;
    pa = ea + 1;
    pb = eb + 1;
  }
  snprintf(out, n, "options differ");
}

static int file_exists(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0;
}

/* A file that cannot be read as a checkpoint of this kind. */
static int refuse(const char *out) {
  /* The message lives in the buffer hfs_error_set() writes to. */
  char why[1024];
  snprintf(why, sizeof why, "%s", hfs_error_message());
  return hfs_error_set(HFS_ERR_MISMATCH,
                       "%s exists and cannot be resumed (%s); use --overwrite to start afresh", out,
                       why);
}

/* The master's part of step 3: resume with the identity check, or start
 * afresh; then list the pending units. */
static int prepare(hfs_job *job, int64_t **pending, int64_t *npending) {
  int rc = HFS_OK;
  const hfs_job_kind *k = job->kind;
  const hfs_job_config *cfg = &job->cfg;
  char *mine = NULL, *theirs = NULL, sha[65] = "";
  int ai = 0, ac = 1;
  if (!(mine = k->options(job->state))) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
  if (cfg->output && file_exists(cfg->output) && !cfg->overwrite) {
    const char *out = cfg->output;
    if (k->identify(job->state, out, sha, &theirs, &ai, &ac)) HFS_CHECK(refuse(out));
    if (strcmp(sha, cfg->workspace_sha256))
      HFS_FAIL(HFS_ERR_MISMATCH,
               "%s exists and cannot be resumed: it was written for another workspace (sha256 "
               "%.12s..., this one %.12s...); use --overwrite to start afresh",
               out, sha, cfg->workspace_sha256);
    if (strcmp(theirs, mine)) {
      char diff[512];
      first_difference(theirs, mine, diff, sizeof diff);
      HFS_FAIL(HFS_ERR_MISMATCH,
               "%s exists and cannot be resumed: it was written with other options (%s); use "
               "--overwrite to start afresh",
               out, diff);
    }
    if (ai != cfg->toys.array_index || ac != cfg->toys.array_count)
      HFS_FAIL(HFS_ERR_MISMATCH, "%s holds array part %d/%d, this run is part %d/%d", out, ai, ac,
               cfg->toys.array_index, cfg->toys.array_count);
    if (k->resume(job->state, out)) HFS_CHECK(refuse(out));
    int64_t done, total;
    k->progress(job->state, &done, &total);
    fprintf(stderr, "hfscan: resuming %s (%lld of %lld %s already done)\n", out, (long long)done,
            (long long)total, k->unit_noun);
  } else if (k->start) {
    HFS_CHECK(k->start(job->state));
  }
  int64_t n = k->nunits(job->state);
  HFS_ALLOC(*pending, n);
  *npending = k->pending(job->state, *pending);
cleanup:
  free(mine);
  free(theirs);
  return rc;
}

/* After the scheduler (master): derive, commit, report an interruption. */
static int conclude(hfs_job *job, int interrupted) {
  int rc = HFS_OK;
  const hfs_job_config *cfg = &job->cfg;
  if (interrupted) {
    job->outcome = HFS_JOB_INTERRUPTED;
  } else {
    int whole = 0;
    HFS_CHECK(job->kind->finish(job->state, &whole, &job->nfailed));
    job->outcome = whole ? HFS_JOB_COMPLETE : HFS_JOB_PART_DONE;
  }
  job->concluded = 1;
  if (cfg->output) HFS_CHECK(commit(job));
  if (interrupted) {
    int64_t done, total;
    job->kind->progress(job->state, &done, &total);
    fprintf(stderr,
            "hfscan: interrupted: %lld of %lld %s done%s%s; run the same command again "
            "to resume\n",
            (long long)done, (long long)total, job->kind->unit_noun,
            cfg->output ? ", checkpoint written to " : "", cfg->output ? cfg->output : "");
  }
cleanup:
  return rc;
}

int hfs_job_run(const hfs_job_kind *kind, const hfs_job_config *cfg, hfs_job **out) {
  int rc = HFS_OK;
  hfs_job *job = NULL;
  int64_t *pending = NULL, npending = 0;
  *out = NULL;
  HFS_ALLOC(job, 1);
  *out = job;
  job->kind = kind;
  job->cfg = *cfg;
  job->t_start = job->last_commit = hfs_now();
  if (job->cfg.toys.array_count < 1) job->cfg.toys.array_count = 1;
  /* A rank was given up in an earlier job of this command (a summary):
   * no collective can complete, so this one does not start. */
  if (hfs_sched_peer_lost()) HFS_FAIL(HFS_ERR_INTERRUPTED, "%s", hfs_sched_peer_lost());

  hfs_sched_options so;
  hfs_sched_options_default(&so);
  so.progress = !cfg->quiet;
  if (cfg->worker_timeout > 0) so.worker_timeout = cfg->worker_timeout;
  HFS_CHECK(hfs_sched_create(MPI_COMM_WORLD, &so, &job->sched));
  job->master = hfs_sched_is_master(job->sched);
  job->nranks = hfs_sched_size(job->sched);

  /* Every rank builds the same state (deterministic), so that any rank can
   * run any unit. */
  HFS_CHECK(hfs_sched_agree(job->sched, kind->setup(job, &job->state)));
  int prc = HFS_OK;
  if (job->master) prc = prepare(job, &pending, &npending);
  HFS_CHECK(hfs_sched_agree(job->sched, prc));
  int64_t nunits = kind->nunits(job->state);
  if (!job->master) HFS_ALLOC(pending, nunits > 0 ? nunits : 1);
  size_t result_size = kind->result_bytes ? kind->result_bytes(job->state) : kind->result_size;
  int run_rc = HFS_OK;
  /* One scheduler run per round: a kind whose later units depend on the
   * results of earlier ones (rounds) lists them once those are in; the
   * others have one round.  Every rank gets the round's list from the
   * master. */
  for (int round = 1;; round++) {
    if (round > 1) {
      if (!kind->rounds || run_rc != HFS_OK) break;
      if (job->master) npending = kind->pending(job->state, pending);
    }
    int brc = hfs_sched_bcast(job->sched, &npending, sizeof npending);
    if (!brc && !(round > 1 && npending == 0))
      brc = hfs_sched_bcast(job->sched, pending, sizeof *pending * (size_t)npending);
    /* A rank given up between rounds: what the earlier rounds collected
     * is committed as an interruption's */
    if (brc && round > 1 && hfs_sched_peer_lost()) {
      run_rc = HFS_ERR_INTERRUPTED;
      break;
    }
    HFS_CHECK(brc);
    if (round > 1 && npending == 0) break;
    char name[96];
    if (kind->rounds)
      snprintf(name, sizeof name, "%s, round %d", kind->name, round);
    else
      snprintf(name, sizeof name, "%s (%lld %s)", kind->name, (long long)nunits, kind->unit_noun);
    hfs_sched_task task = {name, result_size, run_unit, collect_unit, job};
    run_rc = hfs_sched_run(job->sched, &task, pending, npending, NULL);
    if (run_rc != HFS_OK && run_rc != HFS_ERR_INTERRUPTED) HFS_CHECK(run_rc);
  }
  /* The master's own work after the run may fail on its own: mpiexec
   * reports the master's status, so no collective follows. */
  if (job->master)
    HFS_CHECK(conclude(job, run_rc == HFS_ERR_INTERRUPTED));
  else
    job->outcome = run_rc == HFS_ERR_INTERRUPTED ? HFS_JOB_INTERRUPTED : HFS_JOB_COMPLETE;
cleanup:
  free(pending);
  /* A rank given up outside the loop (set-up, the start of the run): the
   * file keeps its last commit, nothing of this session was collected. */
  if (rc && job && hfs_sched_peer_lost()) {
    job->outcome = HFS_JOB_INTERRUPTED;
    return HFS_JOB_EXIT_INTERRUPTED;
  }
  if (rc) return hfs_job_exit_status(rc);
  if (job->outcome == HFS_JOB_INTERRUPTED) return HFS_JOB_EXIT_INTERRUPTED;
  /* A finished array part reports its own failed fits as a whole run does
   * (the kind counts those of its part). */
  return job->nfailed ? HFS_JOB_EXIT_FIT_FAILED : HFS_JOB_EXIT_OK;
}

void hfs_job_destroy(hfs_job **job) {
  if (!job || !*job) return;
  if ((*job)->state) (*job)->kind->destroy((*job)->state);
  hfs_sched_destroy(&(*job)->sched);
  free(*job);
  *job = NULL;
}

/* The kinds whose runs have array parts. */
static const hfs_job_kind *const with_parts[] = {&hfs_job_toys, &hfs_job_grid};

int hfs_job_merge(const char *out, const char *const *parts, int nparts, const hfs_job_kind **kind,
                  int64_t *done, int64_t *total) {
  hfs_store_progress p;
  *kind = &hfs_job_toys;
  /* A part without a readable record is left to the toy reader, whose
   * message says what is wrong with the file. */
  if (hfs_store_read_progress(parts[0], &p) == HFS_OK) {
    *kind = NULL;
    for (size_t i = 0; i < sizeof with_parts / sizeof *with_parts; ++i)
      if (!strcmp(p.kind, with_parts[i]->name)) *kind = with_parts[i];
    if (!*kind)
      return hfs_error_set(HFS_ERR_ARG,
                           "merge: %s is a %s file; only job-array parts (toys, grid) merge",
                           parts[0], p.kind);
  }
  hfs_error_clear();
  return (*kind)->merge(out, parts, nparts, done, total);
}
