/* The scheduler under MPI: run by ctest at 1, 2 and 4 ranks (and once
 * without mpiexec).  Every test is collective.  An assertion is first agreed
 * on by all ranks (assert_all), so that a failure fails every rank together
 * instead of leaving the others waiting in the next collective. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, fileno */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hfs_error.h"
#include "hfs_sched.h"
#include "hfs_test.h"

static int g_rank, g_size;

/* 1 on every rank iff cond holds on every rank; says where it failed.  A
 * collective: every rank must reach the same sequence of assert_all. */
static int hfs_all(int cond, const char *what, int line) {
  int mine = cond ? 1 : 0, all = 0;
  if (!mine) print_error("rank %d, line %d: %s is false\n", g_rank, line, what);
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all;
}
#define assert_all(cond) assert_true(hfs_all((cond), #cond, __LINE__))

static int64_t sum_all(int64_t v) {
  int64_t s = 0;
  MPI_Allreduce(&v, &s, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return s;
}

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* A unit's result is a function of its index only. */
typedef struct {
  uint64_t hash;
  int64_t unit;
  double value;
} result_t;

static result_t expected(int64_t unit) {
  uint64_t h = mix((uint64_t)unit);
  result_t r = {h, unit, (double)(h >> 11) * 0x1p-53};
  return r;
}

typedef struct {
  int64_t n;          /* indices are < n */
  result_t *got;      /* master: result by index */
  int *count;         /* master: collects by index */
  int64_t ran;        /* units run on this rank */
  int64_t ncollected; /* master */
  int sleep;          /* random-ish sleeps of up to 300 us */
  int64_t fail_unit;  /* run() fails on this unit; -1: never */
  int64_t collect_fail_unit;
  int64_t stop_after; /* collect asks to stop after this many; -1: never */
  int by_signal;      /* ... by raising SIGUSR1, as the command line would */
} ctx_t;

static void ctx_init(ctx_t *c, int64_t n) {
  memset(c, 0, sizeof *c);
  c->n = n;
  c->got = calloc((size_t)n + 1, sizeof *c->got);
  c->count = calloc((size_t)n + 1, sizeof *c->count);
  assert_non_null(c->got);
  assert_non_null(c->count);
  c->fail_unit = c->collect_fail_unit = c->stop_after = -1;
}

static void ctx_free(ctx_t *c) {
  free(c->got);
  free(c->count);
}

static int run_unit(void *vctx, int64_t unit, void *out) {
  ctx_t *c = vctx;
  c->ran++;
  uint64_t h = mix((uint64_t)unit);
  if (c->sleep && (h & 3) == 0) {
    struct timespec ts = {0, (long)((h >> 8) % 300) * 1000L};
    nanosleep(&ts, NULL);
  }
  if (unit == c->fail_unit)
    return hfs_error_set(HFS_ERR_NUMERIC, "synthetic failure of unit %lld", (long long)unit);
  /* Written through a typed pointer so that UBSan checks the alignment the
   * header promises. */
  *(result_t *)out = expected(unit);
  return HFS_OK;
}

static int collect_unit(void *vctx, int64_t unit, const void *res) {
  ctx_t *c = vctx;
  if (unit < 0 || unit >= c->n)
    return hfs_error_set(HFS_ERR_INTERNAL, "unit %lld out of range", (long long)unit);
  c->got[unit] = *(const result_t *)res;
  c->count[unit]++;
  c->ncollected++;
  if (unit == c->collect_fail_unit) return hfs_error_set(HFS_ERR_IO, "synthetic collect failure");
  if (c->stop_after >= 0 && c->ncollected == c->stop_after) {
    if (c->by_signal)
      raise(SIGUSR1);
    else
      hfs_sched_request_stop();
  }
  return HFS_OK;
}

static hfs_sched_task make_task(ctx_t *c) {
  hfs_sched_task t = {"test units", sizeof(result_t), run_unit, collect_unit, c};
  return t;
}

static hfs_sched_options quiet_options(void) {
  hfs_sched_options o;
  hfs_sched_options_default(&o);
  o.progress = 0;
  /* Short batches so that the adaptive sizing, the tail rule and
   * prefetching all come into play within a fraction of a second. */
  o.target_batch_seconds = 0.002;
  return o;
}

static hfs_sched *make_sched(const hfs_sched_options *o) {
  hfs_sched *s = NULL;
  int rc = hfs_sched_create(MPI_COMM_WORLD, o, &s);
  assert_all(rc == HFS_OK);
  return s;
}

/* On the master: every listed unit collected once with the right result,
 * nothing else collected.  Returns 1 if so. */
static int check_collected(const ctx_t *c, const int64_t *units, int64_t nunits) {
  if (g_rank != 0) return 1;
  int *listed = calloc((size_t)c->n + 1, sizeof *listed);
  int ok = listed != NULL;
  for (int64_t i = 0; ok && i < nunits; i++) listed[units[i]] = 1;
  for (int64_t u = 0; ok && u < c->n; u++) {
    if (c->count[u] != listed[u]) {
      print_error("unit %lld collected %d times, listed %d\n", (long long)u, c->count[u],
                  listed[u]);
      ok = 0;
    } else if (listed[u]) {
      result_t e = expected(u);
      if (c->got[u].hash != e.hash || c->got[u].unit != u || c->got[u].value != e.value) {
        print_error("unit %lld: wrong result\n", (long long)u);
        ok = 0;
      }
    }
  }
  free(listed);
  return ok;
}

/* A digest of the collected array, printed so that runs at different rank
 * counts can be compared by eye; the assertions above already pin it. */
static void print_digest(const ctx_t *c, const char *label) {
  if (g_rank != 0) return;
  uint64_t d = 0;
  for (int64_t u = 0; u < c->n; u++) d = mix(d ^ (c->count[u] ? c->got[u].hash : 0));
  printf("# %s: %d ranks, digest %016llx\n", label, g_size, (unsigned long long)d);
}

static int64_t *iota(int64_t n) {
  int64_t *u = malloc((size_t)(n ? n : 1) * sizeof *u);
  assert_non_null(u);
  for (int64_t i = 0; i < n; i++) u[i] = i;
  return u;
}

static void test_comm(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  char name[MPI_MAX_OBJECT_NAME];
  int len = 0;
  MPI_Comm_get_name(hfs_sched_comm(s), name, &len);
  assert_all(strcmp(name, "hfscan-sched") == 0);
  assert_all(hfs_sched_rank(s) == g_rank);
  assert_all(hfs_sched_size(s) == g_size);
  assert_all(hfs_sched_is_master(s) == (g_rank == 0));
  int cmp = MPI_UNEQUAL;
  MPI_Comm_compare(hfs_sched_comm(s), MPI_COMM_WORLD, &cmp);
  assert_all(cmp == MPI_CONGRUENT); /* a copy, not the same communicator */
  hfs_sched_destroy(&s);
  assert_null(s);
  hfs_sched_destroy(&s); /* NULL-safe */
}

/* implicit: pass NULL for the list 0..n-1 (on every rank, or on the master
 * only when implicit is 2: the lists are still the same). */
static void full_run(int master_computes, int prefetch, int implicit) {
  const int64_t n = 3000;
  hfs_sched_options o = quiet_options();
  o.master_computes = master_computes;
  o.prefetch = prefetch;
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, n);
  c.sleep = 1;
  int64_t *units = iota(n);
  hfs_sched_task t = make_task(&c);
  hfs_sched_stats st;
  const int64_t *list = units;
  if (implicit == 1 || (implicit == 2 && g_rank == 0)) list = NULL;
  int rc = hfs_sched_run(s, &t, list, n, &st);
  assert_all(rc == HFS_OK);
  assert_all(check_collected(&c, units, n));
  /* Every unit ran exactly once, somewhere. */
  assert_all(sum_all(c.ran) == n);
  assert_all(g_rank != 0 || st.units == n);
  assert_all(st.failed_unit == -1);
  if (g_size > 1 && !master_computes)
    assert_all(g_rank != 0 || (c.ran == 0 && st.units_by_master == 0));
  assert_all(g_rank == 0 ? st.units_by_master == c.ran : st.units == c.ran);
  char label[64];
  snprintf(label, sizeof label, "full run, master_computes=%d prefetch=%d implicit=%d",
           master_computes, prefetch, implicit);
  print_digest(&c, label);
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

static void test_full_run(void **state) {
  (void)state;
  full_run(1, 2, 0);
  full_run(0, 2, 0);
  full_run(1, 1, 0);
  full_run(0, 3, 0);
  full_run(1, 2, 1);
  full_run(0, 2, 2);
}

/* A resumed run lists only some indices, in any order. */
static void test_skipped_units(void **state) {
  (void)state;
  const int64_t n = 5000;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, n);
  int64_t *units = malloc((size_t)n * sizeof *units), m = 0;
  assert_non_null(units);
  for (int64_t i = n - 1; i >= 0; i--)
    if (i % 3 != 1 && i % 7 != 0) units[m++] = i;
  hfs_sched_task t = make_task(&c);
  int rc = hfs_sched_run(s, &t, units, m, NULL);
  assert_all(rc == HFS_OK);
  assert_all(check_collected(&c, units, m));
  assert_all(sum_all(c.ran) == m);
  print_digest(&c, "skipped units");
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

static void test_empty_list(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, 1);
  hfs_sched_task t = make_task(&c);
  hfs_sched_stats st;
  int rc = hfs_sched_run(s, &t, NULL, 0, &st);
  assert_all(rc == HFS_OK);
  assert_all(c.ran == 0 && c.ncollected == 0 && st.units == 0);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

/* Stop after K collected units, then resume with what is left. */
static void on_signal(int sig) {
  (void)sig;
  hfs_sched_request_stop();
}

static void interrupt_and_resume(int master_computes, int by_signal) {
  const int64_t n = 2000, k = 100;
  hfs_sched_options o = quiet_options();
  o.master_computes = master_computes;
  /* Small batches bound what is in flight when the stop comes (at most
   * prefetch * max_batch_units per worker), so the run is surely cut short. */
  o.max_batch_units = 8;
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, n);
  c.sleep = 1;
  c.stop_after = k;
  c.by_signal = by_signal;
  int64_t *units = iota(n);
  hfs_sched_task t = make_task(&c);
  hfs_sched_stats st;
  int rc = hfs_sched_run(s, &t, units, n, &st);
  assert_all(rc == HFS_ERR_INTERRUPTED);
  assert_all(hfs_error_code() == HFS_ERR_INTERRUPTED);
  assert_all(!hfs_sched_stop_requested());
  int64_t got = c.ncollected;
  MPI_Bcast(&got, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  assert_all(got >= k && got < n);
  /* Nothing in flight was lost: every unit that ran was collected. */
  assert_all(sum_all(c.ran) == got);
  assert_all(g_rank != 0 || st.units == got);

  /* The rest, as a resumed run would list it (the master knows). */
  int64_t m = 0;
  int64_t *rest = malloc((size_t)n * sizeof *rest);
  assert_non_null(rest);
  if (g_rank == 0)
    for (int64_t u = 0; u < n; u++)
      if (!c.count[u]) rest[m++] = u;
  MPI_Bcast(&m, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  MPI_Bcast(rest, (int)m, MPI_INT64_T, 0, MPI_COMM_WORLD);
  assert_all(m == n - got);
  c.stop_after = -1;
  c.ran = 0;
  rc = hfs_sched_run(s, &t, rest, m, &st);
  assert_all(rc == HFS_OK);
  assert_all(sum_all(c.ran) == m);
  assert_all(check_collected(&c, units, n)); /* the whole set, once each */
  print_digest(&c, "interrupted and resumed");
  free(rest);
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

static void test_interrupt_and_resume(void **state) {
  (void)state;
  interrupt_and_resume(1, 0);
  interrupt_and_resume(0, 0);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &old);
  interrupt_and_resume(1, 1);
  sigaction(SIGUSR1, &old, NULL);
}

/* A stop requested before the run: nothing runs, and the request is used up. */
static void test_stop_before_run(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, 50);
  int64_t *units = iota(50);
  hfs_sched_task t = make_task(&c);
  if (g_rank == 0) hfs_sched_request_stop(); /* only the master needs it */
  int rc = hfs_sched_run(s, &t, units, 50, NULL);
  assert_all(rc == HFS_ERR_INTERRUPTED);
  assert_all(sum_all(c.ran) == 0 && c.ncollected == 0);
  assert_all(!hfs_sched_stop_requested());
  rc = hfs_sched_run(s, &t, units, 50, NULL);
  assert_all(rc == HFS_OK);
  assert_all(check_collected(&c, units, 50));
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

static void run_error(int master_computes) {
  const int64_t n = 1000, bad = 137;
  hfs_sched_options o = quiet_options();
  o.master_computes = master_computes;
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, n);
  c.sleep = 1;
  c.fail_unit = bad;
  int64_t *units = iota(n);
  hfs_sched_task t = make_task(&c);
  hfs_sched_stats st;
  int rc = hfs_sched_run(s, &t, units, n, &st);
  assert_all(rc == HFS_ERR_NUMERIC);
  assert_all(st.failed_unit == bad);
  assert_all(strstr(hfs_error_message(), "unit 137 failed on rank") != NULL);
  assert_all(strstr(hfs_error_message(), "synthetic failure of unit 137") != NULL);
  int once = 1;
  if (g_rank == 0) {
    once = c.count[bad] == 0;
    for (int64_t u = 0; u < n; u++) once = once && c.count[u] <= 1;
  }
  assert_all(once);
  /* The scheduler is still usable: no message of the failed run lingers. */
  c.fail_unit = -1;
  memset(c.count, 0, (size_t)n * sizeof *c.count);
  c.ran = 0;
  rc = hfs_sched_run(s, &t, units, n, &st);
  assert_all(rc == HFS_OK);
  assert_all(check_collected(&c, units, n));
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

static void test_run_error(void **state) {
  (void)state;
  run_error(1);
  run_error(0);
}

static void test_collect_error(void **state) {
  (void)state;
  const int64_t n = 600;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, n);
  c.collect_fail_unit = 50;
  int64_t *units = iota(n);
  hfs_sched_task t = make_task(&c);
  hfs_sched_stats st;
  int rc = hfs_sched_run(s, &t, units, n, &st);
  assert_all(rc == HFS_ERR_IO);
  assert_all(st.failed_unit == 50);
  assert_all(strstr(hfs_error_message(), "collecting unit 50 failed") != NULL);
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

/* Misuse is refused on every rank alike, and the scheduler stays usable. */
static void test_bad_arguments(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, 100);
  int64_t *units = iota(100);
  hfs_sched_task t = make_task(&c);
  /* A negative index on the last rank only. */
  if (g_rank == g_size - 1) units[10] = -5;
  int rc = hfs_sched_run(s, &t, units, 100, NULL);
  assert_all(rc == HFS_ERR_ARG);
  units[10] = 10;
  if (g_size > 1) {
    /* Different lists on different ranks. */
    int64_t m = g_rank == 0 ? 100 : 99;
    rc = hfs_sched_run(s, &t, units, m, NULL);
    assert_all(rc == HFS_ERR_ARG);
    assert_all(g_rank != 0 || strstr(hfs_error_message(), "different unit lists") != NULL);
  }
  rc = hfs_sched_run(s, &t, units, g_rank == 0 ? -1 : 100, NULL);
  assert_all(rc == HFS_ERR_ARG);
  assert_all(sum_all(c.ran) == 0);
  rc = hfs_sched_run(s, &t, units, 100, NULL);
  assert_all(rc == HFS_OK);
  assert_all(check_collected(&c, units, 100));
  hfs_sched_destroy(&s);

  /* Bad options on one rank fail the collective create everywhere. */
  hfs_sched_options bado = quiet_options();
  if (g_rank == g_size - 1) bado.target_batch_seconds = 0;
  hfs_sched *s2 = NULL;
  rc = hfs_sched_create(MPI_COMM_WORLD, &bado, &s2);
  assert_all(rc == HFS_ERR_ARG && s2 == NULL);
  free(units);
  ctx_free(&c);
}

/* Results larger than the MPI eager limit, and batches cut by the message
 * size cap. */
typedef struct {
  int64_t unit;
  double x[511];
} big_t;

static int run_big(void *vctx, int64_t unit, void *out) {
  (void)vctx;
  big_t *b = out;
  b->unit = unit;
  for (int i = 0; i < 511; i++) b->x[i] = (double)(mix((uint64_t)(unit * 511 + i)) >> 11);
  return HFS_OK;
}

static int collect_big(void *vctx, int64_t unit, const void *res) {
  int *ok = vctx;
  const big_t *b = res;
  int good = b->unit == unit;
  for (int i = 0; i < 511; i++)
    good = good && b->x[i] == (double)(mix((uint64_t)(unit * 511 + i)) >> 11);
  if (!good) (*ok)++;
  return HFS_OK;
}

static void test_large_results(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  o.max_message_bytes = 64 * 1024;
  hfs_sched *s = make_sched(&o);
  int bad = 0;
  hfs_sched_task t = {"big", sizeof(big_t), run_big, collect_big, &bad};
  int64_t *units = iota(400);
  hfs_sched_stats st;
  int rc = hfs_sched_run(s, &t, units, 400, &st);
  assert_all(rc == HFS_OK);
  assert_all(bad == 0);
  assert_all(g_rank != 0 || st.units == 400);
  free(units);
  hfs_sched_destroy(&s);
}

static int run_nothing(void *vctx, int64_t unit, void *out) {
  (void)unit;
  (void)out;
  ++*(int64_t *)vctx;
  return HFS_OK;
}

static int collect_nothing(void *vctx, int64_t unit, const void *res) {
  (void)unit;
  (void)res;
  ++*(int64_t *)vctx;
  return HFS_OK;
}

/* Zero-byte results, many short runs back to back on one handle. */
static void test_repeated_runs(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  hfs_sched *s = make_sched(&o);
  int64_t *units = iota(20000);
  for (int rep = 0; rep < 30; rep++) {
    int64_t count = 0, n = (rep * 7919) % 20000;
    hfs_sched_task t = {"nothing", 0, run_nothing, collect_nothing, &count};
    int rc = hfs_sched_run(s, &t, units, n, NULL);
    assert_all(rc == HFS_OK);
    /* The master counted its runs and all collects: 2n minus workers' runs. */
    int64_t total = sum_all(count);
    assert_all(total == 2 * n);
  }
  free(units);
  hfs_sched_destroy(&s);
}

/* The master writes a start line and a final line to a log. */
static void test_progress_lines(void **state) {
  (void)state;
  hfs_sched_options o = quiet_options();
  FILE *log = tmpfile();
  assert_non_null(log);
  o.progress = 1;
  o.progress_stream = log;
  o.progress_interval = 0.01;
  hfs_sched *s = make_sched(&o);
  ctx_t c;
  ctx_init(&c, 500);
  c.sleep = 1;
  int64_t *units = iota(500);
  hfs_sched_task t = make_task(&c);
  int rc = hfs_sched_run(s, &t, units, 500, NULL);
  assert_all(rc == HFS_OK);
  char text[8192] = "";
  rewind(log);
  size_t len = fread(text, 1, sizeof text - 1, log);
  text[len] = '\0';
  fclose(log);
  /* One agreed assertion per rank: assert_all is a collective. */
  int ok = g_rank == 0 ? strstr(text, "hfscan: test units: 500 units on") != NULL &&
                             strstr(text, "test units: done, 500/500 units") != NULL
                       : len == 0; /* workers never print */
  assert_all(ok);
  free(units);
  ctx_free(&c);
  hfs_sched_destroy(&s);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_comm),
      cmocka_unit_test(test_full_run),
      cmocka_unit_test(test_skipped_units),
      cmocka_unit_test(test_empty_list),
      cmocka_unit_test(test_interrupt_and_resume),
      cmocka_unit_test(test_stop_before_run),
      cmocka_unit_test(test_run_error),
      cmocka_unit_test(test_collect_error),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_large_results),
      cmocka_unit_test(test_repeated_runs),
      cmocka_unit_test(test_progress_lines),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return failed ? 1 : 0;
}
