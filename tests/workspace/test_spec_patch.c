/* RFC 6902 JSON Patches applied by hfs_spec_read_file_patched: every
 * operation, JSON Pointer escapes and "-", gzip input, one error per class
 * of bad patch; then the published ATLAS likelihoods of ../shared, which
 * come as background-only workspaces plus signal patches. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "hfs_error.h"
#include "hfs_log.h"
#include "hfs_model.h"
#include "hfs_workspace.h"
#include "hfs_test.h"
#include "spec_base.h"

static char tmpdir[] = "/tmp/hfs_spec_patchXXXXXX";

/* Path of `name` inside the test's directory (static buffer per slot). */
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

/* Gzip `text` into `name`, as `members` concatenated gzip members (the
 * text split evenly), like `cat a.gz b.gz`. */
static const char *write_gz(const char *name, const char *text, int members) {
  const char *p = tpath(name);
  size_t len = strlen(text), at = 0;
  unlink(p);
  for (int m = 0; m < members; m++) {
    size_t piece = m + 1 == members ? len - at : len / (size_t)members;
    gzFile g = gzopen(p, "ab");
    assert_non_null(g);
    if (piece) assert_int_equal(gzwrite(g, text + at, (unsigned)piece), (int)piece);
    assert_int_equal(gzclose(g), Z_OK);
    at += piece;
  }
  return p;
}

/* Read the base workspace (or `ws` if not NULL) with the given patch texts
 * written to p0.json, p1.json, ... */
static int read_patched(const char *ws, const char *const *patches, int n, hfs_spec **s) {
  const char *wsp = write_text("ws.json", ws ? ws : spec_base_ws);
  const char *files[8];
  char *names[8];
  assert_true(n <= 8);
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "p%d.json", i);
    names[i] = strdup(tpath(name));
    write_text(name, patches[i]);
    files[i] = names[i];
  }
  *s = NULL;
  hfs_error_clear();
  int rc = hfs_spec_read_file_patched(wsp, files, n, s);
  for (int i = 0; i < n; i++) free(names[i]);
  return rc;
}

static hfs_spec *patched_ok_list(const char *const *patches, int n) {
  hfs_spec *s = NULL;
  int rc = read_patched(NULL, patches, n, &s);
  if (rc != HFS_OK) {
    print_error("unexpected failure %d: %s\n", rc, hfs_error_message());
    fail();
  }
  assert_non_null(s);
  return s;
}
#define patched_ok(...)                                                                            \
  patched_ok_list((const char *const[]){__VA_ARGS__},                                              \
                  (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))

/* Apply one patch to the base workspace; require status `code` and a
 * one-line message starting with `start` (NULL: the patch file's path)
 * that contains every needle. */
static void expect_error_list(const char *patch, int code, const char *start,
                              const char *const *needles) {
  hfs_spec *s = NULL;
  int rc = read_patched(NULL, &patch, 1, &s);
  const char *msg = hfs_error_message();
  char head[300];
  snprintf(head, sizeof head, "%s: ", start ? start : tpath("p0.json"));
  if (rc != code) {
    print_error("status %d (%s), wanted %d; message: %s\n", rc, hfs_strerror(rc), code, msg);
    fail();
  }
  assert_null(s);
  if (strncmp(msg, head, strlen(head)) != 0 || strchr(msg, '\n')) {
    print_error("message is not one line starting with \"%s\": %s\n", head, msg);
    fail();
  }
  for (; *needles; needles++)
    if (!strstr(msg, *needles)) {
      print_error("message lacks \"%s\": %s\n", *needles, msg);
      fail();
    }
}
#define expect_error(patch, code, ...)                                                             \
  expect_error_list((patch), (code), NULL, (const char *const[]){__VA_ARGS__, NULL})

/* The label of the base workspace patched by p0.json. */
static const char *patched_label(void) {
  static char label[600];
  snprintf(label, sizeof label, "%s+%s", tpath("ws.json"), tpath("p0.json"));
  return label;
}

static const hfs_spec_channel *channel(const hfs_spec *s, const char *name) {
  for (int c = 0; c < s->nchannels; c++)
    if (!strcmp(s->channels[c].name, name)) return &s->channels[c];
  print_error("no channel %s\n", name);
  fail();
  return NULL;
}

/* A sample for channel SR (2 bins). */
#define SAMPLE_X "{\"name\": \"x\", \"data\": [7, 8], \"modifiers\": []}"

static void test_no_patch_is_plain_read(void **state) {
  (void)state;
  hfs_spec *s = NULL;
  assert_int_equal(read_patched(NULL, NULL, 0, &s), HFS_OK);
  assert_string_equal(s->file, tpath("ws.json"));
  assert_int_equal(s->nchannels, 2);
  hfs_spec_destroy(&s);
  assert_int_equal(hfs_spec_read_file(tpath("ws.json"), &s), HFS_OK);
  assert_string_equal(s->file, tpath("ws.json"));
  hfs_spec_destroy(&s);
  /* An empty patch changes nothing, but the label names it. */
  s = patched_ok("[]");
  assert_int_equal(s->nchannels, 2);
  char label[600];
  snprintf(label, sizeof label, "%s+%s", tpath("ws.json"), tpath("p0.json"));
  assert_string_equal(s->file, label);
  hfs_spec_destroy(&s);
  /* Misuse. */
  assert_int_equal(hfs_spec_read_file_patched(tpath("ws.json"), NULL, 1, &s), HFS_ERR_ARG);
  const char *nul[] = {NULL};
  assert_int_equal(hfs_spec_read_file_patched(tpath("ws.json"), nul, 1, &s), HFS_ERR_ARG);
  assert_int_equal(hfs_spec_read_file_patched(tpath("ws.json"), NULL, -1, &s), HFS_ERR_ARG);
  assert_int_equal(hfs_spec_read_file_patched(tpath("ws.json"), NULL, 0, NULL), HFS_ERR_ARG);
}

