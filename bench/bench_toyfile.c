/* Cost of one checkpoint commit of a toy file (built in memory, written
 * whole to OUT.tmp, fsync, rename) as a function of its size: the master's
 * HDF5 write rate.
 *
 *   bench_toyfile OUT.h5 [POINTS [TOYS]]   (default 20 points x 10000 toys) */
#include "hfs_error.h"
#include "hfs_toyfile.h"
#include "hfs_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_toyfile OUT.h5 [POINTS [TOYS]]\n");
    return 2;
  }
  int P = argc > 2 ? atoi(argv[2]) : 20;
  long long N = argc > 3 ? atoll(argv[3]) : 10000;
  hfs_toyfile tf;
  if (hfs_toyfile_alloc(&tf, P, N, 200)) return 1;
  snprintf(tf.kind, sizeof tf.kind, "limit");
  snprintf(tf.workspace_sha256, sizeof tf.workspace_sha256, "%064d", 0);
  snprintf(tf.options, sizeof tf.options, "bench");
  int64_t n = hfs_toyfile_nunits(&tf);
  for (int64_t u = 0; u < n; ++u) {
    tf.units[u].t = sin((double)u);
    tf.units[u].mu_hat = cos((double)u);
    tf.units[u].nll_free = tf.units[u].nll_cond = (double)u;
    tf.units[u].status_free = tf.units[u].status_cond = 0;
    tf.done[u] = 1;
  }
  double best = INFINITY;
  for (int r = 0; r < 5; ++r) {
    double t0 = hfs_now();
    if (hfs_toyfile_write(&tf, argv[1])) {
      fprintf(stderr, "bench_toyfile: %s\n", hfs_error_message());
      return 1;
    }
    double dt = hfs_now() - t0;
    if (dt < best) best = dt;
  }
  double mb = (double)n * (sizeof(hfs_toy_result) + sizeof(int64_t)) / 1e6;
  printf(
      "%d points x 2 x %lld toys = %lld toys, %.1f MB of toy data: commit %.1f ms "
      "(%.0f MB/s, %.2f us per toy)\n",
      P, N, (long long)n, mb, 1e3 * best, mb / best, 1e6 * best / (double)n);
  hfs_toyfile_free(&tf);
  return 0;
}
