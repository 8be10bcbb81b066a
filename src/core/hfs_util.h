/* Small utilities shared by the modules: hashing files, wall clock. */
#ifndef HFS_UTIL_H
#define HFS_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* SHA-256 of a file as 64 lowercase hex characters plus NUL. */
int hfs_sha256_file(const char *path, char hex[65]);
/* SHA-256 of a buffer. */
void hfs_sha256_buffer(const void *data, size_t len, char hex[65]);

/* Monotonic seconds. */
double hfs_now(void);

/* Writes s with control characters (newlines, escape sequences, DEL)
 * spelled as \n, \t, \r or \xNN, so that a name taken from an input file
 * cannot break a one-line message or drive the terminal. */
void hfs_fputs_escaped(const char *s, FILE *out);

#endif
