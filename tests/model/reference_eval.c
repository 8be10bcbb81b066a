/* The likelihood as hfscan computed it before the compiled model (issue
 * 15): modifier by modifier, the Hessian from pairs of modifiers.  Kept in
 * the tests only, as the reference the compiled form must reproduce. */
#include "reference_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Scratch of the reference evaluation (one model at a time). */
static struct {
  double *scal_k, *hist_w, *tmp, *jrow, *nu, *wbin, *sb_A, *sb_G;
  int *binpar_off, *binpar;
} R;

/* Parameters that touch each bin, for the sparse Gauss-Newton part of the
 * Hessian. */
static int build_binpars(const hfs_model *m) {
  int rc = HFS_OK;
  int *mark = NULL, *cnt = NULL;
  HFS_ALLOC(mark, m->npar);
  HFS_ALLOC(cnt, m->nbins + 1);
  HFS_ALLOC(R.binpar_off, m->nbins + 1);
  for (int pass = 0; pass < 2; ++pass) {
    int total = 0;
    for (int g = 0; g < m->nbins; ++g) {
      for (int q = 0; q < m->npar; ++q) mark[q] = 0;
      int n = 0;
      for (int i = 0; i < m->nblocks; ++i) {
        const hfs_sample_block *bl = &m->blocks[i];
        if (g < bl->bin0 || g >= bl->bin0 + bl->nbins) continue;
        int j = g - bl->bin0;
        for (int k = bl->s0; k < bl->s1; ++k) {
          int q = m->scal[k].par;
          if (!mark[q]) {
            mark[q] = 1;
            if (pass) R.binpar[total + n] = q;
            ++n;
          }
        }
        for (int k = bl->h0; k < bl->h1; ++k) {
          int q = m->hist[k].par;
          if (!mark[q]) {
            mark[q] = 1;
            if (pass) R.binpar[total + n] = q;
            ++n;
          }
        }
        for (int k = bl->b0; k < bl->b1; ++k) {
          int q = m->pb_par[m->binmod[k].off + j];
          if (!mark[q]) {
            mark[q] = 1;
            if (pass) R.binpar[total + n] = q;
            ++n;
          }
        }
      }
      if (!pass) R.binpar_off[g] = total;
      total += n;
    }
    if (!pass) {
      R.binpar_off[m->nbins] = total;
      HFS_ALLOC(R.binpar, total);
    }
  }
cleanup:
  free(mark);
  free(cnt);
  return rc;
}

void ref_init(const hfs_model *m) {
  ref_free();
  R.scal_k = calloc(3 * (size_t)m->nscal + 1, sizeof(double));
  R.hist_w = calloc(6 * (size_t)m->nhist + 1, sizeof(double));
  R.tmp = calloc(2 * (size_t)(m->max_scal > m->npar ? m->max_scal : m->npar) + 2, sizeof(double));
  R.jrow = calloc((size_t)m->npar, sizeof(double));
  R.nu = calloc((size_t)m->nbins, sizeof(double));
  R.wbin = calloc((size_t)m->nbins, sizeof(double));
  R.sb_A = calloc((size_t)m->nsb + 1, sizeof(double));
  R.sb_G = calloc((size_t)m->nsb + 1, sizeof(double));
  (void)build_binpars(m);
}

void ref_free(void) {
  free(R.scal_k);
  free(R.hist_w);
  free(R.tmp);
  free(R.jrow);
  free(R.nu);
  free(R.wbin);
  free(R.sb_A);
  free(R.sb_G);
  free(R.binpar_off);
  free(R.binpar);
  memset(&R, 0, sizeof R);
}

static double poisson_var(double n, double lambda) {
  if (n == 0) return 2 * lambda;
  double d = (lambda - n) / n;
  return 2 * n * (d - log1p(d));
}

