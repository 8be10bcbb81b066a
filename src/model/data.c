/* Replacing the data a model calls observed: blinded runs put an Asimov
 * data set in its place so that every command fits it unchanged. */
#include "hfs_error.h"
#include "model_internal.h"

#include <math.h>
#include <string.h>

int hfs_model_set_data(hfs_model *m, const double *main, const double *aux) {
  for (int b = 0; b < m->nbins; ++b)
    if (!(isfinite(main[b]) && main[b] >= 0))
      return hfs_error_set(HFS_ERR_ARG, "data: bin %d has count %g (expected finite, >= 0)", b,
                           main[b]);
  for (int a = 0; a < m->naux; ++a)
    if (!isfinite(aux[a]))
      return hfs_error_set(HFS_ERR_ARG, "data: auxiliary entry %d is %g (expected finite)", a,
                           aux[a]);
  memcpy(m->observed, main, sizeof(double) * (size_t)m->nbins);
  memcpy(m->auxdata, aux, sizeof(double) * (size_t)m->naux);
  /* The cached data constant compares data by value, so it stays valid for
   * whatever is passed next; reset it anyway to keep the invariant simple. */
  m->cache_valid = 0;
  return HFS_OK;
}