static void test_add(void **state) {
  (void)state;
  /* Insert at an index, append with "-", and add to an object (a new
   * member, and an existing one, which add replaces). */
  hfs_spec *s =
      patched_ok("[{\"op\": \"add\", \"path\": \"/channels/0/samples/0\", \"value\": " SAMPLE_X
                 "},"
                 " {\"op\": \"add\", \"path\": \"/channels/0/samples/-\", \"value\": "
                 "{\"name\": \"y\", \"data\": [1, 1], \"modifiers\": []}},"
                 " {\"op\": \"add\", \"path\": \"/measurements/0/config/parameters/2/inits\", "
                 "\"value\": [0.5]},"
                 " {\"op\": \"add\", \"path\": \"/measurements/0/config/poi\", \"value\": "
                 "\"norm\"}]");
  const hfs_spec_channel *sr = channel(s, "SR");
  assert_int_equal(sr->nsamples, 4);
  assert_string_equal(sr->samples[0].name, "x");
  assert_string_equal(sr->samples[1].name, "sig");
  assert_string_equal(sr->samples[2].name, "bkg");
  assert_string_equal(sr->samples[3].name, "y");
  assert_int_equal(s->meas[0].params[2].ninits, 1);
  assert_close(s->meas[0].params[2].inits[0], 0.5, 0);
  assert_string_equal(s->meas[0].poi, "norm");
  hfs_spec_destroy(&s);

  /* The index one past the end appends too. */
  s = patched_ok(
      "[{\"op\": \"add\", \"path\": \"/channels/0/samples/2\", "
      "\"value\": " SAMPLE_X "}]");
  assert_string_equal(channel(s, "SR")->samples[2].name, "x");
  hfs_spec_destroy(&s);

  /* The path "" replaces the whole document. */
  char *whole = malloc(strlen(spec_base_ws) + 100);
  assert_non_null(whole);
  sprintf(whole, "[{\"op\": \"add\", \"path\": \"\", \"value\": %s}]", spec_base_ws);
  s = patched_ok("[{\"op\": \"remove\", \"path\": \"/channels/1\"}]", whole);
  assert_int_equal(s->nchannels, 2);
  hfs_spec_destroy(&s);
  free(whole);
}

static void test_remove(void **state) {
  (void)state;
  hfs_spec *s = patched_ok(
      "[{\"op\": \"remove\", \"path\": \"/channels/1\"},"
      " {\"op\": \"remove\", \"path\": \"/observations/1\"},"
      " {\"op\": \"remove\", \"path\": "
      "\"/measurements/0/config/parameters/1/fixed\"},"
      " {\"op\": \"remove\", \"path\": \"/channels/0/samples/1/modifiers/0\"}]");
  assert_int_equal(s->nchannels, 1);
  assert_int_equal(s->nobs, 1);
  assert_string_equal(s->channels[0].name, "SR");
  assert_int_equal(s->meas[0].params[1].has_fixed, 0);
  assert_int_equal(s->channels[0].samples[1].nmods, 1);
  assert_string_equal(s->channels[0].samples[1].mods[0].name, "stat_SR");
  hfs_spec_destroy(&s);
}

static void test_replace(void **state) {
  (void)state;
  hfs_spec *s = patched_ok(
      "[{\"op\": \"replace\", \"path\": \"/channels/0/samples/1/data\", "
      "\"value\": [11, 21]},"
      " {\"op\": \"replace\", \"path\": \"/observations/0/data/1\", \"value\": "
      "26},"
      " {\"op\": \"replace\", \"path\": \"/channels/0/samples/0\", \"value\": " SAMPLE_X "}]");
  const hfs_spec_channel *sr = channel(s, "SR");
  assert_int_equal(sr->nsamples, 2); /* replaced, not inserted */
  assert_string_equal(sr->samples[0].name, "x");
  assert_close(sr->samples[1].data[0], 11, 0);
  assert_close(sr->samples[1].data[1], 21, 0);
  assert_close(s->obs[0].data[0], 12, 0);
  assert_close(s->obs[0].data[1], 26, 0);
  hfs_spec_destroy(&s);
}

