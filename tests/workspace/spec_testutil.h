/* Helpers shared by the spec tests: edit the base workspace and check that
 * reading it fails with a given status and message. */
#ifndef SPEC_TESTUTIL_H
#define SPEC_TESTUTIL_H

#include <stdlib.h>
#include <string.h>

#include "hfs_error.h"
#include "hfs_workspace.h"
#include "hfs_test.h"
#include "spec_base.h"

/* Label used for buffers in messages. */
#define SPEC_LABEL "t.json"

/* Number of non-overlapping occurrences of needle in s. */
static inline int spec_count(const char *s, const char *needle) {
  int n = 0;
  size_t k = strlen(needle);
  for (const char *p = strstr(s, needle); p; p = strstr(p + k, needle)) n++;
  return n;
}

/* A copy of `text` with the single occurrence of `from` replaced by `to`.
 * Failing when `from` is absent or ambiguous keeps the tests honest when
 * the base workspace changes. */
static inline char *spec_replace(const char *text, const char *from, const char *to) {
  int n = spec_count(text, from);
  if (n != 1) {
    print_error("edit target occurs %d times (want 1): %s\n", n, from);
    fail();
  }
  const char *at = strstr(text, from);
  size_t head = (size_t)(at - text), lf = strlen(from), lt = strlen(to);
  size_t tail = strlen(at + lf);
  char *out = malloc(head + lt + tail + 1);
  assert_non_null(out);
  memcpy(out, text, head);
  memcpy(out + head, to, lt);
  memcpy(out + head + lt, at + lf, tail + 1);
  return out;
}

/* The base workspace with edits applied: a NULL-terminated list of
 * from, to, from, to, ... */
static inline char *spec_edit_list(const char *const *pairs) {
  char *text = strdup(spec_base_ws);
  assert_non_null(text);
  for (; pairs[0]; pairs += 2) {
    char *next = spec_replace(text, pairs[0], pairs[1]);
    free(text);
    text = next;
  }
  return text;
}
#define spec_edit(...) spec_edit_list((const char *const[]){__VA_ARGS__, NULL})

/* Read `text`; require status `code` and a one-line message that starts
 * with the label and contains every needle. */
static inline void spec_expect_error_list(const char *text, size_t len, int code,
                                          const char *const *needles) {
  hfs_spec *s = (hfs_spec *)(uintptr_t)1;
  hfs_error_clear();
  int rc = hfs_spec_read_buffer(text, len, SPEC_LABEL, &s);
  const char *msg = hfs_error_message();
  if (rc != code) {
    print_error("status %d (%s), wanted %d (%s); message: %s\n", rc, hfs_strerror(rc), code,
                hfs_strerror(code), msg);
    fail();
  }
  assert_null(s);
  if (strncmp(msg, SPEC_LABEL ": ", strlen(SPEC_LABEL) + 2) != 0 || strchr(msg, '\n')) {
    print_error("message is not one line starting with the label: %s\n", msg);
    fail();
  }
  for (; *needles; needles++) {
    if (!strstr(msg, *needles)) {
      print_error("message lacks \"%s\": %s\n", *needles, msg);
      fail();
    }
  }
}
#define spec_expect_error(text, code, ...)                                                         \
  spec_expect_error_list((text), strlen(text), (code), (const char *const[]){__VA_ARGS__, NULL})

/* Apply one edit to the base workspace and expect a failure. */
#define spec_bad_edit(from, to, code, ...)                                                         \
  do {                                                                                             \
    char *spec__t = spec_edit((from), (to));                                                       \
    spec_expect_error(spec__t, (code), __VA_ARGS__);                                               \
    free(spec__t);                                                                                 \
  } while (0)

/* Read `text` and require success; the caller destroys the result. */
static inline hfs_spec *spec_expect_ok(const char *text) {
  hfs_spec *s = NULL;
  int rc = hfs_spec_read_buffer(text, strlen(text), SPEC_LABEL, &s);
  if (rc != HFS_OK) {
    print_error("unexpected failure %d: %s\n", rc, hfs_error_message());
    fail();
  }
  assert_non_null(s);
  return s;
}

#endif
