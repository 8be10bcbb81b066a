/* One test per class of bad input the workspace reader must refuse, each
 * checking the status code and the JSON path / key words of the message. */
#include <stdio.h>
#include <unistd.h>

#include "hfs_log.h"
#include "spec_testutil.h"

#define CH_OK                                                                                      \
  "[{\"name\": \"A\", \"samples\": [{\"name\": \"s\", \"data\": [1], "                             \
  "\"modifiers\": []}]}]"
#define OB_OK "[{\"name\": \"A\", \"data\": [1]}]"
#define ME_OK "[{\"name\": \"m\", \"config\": {\"poi\": \"mu\", \"parameters\": []}}]"

/* A tiny workspace assembled from its three arrays. */
static char *mini(const char *channels, const char *observations, const char *measurements) {
  const char *fmt =
      "{\"channels\": %s, \"observations\": %s, \"measurements\": %s, "
      "\"version\": \"1.0.0\"}";
  size_t n = strlen(fmt) + strlen(channels) + strlen(observations) + strlen(measurements) + 1;
  char *t = malloc(n);
  assert_non_null(t);
  snprintf(t, n, fmt, channels, observations, measurements);
  return t;
}

#define bad_mini(ch, ob, me, code, ...)                                                            \
  do {                                                                                             \
    char *mini__t = mini((ch), (ob), (me));                                                        \
    spec_expect_error(mini__t, (code), __VA_ARGS__);                                               \
    free(mini__t);                                                                                 \
  } while (0)

static void test_mini_is_valid(void **state) {
  (void)state;
  char *t = mini(CH_OK, OB_OK, ME_OK);
  hfs_spec *s = spec_expect_ok(t);
  assert_int_equal(s->nchannels, 1);
  hfs_spec_destroy(&s);
  assert_null(s);
  free(t);
}

static void test_empty_input(void **state) {
  (void)state;
  spec_expect_error_list("", 0, HFS_ERR_PARSE, (const char *const[]){"t.json: empty file", NULL});
  spec_expect_error(" \n\t\r\n", HFS_ERR_PARSE, "t.json: empty file");
}

static void test_unreadable_file(void **state) {
  (void)state;
  hfs_spec *s = NULL;
  int rc = hfs_spec_read_file("/nonexistent/dir/ws.json", &s);
  assert_int_equal(rc, HFS_ERR_IO);
  assert_null(s);
  assert_non_null(strstr(hfs_error_message(), "/nonexistent/dir/ws.json: cannot open"));

  /* A directory opens but cannot be read. */
  rc = hfs_spec_read_file("/", &s);
  assert_int_equal(rc, HFS_ERR_IO);
  assert_null(s);
  assert_non_null(strstr(hfs_error_message(), "/: read error"));

  /* An empty file on disk. */
  char path[] = "/tmp/hfs_spec_emptyXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  rc = hfs_spec_read_file(path, &s);
  unlink(path);
  assert_int_equal(rc, HFS_ERR_PARSE);
  assert_null(s);
  assert_non_null(strstr(hfs_error_message(), ": empty file"));
  assert_non_null(strstr(hfs_error_message(), path));
}

static void test_null_arguments(void **state) {
  (void)state;
  hfs_spec *s = NULL;
  assert_int_equal(hfs_spec_read_buffer(NULL, 3, "x", &s), HFS_ERR_ARG);
  assert_null(s);
  assert_int_equal(hfs_spec_read_buffer("{}", 2, "x", NULL), HFS_ERR_ARG);
  assert_int_equal(hfs_spec_read_file(NULL, &s), HFS_ERR_ARG);
  assert_int_equal(hfs_spec_read_file("x", NULL), HFS_ERR_ARG);
  hfs_spec_destroy(NULL);
  hfs_spec_destroy(&s);
  assert_null(hfs_spec_measurement_find(NULL, "m"));
  assert_null(hfs_spec_observation_find(NULL, "o"));
}

static void test_top_level_not_object(void **state) {
  (void)state;
  spec_expect_error("[1, 2]", HFS_ERR_SCHEMA,
                    "t.json: (root): the top level is a JSON array, expected "
                    "an object");
  spec_expect_error(" 3 ", HFS_ERR_SCHEMA, "top level is a JSON number");
  spec_expect_error("\"ws\"", HFS_ERR_SCHEMA, "top level is a JSON string");
  spec_expect_error("null", HFS_ERR_SCHEMA, "top level is null");
  spec_expect_error("true", HFS_ERR_SCHEMA, "top level is a JSON boolean");
}