static void test_move(void **state) {
  (void)state;
  /* Reorder channels; move a sample between channels of equal bins; move
   * onto itself (allowed, no change). */
  hfs_spec *s = patched_ok(
      "[{\"op\": \"add\", \"path\": \"/channels/-\", \"value\": {\"name\": "
      "\"VR\", \"samples\": [" SAMPLE_X
      "]}},"
      " {\"op\": \"add\", \"path\": \"/observations/-\", \"value\": "
      "{\"name\": \"VR\", \"data\": [1, 2]}},"
      " {\"op\": \"move\", \"from\": \"/channels/2\", \"path\": \"/channels/0\"},"
      " {\"op\": \"move\", \"from\": \"/channels/1/samples/0\", \"path\": "
      "\"/channels/0/samples/-\"},"
      " {\"op\": \"move\", \"from\": \"/channels/0/name\", \"path\": "
      "\"/channels/0/name\"}]");
  assert_int_equal(s->nchannels, 3);
  assert_string_equal(s->channels[0].name, "VR");
  assert_string_equal(s->channels[1].name, "SR");
  assert_string_equal(s->channels[2].name, "CR");
  assert_int_equal(s->channels[0].nsamples, 2);
  assert_string_equal(s->channels[0].samples[0].name, "x");
  assert_string_equal(s->channels[0].samples[1].name, "sig");
  assert_int_equal(s->channels[1].nsamples, 1);
  hfs_spec_destroy(&s);
}

static void test_copy(void **state) {
  (void)state;
  /* The copy is independent of its source. */
  hfs_spec *s = patched_ok(
      "[{\"op\": \"copy\", \"from\": \"/channels/0/samples/1\", \"path\": "
      "\"/channels/0/samples/-\"},"
      " {\"op\": \"replace\", \"path\": \"/channels/0/samples/2/name\", "
      "\"value\": \"bkg2\"},"
      " {\"op\": \"replace\", \"path\": \"/channels/0/samples/2/data/0\", "
      "\"value\": 99},"
      " {\"op\": \"copy\", \"from\": \"/observations/0/data/1\", \"path\": "
      "\"/observations/0/data/0\"},"
      " {\"op\": \"remove\", \"path\": \"/observations/0/data/2\"}]");
  const hfs_spec_channel *sr = channel(s, "SR");
  assert_int_equal(sr->nsamples, 3);
  assert_string_equal(sr->samples[1].name, "bkg");
  assert_string_equal(sr->samples[2].name, "bkg2");
  assert_close(sr->samples[1].data[0], 10, 0);
  assert_close(sr->samples[2].data[0], 99, 0);
  assert_int_equal(sr->samples[2].nmods, 2);
  assert_close(s->obs[0].data[0], 25, 0);
  assert_close(s->obs[0].data[1], 12, 0);
  hfs_spec_destroy(&s);
}

static void test_test_op(void **state) {
  (void)state;
  /* Numbers compare by value (1 and 1.0), objects regardless of key order. */
  hfs_spec *s = patched_ok(
      "[{\"op\": \"test\", \"path\": \"/channels/0/name\", \"value\": \"SR\"},"
      " {\"op\": \"test\", \"path\": \"/observations/0/data\", \"value\": "
      "[12.0, 25]},"
      " {\"op\": \"test\", \"path\": \"/channels/0/samples/1/modifiers/0/data\","
      " \"value\": {\"lo\": 0.9, \"hi\": 1.1}},"
      " {\"op\": \"test\", \"path\": \"/version\", \"value\": \"1.0.0\"}]");
  hfs_spec_destroy(&s);
  expect_error("[{\"op\": \"test\", \"path\": \"\", \"value\": 1}]", HFS_ERR_SCHEMA,
               "[0] (op test, path ): test failed");
  expect_error(
      "[{\"op\": \"test\", \"path\": \"/channels/0/name\", \"value\": "
      "\"CR\"}]",
      HFS_ERR_SCHEMA,
      "[0] (op test, path /channels/0/name): test failed: the value "
      "at the path differs");
  expect_error(
      "[{\"op\": \"test\", \"path\": \"/observations/0/data\", "
      "\"value\": [12]}]",
      HFS_ERR_SCHEMA, "test failed");
}

/* "~1" is '/', "~0" is '~': the decoded member name appears in the
 * reader's message about the unknown key, and the same name reached with
 * test, copy and move shows that all agree on the decoding. */
static void test_escapes(void **state) {
  (void)state;
  const char *p = "[{\"op\": \"add\", \"path\": \"/a~1b~0c~01\", \"value\": 1}]";
  expect_error_list(p, HFS_ERR_SCHEMA, patched_label(),
                    (const char *const[]){"unknown key 'a/b~c~1'", NULL});
  hfs_spec *s = patched_ok("[{\"op\": \"add\", \"path\": \"/x~1y~0\", \"value\": " SAMPLE_X
                           "},"
                           " {\"op\": \"test\", \"path\": \"/x~1y~0/name\", \"value\": \"x\"},"
                           " {\"op\": \"copy\", \"from\": \"/x~1y~0\", \"path\": \"/~0~1\"},"
                           " {\"op\": \"move\", \"from\": \"/x~1y~0\", \"path\": "
                           "\"/channels/0/samples/0\"},"
                           " {\"op\": \"replace\", \"path\": \"/~0~1/name\", \"value\": \"z\"},"
                           " {\"op\": \"move\", \"from\": \"/~0~1\", \"path\": "
                           "\"/channels/0/samples/-\"}]");
  const hfs_spec_channel *sr = channel(s, "SR");
  assert_int_equal(sr->nsamples, 4);
  assert_string_equal(sr->samples[0].name, "x");
  assert_string_equal(sr->samples[3].name, "z");
  hfs_spec_destroy(&s);
  /* An object member named "-" is an ordinary name; "" too. */
  expect_error_list("[{\"op\": \"add\", \"path\": \"/-\", \"value\": 1}]", HFS_ERR_SCHEMA,
                    patched_label(), (const char *const[]){"unknown key '-'", NULL});
  expect_error_list("[{\"op\": \"add\", \"path\": \"/\", \"value\": 1}]", HFS_ERR_SCHEMA,
                    patched_label(), (const char *const[]){"unknown key ''", NULL});
}

