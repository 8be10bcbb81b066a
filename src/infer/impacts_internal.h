/* Private to rankings and scans (ranking.c, scan.c, impact_fit.c). */
#ifndef HFS_IMPACTS_INTERNAL_H
#define HFS_IMPACTS_INTERNAL_H

#include "hfs_impacts.h"

/* start = best clipped to the parameters' bounds. */
void hfs__impact_start_from(hfs_model *m, const double *best, int npar, double *start);
/* The unit record of a fit whose held parameter sits at value. */
void hfs__impact_fill(const hfs_fit_result *r, int poi, double value, hfs_impact_fit *out);
/* The free fit (with uncertainties) of the observed data. */
int hfs__impact_free_fit(hfs_infer *I, hfs_fit_result *r);

#endif
