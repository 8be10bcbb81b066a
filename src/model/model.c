/* The likelihood: expected rates, -2 ln L, its gradient and Hessian.
 * Allocation-free: all scratch lives in the model (model_internal.h). */
#include "hfs_error.h"
#include "model_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int hfs_model_npar(const hfs_model *m) { return m->npar; }
int hfs_model_nbins(const hfs_model *m) { return m->nbins; }
int hfs_model_naux(const hfs_model *m) { return m->naux; }
int hfs_model_poi(const hfs_model *m) { return m->poi; }
const char *hfs_model_measurement(const hfs_model *m) { return m->measurement; }
const char *hfs_model_par_name(const hfs_model *m, int i) { return m->par_name[i]; }
double hfs_model_par_init(const hfs_model *m, int i) { return m->init[i]; }
double hfs_model_par_lo(const hfs_model *m, int i) { return m->lo[i]; }
double hfs_model_par_hi(const hfs_model *m, int i) { return m->hi[i]; }
int hfs_model_par_fixed(const hfs_model *m, int i) { return m->fixed[i]; }
int hfs_model_par_set_range(hfs_model *m, int i, double lo, double hi, double init) {
  if (i < 0 || i >= m->npar)
    return hfs_error_set(HFS_ERR_ARG, "parameter index %d outside [0, %d)", i, m->npar);
  if (!(lo < hi) || !(init >= lo && init <= hi))
    return hfs_error_set(HFS_ERR_ARG, "%s: need lo < hi and lo <= init <= hi (got [%g, %g], %g)",
                         m->par_name[i], lo, hi, init);
  m->lo[i] = lo;
  m->hi[i] = hi;
  m->init[i] = init;
  return HFS_OK;
}
hfs_constraint hfs_model_par_constraint(const hfs_model *m, int i) { return m->constr[i]; }
hfs_modtype hfs_model_par_type(const hfs_model *m, int i) { return m->ptype[i]; }
int hfs_model_par_aux_index(const hfs_model *m, int i) { return m->aux_index[i]; }
double hfs_model_par_sigma(const hfs_model *m, int i) { return m->sigma[i]; }
double hfs_model_par_tau(const hfs_model *m, int i) { return m->tau[i]; }
double hfs_model_par_prefit_width(const hfs_model *m, int i) { return m->prefit[i]; }
int hfs_model_nchannels(const hfs_model *m) { return m->nchan; }
const char *hfs_model_channel_name(const hfs_model *m, int c) { return m->chan_name[c]; }
int hfs_model_channel_offset(const hfs_model *m, int c) { return m->chan_off[c]; }
int hfs_model_channel_nbins(const hfs_model *m, int c) { return m->chan_nbins[c]; }
const double *hfs_model_observed(const hfs_model *m) { return m->observed; }
const double *hfs_model_auxdata(const hfs_model *m) { return m->auxdata; }

int hfs_model_par_find(const hfs_model *m, const char *name) {
  for (int i = 0; i < m->npar; ++i)
    if (strcmp(m->par_name[i], name) == 0) return i;
  return -1;
}

void hfs_model_init(const hfs_model *m, double *theta) {
  memcpy(theta, m->init, sizeof(double) * (size_t)m->npar);
}

/* Modifier values (and derivatives) that do not depend on the bin. */
static void eval_modifiers(hfs_model *m, const double *theta) {
  for (int i = 0; i < m->nscal; ++i) {
    const hfs_scalar_mod *s = &m->scal[i];
    double *k = &m->scal_k[3 * i];
    if (s->normsys < 0) {
      k[0] = theta[s->par];
      k[1] = 1;
      k[2] = 0;
    } else {
      hfs_normsys_eval(&m->normsys[s->normsys], theta[s->par], k);
    }
  }
  for (int i = 0; i < m->nhist; ++i)
    hfs_interp_additive(m->histosys_code, theta[m->hist[i].par],
                        &m->hist_w[6 * i]);
}

/* nu(theta) into m->nu, keeping the per-sample-bin pieces A (nominal plus
 * additive shifts) and G (product of per-bin factors) for the derivatives. */