static void test_malformed_json(void **state) {
  (void)state;
  /* An extra comma on line 4 of the base workspace. */
  spec_bad_edit("{\"name\": \"sig\", \"data\"", "{\"name\": \"sig\",, \"data\"", HFS_ERR_PARSE,
                "t.json: line 4, column 20: ", "string or '}' expected");
  /* Truncated document. */
  spec_expect_error("{\"channels\": [", HFS_ERR_PARSE,
                    "t.json: line 1, column 14: ", "end of file");
  /* Trailing garbage after the top-level object. */
  spec_expect_error("{} x", HFS_ERR_PARSE, "line 1, column 4", "end of file expected");
  /* Raw control character in a string. */
  spec_expect_error("{\"a\nb\": 1}", HFS_ERR_PARSE, "line 1");
  /* \u0000 inside a string cannot become a C string. */
  spec_bad_edit("{\"name\": \"sig\"", "{\"name\": \"s\\u0000ig\"", HFS_ERR_PARSE, "line 4",
                "\\u0000");
  /* Invalid UTF-8. */
  spec_bad_edit("{\"name\": \"sig\"", "{\"name\": \"s\xff\xfeig\"", HFS_ERR_PARSE, "line 4",
                "unable to decode byte 0xff");
}

static void test_duplicate_keys(void **state) {
  (void)state;
  spec_bad_edit("{\"name\": \"sig\", \"data\"", "{\"name\": \"sig\", \"name\": \"x\", \"data\"",
                HFS_ERR_PARSE, "t.json: line 4, column ", "duplicate object key");
  spec_bad_edit("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\", \"version\": \"1.0.0\"",
                HFS_ERR_PARSE, "duplicate object key", "line 35");
}

static void test_nonfinite_numbers(void **state) {
  (void)state;
  static const char *const bad[] = {"NaN", "nan",   "Infinity", "-Infinity",
                                    "inf", "1e999", "-1e400"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char to[64];
    snprintf(to, sizeof to, "\"data\": [1, %s]", bad[i]);
    spec_bad_edit("\"data\": [1, 2]", to, HFS_ERR_PARSE, "t.json: line 4, column ",
                  "numbers must be finite");
  }
  /* A huge integer literal and an underflowing real are fine (finite). */
  char *t = spec_edit("\"data\": [1, 2]", "\"data\": [123456789012345678901234567890, 1e-400]");
  hfs_spec *s = spec_expect_ok(t);
  assert_close(s->channels[0].samples[0].data[0], 1.2345678901234568e29, 1e15);
  assert_true(s->channels[0].samples[0].data[1] == 0.0);
  hfs_spec_destroy(&s);
  free(t);
}

/* n opening brackets of `open`, then n closing, with `prefix` in front. */
static char *nested(const char *prefix, int n, char open, char close) {
  size_t lp = strlen(prefix);
  char *t = malloc(lp + 2 * (size_t)n + 1);
  assert_non_null(t);
  memcpy(t, prefix, lp);
  memset(t + lp, open, (size_t)n);
  memset(t + lp + n, close, (size_t)n);
  t[lp + 2 * (size_t)n] = '\0';
  return t;
}

static void test_nesting_depth(void **state) {
  (void)state;
  char *t = nested("", HFS_SPEC_MAX_DEPTH + 1, '[', ']');
  spec_expect_error(t, HFS_ERR_PARSE, "t.json: line 1, column 65: nesting deeper than 64 levels");
  free(t);
  /* Exactly at the limit the document is parsed (and refused for its
   * type, not its depth). */
  t = nested("", HFS_SPEC_MAX_DEPTH, '[', ']');
  spec_expect_error(t, HFS_ERR_SCHEMA, "top level is a JSON array");
  free(t);
  /* Very deep input: no stack overflow, the scan stops at the limit. */
  t = nested("\n  ", 1000000, '[', ']');
  spec_expect_error(t, HFS_ERR_PARSE, "t.json: line 2, column 67: nesting");
  free(t);
  /* Objects count as well. */
  t = malloc(8 * 100 + 1);
  assert_non_null(t);
  t[0] = '\0';
  for (int i = 0; i < 100; i++) strcat(t, "{\"a\":");
  spec_expect_error(t, HFS_ERR_PARSE, "line 1, column 321: nesting");
  free(t);
  /* Deep nesting in the middle of a real workspace, line 6. */
  char *deep;
  deep = nested("", 70, '[', ']');
  char to[256];
  snprintf(to, sizeof to, "\"type\": \"lumi\", \"data\": %s}]},", deep);
  free(deep);
  t = spec_edit("\"type\": \"lumi\", \"data\": null}]},", to);
  spec_expect_error(t, HFS_ERR_PARSE, "t.json: line 6, column ", "nesting");
  free(t);
  /* Brackets inside strings (also after escaped quotes) do not count. */
  char key[300];
  memset(key, '[', 200);
  strcpy(key + 200, "\\\"{{{{");
  char *to2 = malloc(400);
  assert_non_null(to2);
  snprintf(to2, 400, "{\"name\": \"sig\", \"%s\": 1, \"data\"", key);
  t = spec_edit("{\"name\": \"sig\", \"data\"", to2);
  spec_expect_error(t, HFS_ERR_SCHEMA, "channels[0].samples[0].[[[", "unknown key");
  free(t);
  free(to2);
}

