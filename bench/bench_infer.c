/* Time of one asymptotic hypothesis test (from a fresh context: free fit,
 * Asimov generation, both free fits and the two conditional fits) and of a
 * full upper limit with its four expected bands, medians of repeated runs
 * of thread CPU time (a shared machine inflates wall time far more).
 *
 *   bench_infer WORKSPACE.json [--patch PATCH]... [REPEATS [CL]]
 *
 * (single process, one core).  PATCH is a JSON Patch file or
 * PATCHSET.json[.gz]:NAME, applied in order as hfscan's --patch does. */
#include "bench_args.h"
#include "hfs_error.h"
#include "hfs_infer.h"
#include "hfs_util.h"

#include <stdio.h>
#include <stdlib.h>

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int npatch = 0;
  const char **patches = bench_take_patches(&argc, argv, &npatch);
  if (argc < 2 || !patches) {
    fprintf(stderr, "usage: bench_infer WORKSPACE.json [--patch PATCH]... [REPEATS [CL]]\n");
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 20;
  double cl = argc > 3 ? atof(argv[3]) : 0.90;
  if (reps < 1) reps = 1;
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  if (hfs_spec_read_patched(argv[1], patches, npatch, 0, &spec) ||
      hfs_model_create(spec, NULL, NULL, &m)) {
    fprintf(stderr, "bench_infer: %s\n", hfs_error_message());
    return 1;
  }
  double *th = malloc(sizeof(double) * reps), *tl = malloc(sizeof(double) * reps);
  hfs_hypotest h;
  hfs_limit L = {0};
  int npoints = 0;
  for (int r = 0; r < reps; ++r) {
    hfs_infer *I = NULL;
    hfs_infer_create(m, NULL, NULL, NULL, &I);
    double t0 = bench_cpu_now();
    if (hfs_infer_hypotest(I, HFS_TS_QTILDE, 1.0, &h)) return 1;
    th[r] = bench_cpu_now() - t0;
    hfs_infer_destroy(&I);
    hfs_infer_create(m, NULL, NULL, NULL, &I);
    hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
    lo.cl = cl;
    t0 = bench_cpu_now();
    if (hfs_infer_limit(I, &lo, &L)) {
      fprintf(stderr, "bench_infer: %s\n", hfs_error_message());
      return 1;
    }
    tl[r] = bench_cpu_now() - t0;
    npoints = L.npoints;
    if (r + 1 < reps) hfs_limit_free(&L);
    hfs_infer_destroy(&I);
  }
  qsort(th, reps, sizeof(double), cmpd);
  qsort(tl, reps, sizeof(double), cmpd);
  printf("%s%s: %d parameters (thread CPU time)\n", argv[1], npatch ? " + patches" : "",
         hfs_model_npar(m));
  printf("hypotest (mu=1, qtilde)       median %8.2f ms  min %8.2f ms  (%d runs) CLs_obs %.5f\n",
         1e3 * th[reps / 2], 1e3 * th[0], reps, h.cls_obs);
  printf(
      "limit %.0f%% CL with 5 bands  median %8.2f ms  min %8.2f ms  (%d hypotests) obs %.4f exp "
      "%.4f\n",
      100 * cl, 1e3 * tl[reps / 2], 1e3 * tl[0], npoints, L.obs, L.exp[2]);
  hfs_limit_free(&L);
  free(th);
  free(tl);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
  free(patches);
  hfs_fit_library_finalize();
  return 0;
}
