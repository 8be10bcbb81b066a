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

/* kappa of one normsys factor and, for order >= 1 (2), its first (second)
 * derivative.  Inside |alpha| < 1 code 4 is a polynomial, evaluated here
 * with only the orders asked for: the likelihood without gradient, the
 * hottest call, needs the value alone. */
static inline void normsys_factor(const hfs_normsys_coef *c, double x, int order, double k[3]) {
  if (c->code == 4 && x < 1 && x > -1) {
    const double *a = c->a;
    k[0] = hfs_code4_kappa(a, 1, x);
    if (order == 0) return;
    k[1] = hfs_code4_dkappa(a, 1, x);
    if (order == 1) return;
    k[2] = hfs_code4_d2kappa(a, 1, x);
    return;
  }
  hfs_normsys_eval(c, x, k);
}

/* kappa, kappa' and kappa'' (orders up to `order`) of fused term t at x
 * into mk, mk1, mk2: the polynomial for one code-4 normsys inside |x| < 1,
 * else the product of the term's factors.  Inlined into the loop over the
 * terms outside the two-lane pairs (mt_other). */
static inline __attribute__((always_inline)) void mterm_eval_inline(hfs_model *m, int t, double x,
                                                                    int order) {
  double o[3] = {0, 0, 0};
  if (m->mt_simple[t] && x < 1 && x > -1) {
    const double *a = &m->mt_c[12 * (size_t)(t / 2) + t % 2];
    /* a_k of term t at a[2k]: the pair layout of the vector pass */
    o[0] = hfs_code4_kappa(a, 2, x);
    o[1] = hfs_code4_dkappa(a, 2, x);
    o[2] = hfs_code4_d2kappa(a, 2, x);
  } else if (m->mt_simple[t]) {
    hfs_normsys_eval(&m->cns[m->mterm[t].n0], x, o);
  } else {
    const hfs_mterm *mt = &m->mterm[t];
    double v = 1, d1 = 0, d2 = 0;
    for (int i = 0; i < mt->nlin; ++i) {
      d2 = x * d2 + 2 * d1;
      d1 = x * d1 + v;
      v *= x;
    }
    for (int n = mt->n0; n < mt->n1; ++n) {
      double k[3];
      normsys_factor(&m->cns[n], x, order, k);
      if (order > 0) {
        d2 = v * k[2] + 2 * d1 * k[1] + d2 * k[0];
        d1 = v * k[1] + d1 * k[0];
      }
      v *= k[0];
    }
    o[0] = v;
    o[1] = d1;
    o[2] = d2;
  }
  m->mk[t] = o[0];
  if (order > 0) m->mk1[t] = o[1];
  if (order > 1) m->mk2[t] = o[2];
}

/* The same out of line, for a pair whose x leaves |x| < 1 (rare). */
static void mterm_eval(hfs_model *m, int t, double x, int order) {
  mterm_eval_inline(m, t, x, order);
}

/* kappa and the derivatives asked for of the simple pairs (both terms one
 * code-4 normsys), two lanes at a time, with no branch in the loop: a pair
 * with an x outside |x| < 1 gets the polynomial too, and the count of such
 * pairs returned sends the caller to redo them. */
