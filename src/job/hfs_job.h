/* hfscan's job layer: one runner for every distributed, checkpointed run.
 *
 * A job is a list of independent work units (a toy, an impact fit, a scan
 * point, ...) computed on all ranks by the scheduler and gathered by the
 * master into one output file that doubles as the checkpoint.  What differs
 * between runs is a job kind: a const descriptor in GSL's style (name, unit
 * count, result record size and the callbacks below) whose state stays
 * private to its file.  Everything the kinds share lives in the runner
 * (runner.c), once:
 *
 *   1. the scheduler (its duplicated communicator) is created on all ranks;
 *   2. setup() runs on all ranks, which must agree on its status;
 *   3. on the master only: with an existing output (and no --overwrite),
 *      identify() reads its identity, the runner checks it (workspace
 *      sha256, canonical options, array part) and resume() loads its units;
 *      otherwise start() prepares a fresh run; pending() lists the units
 *      still to compute;
 *   4. the pending list is broadcast on the scheduler's communicator, every
 *      MPI call checked;
 *   5. the scheduler runs the units: run() on any rank, collect() on the
 *      master, which commits (save() through one atomic replace: tmp file,
 *      fsync, rename, fsync of the folder) every checkpoint_interval
 *      seconds; a kind with rounds is asked for more units (pending())
 *      after each run of the scheduler, until there are none;
 *   6. a stop request (SIGTERM, SIGINT, SIGUSR1 call hfs_job_request_stop)
 *      ends the run cleanly with a final commit and HFS_JOB_INTERRUPTED;
 *      otherwise finish() computes the derived results and the file is
 *      committed a last time.
 *
 * The runner returns an exit status (HFS_JOB_EXIT_*) and keeps the kind's
 * state, which the kind's accessors expose for printing.  The command line
 * only fills an hfs_job_config, calls hfs_job_run() and prints.  How to add
 * a kind: docs/architecture.md. */
#ifndef HFS_JOB_H
#define HFS_JOB_H

#include "hfs_fit.h"
#include "hfs_h5.h"
#include "hfs_impacts.h"
#include "hfs_infer.h"
#include "hfs_model.h"
#include "hfs_toyfile.h"

#include <stddef.h>
#include <stdint.h>

/* Exit statuses of hfscan (docs/cli.md, docs/slurm.md). */
enum {
  HFS_JOB_EXIT_OK = 0,
  HFS_JOB_EXIT_ERROR = 1,       /* bad input, I/O, library error */
  HFS_JOB_EXIT_USAGE = 2,       /* bad command line or arguments */
  HFS_JOB_EXIT_INTERRUPTED = 3, /* stopped, or only part of the work done */
  HFS_JOB_EXIT_FIT_FAILED = 4   /* finished, but a fit the result rests on failed */
};

/* The exit status of a library status code: USAGE for HFS_ERR_ARG, ERROR
 * for any other failure, OK for HFS_OK. */
int hfs_job_exit_status(int rc);

/* A grid point's model (kind "grid"), built by the caller's build() from
 * the background workspace with the point's patch applied, with its fixed
 * flags and starting values; owner is the caller's, for release(). */
typedef struct {
  hfs_model *model;
  const int *fixed;
  const double *init;
  void *owner;
} hfs_job_grid_model;

/* Everything a run needs, filled by the caller (the command line, summary,
 * a test).  The model and the arrays are borrowed and must outlive the
 * run; they are identical on every rank. */
