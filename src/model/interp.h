/* Interpolation codes for normsys (multiplicative factor kappa(alpha)) and
 * histosys (additive shift Delta(alpha)), with first and second derivatives.
 * Private to the model module. */
#ifndef HFS_INTERP_H
#define HFS_INTERP_H

/* Additive codes written as Delta = u(alpha) d_up + v(alpha) d_dn with
 * d_up = I+ - I0 and d_dn = I0 - I-: every additive code (0, 2, 4p) is a
 * pair of scalar weights per alpha, so the per-bin work is two multiply-adds
 * whatever the code.  w[0..5] = u, v, u', v', u'', v''. */
void hfs_interp_additive(int code, double alpha, double w[6]);

/* Per-instance constants of a multiplicative code (normsys with factors
 * lo, hi relative to nominal 1). */
typedef struct {
  int code; /* 0, 1, 2, 4 */
  double lo, hi;
  double lnlo, lnhi;
  double a[6]; /* code4 polynomial coefficients a1..a6 */
} hfs_normsys_coef;

/* Prepare constants; returns 0, or -1 if the code needs logarithms of a
 * non-positive factor. */
int hfs_normsys_prepare(hfs_normsys_coef *c, int code, double lo, double hi);

/* kappa = 1 + x (a1 + a2 x + ... + a6 x^5) of code 4 inside |x| < 1, the
 * coefficients a[0], a[s], .., a[5 s]: by Estrin's scheme, four multiplies
 * deep instead of Horner's six (the likelihood is bound by this latency).
 * Every evaluation of the polynomial and its derivatives goes through these
 * or their two-lane copy in model.c, so that kappa has the same bits
 * wherever it is computed. */
static inline double hfs_code4_kappa(const double *a, int s, double x) {
  double x2 = x * x;
  double p = (a[0] + a[s] * x) + x2 * ((a[2 * s] + a[3 * s] * x) + x2 * (a[4 * s] + a[5 * s] * x));
  return 1 + p * x;
}

/* Its first and second derivatives, the same way. */
static inline double hfs_code4_dkappa(const double *a, int s, double x) {
  double x2 = x * x;
  return (a[0] + 2 * a[s] * x) +
         x2 * ((3 * a[2 * s] + 4 * a[3 * s] * x) + x2 * (5 * a[4 * s] + 6 * a[5 * s] * x));
}

static inline double hfs_code4_d2kappa(const double *a, int s, double x) {
  double x2 = x * x;
  return (2 * a[s] + 6 * a[2 * s] * x) +
         x2 * ((12 * a[3 * s] + 20 * a[4 * s] * x) + x2 * (30 * a[5 * s]));
}

/* kappa, dkappa/dalpha, d2kappa/dalpha2. */
void hfs_normsys_eval(const hfs_normsys_coef *c, double alpha, double out[3]);

/* code4 coefficients by the closed form of ROOT's FlexibleInterpVar code 5
 * (used to cross-check the matrix form in tests). */
void hfs_code4_coefficients_closed(double lo, double hi, double a[6]);

#endif
