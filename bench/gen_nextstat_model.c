/* gen_nextstat_model: writes the pyhf workspace of NextStat's likelihood
 * benchmark (many channels, one shapesys gamma per bin and a normfactor mu)
 * to stdout, for bench_likelihood and the structured-Newton benchmarks.
 *
 *   gen_nextstat_model [NCHANNELS [NBINS]] > ws.json     (default 50 x 4)
 *
 * Channel i, bin j: signal 2.0 + 0.05 (j mod 3) scaled by mu; background
 * 50 + 0.25 j + 0.1 (i mod 5) with a shapesys of 5.0 per bin; observed
 * counts equal the background.  Channel names are zero-padded so that
 * pyhf's name order is the generation order. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int nch = argc > 1 ? atoi(argv[1]) : 50, nb = argc > 2 ? atoi(argv[2]) : 4;
  if (nch < 1 || nb < 1 || nch > 9999) {
    fprintf(stderr, "usage: gen_nextstat_model [NCHANNELS [NBINS]]\n");
    return 2;
  }
  printf("{\"version\": \"1.0.0\", \"channels\": [");
  for (int i = 0; i < nch; ++i) {
    printf("%s\n {\"name\": \"ch_%04d\", \"samples\": [\n", i ? "," : "", i);
    printf("  {\"name\": \"signal\", \"data\": [");
    for (int j = 0; j < nb; ++j) printf("%s%.17g", j ? ", " : "", 2.0 + 0.05 * (j % 3));
    printf("], \"modifiers\": [{\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null}]},\n");
    printf("  {\"name\": \"background\", \"data\": [");
    for (int j = 0; j < nb; ++j) printf("%s%.17g", j ? ", " : "", 50 + 0.25 * j + 0.1 * (i % 5));
    printf("], \"modifiers\": [{\"name\": \"shape_%04d\", \"type\": \"shapesys\", \"data\": [", i);
    for (int j = 0; j < nb; ++j) printf("%s5.0", j ? ", " : "");
    printf("]}]}]}");
  }
  printf("],\n \"observations\": [");
  for (int i = 0; i < nch; ++i) {
    printf("%s\n  {\"name\": \"ch_%04d\", \"data\": [", i ? "," : "", i);
    for (int j = 0; j < nb; ++j) printf("%s%.17g", j ? ", " : "", 50 + 0.25 * j + 0.1 * (i % 5));
    printf("]}");
  }
  printf(
      "],\n \"measurements\": [{\"name\": \"meas\", \"config\": {\"poi\": \"mu\", "
      "\"parameters\": []}}]}\n");
  return 0;
}