static void test_missing_keys(void **state) {
  (void)state;
  spec_bad_edit(",\n \"version\": \"1.0.0\"\n", "\n", HFS_ERR_SCHEMA,
                "t.json: (root): missing required key 'version'");
  spec_bad_edit(
      "\"data\": [2, 2, 2, 2, 2], \"modifiers\": [\n"
      "      {\"name\": \"sf\", \"type\": \"shapefactor\", \"data\": null}]",
      "\"data\": [2, 2, 2, 2, 2]", HFS_ERR_SCHEMA,
      "t.json: channels[1].samples[1]: missing required key 'modifiers'");
  spec_bad_edit("{\"name\": \"sf\", \"type\": \"shapefactor\", \"data\": null}",
                "{\"name\": \"sf\", \"type\": \"shapefactor\"}", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0]: missing "
                "required key 'data'");
  spec_bad_edit("{\"name\": \"norm\", \"factors\": [2]}", "{\"factors\": [2]}", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[2]: missing "
                "required key 'name'");
  spec_bad_edit("\"poi\": \"norm\", ", "", HFS_ERR_SCHEMA,
                "t.json: measurements[1].config: missing required key 'poi'");
  spec_bad_edit(", \"lo_data\": [3, 3, 3, 3, 2]", "", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[3].modifiers[2].data: missing "
                "required key 'lo_data'");
  spec_bad_edit(", \"lo\": 0.8", "", HFS_ERR_SCHEMA,
                "channels[1].samples[3].modifiers[1].data: missing required "
                "key 'lo'");
  spec_bad_edit("{\"name\": \"SR\", \"data\": [12, 25]}", "{\"name\": \"SR\"}", HFS_ERR_SCHEMA,
                "t.json: observations[0]: missing required key 'data'");
  bad_mini(CH_OK, OB_OK, "[{\"name\": \"m\"}]", HFS_ERR_SCHEMA,
           "t.json: measurements[0]: missing required key 'config'");
  bad_mini("[{\"samples\": []}]", OB_OK, ME_OK, HFS_ERR_SCHEMA,
           "t.json: channels[0]: missing required key 'name'");
}

static void test_unknown_keys(void **state) {
  (void)state;
  spec_bad_edit("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\", \"metadata\": {}",
                HFS_ERR_SCHEMA, "t.json: metadata: unknown key 'metadata'");
  spec_bad_edit("{\"name\": \"c\", \"data\"", "{\"name\": \"c\", \"colour\": \"red\", \"data\"",
                HFS_ERR_SCHEMA, "t.json: channels[1].samples[2].colour: unknown key 'colour'");
  spec_bad_edit("{\"hi\": 1.2, \"lo\": 0.8}", "{\"hi\": 1.2, \"lo\": 0.8, \"mid\": 1}",
                HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[3].modifiers[1].data.mid: "
                "unknown key 'mid'");
  spec_bad_edit("{\"name\": \"norm\", \"factors\": [2]}",
                "{\"name\": \"norm\", \"factors\": [2], \"step\": 0.1}", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[2].step: unknown");
  spec_bad_edit("\"poi\": \"norm\",", "\"poi\": \"norm\", \"pois\": [],", HFS_ERR_SCHEMA,
                "t.json: measurements[1].config.pois: unknown");
  spec_bad_edit("{\"name\": \"alt\",", "{\"name\": \"alt\", \"doc\": \"\",", HFS_ERR_SCHEMA,
                "t.json: measurements[1].doc: unknown");
  spec_bad_edit("{\"name\": \"CR\", \"data\"", "{\"name\": \"CR\", \"weights\": [1], \"data\"",
                HFS_ERR_SCHEMA, "t.json: observations[1].weights: unknown");
  spec_bad_edit("{\"name\": \"CR\", \"samples\"",
                "{\"name\": \"CR\", \"type\": \"cr\", \"samples\"", HFS_ERR_SCHEMA,
                "t.json: channels[1].type: unknown");
  spec_bad_edit("{\"name\": \"sf\", \"type\": \"shapefactor\", \"data\": null}",
                "{\"name\": \"sf\", \"type\": \"shapefactor\", \"data\": null, "
                "\"interpcode\": 4}",
                HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0].interpcode: "
                "unknown");
  spec_bad_edit("\"hi_data\": [5, 5, 5, 5, 6],", "\"hi_data\": [5, 5, 5, 5, 6], \"mid_data\": [4],",
                HFS_ERR_SCHEMA, "channels[1].samples[3].modifiers[2].data.mid_data: unknown");
}