static double main_term(const hfs_model *m, const double *main) {
  double f = 0;
  for (int b = 0; b < m->nbins; ++b) {
    double n = main[b], nu = R.nu[b];
    if (n == 0) {
      if (nu < 0) return INFINITY;
      R.wbin[b] = 2;
    } else {
      if (!(nu > 0)) return INFINITY;
      R.wbin[b] = 2 * (1 - n / nu);
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

/* Modifier values (and derivatives) that do not depend on the bin. */
static void eval_modifiers(const hfs_model *m, const double *theta) {
  for (int i = 0; i < m->nscal; ++i) {
    const hfs_scalar_mod *s = &m->scal[i];
    double *k = &R.scal_k[3 * i];
    if (s->normsys < 0) {
      k[0] = theta[s->par];
      k[1] = 1;
      k[2] = 0;
    } else {
      hfs_normsys_eval(&m->normsys[s->normsys], theta[s->par], k);
    }
  }
  for (int i = 0; i < m->nhist; ++i)
    hfs_interp_additive(m->histosys_code, theta[m->hist[i].par], &R.hist_w[6 * i]);
}

/* nu(theta) into R.nu, keeping the per-sample-bin pieces A (nominal plus
 * additive shifts) and G (product of per-bin factors) for the derivatives. */
static void eval_rates(const hfs_model *m, const double *theta) {
  eval_modifiers(m, theta);
  memset(R.nu, 0, sizeof(double) * (size_t)m->nbins);
  for (int ib = 0; ib < m->nblocks; ++ib) {
    const hfs_sample_block *bl = &m->blocks[ib];
    double F = 1;
    for (int k = bl->s0; k < bl->s1; ++k) F *= R.scal_k[3 * k];
    const double *nom = &m->nominal[bl->nom];
    double *A = &R.sb_A[bl->nom], *G = &R.sb_G[bl->nom];
    for (int j = 0; j < bl->nbins; ++j) A[j] = nom[j];
    for (int h = bl->h0; h < bl->h1; ++h) {
      double u = R.hist_w[6 * h], v = R.hist_w[6 * h + 1];
      const double *du = &m->d_up[m->hist[h].off], *dd = &m->d_dn[m->hist[h].off];
      for (int j = 0; j < bl->nbins; ++j) A[j] += u * du[j] + v * dd[j];
    }
    for (int j = 0; j < bl->nbins; ++j) G[j] = 1;
    for (int k = bl->b0; k < bl->b1; ++k) {
      const int *pp = &m->pb_par[m->binmod[k].off];
      for (int j = 0; j < bl->nbins; ++j) G[j] *= theta[pp[j]];
    }
    double *nu = &R.nu[bl->bin0];
    for (int j = 0; j < bl->nbins; ++j) nu[j] += F * G[j] * A[j];
  }
}

double ref_twice_nll(const hfs_model *m, const double *main, const double *aux, const double *theta,
                     double *grad) {
  eval_rates(m, theta);
  double f = main_term(m, main);
  if (!isfinite(f)) return INFINITY;
  if (grad) {
    memset(grad, 0, sizeof(double) * (size_t)m->npar);
    double *pre = R.tmp, *suf = R.tmp + m->max_scal + 1;
    for (int ib = 0; ib < m->nblocks; ++ib) {
      const hfs_sample_block *bl = &m->blocks[ib];
      const double *A = &R.sb_A[bl->nom], *G = &R.sb_G[bl->nom];
      const double *w = &R.wbin[bl->bin0];
      int ns = bl->s1 - bl->s0;
      /* products of the bin-independent factors excluding one, without
       * division so that kappa = 0 (mu = 0) is exact */
      pre[0] = 1;
      for (int k = 0; k < ns; ++k) pre[k + 1] = pre[k] * R.scal_k[3 * (bl->s0 + k)];
      suf[ns] = 1;
      for (int k = ns - 1; k >= 0; --k) suf[k] = suf[k + 1] * R.scal_k[3 * (bl->s0 + k)];
      double F = pre[ns];
      double S = 0;
      for (int j = 0; j < bl->nbins; ++j) S += w[j] * G[j] * A[j];
      for (int k = 0; k < ns; ++k)
        grad[m->scal[bl->s0 + k].par] += R.scal_k[3 * (bl->s0 + k) + 1] * pre[k] * suf[k + 1] * S;
      for (int h = bl->h0; h < bl->h1; ++h) {
        double du1 = R.hist_w[6 * h + 2], dd1 = R.hist_w[6 * h + 3];
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
  return f + c + hfs_model_twice_nll_constant(m, main, aux);
}

/* One factor or shift of a sample-bin with its derivatives, for the
 * Hessian's per-sample-bin pair sums. */
typedef struct {
  int par;
  int add; /* 0: multiplicative factor, 1: additive shift */
  double v, d1, d2;
} term;

int ref_hessian(const hfs_model *m, const double *main, const double *aux, const double *theta,
                double *H) {
  int np = m->npar;
  eval_rates(m, theta);
  double f = main_term(m, main);
  if (!isfinite(f))
    return hfs_error_set(HFS_ERR_NUMERIC, "Hessian requested where the likelihood is not finite");
  memset(H, 0, sizeof(double) * (size_t)np * (size_t)np);
  double *J = R.jrow;
  memset(J, 0, sizeof(double) * (size_t)np);
  /* a sample-bin has at most (scalars + histosys + per-bin) terms */
  enum { MAXT = 512 };
  term t[MAXT];
  for (int g = 0; g < m->nbins; ++g) {
    double wb = R.wbin[g];
    for (int ib = 0; ib < m->nblocks; ++ib) {
      const hfs_sample_block *bl = &m->blocks[ib];
      if (g < bl->bin0 || g >= bl->bin0 + bl->nbins) continue;
      int j = g - bl->bin0;
      int nt = 0;
      for (int k = bl->s0; k < bl->s1 && nt < MAXT; ++k, ++nt) {
        t[nt].par = m->scal[k].par;
        t[nt].add = 0;
        t[nt].v = R.scal_k[3 * k];
        t[nt].d1 = R.scal_k[3 * k + 1];
        t[nt].d2 = R.scal_k[3 * k + 2];
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
        const double *w = &R.hist_w[6 * h];
        double du = m->d_up[m->hist[h].off + j], dd = m->d_dn[m->hist[h].off + j];
        t[nt].par = m->hist[h].par;
        t[nt].add = 1;
        t[nt].v = w[0] * du + w[1] * dd;
        t[nt].d1 = w[2] * du + w[3] * dd;
        t[nt].d2 = w[4] * du + w[5] * dd;
      }
      if (nt >= MAXT)
        return hfs_error_set(HFS_ERR_INTERNAL, "a sample-bin has more than %d modifiers", MAXT);
      double A = R.sb_A[bl->nom + j];
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
          if (nzero == 0)
            Ki = K / t[i].v;
          else {
            Ki = 1;
            for (int k = 0; k < nmul; ++k)
              if (k != i) Ki *= t[k].v;
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
            if (nzero == 0)
              Kik = K / (t[i].v * t[k].v);
            else {
              Kik = 1;
              for (int l = 0; l < nmul; ++l)
                if (l != i && l != k) Kik *= t[l].v;
            }
            c = Kik * t[i].d1 * t[k].d1 * A;
          } else if (t[i].add && t[k].add) {
            c = 0;
          } else {
            const term *mu = t[i].add ? &t[k] : &t[i];
            const term *ad = t[i].add ? &t[i] : &t[k];
            int im = t[i].add ? k : i;
            double Km;
            if (nzero == 0)
              Km = K / mu->v;
            else {
              Km = 1;
              for (int l = 0; l < nmul; ++l)
                if (l != im) Km *= t[l].v;
            }
            c = Km * mu->d1 * ad->d1;
          }
          H[t[i].par * np + t[k].par] += wb * c;
        }
      }
    }
    /* Gauss-Newton part: 2 n / nu^2 J J^T over the parameters of this bin */
    double n = main[g], nu = R.nu[g];
    double gn = n > 0 ? 2 * n / (nu * nu) : 0;
    const int *bp = &R.binpar[R.binpar_off[g]];
    int nbp = R.binpar_off[g + 1] - R.binpar_off[g];
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
