/* The compiled model (issue 15) against the evaluation it replaced
 * (reference_eval.c): twice_nll, gradient and Hessian agree to 1e-12
 * relative on every reference workspace and every published likelihood in
 * ../shared (with signal patches), at the initial point, at points away
 * from it (|alpha| > 1 included) and at mu = 0. */
#include "reference_eval.h"
#include "hfs_model.h"
#include "hfs_test.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define TOL 1e-12

static double worst_f, worst_g, worst_h;

/* Points: 0 init, 1 and 2 shifted (2 beyond |alpha| = 1), 3 init with the
 * POI at 0, 4 shifted with the POI at 0. */
static void point(const hfs_model *m, double *th, int variant) {
  int n = hfs_model_npar(m);
  hfs_model_init(m, th);
  if (variant == 0) return;
  for (int i = 0; i < n && variant != 3; ++i) {
    double lo = hfs_model_par_lo(m, i), hi = hfs_model_par_hi(m, i);
    double s = 0.11 * ((i * 7 + variant * 3) % 5 - 2);
    hfs_modtype t = hfs_model_par_type(m, i);
    double x = (t == HFS_MOD_NORMSYS || t == HFS_MOD_HISTOSYS)
                   ? (variant == 2 ? 1.4 * (i % 2 ? 1 : -1) : 3 * s + 0.05)
                   : th[i] * (1 + 0.3 * s);
    th[i] = x < lo ? lo : x > hi ? hi : x;
  }
  if (variant >= 3) th[hfs_model_poi(m)] = 0;
}

static void compare(hfs_model *m, const char *label) {
  int n = hfs_model_npar(m);
  const double *obs = hfs_model_observed(m), *aux = hfs_model_auxdata(m);
  double *th = calloc(n, sizeof *th), *g = calloc(n, sizeof *g), *gr = calloc(n, sizeof *gr);
  double *H = calloc((size_t)n * n, sizeof *H), *Hr = calloc((size_t)n * n, sizeof *Hr);
  ref_init(m);
  for (int v = 0; v < 5; ++v) {
    point(m, th, v);
    double fr = ref_twice_nll(m, obs, aux, th, gr);
    double f = hfs_model_twice_nll(m, obs, aux, th, g);
    if (!isfinite(fr)) {
      assert_false(isfinite(f));
      continue;
    }
    double f0 = hfs_model_twice_nll(m, obs, aux, th, NULL);
    assert_close(f, fr, TOL * fmax(1, fabs(fr)));
    assert_close(f0, fr, TOL * fmax(1, fabs(fr)));
    worst_f = fmax(worst_f, fabs(f - fr) / fmax(1, fabs(fr)));
    int rr = ref_hessian(m, obs, aux, th, Hr), rc = hfs_model_hessian(m, obs, aux, th, H);
    assert_int_equal(rc, rr);
    /* the largest curvature: a floor for entries that cancel to nearly 0 */
    double hmax = 0;
    for (int i = 0; i < n; ++i) hmax = fmax(hmax, fabs(Hr[(size_t)i * n + i]));
    for (int i = 0; i < n; ++i) {
      /* an entry's scale: itself, or the curvatures of its parameters
       * where it is a small difference of large terms */
      double si = sqrt(fabs(Hr[(size_t)i * n + i]));
      double e = fabs(g[i] - gr[i]) / (fabs(gr[i]) + si);
      worst_g = fmax(worst_g, e);
      if (e > TOL) print_error("%s point %d: gradient %s\n", label, v, hfs_model_par_name(m, i));
      assert_true(e <= TOL);
      for (int k = 0; k < n; ++k) {
        double hr = Hr[(size_t)i * n + k], h = H[(size_t)i * n + k];
        double sk = sqrt(fabs(Hr[(size_t)k * n + k]));
        double eh = fabs(h - hr) / (fabs(hr) + si * sk + 1e-6 * hmax);
        worst_h = fmax(worst_h, eh);
        if (eh > TOL)
          print_error("%s point %d: H[%s][%s] = %.17g, reference %.17g\n", label, v,
                      hfs_model_par_name(m, i), hfs_model_par_name(m, k), h, hr);
        assert_true(eh <= TOL);
      }
    }
  }
  ref_free();
  free(th);
  free(g);
  free(gr);
  free(H);
  free(Hr);
}