static void eval_rates(hfs_model *m, const double *theta) {
  eval_modifiers(m, theta);
  memset(m->nu, 0, sizeof(double) * (size_t)m->nbins);
  for (int ib = 0; ib < m->nblocks; ++ib) {
    const hfs_sample_block *bl = &m->blocks[ib];
    double F = 1;
    for (int k = bl->s0; k < bl->s1; ++k) F *= m->scal_k[3 * k];
    const double *nom = &m->nominal[bl->nom];
    double *A = &m->sb_A[bl->nom], *G = &m->sb_G[bl->nom];
    for (int j = 0; j < bl->nbins; ++j) A[j] = nom[j];
    for (int h = bl->h0; h < bl->h1; ++h) {
      double u = m->hist_w[6 * h], v = m->hist_w[6 * h + 1];
      const double *du = &m->d_up[m->hist[h].off], *dd = &m->d_dn[m->hist[h].off];
      for (int j = 0; j < bl->nbins; ++j) A[j] += u * du[j] + v * dd[j];
    }
    for (int j = 0; j < bl->nbins; ++j) G[j] = 1;
    for (int k = bl->b0; k < bl->b1; ++k) {
      const int *pp = &m->pb_par[m->binmod[k].off];
      for (int j = 0; j < bl->nbins; ++j) G[j] *= theta[pp[j]];
    }
    double *nu = &m->nu[bl->bin0];
    for (int j = 0; j < bl->nbins; ++j) nu[j] += F * G[j] * A[j];
  }
}

void hfs_model_expected(hfs_model *m, const double *theta, double *main_out,
                        double *aux_out) {
  eval_rates(m, theta);
  if (main_out) memcpy(main_out, m->nu, sizeof(double) * (size_t)m->nbins);
  if (aux_out)
    for (int a = 0; a < m->naux; ++a) {
      int q = m->aux_par[a];
      aux_out[a] = m->constr[q] == HFS_CONSTR_POISSON ? m->tau[q] * theta[q]
                                                      : theta[q];
    }
}

/* -2 ln of a continuous Poisson term, written as
 *   2 n (r - 1 - ln r) + c(n),   r = lambda / n,
 *   c(n) = 2 (n - n ln n + lnGamma(n + 1))   (c(0) = 0, term = 2 lambda),
 * which is pyhf's 2 (lambda - n ln lambda + lnGamma(n + 1)) rearranged.  The
 * first part is small near the minimum and computed without cancellation
 * (r - 1 - ln r = d - log1p(d)); c(n) carries the large, data-only pieces.
 * With counts or Poisson aux data of 1e11 (published shapesys factors) the
 * plain form loses ~1e-3 to rounding, enough to stall line searches. */
static double poisson_const(double n) {
  if (!(n > 0)) return 0;
  if (n < 1e4) return 2 * (n - n * log(n) + lgamma(n + 1));
  /* Stirling: lnGamma(n+1) = n ln n - n + ln(2 pi n)/2 + 1/(12n) - 1/(360n^3) */
  return log(2 * M_PI * n) + 2 * (1 / (12 * n) - 1 / (360 * n * n * n));
}

static double poisson_var(double n, double lambda) {
  if (n == 0) return 2 * lambda;
  double d = (lambda - n) / n;
  return 2 * n * (d - log1p(d));
}

double hfs_model_twice_nll_constant(const hfs_model *m, const double *main,
                                    const double *aux) {
  double c = 0;
  for (int b = 0; b < m->nbins; ++b) c += poisson_const(main[b]);
  for (int a = 0; a < m->naux; ++a) {
    if (m->constr[m->aux_par[a]] == HFS_CONSTR_GAUSS)
      c += m->aux_lognorm[a];
    else
      c += poisson_const(aux[a]);
  }
  return c;
}

/* The data-dependent constant is recomputed only when the data change:
 * comparing a few hundred doubles is far cheaper than the lgamma calls. */
static double data_constant(hfs_model *m, const double *main, const double *aux) {
  size_t nb = (size_t)m->nbins, na = (size_t)m->naux;
  if (m->cache_valid && memcmp(m->cache_data, main, nb * sizeof(double)) == 0 &&
      memcmp(m->cache_data + nb, aux, na * sizeof(double)) == 0)
    return m->cache_const;
  memcpy(m->cache_data, main, nb * sizeof(double));
  memcpy(m->cache_data + nb, aux, na * sizeof(double));
  m->cache_const = hfs_model_twice_nll_constant(m, main, aux);
  m->cache_valid = 1;
  return m->cache_const;
}

