/* Damaged workspaces: truncate a valid one at every byte and overwrite each
 * byte with characters that matter to JSON.  The reader must answer with
 * success or a one-line error, never crash or leak (run under ASan and
 * valgrind).  The sanitizer build (HFS_TEST_QUICK=1) tries a fifth of the
 * byte flips (every replacement still at a fifth of the positions) and of
 * the splices, which there took 15 minutes in full on a loaded machine. */
#include "hfs_log.h"
#include "spec_testutil.h"

#include <stdlib.h>

static size_t stride(void) { return getenv("HFS_TEST_QUICK") ? 5 : 1; }

static void ignore_warning(const char *line, void *ctx) {
  (void)line;
  (void)ctx;
}

/* Read len bytes of text (not NUL-terminated at len) and check the answer
 * is well formed.  Returns the status. */
static int read_damaged(const char *text, size_t len) {
  hfs_spec *s = NULL;
  hfs_error_clear();
  int rc = hfs_spec_read_buffer(text, len, SPEC_LABEL, &s);
  if (rc == HFS_OK) {
    assert_non_null(s);
    assert_true(s->nchannels >= 1 && s->nobs >= 1 && s->nmeas >= 1);
    hfs_spec_destroy(&s);
  } else {
    const char *msg = hfs_error_message();
    assert_null(s);
    if (!(rc == HFS_ERR_PARSE || rc == HFS_ERR_SCHEMA) ||
        strncmp(msg, SPEC_LABEL ": ", strlen(SPEC_LABEL) + 2) != 0 || strchr(msg, '\n')) {
      print_error("bad answer %d: %s\n", rc, msg);
      fail();
    }
  }
  return rc;
}

static void test_truncations(void **state) {
  (void)state;
  size_t n = strlen(spec_base_ws);
  /* A heap copy per length so that ASan sees any read past len. */
  for (size_t len = 0; len < n; len++) {
    char *t = malloc(len ? len : 1);
    assert_non_null(t);
    memcpy(t, spec_base_ws, len);
    int rc = read_damaged(t, len);
    free(t);
    /* Only the final newline may be missing without harm. */
    if (len < n - 1) assert_int_not_equal(rc, HFS_OK);
  }
  assert_int_equal(read_damaged(spec_base_ws, n), HFS_OK);
}

static void test_byte_flips(void **state) {
  (void)state;
  static const char repl[] = {'{', '}', '[', ']', '"', ',',  ':',  '\\',   '-',
                              '0', '9', 'e', 'x', ' ', '\n', '\0', '\x80', '\xff'};
  size_t n = strlen(spec_base_ws);
  int nok = 0, nerr = 0;
  hfs_warn_sink old = hfs_warn_set_sink(ignore_warning, NULL);
  char *t = malloc(n);
  assert_non_null(t);
  size_t q = stride();
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < sizeof repl; k++) {
      if (spec_base_ws[i] == repl[k] || (i + k) % q != 0) continue;
      memcpy(t, spec_base_ws, n);
      t[i] = repl[k];
      if (read_damaged(t, n) == HFS_OK)
        nok++;
      else
        nerr++;
    }
  }
  free(t);
  hfs_warn_set_sink(old, NULL);
  /* Both outcomes occur (a digit changed inside a number is still valid). */
  assert_true(nok > 0);
  assert_true(nerr > 0);
  print_message("byte flips: %d accepted, %d refused\n", nok, nerr);
}

/* Cut-and-repeat: splice the workspace with a shifted copy of itself. */
static void test_splices(void **state) {
  (void)state;
  size_t n = strlen(spec_base_ws);
  char *t = malloc(2 * n);
  assert_non_null(t);
  hfs_warn_sink old = hfs_warn_set_sink(ignore_warning, NULL);
  for (size_t cut = 0; cut < n; cut += 7 * stride()) {
    for (size_t from = 0; from < n; from += 53) {
      memcpy(t, spec_base_ws, cut);
      memcpy(t + cut, spec_base_ws + from, n - from);
      read_damaged(t, cut + n - from);
    }
  }
  hfs_warn_set_sink(old, NULL);
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_byte_flips),
      cmocka_unit_test(test_splices),
  };
  return cmocka_run_group_tests_name("spec_fuzz", tests, NULL, NULL);
}
