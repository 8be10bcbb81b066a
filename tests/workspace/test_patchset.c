/* pyhf patchsets: pyhf's digest (Python's float repr and json.dumps, with
 * reference values made by Python 3.11: see the comments), reading and
 * looking up patches, applying them, one clear line per bad input; with
 * --atlas the 125-point ATLAS 1Lbb patchset of ../shared. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hfs_error.h"
#include "hfs_model.h"
#include "hfs_test.h"
#include "hfs_workspace.h"
#include "spec_base.h"
#include "../../src/workspace/spec_internal.h"

static char tmpdir[] = "/tmp/hfs_patchsetXXXXXX";

static const char *tpath(const char *name) {
  static char buf[8][256];
  static int slot;
  char *p = buf[slot++ % 8];
  snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
  return p;
}

static const char *write_text(const char *name, const char *text) {
  const char *p = tpath(name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
  return p;
}

/* python3 -c 'import json,hashlib; ...json.dumps(json.loads(spec_base_ws),
 * sort_keys=True, ensure_ascii=False)...' */
#define BASE_DIGEST "df887a4cb684d975ddc6de7d114603c90dd8548fff9a433a9175d610245da204"

#define SAMPLE_X "{\"name\": \"x\", \"data\": [7, 8], \"modifiers\": []}"

/* A patchset for spec_base_ws: `digest`, then the patches as given. */
static char *patchset_text(const char *digest, const char *patches) {
  char *t = malloc(strlen(patches) + 1024);
  assert_non_null(t);
  sprintf(t,
          "{\"version\": \"1.0.0\", \"metadata\": {\"description\": \"test\","
          " \"references\": {\"hepdata\": \"ins1234567\"}, \"digests\": "
          "{\"sha256\": \"%s\"}, \"labels\": [\"m1\", \"m2\"]}, \"patches\": "
          "[%s]}",
          digest, patches);
  return t;
}

#define GOOD_PATCHES                                                                               \
  "{\"metadata\": {\"name\": \"p_100_50\", \"values\": [100, 50]},"                                \
  " \"patch\": [{\"op\": \"add\", \"path\": \"/channels/0/samples/-\","                            \
  " \"value\": " SAMPLE_X                                                                          \
  "}]},"                                                                                           \
  "{\"metadata\": {\"name\": \"p_200_12p5\", \"values\": [200, 12.5]},"                            \
  " \"patch\": [{\"op\": \"replace\", \"path\": "                                                  \
  "\"/channels/0/samples/0/data\", \"value\": [2, 3]}]}"

static const char *write_patchset(const char *name, const char *digest, const char *patches) {
  char *t = patchset_text(digest, patches);
  const char *p = write_text(name, t);
  free(t);
  return p;
}

static void assert_message(int rc, int code, const char *const *needles) {
  const char *msg = hfs_error_message();
  if (rc != code) {
    print_error("status %d (%s), wanted %d; message: %s\n", rc, hfs_strerror(rc), code, msg);
    fail();
  }
  if (strchr(msg, '\n')) {
    print_error("message is not one line: %s\n", msg);
    fail();
  }
  for (; *needles; needles++)
    if (!strstr(msg, *needles)) {
      print_error("message lacks \"%s\": %s\n", *needles, msg);
      fail();
    }
}
#define expect_message(rc, code, ...)                                                              \
  assert_message((rc), (code), (const char *const[]){__VA_ARGS__, NULL})

