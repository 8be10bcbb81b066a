/* Yields tables with uncertainties through the full covariance (hfs_diag.h). */
#include "hfs_diag.h"
#include "hfs_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hfs_yields_prefit_cov(const hfs_model *m, const int *fixed, double *cov) {
  int n = hfs_model_npar(m);
  memset(cov, 0, sizeof(double) * (size_t)n * (size_t)n);
  for (int i = 0; i < n; ++i) {
    int held = fixed ? fixed[i] : hfs_model_par_fixed(m, i);
    double w = hfs_model_par_prefit_width(m, i);
    if (!held && hfs_model_par_constraint(m, i) != HFS_CONSTR_NONE) cov[(size_t)i * n + i] = w * w;
  }
}

/* sqrt(g^T C g) for a gradient g (npar); rows of parameters that a rate does
 * not depend on are skipped, which is most of them in a large model. */
static double propagate(const double *g, const double *cov, int n) {
  if (!cov) return 0;
  double s = 0;
  for (int i = 0; i < n; ++i) {
    if (g[i] == 0) continue;
    const double *row = &cov[(size_t)i * n];
    double t = 0;
    for (int k = 0; k < n; ++k) t += row[k] * g[k];
    s += g[i] * t;
  }
  return s > 0 ? sqrt(s) : 0;
}

/* Values and uncertainties of nb rates and of their sum, from their
 * Jacobian jac (nb x n); gsum is scratch (n). */
static void rows(const double *nu, const double *jac, int nb, int n, const double *cov, double *val,
                 double *unc, double *sum, double *sum_unc, double *gsum) {
  memset(gsum, 0, sizeof(double) * (size_t)n);
  *sum = 0;
  for (int b = 0; b < nb; ++b) {
    const double *g = &jac[(size_t)b * n];
    val[b] = nu[b];
    unc[b] = propagate(g, cov, n);
    *sum += nu[b];
    for (int i = 0; i < n; ++i) gsum[i] += g[i];
  }
  *sum_unc = propagate(gsum, cov, n);
}

int hfs_yields_compute(hfs_model *m, const double *theta, const double *cov, hfs_yields *out) {
  int rc = HFS_OK;
  int n = hfs_model_npar(m), nc = hfs_model_nchannels(m);
  double *nu = NULL, *jac = NULL, *gsum = NULL;
  memset(out, 0, sizeof *out);
  int maxb = 1;
  for (int c = 0; c < nc; ++c)
    if (hfs_model_channel_nbins(m, c) > maxb) maxb = hfs_model_channel_nbins(m, c);
  HFS_ALLOC(nu, maxb);
  HFS_ALLOC(jac, (size_t)maxb * n);
  HFS_ALLOC(gsum, n);
  HFS_ALLOC(out->ch, nc);
  out->nchannels = nc;
  const double *obs = hfs_model_observed(m);
  for (int c = 0; c < nc; ++c) {
    hfs_yields_channel *y = &out->ch[c];
    int nb = hfs_model_channel_nbins(m, c), ns = hfs_model_channel_nsamples(m, c);
    y->name = hfs_model_channel_name(m, c);
    y->nbins = nb;
    y->nsamples = ns;
    HFS_ALLOC(y->sample_names, ns);
    HFS_ALLOC(y->yields, (size_t)ns * nb);
    HFS_ALLOC(y->unc, (size_t)ns * nb);
    HFS_ALLOC(y->total, nb);
    HFS_ALLOC(y->total_unc, nb);
    HFS_ALLOC(y->integral, ns);
    HFS_ALLOC(y->integral_unc, ns);
    HFS_ALLOC(y->data, nb);
    memcpy(y->data, obs + hfs_model_channel_offset(m, c), sizeof(double) * (size_t)nb);
    for (int s = 0; s < ns; ++s) {
      y->sample_names[s] = hfs_model_sample_name(m, c, s);
      HFS_CHECK(hfs_model_rates(m, theta, c, s, nu, jac));
      rows(nu, jac, nb, n, cov, &y->yields[(size_t)s * nb], &y->unc[(size_t)s * nb],
           &y->integral[s], &y->integral_unc[s], gsum);
    }
    HFS_CHECK(hfs_model_rates(m, theta, c, -1, nu, jac));
    rows(nu, jac, nb, n, cov, y->total, y->total_unc, &y->sum, &y->sum_unc, gsum);
  }
cleanup:
  free(nu);
  free(jac);
  free(gsum);
  if (rc) hfs_yields_free(out);
  return rc;
}

void hfs_yields_free(hfs_yields *y) {
  if (!y || !y->ch) return;
  for (int c = 0; c < y->nchannels; ++c) {
    hfs_yields_channel *ch = &y->ch[c];
    free(ch->sample_names);
    free(ch->yields);
    free(ch->unc);
    free(ch->total);
    free(ch->total_unc);
    free(ch->integral);
    free(ch->integral_unc);
    free(ch->data);
  }
  free(y->ch);
  memset(y, 0, sizeof *y);
}
