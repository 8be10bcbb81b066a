/* Time of one likelihood, likelihood+gradient and Hessian evaluation of a
 * workspace (median of repeated timings):
 *   bench_likelihood [--only nll|grad|hess|blocks] WS.json [repeats [PATCH.json ...]]
 * with JSON Patches applied to the workspace first (signal points).  --only
 * runs one of the four (for profilers: perf record sees that one alone). */
#include "hfs_error.h"
#include "hfs_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: on a shared, loaded machine it counts only the
 * time the evaluation itself ran (wall time counts the other processes). */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *kinds[4] = {"nll", "grad", "hess", "blocks"};
  int only = -1;
  if (argc > 2 && strcmp(argv[1], "--only") == 0) {
    for (int i = 0; i < 4; ++i)
      if (strcmp(argv[2], kinds[i]) == 0) only = i;
    if (only < 0) {
      fprintf(stderr, "bench_likelihood: --only takes nll, grad, hess or blocks\n");
      return 2;
    }
    argv += 2;
    argc -= 2;
  }
  if (argc < 2) {
    fprintf(stderr,
            "usage: bench_likelihood [--only nll|grad|hess|blocks] WS.json [repeats [PATCH.json "
            "...]]\n");
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 2000;
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  const char *const *patches = (const char *const *)(argv + 3);
  if (hfs_spec_read_file_patched(argv[1], patches, argc > 3 ? argc - 3 : 0, &spec) ||
      hfs_model_create(spec, NULL, NULL, &m)) {
    fprintf(stderr, "hfscan: %s\n", hfs_error_message());
    return 1;
  }
  int n = hfs_model_npar(m);
  double *th = malloc(sizeof(double) * n), *g = malloc(sizeof(double) * n),
         *H = malloc(sizeof(double) * n * n);
  hfs_model_structure st;
  hfs_model_structure_get(m, &st);
  size_t nbb = 0, nbs = 0;
  for (int b = 0; b < st.nblocks; ++b) {
    size_t k = (size_t)(st.block_off[b + 1] - st.block_off[b]);
    nbb += k * k;
    nbs += k * (size_t)st.nshared;
  }
  double *hss = malloc(sizeof(double) * ((size_t)st.nshared * st.nshared + 1)),
         *hbb = malloc(sizeof(double) * (nbb + 1)), *hbs = malloc(sizeof(double) * (nbs + 1));
  hfs_model_init(m, th);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  double t[4][31] = {{0}}, sink = 0;
  int run[4];
  for (int i = 0; i < 4; ++i) run[i] = only < 0 || only == i;
  for (int k = 0; k < 31; ++k) {
    double t0 = now();
    for (int r = 0; r < reps * run[0]; ++r) sink += hfs_model_twice_nll(m, obs, aux, th, NULL);
    double t1 = now();
    for (int r = 0; r < reps * run[1]; ++r) sink += hfs_model_twice_nll(m, obs, aux, th, g);
    double t2 = now();
    for (int r = 0; r < (reps / 20 + 1) * run[2]; ++r) hfs_model_hessian(m, obs, aux, th, H);
    double t3 = now();
    for (int r = 0; r < (reps / 20 + 1) * run[3]; ++r)
      hfs_model_hessian_blocks(m, obs, aux, th, hss, hbb, hbs);
    double t4 = now();
    t[0][k] = (t1 - t0) / reps;
    t[1][k] = (t2 - t1) / reps;
    t[2][k] = (t3 - t2) / (reps / 20 + 1);
    t[3][k] = (t4 - t3) / (reps / 20 + 1);
  }
  for (int i = 0; i < 4; ++i) qsort(t[i], 31, sizeof(double), cmpd);
  printf("workspace %s%s: %d parameters, %d bins\n", argv[1], argc > 3 ? " + patches" : "", n,
         hfs_model_nbins(m));
  /* the minimum beside the median: on a loaded machine it moves less */
  printf("twice_nll            %8.2f us (min %.2f; median of 31 x %d, thread CPU time)\n",
         1e6 * t[0][15], 1e6 * t[0][0], reps);
  printf("twice_nll + gradient %8.2f us (min %.2f)\n", 1e6 * t[1][15], 1e6 * t[1][0]);
  printf("Hessian              %8.2f us (min %.2f)\n", 1e6 * t[2][15], 1e6 * t[2][0]);
  printf("Hessian blocks       %8.2f us (min %.2f; %d shared, %d blocks)\n", 1e6 * t[3][15],
         1e6 * t[3][0], st.nshared, st.nblocks);
  if (sink == 42) printf(" ");
  free(th);
  free(g);
  free(H);
  free(hss);
  free(hbb);
  free(hbs);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
  return 0;
}
