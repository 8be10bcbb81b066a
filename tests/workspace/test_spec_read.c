/* Reading a valid workspace: every field, the stored paths, file order and
 * the lookups. */
#include <stdio.h>
#include <unistd.h>

#include "spec_testutil.h"

static void test_base_workspace(void **state) {
  (void)state;
  hfs_spec *s = spec_expect_ok(spec_base_ws);
  assert_string_equal(s->file, "t.json");
  assert_string_equal(s->version, "1.0.0");
  assert_int_equal(s->nchannels, 2);
  assert_int_equal(s->nobs, 2);
  assert_int_equal(s->nmeas, 2);

  const hfs_spec_channel *sr = &s->channels[0], *cr = &s->channels[1];
  assert_string_equal(sr->name, "SR");
  assert_string_equal(sr->path, "channels[0]");
  assert_int_equal(sr->nbins, 2);
  assert_int_equal(sr->nsamples, 2);
  assert_string_equal(cr->name, "CR");
  assert_int_equal(cr->nbins, 5);
  assert_int_equal(cr->nsamples, 4);

  /* File order is kept (not pyhf's alphabetical order). */
  const char *names[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; i++) {
    char path[64];
    assert_string_equal(cr->samples[i].name, names[i]);
    assert_int_equal(cr->samples[i].nbins, 5);
    snprintf(path, sizeof path, "channels[1].samples[%d]", i);
    assert_string_equal(cr->samples[i].path, path);
  }

  const hfs_spec_sample *sig = &sr->samples[0];
  assert_close(sig->data[0], 1, 0);
  assert_close(sig->data[1], 2, 0);
  assert_int_equal(sig->nmods, 2);
  assert_int_equal(sig->mods[0].type, HFS_MOD_NORMFACTOR);
  assert_string_equal(sig->mods[0].name, "mu");
  assert_null(sig->mods[0].data);
  assert_int_equal(sig->mods[0].ndata, 0);
  assert_int_equal(sig->mods[1].type, HFS_MOD_LUMI);
  assert_string_equal(sig->mods[1].path, "channels[0].samples[0].modifiers[1]");

  const hfs_spec_sample *bkg = &sr->samples[1];
  assert_int_equal(bkg->mods[0].type, HFS_MOD_NORMSYS);
  assert_close(bkg->mods[0].hi, 1.1, 0);
  assert_close(bkg->mods[0].lo, 0.9, 0);
  assert_int_equal(bkg->mods[1].type, HFS_MOD_STATERROR);
  assert_int_equal(bkg->mods[1].ndata, 2);
  assert_close(bkg->mods[1].data[0], 1.5, 0);
  assert_close(bkg->mods[1].data[1], 2.5, 0);

  assert_int_equal(cr->samples[0].nmods, 0);
  assert_int_equal(cr->samples[1].mods[0].type, HFS_MOD_SHAPEFACTOR);
  const hfs_spec_modifier *ss = &cr->samples[2].mods[0];
  assert_int_equal(ss->type, HFS_MOD_SHAPESYS);
  assert_int_equal(ss->ndata, 5);
  assert_close(ss->data[4], 0.5, 0);

  const hfs_spec_sample *d = &cr->samples[3];
  assert_close(d->data[4], 4.5, 0);
  const hfs_spec_modifier *hs = &d->mods[2];
  assert_int_equal(hs->type, HFS_MOD_HISTOSYS);
  assert_string_equal(hs->name, "shape");
  assert_string_equal(hs->path, "channels[1].samples[3].modifiers[2]");
  assert_int_equal(hs->ndata, 5);
  assert_close(hs->hi_data[4], 6, 0);
  assert_close(hs->lo_data[4], 2, 0);
  assert_close(d->mods[1].hi, 1.2, 0);

  assert_string_equal(s->obs[1].name, "CR");
  assert_string_equal(s->obs[1].path, "observations[1]");
  assert_int_equal(s->obs[1].nbins, 5);
  assert_close(s->obs[1].data[4], 13, 0);

  const hfs_spec_measurement *m = &s->meas[0];
  assert_string_equal(m->name, "meas");
  assert_string_equal(m->poi, "mu");
  assert_string_equal(m->path, "measurements[0]");
  assert_int_equal(m->nparams, 3);
  const hfs_spec_param *mu = &m->params[0], *lumi = &m->params[1], *norm = &m->params[2];
  assert_string_equal(mu->name, "mu");
  assert_int_equal(mu->ninits, 1);
  assert_close(mu->inits[0], 1.5, 0);
  assert_int_equal(mu->nbounds, 1);
  assert_close(mu->bounds[0], 0, 0);
  assert_close(mu->bounds[1], 10, 0);
  assert_int_equal(mu->has_fixed, 0);
  assert_int_equal(mu->nauxdata + mu->nsigmas + mu->nfactors, 0);
  assert_null(mu->sigmas);
  assert_string_equal(lumi->path, "measurements[0].config.parameters[1]");
  assert_int_equal(lumi->has_fixed, 1);
  assert_int_equal(lumi->fixed, 0);
  assert_close(lumi->auxdata[0], 1, 0);
  assert_close(lumi->sigmas[0], 0.02, 0);
  assert_close(lumi->bounds[0], 0.5, 0);
  assert_close(lumi->bounds[1], 1.5, 0);
  assert_int_equal(norm->nfactors, 1);
  assert_close(norm->factors[0], 2, 0);
  assert_int_equal(norm->ninits, 0);
  assert_int_equal(norm->nbounds, 0);
  assert_string_equal(s->meas[1].name, "alt");
  assert_string_equal(s->meas[1].poi, "norm");
  assert_int_equal(s->meas[1].nparams, 0);

  hfs_spec_destroy(&s);
  assert_null(s);
}

