/* Real workspaces from ../shared: the pyhf reference cases (checked against
 * the model summary pyhf wrote beside each of them) and three published
 * likelihoods. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hfs_error.h"
#include "hfs_workspace.h"
#include "hfs_test.h"

static const char *shared;

static hfs_spec *read_ok(const char *path) {
  hfs_spec *s = NULL;
  int rc = hfs_spec_read_file(path, &s);
  if (rc != HFS_OK) {
    print_error("%s: status %d: %s\n", path, rc, hfs_error_message());
    fail();
  }
  assert_non_null(s);
  return s;
}

static int ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

static const hfs_spec_channel *find_channel(const hfs_spec *s, const char *name) {
  for (int c = 0; c < s->nchannels; c++)
    if (strcmp(s->channels[c].name, name) == 0) return &s->channels[c];
  return NULL;
}

/* Compare what the reader found with NAME.ref.json's "model" block: the
 * channels and their bin counts, the total number of main bins and the
 * (alphabetical) list of sample names. */
static void check_against_ref(const hfs_spec *s, const char *refpath) {
  json_error_t err;
  json_t *ref = json_load_file(refpath, 0, &err);
  if (!ref) {
    print_error("%s: %s\n", refpath, err.text);
    fail();
  }
  json_t *model = json_object_get(ref, "model");
  json_t *chans = json_object_get(model, "channels");
  assert_non_null(chans);
  assert_int_equal(json_array_size(chans), (size_t)s->nchannels);
  int total = 0;
  for (size_t i = 0; i < json_array_size(chans); i++) {
    json_t *c = json_array_get(chans, i);
    const hfs_spec_channel *ch = find_channel(s, json_string_value(json_object_get(c, "name")));
    assert_non_null(ch);
    assert_int_equal(ch->nbins, json_integer_value(json_object_get(c, "nbins")));
    total += ch->nbins;
    const hfs_spec_observation *ob = hfs_spec_observation_find(s, ch->name);
    assert_non_null(ob);
    assert_int_equal(ob->nbins, ch->nbins);
  }
  assert_int_equal(total, json_integer_value(json_object_get(model, "nmaindata")));

  json_t *samples = json_object_get(model, "samples");
  for (size_t i = 0; i < json_array_size(samples); i++) {
    const char *name = json_string_value(json_array_get(samples, i));
    int found = 0;
    for (int c = 0; c < s->nchannels && !found; c++)
      for (int k = 0; k < s->channels[c].nsamples; k++)
        if (strcmp(s->channels[c].samples[k].name, name) == 0) found = 1;
    if (!found) {
      print_error("%s: sample %s not read\n", refpath, name);
      fail();
    }
  }
  /* The reference is for the first measurement. */
  const char *meas = json_string_value(json_object_get(model, "measurement"));
  assert_non_null(meas);
  assert_string_equal(s->meas[0].name, meas);
  assert_ptr_equal(hfs_spec_measurement_find(s, meas), &s->meas[0]);
  assert_string_equal(s->meas[0].poi, json_string_value(json_object_get(model, "poi")));
  json_decref(ref);
}

static void test_reference_cases(void **state) {
  (void)state;
  char dir[4200], path[8400], refpath[8400];
  snprintf(dir, sizeof dir, "%s/reference", shared);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    /* NAME.ref.json and NAME.impacts.json are pyhf's results, not
     * workspaces. */
    if (!ends_with(e->d_name, ".json") || ends_with(e->d_name, ".ref.json") ||
        ends_with(e->d_name, ".impacts.json"))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    hfs_spec *s = read_ok(path);
    snprintf(refpath, sizeof refpath, "%.*s.ref.json", (int)(strlen(path) - 5), path);
    if (access(refpath, R_OK) == 0) check_against_ref(s, refpath);
    hfs_spec_destroy(&s);
    n++;
  }
  closedir(d);
  print_message("read %d reference workspaces\n", n);
  assert_true(n >= 25);
}

static void count_modifiers(const hfs_spec *s, int counts[HFS_MOD_NTYPES]) {
  memset(counts, 0, sizeof(int) * HFS_MOD_NTYPES);
  for (int c = 0; c < s->nchannels; c++)
    for (int k = 0; k < s->channels[c].nsamples; k++)
      for (int m = 0; m < s->channels[c].samples[k].nmods; m++)
        counts[s->channels[c].samples[k].mods[m].type]++;
}

static int total_bins(const hfs_spec *s) {
  int n = 0;
  for (int c = 0; c < s->nchannels; c++) n += s->channels[c].nbins;
  return n;
}