typedef struct {
  /* the loaded input */
  hfs_model *model;
  const int *fixed;             /* npar: 1 = held at init */
  const double *init;           /* npar */
  const char *workspace;        /* path as given, for provenance */
  const char *workspace_sha256; /* identity of the input (with patches) */
  hfs_fit_options fit;
  hfs_model_options model_options; /* codes the model was built with */
  /* which fits search for the global minimum (hfs_infer_set_robust):
   * observed and Asimov fits (default 1), toy fits (default 0) */
  int robust_observed, robust_toys;
  /* the output and its checkpoints */
  const char *output;         /* NULL: nothing is written */
  int overwrite;              /* 1: start afresh even if output exists */
  double checkpoint_interval; /* seconds between commits */
  double worker_timeout;      /* seconds before a silent rank is given up
                                 (hfs_sched_options; 0: the default) */
  int quiet;                  /* no progress line, no "resuming" note */
  const char *command_line;   /* for /provenance */
  /* Optional: extra attributes on a fit kind's result group ("/ranking",
   * "/scan"), written inside every commit from the free fit (the command
   * line notes a POI at its bound). */
  int (*annotate)(hfs_h5 *h5, const char *group, const hfs_model *m, const hfs_fit_result *free_fit,
                  const char *kind);
  /* the kinds' own settings */
  struct {
    int limit; /* 0: hypotest at mu; 1: CLs limit scan */
    hfs_teststat ts;
    double mu, cl;
    int npoints; /* limit grid: 0 = around the asymptotic limit */
    double lo, hi;
    int64_t ntoys; /* per point and hypothesis */
    uint64_t seed;
    /* this run's part of a job array: of the toys, and for every kind
     * with parts (grid) the part the runner checks and records */
    int array_index, array_count;
  } toys;
  struct {
    const char *const *groups; /* "NAME=REGEX" */
    int ngroups;
  } ranking;
  struct {
    double lo, hi;
    int npoints;
    const double *levels; /* 2 delta NLL levels; NULL: 1 and 3.84 */
    int nlevels;
  } scan;
  struct {
    int64_t ntoys; /* saturated-model toys */
    uint64_t seed;
  } gof;
  struct {
    int ndim;           /* 1 or 2 scanned parameters */
    const char *par[2]; /* their names */
    double lo[2], hi[2];
    int n[2];
    /* held at their best-fit values: "all", a modifier kind or the name of
     * a ranking.groups entry */
    const char *const *freeze_groups;
    int nfreeze_groups;
  } pscan;
  /* Which data the model holds (written next to diagnostics' results; the
   * workspace_sha256 already tells data sets apart). */
  struct {
    int asimov;
    double mu;
    hfs_asimov_nuis nuis;
  } data;
  struct {
    const hfs_patchset *ps;
    const char *patchset;    /* path as given, for the file */
    const char *measurement; /* as given (NULL: the workspace's first) */
    const int *points;       /* patchset index of each unit, in order */
    int npoints;
    hfs_point_options point; /* .seed: the run's; each point's comes from its name */
    const char *settings;    /* canonical text of the options that change a
                                point's model (--fix, --bounds, ...) */
    /* Build point k's model (any rank, any order); a point that cannot be
     * built is recorded with the message, the others go on. */
    int (*build)(void *ctx, int k, hfs_job_grid_model *out);
    void (*release)(void *ctx, hfs_job_grid_model *pm);
    void *ctx;
  } grid;
} hfs_job_config;

/* Fill with defaults: no output, a checkpoint every 30 s, one array part. */
void hfs_job_config_default(hfs_job_config *cfg);
/* "" for the default global-minimum settings, else ";robust=toys" or
 * ";robust=off": part of the canonical options, since they change results. */
const char *hfs_job_robust_suffix(const hfs_job_config *cfg);

typedef struct hfs_job hfs_job;

/* How a run ended (valid after hfs_job_run returned OK, INTERRUPTED or
 * FIT_FAILED). */
typedef enum {
  HFS_JOB_COMPLETE = 0,   /* every unit done, results derived */
  HFS_JOB_PART_DONE = 1,  /* this run's units done, others belong elsewhere */
  HFS_JOB_INTERRUPTED = 2 /* stopped; the checkpoint holds what was done */
} hfs_job_state;

/* A job kind.  `state` is the kind's private context created by setup().
 * Callbacks marked master run on rank 0 only; the others on every rank.
 * Every callback returns an HFS_ status with a message set on failure. */
typedef struct hfs_job_kind {
  const char *name;      /* "toys", "ranking", ...: progress and errors */
  const char *unit_noun; /* plural, for messages: "toys", "fits" */
  size_t result_size;    /* bytes of one unit's result record */
  /* All ranks, collective: build the state from the job's configuration
   * (hfs_job_config()); may call hfs_job_bcast().  Must give the same unit
   * count and results on every rank. */
  int (*setup)(hfs_job *job, void **state);
  int64_t (*nunits)(const void *state);
  /* Canonical "key=value;..." of every setting that determines the unit
   * results (master; malloc'd, the runner frees it).  A file is resumed
   * only if its stored string is identical. */
  char *(*options)(const void *state);
  /* Master, fresh run only (optional): work done once per run that resume
   * restores from the file instead (observed fits, ...). */
  int (*start)(void *state);
  /* Master: read the identity stored in the existing output at path:
   * workspace sha256, canonical options (malloc'd; the runner frees it),
   * array part (0 of 1 for kinds without parts).  The runner compares it
   * with this run's before anything is resumed. */
  int (*identify)(void *state, const char *path, char sha256[65], char **options, int *array_index,
                  int *array_count);
  /* Master, after the identity matched: load the finished units of path
   * into the state (and count one more session). */
  int (*resume)(void *state, const char *path);
  /* Master: the units still to compute, in the order wanted, into units
   * (room for nunits); returns how many. */
  int64_t (*pending)(const void *state, int64_t *units);
  /* Master: units of this run's part (total) and how many are done. */
  void (*progress)(const void *state, int64_t *done, int64_t *total);
  /* Any rank: compute one unit into result (result_size bytes). */
  int (*run)(void *state, int64_t unit, void *result);
  /* Master: store a finished unit, in arrival order. */
  int (*collect)(void *state, int64_t unit, const void *result);
  /* Master: derive the results once every pending unit is done; sets
   * *whole to whether the whole job (every part) is done and *nfailed to
   * the fits that did not converge that the results rest on (for an
   * array part: those of the part; either way non-zero means exit 4). */
  int (*finish)(void *state, int *whole, int *nfailed);
  /* Master: write the complete file to path (a temporary name: the runner
   * renames it into place). */
  int (*save)(void *state, const char *path);
  void (*destroy)(void *state);
  /* Optional, master, no run: combine the files of a job array's parts
   * into out (as one run would have written it, committed atomically);
   * *done and *total count the units of the whole job.  Parts must agree
   * on workspace and options, and no unit may come from two parts. */
  int (*merge)(const char *out, const char *const *parts, int nparts, int64_t *done,
               int64_t *total);
  /* Optional (all ranks): the bytes of one unit's result when they depend
   * on the run's settings (a grid's toy batches); overrides result_size. */
  size_t (*result_bytes)(const void *state);
  /* 1: the run goes in rounds.  Once every unit that pending() listed is
   * in, the runner asks pending() again and runs what it lists (units
   * whose need depends on the results of earlier ones, e.g. a grid point's
   * further toy batches), until it lists none.  Such a kind's results may
   * depend only on the units' results, never on how the rounds fell. */
  int rounds;
} hfs_job_kind;

