/* A thin layer over HDF5 for hfscan's output files: groups, attributes,
 * whole datasets, and preallocated row datasets written by index (the
 * checkpoint format: a result lands in its row as soon as it arrives, and a
 * 'done' column says which rows hold results).  Only this module includes
 * hdf5.h.  Files are written by one process (the master). */
#ifndef HFS_H5_H
#define HFS_H5_H

#include <stddef.h>
#include <stdint.h>

typedef struct hfs_h5 hfs_h5;

/* Create a new file or open an existing one.  A created file is built in
 * memory: nothing reaches the disk before hfs_h5_close, which writes the
 * whole file to PATH.tmp, syncs it, renames it over PATH and syncs the
 * folder, so PATH holds either its previous content or the new one, never
 * a part.  An opened file is read (or patched in place when writable). */
int hfs_h5_create(const char *path, hfs_h5 **out);
int hfs_h5_open(const char *path, int writable, hfs_h5 **out);
/* Flush everything to disk (HDF5 metadata included). */
int hfs_h5_flush(hfs_h5 *f);
/* Close; NULL-safe; sets *f to NULL.  For a created file this is the commit
 * described above; it fails with one line naming the file and the system's
 * reason (no space left on device, read-only file system, ...) and leaves
 * the previous file in place.  A handle on which any operation failed is
 * not committed (and the close says so). */
int hfs_h5_close(hfs_h5 **f);
/* Close without writing anything (error paths); NULL-safe. */
void hfs_h5_discard(hfs_h5 **f);
const char *hfs_h5_path(const hfs_h5 *f);

/* Groups: create with parents when absent. */
int hfs_h5_group(hfs_h5 *f, const char *path);
int hfs_h5_exists(hfs_h5 *f, const char *path);
int hfs_h5_delete(hfs_h5 *f, const char *path);

/* Attributes on a group or dataset (replaced if present). */
int hfs_h5_attr_str(hfs_h5 *f, const char *obj, const char *name, const char *v);
int hfs_h5_attr_double(hfs_h5 *f, const char *obj, const char *name, double v);
int hfs_h5_attr_int(hfs_h5 *f, const char *obj, const char *name, int64_t v);
int hfs_h5_get_attr_str(hfs_h5 *f, const char *obj, const char *name, char *buf, size_t n);
int hfs_h5_get_attr_double(hfs_h5 *f, const char *obj, const char *name, double *v);
int hfs_h5_get_attr_int(hfs_h5 *f, const char *obj, const char *name, int64_t *v);

/* Whole datasets (rank 1 or 2; dims[1] ignored for rank 1).  Parent groups
 * are created.  An existing dataset of the same name is replaced. */
int hfs_h5_write_double(hfs_h5 *f, const char *path, int rank, const int64_t *dims,
                        const double *data);
int hfs_h5_write_int(hfs_h5 *f, const char *path, int rank, const int64_t *dims,
                     const int64_t *data);
int hfs_h5_write_strings(hfs_h5 *f, const char *path, int64_t n, const char *const *s);

/* Number of elements of a dataset (product of dims), or -1. */
int64_t hfs_h5_size(hfs_h5 *f, const char *path);
int hfs_h5_read_double(hfs_h5 *f, const char *path, double *buf, int64_t n);
int hfs_h5_read_int(hfs_h5 *f, const char *path, int64_t *buf, int64_t n);
/* n strings of a dataset written by hfs_h5_write_strings, each malloc'd into
 * out[i] (the caller frees them; all NULL on failure). */
int hfs_h5_read_strings(hfs_h5 *f, const char *path, int64_t n, char **out);

/* Row datasets: nrows x ncols, preallocated with a fill value, written and
 * read by blocks of rows.  ncols = 1 makes a 1-D dataset. */
int hfs_h5_rows_create_double(hfs_h5 *f, const char *path, int64_t nrows, int64_t ncols,
                              double fill);
int hfs_h5_rows_create_int(hfs_h5 *f, const char *path, int64_t nrows, int64_t ncols, int64_t fill);
int hfs_h5_rows_write_double(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows,
                             int64_t ncols, const double *data);
int hfs_h5_rows_write_int(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                          const int64_t *data);
/* Blocks of rows of any dataset (1-D or 2-D), read without loading the
 * rest: bounded memory on files of any size. */
int hfs_h5_rows_read_double(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                            double *data);
int hfs_h5_rows_read_int(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                         int64_t *data);

#endif
