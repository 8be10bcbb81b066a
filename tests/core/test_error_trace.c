/* The error trace: the origin of a failure and every HFS_CHECK it passed,
 * with the message left as the one line a user reads. */
#include "hfs_error.h"
#include "hfs_test.h"

#include <stdio.h>
#include <string.h>

static int fail_line, check_line;

static int innermost(int code) {
  int rc = HFS_OK;
  fail_line = __LINE__ + 1;
  if (code) HFS_FAIL(code, "ws.json: channels[0].name: expected a string");
cleanup:
  return rc;
}

static int middle(int code) {
  int rc = HFS_OK;
  check_line = __LINE__ + 1;
  HFS_CHECK(innermost(code));
cleanup:
  return rc;
}

static int outer(int code) {
  int rc = HFS_OK;
  HFS_CHECK(middle(code));
  HFS_CHECK(middle(code)); /* not reached on failure */
cleanup:
  return rc;
}

static void test_trace_records_origin_then_callers(void **state) {
  (void)state;
  hfs_error_clear();
  assert_int_equal(outer(HFS_ERR_SCHEMA), HFS_ERR_SCHEMA);
  assert_string_equal(hfs_error_message(), "ws.json: channels[0].name: expected a string");
  assert_int_equal(hfs_error_trace_depth(), 3);
  char want[128];
  snprintf(want, sizeof want, "test_error_trace.c:%d <- ", fail_line);
  const char *t = hfs_error_trace();
  assert_non_null(strstr(t, want));
  snprintf(want, sizeof want, "test_error_trace.c:%d <- ", check_line);
  assert_non_null(strstr(t, want));
  /* origin first */
  snprintf(want, sizeof want, ":%d", fail_line);
  char want2[32];
  snprintf(want2, sizeof want2, ":%d", check_line);
  assert_true(strstr(t, want) < strstr(t, want2));
}

static void test_success_leaves_no_trace(void **state) {
  (void)state;
  hfs_error_clear();
  assert_int_equal(outer(HFS_OK), HFS_OK);
  assert_int_equal(hfs_error_trace_depth(), 0);
  assert_string_equal(hfs_error_trace(), "");
}

static void test_new_error_starts_new_trace(void **state) {
  (void)state;
  assert_int_equal(outer(HFS_ERR_MODEL), HFS_ERR_MODEL);
  hfs_error_set(HFS_ERR_ARG, "another");
  assert_int_equal(hfs_error_trace_depth(), 0);
  assert_int_equal(middle(HFS_ERR_IO), HFS_ERR_IO);
  assert_int_equal(hfs_error_trace_depth(), 2);
}

static int deep(int n) {
  int rc = HFS_OK;
  if (n == 0) HFS_FAIL(HFS_ERR_NUMERIC, "deep");
  HFS_CHECK(deep(n - 1));
cleanup:
  return rc;
}

static void test_overflow_is_counted(void **state) {
  (void)state;
  assert_int_equal(deep(HFS_ERROR_TRACE_MAX + 9), HFS_ERR_NUMERIC);
  assert_int_equal(hfs_error_trace_depth(), HFS_ERROR_TRACE_MAX + 10);
  assert_non_null(strstr(hfs_error_trace(), "(10 more)"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace_records_origin_then_callers),
      cmocka_unit_test(test_success_leaves_no_trace),
      cmocka_unit_test(test_new_error_starts_new_trace),
      cmocka_unit_test(test_overflow_is_counted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