static void test_empty_arrays(void **state) {
  (void)state;
  bad_mini("[]", OB_OK, ME_OK, HFS_ERR_SCHEMA,
           "t.json: channels: expected at least 1 channel, got none");
  bad_mini(CH_OK, "[]", ME_OK, HFS_ERR_SCHEMA,
           "t.json: observations: expected at least 1 observation");
  bad_mini(CH_OK, OB_OK, "[]", HFS_ERR_SCHEMA,
           "t.json: measurements: expected at least 1 measurement");
  bad_mini("[{\"name\": \"A\", \"samples\": []}]", OB_OK, ME_OK, HFS_ERR_SCHEMA,
           "t.json: channels[0].samples: expected at least 1 sample");
  spec_bad_edit("\"data\": [1, 1, 1, 1, 1]", "\"data\": []", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[0].data: expected at least one "
                "number, got an empty array");
  spec_bad_edit("\"data\": [12, 25]", "\"data\": []", HFS_ERR_SCHEMA,
                "t.json: observations[0].data: expected at least one number");
  spec_bad_edit("\"inits\": [1.5]", "\"inits\": []", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].inits: expected "
                "at least one number");
  spec_bad_edit("\"bounds\": [[0, 10]]", "\"bounds\": []", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].bounds: "
                "expected at least 1 [lo, hi] pair");
  spec_bad_edit("\"sigmas\": [0.02]", "\"sigmas\": []", HFS_ERR_SCHEMA,
                "parameters[1].sigmas: expected at least one number");
  spec_bad_edit("\"factors\": [2]", "\"factors\": []", HFS_ERR_SCHEMA,
                "parameters[2].factors: expected at least one number");
  spec_bad_edit("\"auxdata\": [1]", "\"auxdata\": []", HFS_ERR_SCHEMA,
                "parameters[1].auxdata: expected at least one number");
  spec_bad_edit("\"data\": [1.5, 2.5]", "\"data\": []", HFS_ERR_SCHEMA,
                "channels[0].samples[1].modifiers[1].data: expected at least "
                "one number");
}

