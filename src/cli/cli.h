/* Shared pieces of the command line: options common to every subcommand,
 * loading the workspace into a model, printing, exit statuses. */
#ifndef HFS_CLI_H
#define HFS_CLI_H

#include "hfs_fit.h"
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_job.h"
#include "hfs_model.h"
#include "hfs_store.h"
#include "hfs_workspace.h"
#include "params.h"

#include <stdio.h>

/* Exit statuses (docs/cli.md, docs/slurm.md): the job layer's. */
enum {
  HFS_EXIT_OK = HFS_JOB_EXIT_OK,
  HFS_EXIT_ERROR = HFS_JOB_EXIT_ERROR,             /* bad input, I/O, library error */
  HFS_EXIT_USAGE = HFS_JOB_EXIT_USAGE,             /* bad command line */
  HFS_EXIT_INTERRUPTED = HFS_JOB_EXIT_INTERRUPTED, /* stopped by a signal; checkpoint written */
  HFS_EXIT_FIT_FAILED = HFS_JOB_EXIT_FIT_FAILED /* finished, but a fit the result rests on failed */
};

#define HFS_MAX_FIX 256
#define HFS_MAX_PATCH 64

typedef struct {
  const char *workspace;
  const char *measurement;
  const char *output; /* -o FILE.h5 */
  int json;
  int quiet;
  int brief;  /* fit: POI and status only */
  int strict; /* warnings are errors */
  hfs_fit_options fit;
  hfs_model_options model;
  int nfix;
  char *fix_name[HFS_MAX_FIX];
  double fix_value[HFS_MAX_FIX];
  hfs_cli_params params; /* --bounds, --set, --freeze (params.h) */
  int npatch;            /* --patch FILE (repeatable): JSON Patches applied
                            to the workspace in order */
  const char *patch[HFS_MAX_PATCH];
  int no_digest_check; /* --no-digest-check */
  /* inference */
  double mu;
  int have_mu;
  double cl;
  hfs_teststat ts;
  int have_ts;
  int nscan;
  double scan_lo, scan_hi;
  int toys; /* --calc toys */
  long long ntoys;
  unsigned long long seed;
  int overwrite;
  int top;                /* ranking --top */
  const char *groups[32]; /* ranking --group NAME=REGEX */
  int ngroups;
  double levels[4]; /* scan --level */
  int nlevels;
  int array_index, array_count; /* job-array split of toys */
  double checkpoint_interval;   /* seconds between checkpoint commits */
  double worker_timeout;        /* seconds before a silent rank is given up */
  int robust;                   /* --robust: HFS_ROBUST_* */
  int limit_method;             /* limit --limit-method: HFS_LIMIT_STEPS or _BRENT */
  int have_limit_method;
  const char *argv_line;
  int data_asimov; /* --data asimov[:mu=X][:nuis=...] (data.c) */
  double asimov_mu;
  int have_asimov_mu;
  hfs_asimov_nuis asimov_nuis;
  int yields_prefit;        /* yields --prefit (default post-fit) */
  int latex;                /* yields --latex */
  const char *impacts_json; /* ranking --impacts-json FILE */
  int npar_scan;            /* scan --par NAME=LO:HI:N (at most 2) */
  char par_name[2][128];
  double par_lo[2], par_hi[2];
  int par_n[2];
  const char *freeze_group[32]; /* scan --freeze-group NAME (repeatable) */
  int nfreeze_group;
} hfs_cli_opts;

/* --robust: which fits search for the global minimum (hfs_infer_set_robust). */
enum { HFS_ROBUST_OFF = 0, HFS_ROBUST_OBSERVED = 1, HFS_ROBUST_TOYS = 2 };
void hfs_cli_apply_robust(const hfs_cli_opts *o, hfs_infer *I);

/* Loaded workspace and the settings derived from the options. */
typedef struct {
  hfs_spec *spec;
  hfs_model *model;
  int *fixed;
  double *init;
  char sha256[65]; /* of the workspace file; with --patch, of the
                      workspace's and the patches' sha256s */
} hfs_cli_ctx;

/* The identity and provenance of a command's output file (kind: "fit",
 * "hypotest", ...; wall: seconds the command took). */
hfs_run_info hfs_cli_run_info(const char *kind, const hfs_cli_opts *o, const hfs_cli_ctx *c,
                              double wall);

void hfs_cli_opts_default(hfs_cli_opts *o);
/* Parse common + command-specific options; returns HFS_EXIT_* (OK to go on,
 * or USAGE/ERROR with a message printed, or -1 for --help printed). */
int hfs_cli_parse(const char *cmd, int argc, char **argv, hfs_cli_opts *o);
/* Arguments from index argi on (the command line after a job file's own
 * options) may override a single-valued option given before them, once. */
