/* Benchmark of the MPI scheduler: the master's cost per unit and the parallel
 * efficiency.
 *
 *   mpiexec -n N bench_sched [--unit noop|spin] [--unit-us T] [--units U]
 *                            [--master-computes 0|1] [--target S]
 *                            [--prefetch P] [--max-batch B] [--reps R]
 *
 * noop: a unit that does nothing, so everything measured is the scheduler's
 * own cost (messages, bookkeeping, one collect that stores 8 bytes).
 * spin: a unit that burns T microseconds of CPU time (thread CPU clock, so an
 * oversubscribed rank does not finish its unit early by waiting).
 * Prints one line per repetition on rank 0, then the best (shortest) one. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, fileno */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hfs_error.h"
#include "hfs_sched.h"

typedef struct {
  int spin;
  double unit_seconds;
  double *store; /* master: results by unit */
} bench_ctx;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run_unit(void *vctx, int64_t unit, void *out) {
  bench_ctx *c = vctx;
  double v = (double)unit;
  if (c->spin) {
    double t_end = cpu_now() + c->unit_seconds;
    while (cpu_now() < t_end) v += 1e-9;
  }
  memcpy(out, &v, sizeof v);
  return HFS_OK;
}

static int collect_unit(void *vctx, int64_t unit, const void *res) {
  bench_ctx *c = vctx;
  memcpy(&c->store[unit], res, sizeof(double));
  return HFS_OK;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_sched [--unit noop|spin] [--unit-us T] [--units U]\n"
          "                   [--master-computes 0|1] [--target S]\n"
          "                   [--prefetch P] [--max-batch B] [--reps R]\n");
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  bench_ctx c = {0, 1e-3, NULL};
  int64_t nunits = -1;
  int reps = 3;
  hfs_sched_options o;
  hfs_sched_options_default(&o);
  o.progress = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      usage();
      status = 2;
      goto done;
    }
    if (!strcmp(a, "--unit"))
      c.spin = !strcmp(v, "spin");
    else if (!strcmp(a, "--unit-us"))
      c.unit_seconds = atof(v) * 1e-6;
    else if (!strcmp(a, "--units"))
      nunits = atoll(v);
    else if (!strcmp(a, "--master-computes"))
      o.master_computes = atoi(v);
    else if (!strcmp(a, "--target"))
      o.target_batch_seconds = atof(v);
    else if (!strcmp(a, "--max-batch"))
      o.max_batch_units = atoll(v);
    else if (!strcmp(a, "--prefetch"))
      o.prefetch = atoi(v);
    else if (!strcmp(a, "--reps"))
      reps = atoi(v);
    else {
      usage();
      status = 2;
      goto done;
    }
    i++;
  }
  if (nunits < 0) nunits = c.spin ? 4000 : 4000000;

  int64_t *units = malloc((size_t)nunits * sizeof *units);
  c.store = malloc((size_t)nunits * sizeof *c.store);
  if (!units || !c.store) {
    fprintf(stderr, "bench_sched: out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  for (int64_t i = 0; i < nunits; i++) units[i] = i;
  hfs_sched *s = NULL;
  if (hfs_sched_create(MPI_COMM_WORLD, &o, &s) != HFS_OK) {
    fprintf(stderr, "bench_sched: %s\n", hfs_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  hfs_sched_task t = {c.spin ? "spin" : "noop", sizeof(double), run_unit, collect_unit, &c};
  if (rank == 0)
    printf(
        "# bench_sched: %d ranks, %lld %s units%s, master_computes=%d, "
        "target=%g s, prefetch=%d, max_batch=%lld\n",
        size, (long long)nunits, t.name, c.spin ? "" : " (no work)", o.master_computes,
        o.target_batch_seconds, o.prefetch, (long long)o.max_batch_units);
  double best = 1e300;
  char best_line[640] = "";
  for (int r = 0; r < reps; r++) {
    hfs_sched_stats st;
    MPI_Barrier(MPI_COMM_WORLD);
    if (hfs_sched_run(s, &t, units, nunits, &st) != HFS_OK) {
      fprintf(stderr, "bench_sched: %s\n", hfs_error_message());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* Workers' own view: the share of their time spent waiting for work,
     * which external load on the machine does not inflate the way it
     * inflates wall times. */
    double mine[2] = {rank == 0 ? 0.0 : st.wait_seconds, rank == 0 ? 0.0 : st.wall_seconds};
    double sums[2] = {0, 0};
    MPI_Reduce(mine, sums, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank != 0) continue;
    double idle = sums[1] > 0 ? 100.0 * sums[0] / sums[1] : 0.0;
    double msgs = (double)(st.messages_sent + st.messages_received);
    char line[640];
    if (c.spin) {
      /* Efficiency against the ideal: all units' CPU time spread evenly over
       * every rank, the master included. */
      double ideal = (double)nunits * c.unit_seconds / size;
      snprintf(line, sizeof line,
               "wall %.4f s, ideal %.4f s, efficiency %.1f%%, speedup %.2f, "
               "master ran %lld units, overhead %.3f us/unit, %.0f msg/s, "
               "%lld batches (mean %.1f units), master wait %.3f s, "
               "workers idle %.2f%%",
               st.wall_seconds, ideal, 100 * ideal / st.wall_seconds,
               (double)nunits * c.unit_seconds / st.wall_seconds, (long long)st.units_by_master,
               1e6 * st.overhead_seconds / (double)nunits, msgs / st.wall_seconds,
               (long long)st.batches,
               st.batches ? (double)(nunits - st.units_by_master) / (double)st.batches : 0.0,
               st.wait_seconds, idle);
    } else {
      snprintf(line, sizeof line,
               "wall %.4f s, %.3g units/s, master overhead %.4f us/unit "
               "(%.3f s), collect %.4f us/unit, master ran %lld units, "
               "%.0f msg/s, %lld batches (mean %.1f units), bytes %lld in / "
               "%lld out, workers idle %.2f%%",
               st.wall_seconds, (double)nunits / st.wall_seconds,
               1e6 * st.overhead_seconds / (double)nunits, st.overhead_seconds,
               1e6 * st.collect_seconds / (double)nunits, (long long)st.units_by_master,
               msgs / st.wall_seconds, (long long)st.batches,
               st.batches ? (double)(nunits - st.units_by_master) / (double)st.batches : 0.0,
               (long long)st.bytes_received, (long long)st.bytes_sent, idle);
    }
    printf("rep %d: %s\n", r, line);
    if (st.wall_seconds < best) {
      best = st.wall_seconds;
      snprintf(best_line, sizeof best_line, "%s", line);
    }
  }
  if (rank == 0) printf("best: %s\n", best_line);
  hfs_sched_destroy(&s);
  free(units);
  free(c.store);
done:
  MPI_Finalize();
  return status;
}
