/* Nuisance-parameter impacts, pulls and constraints, grouped impacts, and
 * profile-likelihood scans of the POI with their crossings and stat/syst
 * split (docs/ranking.md).
 *
 * Both calculations are cut into work units so that a scheduler can spread
 * them over processes: a unit is an index, and running a unit is one fit
 * whose result depends on that index only.  Every fit of a unit starts from
 * the best-fit point of the free fit (computed when the context is created,
 * the same way on every process), never from another unit's result, so the
 * results do not depend on which process ran which unit or in which order.
 *
 *   context created (free fit with uncertainties)  -- every process
 *   hfs_*_run(unit)                                -- any process
 *   hfs_*_store(unit, result)                      -- the collecting process
 *   hfs_*_finish()                                 -- the collecting process
 *
 * Pure computation: no MPI, no I/O.  A context keeps pointers to the
 * inference context it was created from, which must outlive it; one context
 * serves one thread.  A fit that does not converge is kept with its status
 * in the unit's record; functions fail (non-zero) only for misuse, a bad
 * argument or a library error. */
#ifndef HFS_IMPACTS_H
#define HFS_IMPACTS_H

#include "hfs_infer.h"

#include <stdint.h>

/* Result of one unit: one fit with one or more parameters held.  Fixed
 * size and plain data, so it can travel between processes as bytes. */
typedef struct {
  int32_t status; /* hfs_fit_status */
  int32_t n_iter;
  int32_t n_eval;
  int32_t cov_status; /* hfs_cov_status of a fit with errors (group
                         units), HFS_COV_NONE otherwise */
  double value;       /* where the held parameter was set (impacts: the
                         shifted nuisance parameter; scans: the POI) */
  double poi;         /* POI at the minimum */
  double poi_error;   /* group units: Hessian uncertainty of the POI
                         (error_hessian) with the group held; NaN otherwise */
  double twice_nll;
  double time_s; /* wall time of the fit (informational) */
} hfs_impact_fit;

/* ---- Ranking: pulls, constraints, impacts, grouped impacts ---- */

/* The four fits of one nuisance parameter, in unit order. */
enum {
  HFS_IMPACT_PREFIT_UP = 0, /* held at theta-hat + prefit width */
  HFS_IMPACT_PREFIT_DOWN,   /* theta-hat - prefit width */
  HFS_IMPACT_POSTFIT_UP,    /* theta-hat + sigma-hat */
  HFS_IMPACT_POSTFIT_DOWN,  /* theta-hat - sigma-hat */
  HFS_IMPACT_NFITS
};
extern const char *const hfs_impact_fit_names[HFS_IMPACT_NFITS];

typedef struct hfs_ranking hfs_ranking;

/* One ranked nuisance parameter after hfs_ranking_finish(). */
typedef struct {
  int par;                          /* index in the model */
  const char *name;                 /* owned by the model */
  double theta0;                    /* initial value: pulls are measured from it */
  double prefit_width;              /* in the parameter's own convention */
  double value, error;              /* free fit: theta-hat and sigma-hat (MINUIT's
                                       convention, as pyhf reports it; hfs_fit.h) */
  double pull;                      /* (theta-hat - theta0) / prefit width */
  double constraint;                /* sigma-hat / prefit width */
  double held_at[HFS_IMPACT_NFITS]; /* shifted values, clipped to bounds */
  double impact[HFS_IMPACT_NFITS];  /* mu-hat(held) - mu-hat */
  int status[HFS_IMPACT_NFITS];     /* hfs_fit_status of each fit */
  double rank_key;                  /* max(|postfit up|, |postfit down|) */
  int nfailed;                      /* fits of this parameter not converged */
} hfs_ranking_entry;

/* One group after hfs_ranking_finish(). */
typedef struct {
  const char *name;
  const char *pattern;
  int nmembers;
  double poi_error; /* sigma_mu (Hessian) with the group held at
                       its best-fit values */
  double impact;    /* sqrt(sigma_mu^2 - poi_error^2) with the free
                       fit's Hessian sigma_mu, >= 0 */
  int status;       /* hfs_fit_status of the group's fit */
} hfs_ranking_group;

