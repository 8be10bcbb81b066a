/* Batch sizing: pure arithmetic, kept apart from the MPI code so that it can
 * be tested on its own. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, fileno */
#include "sched_internal.h"

#include <time.h>

double hfs__sched_batch_target(double target_option, double cost_per_batch, int ncompute) {
  /* Against the work of one batch of duration T, the master's cost c per
   * batch (a result in, a batch out) is c / T: under 1% when T >= 100 c.
   * The master serves ncompute ranks that each return every T seconds, so
   * it is busy a fraction c ncompute / T; capping that at 25% keeps its
   * replies prompt: T >= 4 c ncompute.  With c ~ 0.5-1 us the option
   * (50 ms) rules up to 12 000-25 000 ranks; beyond, batches lengthen so
   * that the master never becomes the bottleneck. */
  double k = 4.0 * (double)ncompute;
  if (k < 100.0) k = 100.0;
  double lower = cost_per_batch * k;
  return lower > target_option ? lower : target_option;
}

int64_t hfs__sched_batch_size(double mean_unit_seconds, double target_seconds, int64_t remaining,
                              int ncompute, int64_t max_units) {
  if (remaining <= 0) return 0;
  if (max_units < 1) max_units = 1;
  if (ncompute < 1) ncompute = 1;
  int64_t n;
  if (mean_unit_seconds < 0) {
    /* Nothing measured yet: single units come back quickly with a time. */
    n = 1;
  } else if (mean_unit_seconds * (double)max_units <= target_seconds) {
    /* Also covers units too short to measure (mean 0). */
    n = max_units;
  } else {
    n = (int64_t)(target_seconds / mean_unit_seconds);
    if (n < 1) n = 1;
  }
  /* The tail rule: while at least two batches per computing rank remain,
   * nobody can end up with much more than the others; once fewer remain,
   * batches shrink down to one unit so the ranks finish together. */
  int64_t tail = remaining / (2 * (int64_t)ncompute);
  if (tail < 1) tail = 1;
  if (n > tail) n = tail;
  if (n > max_units) n = max_units;
  if (n > remaining) n = remaining;
  return n;
}