static inline __attribute__((always_inline)) int eval_pairs(hfs_model *m, const double *theta,
                                                            int order) {
  const int *pair = m->mt_pair, *par = m->mt_par;
  int np = m->nmpair, outside = 0;
  for (int i = 0; i < np; ++i) {
    int t = 2 * pair[i];
    double x0 = theta[par[t]], x1 = theta[par[t + 1]];
    /* fabs(x) < 1 is -1 < x < 1, false for NaN */
    outside += !(fabs(x0) < 1 && fabs(x1) < 1);
    const v2du *a = (const v2du *)&m->mt_c[6 * (size_t)t];
    v2d x = {x0, x1};
    /* hfs_code4_kappa on two lanes */
    v2d x2 = x * x;
    v2d p = (a[0] + a[1] * x) + x2 * ((a[2] + a[3] * x) + x2 * (a[4] + a[5] * x));
    v2d v = 1 + p * x;
    *(v2du *)&m->mk[t] = v;
    if (order == 0) continue;
    v2d d1 =
        (a[0] + 2 * a[1] * x) + x2 * ((3 * a[2] + 4 * a[3] * x) + x2 * (5 * a[4] + 6 * a[5] * x));
    *(v2du *)&m->mk1[t] = d1;
    if (order == 1) continue;
    v2d d2 = (2 * a[1] + 6 * a[2] * x) + x2 * ((12 * a[3] + 20 * a[4] * x) + x2 * (30 * a[5]));
    *(v2du *)&m->mk2[t] = d2;
  }
  return outside;
}

/* Every fused term: the simple pairs (nearly all terms), then the terms of
 * the other pairs one by one. */
static void eval_terms(hfs_model *m, const double *theta, int order) {
  int outside = order == 0   ? eval_pairs(m, theta, 0)
                : order == 1 ? eval_pairs(m, theta, 1)
                             : eval_pairs(m, theta, 2);
  for (int i = 0; outside && i < m->nmpair; ++i) {
    int t = 2 * m->mt_pair[i];
    double x0 = theta[m->mt_par[t]], x1 = theta[m->mt_par[t + 1]];
    if (fabs(x0) < 1 && fabs(x1) < 1) continue;
    mterm_eval(m, t, x0, order);
    mterm_eval(m, t + 1, x1, order);
    outside--;
  }
  for (int i = 0; i < m->nmother; ++i) {
    int t = m->mt_other[i];
    mterm_eval_inline(m, t, theta[m->mt_par[t]], order);
  }
}

/* nu(theta) into m->nu, keeping per fused term its value and derivatives
 * (mk, mk1, mk2) and, for order >= 1, the product of the sample's terms
 * before it (mpre, for the gradient), per sample the product F of its
 * multiplicative terms and per sample-bin the pieces A (nominal plus
 * additive shifts) and G (product of per-bin factors). */
