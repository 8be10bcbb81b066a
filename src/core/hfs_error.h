/* Error codes and propagation shared by every hfscan module.
 *
 * Functions return an int status: HFS_OK (0) or one of the codes below.  The
 * function that detects a problem records a one-line message with
 * hfs_error_set(); callers propagate the status unchanged with HFS_CHECK so
 * the first, most precise message survives.  The message buffer is
 * thread-local.  Nothing here exits or aborts: only the command line does. */
#ifndef HFS_ERROR_H
#define HFS_ERROR_H

#include <stddef.h>

/* X-macro list: symbol, text. */
#define HFS_ERROR_LIST(X)                                                                          \
  X(HFS_OK, "success")                                                                             \
  X(HFS_ERR_NOMEM, "out of memory")                                                                \
  X(HFS_ERR_IO, "input/output error")                                                              \
  X(HFS_ERR_PARSE, "malformed JSON")                                                               \
  X(HFS_ERR_SCHEMA, "workspace does not follow the pyhf schema")                                   \
  X(HFS_ERR_MODEL, "invalid model")                                                                \
  X(HFS_ERR_ARG, "invalid argument")                                                               \
  X(HFS_ERR_NUMERIC, "numerical failure")                                                          \
  X(HFS_ERR_OPTIMIZER, "optimizer library error")                                                  \
  X(HFS_ERR_NOT_FOUND, "not found")                                                                \
  X(HFS_ERR_BRACKET, "root not bracketed")                                                         \
  X(HFS_ERR_MPI, "MPI error")                                                                      \
  X(HFS_ERR_HDF5, "HDF5 error")                                                                    \
  X(HFS_ERR_MISMATCH, "incompatible existing output")                                              \
  X(HFS_ERR_INTERRUPTED, "interrupted")                                                            \
  X(HFS_ERR_INTERNAL, "internal error")

enum hfs_error_code {
#define HFS_ERROR_ENUM(sym, text) sym,
  HFS_ERROR_LIST(HFS_ERROR_ENUM)
#undef HFS_ERROR_ENUM
      HFS_ERR_COUNT
};

/* Text of a status code ("success", "malformed JSON", ...). */
const char *hfs_strerror(int code);

/* Record a printf-style message for the current error and return code.
 * The message should be one line, e.g. "ws.json: channels[1].name: expected a
 * string".  Later calls overwrite earlier ones. */
int hfs_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last recorded message, or the code's text if none was set. */
const char *hfs_error_message(void);
int hfs_error_code(void);
void hfs_error_clear(void);

/* Where a failure arose and every HFS_CHECK it passed on its way up, as
 * PETSc's traceback: the message stays the one line a user reads, the
 * trace says where in the code (printed by the command line when
 * HFS_ERROR_TRACE=1).  hfs_error_set() starts a new trace; at most
 * HFS_ERROR_TRACE_MAX sites are kept, later ones are counted. */
#define HFS_ERROR_TRACE_MAX 32
void hfs_error_trace_push(const char *file, int line);
/* "src/fit/engine.c:301 <- src/infer/infer.c:88 <- ..." (origin first),
 * "" when nothing was recorded. */
const char *hfs_error_trace(void);
int hfs_error_trace_depth(void);

/* Propagate a non-zero status to the caller's `cleanup:` label, recording
 * the site.  The caller declares `int rc = HFS_OK;` and returns rc after
 * cleanup. */
#define HFS_CHECK(expr)                                                                            \
  do {                                                                                             \
    rc = (expr);                                                                                   \
    if (rc != HFS_OK) {                                                                            \
      hfs_error_trace_push(__FILE__, __LINE__);                                                    \
      goto cleanup;                                                                                \
    }                                                                                              \
  } while (0)

/* Fail with a message (jumps to cleanup); the site is the trace's origin. */
#define HFS_FAIL(code, ...)                                                                        \
  do {                                                                                             \
    rc = hfs_error_set((code), __VA_ARGS__);                                                       \
    hfs_error_trace_push(__FILE__, __LINE__);                                                      \
    goto cleanup;                                                                                  \
  } while (0)

/* Allocation helpers that record HFS_ERR_NOMEM, saying what could not be
 * allocated and how much ("out of memory: 10000400016 x 8 bytes (80 GB) for
 * e->hfree at fit/engine.c:304"); callers that know the problem size add
 * it. */
#define HFS_ALLOC(ptr, count)                                                                      \
  do {                                                                                             \
    size_t hfs__n = (size_t)(count);                                                               \
    (ptr) = calloc(hfs__n ? hfs__n : 1, sizeof *(ptr));                                            \
    if (!(ptr))                                                                                    \
      HFS_FAIL(HFS_ERR_NOMEM, "out of memory: %zu x %zu bytes (%.3g GB) for %s at %s:%d", hfs__n,  \
               sizeof *(ptr), (double)hfs__n *(double)sizeof *(ptr) / 1e9, #ptr, __FILE__,         \
               __LINE__);                                                                          \
  } while (0)

#endif
