/* Pulls, constraints, impacts and grouped impacts against pyhf's reference
 * values (both optimizers); the properties a ranking and a scan must have
 * whatever the reference: a unit's result depends on its index only,
 * post-fit impacts of a near-linear model equal rho * sigma_mu, a
 * one-parameter group costs |rho| * sigma_mu, a scan's interval on a
 * near-Gaussian model equals the Hessian uncertainty, an asymmetric model
 * gives an asymmetric interval, the crossings lie on the level, and a POI at
 * its bound has no crossing below it. */
#include "hfs_error.h"
#include "hfs_impacts.h"
#include "hfs_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hfs_spec *spec;
  hfs_model *m;
  hfs_infer *I;
} ctx;

static void open_text(ctx *c, const char *text, hfs_optimizer opt) {
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  fo.optimizer = opt;
  memset(c, 0, sizeof *c);
  int rc = hfs_spec_read_buffer(text, strlen(text), "inline.json", &c->spec);
  if (!rc) rc = hfs_model_create(c->spec, NULL, NULL, &c->m);
  if (!rc) rc = hfs_infer_create(c->m, &fo, NULL, NULL, &c->I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void open_file(ctx *c, const char *path, hfs_optimizer opt) {
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  fo.optimizer = opt;
  memset(c, 0, sizeof *c);
  int rc = hfs_spec_read_file(path, &c->spec);
  if (!rc) rc = hfs_model_create(c->spec, NULL, NULL, &c->m);
  if (!rc) rc = hfs_infer_create(c->m, &fo, NULL, NULL, &c->I);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

static void close_ctx(ctx *c) {
  hfs_infer_destroy(&c->I);
  hfs_model_destroy(&c->m);
  hfs_spec_destroy(&c->spec);
}

static void run_ranking(hfs_ranking *r, int reverse) {
  int64_t n = hfs_ranking_nunits(r);
  for (int64_t k = 0; k < n; ++k) {
    int64_t u = reverse ? n - 1 - k : k;
    hfs_impact_fit f;
    assert_int_equal(hfs_ranking_run(r, u, &f), HFS_OK);
    assert_int_equal(hfs_ranking_store(r, u, &f), HFS_OK);
  }
  assert_int_equal(hfs_ranking_finish(r), HFS_OK);
}

static void run_scan(hfs_scan *s, const double *levels, int nlevels) {
  for (int64_t u = 0; u < hfs_scan_nunits(s); ++u) {
    hfs_impact_fit f;
    assert_int_equal(hfs_scan_run(s, u, &f), HFS_OK);
    assert_int_equal(hfs_scan_store(s, u, &f), HFS_OK);
  }
  int rc = hfs_scan_finish(s, levels, nlevels);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
}

/* ---- pyhf reference values ---- */

static const char *const cases[] = {"normsys_code4", "histosys_code4p",    "staterror_shared",
                                    "lumi",          "multichannel_all",   "shapesys_poisson",
                                    "fixed_params",  "custom_bounds_inits"};

/* 2e-3 absolute or 2% relative (reference README, "Impacts"). */
static void assert_ref(double a, double b, const char *what, const char *par, const char *cs) {
  double tol = fmax(2e-3, 0.02 * fabs(b));
  if (!(fabs(a - b) <= tol)) print_error("%s: %s: %s\n", cs, par, what);
  assert_close(a, b, tol);
}

static void check_reference(hfs_optimizer opt) {
  const char *dir = hfs_test_shared_dir();
  if (!dir) skip();
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
    char wsp[4200], refp[4200];
    snprintf(wsp, sizeof wsp, "%s/reference/%s.json", dir, cases[c]);
    snprintf(refp, sizeof refp, "%s/reference/%s.impacts.json", dir, cases[c]);
    json_error_t jerr;
    json_t *ref = json_load_file(refp, 0, &jerr);
    assert_non_null(ref);
    ctx x;
    open_file(&x, wsp, opt);
    hfs_ranking *r = NULL;
    assert_int_equal(hfs_ranking_create(x.I, &r), HFS_OK);
    assert_int_equal(hfs_ranking_free_fit(r)->status, HFS_FIT_CONVERGED);
    run_ranking(r, 0);
    int poi = hfs_model_poi(x.m);
    assert_close(hfs_ranking_free_fit(r)->theta[poi],
                 json_number_value(json_object_get(ref, "poi_hat")), 1e-3);
    json_t *list = json_object_get(ref, "ranking");
    /* The same parameters are ranked (unconstrained, fixed and the POI are
     * left out), in the same order where the keys are not within the
     * tolerance of each other. */
    assert_int_equal(hfs_ranking_nranked(r), (int)json_array_size(list));
    const int *order = hfs_ranking_order(r);
    for (size_t q = 0; q < json_array_size(list); ++q) {
      json_t *e = json_array_get(list, q);
      const char *name = json_string_value(json_object_get(e, "name"));
      const hfs_ranking_entry *mine = NULL;
      int pos = -1;
      for (int k = 0; k < hfs_ranking_nranked(r); ++k)
        if (!strcmp(hfs_ranking_entry_at(r, order[k])->name, name)) {
          mine = hfs_ranking_entry_at(r, order[k]);
          pos = k;
        }
      if (!mine) print_error("%s: %s not ranked\n", cases[c], name);
      assert_non_null(mine);
      assert_int_equal(pos, (int)q);
      assert_ref(mine->pull, json_number_value(json_object_get(e, "pull")), "pull", name, cases[c]);
      assert_ref(mine->constraint, json_number_value(json_object_get(e, "constraint")),
                 "constraint", name, cases[c]);
      for (int f = 0; f < HFS_IMPACT_NFITS; ++f) {
        char key[64];
        snprintf(key, sizeof key, "impact_%s", hfs_impact_fit_names[f]);
        assert_ref(mine->impact[f], json_number_value(json_object_get(e, key)), key, name,
                   cases[c]);
        assert_int_equal(mine->status[f], HFS_FIT_CONVERGED);
      }
    }
    assert_int_equal(hfs_ranking_nfailed(r), 0);
    hfs_ranking_destroy(&r);
    close_ctx(&x);
    json_decref(ref);
  }
}

static void test_reference_tao(void **state) {
  (void)state;
  check_reference(HFS_OPT_TAO);
}

static void test_reference_nlopt(void **state) {
  (void)state;
  check_reference(HFS_OPT_NLOPT);
}

/* ---- properties on inline models ---- */

/* Large counts and small, nearly linear systematics: a near-Gaussian
 * likelihood.  Signal strength mu around 1. */
static const char *GAUSSIAN =
    "{\"version\":\"1.0.0\",\"channels\":[{\"name\":\"SR\",\"samples\":["
    "{\"name\":\"sig\",\"data\":[300,500,400,200],\"modifiers\":["
    "{\"name\":\"mu\",\"type\":\"normfactor\",\"data\":null},"
    "{\"name\":\"sig_eff\",\"type\":\"normsys\",\"data\":{\"hi\":1.03,\"lo\":0.97}}]},"
    "{\"name\":\"bkg\",\"data\":[3000,2500,2000,1500],\"modifiers\":["
    "{\"name\":\"bkg_norm\",\"type\":\"normsys\",\"data\":{\"hi\":1.02,\"lo\":0.98}},"
    "{\"name\":\"bkg_shape\",\"type\":\"histosys\",\"data\":{\"hi_data\":[3030,2510,1990,1480],"
    "\"lo_data\":[2970,2490,2010,1520]}},"
    "{\"name\":\"gam\",\"type\":\"staterror\",\"data\":[30,25,20,15]}]}]}],"
    "\"observations\":[{\"name\":\"SR\",\"data\":[3390,2950,2420,1660]}],"
    "\"measurements\":[{\"name\":\"m\",\"config\":{\"poi\":\"mu\",\"parameters\":["
    "{\"name\":\"mu\",\"bounds\":[[-5,10]]}]}}]}";

/* Few events: a skewed likelihood. */
static const char *POISSON =
    "{\"version\":\"1.0.0\",\"channels\":[{\"name\":\"SR\",\"samples\":["
    "{\"name\":\"sig\",\"data\":[4.0],\"modifiers\":["
    "{\"name\":\"mu\",\"type\":\"normfactor\",\"data\":null}]},"
    "{\"name\":\"bkg\",\"data\":[2.0],\"modifiers\":["
    "{\"name\":\"bn\",\"type\":\"normsys\",\"data\":{\"hi\":1.2,\"lo\":0.8}}]}]}],"
    "\"observations\":[{\"name\":\"SR\",\"data\":[%s]}],"
    "\"measurements\":[{\"name\":\"m\",\"config\":{\"poi\":\"mu\",\"parameters\":["
    "{\"name\":\"mu\",\"bounds\":[[0,20]]}]}}]}";

static void test_units_depend_on_index_only(void **state) {
  (void)state;
  ctx x;
  open_text(&x, GAUSSIAN, HFS_OPT_TAO);
  hfs_ranking *a = NULL, *b = NULL;
  assert_int_equal(hfs_ranking_create(x.I, &a), HFS_OK);
  assert_int_equal(hfs_ranking_add_default_groups(a), HFS_OK);
  assert_int_equal(hfs_ranking_add_all_group(a), HFS_OK);
  run_ranking(a, 0);
  /* A second context on the same fitter, units in the opposite order,
   * after the first context's fits have left their traces in the fitter. */
  assert_int_equal(hfs_ranking_create(x.I, &b), HFS_OK);
  assert_int_equal(hfs_ranking_add_default_groups(b), HFS_OK);
  assert_int_equal(hfs_ranking_add_all_group(b), HFS_OK);
  run_ranking(b, 1);
  assert_int_equal(hfs_ranking_nunits(a), hfs_ranking_nunits(b));
  for (int64_t u = 0; u < hfs_ranking_nunits(a); ++u) {
    const hfs_impact_fit *p = hfs_ranking_unit(a, u), *q = hfs_ranking_unit(b, u);
    assert_int_equal(p->status, q->status);
    assert_int_equal(p->n_iter, q->n_iter);
    assert_int_equal(p->n_eval, q->n_eval);
    assert_memory_equal(&p->poi, &q->poi, sizeof p->poi);
    assert_memory_equal(&p->twice_nll, &q->twice_nll, sizeof p->twice_nll);
    assert_memory_equal(&p->poi_error, &q->poi_error, sizeof p->poi_error);
  }
  hfs_ranking_destroy(&a);
  hfs_ranking_destroy(&b);
  close_ctx(&x);
}

static void test_linear_model_impacts(void **state) {
  (void)state;
  ctx x;
  open_text(&x, GAUSSIAN, HFS_OPT_TAO);
  hfs_ranking *r = NULL;
  assert_int_equal(hfs_ranking_create(x.I, &r), HFS_OK);
  const hfs_fit_result *ff = hfs_ranking_free_fit(r);
  assert_int_equal(ff->status, HFS_FIT_CONVERGED);
  assert_true(ff->has_errors);
  int npar = hfs_model_npar(x.m), poi = hfs_model_poi(x.m);
  /* One group per ranked parameter: its grouped impact is |rho| sigma_mu
   * (the Schur complement of the Hessian), whatever the model. */
  for (int k = 0; k < npar; ++k) {
    if (k == poi) continue;
    char name[64];
    snprintf(name, sizeof name, "g%d", k);
    /* an exact per-bin name ("gam[2]") selects that bin only */
    assert_int_equal(hfs_ranking_add_group(r, name, hfs_model_par_name(x.m, k)), HFS_OK);
  }
  run_ranking(r, 0);
  /* Hessian errors: the grouped impact is exact in them; post-fit shifts
   * use MINUIT's convention (hfs_fit.h), within 1% of them here. */
  double smu = ff->error_hessian[poi];
  int g = 0;
  for (int k = 0; k < npar; ++k) {
    if (k == poi) continue;
    double rho = ff->corr[poi * npar + k];
    const hfs_ranking_group *G = hfs_ranking_group_at(r, g++);
    assert_int_equal(G->nmembers, 1);
    assert_close(G->impact, fabs(rho) * smu, 1e-5 * smu);
  }
  /* Post-fit impacts of a near-linear model: rho sigma_mu up, -rho
   * sigma_mu down, to a few per cent of sigma_mu. */
  for (int k = 0; k < hfs_ranking_nranked(r); ++k) {
    const hfs_ranking_entry *e = hfs_ranking_entry_at(r, k);
    double rho = ff->corr[poi * npar + e->par];
    assert_close(e->impact[HFS_IMPACT_POSTFIT_UP], rho * smu, 0.02 * smu);
    assert_close(e->impact[HFS_IMPACT_POSTFIT_DOWN], -rho * smu, 0.02 * smu);
    /* pulls of a Gaussian alpha: theta-hat itself; staterror: from 1 */
    assert_close(e->pull, (e->value - e->theta0) / e->prefit_width, 1e-12);
    assert_close(e->held_at[HFS_IMPACT_POSTFIT_UP], e->value + e->error, 1e-12);
  }
  /* the ranking is sorted by the larger post-fit impact */
  const int *order = hfs_ranking_order(r);
  for (int k = 1; k < hfs_ranking_nranked(r); ++k)
    assert_true(hfs_ranking_entry_at(r, order[k - 1])->rank_key >=
                hfs_ranking_entry_at(r, order[k])->rank_key);
  hfs_ranking_destroy(&r);
  close_ctx(&x);
}

static void test_groups(void **state) {
  (void)state;
  ctx x;
  open_text(&x, GAUSSIAN, HFS_OPT_TAO);
  hfs_ranking *r = NULL;
  assert_int_equal(hfs_ranking_create(x.I, &r), HFS_OK);
  /* a modifier name selects all its bins; an expression matches anywhere
   * in a name (grep -E); a list unites its items */
  assert_int_equal(hfs_ranking_add_group(r, "stat", "gam"), HFS_OK);
  assert_int_equal(hfs_ranking_add_group(r, "bkg", "bkg_.*"), HFS_OK);
  assert_int_equal(hfs_ranking_add_group(r, "list", "sig_eff,gam[0],gam[3]"), HFS_OK);
  assert_int_equal(hfs_ranking_add_group(r, "brace", "gam\\[[0-9]{1,2}\\]"), HFS_OK);
  assert_int_equal(hfs_ranking_add_group(r, "prefix", "^bkg"), HFS_OK);
  assert_int_equal(hfs_ranking_add_group(r, "bkg", "gam"), HFS_ERR_ARG);
  assert_int_equal(hfs_ranking_add_group(r, "none", "nothing_like_this"), HFS_ERR_ARG);
  assert_non_null(strstr(hfs_error_message(), "nothing_like_this"));
  assert_int_equal(hfs_ranking_add_group(r, "bad", "(unclosed"), HFS_ERR_ARG);
  /* the POI's name is taken literally and the POI is never a member */
  assert_int_equal(hfs_ranking_add_group(r, "poi", "mu"), HFS_ERR_ARG);
  assert_int_equal(hfs_ranking_ngroups(r), 5);
  int n[5] = {0};
  for (int g = 0; g < 5; ++g)
    for (int i = 0; i < hfs_model_npar(x.m); ++i) n[g] += hfs_ranking_group_members(r, g)[i];
  assert_int_equal(n[0], 4);
  assert_int_equal(n[1], 2);
  assert_int_equal(n[2], 3);
  assert_int_equal(n[3], 4);
  assert_int_equal(n[4], 2);
  run_ranking(r, 0);
  /* two patterns that select the same parameters cost the same */
  assert_true(hfs_ranking_group_at(r, 0)->impact > 0);
  assert_true(hfs_ranking_group_at(r, 3)->impact == hfs_ranking_group_at(r, 0)->impact);
  /* no group once units have run */
  assert_int_equal(hfs_ranking_add_group(r, "late", "sig_eff"), HFS_ERR_ARG);
  hfs_ranking_destroy(&r);
  close_ctx(&x);
}

/* 2 delta NLL of the total curve at mu by a fresh conditional fit. */
static double dnll_at(ctx *x, hfs_scan *s, double mu) {
  hfs_fit_result r;
  memset(&r, 0, sizeof r);
  assert_int_equal(hfs_fit_result_init(&r, hfs_model_npar(x->m), 0), HFS_OK);
  assert_int_equal(hfs_infer_fit_fixed_poi(x->I, mu, NULL, NULL, hfs_scan_free_fit(s)->theta, &r),
                   HFS_OK);
  double d = r.twice_nll - hfs_scan_free_fit(s)->twice_nll;
  hfs_fit_result_free(&r);
  return d;
}

static void test_scan_gaussian(void **state) {
  (void)state;
  ctx x;
  open_text(&x, GAUSSIAN, HFS_OPT_TAO);
  hfs_scan *s = NULL;
  assert_int_equal(hfs_scan_create(x.I, 0, 0, 0, &s), HFS_OK);
  assert_int_equal(hfs_scan_npoints(s), 31);
  double lv[2] = {1.0, 3.84};
  run_scan(s, lv, 2);
  int poi = hfs_model_poi(x.m);
  double smu = hfs_scan_free_fit(s)->error_hessian[poi];
  const hfs_scan_interval *one = hfs_scan_interval_at(s, 0), *two = hfs_scan_interval_at(s, 1);
  const hfs_scan_crossing *t = &one->curve[HFS_SCAN_TOTAL], *st = &one->curve[HFS_SCAN_STAT];
  /* profile interval = Hessian uncertainty on a near-Gaussian model */
  assert_close(t->dn, smu, 0.02 * smu);
  assert_close(t->up, smu, 0.02 * smu);
  assert_close(two->curve[HFS_SCAN_TOTAL].up, sqrt(3.84) * smu, 0.04 * smu);
  /* the crossings lie on the level */
  assert_close(dnll_at(&x, s, t->lo), 1.0, 1e-5);
  assert_close(dnll_at(&x, s, t->hi), 1.0, 1e-5);
  /* stat only: every nuisance parameter held, so narrower; the split adds
   * up in quadrature */
  assert_true(st->dn < t->dn && st->up < t->up);
  assert_close(one->syst_dn * one->syst_dn + st->dn * st->dn, t->dn * t->dn, 1e-12);
  assert_close(one->syst_up * one->syst_up + st->up * st->up, t->up * t->up, 1e-12);
  assert_false(t->lo_at_bound || t->hi_at_bound);
  assert_int_equal(hfs_scan_nfailed(s), 0);
  hfs_scan_destroy(&s);
  close_ctx(&x);
}

static void test_scan_asymmetric(void **state) {
  (void)state;
  char ws[4096];
  snprintf(ws, sizeof ws, POISSON, "7");
  ctx x;
  open_text(&x, ws, HFS_OPT_TAO);
  hfs_scan *s = NULL;
  /* A coarse grid that never reaches the level above mu-hat: the
   * search steps out from the grid by itself. */
  assert_int_equal(hfs_scan_create(x.I, 0.5, 1.5, 3, &s), HFS_OK);
  double lv[1] = {1.0};
  run_scan(s, lv, 1);
  const hfs_scan_crossing *t = &hfs_scan_interval_at(s, 0)->curve[HFS_SCAN_TOTAL];
  assert_close(hfs_scan_free_fit(s)->theta[hfs_model_poi(x.m)], 1.25, 1e-3);
  /* a Poisson likelihood: longer tail upwards */
  assert_true(t->up > 1.15 * t->dn);
  assert_true(t->nfits > 0);
  assert_close(dnll_at(&x, s, t->lo), 1.0, 1e-5);
  assert_close(dnll_at(&x, s, t->hi), 1.0, 1e-5);
  hfs_scan_destroy(&s);
  close_ctx(&x);
}

static void test_scan_poi_at_bound(void **state) {
  (void)state;
  char ws[4096];
  snprintf(ws, sizeof ws, POISSON, "1");
  ctx x;
  open_text(&x, ws, HFS_OPT_TAO);
  hfs_scan *s = NULL;
  assert_int_equal(hfs_scan_create(x.I, 0, 3, 7, &s), HFS_OK);
  double lv[1] = {1.0};
  run_scan(s, lv, 1);
  const hfs_scan_crossing *t = &hfs_scan_interval_at(s, 0)->curve[HFS_SCAN_TOTAL];
  assert_close(hfs_scan_free_fit(s)->theta[hfs_model_poi(x.m)], 0, 1e-6);
  assert_true(t->lo_at_bound);
  assert_true(isnan(t->lo) && isnan(t->dn));
  assert_false(t->hi_at_bound);
  assert_true(t->hi > 0);
  hfs_scan_destroy(&s);
  /* a grid outside the POI's bounds is refused */
  assert_int_equal(hfs_scan_create(x.I, -1, 3, 7, &s), HFS_ERR_ARG);
  assert_null(s);
  close_ctx(&x);
}

static void test_misuse(void **state) {
  (void)state;
  ctx x;
  open_text(&x, GAUSSIAN, HFS_OPT_TAO);
  hfs_ranking *r = NULL;
  assert_int_equal(hfs_ranking_create(x.I, &r), HFS_OK);
  hfs_impact_fit f;
  assert_int_equal(hfs_ranking_run(r, hfs_ranking_nunits(r), &f), HFS_ERR_ARG);
  assert_int_equal(hfs_ranking_finish(r), HFS_ERR_ARG); /* units missing */
  assert_null(hfs_ranking_order(r));
  assert_null(hfs_ranking_unit(r, 0));
  hfs_ranking_destroy(&r);
  hfs_ranking_destroy(&r); /* NULL-safe */
  close_ctx(&x);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_units_depend_on_index_only),
      cmocka_unit_test(test_linear_model_impacts),
      cmocka_unit_test(test_groups),
      cmocka_unit_test(test_scan_gaussian),
      cmocka_unit_test(test_scan_asymmetric),
      cmocka_unit_test(test_scan_poi_at_bound),
      cmocka_unit_test(test_misuse),
      cmocka_unit_test(test_reference_tao),
      cmocka_unit_test(test_reference_nlopt),
  };
  if (hfs_fit_library_init(&argc, &argv)) return 1;
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hfs_fit_library_finalize();
  return failed;
}