static void test_belle2(void **state) {
  (void)state;
  char path[4200];
  snprintf(path, sizeof path, "%s/workspaces/belle2_knunu_2023/combined_likelihood.json", shared);
  hfs_spec *s = read_ok(path);
  assert_int_equal(s->nchannels, 5);
  assert_int_equal(total_bins(s), 30);
  assert_int_equal(s->nobs, 5);
  static const int bins[5] = {9, 3, 9, 3, 6}, samples[5] = {8, 8, 5, 5, 4};
  for (int c = 0; c < 5; c++) {
    assert_int_equal(s->channels[c].nbins, bins[c]);
    assert_int_equal(s->channels[c].nsamples, samples[c]);
  }
  assert_string_equal(s->channels[4].name, "sgn1_had");
  assert_string_equal(s->channels[4].samples[3].path, "channels[4].samples[3]");
  int counts[HFS_MOD_NTYPES];
  count_modifiers(s, counts);
  assert_int_equal(counts[HFS_MOD_HISTOSYS], 403);
  assert_int_equal(counts[HFS_MOD_STATERROR], 30);
  assert_int_equal(counts[HFS_MOD_NORMSYS], 30);
  assert_int_equal(counts[HFS_MOD_NORMFACTOR], 3);
  assert_int_equal(s->nmeas, 1);
  assert_string_equal(s->meas[0].name, "Measurement");
  assert_string_equal(s->meas[0].poi, "mu");
  assert_int_equal(s->meas[0].nparams, 0);
  hfs_spec_destroy(&s);
}

static void test_atlas_sbottom_region_a(void **state) {
  (void)state;
  char path[4200];
  snprintf(path, sizeof path, "%s/workspaces/atlas_sbottom_multib_ins1748602/RegionA/BkgOnly.json",
           shared);
  hfs_spec *s = read_ok(path);
  assert_int_equal(s->nchannels, 3);
  assert_int_equal(total_bins(s), 9);
  for (int c = 0; c < 3; c++) {
    assert_int_equal(s->channels[c].nbins, 3);
    assert_int_equal(s->channels[c].nsamples, 8);
  }
  assert_non_null(find_channel(s, "SR_meff"));
  assert_non_null(find_channel(s, "CRtt_meff"));
  assert_non_null(find_channel(s, "VRtt_meff"));
  assert_non_null(hfs_spec_measurement_find(s, "NormalMeasurement"));
  assert_string_equal(s->meas[0].poi, "mu_SIG");
  int counts[HFS_MOD_NTYPES];
  count_modifiers(s, counts);
  assert_true(counts[HFS_MOD_LUMI] > 0);
  assert_true(counts[HFS_MOD_STATERROR] > 0);
  assert_true(counts[HFS_MOD_HISTOSYS] > 0);
  assert_true(counts[HFS_MOD_NORMSYS] > 0);
  assert_true(counts[HFS_MOD_NORMFACTOR] > 0);
  hfs_spec_destroy(&s);
}

static void test_atlas_ewk3l_bkgonly(void **state) {
  (void)state;
  char path[4200];
  snprintf(path, sizeof path, "%s/workspaces/atlas_ewk3l_erjr/BkgOnly.json", shared);
  hfs_spec *s = read_ok(path);
  assert_int_equal(s->nchannels, 4);
  assert_int_equal(total_bins(s), 4);
  for (int c = 0; c < 4; c++) {
    assert_int_equal(s->channels[c].nbins, 1);
    /* diboson3LISR and diboson3LLow each appear in two of the channels. */
    assert_int_equal(s->channels[c].nsamples, 5);
  }
  assert_string_equal(s->channels[0].name, "CRlow_cuts");
  assert_string_equal(s->channels[3].name, "SRISR_cuts");
  assert_int_equal(s->nobs, 4);
  int counts[HFS_MOD_NTYPES];
  count_modifiers(s, counts);
  assert_true(counts[HFS_MOD_SHAPESYS] > 0);
  /* The measurement lists mu_BG although no modifier uses it: structurally
   * fine, the model compiler decides. */
  int has_mu_bg = 0;
  for (int p = 0; p < s->meas[0].nparams; p++)
    if (strcmp(s->meas[0].params[p].name, "mu_BG") == 0)
      has_mu_bg = s->meas[0].params[p].has_fixed && s->meas[0].params[p].fixed;
  assert_true(has_mu_bg);
  hfs_spec_destroy(&s);
}

/* gunzip a file into a temporary one; the caller unlinks it. */
static void gunzip_to(const char *gz, char *tmp) {
  char cmd[8400], buf[65536];
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  FILE *out = fdopen(fd, "wb");
  assert_non_null(out);
  snprintf(cmd, sizeof cmd, "gunzip -c '%s'", gz);
  FILE *in = popen(cmd, "r");
  assert_non_null(in);
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, got, out), got);
  assert_int_equal(pclose(in), 0);
  assert_int_equal(fclose(out), 0);
}