static void eval_rates(hfs_model *m, const double *theta, int order) {
  for (int i = 0; i < m->nhpar; ++i) {
    int p = m->hpar[i];
    hfs_interp_additive(m->histosys_code, theta[p], &m->pw[6 * p]);
  }
  eval_terms(m, theta, order);
  memset(m->nu, 0, sizeof(double) * (size_t)m->nbins);
  const double *mk = m->mk;
  double *pre = m->mpre;
  for (int ib = 0; ib < m->nblocks; ++ib) {
    const hfs_csample *c = &m->cs[ib];
    /* F as four interleaved partial products (term t in product
     * (t - m0) mod 4): one chain of dependent multiplies per sample was the
     * longest latency of the pass.  For the gradient, each term's prefix
     * within its own product (pre) and the four products (csFc). */
    double F0 = 1, F1 = 1, F2 = 1, F3 = 1;
    int t = c->m0, q = c->m0 + ((c->m1 - c->m0) & ~3);
    if (q == t && (order == 0 || c->m1 - t <= 1)) {
      /* fewer than four terms, one per product: (F0 F1) (F2 F3) is their
       * product in order, without the bookkeeping; with derivatives only
       * for one term or none, whose gradient needs neither pre nor csFc
       * (NextStat's model: one or none per sample) */
      for (; t < c->m1; ++t) F0 *= mk[t];
    } else if (order == 0) {
      for (; t < q; t += 4) {
        F0 *= mk[t];
        F1 *= mk[t + 1];
        F2 *= mk[t + 2];
        F3 *= mk[t + 3];
      }
      if (t < c->m1) F0 *= mk[t];
      if (t + 1 < c->m1) F1 *= mk[t + 1];
      if (t + 2 < c->m1) F2 *= mk[t + 2];
    } else {
      for (; t < q; t += 4) {
        pre[t] = F0;
        pre[t + 1] = F1;
        pre[t + 2] = F2;
        pre[t + 3] = F3;
        F0 *= mk[t];
        F1 *= mk[t + 1];
        F2 *= mk[t + 2];
        F3 *= mk[t + 3];
      }
      if (t < c->m1) pre[t] = F0, F0 *= mk[t];
      if (t + 1 < c->m1) pre[t + 1] = F1, F1 *= mk[t + 1];
      if (t + 2 < c->m1) pre[t + 2] = F2, F2 *= mk[t + 2];
      double *Fc = &m->csFc[4 * (size_t)ib];
      Fc[0] = F0;
      Fc[1] = F1;
      Fc[2] = F2;
      Fc[3] = F3;
    }
    double F = (F0 * F1) * (F2 * F3);
    m->csF[ib] = F;
    const double *nom = &m->nominal[c->nom];
    double *A = &m->sb_A[c->nom], *G = &m->sb_G[c->nom];
    int nb = c->nbins;
    int na = c->a1 - c->a0;
    const hfs_aterm *at = &m->aterm[c->a0];
    if (na && nb == 1) {
      /* one bin (most ATLAS samples): the weights straight from pw */
      const double *du = &m->fd_up[c->fd0], *dd = &m->fd_dn[c->fd0], *pw = m->pw;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int t = 0;
      for (; t + 4 <= na; t += 4) {
        const double *w0 = &pw[6 * at[t].par], *w1 = &pw[6 * at[t + 1].par];
        const double *w2 = &pw[6 * at[t + 2].par], *w3 = &pw[6 * at[t + 3].par];
        s0 += w0[0] * du[t] + w0[1] * dd[t];
        s1 += w1[0] * du[t + 1] + w1[1] * dd[t + 1];
        s2 += w2[0] * du[t + 2] + w2[1] * dd[t + 2];
        s3 += w3[0] * du[t + 3] + w3[1] * dd[t + 3];
      }
      for (; t < na; ++t) s0 += pw[6 * at[t].par] * du[t] + pw[6 * at[t].par + 1] * dd[t];
      A[0] = nom[0] + ((s0 + s1) + (s2 + s3));
    } else if (na) {
      double *g = m->gw + c->a0;
      size_t st = (size_t)m->naterm;
      for (int t = 0; t < na; ++t) {
        const double *w = &m->pw[6 * at[t].par];
        g[t] = w[0];
        g[st + t] = w[1];
      }
      if (order == 1) /* for the gradient; the Hessian reads pw */
        for (int t = 0; t < na; ++t) {
          const double *w = &m->pw[6 * at[t].par];
          g[2 * st + t] = w[2];
          g[3 * st + t] = w[3];
        }
      for (int j = 0; j < nb; ++j) {
        const double *du = &m->fd_up[c->fd0 + j * na], *dd = &m->fd_dn[c->fd0 + j * na];
        /* four partial sums: the loop vectorizes and pipelines */
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int t = 0;
        for (; t + 4 <= na; t += 4) {
          s0 += g[t] * du[t] + g[st + t] * dd[t];
          s1 += g[t + 1] * du[t + 1] + g[st + t + 1] * dd[t + 1];
          s2 += g[t + 2] * du[t + 2] + g[st + t + 2] * dd[t + 2];
          s3 += g[t + 3] * du[t + 3] + g[st + t + 3] * dd[t + 3];
        }
        for (; t < na; ++t) s0 += g[t] * du[t] + g[st + t] * dd[t];
        A[j] = nom[j] + ((s0 + s1) + (s2 + s3));
      }
    }
    /* without histosys A is the nominal, set once (hfs__model_compile) */
    double *nu = &m->nu[c->bin0];
    if (c->b1 - c->b0 == 1) {
      /* one per-bin factor (a gamma), the common case: G and nu in one
       * pass, each the same products as below */
      const int *pp = &m->pb_par[m->binmod[c->b0].off];
      for (int j = 0; j < nb; ++j) {
        double g = 1;
        g *= theta[pp[j]];
        G[j] = g;
        nu[j] += F * g * A[j];
      }
      continue;
    }
    if (c->b1 > c->b0) { /* else G = 1, set once (hfs__model_compile) */
      for (int j = 0; j < nb; ++j) G[j] = 1;
      for (int k = c->b0; k < c->b1; ++k) {
        const int *pp = &m->pb_par[m->binmod[k].off];
        for (int j = 0; j < nb; ++j) G[j] *= theta[pp[j]];
      }
    }
    for (int j = 0; j < nb; ++j) nu[j] += F * G[j] * A[j];
  }
}

