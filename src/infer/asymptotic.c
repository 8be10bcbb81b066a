/* Asymptotic p-values (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727) in
 * pyhf's form, the hypothesis test and the discovery significance. */
#include "hfs_error.h"
#include "infer_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <string.h>

int hfs__infer_q_pair(hfs_infer *I, hfs_teststat ts, double mu, double *q, double *qa,
                      hfs_fit_summary *fits);
double hfs__infer_mu_hat(hfs_infer *I);

static double Phi(double x) { return gsl_cdf_ugaussian_P(x); }

/* Tail probabilities of the two-sided statistics t_mu and t~_mu under the
 * tested mu (sb) and under mu' = 0 (b), Eqs. (33)-(45) of the paper with
 * mu/sigma = sqrt(qa). */
static void two_sided(int tilde, double t, double qa, double *psb, double *pb) {
  double st = sqrt(t > 0 ? t : 0), sa = sqrt(qa > 0 ? qa : 0);
  if (!tilde || t <= qa || sa == 0) {
    *psb = 2 * (1 - Phi(st));
    *pb = 2 - Phi(st + sa) - Phi(st - sa);
  } else {
    *psb = 1 - (Phi(st) + Phi((t + qa) / (2 * sa)) - 1);
    *pb = 1 - (Phi(st + sa) + Phi((t - qa) / (2 * sa)) - 1);
  }
}

void hfs_asymptotic_pvalues(hfs_teststat ts, double q, double qa, double *clsb, double *clb,
                            double *cls) {
  double sq = sqrt(q > 0 ? q : 0), sqa = sqrt(qa > 0 ? qa : 0);
  double psb, pb;
  if (ts == HFS_TS_TMU || ts == HFS_TS_TMUTILDE) {
    two_sided(ts == HFS_TS_TMUTILDE, q, qa, &psb, &pb);
  } else {
    double t;
    if (ts == HFS_TS_QTILDE && !(sq <= sqa || sqa == 0))
      t = (q - qa) / (2 * sqa);
    else
      t = sq - sqa;
    psb = Phi(-(t + sqa));
    pb = Phi(-t);
  }
  *clsb = psb;
  *clb = pb;
  *cls = pb > 0 ? psb / pb : 1.0;
}

void hfs_asymptotic_expected(hfs_teststat ts, double qa, double cls_exp[5]) {
  static const double nsig[5] = {2, 1, 0, -1, -2};
  double sqa = sqrt(qa > 0 ? qa : 0);
  for (int k = 0; k < 5; ++k) {
    double n = nsig[k];
    if (ts == HFS_TS_TMU || ts == HFS_TS_TMUTILDE) {
      /* background-only mu-hat = -n sigma gives these statistics */
      double t;
      if (ts == HFS_TS_TMUTILDE && n > 0)
        t = qa + 2 * sqa * n;
      else
        t = (sqa + n) * (sqa + n);
      double clsb, clb;
      hfs_asymptotic_pvalues(ts, t, qa, &clsb, &clb, &cls_exp[k]);
    } else {
      cls_exp[k] = Phi(-(n + sqa)) / Phi(-n);
    }
  }
}

int hfs_infer_hypotest(hfs_infer *I, hfs_teststat ts, double mu, hfs_hypotest *out) {
  int rc = HFS_OK;
  memset(out, 0, sizeof *out);
  out->mu = mu;
  out->ts = ts;
  HFS_CHECK(hfs__infer_q_pair(I, ts, mu, &out->q_obs, &out->q_asimov, out->fits));
  out->mu_hat = hfs__infer_mu_hat(I);
  hfs_asymptotic_pvalues(ts, out->q_obs, out->q_asimov, &out->clsb_obs, &out->clb_obs,
                         &out->cls_obs);
  hfs_asymptotic_expected(ts, out->q_asimov, out->cls_exp);
cleanup:
  return rc;
}

int hfs_infer_significance(hfs_infer *I, hfs_significance *out) {
  static const double nsig[5] = {2, 1, 0, -1, -2};
  int rc = HFS_OK;
  memset(out, 0, sizeof *out);
  HFS_CHECK(hfs__infer_q_pair(I, HFS_TS_Q0, 0.0, &out->q0, &out->q0_asimov, out->fits));
  out->mu_hat = hfs__infer_mu_hat(I);
  out->z = sqrt(out->q0);
  out->p0 = gsl_cdf_ugaussian_Q(out->z);
  double sqa = sqrt(out->q0_asimov);
  for (int k = 0; k < 5; ++k) {
    out->z_exp[k] = nsig[k] + sqa;
    out->p0_exp[k] = gsl_cdf_ugaussian_Q(out->z_exp[k]);
  }
cleanup:
  return rc;
}
