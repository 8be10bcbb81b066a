/* What the benchmarks share: their --patch options and a CPU clock. */
#ifndef HFS_BENCH_ARGS_H
#define HFS_BENCH_ARGS_H

/* Take every "--patch PATCH" out of argv (argc updated, the other arguments
 * kept in order) into a NULL-terminated array the caller frees; NULL when
 * out of memory.  PATCH is what hfscan's --patch takes: a JSON Patch file or
 * PATCHSET.json[.gz]:NAME. */
const char **bench_take_patches(int *argc, char **argv, int *npatch);

/* Thread CPU time in seconds: a shared machine inflates wall time far more. */
double bench_cpu_now(void);

#endif
