/* The parts of the scheduler that need no MPI: batch sizing and progress
 * lines. */
#include <stdio.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_test.h"
#include "sched_internal.h"

static void test_batch_unknown_time(void **state) {
  (void)state;
  /* Before any unit time is known, batches hold a single unit. */
  assert_int_equal(hfs__sched_batch_size(-1.0, 0.05, 1000000, 4, 65536), 1);
  assert_int_equal(hfs__sched_batch_size(-1.0, 0.05, 0, 4, 65536), 0);
}

static void test_batch_target(void **state) {
  (void)state;
  /* 1 ms units, 50 ms target: 50 units, far from the tail. */
  assert_int_equal(hfs__sched_batch_size(1e-3, 0.05, 1000000, 4, 65536), 50);
  /* Units longer than the target still go one at a time. */
  assert_int_equal(hfs__sched_batch_size(2.0, 0.05, 1000000, 4, 65536), 1);
  /* Units too short to measure: the cap decides. */
  assert_int_equal(hfs__sched_batch_size(0.0, 0.05, 1000000000, 4, 65536), 65536);
  assert_int_equal(hfs__sched_batch_size(1e-9, 0.05, 1000000000, 4, 1000), 1000);
}

static void test_batch_tail(void **state) {
  (void)state;
  /* Never more than remaining / (2 * computing ranks). */
  assert_int_equal(hfs__sched_batch_size(1e-6, 0.05, 800, 4, 65536), 100);
  assert_int_equal(hfs__sched_batch_size(1e-6, 0.05, 7, 4, 65536), 1);
  assert_int_equal(hfs__sched_batch_size(1e-6, 0.05, 1, 1000, 65536), 1);
  /* Shrinks monotonically with what remains, and stays in [1, remaining]. */
  int64_t prev = 1 << 30;
  for (int64_t rem = 100000; rem >= 1; rem = rem * 9 / 10) {
    int64_t n = hfs__sched_batch_size(1e-7, 0.05, rem, 3, 65536);
    assert_true(n >= 1 && n <= rem && n <= prev);
    prev = n;
    if (rem < 10) break;
  }
  /* Degenerate arguments are clamped rather than trusted. */
  assert_int_equal(hfs__sched_batch_size(1e-3, 0.05, 100, 0, 0), 1);
}

static void test_batch_target_floor(void **state) {
  (void)state;
  /* A cheap master leaves the option alone. */
  assert_close(hfs__sched_batch_target(0.05, 1e-6, 4), 0.05, 1e-15);
  assert_close(hfs__sched_batch_target(0.05, 0.0, 100000), 0.05, 1e-15);
  /* 1% of the work: a 1 ms cost per batch needs 0.1 s batches. */
  assert_close(hfs__sched_batch_target(0.05, 1e-3, 2), 0.1, 1e-12);
  /* 25% master load: 1 us per batch and 20000 ranks: 1e-6 * 4 * 20000. */
  assert_close(hfs__sched_batch_target(0.05, 1e-6, 20000), 0.08, 1e-12);
}

static char *read_all(FILE *f, char *buf, size_t cap) {
  rewind(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  return buf;
}

static void test_progress_log(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  hfs__sched_progress p;
  char buf[4096];
  hfs__sched_progress_begin(&p, f, 10.0, "toys mu=1.2", 1000, 4, 100.0);
  assert_false(p.tty);
  hfs__sched_progress_tick(&p, 10, 105.0); /* not due yet */
  hfs__sched_progress_tick(&p, 250, 110.0);
  hfs__sched_progress_end(&p, 1000, HFS_OK, 140.0);
  read_all(f, buf, sizeof buf);
  assert_non_null(strstr(buf, "hfscan: toys mu=1.2: 1000 units on 4 ranks\n"));
  assert_null(strstr(buf, "10/1000"));
  /* 250 units in 10 s: 25 units/s, 750 left: 30 s. */
  assert_non_null(strstr(buf, "toys mu=1.2: 250/1000 units (25.0%), 25 units/s, ETA 0:00:30\n"));
  assert_non_null(strstr(buf, "toys mu=1.2: done, 1000/1000 units in 40 s (25 units/s)"));
  fclose(f);
}

static void test_progress_end_states(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  hfs__sched_progress p;
  char buf[4096];
  hfs__sched_progress_begin(&p, f, 10.0, NULL, 10, 1, 0.0);
  hfs__sched_progress_end(&p, 3, HFS_ERR_INTERRUPTED, 1.0);
  hfs__sched_progress_begin(&p, f, 10.0, "x", 10, 1, 0.0);
  hfs__sched_progress_end(&p, 3, HFS_ERR_NUMERIC, 1.0);
  read_all(f, buf, sizeof buf);
  assert_non_null(strstr(buf, "units: 10 units on 1 rank\n"));
  assert_non_null(strstr(buf, "units: interrupted, 3/10 units"));
  assert_non_null(strstr(buf, "x: failed, 3/10 units"));
  fclose(f);
  /* A NULL stream is silent and safe. */
  hfs__sched_progress_begin(&p, NULL, 10.0, "x", 10, 1, 0.0);
  hfs__sched_progress_tick(&p, 5, 100.0);
  hfs__sched_progress_end(&p, 10, HFS_OK, 200.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_unknown_time), cmocka_unit_test(test_batch_target),
      cmocka_unit_test(test_batch_tail),         cmocka_unit_test(test_batch_target_floor),
      cmocka_unit_test(test_progress_log),       cmocka_unit_test(test_progress_end_states),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
