/* Private to the store module: the one place where a file reaches the disk. */
#ifndef HFS_STORE_INTERNAL_H
#define HFS_STORE_INTERNAL_H

#include <stddef.h>

/* Write n bytes to PATH.tmp, fsync it, rename it over path and fsync the
 * folder.  On failure PATH is untouched, PATH.tmp is removed and the message
 * names the file and the system's reason (strerror). */
int hfs__store_replace(const char *path, const void *buf, size_t n);

/* The progress record staged by hfs_store_stage_progress, written into a
 * created file just before its image is committed (HFS_OK when none). */
struct hfs_h5;
int hfs__store_stamp_staged(struct hfs_h5 *f);

#endif