/* Main-term value (without its constant) and per-bin weights
 * w_b = 2 (1 - n_b / nu_b). */
static double main_term(hfs_model *m, const double *main) {
  double f = 0;
  for (int b = 0; b < m->nbins; ++b) {
    double n = main[b], nu = m->nu[b];
    if (n == 0) {
      if (nu < 0) return INFINITY;
      m->wbin[b] = 2;
    } else {
      if (!(nu > 0)) return INFINITY;
      m->wbin[b] = 2 * (1 - n / nu);
    }
    f += poisson_var(n, nu);
  }
  return f;
}

static double constraint_term(const hfs_model *m, const double *aux,
                              const double *theta, double *grad) {
  double f = 0;
  for (int a = 0; a < m->naux; ++a) {
    int q = m->aux_par[a];
    double x = theta[q];
    if (m->constr[q] == HFS_CONSTR_GAUSS) {
      double s = m->sigma[q], r = (aux[a] - x) / s;
      f += r * r;
      if (grad) grad[q] += -2 * r / s;
    } else {
      double t = m->tau[q], lam = t * x;
      if (!(lam > 0)) return INFINITY;
      f += poisson_var(aux[a], lam);
      if (grad) grad[q] += -2 * (aux[a] / x - t);
    }
  }
  return f;
}

double hfs_model_twice_nll(hfs_model *m, const double *main, const double *aux,
                           const double *theta, double *grad) {
  eval_rates(m, theta);
  double f = main_term(m, main);
  if (!isfinite(f)) return INFINITY;
  if (grad) {
    memset(grad, 0, sizeof(double) * (size_t)m->npar);
    double *pre = m->tmp, *suf = m->tmp + m->max_scal + 1;
    for (int ib = 0; ib < m->nblocks; ++ib) {
      const hfs_sample_block *bl = &m->blocks[ib];
      const double *A = &m->sb_A[bl->nom], *G = &m->sb_G[bl->nom];
      const double *w = &m->wbin[bl->bin0];
      int ns = bl->s1 - bl->s0;
      /* products of the bin-independent factors excluding one, without
       * division so that kappa = 0 (mu = 0) is exact */
      pre[0] = 1;
      for (int k = 0; k < ns; ++k) pre[k + 1] = pre[k] * m->scal_k[3 * (bl->s0 + k)];
      suf[ns] = 1;
      for (int k = ns - 1; k >= 0; --k) suf[k] = suf[k + 1] * m->scal_k[3 * (bl->s0 + k)];
      double F = pre[ns];
      double S = 0;
      for (int j = 0; j < bl->nbins; ++j) S += w[j] * G[j] * A[j];
      for (int k = 0; k < ns; ++k)
        grad[m->scal[bl->s0 + k].par] += m->scal_k[3 * (bl->s0 + k) + 1] * pre[k] * suf[k + 1] * S;
      for (int h = bl->h0; h < bl->h1; ++h) {
        double du1 = m->hist_w[6 * h + 2], dd1 = m->hist_w[6 * h + 3];
        const double *du = &m->d_up[m->hist[h].off], *dd = &m->d_dn[m->hist[h].off];
        double t = 0;
        for (int j = 0; j < bl->nbins; ++j) t += w[j] * G[j] * (du1 * du[j] + dd1 * dd[j]);
        grad[m->hist[h].par] += F * t;
      }
      int nbm = bl->b1 - bl->b0;
      if (nbm == 1) {
        const int *pp = &m->pb_par[m->binmod[bl->b0].off];
        for (int j = 0; j < bl->nbins; ++j) grad[pp[j]] += w[j] * F * A[j];
      } else if (nbm > 1) {
        for (int j = 0; j < bl->nbins; ++j)
          for (int k = bl->b0; k < bl->b1; ++k) {
            double excl = 1;
            for (int k2 = bl->b0; k2 < bl->b1; ++k2)
              if (k2 != k) excl *= theta[m->pb_par[m->binmod[k2].off + j]];
            grad[m->pb_par[m->binmod[k].off + j]] += w[j] * F * A[j] * excl;
          }
      }
    }
  }
  double c = constraint_term(m, aux, theta, grad);
  if (!isfinite(c)) return INFINITY;
  return f + c + data_constant(m, main, aux);
}