static void test_wrong_types(void **state) {
  (void)state;
  /* The whole message, exactly. */
  {
    char *t = spec_edit("\"hi_data\": [5, 5, 5, 5, 6]", "\"hi_data\": [5, 5, 5, 5, \"6\"]");
    hfs_spec *s = NULL;
    assert_int_equal(hfs_spec_read_buffer(t, strlen(t), "t.json", &s), HFS_ERR_SCHEMA);
    assert_string_equal(hfs_error_message(),
                        "t.json: channels[1].samples[3].modifiers[2].data."
                        "hi_data[4]: expected a number, got string");
    free(t);
  }
  spec_bad_edit("{\"name\": \"CR\", \"samples\"", "{\"name\": 7, \"samples\"", HFS_ERR_SCHEMA,
                "t.json: channels[1].name: expected a string, got number");
  bad_mini("[{\"name\": \"A\", \"samples\": {}}]", OB_OK, ME_OK, HFS_ERR_SCHEMA,
           "t.json: channels[0].samples: expected an array, got object");
  bad_mini("{}", OB_OK, ME_OK, HFS_ERR_SCHEMA, "t.json: channels: expected an array, got object");
  bad_mini("[[]]", OB_OK, ME_OK, HFS_ERR_SCHEMA,
           "t.json: channels[0]: expected an object, got array");
  bad_mini(CH_OK, "[3]", ME_OK, HFS_ERR_SCHEMA,
           "t.json: observations[0]: expected an object, got number");
  bad_mini(CH_OK, OB_OK, "[null]", HFS_ERR_SCHEMA,
           "t.json: measurements[0]: expected an object, got null");
  bad_mini(CH_OK, OB_OK, "[{\"name\": \"m\", \"config\": []}]", HFS_ERR_SCHEMA,
           "t.json: measurements[0].config: expected an object, got array");
  bad_mini("[{\"name\": \"A\", \"samples\": [\"s\"]}]", OB_OK, ME_OK, HFS_ERR_SCHEMA,
           "t.json: channels[0].samples[0]: expected an object, got string");
  spec_bad_edit("{\"name\": \"sf\", \"type\": \"shapefactor\", \"data\": null}", "\"sf\"",
                HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0]: expected an "
                "object, got string");
  spec_bad_edit("\"name\": \"a\", \"data\": [1, 1, 1, 1, 1], \"modifiers\": []",
                "\"name\": \"a\", \"data\": [1, 1, 1, 1, 1], \"modifiers\": null", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[0].modifiers: expected an array, "
                "got null");
  spec_bad_edit("\"data\": [3, 3, 3, 3, 3]", "\"data\": 3", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[2].data: expected an array, got "
                "number");
  spec_bad_edit("\"type\": \"shapefactor\", \"data\": null",
                "\"type\": \"shapefactor\", \"data\": {}", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0].data: expected "
                "null, got object");
  spec_bad_edit("\"type\": \"lumi\", \"data\": null", "\"type\": \"lumi\", \"data\": [1]",
                HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[0].modifiers[1].data: expected "
                "null, got array");
  spec_bad_edit(
      "\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null},\n"
      "      {\"name\": \"lumi\"",
      "\"name\": \"mu\", \"type\": \"normfactor\", \"data\": 1},\n"
      "      {\"name\": \"lumi\"",
      HFS_ERR_SCHEMA,
      "t.json: channels[0].samples[0].modifiers[0].data: expected "
      "null, got number");
  spec_bad_edit("{\"hi\": 1.1, \"lo\": 0.9}", "[1.1, 0.9]", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].modifiers[0].data: expected "
                "an object, got array");
  spec_bad_edit("\"hi\": 1.1", "\"hi\": \"1.1\"", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].modifiers[0].data.hi: "
                "expected a number, got string");
  spec_bad_edit("\"lo\": 0.9", "\"lo\": null", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].modifiers[0].data.lo: "
                "expected a number, got null");
  spec_bad_edit("\"data\": [1.5, 2.5]", "\"data\": null", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].modifiers[1].data: expected "
                "an array, got null");
  spec_bad_edit("\"data\": {\"hi_data\"", "\"data\": [{\"hi_data\"", HFS_ERR_PARSE, "line 20");
  spec_bad_edit("\"lo_data\": [3, 3, 3, 3, 2]", "\"lo_data\": {}", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[3].modifiers[2].data.lo_data: "
                "expected an array, got object");
  spec_bad_edit("\"type\": \"shapefactor\"", "\"type\": 5", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0].type: expected a "
                "string, got number");
  spec_bad_edit("{\"name\": \"sf\"", "{\"name\": false", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0].name: expected a "
                "string, got boolean");
  spec_bad_edit("\"fixed\": false", "\"fixed\": \"true\"", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[1].fixed: expected "
                "a boolean, got string");
  spec_bad_edit("\"fixed\": false", "\"fixed\": 1", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[1].fixed: expected "
                "a boolean, got number");
  spec_bad_edit("\"poi\": \"norm\"", "\"poi\": null", HFS_ERR_SCHEMA,
                "t.json: measurements[1].config.poi: expected a string, got "
                "null");
  spec_bad_edit("\"parameters\": []", "\"parameters\": {}", HFS_ERR_SCHEMA,
                "t.json: measurements[1].config.parameters: expected an "
                "array, got object");
  spec_bad_edit("{\"name\": \"norm\", \"factors\": [2]}", "\"norm\"", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[2]: expected an "
                "object, got string");
  spec_bad_edit("\"inits\": [1.5]", "\"inits\": 1.5", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].inits: expected "
                "an array, got number");
  spec_bad_edit("\"auxdata\": [1]", "\"auxdata\": [\"1\"]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[1].auxdata[0]: "
                "expected a number, got string");
  spec_bad_edit("\"data\": [12, 25]", "\"data\": [12, true]", HFS_ERR_SCHEMA,
                "t.json: observations[0].data[1]: expected a number, got "
                "boolean");
  spec_bad_edit("{\"name\": \"SR\", \"data\"", "{\"name\": [\"SR\"], \"data\"", HFS_ERR_SCHEMA,
                "t.json: observations[0].name: expected a string, got array");
  spec_bad_edit("{\"name\": \"alt\"", "{\"name\": {}", HFS_ERR_SCHEMA,
                "t.json: measurements[1].name: expected a string, got object");
  spec_bad_edit("\"version\": \"1.0.0\"", "\"version\": 1.0", HFS_ERR_SCHEMA,
                "t.json: version: expected a string, got number");
  spec_bad_edit("\"version\": \"1.0.0\"", "\"version\": \"1.1.0\"", HFS_ERR_SCHEMA,
                "t.json: version: unsupported workspace version '1.1.0' "
                "(expected '1.0.0')");
}

static void test_bin_counts(void **state) {
  (void)state;
  spec_bad_edit("\"data\": [3, 3, 3, 3, 3]", "\"data\": [3, 3, 3, 3]", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[2].data: has 4 bins, expected 5");
  spec_bad_edit("\"data\": [10, 20]", "\"data\": [10, 20, 30]", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].data: has 3 bins, expected 2");
  spec_bad_edit("\"hi_data\": [5, 5, 5, 5, 6]", "\"hi_data\": [5, 5, 5, 5]", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[3].modifiers[2].data.hi_data: "
                "has 4 entries, but the sample has 5 bins");
  spec_bad_edit("\"lo_data\": [3, 3, 3, 3, 2]", "\"lo_data\": [3, 3, 3, 3, 2, 1]", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[3].modifiers[2].data.lo_data: "
                "has 6 entries, but the sample has 5 bins");
  spec_bad_edit("[0.1, 0.2, 0.3, 0.4, 0.5]", "[0.1, 0.2, 0.3]", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[2].modifiers[0].data: has 3 "
                "entries, but the sample has 5 bins");
  spec_bad_edit("\"data\": [1.5, 2.5]", "\"data\": [1.5, 2.5, 3.5]", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].modifiers[1].data: has 3 "
                "entries, but the sample has 2 bins");
  spec_bad_edit("\"data\": [10, 11, 9, 10, 13]", "\"data\": [10, 11, 9, 10]", HFS_ERR_SCHEMA,
                "t.json: observations[1].data: has 4 bins, but channel 'CR' "
                "(channels[1]) has 5");
}

