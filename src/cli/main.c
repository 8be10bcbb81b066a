/* hfscan: entry point.  Initialises MPI (PETSc starts on a first TAO fit),
 * installs the interruption handlers and dispatches to a subcommand. */
#define _POSIX_C_SOURCE 200809L /* sigaction, sigprocmask */
#include "cli.h"
#include "cli_guard.h"
#include "hfs_error.h"
#include "hfs_launcher.h"
#include "hfs_sched.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int hfs_cli_interrupted;
static int rank_, size_ = 1;

int hfs_cli_rank(void) { return rank_; }
int hfs_cli_size(void) { return size_; }

/* A job that runs (or starts later) stops at its next check and commits
 * its checkpoint; other commands ignore the request. */
static void on_signal(int sig) {
  (void)sig;
  hfs_cli_interrupted = 1;
  hfs_job_request_stop();
}

static const int stop_signals[] = {SIGTERM, SIGINT, SIGUSR1};

/* The stop signals are blocked from the first instruction until MPI and
 * PETSc have started and our handlers are (again) in place: a signal that
 * arrives meanwhile (Slurm's --signal, a user's scancel, mpirun forwarding
 * USR1) waits instead of killing the rank with the default action, and is
 * delivered to the handler when unblocked.  Threads that MPI starts inherit
 * the blocked mask, so the signal later reaches the main thread. */
static void stop_signals_block(int block) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; ++i)
    sigaddset(&set, stop_signals[i]);
  /* Unblocked explicitly rather than restored: a launcher that started us
   * with them blocked must not hide a stop from the handlers. */
  sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static void stop_signals_handle(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; ++i)
    sigaction(stop_signals[i], &sa, NULL);
}

/* A rank was given up or the launcher vanished (hfs_sched_peer_lost): the
 * results that exist were committed; no collective call can complete now. */
static int end_without_peers(int code) {
  if (rank_ == 0) fprintf(stderr, "hfscan: %s\n", hfs_sched_peer_lost());
  fflush(stdout);
  fflush(stderr);
  if (hfs_launcher_gone()) _exit(code);
  MPI_Abort(MPI_COMM_WORLD, code);
  return code;
}

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command;

static const command commands[] = {
    {"fit", hfs_cmd_fit, "maximum-likelihood fit with uncertainties and correlations"},
    {"hypotest", hfs_cmd_hypotest, "CLs hypothesis test at one POI value"},
    {"limit", hfs_cmd_limit, "CLs upper limit with expected bands"},
    {"significance", hfs_cmd_significance, "discovery p-value and significance"},
    {"ranking", hfs_cmd_ranking, "pulls, constraints and impacts of the nuisance parameters"},
    {"scan", hfs_cmd_scan, "profile-likelihood scan of the POI, stat/syst split"},
    {"yields", hfs_cmd_yields,
     "pre-/post-fit yields per channel, bin and sample with uncertainties"},
    {"gof", hfs_cmd_gof, "saturated-model goodness of fit (asymptotic or toys)"},
    {"run", hfs_cmd_run, "run a job file (jobs/*.job)"},
    {"merge", hfs_cmd_merge, "merge job-array parts into one output"},
    {"status", hfs_cmd_status, "progress of a resumable run (exit 0 when complete)"},
    {"grid", hfs_cmd_grid, "every point of a pyhf patchset: CLs, limits, HDF5 table"},
    {"patchset", hfs_cmd_patchset, "list, extract or apply the patches of a pyhf patchset"},
    {"summary", hfs_cmd_summary, "fit, limit, significance, ranking and stat/syst in one go"},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: hfscan COMMAND WORKSPACE.json [options]   (hfscan COMMAND --help)\n"
          "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; ++i)
    fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
  fprintf(out, "  %-13s %s\n", "version", "print the version");
}

int main(int argc, char **argv) {
  int provided, code;
  stop_signals_block(1);
  hfs_launcher_watch();
  /* Handlers first: PETSc keeps handlers installed before it starts. */
  stop_signals_handle();
  /* Started without mpirun or srun, Open MPI's singleton forks an orted
   * (about a second on a loaded node); an isolated singleton does not, and
   * hfscan never spawns processes.  A launcher's own setting wins. */
  if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) {
    setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
    /* A process alone needs no network: choosing among the point-to-point
     * layers probes UCX and libfabric's providers first, 0.2 s of wall
     * time (sleeps) and 0.04 s of CPU of every command; ob1 with the self
     * transport is what a singleton ends up with anyway. */
    setenv("OMPI_MCA_pml", "ob1", 0);
    /* Every isolated singleton takes the same job name, so all of them
     * would share one session directory (TMPDIR/ompi.HOST.UID/jf.0/1/0):
     * one run removing it at exit while another creates it fails the
     * other's MPI_Init ("File exists").  One directory per process, which
     * Open MPI removes at MPI_Finalize. */
    char dir[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/hfscan-ompi.%ld.%ld", tmp && *tmp ? tmp : "/tmp", (long)getuid(),
             (long)getpid());
    setenv("OMPI_MCA_orte_jobfam_session_dir", dir, 0);
  }
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    fprintf(stderr, "hfscan: MPI_Init_thread failed\n");
    return HFS_EXIT_ERROR;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  /* every rank's host, to name one that stops answering later */
  if (size_ > 1 && hfs_sched_learn_hosts() != HFS_OK && hfs_sched_peer_lost())
    return end_without_peers(HFS_EXIT_INTERRUPTED);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    if (rank_ == 0) usage(argc < 2 ? stderr : stdout);
    MPI_Finalize();
    return argc < 2 ? HFS_EXIT_USAGE : HFS_EXIT_OK;
  }
  if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
    if (rank_ == 0) printf("hfscan %s (%s)\n", HFS_VERSION, HFS_GIT);
    MPI_Finalize();
    return HFS_EXIT_OK;
  }
  const command *cmd = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; ++i)
    if (!strcmp(argv[1], commands[i].name)) cmd = &commands[i];
  if (!cmd) {
    if (rank_ == 0) {
      fprintf(stderr, "hfscan: unknown command '%s'\n", argv[1]);
      usage(stderr);
    }
    MPI_Finalize();
    return HFS_EXIT_USAGE;
  }
  if (hfs_fit_library_init(&argc, &argv) != HFS_OK) {
    fprintf(stderr, "hfscan: %s\n", hfs_error_message());
    MPI_Finalize();
    return HFS_EXIT_ERROR;
  }
  stop_signals_handle();
  stop_signals_block(0);
  if (hfs_cli_stdin_prepare(argc - 1, argv + 1) != HFS_OK) {
    hfs_cli_error("%s", hfs_error_message());
    hfs_fit_library_finalize();
    MPI_Finalize();
    return HFS_EXIT_ERROR;
  }
  code = cmd->run(argc - 1, argv + 1);
  hfs_cli_output_release();
  if (hfs_sched_peer_lost()) return end_without_peers(code);
  /* A rank stopped after its last collective would hold the others in
   * MPI_Finalize for ever: the master waits for all of them here, at most
   * the hang timeout.  What was committed stays; a requeue finishes it. */
  if (size_ > 1 && hfs_sched_final_check() != HFS_OK && hfs_sched_peer_lost())
    return end_without_peers(
        code == HFS_EXIT_ERROR || code == HFS_EXIT_USAGE ? code : HFS_EXIT_INTERRUPTED);
  hfs_fit_library_finalize();
  MPI_Finalize();
  return code;
}
