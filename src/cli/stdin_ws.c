/* "-" as the workspace reads it from standard input, as pyhf does.  mpiexec
 * gives standard input to rank 0 only, and summary reads the workspace once
 * per part, so rank 0 reads it once at start-up and every rank keeps a copy. */
#include "cli.h"
#include "hfs_error.h"
#include "hfs_sched.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *stdin_data;
static size_t stdin_len;
static int stdin_read;

static void release(void) {
  free(stdin_data);
  stdin_data = NULL;
}

static int slurp_stdin(void) {
  size_t cap = 1 << 16;
  stdin_len = 0;
  if (!(stdin_data = malloc(cap))) return hfs_error_set(HFS_ERR_NOMEM, "-: out of memory");
  size_t got;
  while ((got = fread(stdin_data + stdin_len, 1, cap - stdin_len, stdin)) > 0) {
    stdin_len += got;
    if (stdin_len == cap) {
      char *p = realloc(stdin_data, cap *= 2);
      if (!p) return hfs_error_set(HFS_ERR_NOMEM, "-: out of memory");
      stdin_data = p;
    }
  }
  if (ferror(stdin)) return hfs_error_set(HFS_ERR_IO, "-: cannot read standard input");
  if (stdin_len == 0)
    return hfs_error_set(HFS_ERR_PARSE,
                         "-: standard input is empty (pipe a workspace into "
                         "hfscan, e.g. cat ws.json | hfscan fit -)");
  return HFS_OK;
}

int hfs_cli_stdin_prepare(int argc, char **argv) {
  int want = 0, rc = HFS_OK, mine = HFS_OK, all = HFS_OK;
  for (int i = 1; i < argc; ++i) want |= !strcmp(argv[i], "-");
  if (!want) return HFS_OK;
  atexit(release);
  if (hfs_cli_rank() == 0) mine = slurp_stdin();
  HFS_MPI_CHECK(MPI_Bcast(&mine, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (mine) {
    rc = hfs_cli_rank() == 0 ? mine : hfs_error_set(mine, "rank 0 could not read stdin");
    goto cleanup;
  }
  unsigned long long n = stdin_len;
  HFS_MPI_CHECK(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD));
  if (hfs_cli_rank() != 0) {
    stdin_len = (size_t)n;
    mine = (stdin_data = malloc(stdin_len ? stdin_len : 1)) ? HFS_OK : HFS_ERR_NOMEM;
  }
  HFS_MPI_CHECK(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  if (all) HFS_FAIL(HFS_ERR_NOMEM, "-: out of memory for the workspace");
  for (size_t off = 0; off < stdin_len; off += INT_MAX) {
    size_t chunk = stdin_len - off < INT_MAX ? stdin_len - off : INT_MAX;
    HFS_MPI_CHECK(MPI_Bcast(stdin_data + off, (int)chunk, MPI_CHAR, 0, MPI_COMM_WORLD));
  }
  stdin_read = 1;
cleanup:
  return rc;
}

int hfs_cli_stdin_workspace(const char **data, size_t *len) {
  if (!stdin_read)
    return hfs_error_set(HFS_ERR_ARG,
                         "-: standard input is read only when '-' is the "
                         "workspace on the command line");
  *data = stdin_data;
  *len = stdin_len;
  return HFS_OK;
}