/* One factor or shift of a sample-bin with its derivatives, for the
 * Hessian's per-sample-bin pair sums. */
typedef struct {
  int par;
  int add;          /* 0: multiplicative factor, 1: additive shift */
  double v, d1, d2;
} term;

int hfs_model_hessian(hfs_model *m, const double *main, const double *aux,
                      const double *theta, double *H) {
  int np = m->npar;
  eval_rates(m, theta);
  double f = main_term(m, main);
  if (!isfinite(f))
    return hfs_error_set(HFS_ERR_NUMERIC,
                         "Hessian requested where the likelihood is not finite");
  memset(H, 0, sizeof(double) * (size_t)np * (size_t)np);
  double *J = m->jrow;
  memset(J, 0, sizeof(double) * (size_t)np);
  /* a sample-bin has at most (scalars + histosys + per-bin) terms */
  enum { MAXT = 512 };
  term t[MAXT];
  for (int g = 0; g < m->nbins; ++g) {
    double wb = m->wbin[g];
    for (int ib = 0; ib < m->nblocks; ++ib) {
      const hfs_sample_block *bl = &m->blocks[ib];
      if (g < bl->bin0 || g >= bl->bin0 + bl->nbins) continue;
      int j = g - bl->bin0;
      int nt = 0;
      for (int k = bl->s0; k < bl->s1 && nt < MAXT; ++k, ++nt) {
        t[nt].par = m->scal[k].par;
        t[nt].add = 0;
        t[nt].v = m->scal_k[3 * k];
        t[nt].d1 = m->scal_k[3 * k + 1];
        t[nt].d2 = m->scal_k[3 * k + 2];
      }
      for (int k = bl->b0; k < bl->b1 && nt < MAXT; ++k, ++nt) {
        int q = m->pb_par[m->binmod[k].off + j];
        t[nt].par = q;
        t[nt].add = 0;
        t[nt].v = theta[q];
        t[nt].d1 = 1;
        t[nt].d2 = 0;
      }
      int nmul = nt;
      for (int h = bl->h0; h < bl->h1 && nt < MAXT; ++h, ++nt) {
        const double *w = &m->hist_w[6 * h];
        double du = m->d_up[m->hist[h].off + j], dd = m->d_dn[m->hist[h].off + j];
        t[nt].par = m->hist[h].par;
        t[nt].add = 1;
        t[nt].v = w[0] * du + w[1] * dd;
        t[nt].d1 = w[2] * du + w[3] * dd;
        t[nt].d2 = w[4] * du + w[5] * dd;
      }
      if (nt >= MAXT)
        return hfs_error_set(HFS_ERR_INTERNAL,
                             "a sample-bin has more than %d modifiers", MAXT);
      double A = m->sb_A[bl->nom + j];
      /* K_excl(i) and K_excl(i,k): products of the factors leaving out one
       * or two of them; by division when no factor is zero, directly
       * otherwise */
      int nzero = 0;
      double K = 1;
      for (int i = 0; i < nmul; ++i) {
        if (t[i].v == 0) nzero++;
        K *= t[i].v;
      }
      for (int i = 0; i < nt; ++i) {
        double Ki = 0;
        if (!t[i].add) {
          if (nzero == 0) Ki = K / t[i].v;
          else {
            Ki = 1;
            for (int k = 0; k < nmul; ++k) if (k != i) Ki *= t[k].v;
          }
          J[t[i].par] += Ki * t[i].d1 * A;
          /* diagonal second derivative of this term */
          H[t[i].par * np + t[i].par] += wb * Ki * t[i].d2 * A;
        } else {
          J[t[i].par] += K * t[i].d1;
          H[t[i].par * np + t[i].par] += wb * K * t[i].d2;
        }
        for (int k = 0; k < nt; ++k) {
          if (k == i) continue;
          double c;
          if (!t[i].add && !t[k].add) {
            double Kik;
            if (nzero == 0) Kik = K / (t[i].v * t[k].v);
            else {
              Kik = 1;
              for (int l = 0; l < nmul; ++l) if (l != i && l != k) Kik *= t[l].v;
            }
            c = Kik * t[i].d1 * t[k].d1 * A;
          } else if (t[i].add && t[k].add) {
            c = 0;
          } else {
            const term *mu = t[i].add ? &t[k] : &t[i];
            const term *ad = t[i].add ? &t[i] : &t[k];
            int im = t[i].add ? k : i;
            double Km;
            if (nzero == 0) Km = K / mu->v;
            else {
              Km = 1;
              for (int l = 0; l < nmul; ++l) if (l != im) Km *= t[l].v;
            }
            c = Km * mu->d1 * ad->d1;
          }
          H[t[i].par * np + t[k].par] += wb * c;
        }
      }
    }
    /* Gauss-Newton part: 2 n / nu^2 J J^T over the parameters of this bin */
    double n = main[g], nu = m->nu[g];
    double gn = n > 0 ? 2 * n / (nu * nu) : 0;
    const int *bp = &m->binpar[m->binpar_off[g]];
    int nbp = m->binpar_off[g + 1] - m->binpar_off[g];
    for (int a = 0; a < nbp; ++a) {
      double ja = J[bp[a]];
      if (gn != 0)
        for (int c2 = 0; c2 < nbp; ++c2) H[bp[a] * np + bp[c2]] += gn * ja * J[bp[c2]];
    }
    for (int a = 0; a < nbp; ++a) J[bp[a]] = 0;
  }
  for (int a = 0; a < m->naux; ++a) {
    int q = m->aux_par[a];
    if (m->constr[q] == HFS_CONSTR_GAUSS)
      H[q * np + q] += 2 / (m->sigma[q] * m->sigma[q]);
    else
      H[q * np + q] += 2 * aux[a] / (theta[q] * theta[q]);
  }
  return HFS_OK;
}