static void compare_file(const char *ws, const char *const *patches, int np,
                         const hfs_model_options *o, const char *label) {
  hfs_spec *spec = NULL;
  hfs_model *m = NULL;
  int rc = hfs_spec_read_file_patched(ws, patches, np, &spec);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  rc = hfs_model_create(spec, NULL, o, &m);
  if (rc) print_error("%s\n", hfs_error_message());
  assert_int_equal(rc, HFS_OK);
  compare(m, label);
  hfs_model_destroy(&m);
  hfs_spec_destroy(&spec);
}

static void test_reference_workspaces(void **state) {
  const char *shared = *state;
  char dir[1024], ws[1400];
  snprintf(dir, sizeof dir, "%s/reference", shared);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int count = 0;
  const hfs_model_options codes[] = {{4, 4}, {0, 0}, {1, 2}, {2, 4}};
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 9 || strcmp(e->d_name + l - 9, ".ref.json") != 0) continue;
    snprintf(ws, sizeof ws, "%s/%.*s.json", dir, (int)(l - 9), e->d_name);
    for (int c = 0; c < 4; ++c) compare_file(ws, NULL, 0, &codes[c], e->d_name);
    ++count;
  }
  closedir(d);
  assert_true(count >= 25);
}

/* One patch of a pyhf patchset (gzip) written as a JSON Patch file. */
static void patchset_entry(const char *patchset, const char *name, const char *out) {
  gzFile z = gzopen(patchset, "rb");
  assert_non_null(z);
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  int r;
  while ((r = gzread(z, buf + len, (unsigned)(cap - len))) > 0) {
    len += (size_t)r;
    if (len == cap) buf = realloc(buf, cap *= 2);
  }
  gzclose(z);
  json_error_t err;
  json_t *ps = json_loadb(buf, len, 0, &err);
  free(buf);
  assert_non_null(ps);
  json_t *patches = json_object_get(ps, "patches"), *found = NULL, *p;
  size_t i;
  json_array_foreach(patches, i, p) {
    const char *nm = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
    if (nm && strcmp(nm, name) == 0) found = json_object_get(p, "patch");
  }
  assert_non_null(found);
  assert_int_equal(json_dump_file(found, out, 0), 0);
  json_decref(ps);
}

static void test_published(void **state) {
  const char *shared = *state;
  char ws[1200], pa[1200], tmp[] = "/tmp/hfs_test_compiled_XXXXXX";
  const char *pp[1] = {pa};
  snprintf(ws, sizeof ws, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json", shared);
  compare_file(ws, NULL, 0, NULL, "belle2");
  const char *sb[][2] = {{"RegionA", "sbottom_1300_205_60"},
                         {"RegionB", "sbottom_1400_550_60"},
                         {"RegionC", "sbottom_1600_850_60"}};
  for (int k = 0; k < 3; ++k) {
    snprintf(ws, sizeof ws, "%s/workspaces/atlas_sbottom_multib_ins1748602/%s/BkgOnly.json", shared,
             sb[k][0]);
    snprintf(pa, sizeof pa, "%s/workspaces/atlas_sbottom_multib_ins1748602/%s/patch.%s.json.gz",
             shared, sb[k][0], sb[k][1]);
    compare_file(ws, pp, 1, NULL, sb[k][1]);
  }
  snprintf(ws, sizeof ws, "%s/workspaces/atlas_ewk3l_erjr/BkgOnly.json", shared);
  snprintf(pa, sizeof pa, "%s/workspaces/atlas_ewk3l_erjr/patches/patch.ERJR_100p0_20p0.json.gz",
           shared);
  compare_file(ws, pp, 1, NULL, "ERJR_100p0_20p0");
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  close(fd);
  snprintf(ws, sizeof ws, "%s/workspaces/atlas_1Lbb_ins1755298/patchset.json.gz", shared);
  patchset_entry(ws, "C1N2_Wh_hbb_700_150", tmp);
  snprintf(ws, sizeof ws, "%s/workspaces/atlas_1Lbb_ins1755298/BkgOnly.json", shared);
  snprintf(pa, sizeof pa, "%s", tmp);
  compare_file(ws, pp, 1, NULL, "C1N2_Wh_hbb_700_150");
  unlink(tmp);
  printf("  worst relative differences: twice_nll %.2g, gradient %.2g, Hessian %.2g\n", worst_f,
         worst_g, worst_h);
}

int main(void) {
  const char *shared = hfs_test_shared_dir();
  if (!shared) return hfs_test_skip("compiled-model comparisons");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(test_reference_workspaces, (void *)shared),
      cmocka_unit_test_prestate(test_published, (void *)shared),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
