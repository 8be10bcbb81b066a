/* Batch sizing: pure arithmetic, kept apart from the MPI code so that it can
 * be tested on its own. */
#include "sched_internal.h"

#include <time.h>

double hfs__sched_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t hfs__sched_batch_size(double mean_unit_seconds, double target_seconds,
                              int64_t remaining, int ncompute,
                              int64_t max_units) {
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