/* Collective in the sense of "every process calls it the same way": fits
 * the model freely (with uncertainties) and lists the ranked parameters:
 * every constrained parameter in the model's order (per-bin parameters
 * one by one), except the POI and held parameters.  A free fit that does not
 * converge is kept (see hfs_ranking_free_fit). */
int hfs_ranking_create(hfs_infer *I, hfs_ranking **out);
void hfs_ranking_destroy(hfs_ranking **r);

/* Add a group (before any unit is run or stored).  pattern is a
 * comma-separated list of items (commas inside [], {} or () belong to the
 * item).  An item that equals the name of a parameter ("gam[2]") or of a
 * modifier ("gam": all of its bins) selects exactly that; any other item is
 * a POSIX extended regular expression that selects the parameters whose
 * names, or the names of whose modifiers, it matches anywhere, as grep -E
 * does ("^norm_", "_err$" for every bin of "sgn_err").  Members
 * are the free parameters other than the POI, constrained or not.
 * HFS_ERR_ARG for a bad expression, an item that selects nothing or a
 * duplicate group name. */
int hfs_ranking_add_group(hfs_ranking *r, const char *name, const char *pattern);
/* One group per kind of modifier present among the free parameters
 * (normsys, histosys, lumi, staterror, shapesys, normfactor, shapefactor). */
int hfs_ranking_add_default_groups(hfs_ranking *r);
/* The group "all": every free parameter except the POI (statistical-only
 * uncertainty of the POI by the Hessian); not added when there is none. */
int hfs_ranking_add_all_group(hfs_ranking *r);

const hfs_fit_result *hfs_ranking_free_fit(const hfs_ranking *r);
int hfs_ranking_nranked(const hfs_ranking *r);
int hfs_ranking_ngroups(const hfs_ranking *r);
/* Membership of group g: npar flags (owned by the context). */
const int *hfs_ranking_group_members(const hfs_ranking *r, int g);

/* Units: 4 per ranked parameter (unit 4k + HFS_IMPACT_*), then one per
 * group. */
int64_t hfs_ranking_nunits(const hfs_ranking *r);
/* Describe unit u: ranked parameter k and fit kind, or group g (the other
 * set to -1). */
void hfs_ranking_unit_info(const hfs_ranking *r, int64_t u, int *k, int *kind, int *g);
/* Run unit u: one fit, warm-started from the free fit.  Depends on u only. */
int hfs_ranking_run(hfs_ranking *r, int64_t u, hfs_impact_fit *out);
/* Keep a unit's result (the collecting process). */
int hfs_ranking_store(hfs_ranking *r, int64_t u, const hfs_impact_fit *res);
/* Stored result of unit u, or NULL if not stored yet. */
const hfs_impact_fit *hfs_ranking_unit(const hfs_ranking *r, int64_t u);
int64_t hfs_ranking_ndone(const hfs_ranking *r);

/* Derive pulls, impacts, the order and the grouped impacts from the stored
 * units; HFS_ERR_ARG unless every unit is stored. */
int hfs_ranking_finish(hfs_ranking *r);
/* After finish: entry k in model order, and the ranking (indices of
 * entries sorted by decreasing rank_key; ties and NaN keys keep model order,
 * NaN last). */
const hfs_ranking_entry *hfs_ranking_entry_at(const hfs_ranking *r, int k);
const int *hfs_ranking_order(const hfs_ranking *r);
const hfs_ranking_group *hfs_ranking_group_at(const hfs_ranking *r, int g);
/* Fits that did not converge, over the free fit and all units. */
int hfs_ranking_nfailed(const hfs_ranking *r);
/* Converged fits whose covariance had to be made positive definite
 * (HFS_COV_MADE_POSDEF): the free fit and the group units.  They count as
 * converged; their uncertainties are indicative only. */
int hfs_ranking_nposdef(const hfs_ranking *r);

/* ---- Profile-likelihood scan of the POI ---- */

typedef struct hfs_scan hfs_scan;