static void test_missing_paths(void **state) {
  (void)state;
  expect_error("[{\"op\": \"remove\", \"path\": \"/channels/7\"}]", HFS_ERR_SCHEMA,
               "[0] (op remove, path /channels/7): path does not exist");
  expect_error("[{\"op\": \"remove\", \"path\": \"/nothing\"}]", HFS_ERR_SCHEMA,
               "[0] (op remove, path /nothing): path does not exist");
  expect_error(
      "[{\"op\": \"replace\", \"path\": \"/channels/0/nothing\", "
      "\"value\": 1}]",
      HFS_ERR_SCHEMA,
      "(op replace, path /channels/0/nothing): path "
      "does not exist");
  /* The failing operation's index, after earlier ones succeeded. */
  expect_error(
      "[{\"op\": \"remove\", \"path\": \"/channels/1\"},"
      " {\"op\": \"remove\", \"path\": \"/observations/1\"},"
      " {\"op\": \"remove\", \"path\": \"/channels/1\"}]",
      HFS_ERR_SCHEMA,
      "[2] (op remove, path /channels/1): path does not exist "
      "(index 1, but /channels has 1 entries)");
  /* Parents that are missing or not containers. */
  expect_error(
      "[{\"op\": \"add\", \"path\": \"/channels/9/samples/0\", "
      "\"value\": 1}]",
      HFS_ERR_SCHEMA, "path does not exist (index 9, but /channels");
  expect_error("[{\"op\": \"add\", \"path\": \"/nothing/x\", \"value\": 1}]", HFS_ERR_SCHEMA,
               "path does not exist (the document root has no member "
               "'nothing')");
  expect_error("[{\"op\": \"add\", \"path\": \"/version/x\", \"value\": 1}]", HFS_ERR_SCHEMA,
               "path does not exist (/version is a string");
  /* Array indices: no leading zeros, no signs, "-" only as add's last
   * token, add at most one past the end. */
  expect_error("[{\"op\": \"add\", \"path\": \"/channels/01\", \"value\": 1}]", HFS_ERR_SCHEMA,
               "'01' is not an array index");
  expect_error("[{\"op\": \"remove\", \"path\": \"/channels/-1\"}]", HFS_ERR_SCHEMA,
               "'-1' is not an array index");
  expect_error("[{\"op\": \"remove\", \"path\": \"/channels/-\"}]", HFS_ERR_SCHEMA,
               "'-' is not an array index");
  expect_error(
      "[{\"op\": \"add\", \"path\": \"/channels/-/name\", \"value\": "
      "1}]",
      HFS_ERR_SCHEMA, "'-' is not an array index");
  expect_error("[{\"op\": \"add\", \"path\": \"/channels/3\", \"value\": 1}]", HFS_ERR_SCHEMA,
               "array index 3 is out of range (the array has 2 entries");
  expect_error(
      "[{\"op\": \"add\", \"path\": "
      "\"/channels/99999999999999999999999\", \"value\": 1}]",
      HFS_ERR_SCHEMA, "is not an array index");
  /* move and copy name their source. */
  expect_error(
      "[{\"op\": \"copy\", \"from\": \"/channels/5\", \"path\": "
      "\"/channels/-\"}]",
      HFS_ERR_SCHEMA,
      "(op copy, from /channels/5, path /channels/-): from path "
      "does not exist");
  expect_error("[{\"op\": \"move\", \"from\": \"/x\", \"path\": \"/y\"}]", HFS_ERR_SCHEMA,
               "(op move, from /x, path /y): from path does "
               "not exist");
  expect_error(
      "[{\"op\": \"move\", \"from\": \"/channels/0\", \"path\": "
      "\"/channels/0/samples/0\"}]",
      HFS_ERR_SCHEMA, "cannot move a value into one of its own members");
  expect_error("[{\"op\": \"remove\", \"path\": \"\"}]", HFS_ERR_SCHEMA,
               "cannot remove the whole document");
}

