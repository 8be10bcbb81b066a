/* Warnings from library code.  Library modules never print directly; they
 * call hfs_warn(), which forwards to a sink the program installs (stderr by
 * default).  Tests install a sink to capture warnings. */
#ifndef HFS_LOG_H
#define HFS_LOG_H

typedef void (*hfs_warn_sink)(const char *line, void *ctx);

void hfs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Install a sink (NULL restores stderr).  Returns the previous sink. */
hfs_warn_sink hfs_warn_set_sink(hfs_warn_sink sink, void *ctx);

#endif
