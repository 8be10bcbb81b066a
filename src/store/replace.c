/* Atomic replacement of a file by a complete new content. */
#define _POSIX_C_SOURCE 200809L
#include "store_internal.h"

#include "hfs_error.h"
#include "hfs_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The folder is synced too: on most file systems the rename is durable only
 * once its directory entry is, and a requeued job must find the new file. */
static int sync_folder(const char *path) {
  char *copy = strdup(path);
  if (!copy) return HFS_OK;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  free(copy);
  if (fd < 0) return HFS_OK; /* not fatal: the rename happened */
  fsync(fd);
  close(fd);
  return HFS_OK;
}

int hfs__store_replace(const char *path, const void *buf, size_t n) {
  /* An orphan of a killed launcher must leave the file to the run that
   * replaces it. */
  if (hfs_launcher_gone())
    return hfs_error_set(HFS_ERR_INTERRUPTED,
                         "%s: not written: the launcher (pid %ld) of this run is gone", path,
                         hfs_launcher_pid());
  size_t len = strlen(path) + 5;
  char *tmp = malloc(len);
  if (!tmp) return hfs_error_set(HFS_ERR_NOMEM, "%s: out of memory", path);
  snprintf(tmp, len, "%s.tmp", path);
  int rc = HFS_OK;
  const char *what = "create";
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) goto fail;
  what = "write";
  for (size_t done = 0; done < n;) {
    ssize_t w = write(fd, (const char *)buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) goto fail;
    done += (size_t)w;
  }
  what = "sync";
  if (fsync(fd) != 0) goto fail;
  what = "close";
  int cfd = fd;
  fd = -1;
  if (close(cfd) != 0) goto fail;
  what = "rename into place";
  if (rename(tmp, path) != 0) goto fail;
  sync_folder(path);
  free(tmp);
  return HFS_OK;
fail : {
  int e = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  rc = hfs_error_set(HFS_ERR_IO,
                     "%s: cannot %s %s: %s (the previous file, if any, is "
                     "unchanged)",
                     path, what, tmp, strerror(e));
}
  free(tmp);
  return rc;
}