static void test_malformed(void **state) {
  (void)state;
  expect_error("{\"op\": \"remove\", \"path\": \"/channels/0\"}", HFS_ERR_SCHEMA,
               "expected a JSON Patch (an array of operations), got an object");
  expect_error("{\"metadata\": {}, \"patches\": []}", HFS_ERR_SCHEMA, "pyhf patchset");
  expect_error("[1]", HFS_ERR_SCHEMA, "[0]: expected an operation (an object), got a number");
  expect_error("[{\"path\": \"/x\"}]", HFS_ERR_SCHEMA, "[0]: missing 'op'");
  expect_error("[{\"op\": 3, \"path\": \"/x\"}]", HFS_ERR_SCHEMA,
               "[0]: 'op' must be a string, got a number");
  expect_error("[{\"op\": \"delete\", \"path\": \"/channels/0\"}]", HFS_ERR_SCHEMA,
               "[0]: unknown op 'delete' (RFC 6902 defines");
  expect_error("[{\"op\": \"remove\"}]", HFS_ERR_SCHEMA, "[0] (op remove): missing 'path'");
  expect_error("[{\"op\": \"remove\", \"path\": 7}]", HFS_ERR_SCHEMA,
               "[0] (op remove): 'path' must be a string, got a number");
  expect_error("[{\"op\": \"add\", \"path\": \"/x\"}]", HFS_ERR_SCHEMA,
               "[0] (op add, path /x): missing 'value'");
  expect_error("[{\"op\": \"replace\", \"path\": \"/version\"}]", HFS_ERR_SCHEMA,
               "(op replace, path /version): missing 'value'");
  expect_error("[{\"op\": \"test\", \"path\": \"/version\"}]", HFS_ERR_SCHEMA, "missing 'value'");
  expect_error("[{\"op\": \"move\", \"path\": \"/x\"}]", HFS_ERR_SCHEMA,
               "[0] (op move, path /x): missing 'from'");
  expect_error("[{\"op\": \"copy\", \"path\": \"/x\", \"from\": null}]", HFS_ERR_SCHEMA,
               "'from' must be a string, got null");
  expect_error("[{\"op\": \"remove\", \"path\": \"channels/0\"}]", HFS_ERR_SCHEMA,
               "'path' must be empty or start with '/' (a JSON Pointer)");
  expect_error("[{\"op\": \"remove\", \"path\": \"/channels~2\"}]", HFS_ERR_SCHEMA,
               "invalid escape in 'path'");
  expect_error("[{\"op\": \"remove\", \"path\": \"/channels~\"}]", HFS_ERR_SCHEMA,
               "invalid escape in 'path'");
  expect_error("[{\"op\": \"copy\", \"from\": \"x\", \"path\": \"/y\"}]", HFS_ERR_SCHEMA,
               "'from' must be empty or start with '/'");
  /* jansson refuses NUL in strings, which keeps C strings whole. */
  expect_error("[{\"op\": \"remove\", \"path\": \"/a\\u0000b\"}]", HFS_ERR_PARSE, "is not allowed");
  /* Control characters in a path are shown escaped, on one line. */
  expect_error("[{\"op\": \"remove\", \"path\": \"/a\\nb\"}]", HFS_ERR_SCHEMA,
               "path /a\\x0ab): path does not exist");
  /* Unknown members of an operation are ignored (RFC 6902, 4). */
  hfs_spec *s = patched_ok("[{\"op\": \"remove\", \"path\": \"/measurements/1\", \"comment\": 1}]");
  assert_int_equal(s->nmeas, 1);
  hfs_spec_destroy(&s);
  /* JSON errors in the patch file, and limits shared with workspaces. */
  expect_error("[{\"op\": \"remove\",]", HFS_ERR_PARSE, "line 1, column");
  expect_error("", HFS_ERR_PARSE, "empty file");
  expect_error("[{\"op\": \"remove\", \"op\": \"add\", \"path\": \"/x\"}]", HFS_ERR_PARSE,
               "duplicate object key");
  char deep[300] = "";
  for (int i = 0; i < 70; i++) strcat(deep, "[");
  expect_error(deep, HFS_ERR_PARSE, "nesting deeper than 64 levels");
}

/* A document built up by patches stays within the depth limit that the
 * parser enforces on files. */
static void test_depth_limit(void **state) {
  (void)state;
  char value[400] = "", patch[1200];
  for (int i = 0; i < 60; i++) strcat(value, "[");
  for (int i = 0; i < 60; i++) strcat(value, "]");
  snprintf(patch, sizeof patch,
           "[{\"op\": \"add\", \"path\": \"/a\", \"value\": %s},"
           " {\"op\": \"add\", \"path\": \"/a/0/0/0/0\", \"value\": %s}]",
           value, value);
  expect_error(patch, HFS_ERR_SCHEMA,
               "[1] (op add, path /a/0/0/0/0): the result would nest deeper "
               "than 64 levels");
  snprintf(patch, sizeof patch,
           "[{\"op\": \"add\", \"path\": \"/a\", \"value\": %s},"
           " {\"op\": \"copy\", \"from\": \"/a\", \"path\": \"/a/0/0/0/0/0\"}]",
           value);
  expect_error(patch, HFS_ERR_SCHEMA, "[1] (op copy", "deeper than 64");
}