static void test_atlas_ewk3l_fixed_string(void **state) {
  (void)state;
  char gz[4200], tmp[] = "/tmp/hfs_spec_erjrXXXXXX";
  snprintf(gz, sizeof gz,
           "%s/workspaces/atlas_ewk3l_erjr/signal_workspaces/"
           "ERJR_300p0_100p0.json.gz",
           shared);
  gunzip_to(gz, tmp);
  hfs_spec *s = NULL;
  int rc = hfs_spec_read_file(tmp, &s);
  unlink(tmp);
  assert_int_equal(rc, HFS_ERR_SCHEMA);
  assert_null(s);
  const char *msg = hfs_error_message();
  if (!strstr(msg,
              ": measurements[0].config.parameters[0].fixed: expected a "
              "boolean, got string")) {
    print_error("unexpected message: %s\n", msg);
    fail();
  }
  assert_non_null(strstr(msg, tmp));

  /* A sibling point written correctly reads fine. */
  char tmp2[] = "/tmp/hfs_spec_erjrXXXXXX";
  snprintf(gz, sizeof gz,
           "%s/workspaces/atlas_ewk3l_erjr/signal_workspaces/"
           "ERJR_250_50.json.gz",
           shared);
  gunzip_to(gz, tmp2);
  rc = hfs_spec_read_file(tmp2, &s);
  unlink(tmp2);
  if (rc != HFS_OK) {
    print_error("ERJR_250_50: %s\n", hfs_error_message());
    fail();
  }
  assert_int_equal(s->nchannels, 4);
  /* One signal sample added to each channel's five backgrounds. */
  assert_int_equal(s->channels[0].nsamples, 6);
  hfs_spec_destroy(&s);
}

/* Every shipped signal workspace of the 3L analysis reads, except the one
 * with the string-valued "fixed". */
static void test_atlas_ewk3l_all_signal_points(void **state) {
  (void)state;
  char dir[4200], gz[8400];
  snprintf(dir, sizeof dir, "%s/workspaces/atlas_ewk3l_erjr/signal_workspaces", shared);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int nok = 0, nbad = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!ends_with(e->d_name, ".json.gz")) continue;
    char tmp[] = "/tmp/hfs_spec_erjrXXXXXX";
    snprintf(gz, sizeof gz, "%s/%s", dir, e->d_name);
    gunzip_to(gz, tmp);
    hfs_spec *s = NULL;
    int rc = hfs_spec_read_file(tmp, &s);
    unlink(tmp);
    if (rc == HFS_OK) {
      assert_int_equal(s->nchannels, 4);
      assert_int_equal(total_bins(s), 4);
      nok++;
    } else {
      if (strcmp(e->d_name, "ERJR_300p0_100p0.json.gz") != 0) {
        print_error("%s: %s\n", e->d_name, hfs_error_message());
        fail();
      }
      nbad++;
    }
    hfs_spec_destroy(&s);
  }
  closedir(d);
  assert_int_equal(nok, 65);
  assert_int_equal(nbad, 1);
}

/* The other two sbottom regions: bins and samples per channel, in file
 * order. */
static void test_atlas_sbottom_regions_b_c(void **state) {
  (void)state;
  static const struct {
    const char *region;
    int nchannels, nbins[6], nsamples[6];
  } cases[] = {{"RegionB", 3, {1, 1, 1}, {8, 8, 7}},
               {"RegionC", 6, {1, 4, 1, 1, 1, 1}, {8, 8, 8, 5, 8, 8}}};
  for (int i = 0; i < 2; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/workspaces/atlas_sbottom_multib_ins1748602/%s/BkgOnly.json",
             shared, cases[i].region);
    hfs_spec *s = read_ok(path);
    assert_int_equal(s->nchannels, cases[i].nchannels);
    for (int c = 0; c < s->nchannels; c++) {
      assert_int_equal(s->channels[c].nbins, cases[i].nbins[c]);
      assert_int_equal(s->channels[c].nsamples, cases[i].nsamples[c]);
    }
    hfs_spec_destroy(&s);
  }
}

int main(void) {
  shared = hfs_test_shared_dir();
  if (!shared) return hfs_test_skip("spec workspaces");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_cases),
      cmocka_unit_test(test_belle2),
      cmocka_unit_test(test_atlas_sbottom_region_a),
      cmocka_unit_test(test_atlas_ewk3l_bkgonly),
      cmocka_unit_test(test_atlas_ewk3l_fixed_string),
      cmocka_unit_test(test_atlas_ewk3l_all_signal_points),
      cmocka_unit_test(test_atlas_sbottom_regions_b_c),
  };
  return cmocka_run_group_tests_name("spec_workspaces", tests, NULL, NULL);
}