/* The kinds. */
extern const hfs_job_kind hfs_job_toys;    /* toy hypotest / limit (docs/inference.md) */
extern const hfs_job_kind hfs_job_ranking; /* pulls and impacts (docs/ranking.md) */
extern const hfs_job_kind hfs_job_scan;    /* profile-likelihood scan (docs/ranking.md) */
extern const hfs_job_kind hfs_job_gof;     /* goodness-of-fit toys (docs/diagnostics.md) */
extern const hfs_job_kind hfs_job_pscan; /* scans of any 1 or 2 parameters (docs/diagnostics.md) */
extern const hfs_job_kind hfs_job_grid;  /* signal grid (docs/grid.md) */

/* Collective over MPI_COMM_WORLD: runs `kind` with cfg (copied; the
 * pointers in it are borrowed) and returns an HFS_JOB_EXIT_* status, the
 * same on every rank for errors of the set-up; the message of an error is
 * in hfs_error_message() (on the master: the master's own).  *out receives
 * the job (also on failure, may be NULL when out of memory) for the kind's
 * accessors; free it with hfs_job_destroy(). */
int hfs_job_run(const hfs_job_kind *kind, const hfs_job_config *cfg, hfs_job **out);
void hfs_job_destroy(hfs_job **job);

/* For kinds and callers. */
const hfs_job_config *hfs_job_config_of(const hfs_job *job);
void *hfs_job_state_of(const hfs_job *job);
int hfs_job_is_master(const hfs_job *job);
int hfs_job_nranks(const hfs_job *job);
hfs_job_state hfs_job_outcome(const hfs_job *job);
int hfs_job_nfailed(const hfs_job *job);    /* from finish() */
double hfs_job_elapsed(const hfs_job *job); /* seconds since hfs_job_run began */
/* Collective, inside setup(): broadcast bytes from the master on the
 * scheduler's communicator (checked). */
int hfs_job_bcast(hfs_job *job, void *buf, size_t bytes);

/* Async-signal-safe: ask the current or next run to stop at its next
 * check, commit and return HFS_JOB_EXIT_INTERRUPTED. */
void hfs_job_request_stop(void);

/* Merge the parts of a job array into out with the kind that wrote them
 * (read from the first part's /job record; a file without one is read as a
 * toy file), which *kind receives.  HFS_ERR_ARG for a kind without parts. */
int hfs_job_merge(const char *out, const char *const *parts, int nparts, const hfs_job_kind **kind,
                  int64_t *done, int64_t *total);

/* Accessors of the kinds' results (master, after hfs_job_run). */
const hfs_toyfile *hfs_job_toys_file(const hfs_job *job);
/* CLs per point and, for a limit file, the limits of a toy file from its
 * finished units (also for merged job-array parts). */
int hfs_job_toys_compute(hfs_toyfile *tf);
/* Commit a toy file made outside a run (merged parts) as a run would: the
 * file and its progress record, atomically. */
int hfs_job_toys_commit(const hfs_toyfile *tf, const char *path);
hfs_ranking *hfs_job_ranking_result(const hfs_job *job);
hfs_scan *hfs_job_scan_result(const hfs_job *job);
/* gof: the observed statistic; the toy p-value once every toy is done
 * (else NULL). */
const hfs_gof *hfs_job_gof_observed(const hfs_job *job);
const hfs_gof_pvalue *hfs_job_gof_pvalue(const hfs_job *job);
/* pscan: the scan, its points by unit, parameters frozen besides the
 * scanned ones. */
const hfs_pscan *hfs_job_pscan_scan(const hfs_job *job);
const hfs_pscan_point *hfs_job_pscan_points(const hfs_job *job);
int hfs_job_pscan_nfrozen(const hfs_job *job);
/* A grid's points, in unit order: results, done flags (NULL when *n = 0). */
const hfs_point_result *hfs_job_grid_results(const hfs_job *job, int *n, const int64_t **done);

#endif
