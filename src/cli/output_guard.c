/* The output guard of a command (cli_guard.h). */
#include "cli_guard.h"

#include "hfs_error.h"
#include "hfs_sched.h"
#include "hfs_store.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

/* The locks this process holds until it ends: a command's output, or a
 * summary's folder and its five parts. */
#define HELD_MAX 8
static hfs_store_lock *held[HELD_MAX];
static int nheld;

/* check = 1: PATH is a file to be written (hfs_store_output_check). */
static int claim(const char *path, int check) {
  if (nheld == HELD_MAX)
    return hfs_error_set(HFS_ERR_INTERNAL, "%s: more than %d output locks", path, HELD_MAX);
  int rc = check ? hfs_store_output_check(path) : HFS_OK;
  if (!rc) rc = hfs_store_lock_acquire(path, &held[nheld]);
  if (!rc) ++nheld;
  return rc;
}

static int verdict(int mine, const char *path, int collective) {
  int rc = mine;
  if (collective && hfs_cli_size() > 1) {
    rc = HFS_OK;
    HFS_MPI_CHECK(MPI_Bcast(&mine, 1, MPI_INT, 0, MPI_COMM_WORLD));
    rc = mine;
    if (rc && hfs_cli_rank() != 0) hfs_error_set(rc, "the master cannot use %s", path);
  }
cleanup:
  return rc;
}

int hfs_cli_output_guard(const hfs_cli_opts *o, int collective) {
  int rc = HFS_OK;
  if (!o->output) return HFS_OK;
  if (hfs_cli_rank() == 0 && !nheld) rc = claim(o->output, 1);
  return verdict(rc, o->output, collective);
}

int hfs_cli_output_guard_folder(const char *dir, const char *const *files, int nfiles) {
  int rc = HFS_OK;
  char path[4096];
  if (hfs_cli_rank() == 0) {
    /* DIR.lock beside the folder: "out/" and "out" are one folder. */
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') --n;
    snprintf(path, sizeof path, "%.*s", (int)n, dir);
    rc = claim(path, 0);
    for (int i = 0; i < nfiles && !rc; ++i) {
      snprintf(path, sizeof path, "%s/%s", dir, files[i]);
      rc = claim(path, 1);
    }
  }
  return verdict(rc, dir, 1);
}

void hfs_cli_output_release(void) {
  while (nheld > 0) hfs_store_lock_release(&held[--nheld]);
}
