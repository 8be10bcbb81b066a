/* The benchmarks' shared command-line handling and clock (bench_args.h). */
#define _POSIX_C_SOURCE 200809L
#include "bench_args.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char **bench_take_patches(int *argc, char **argv, int *npatch) {
  const char **patches = calloc((size_t)*argc + 1, sizeof *patches);
  int n = 0, kept = 1;
  if (!patches) return NULL;
  for (int a = 1; a < *argc; a++) {
    if (strcmp(argv[a], "--patch") == 0 && a + 1 < *argc)
      patches[n++] = argv[++a];
    else
      argv[kept++] = argv[a];
  }
  *argc = kept;
  *npatch = n;
  return patches;
}

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