static void test_patches_in_order(void **state) {
  (void)state;
  /* The second patch works on the result of the first. */
  hfs_spec *s = patched_ok(
      "[{\"op\": \"add\", \"path\": \"/channels/0/samples/-\", \"value\": " SAMPLE_X "}]",
      "[{\"op\": \"test\", \"path\": \"/channels/0/samples/2/name\", \"value\": "
      "\"x\"}, {\"op\": \"replace\", \"path\": \"/channels/0/samples/2/name\", "
      "\"value\": \"x2\"}]");
  assert_string_equal(channel(s, "SR")->samples[2].name, "x2");
  hfs_spec_destroy(&s);
  /* A failure in the second patch names that file. */
  const char *two[] = {"[]", "[{\"op\": \"remove\", \"path\": \"/zz\"}]"};
  assert_int_equal(read_patched(NULL, two, 2, &s), HFS_ERR_SCHEMA);
  char want[400];
  snprintf(want, sizeof want, "%s: [0] (op remove, path /zz): path does not exist",
           tpath("p1.json"));
  assert_string_equal(hfs_error_message(), want);
}

/* Errors found after patching name the patched document. */
static void test_label_of_later_errors(void **state) {
  (void)state;
  expect_error_list("[{\"op\": \"remove\", \"path\": \"/channels/0/samples/1/data\"}]",
                    HFS_ERR_SCHEMA, patched_label(),
                    (const char *const[]){"channels[0].samples[1]: missing required "
                                          "key 'data'",
                                          NULL});
  char start[600];
  snprintf(start, sizeof start, "%s+%s", tpath("ws.json"), tpath("p0.json"));
  expect_error_list(
      "[{\"op\": \"replace\", \"path\": \"/version\", \"value\": "
      "\"2.0.0\"}]",
      HFS_ERR_SCHEMA, start, (const char *const[]){"version: unsupported", NULL});
  /* Replacing the root by a non-object. */
  expect_error_list("[{\"op\": \"replace\", \"path\": \"\", \"value\": 3}]", HFS_ERR_SCHEMA, start,
                    (const char *const[]){"(root): the top level is a JSON number", NULL});
  /* The model compiler reports with the same label. */
  hfs_spec *s = patched_ok(
      "[{\"op\": \"replace\", \"path\": \"/measurements/0/config/poi\", "
      "\"value\": \"nope\"}]");
  assert_string_equal(s->file, start);
  hfs_model *m = NULL;
  assert_int_not_equal(hfs_model_create(s, NULL, NULL, &m), HFS_OK);
  assert_null(m);
  if (!strstr(hfs_error_message(), start)) {
    print_error("model message lacks the label: %s\n", hfs_error_message());
    fail();
  }
  hfs_spec_destroy(&s);
}

static void test_gzip(void **state) {
  (void)state;
  const char *patch =
      "[{\"op\": \"add\", \"path\": \"/channels/0/samples/0\", \"value\": " SAMPLE_X "}]";
  const char *ws = write_gz("ws.json.gz", spec_base_ws, 1);
  const char *p1 = write_gz("p.json.gz", patch, 1);
  hfs_spec *s = NULL;
  assert_int_equal(hfs_spec_read_file(ws, &s), HFS_OK);
  assert_int_equal(s->nchannels, 2);
  hfs_spec_destroy(&s);
  assert_int_equal(hfs_spec_read_file_patched(ws, &p1, 1, &s), HFS_OK);
  assert_string_equal(channel(s, "SR")->samples[0].name, "x");
  hfs_spec_destroy(&s);
  /* Several gzip members, as from cat a.gz b.gz; the name does not
   * matter, the content does. */
  const char *p3 = write_gz("p3.json", patch, 3);
  assert_int_equal(hfs_spec_read_file_patched(ws, &p3, 1, &s), HFS_OK);
  assert_string_equal(channel(s, "SR")->samples[0].name, "x");
  hfs_spec_destroy(&s);
  /* An empty gzip file is an empty file. */
  const char *e = write_gz("e.json.gz", "", 1);
  assert_int_equal(hfs_spec_read_file_patched(ws, &e, 1, &s), HFS_ERR_PARSE);
  assert_non_null(strstr(hfs_error_message(), "e.json.gz: empty file"));

  /* Truncated and corrupt data. */
  size_t len = 0;
  char *gz = hfs_test_read_file(p1, &len);
  assert_non_null(gz);
  assert_true(len > 30);
  FILE *f = fopen(tpath("cut.json.gz"), "wb");
  assert_non_null(f);
  fwrite(gz, 1, len - 12, f);
  fclose(f);
  const char *cut = tpath("cut.json.gz");
  assert_int_equal(hfs_spec_read_file_patched(ws, &cut, 1, &s), HFS_ERR_IO);
  assert_null(s);
  assert_non_null(strstr(hfs_error_message(), "cut.json.gz: truncated gzip data"));
  gz[len / 2] ^= 0x55;
  gz[len / 2 + 1] ^= 0x55;
  f = fopen(tpath("bad.json.gz"), "wb");
  assert_non_null(f);
  fwrite(gz, 1, len, f);
  fclose(f);
  free(gz);
  const char *bad = tpath("bad.json.gz");
  assert_int_equal(hfs_spec_read_file_patched(ws, &bad, 1, &s), HFS_ERR_IO);
  assert_non_null(strstr(hfs_error_message(), "bad.json.gz: corrupt gzip data"));
  /* A missing patch file. */
  const char *none = tpath("none.json");
  assert_int_equal(hfs_spec_read_file_patched(ws, &none, 1, &s), HFS_ERR_IO);
  assert_non_null(strstr(hfs_error_message(), "none.json: cannot open"));
}