void hfs_model_structure_get(const hfs_model *m, hfs_model_structure *s) {
  s->nshared = m->st_nshared;
  s->shared = m->st_shared;
  s->nblocks = m->st_nblocks;
  s->block_off = m->st_block_off;
  s->block_par = m->st_block_par;
  s->block_bin = m->st_block_bin;
}

int hfs_model_hessian_blocks(hfs_model *m, const double *main, const double *aux,
                             const double *theta, double *hss, double *hbb,
                             double *hbs) {
  int np = m->npar, ns = m->st_nshared;
  const double *H = m->hdense;
  int rc = hfs_model_hessian(m, main, aux, theta, m->hdense);
  if (rc) return rc;
  for (int a = 0; a < ns; ++a)
    for (int c = 0; c < ns; ++c)
      hss[a * ns + c] = H[m->st_shared[a] * np + m->st_shared[c]];
  for (int b = 0; b < m->st_nblocks; ++b) {
    const int *bp = &m->st_block_par[m->st_block_off[b]];
    int k = m->st_block_off[b + 1] - m->st_block_off[b];
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) hbb[i * k + j] = H[bp[i] * np + bp[j]];
      for (int c = 0; c < ns; ++c) hbs[i * ns + c] = H[bp[i] * np + m->st_shared[c]];
    }
    hbb += k * k;
    hbs += k * ns;
  }
  return HFS_OK;
}

int hfs_model_channel_nsamples(const hfs_model *m, int c) {
  return m->chan_blk0[c + 1] - m->chan_blk0[c];
}

const char *hfs_model_sample_name(const hfs_model *m, int c, int s) {
  return m->samp_name[m->chan_blk0[c] + s];
}

/* Rate F G_j A_j of bin j of one sample and, if jrow is not NULL, its
 * derivatives added into jrow (npar).  Needs eval_rates() at theta.  The
 * products leaving one factor out are formed without division, so a zero
 * factor (mu = 0) keeps exact derivatives. */
