/* The atomic replace behind every commit of a checkpoint or result file. */
#define _POSIX_C_SOURCE 200809L /* fsync, O_DIRECTORY */
#include "hfs_error.h"
#include "hfs_job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fsync a file or folder by name. */
static int sync_path(const char *path, int flags) {
  int fd = open(path, flags);
  if (fd < 0) return -1;
  int r = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

int hfs_job_replace_file(const char *path, int (*write)(void *ctx, const char *tmp), void *ctx) {
  int rc = HFS_OK;
  size_t n = strlen(path);
  char *tmp = malloc(n + 5), *dir = malloc(n + 2);
  if (!tmp || !dir) {
    rc = hfs_error_set(HFS_ERR_NOMEM, "%s: out of memory", path);
    goto cleanup;
  }
  snprintf(tmp, n + 5, "%s.tmp", path);
  HFS_CHECK(write(ctx, tmp));
  /* On disk before it replaces the previous version ... */
  if (sync_path(tmp, O_RDONLY) != 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot sync %s to disk: %s", path, tmp, strerror(errno));
  if (rename(tmp, path) != 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
  /* ... and the rename itself survives a crash once the folder is synced. */
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, n + 2, ".");
  else if (slash == path)
    snprintf(dir, n + 2, "/");
  else
    snprintf(dir, n + 2, "%.*s", (int)(slash - path), path);
  if (sync_path(dir, O_RDONLY | O_DIRECTORY) != 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot sync the folder %s: %s", path, dir, strerror(errno));
cleanup:
  if (rc && tmp) remove(tmp);
  free(tmp);
  free(dir);
  return rc;
}
