/* Output folders: created with their parents, and a failure says why. */
#include "cli.h"
#include "hfs_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hfs_cli_mkdirs(const char *dir) {
  char *p = strdup(dir);
  if (!p) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  int rc = HFS_OK;
  struct stat st;
  /* Each prefix in turn; one that exists already (made by another rank or
   * job at the same moment) is fine as long as it is a folder. */
  for (char *s = p + 1;; ++s) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      rc = hfs_error_set(HFS_ERR_IO, "cannot create folder %s: %s", p, strerror(errno));
      break;
    }
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
      rc = hfs_error_set(HFS_ERR_IO, "cannot create folder %s: %s", p,
                         strerror(stat(p, &st) != 0 ? errno : ENOTDIR));
      break;
    }
    *s = c;
    if (c == '\0') break;
  }
  if (!rc && access(p, W_OK) != 0)
    rc = hfs_error_set(HFS_ERR_IO, "cannot write in folder %s: %s", p, strerror(errno));
  free(p);
  return rc;
}

int hfs_cli_prepare_output(const char *file) {
  const char *slash = strrchr(file, '/');
  if (!slash || slash == file) return HFS_OK;
  char *dir = strndup(file, (size_t)(slash - file));
  if (!dir) return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  int rc = hfs_cli_mkdirs(dir);
  free(dir);
  /* The user named the file, not the folder: say which output it was. */
  if (rc) rc = hfs_error_set(rc, "%s: %s", file, hfs_error_message());
  return rc;
}
