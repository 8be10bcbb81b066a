#include "hfs_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *hfs_test_shared_dir(void) {
  static char path[4096];
  const char *env = getenv("HFS_SHARED_DIR");
  struct stat st;
  snprintf(path, sizeof path, "%s", env && *env ? env : HFS_SHARED_DIR);
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/reference/README.md", path);
  if (stat(probe, &st) != 0) return NULL;
  return path;
}

int hfs_test_skip(const char *why) {
  printf("SKIP: %s (reference data ../shared not found at %s)\n", why, HFS_SHARED_DIR);
  return 77;
}

char *hfs_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[n] = '\0';
  fclose(f);
  if (len && buf) *len = (size_t)n;
  return buf;
}