void hfs__model_eval_rates(hfs_model *m, const double *theta, int order) {
  eval_rates(m, theta, order);
}

void hfs_model_expected(hfs_model *m, const double *theta, double *main_out, double *aux_out) {
  eval_rates(m, theta, 0);
  if (main_out) memcpy(main_out, m->nu, sizeof(double) * (size_t)m->nbins);
  if (aux_out)
    for (int a = 0; a < m->naux; ++a) {
      int q = m->aux_par[a];
      aux_out[a] = m->constr[q] == HFS_CONSTR_POISSON ? m->tau[q] * theta[q] : theta[q];
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

double hfs_model_twice_nll_constant(const hfs_model *m, const double *main, const double *aux) {
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
double hfs__model_main_term(hfs_model *m, const double *main) {
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

static double constraint_term(const hfs_model *m, const double *aux, const double *theta,
                              double *grad) {
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

double hfs_model_twice_nll(hfs_model *m, const double *main, const double *aux, const double *theta,
                           double *grad) {
  eval_rates(m, theta, grad ? 1 : 0);
  double f = hfs__model_main_term(m, main);
  if (!isfinite(f)) return INFINITY;
  if (grad) {
    memset(grad, 0, sizeof(double) * (size_t)m->npar);
    const double *mk = m->mk, *mk1 = m->mk1, *pre = m->mpre, *pw = m->pw;
    for (int ib = 0; ib < m->nblocks; ++ib) {
      const hfs_csample *c = &m->cs[ib];
      const double *A = &m->sb_A[c->nom], *G = &m->sb_G[c->nom];
      const double *w = &m->wbin[c->bin0];
      int nb = c->nbins;
      double S = 0;
      for (int j = 0; j < nb; ++j) S += w[j] * G[j] * A[j];
      /* kappa_t' times the product of the other terms: t's prefix in its
       * own partial product (kept by the rate pass) by its suffix there, by
       * the other three products; no division, so that a zero factor
       * (mu = 0) keeps an exact gradient.  The four suffix chains run side
       * by side. */
      if (c->m1 - c->m0 == 1) {
        /* one term (NextStat's model): the other products are 1 */
        grad[m->mt_par[c->m0]] += mk1[c->m0] * S;
      } else if (c->m1 > c->m0) {
        const double *Fc = &m->csFc[4 * (size_t)ib];
        double o0 = Fc[1] * (Fc[2] * Fc[3]) * S, o1 = Fc[0] * (Fc[2] * Fc[3]) * S;
        double o2 = (Fc[0] * Fc[1]) * Fc[3] * S, o3 = (Fc[0] * Fc[1]) * Fc[2] * S;
        double u0 = 1, u1 = 1, u2 = 1, u3 = 1;
        const int *mp = m->mt_par;
        int q = c->m0 + ((c->m1 - c->m0) & ~3);
        if (q + 2 < c->m1) grad[mp[q + 2]] += mk1[q + 2] * pre[q + 2] * o2, u2 = mk[q + 2];
        if (q + 1 < c->m1) grad[mp[q + 1]] += mk1[q + 1] * pre[q + 1] * o1, u1 = mk[q + 1];
        if (q < c->m1) grad[mp[q]] += mk1[q] * pre[q] * o0, u0 = mk[q];
        for (int t = q - 4; t >= c->m0; t -= 4) {
          grad[mp[t + 3]] += mk1[t + 3] * pre[t + 3] * u3 * o3;
          grad[mp[t + 2]] += mk1[t + 2] * pre[t + 2] * u2 * o2;
          grad[mp[t + 1]] += mk1[t + 1] * pre[t + 1] * u1 * o1;
          grad[mp[t]] += mk1[t] * pre[t] * u0 * o0;
          u3 *= mk[t + 3];
          u2 *= mk[t + 2];
          u1 *= mk[t + 1];
          u0 *= mk[t];
        }
      }
      double F = m->csF[ib];
      int na = c->a1 - c->a0;
      if (na) {
        const hfs_aterm *at = &m->aterm[c->a0];
        if (nb == 1) { /* the common one-bin sample: no per-term sums */
          const double *du = &m->fd_up[c->fd0], *dd = &m->fd_dn[c->fd0];
          double fw = F * w[0] * G[0];
          for (int t = 0; t < na; ++t) {
            const double *pt = &pw[6 * at[t].par];
            grad[at[t].par] += fw * (pt[2] * du[t] + pt[3] * dd[t]);
          }
        } else {
          const double *g2 = m->gw + 2 * (size_t)m->naterm + c->a0, *g3 = g2 + m->naterm;
          double *su = m->asum, *sd = m->asum + na;
          for (int t = 0; t < na; ++t) su[t] = sd[t] = 0;
          for (int j = 0; j < nb; ++j) {
            const double *du = &m->fd_up[c->fd0 + j * na], *dd = &m->fd_dn[c->fd0 + j * na];
            double wg = w[j] * G[j];
            for (int t = 0; t < na; ++t) {
              su[t] += wg * du[t];
              sd[t] += wg * dd[t];
            }
          }
          for (int t = 0; t < na; ++t) grad[at[t].par] += F * (g2[t] * su[t] + g3[t] * sd[t]);
        }
      }
      int nbm = c->b1 - c->b0;
      if (nbm == 1) {
        const int *pp = &m->pb_par[m->binmod[c->b0].off];
        for (int j = 0; j < nb; ++j) grad[pp[j]] += w[j] * F * A[j];
      } else if (nbm > 1) {
        for (int j = 0; j < nb; ++j)
          for (int k = c->b0; k < c->b1; ++k) {
            double excl = 1;
            for (int k2 = c->b0; k2 < c->b1; ++k2)
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

void hfs_model_structure_get(const hfs_model *m, hfs_model_structure *s) {
  s->nshared = m->st_nshared;
  s->shared = m->st_shared;
  s->nblocks = m->st_nblocks;
  s->block_off = m->st_block_off;
  s->block_par = m->st_block_par;
  s->block_bin = m->st_block_bin;
}

int hfs_model_channel_nsamples(const hfs_model *m, int c) {
  return m->chan_blk0[c + 1] - m->chan_blk0[c];
}

const char *hfs_model_sample_name(const hfs_model *m, int c, int s) {
  return m->samp_name[m->chan_blk0[c] + s];
}

/* Rate F G_j A_j of bin j of one sample and, if jrow is not NULL, its
 * derivatives added into jrow (npar).  Needs eval_rates() at theta with
 * order >= 1.  The products leaving one factor out are formed without
 * division, so a zero factor (mu = 0) keeps exact derivatives. */
static double sample_bin_rate(hfs_model *m, const hfs_csample *c, int j, const double *theta,
                              double *jrow) {
  int nm = c->m1 - c->m0;
  const double *mk = &m->mk[c->m0], *mk1 = &m->mk1[c->m0];
  double *pre = m->tmp, *suf = m->tmp + m->max_scal + 1;
  pre[0] = 1;
  for (int k = 0; k < nm; ++k) pre[k + 1] = pre[k] * mk[k];
  double F = pre[nm];
  double A = m->sb_A[c->nom + j], G = m->sb_G[c->nom + j];
  if (!jrow) return F * G * A;
  suf[nm] = 1;
  for (int k = nm - 1; k >= 0; --k) suf[k] = suf[k + 1] * mk[k];
  for (int k = 0; k < nm; ++k)
    jrow[m->mterm[c->m0 + k].par] += mk1[k] * pre[k] * suf[k + 1] * G * A;
  for (int t = c->a0; t < c->a1; ++t) {
    const double *w = &m->pw[6 * m->aterm[t].par];
    int at = c->fd0 + j * (c->a1 - c->a0) + t - c->a0;
    jrow[m->aterm[t].par] += F * G * (w[2] * m->fd_up[at] + w[3] * m->fd_dn[at]);
  }
  for (int k = c->b0; k < c->b1; ++k) {
    double excl = 1;
    for (int k2 = c->b0; k2 < c->b1; ++k2)
      if (k2 != k) excl *= theta[m->pb_par[m->binmod[k2].off + j]];
    jrow[m->pb_par[m->binmod[k].off + j]] += F * A * excl;
  }
  return F * G * A;
}

int hfs_model_rates(hfs_model *m, const double *theta, int c, int s, double *nu, double *jac) {
  if (c < 0 || c >= m->nchan)
    return hfs_error_set(HFS_ERR_ARG, "channel %d out of range [0, %d)", c, m->nchan);
  int nsamp = m->chan_blk0[c + 1] - m->chan_blk0[c];
  if (s < -1 || s >= nsamp)
    return hfs_error_set(HFS_ERR_ARG, "sample %d of channel '%s' out of range [-1, %d)", s,
                         m->chan_name[c], nsamp);
  eval_rates(m, theta, jac ? 1 : 0);
  int nb = m->chan_nbins[c], np = m->npar;
  int b0 = s < 0 ? m->chan_blk0[c] : m->chan_blk0[c] + s;
  int b1 = s < 0 ? m->chan_blk0[c + 1] : b0 + 1;
  for (int j = 0; j < nb; ++j) nu[j] = 0;
  if (jac) memset(jac, 0, sizeof(double) * (size_t)nb * (size_t)np);
  for (int ib = b0; ib < b1; ++ib)
    for (int j = 0; j < nb; ++j)
      nu[j] += sample_bin_rate(m, &m->cs[ib], j, theta, jac ? jac + (size_t)j * (size_t)np : NULL);
  return HFS_OK;
}

int hfs_model_first_nonfinite(hfs_model *m, const double *main, const double *theta, char *buf,
                              size_t len) {
  for (int q = 0; q < m->npar; ++q)
    if (!isfinite(theta[q])) {
      snprintf(buf, len, "parameter %s = %g", m->par_name[q], theta[q]);
      return 1;
    }
  eval_rates(m, theta, 0);
  for (int c = 0; c < m->nchan; ++c)
    for (int ib = m->chan_blk0[c]; ib < m->chan_blk0[c + 1]; ++ib)
      for (int j = 0; j < m->blocks[ib].nbins; ++j) {
        double r = sample_bin_rate(m, &m->cs[ib], j, theta, NULL);
        if (!isfinite(r)) {
          snprintf(buf, len, "expected rate %g of sample '%s' in channel '%s', bin %d", r,
                   m->samp_name[ib], m->chan_name[c], j);
          return 1;
        }
      }
  for (int c = 0; c < m->nchan; ++c)
    for (int j = 0; j < m->chan_nbins[c]; ++j) {
      int g = m->chan_off[c] + j;
      double nu = m->nu[g], n = main ? main[g] : 0;
      if (nu < 0 || (n > 0 && !(nu > 0))) {
        snprintf(buf, len, "total expected rate %g in channel '%s', bin %d (observed %g)", nu,
                 m->chan_name[c], j, n);
        return 1;
      }
    }
  return 0;
}