static void test_unknown_modifier_type(void **state) {
  (void)state;
  spec_bad_edit("\"type\": \"shapefactor\"", "\"type\": \"shapefactr\"", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[1].modifiers[0].type: unknown "
                "modifier type 'shapefactr'");
  spec_bad_edit("\"type\": \"shapefactor\"", "\"type\": \"\"", HFS_ERR_SCHEMA,
                "modifiers[0].type: unknown modifier type ''");
  spec_bad_edit("\"type\": \"shapefactor\"", "\"type\": \"NormFactor\"", HFS_ERR_SCHEMA,
                "unknown modifier type 'NormFactor'");
}

static void test_lumi_name(void **state) {
  (void)state;
  spec_bad_edit("{\"name\": \"lumi\", \"type\": \"lumi\"",
                "{\"name\": \"luminosity\", \"type\": \"lumi\"", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[0].modifiers[1].name: a lumi "
                "modifier must be named 'lumi'",
                "'luminosity'");
}

static void test_negative_values(void **state) {
  (void)state;
  spec_bad_edit("\"data\": [1.5, 2.5]", "\"data\": [1.5, -2.5]", HFS_ERR_SCHEMA,
                "t.json: channels[0].samples[1].modifiers[1].data[1]: negative "
                "uncertainty -2.5");
  spec_bad_edit("[0.1, 0.2, 0.3, 0.4, 0.5]", "[0.1, 0.2, -0.3, 0.4, 0.5]", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[2].modifiers[0].data[2]: "
                "negative uncertainty -0.3");
  spec_bad_edit("\"data\": [12, 25]", "\"data\": [12, -1]", HFS_ERR_SCHEMA,
                "t.json: observations[0].data[1]: negative observed count -1");
  spec_bad_edit("\"sigmas\": [0.02]", "\"sigmas\": [0]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[1].sigmas[0]: "
                "sigma must be > 0, got 0");
  spec_bad_edit("\"sigmas\": [0.02]", "\"sigmas\": [-0.02]", HFS_ERR_SCHEMA,
                "sigmas[0]: sigma must be > 0, got -0.02");
  spec_bad_edit("\"factors\": [2]", "\"factors\": [2, -1e-3]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[2].factors[1]: "
                "factor must be > 0, got -0.001");

  /* Zero uncertainty, zero counts and negative nominal yields are
   * structurally fine (the model compiler decides what they mean). */
  char *t = spec_edit("\"data\": [1.5, 2.5]", "\"data\": [0, -0.0]");
  hfs_spec *s = spec_expect_ok(t);
  hfs_spec_destroy(&s);
  free(t);
  t = spec_edit("\"data\": [1, 2]", "\"data\": [-1, 0]");
  s = spec_expect_ok(t);
  assert_true(s->channels[0].samples[0].data[0] == -1.0);
  hfs_spec_destroy(&s);
  free(t);
  t = spec_edit("\"data\": [12, 25]", "\"data\": [0, 0]");
  s = spec_expect_ok(t);
  hfs_spec_destroy(&s);
  free(t);
}