static void test_fixed_true(void **state) {
  (void)state;
  char *t = spec_edit("\"fixed\": false", "\"fixed\": true");
  hfs_spec *s = spec_expect_ok(t);
  assert_int_equal(s->meas[0].params[1].has_fixed, 1);
  assert_int_equal(s->meas[0].params[1].fixed, 1);
  hfs_spec_destroy(&s);
  free(t);
}

static void test_lookups(void **state) {
  (void)state;
  hfs_spec *s = spec_expect_ok(spec_base_ws);
  assert_ptr_equal(hfs_spec_measurement_find(s, "meas"), &s->meas[0]);
  assert_ptr_equal(hfs_spec_measurement_find(s, "alt"), &s->meas[1]);
  assert_null(hfs_spec_measurement_find(s, "Meas"));
  assert_null(hfs_spec_measurement_find(s, NULL));
  assert_ptr_equal(hfs_spec_observation_find(s, "SR"), &s->obs[0]);
  assert_ptr_equal(hfs_spec_observation_find(s, "CR"), &s->obs[1]);
  assert_null(hfs_spec_observation_find(s, "VR"));
  assert_null(hfs_spec_observation_find(s, ""));
  hfs_spec_destroy(&s);
}

static void test_modtype_names(void **state) {
  (void)state;
  assert_string_equal(hfs_modtype_name(HFS_MOD_HISTOSYS), "histosys");
  assert_string_equal(hfs_modtype_name(HFS_MOD_LUMI), "lumi");
  assert_string_equal(hfs_modtype_name(HFS_MOD_NORMFACTOR), "normfactor");
  assert_string_equal(hfs_modtype_name(HFS_MOD_NORMSYS), "normsys");
  assert_string_equal(hfs_modtype_name(HFS_MOD_SHAPEFACTOR), "shapefactor");
  assert_string_equal(hfs_modtype_name(HFS_MOD_SHAPESYS), "shapesys");
  assert_string_equal(hfs_modtype_name(HFS_MOD_STATERROR), "staterror");
  assert_string_equal(hfs_modtype_name(HFS_MOD_NTYPES), "unknown");
}

/* The same text through a file: the label is the name as given. */
static void test_read_file(void **state) {
  (void)state;
  char path[] = "/tmp/hfs_spec_readXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  assert_int_equal(fputs(spec_base_ws, f) >= 0, 1);
  fclose(f);
  hfs_spec *s = NULL;
  int rc = hfs_spec_read_file(path, &s);
  unlink(path);
  assert_int_equal(rc, HFS_OK);
  assert_string_equal(s->file, path);
  assert_int_equal(s->nchannels, 2);
  hfs_spec_destroy(&s);

  /* A large file (several read chunks) with an error near its end. */
  char *t = spec_edit("\"version\": \"1.0.0\"", "\"version\": \"2.0.0\"");
  strcpy(path, "/tmp/hfs_spec_readXXXXXX");
  fd = mkstemp(path);
  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  assert_non_null(f);
  for (int i = 0; i < 200000; i++) fputc(' ', f);
  fputs(t, f);
  fclose(f);
  free(t);
  rc = hfs_spec_read_file(path, &s);
  unlink(path);
  assert_int_equal(rc, HFS_ERR_SCHEMA);
  assert_null(s);
  assert_non_null(strstr(hfs_error_message(), ": version: unsupported"));
  assert_non_null(strstr(hfs_error_message(), path));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base_workspace), cmocka_unit_test(test_fixed_true),
      cmocka_unit_test(test_lookups),        cmocka_unit_test(test_modtype_names),
      cmocka_unit_test(test_read_file),
  };
  return cmocka_run_group_tests_name("spec_read", tests, NULL, NULL);
}