void hfs_cli_set_override_from(int argi);
void hfs_cli_opts_free(hfs_cli_opts *o);

int hfs_cli_load(const hfs_cli_opts *o, hfs_cli_ctx *c);
/* The same from a workspace already read (a grid point): c takes spec over,
 * also on failure (hfs_cli_ctx_free releases it). */
int hfs_cli_load_spec(const hfs_cli_opts *o, hfs_spec *spec, hfs_cli_ctx *c);
void hfs_cli_ctx_free(hfs_cli_ctx *c);

/* The job configuration of the options and the loaded workspace (the
 * pointers in it borrow from o and c). */
void hfs_cli_job_config(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_job_config *cfg);
/* Print the library's error message on rank 0 when code is ERROR or USAGE;
 * returns code. */
int hfs_cli_job_report(int code);
/* --data (data.c): parse the option; replace the model's data after
 * loading (called by hfs_cli_load); what the data are ("observed",
 * "asimov:mu=1:nuis=prefit"), for outputs. */
int hfs_cli_data_parse(const char *arg, hfs_cli_opts *o);
int hfs_cli_data_apply(const hfs_cli_opts *o, hfs_cli_ctx *c);
const char *hfs_cli_data_describe(void);
/* Attributes data_kind, asimov_mu, asimov_nuisance on GROUP of an output. */
struct hfs_h5;
int hfs_cli_data_store(struct hfs_h5 *f, const char *group);
/* The same into a job's configuration (cfg->data). */
void hfs_cli_data_config(hfs_job_config *cfg);
/* "95% CL", "99.99% CL": the level as given, for every printed or plotted
 * label (print.c). */
const char *hfs_cli_cl_label(double cl, char *buf, size_t n);
/* Whether a command prints its result on stdout: always with --json, and
 * not with --quiet when -o holds it. */
int hfs_cli_show_result(const hfs_cli_opts *o);

/* "-" as the workspace (stdin_ws.c): read standard input on rank 0 and
 * share it with every rank; collective, called by main before the
 * subcommand when an argument is "-".  The workspace text then stays
 * available to every later load. */
int hfs_cli_stdin_prepare(int argc, char **argv);
int hfs_cli_stdin_workspace(const char **data, size_t *len);

/* A job file's path value (workspace, patch, output) resolved against the
 * job file's folder; absolute paths and "-" unchanged.  Caller frees. */
char *hfs_cli_job_path(const char *job, const char *value);
/* Create a folder and its parents (mkdir -p); HFS_ERR_IO naming the folder
 * and the reason (errno text) on failure, or when it is not writable. */
int hfs_cli_mkdirs(const char *dir);
/* Before writing -o FILE: create the file's folder with its parents. */
int hfs_cli_prepare_output(const char *file);

/* One-line error on stderr ("hfscan: <message>"). */
void hfs_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The warning for a covariance that is not accurate (hfs_cov_status): one
 * line without "warning: ", empty for an accurate one. */
const char *hfs_cli_cov_warning(int cov_status);

/* The commands' bodies after parsing and loading, for summary (which loads
 * once): each prints and writes o->output; returns an HFS_EXIT_* status.
 * fit, limit and significance run on rank 0 only; the jobs on all ranks. */
int hfs_cli_fit(const hfs_cli_opts *o, const hfs_cli_ctx *c);
int hfs_cli_limit(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_infer *I);
int hfs_cli_significance(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_infer *I);
int hfs_cli_fits_job(const hfs_cli_opts *o, const hfs_cli_ctx *c, const hfs_job_kind *kind);

/* Subcommands. */
int hfs_cmd_fit(int argc, char **argv);
int hfs_cmd_hypotest(int argc, char **argv);
int hfs_cmd_limit(int argc, char **argv);
int hfs_cmd_significance(int argc, char **argv);
int hfs_cmd_ranking(int argc, char **argv);
int hfs_cmd_scan(int argc, char **argv);
int hfs_cmd_run(int argc, char **argv);
int hfs_cmd_merge(int argc, char **argv);
int hfs_cmd_status(int argc, char **argv);
int hfs_cmd_summary(int argc, char **argv);
int hfs_cmd_gof(int argc, char **argv);
int hfs_cmd_pscan(int argc, char **argv); /* scan --par: cmd_pscan.c */
int hfs_cli_par_parse(const char *arg, hfs_cli_opts *o);
int hfs_cmd_yields(int argc, char **argv);
int hfs_cmd_patchset(int argc, char **argv);
int hfs_cmd_grid(int argc, char **argv);
/* The options grid takes out of its arguments itself, for its --help. */
void hfs_cli_grid_usage(FILE *out);

/* Set by the signal handler installed in main. */
extern volatile int hfs_cli_interrupted;
int hfs_cli_rank(void);
int hfs_cli_size(void);

#endif