/* ---- published likelihoods (../shared) ---- */

static const char *shared;

typedef struct {
  const char *region, *point;
  int nchannels, nbins, nsamples, npar;
} sbottom_case;

/* The pyhf regression points of ../shared/workspaces/README.md; the counts
 * are the README's for the region's example patch (the same layout for
 * every patch of a region). */
static const sbottom_case sbottom[] = {
    {"A", "sbottom_1300_205_60", 2, 6, 9, 64}, {"A", "sbottom_1400_950_60", 2, 6, 9, 64},
    {"A", "sbottom_1500_850_60", 2, 6, 9, 64}, {"B", "sbottom_1400_550_60", 2, 2, 9, 60},
    {"C", "sbottom_1600_850_60", 3, 6, 9, 66},
};

/* Warnings expected from these likelihoods: the sbottom patches remove
 * validation channels but keep their observations (pyhf ignores those), and
 * the 3L measurement lists a parameter mu_BG that no modifier defines.
 * Anything else fails the test. */
static int nwarnings;
static void expected_warning(const char *line, void *ctx) {
  (void)ctx;
  nwarnings++;
  if (!strstr(line, ": no channel named 'VR") &&
      !strstr(line, "parameter 'mu_BG' is not defined by any modifier")) {
    print_error("unexpected warning: %s\n", line);
    fail();
  }
}

static int distinct_samples(const hfs_spec *s) {
  const char *names[64];
  int n = 0;
  for (int c = 0; c < s->nchannels; c++)
    for (int k = 0; k < s->channels[c].nsamples; k++) {
      const char *x = s->channels[c].samples[k].name;
      int seen = 0;
      for (int i = 0; i < n; i++) seen |= !strcmp(names[i], x);
      if (!seen && n < 64) names[n++] = x;
    }
  return n;
}

static void test_atlas_sbottom(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof sbottom / sizeof sbottom[0]; i++) {
    const sbottom_case *k = &sbottom[i];
    char ws[4200], patch[4200];
    snprintf(ws, sizeof ws, "%s/workspaces/atlas_sbottom_multib_ins1748602/Region%s/BkgOnly.json",
             shared, k->region);
    snprintf(patch, sizeof patch,
             "%s/workspaces/atlas_sbottom_multib_ins1748602/Region%s/patch.%s.json.gz", shared,
             k->region, k->point);
    const char *p = patch;
    hfs_spec *s = NULL;
    hfs_model *m = NULL;
    int rc = hfs_spec_read_file_patched(ws, &p, 1, &s);
    if (!rc) rc = hfs_model_create(s, NULL, NULL, &m);
    if (rc) print_error("%s/%s: %s\n", k->region, k->point, hfs_error_message());
    assert_int_equal(rc, HFS_OK);
    int nbins = 0;
    for (int c = 0; c < s->nchannels; c++) nbins += s->channels[c].nbins;
    printf(
        "  Region%s + %s: %d channels, %d bins, %d samples, %d parameters, "
        "POI %s\n",
        k->region, k->point, s->nchannels, nbins, distinct_samples(s), hfs_model_npar(m),
        hfs_model_par_name(m, hfs_model_poi(m)));
    assert_int_equal(s->nchannels, k->nchannels);
    assert_int_equal(nbins, k->nbins);
    assert_int_equal(hfs_model_nbins(m), k->nbins);
    assert_int_equal(distinct_samples(s), k->nsamples);
    assert_int_equal(hfs_model_npar(m), k->npar);
    assert_string_equal(hfs_model_par_name(m, hfs_model_poi(m)), "mu_SIG");
    /* The validation channels are gone: only SR and CR remain. */
    for (int c = 0; c < s->nchannels; c++) assert_null(strstr(s->channels[c].name, "VR"));
    hfs_model_destroy(&m);
    hfs_spec_destroy(&s);
  }
}

/* Same parameters (names, order, bounds, inits, fixed), data and twice_nll
 * at the suggested init. */
static void assert_same_model(hfs_model *a, hfs_model *b, const char *what) {
  int n = hfs_model_npar(a);
  assert_int_equal(hfs_model_npar(b), n);
  assert_int_equal(hfs_model_nbins(b), hfs_model_nbins(a));
  assert_int_equal(hfs_model_naux(b), hfs_model_naux(a));
  assert_int_equal(hfs_model_poi(b), hfs_model_poi(a));
  for (int i = 0; i < n; i++) {
    assert_string_equal(hfs_model_par_name(a, i), hfs_model_par_name(b, i));
    assert_true(hfs_model_par_lo(a, i) == hfs_model_par_lo(b, i));
    assert_true(hfs_model_par_hi(a, i) == hfs_model_par_hi(b, i));
    assert_true(hfs_model_par_init(a, i) == hfs_model_par_init(b, i));
    assert_int_equal(hfs_model_par_fixed(a, i), hfs_model_par_fixed(b, i));
  }
  for (int j = 0; j < hfs_model_nbins(a); j++)
    assert_true(hfs_model_observed(a)[j] == hfs_model_observed(b)[j]);
  double *ta = calloc((size_t)n, sizeof *ta), *tb = calloc((size_t)n, sizeof *tb);
  assert_non_null(ta);
  assert_non_null(tb);
  hfs_model_init(a, ta);
  hfs_model_init(b, tb);
  double fa = hfs_model_twice_nll(a, hfs_model_observed(a), hfs_model_auxdata(a), ta, NULL);
  double fb = hfs_model_twice_nll(b, hfs_model_observed(b), hfs_model_auxdata(b), tb, NULL);
  if (!(fa == fb)) print_error("%s: twice_nll %.17g vs %.17g\n", what, fa, fb);
  assert_true(isfinite(fa));
  assert_true(fa == fb);
  free(ta);
  free(tb);
}

