/* Helpers for hfscan's cmocka tests. */
#ifndef HFS_TEST_H
#define HFS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

/* Path of ../shared (reference data) or NULL when it is absent. */
const char *hfs_test_shared_dir(void);
/* Print a skip message and return 77 (ctest's SKIP_RETURN_CODE) when
 * ../shared is absent; use as: if (!hfs_test_shared_dir()) return
 * hfs_test_skip("why"); */
int hfs_test_skip(const char *why);
/* Read a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
char *hfs_test_read_file(const char *path, size_t *len);

/* |a - b| <= tol, failing with both values printed. */
#define assert_close(a, b, tol)                                                                    \
  do {                                                                                             \
    double hfs__a = (a), hfs__b = (b), hfs__t = (tol);                                             \
    if (!(fabs(hfs__a - hfs__b) <= hfs__t)) {                                                      \
      print_error("%s = %.12g, %s = %.12g, |diff| = %.3g > %.3g\n", #a, hfs__a, #b, hfs__b,        \
                  fabs(hfs__a - hfs__b), hfs__t);                                                  \
      fail();                                                                                      \
    }                                                                                              \
  } while (0)

#endif