static void test_float_repr(void **state) {
  (void)state;
  /* python3 -c 'print(repr(x))' for each x. */
  static const struct {
    double x;
    const char *py;
  } cases[] = {
      {0.1, "0.1"},
      {1e-05, "1e-05"},
      {1.5e-05, "1.5e-05"},
      {0.0001, "0.0001"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {123.0, "123.0"},
      {-2.5, "-2.5"},
      {1.0 / 3, "0.3333333333333333"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.30000000000000004, "0.30000000000000004"},
      {123456789012345.6, "123456789012345.6"},
      {1152921504606846976.0, "1.152921504606847e+18"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[64];
    hfs__py_float_repr(cases[i].x, out, sizeof out);
    if (strcmp(out, cases[i].py)) {
      print_error("repr(%.17g): got %s, Python gives %s\n", cases[i].x, out, cases[i].py);
      fail();
    }
  }
}

static void test_digest(void **state) {
  (void)state;
  char hex[65];
  /* pyhf's own docstring example (PYHF:src/pyhf/utils.py, digest). */
  const char *p = write_text("d1.json", "{\"a\": 2.0, \"b\": 3.0, \"c\": 1.0}");
  assert_int_equal(hfs_workspace_digest(p, hex), HFS_OK);
  assert_string_equal(hex, "a38f6093800189b79bc22ef677baf90c75705af2cfc7ff594159eca54eaa7928");
  /* Integers against floats, escapes, non-ASCII, key order, literals:
   * o = {"b": [1, 2.0, -0.0, 1e22], "a": "tab\t\"q\" \\ \u00e9 \x01",
   *      "c": {"z": None, "y": True, "x": False}, "\u00e9": []}
   * hashlib.sha256(json.dumps(o, sort_keys=True,
   *                ensure_ascii=False).encode()).hexdigest() */
  p = write_text("d2.json",
                 "{\"b\": [1, 2.0, -0.0, 1e22], \"a\": \"tab\\t\\\"q\\\" \\\\ "
                 "\xc3\xa9 \\u0001\", \"c\": {\"z\": null, \"y\": true, \"x\": "
                 "false}, \"\xc3\xa9\": []}");
  assert_int_equal(hfs_workspace_digest(p, hex), HFS_OK);
  assert_string_equal(hex, "656a705c80578cb309901c600f9795c74396f34b6b05a3855b38232c0215d5f5");
  p = write_text("ws.json", spec_base_ws);
  assert_int_equal(hfs_workspace_digest(p, hex), HFS_OK);
  assert_string_equal(hex, BASE_DIGEST);
}

static void test_read_and_apply(void **state) {
  (void)state;
  hfs_patchset *ps = NULL;
  hfs_spec *s = NULL;
  const char *ws = write_text("ws.json", spec_base_ws);
  const char *psf = write_patchset("ps.json", BASE_DIGEST, GOOD_PATCHES);
  assert_int_equal(hfs_patchset_read(psf, &ps), HFS_OK);
  assert_int_equal(hfs_patchset_size(ps), 2);
  assert_int_equal(hfs_patchset_nlabels(ps), 2);
  assert_string_equal(hfs_patchset_label(ps, 1), "m2");
  assert_string_equal(hfs_patchset_name(ps, 1), "p_200_12p5");
  assert_int_equal(hfs_patchset_find(ps, "p_200_12p5"), 1);
  assert_int_equal(hfs_patchset_find(ps, "nope"), -1);
  assert_true(hfs_patchset_value(ps, 1, 1) == 12.5);
  assert_string_equal(hfs_patchset_value_text(ps, 0, 0), "100");
  assert_string_equal(hfs_patchset_value_text(ps, 1, 1), "12.5");
  assert_string_equal(hfs_patchset_digest(ps, "sha256"), BASE_DIGEST);
  assert_null(hfs_patchset_digest(ps, "md5"));
  assert_int_equal(hfs_patchset_verify(ps, ws), HFS_OK);

  assert_int_equal(hfs_patchset_workspace(ps, 0, ws, 0, &s), HFS_OK);
  assert_int_equal(s->channels[0].nsamples, 3);
  assert_string_equal(s->channels[0].samples[2].name, "x");
  assert_non_null(strstr(s->file, "ps.json:p_100_50"));
  hfs_spec_destroy(&s);
  assert_int_equal(hfs_patchset_workspace(ps, 1, ws, 0, &s), HFS_OK);
  assert_true(s->channels[0].samples[0].data[1] == 3);
  hfs_spec_destroy(&s);

  /* The same patch through --patch PATCHSET.json:NAME. */
  char arg[300];
  snprintf(arg, sizeof arg, "%s:p_100_50", psf);
  const char *patches[] = {arg};
  assert_int_equal(hfs_spec_read_patched(ws, patches, 1, 0, &s), HFS_OK);
  assert_int_equal(s->channels[0].nsamples, 3);
  hfs_spec_destroy(&s);
  snprintf(arg, sizeof arg, "%s:p_nope", psf);
  expect_message(hfs_spec_read_patched(ws, patches, 1, 0, &s), HFS_ERR_NOT_FOUND,
                 "no patch named 'p_nope'");
  assert_null(s);

  /* What `hfscan patchset extract` writes is the patch, readable back. */
  FILE *f = fopen(tpath("x.json"), "w");
  assert_non_null(f);
  assert_int_equal(hfs_patchset_write_patch(ps, 1, f), HFS_OK);
  fclose(f);
  const char *one[] = {tpath("x.json")};
  assert_int_equal(hfs_spec_read_patched(ws, one, 1, 0, &s), HFS_OK);
  assert_true(s->channels[0].samples[0].data[0] == 2);
  hfs_spec_destroy(&s);
  /* ... and `apply` the patched workspace, integers kept as integers. */
  f = fopen(tpath("w.json"), "w");
  assert_non_null(f);
  assert_int_equal(hfs_patchset_write_workspace(ps, 1, ws, 0, f), HFS_OK);
  fclose(f);
  assert_int_equal(hfs_spec_read_file(tpath("w.json"), &s), HFS_OK);
  assert_true(s->channels[0].samples[0].data[1] == 3);
  hfs_spec_destroy(&s);
  hfs_patchset_destroy(&ps);
  assert_null(ps);
  hfs_patchset_destroy(&ps); /* NULL-safe */
}

static void test_digest_mismatch(void **state) {
  (void)state;
  hfs_patchset *ps = NULL;
  hfs_spec *s = NULL;
  const char *ws = write_text("ws.json", spec_base_ws);
  const char *other = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const char *psf = write_patchset("ps.json", other, GOOD_PATCHES);
  assert_int_equal(hfs_patchset_read(psf, &ps), HFS_OK);
  expect_message(hfs_patchset_verify(ps, ws), HFS_ERR_MISMATCH, other, BASE_DIGEST,
                 "--no-digest-check");
  expect_message(hfs_patchset_workspace(ps, 0, ws, 0, &s), HFS_ERR_MISMATCH, other, BASE_DIGEST);
  assert_null(s);
  assert_int_equal(hfs_patchset_workspace(ps, 0, ws, HFS_SPEC_NO_DIGEST_CHECK, &s), HFS_OK);
  hfs_spec_destroy(&s);
  char arg[300];
  snprintf(arg, sizeof arg, "%s:p_100_50", psf);
  const char *patches[] = {arg};
  expect_message(hfs_spec_read_patched(ws, patches, 1, 0, &s), HFS_ERR_MISMATCH, other,
                 BASE_DIGEST);
  assert_int_equal(hfs_spec_read_patched(ws, patches, 1, HFS_SPEC_NO_DIGEST_CHECK, &s), HFS_OK);
  hfs_spec_destroy(&s);
  hfs_patchset_destroy(&ps);
}

/* A patch that does not apply, and one that leaves an invalid workspace:
 * both name the patch (and the operation). */
static void test_bad_patches(void **state) {
  (void)state;
  hfs_patchset *ps = NULL;
  hfs_spec *s = NULL;
  const char *ws = write_text("ws.json", spec_base_ws);
  const char *psf =
      write_patchset("ps.json", BASE_DIGEST,
                     "{\"metadata\": {\"name\": \"gone\", \"values\": [1, 2]}, \"patch\": ["
                     "{\"op\": \"test\", \"path\": \"/version\", \"value\": \"1.0.0\"},"
                     "{\"op\": \"remove\", \"path\": \"/channels/7\"}]},"
                     "{\"metadata\": {\"name\": \"three_bins\", \"values\": [1, 3]}, "
                     "\"patch\": [{\"op\": \"add\", \"path\": \"/channels/0/samples/-\", "
                     "\"value\": {\"name\": \"y\", \"data\": [1, 2, 3], \"modifiers\": []}}]}");
  assert_int_equal(hfs_patchset_read(psf, &ps), HFS_OK);
  expect_message(hfs_patchset_workspace(ps, 0, ws, 0, &s), HFS_ERR_SCHEMA,
                 "ps.json:gone: [1] (op remove, path /channels/7)", "does not exist");
  assert_null(s);
  expect_message(hfs_patchset_workspace(ps, 1, ws, 0, &s), HFS_ERR_SCHEMA, "ps.json:three_bins",
                 "channels[0].samples[2]");
  assert_null(s);
  hfs_patchset_destroy(&ps);
}

static void expect_read_error(const char *patches, const char *const *needles) {
  hfs_patchset *ps = NULL;
  const char *psf = write_patchset("bad.json", BASE_DIGEST, patches);
  hfs_error_clear();
  int rc = hfs_patchset_read(psf, &ps);
  assert_null(ps);
  assert_message(rc, HFS_ERR_SCHEMA, needles);
  assert_int_equal(strncmp(hfs_error_message(), psf, strlen(psf)), 0);
}
#define expect_read(patches, ...)                                                                  \
  expect_read_error((patches), (const char *const[]){__VA_ARGS__, NULL})

static void test_bad_patchsets(void **state) {
  (void)state;
  expect_read("", "patches: empty patchset");
  expect_read(GOOD_PATCHES
              ", {\"metadata\": {\"name\": \"p_100_50\", "
              "\"values\": [1, 1]}, \"patch\": []}",
              "patches[2].metadata: duplicate patch name 'p_100_50' (also "
              "patches[0])");
  expect_read(GOOD_PATCHES
              ", {\"metadata\": {\"name\": \"again\", "
              "\"values\": [100.0, 50]}, \"patch\": []}",
              "patches[2].metadata: patch 'again' has the same values as "
              "patches[0]");
  expect_read("{\"metadata\": {\"name\": \"a\", \"values\": [1]}, \"patch\": []}",
              "patches[0].metadata.values: 1 values for 2 labels");
  expect_read(
      "{\"metadata\": {\"name\": \"a b\", \"values\": [1, 2]}, "
      "\"patch\": []}",
      "patches[0].metadata.name: 'a b' is not a name");
  expect_read(
      "{\"metadata\": {\"name\": \"a\", \"values\": [1, 2]}, "
      "\"patch\": {}}",
      "patches[0].patch: expected an array");
  expect_read(
      "{\"metadata\": {\"name\": \"a\", \"values\": [1, null]}, "
      "\"patch\": []}",
      "patches[0].metadata.values[1]: expected a number or a string");
  expect_read("{\"metadata\": {\"values\": [1, 2]}, \"patch\": []}",
              "patches[0].metadata: missing required key 'name'");

  hfs_patchset *ps = NULL;
  const char *p =
      write_text("v.json", "{\"version\": \"2.0.0\", \"metadata\": {}, \"patches\": []}");
  expect_message(hfs_patchset_read(p, &ps), HFS_ERR_SCHEMA, "v.json: version: '2.0.0'");
  p = write_text("v.json", "[{\"op\": \"remove\", \"path\": \"/x\"}]");
  expect_message(hfs_patchset_read(p, &ps), HFS_ERR_SCHEMA, "a JSON Patch?");
  p = write_text(
      "v.json",
      "{\"version\": \"1.0.0\", \"metadata\": {\"description\": \"\", "
      "\"references\": {\"hepdata\": \"ins1234567\"}, \"digests\": {\"sha256\": \"12\"}, "
      "\"labels\": [\"x\"]}, \"patches\": []}");
  expect_message(hfs_patchset_read(p, &ps), HFS_ERR_SCHEMA,
                 "metadata.digests.sha256: expected 64 hexadecimal digits");
  expect_message(hfs_patchset_read(tpath("absent.json"), &ps), HFS_ERR_IO,
                 "absent.json: cannot open");
  assert_null(ps);
}

/* The ATLAS 1Lbb patchset: the digest of its background-only workspace as
 * pyhf computes it, and every patch giving a model with the POI. */
static void test_atlas_1lbb(void **state) {
  (void)state;
  const char *shared = hfs_test_shared_dir();
  char ws[512], psf[512], hex[65];
  hfs_patchset *ps = NULL;
  snprintf(ws, sizeof ws, "%s/workspaces/atlas_1Lbb_ins1755298/BkgOnly.json", shared);
  snprintf(psf, sizeof psf, "%s/workspaces/atlas_1Lbb_ins1755298/patchset.json.gz", shared);
  assert_int_equal(hfs_patchset_read(psf, &ps), HFS_OK);
  assert_int_equal(hfs_patchset_size(ps), 125);
  assert_string_equal(hfs_patchset_label(ps, 0), "m1");
  assert_int_equal(hfs_workspace_digest(ws, hex), HFS_OK);
  assert_string_equal(hex, hfs_patchset_digest(ps, "sha256"));
  assert_int_equal(hfs_patchset_verify(ps, ws), HFS_OK);
  int step = getenv("HFS_TEST_QUICK") ? 31 : 1;
  for (int i = 0; i < hfs_patchset_size(ps); i += step) {
    hfs_spec *s = NULL;
    hfs_model *m = NULL;
    hfs_model_options mo = HFS_MODEL_OPTIONS_DEFAULT;
    if (hfs_patchset_workspace(ps, i, ws, HFS_SPEC_NO_DIGEST_CHECK, &s) ||
        hfs_model_create(s, NULL, &mo, &m)) {
      print_error("%s: %s\n", hfs_patchset_name(ps, i), hfs_error_message());
      fail();
    }
    assert_true(hfs_model_par_find(m, "mu_SIG") >= 0);
    hfs_model_destroy(&m);
    hfs_spec_destroy(&s);
  }
  hfs_patchset_destroy(&ps);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--atlas")) {
    if (!hfs_test_shared_dir()) return hfs_test_skip("the ATLAS 1Lbb patchset");
    const struct CMUnitTest atlas[] = {cmocka_unit_test(test_atlas_1lbb)};
    return cmocka_run_group_tests_name("patchset_atlas", atlas, NULL, NULL);
  }
  const struct CMUnitTest unit[] = {
      cmocka_unit_test(test_float_repr),     cmocka_unit_test(test_digest),
      cmocka_unit_test(test_read_and_apply), cmocka_unit_test(test_digest_mismatch),
      cmocka_unit_test(test_bad_patches),    cmocka_unit_test(test_bad_patchsets),
  };
  return cmocka_run_group_tests_name("patchset", unit, setup, teardown);
}
