/* Output pre-check and the output lock (hfs_output_guard.h). */
#define _DEFAULT_SOURCE /* flock, gethostname */
#include "hfs_output_guard.h"

#include "hfs_error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder part of path ("." for a bare name), malloc'd. */
static char *folder_of(const char *path) {
  char *copy = strdup(path);
  if (!copy) return NULL;
  char *d = strdup(dirname(copy));
  free(copy);
  return d;
}

int hfs_store_output_check(const char *path) {
  int rc = HFS_OK;
  struct stat st;
  char *dir = NULL, *probe = NULL;
  if (!path || !*path) return hfs_error_set(HFS_ERR_ARG, "empty output path");
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return hfs_error_set(HFS_ERR_IO, "%s: the output is a folder; give a file name", path);
  dir = folder_of(path);
  if (!dir) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", path);
  if (stat(dir, &st) != 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot use the folder %s: %s", path, dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) HFS_FAIL(HFS_ERR_IO, "%s: %s is not a folder", path, dir);
  size_t n = strlen(dir) + 64;
  probe = malloc(n);
  if (!probe) HFS_FAIL(HFS_ERR_NOMEM, "%s: out of memory", path);
  snprintf(probe, n, "%s/.hfscan-probe-%ld", dir, (long)getpid());
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    HFS_FAIL(HFS_ERR_IO, "%s: cannot write in the folder %s: %s", path, dir, strerror(errno));
  /* One block, synced: a full file system refuses it (creating an empty file
   * needs no block and succeeds there). */
  static const char block[4096];
  ssize_t w = write(fd, block, sizeof block);
  int e = w == (ssize_t)sizeof block ? 0 : (w < 0 ? errno : ENOSPC);
  if (!e && fsync(fd) != 0) e = errno;
  close(fd);
  unlink(probe);
  if (e) HFS_FAIL(HFS_ERR_IO, "%s: cannot write in the folder %s: %s", path, dir, strerror(e));
cleanup:
  free(dir);
  free(probe);
  return rc;
}

struct hfs_store_lock {
  char *path; /* the lock file */
  int fd;
};

static void holder_line(char *buf, size_t n) {
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  const char *job = getenv("SLURM_JOB_ID");
  snprintf(buf, n, "%s %ld %s\n", host, (long)getpid(), job ? job : "-");
}

/* What a lock file says about its holder, for the refusal. */
static void read_holder(int fd, char *host, size_t nh, long *pid, char *job, size_t nj) {
  char buf[512] = "";
  ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
  buf[r > 0 ? r : 0] = '\0';
  *pid = -1;
  snprintf(host, nh, "?");
  snprintf(job, nj, "-");
  char h[256], j[64];
  long p;
  int k = sscanf(buf, "%255s %ld %63s", h, &p, j);
  if (k >= 2) {
    snprintf(host, nh, "%s", h);
    *pid = p;
  }
  if (k >= 3) snprintf(job, nj, "%s", j);
}

static int write_holder(int fd) {
  char line[400];
  holder_line(line, sizeof line);
  if (ftruncate(fd, 0) != 0) return -1;
  size_t n = strlen(line);
  return pwrite(fd, line, n, 0) == (ssize_t)n ? 0 : -1;
}

static int refuse(const char *out, const char *lock, int fd) {
  char host[256], job[64];
  long pid;
  read_holder(fd, host, sizeof host, &pid, job, sizeof job);
  if (pid < 0)
    return hfs_error_set(HFS_ERR_MISMATCH,
                         "%s is being written by another run that is starting (lock %s)", out,
                         lock);
  return hfs_error_set(HFS_ERR_MISMATCH,
                       "%s is being written by another run (pid %ld on %s%s%s; lock %s); wait "
                       "for it or stop it",
                       out, pid, host, strcmp(job, "-") ? ", Slurm job " : "",
                       strcmp(job, "-") ? job : "", lock);
}

/* Without flock(): whether the holder recorded in an existing lock is gone
 * for sure (same host and no such process, or this very Slurm job). */
static int holder_is_dead(int fd) {
  char host[256], job[64], me[256] = "";
  long pid;
  read_holder(fd, host, sizeof host, &pid, job, sizeof job);
  if (pid < 0) return 0;
  const char *myjob = getenv("SLURM_JOB_ID");
  if (myjob && !strcmp(myjob, job)) return 1;
  gethostname(me, sizeof me - 1);
  return !strcmp(me, host) && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int acquire_exclusive(const char *out, hfs_store_lock *l) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = open(l->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      l->fd = fd;
      return write_holder(fd) == 0 ? HFS_OK
                                   : hfs_error_set(HFS_ERR_IO, "%s: cannot write %s: %s", out,
                                                   l->path, strerror(errno));
    }
    if (errno != EEXIST)
      return hfs_error_set(HFS_ERR_IO, "%s: cannot create the lock %s: %s", out, l->path,
                           strerror(errno));
    fd = open(l->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    int dead = holder_is_dead(fd);
    if (!dead) {
      int rc = refuse(out, l->path, fd);
      close(fd);
      return rc;
    }
    close(fd);
    unlink(l->path);
  }
  return hfs_error_set(HFS_ERR_MISMATCH, "%s: cannot take the lock %s", out, l->path);
}

int hfs_store_lock_acquire(const char *path, hfs_store_lock **out) {
  int rc = HFS_OK;
  hfs_store_lock *l = NULL;
  *out = NULL;
  HFS_ALLOC(l, 1);
  l->fd = -1;
  size_t n = strlen(path) + 6;
  HFS_ALLOC(l->path, n);
  snprintf(l->path, n, "%s.lock", path);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      HFS_FAIL(HFS_ERR_IO, "%s: cannot create the lock %s: %s", path, l->path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      if (e == EWOULDBLOCK || e == EINTR) {
        rc = refuse(path, l->path, fd);
        close(fd);
        goto cleanup;
      }
      close(fd);
      HFS_CHECK(acquire_exclusive(path, l)); /* no flock() on this file system */
      *out = l;
      return HFS_OK;
    }
    /* The file may have been removed by its previous holder between our
     * open and our lock: the lock counts only on the file at the path. */
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      if (write_holder(fd) != 0) {
        int e = errno;
        close(fd);
        HFS_FAIL(HFS_ERR_IO, "%s: cannot write the lock %s: %s", path, l->path, strerror(e));
      }
      l->fd = fd;
      *out = l;
      return HFS_OK;
    }
    close(fd);
  }
  HFS_FAIL(HFS_ERR_MISMATCH, "%s: cannot take the lock %s", path, l->path);
cleanup:
  if (l) free(l->path);
  free(l);
  return rc;
}

void hfs_store_lock_release(hfs_store_lock **lp) {
  if (!lp || !*lp) return;
  hfs_store_lock *l = *lp;
  if (l->fd >= 0) {
    unlink(l->path);
    close(l->fd);
  }
  free(l->path);
  free(l);
  *lp = NULL;
}