static void test_duplicate_names(void **state) {
  (void)state;
  spec_bad_edit("{\"name\": \"CR\", \"samples\"", "{\"name\": \"SR\", \"samples\"", HFS_ERR_SCHEMA,
                "t.json: channels[1].name: duplicate channel name 'SR' (first at "
                "channels[0])");
  spec_bad_edit("{\"name\": \"c\", \"data\"", "{\"name\": \"a\", \"data\"", HFS_ERR_SCHEMA,
                "t.json: channels[1].samples[2].name: duplicate sample name "
                "'a' (first at channels[1].samples[0])");
  spec_bad_edit("{\"name\": \"CR\", \"data\"", "{\"name\": \"SR\", \"data\"", HFS_ERR_SCHEMA,
                "t.json: observations[1].name: duplicate observation name "
                "'SR'");
  spec_bad_edit("{\"name\": \"alt\"", "{\"name\": \"meas\"", HFS_ERR_SCHEMA,
                "t.json: measurements[1].name: duplicate measurement name "
                "'meas'");
  spec_bad_edit("{\"name\": \"norm\", \"factors\"", "{\"name\": \"mu\", \"factors\"",
                HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[2].name: duplicate "
                "parameter name 'mu' (first at "
                "measurements[0].config.parameters[0])");
  /* The error names the earliest repeat, whatever the sort order. */
  bad_mini(
      "[{\"name\": \"Z\", \"samples\": [{\"name\": \"s\", \"data\": [1], "
      "\"modifiers\": []}]}, {\"name\": \"A\", \"samples\": [{\"name\": "
      "\"s\", \"data\": [1], \"modifiers\": []}]}, {\"name\": \"A\", "
      "\"samples\": [{\"name\": \"s\", \"data\": [1], \"modifiers\": "
      "[]}]}, {\"name\": \"Z\", \"samples\": [{\"name\": \"s\", \"data\": "
      "[1], \"modifiers\": []}]}]",
      OB_OK, ME_OK, HFS_ERR_SCHEMA,
      "t.json: channels[2].name: duplicate channel name 'A' (first at "
      "channels[1])");
  /* Samples of the same name in different channels are fine. */
  char *t = spec_edit("{\"name\": \"a\", \"data\"", "{\"name\": \"sig\", \"data\"");
  hfs_spec *s = spec_expect_ok(t);
  hfs_spec_destroy(&s);
  free(t);
}

static void test_duplicate_modifier(void **state) {
  (void)state;
  spec_bad_edit(
      "{\"name\": \"norm\", \"type\": \"normsys\", \"data\": {\"hi\": 1.2, "
      "\"lo\": 0.8}}",
      "{\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null}", HFS_ERR_SCHEMA,
      "t.json: channels[1].samples[3].modifiers[1]: modifier 'mu' of type "
      "normfactor appears twice on this sample (first at "
      "channels[1].samples[3].modifiers[0])");
  /* Same name with a different type is the usual normsys + histosys pair. */
  char *t = spec_edit("{\"name\": \"shape\", \"type\": \"histosys\"",
                      "{\"name\": \"norm\", \"type\": \"histosys\"");
  hfs_spec *s = spec_expect_ok(t);
  assert_string_equal(s->channels[1].samples[3].mods[2].name, "norm");
  hfs_spec_destroy(&s);
  free(t);
}

static void test_missing_observation(void **state) {
  (void)state;
  spec_bad_edit("{\"name\": \"CR\", \"data\"", "{\"name\": \"XR\", \"data\"", HFS_ERR_SCHEMA,
                "t.json: channels[1]: no observation named 'CR'");
}

static int nwarn;
static char last_warning[1024];

static void count_warning(const char *line, void *ctx) {
  (void)ctx;
  nwarn++;
  snprintf(last_warning, sizeof last_warning, "%s", line);
}

static void test_extra_observation(void **state) {
  (void)state;
  char *t = spec_edit("{\"name\": \"SR\", \"data\": [12, 25]},",
                      "{\"name\": \"SR\", \"data\": [12, 25]},\n"
                      "  {\"name\": \"VR\", \"data\": [1, 2, 3]},");
  nwarn = 0;
  hfs_warn_sink old = hfs_warn_set_sink(count_warning, NULL);
  hfs_spec *s = spec_expect_ok(t);
  hfs_warn_set_sink(old, NULL);
  assert_int_equal(nwarn, 1);
  assert_non_null(strstr(last_warning, "t.json: observations[1]: no channel named 'VR'"));
  /* The observation stays in the tree, in file order. */
  assert_int_equal(s->nobs, 3);
  assert_string_equal(s->obs[1].name, "VR");
  hfs_spec_destroy(&s);
  free(t);

  /* No warning for a workspace whose observations all match. */
  nwarn = 0;
  old = hfs_warn_set_sink(count_warning, NULL);
  s = spec_expect_ok(spec_base_ws);
  hfs_warn_set_sink(old, NULL);
  assert_int_equal(nwarn, 0);
  hfs_spec_destroy(&s);
}

