#include "hfs_util.h"

#include "hfs_error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <time.h>

static void to_hex(const unsigned char *d, unsigned n, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < n && i < 32; ++i) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  hex[64] = '\0';
}

void hfs_sha256_buffer(const void *data, size_t len, char hex[65]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
  to_hex(d, n, hex);
}

int hfs_sha256_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return hfs_error_set(HFS_ERR_IO, "%s: cannot open for hashing", path);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx) {
    fclose(f);
    return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  }
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
  int err = ferror(f);
  fclose(f);
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, d, &len);
  EVP_MD_CTX_free(ctx);
  if (err) return hfs_error_set(HFS_ERR_IO, "%s: read error while hashing", path);
  to_hex(d, len, hex);
  return HFS_OK;
}

double hfs_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void hfs_fputs_escaped(const char *s, FILE *out) {
  for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
    if (*p == '\n')
      fputs("\\n", out);
    else if (*p == '\t')
      fputs("\\t", out);
    else if (*p == '\r')
      fputs("\\r", out);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(out, "\\x%02x", *p);
    else
      fputc(*p, out);
  }
}