static double sample_bin_rate(hfs_model *m, const hfs_sample_block *bl, int j,
                              const double *theta, double *jrow) {
  int ns = bl->s1 - bl->s0;
  double *pre = m->tmp, *suf = m->tmp + m->max_scal + 1;
  pre[0] = 1;
  for (int k = 0; k < ns; ++k) pre[k + 1] = pre[k] * m->scal_k[3 * (bl->s0 + k)];
  double F = pre[ns];
  double A = m->sb_A[bl->nom + j], G = m->sb_G[bl->nom + j];
  if (!jrow) return F * G * A;
  suf[ns] = 1;
  for (int k = ns - 1; k >= 0; --k) suf[k] = suf[k + 1] * m->scal_k[3 * (bl->s0 + k)];
  for (int k = 0; k < ns; ++k)
    jrow[m->scal[bl->s0 + k].par] +=
        m->scal_k[3 * (bl->s0 + k) + 1] * pre[k] * suf[k + 1] * G * A;
  for (int h = bl->h0; h < bl->h1; ++h) {
    const double *w = &m->hist_w[6 * h];
    double du = m->d_up[m->hist[h].off + j], dd = m->d_dn[m->hist[h].off + j];
    jrow[m->hist[h].par] += F * G * (w[2] * du + w[3] * dd);
  }
  for (int k = bl->b0; k < bl->b1; ++k) {
    double excl = 1;
    for (int k2 = bl->b0; k2 < bl->b1; ++k2)
      if (k2 != k) excl *= theta[m->pb_par[m->binmod[k2].off + j]];
    jrow[m->pb_par[m->binmod[k].off + j]] += F * A * excl;
  }
  return F * G * A;
}

int hfs_model_rates(hfs_model *m, const double *theta, int c, int s, double *nu,
                    double *jac) {
  if (c < 0 || c >= m->nchan)
    return hfs_error_set(HFS_ERR_ARG, "channel %d out of range [0, %d)", c, m->nchan);
  int nsamp = m->chan_blk0[c + 1] - m->chan_blk0[c];
  if (s < -1 || s >= nsamp)
    return hfs_error_set(HFS_ERR_ARG, "sample %d of channel '%s' out of range [-1, %d)",
                         s, m->chan_name[c], nsamp);
  eval_rates(m, theta);
  int nb = m->chan_nbins[c], np = m->npar;
  int b0 = s < 0 ? m->chan_blk0[c] : m->chan_blk0[c] + s;
  int b1 = s < 0 ? m->chan_blk0[c + 1] : b0 + 1;
  for (int j = 0; j < nb; ++j) nu[j] = 0;
  if (jac) memset(jac, 0, sizeof(double) * (size_t)nb * (size_t)np);
  for (int ib = b0; ib < b1; ++ib)
    for (int j = 0; j < nb; ++j)
      nu[j] += sample_bin_rate(m, &m->blocks[ib], j, theta,
                               jac ? jac + (size_t)j * (size_t)np : NULL);
  return HFS_OK;
}

int hfs_model_first_nonfinite(hfs_model *m, const double *main, const double *theta,
                              char *buf, size_t len) {
  for (int q = 0; q < m->npar; ++q)
    if (!isfinite(theta[q])) {
      snprintf(buf, len, "parameter %s = %g", m->par_name[q], theta[q]);
      return 1;
    }
  eval_rates(m, theta);
  for (int c = 0; c < m->nchan; ++c)
    for (int ib = m->chan_blk0[c]; ib < m->chan_blk0[c + 1]; ++ib)
      for (int j = 0; j < m->blocks[ib].nbins; ++j) {
        double r = sample_bin_rate(m, &m->blocks[ib], j, theta, NULL);
        if (!isfinite(r)) {
          snprintf(buf, len, "expected rate %g of sample '%s' in channel '%s', bin %d",
                   r, m->samp_name[ib], m->chan_name[c], j);
          return 1;
        }
      }
  for (int c = 0; c < m->nchan; ++c)
    for (int j = 0; j < m->chan_nbins[c]; ++j) {
      int g = m->chan_off[c] + j;
      double nu = m->nu[g], n = main ? main[g] : 0;
      if (nu < 0 || (n > 0 && !(nu > 0))) {
        snprintf(buf, len, "total expected rate %g in channel '%s', bin %d (observed %g)",
                 nu, m->chan_name[c], j, n);
        return 1;
      }
    }
  return 0;
}