/* The two curves of a scan: nuisance parameters profiled, or held at their
 * best-fit values (statistical only). */
enum { HFS_SCAN_TOTAL = 0, HFS_SCAN_STAT = 1, HFS_SCAN_NCURVES };
extern const char *const hfs_scan_curve_names[HFS_SCAN_NCURVES];

/* Fits the model freely (with uncertainties) and sets the grid: n points
 * from lo to hi inside the POI's bounds, or, with n == 0, 31 points over
 * mu-hat +- 3 sigma (Hessian error) clipped to the bounds. */
int hfs_scan_create(hfs_infer *I, double lo, double hi, int n, hfs_scan **out);
void hfs_scan_destroy(hfs_scan **s);

const hfs_fit_result *hfs_scan_free_fit(const hfs_scan *s);
int hfs_scan_npoints(const hfs_scan *s);
const double *hfs_scan_grid(const hfs_scan *s);

/* Units: curve c, point k is unit c * npoints + k. */
int64_t hfs_scan_nunits(const hfs_scan *s);
int hfs_scan_run(hfs_scan *s, int64_t u, hfs_impact_fit *out);
int hfs_scan_store(hfs_scan *s, int64_t u, const hfs_impact_fit *res);
/* A unit's fit: after hfs_scan_finish() the total curve's points are the
 * lower of the unit and its continuation from the neighbouring point
 * (hfs_scan_nrepairs); hfs_scan_raw_unit() is the unit as run, which is
 * what a checkpoint keeps. */
const hfs_impact_fit *hfs_scan_unit(const hfs_scan *s, int64_t u);
const hfs_impact_fit *hfs_scan_raw_unit(const hfs_scan *s, int64_t u);
int64_t hfs_scan_ndone(const hfs_scan *s);

/* Crossings of one level by one curve. */
typedef struct {
  double lo, hi;                /* where 2 delta NLL = level; NaN when the curve
                                   stays below it up to the POI's bound */
  double dn, up;                /* mu-hat - lo, hi - mu-hat (>= 0; NaN as above) */
  int lo_at_bound, hi_at_bound; /* 1 when that crossing does not exist */
  int nfits;                    /* extra fits of the root searches */
  int nfailed;                  /* of those, and of the grid points used, not
                                   converged */
} hfs_scan_crossing;

typedef struct {
  double level;
  hfs_scan_crossing curve[HFS_SCAN_NCURVES];
  double syst_dn, syst_up; /* sqrt(total^2 - stat^2) per side, >= 0 */
} hfs_scan_interval;

/* Find the crossings of each level (2 delta NLL, e.g. 1 and 3.84) by both
 * curves by root finding (Brent), bracketed by the grid and otherwise by
 * steps of the Hessian uncertainty; runs extra fits in this process.  Needs
 * every unit stored.  At most 8 levels. */
int hfs_scan_finish(hfs_scan *s, const double *levels, int nlevels);
int hfs_scan_nintervals(const hfs_scan *s);
const hfs_scan_interval *hfs_scan_interval_at(const hfs_scan *s, int i);
/* The extra fits of the root searches (curve and fit), in the order made. */
int hfs_scan_nextra(const hfs_scan *s);
void hfs_scan_extra_at(const hfs_scan *s, int i, int *curve, const hfs_impact_fit **fit);
/* 2 delta NLL of a stored or extra fit: twice_nll - twice_nll(free fit). */
double hfs_scan_dnll(const hfs_scan *s, const hfs_impact_fit *f);
/* Fits that did not converge: free fit, grid, extra fits. */
int hfs_scan_nfailed(const hfs_scan *s);
/* Points of the total curve whose continuation from the neighbouring
 * point's minimum reached a lower minimum than the unit (with the
 * global-minimum search on for the observed data; 0 otherwise). */
int hfs_scan_nrepairs(const hfs_scan *s);
/* The free fit when its covariance was made positive definite (1), else 0:
 * the grid's width then rests on an indicative uncertainty. */
int hfs_scan_nposdef(const hfs_scan *s);

#endif
