/* Time of one likelihood, likelihood+gradient and Hessian evaluation of a
 * workspace (median of repeated timings). */
#include "hfs_error.h"
#include "hfs_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_likelihood WS.json [repeats]\n");
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 2000;
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  if (hfs_spec_read_file(argv[1], &spec) || hfs_model_create(spec, NULL, NULL, &m)) {
    fprintf(stderr, "hfscan: %s\n", hfs_error_message());
    return 1;
  }
  int n = hfs_model_npar(m);
  double *th = malloc(sizeof(double) * n), *g = malloc(sizeof(double) * n),
         *H = malloc(sizeof(double) * n * n);
  hfs_model_init(m, th);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  double t[3][31], sink = 0;
  for (int k = 0; k < 31; ++k) {
    double t0 = now();
    for (int r = 0; r < reps; ++r) sink += hfs_model_twice_nll(m, obs, aux, th, NULL);
    double t1 = now();
    for (int r = 0; r < reps; ++r) sink += hfs_model_twice_nll(m, obs, aux, th, g);
    double t2 = now();
    for (int r = 0; r < reps / 20 + 1; ++r) hfs_model_hessian(m, obs, aux, th, H);
    double t3 = now();
    t[0][k] = (t1 - t0) / reps;
    t[1][k] = (t2 - t1) / reps;
    t[2][k] = (t3 - t2) / (reps / 20 + 1);
  }
  for (int i = 0; i < 3; ++i) qsort(t[i], 31, sizeof(double), cmpd);
  printf("workspace %s: %d parameters, %d bins\n", argv[1], n, hfs_model_nbins(m));
  printf("twice_nll            %8.2f us (median of 31 x %d)\n", 1e6 * t[0][15], reps);
  printf("twice_nll + gradient %8.2f us\n", 1e6 * t[1][15]);
  printf("Hessian              %8.2f us\n", 1e6 * t[2][15]);
  if (sink == 42) printf(" ");
  free(th); free(g); free(H);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
  return 0;
}
