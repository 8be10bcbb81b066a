#include "interp.h"

#include <math.h>

/* A^-1 for alpha0 = 1: maps r = [hi-1, lo-1, hi ln hi, -lo ln lo,
 * hi ln^2 hi, lo ln^2 lo] to the polynomial coefficients a1..a6 that match
 * value, slope and curvature of the exponential branches at alpha = +-1. */
static const double code4_ainv[6][6] = {
    {15. / 16, -15. / 16, -7. / 16, -7. / 16, 1. / 16, -1. / 16},
    {3. / 2, 3. / 2, -9. / 16, 9. / 16, 1. / 16, 1. / 16},
    {-5. / 8, 5. / 8, 5. / 8, 5. / 8, -1. / 8, 1. / 8},
    {-3. / 2, -3. / 2, 7. / 8, -7. / 8, -1. / 8, -1. / 8},
    {3. / 16, -3. / 16, -3. / 16, -3. / 16, 1. / 16, -1. / 16},
    {1. / 2, 1. / 2, -5. / 16, 5. / 16, 1. / 16, 1. / 16},
};

void hfs_interp_additive(int code, double x, double w[6]) {
  switch (code) {
    case 0: /* piecewise linear */
      if (x > 0) {
        w[0] = x;
        w[1] = 0;
        w[2] = 1;
        w[3] = 0;
      } else {
        w[0] = 0;
        w[1] = x;
        w[2] = 0;
        w[3] = 1;
      }
      w[4] = w[5] = 0;
      break;
    case 2: /* quadratic inside, linear outside; pyhf's form is
               discontinuous at |alpha| = 1 and we reproduce it on purpose */
      if (x > 1) {
        w[0] = 1.5 * (x - 1);
        w[1] = -0.5 * (x - 1);
        w[2] = 1.5;
        w[3] = -0.5;
        w[4] = w[5] = 0;
      } else if (x < -1) {
        w[0] = -0.5 * (x + 1);
        w[1] = 1.5 * (x + 1);
        w[2] = -0.5;
        w[3] = 1.5;
        w[4] = w[5] = 0;
      } else {
        w[0] = 0.5 * x * x + 0.5 * x;
        w[1] = -0.5 * x * x + 0.5 * x;
        w[2] = x + 0.5;
        w[3] = -x + 0.5;
        w[4] = 1;
        w[5] = -1;
      }
      break;
    default: /* 4 = pyhf code4p: 6th-order polynomial inside, linear outside */
      if (x > 1) {
        w[0] = x;
        w[1] = 0;
        w[2] = 1;
        w[3] = 0;
        w[4] = w[5] = 0;
      } else if (x < -1) {
        w[0] = 0;
        w[1] = x;
        w[2] = 0;
        w[3] = 1;
        w[4] = w[5] = 0;
      } else {
        /* Delta = x S + c(x) A with S = (d_up + d_dn)/2, A = (d_up - d_dn)/16
         * and c = 15x^2 - 10x^4 + 3x^6. */
        double x2 = x * x;
        double c = x2 * (15 + x2 * (-10 + 3 * x2));
        double c1 = x * (30 + x2 * (-40 + 18 * x2));
        double c2 = 30 + x2 * (-120 + 90 * x2);
        w[0] = 0.5 * x + c / 16;
        w[1] = 0.5 * x - c / 16;
        w[2] = 0.5 + c1 / 16;
        w[3] = 0.5 - c1 / 16;
        w[4] = c2 / 16;
        w[5] = -c2 / 16;
      }
      break;
  }
}

int hfs_normsys_prepare(hfs_normsys_coef *c, int code, double lo, double hi) {
  c->code = code;
  c->lo = lo;
  c->hi = hi;
  c->lnlo = c->lnhi = 0;
  for (int i = 0; i < 6; ++i) c->a[i] = 0;
  if (code == 1 || code == 4) {
    if (!(lo > 0) || !(hi > 0)) return -1;
    c->lnlo = log(lo);
    c->lnhi = log(hi);
  }
  if (code == 4) {
    double r[6] = {hi - 1,
                   lo - 1,
                   hi * c->lnhi,
                   -lo * c->lnlo,
                   hi * c->lnhi * c->lnhi,
                   lo * c->lnlo * c->lnlo};
    for (int i = 0; i < 6; ++i) {
      double s = 0;
      for (int j = 0; j < 6; ++j) s += code4_ainv[i][j] * r[j];
      c->a[i] = s;
    }
  }
  return 0;
}

void hfs_normsys_eval(const hfs_normsys_coef *c, double x, double out[3]) {
  if (c->code == 1 || (c->code == 4 && (x >= 1 || x <= -1))) {
    /* exponential branches: hi^x for x >= 0 (>= 1 in code4), lo^-x below */
    double l = x >= 0 ? c->lnhi : -c->lnlo;
    double k = exp(l * x);
    out[0] = k;
    out[1] = l * k;
    out[2] = l * l * k;
    return;
  }
  if (c->code == 4) {
    const double *a = c->a;
    out[0] = hfs_code4_kappa(a, 1, x);
    out[1] = hfs_code4_dkappa(a, 1, x);
    out[2] = hfs_code4_d2kappa(a, 1, x);
    return;
  }
  /* additive codes 0 and 2 applied to the factor: kappa = 1 + Delta with
   * d_up = hi - 1, d_dn = 1 - lo */
  double w[6];
  hfs_interp_additive(c->code, x, w);
  double du = c->hi - 1, dn = 1 - c->lo;
  out[0] = 1 + w[0] * du + w[1] * dn;
  out[1] = w[2] * du + w[3] * dn;
  out[2] = w[4] * du + w[5] * dn;
}

void hfs_code4_coefficients_closed(double lo, double hi, double a[6]) {
  double pu = hi, pd = lo, lu = log(hi), ld = log(lo);
  double S0 = 0.5 * (pu + pd), A0 = 0.5 * (pu - pd);
  double S1 = 0.5 * (pu * lu - pd * ld), A1 = 0.5 * (pu * lu + pd * ld);
  double S2 = 0.5 * (pu * lu * lu + pd * ld * ld);
  double A2 = 0.5 * (pu * lu * lu - pd * ld * ld);
  a[0] = (15 * A0 - 7 * S1 + A2) / 8;
  a[1] = (-24 + 24 * S0 - 9 * A1 + S2) / 8;
  a[2] = (-5 * A0 + 5 * S1 - A2) / 4;
  a[3] = (12 - 12 * S0 + 7 * A1 - S2) / 4;
  a[4] = (3 * A0 - 3 * S1 + A2) / 8;
  a[5] = (-8 + 8 * S0 - 5 * A1 + S2) / 8;
}