static void test_atlas_ewk3l(void **state) {
  (void)state;
  char dir[4200], bkg[4300];
  snprintf(dir, sizeof dir, "%s/workspaces/atlas_ewk3l_erjr", shared);
  snprintf(bkg, sizeof bkg, "%s/BkgOnly.json", dir);
  /* Every point whose full workspace is shipped; the README says 65 of
   * them equal BkgOnly + patch, and one is refused. */
  char pdir[4400];
  snprintf(pdir, sizeof pdir, "%s/patches", dir);
  DIR *d = opendir(pdir);
  assert_non_null(d);
  struct dirent *de;
  int npoints = 0, nsame = 0, nrefused = 0;
  while ((de = readdir(d))) {
    const char *line = de->d_name;
    const char *pre = "patch.", *suf = ".json.gz";
    size_t l = strlen(line);
    if (strncmp(line, pre, 6) || l < 15 || strcmp(line + l - 8, suf)) continue;
    char point[256];
    snprintf(point, sizeof point, "%.*s", (int)(l - 14), line + 6);
    char patch[5000], full[5000];
    snprintf(patch, sizeof patch, "%s/patches/%s", dir, line);
    snprintf(full, sizeof full, "%s/signal_workspaces/%s.json.gz", dir, point);
    const char *p = patch;
    hfs_spec *sp = NULL, *sf = NULL;
    hfs_model *mp = NULL, *mf = NULL;
    npoints++;
    int rc = hfs_spec_read_file_patched(bkg, &p, 1, &sp);
    if (!rc) rc = hfs_model_create(sp, NULL, NULL, &mp);
    if (rc) print_error("%s: %s\n", point, hfs_error_message());
    assert_int_equal(rc, HFS_OK);
    /* The README's count for its example point; others differ by the
     * signal sample's modifiers (67 to 71). */
    if (!strcmp(point, "ERJR_500_50")) assert_int_equal(hfs_model_npar(mp), 69);
    rc = hfs_spec_read_file(full, &sf);
    if (!strcmp(point, "ERJR_300p0_100p0")) {
      /* Its measurement says "fixed": "true" (a string). */
      const char *msg = hfs_error_message();
      printf("  %s: full workspace refused: %s\n", point, msg);
      assert_int_equal(rc, HFS_ERR_SCHEMA);
      assert_null(sf);
      assert_non_null(strstr(msg, full));
      assert_non_null(strstr(msg,
                             ": measurements[0].config.parameters[0].fixed: "
                             "expected a boolean, got string"));
      nrefused++;
    } else {
      if (!rc) rc = hfs_model_create(sf, NULL, NULL, &mf);
      if (rc) print_error("%s: %s\n", point, hfs_error_message());
      assert_int_equal(rc, HFS_OK);
      assert_same_model(mp, mf, point);
      nsame++;
    }
    hfs_model_destroy(&mp);
    hfs_model_destroy(&mf);
    hfs_spec_destroy(&sp);
    hfs_spec_destroy(&sf);
  }
  closedir(d);
  printf(
      "  ATLAS 3L eRJR: %d points; BkgOnly + patch = full workspace "
      "(parameters, data, twice_nll at init) for %d, full workspace "
      "refused for %d\n",
      npoints, nsame, nrefused);
  assert_int_equal(npoints, 66);
  assert_int_equal(nsame, 65);
  assert_int_equal(nrefused, 1);
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

/* Without arguments: the unit tests.  With --atlas: the published
 * likelihoods (skipped, status 77, without ../shared); ctest runs both. */
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--atlas")) {
    shared = hfs_test_shared_dir();
    if (!shared) return hfs_test_skip("published ATLAS likelihoods");
    hfs_warn_set_sink(expected_warning, NULL);
    const struct CMUnitTest atlas[] = {
        cmocka_unit_test(test_atlas_sbottom),
        cmocka_unit_test(test_atlas_ewk3l),
    };
    return cmocka_run_group_tests_name("spec_patch_atlas", atlas, NULL, NULL);
  }
  const struct CMUnitTest unit[] = {
      cmocka_unit_test(test_no_patch_is_plain_read),
      cmocka_unit_test(test_add),
      cmocka_unit_test(test_remove),
      cmocka_unit_test(test_replace),
      cmocka_unit_test(test_move),
      cmocka_unit_test(test_copy),
      cmocka_unit_test(test_test_op),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_missing_paths),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_patches_in_order),
      cmocka_unit_test(test_label_of_later_errors),
      cmocka_unit_test(test_gzip),
  };
  return cmocka_run_group_tests_name("spec_patch", unit, setup, teardown);
}