static void test_bounds(void **state) {
  (void)state;
  spec_bad_edit("\"bounds\": [[0, 10]]", "\"bounds\": [[0, 5, 10]]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].bounds[0]: a "
                "bounds entry must be a pair [lo, hi] of 2 numbers, got 3 "
                "entries");
  spec_bad_edit("\"bounds\": [[0, 10]]", "\"bounds\": [[0]]", HFS_ERR_SCHEMA,
                "parameters[0].bounds[0]: a bounds entry must be a pair", "got 1 entries");
  spec_bad_edit("\"bounds\": [[0, 10]]", "\"bounds\": [0, 10]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].bounds[0]: "
                "expected an array, got number");
  spec_bad_edit("\"bounds\": [[0, 10]]", "\"bounds\": [[0, \"10\"]]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].bounds[0][1]: "
                "expected a number, got string");
  spec_bad_edit("\"bounds\": [[0.5, 1.5]]", "\"bounds\": [[5, 1]]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[1].bounds[0]: "
                "inverted bounds [5, 1]");
  spec_bad_edit("\"inits\": [1.5]", "\"inits\": [12]", HFS_ERR_SCHEMA,
                "t.json: measurements[0].config.parameters[0].inits[0]: init "
                "12 outside bounds [0, 10]");
  spec_bad_edit("\"inits\": [1.5]", "\"inits\": [-0.1]", HFS_ERR_SCHEMA,
                "inits[0]: init -0.1 outside bounds [0, 10]");
  /* Multi-entry: the second pair is inverted, the error names it. */
  spec_bad_edit("\"inits\": [1.5], \"bounds\": [[0, 10]]",
                "\"inits\": [1.5, 2], \"bounds\": [[0, 10], [3, 2.5]]", HFS_ERR_SCHEMA,
                "parameters[0].bounds[1]: inverted bounds [3, 2.5]");
  spec_bad_edit("\"inits\": [1.5], \"bounds\": [[0, 10]]",
                "\"inits\": [1.5, 2], \"bounds\": [[0, 10], [3, 4]]", HFS_ERR_SCHEMA,
                "parameters[0].inits[1]: init 2 outside bounds [3, 4]");

  /* An init on a bound, equal bounds, and unequal lengths (left to the
   * model compiler) are accepted. */
  char *t = spec_edit("\"inits\": [1.5]", "\"inits\": [10]");
  hfs_spec *s = spec_expect_ok(t);
  hfs_spec_destroy(&s);
  free(t);
  t = spec_edit("\"bounds\": [[0.5, 1.5]]", "\"bounds\": [[1, 1]]");
  s = spec_expect_ok(t);
  hfs_spec_destroy(&s);
  free(t);
  t = spec_edit("\"inits\": [1.5]", "\"inits\": [12, 13]");
  s = spec_expect_ok(t);
  assert_int_equal(s->meas[0].params[0].ninits, 2);
  assert_int_equal(s->meas[0].params[0].nbounds, 1);
  hfs_spec_destroy(&s);
  free(t);
}

/* Keys and names from the input are shown on one line and cut when long. */
static void test_message_hygiene(void **state) {
  (void)state;
  spec_bad_edit("{\"name\": \"c\", \"data\"", "{\"name\": \"c\", \"a\\nb\\u0001\": 1, \"data\"",
                HFS_ERR_SCHEMA,
                "channels[1].samples[2].a\\x0ab\\x01: unknown key "
                "'a\\x0ab\\x01'");
  size_t n = 5000;
  char *to = malloc(n + 64);
  assert_non_null(to);
  strcpy(to, "{\"name\": \"c\", \"");
  size_t at = strlen(to);
  for (size_t i = 0; i < n; i++) to[at + i] = (char)('a' + i % 26);
  strcpy(to + at + n, "\": 1, \"data\"");
  char *t = spec_edit("{\"name\": \"c\", \"data\"", to);
  spec_expect_error(t, HFS_ERR_SCHEMA, "channels[1].samples[2].abcdef", "...", "unknown key");
  assert_true(strlen(hfs_error_message()) < 1000);
  free(t);
  /* Multi-byte UTF-8 names are cut at a character boundary. */
  char *name = malloc(4 * 200 + 1);
  assert_non_null(name);
  name[0] = '\0';
  for (int i = 0; i < 200; i++) strcat(name, "\xc3\xa9"); /* é */
  snprintf(to, n + 64, "\"type\": \"%s\"", name);
  t = spec_edit("\"type\": \"shapefactor\"", to);
  spec_expect_error(t, HFS_ERR_SCHEMA, "unknown modifier type '\xc3\xa9", "\xc3\xa9...'");
  free(t);
  free(name);
  free(to);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mini_is_valid),         cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_unreadable_file),       cmocka_unit_test(test_null_arguments),
      cmocka_unit_test(test_top_level_not_object),  cmocka_unit_test(test_malformed_json),
      cmocka_unit_test(test_duplicate_keys),        cmocka_unit_test(test_nonfinite_numbers),
      cmocka_unit_test(test_nesting_depth),         cmocka_unit_test(test_missing_keys),
      cmocka_unit_test(test_unknown_keys),          cmocka_unit_test(test_empty_arrays),
      cmocka_unit_test(test_wrong_types),           cmocka_unit_test(test_bin_counts),
      cmocka_unit_test(test_unknown_modifier_type), cmocka_unit_test(test_lumi_name),
      cmocka_unit_test(test_negative_values),       cmocka_unit_test(test_duplicate_names),
      cmocka_unit_test(test_duplicate_modifier),    cmocka_unit_test(test_missing_observation),
      cmocka_unit_test(test_extra_observation),     cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_message_hygiene),
  };
  return cmocka_run_group_tests_name("spec_errors", tests, NULL, NULL);
}
