/* HDF5 helpers (see hfs_h5.h).  Every HDF5 call is checked; HDF5's own error
 * stack printing is switched off so messages come out as hfscan's one-line
 * errors. */
#include "hfs_h5.h"

#include "hfs_error.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

struct hfs_h5 {
  hid_t file;
  char *path;
  /* 1: created in memory (HDF5's core driver); the image reaches the disk
   * only in hfs_h5_close, through one atomic replace. */
  int in_memory;
  int failed; /* an operation on it failed */
};

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static int fail(hfs_h5 *f, const char *what, const char *obj) {
  /* A handle that failed once is never committed: its content is partial. */
  if (f) f->failed = 1;
  return hfs_error_set(HFS_ERR_HDF5, "%s: HDF5: cannot %s '%s'", f ? f->path : "?", what,
                       obj ? obj : "");
}

static char *copy_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static int wrap(hid_t id, const char *path, hfs_h5 **out) {
  hfs_h5 *f = calloc(1, sizeof *f);
  if (!f || !(f->path = copy_string(path))) {
    free(f);
    H5Fclose(id);
    return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  }
  f->file = id;
  *out = f;
  return HFS_OK;
}

/* A new file is built in memory and written out whole when it is closed:
 * HDF5 then never meets a full disk or a read-only folder half-way through
 * (where it leaves the file open inside the library and crashes at
 * MPI_Finalize), the error names the system's reason, and the previous
 * version of the file stays intact until the new one is complete. */
int hfs_h5_create(const char *path, hfs_h5 **out) {
  quiet();
  *out = NULL;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  /* The earliest format's superblock: HDF5 1.10's H5Fget_file_image leaves
   * a wrong checksum in the image of a version 2/3 superblock (it clears
   * the open-for-writing flags after checksumming), and the file is written
   * whole anyway, so the crash tolerance of the newer formats buys nothing. */
  H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
  H5Pset_fapl_core(fapl, (size_t)1 << 20, 0);
  /* The core driver reads an existing file of the given name into memory
   * even to truncate it: the image is created under a name that does not
   * exist (it never reaches the disk), so a commit over the previous
   * checkpoint does not read that checkpoint first. */
  char label[64];
  snprintf(label, sizeof label, "hfscan-image-%ld-%p", (long)getpid(), (void *)out);
  hid_t id = H5Fcreate(label, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (id < 0) return hfs_error_set(HFS_ERR_HDF5, "%s: cannot create HDF5 file", path);
  int rc = wrap(id, path, out);
  if (rc == HFS_OK) (*out)->in_memory = 1;
  return rc;
}

/* The image of an in-memory file, written to its path atomically. */
static int commit_image(hfs_h5 *f) {
  if (H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0) return fail(f, "flush", "");
  ssize_t n = H5Fget_file_image(f->file, NULL, 0);
  if (n <= 0) return fail(f, "serialise", "");
  void *buf = malloc((size_t)n);
  if (!buf)
    return hfs_error_set(HFS_ERR_NOMEM, "%s: out of memory for the %lld-byte file image", f->path,
                         (long long)n);
  int rc = HFS_OK;
  if (H5Fget_file_image(f->file, buf, (size_t)n) != n)
    rc = fail(f, "serialise", "");
  else
    rc = hfs__store_replace(f->path, buf, (size_t)n);
  free(buf);
  return rc;
}

int hfs_h5_open(const char *path, int writable, hfs_h5 **out) {
  quiet();
  *out = NULL;
  hid_t id = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) return hfs_error_set(HFS_ERR_HDF5, "%s: cannot open as an HDF5 file", path);
  return wrap(id, path, out);
}

int hfs_h5_flush(hfs_h5 *f) {
  if (H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0) return fail(f, "flush", "");
  return HFS_OK;
}

int hfs_h5_close(hfs_h5 **fp) {
  if (!fp || !*fp) return HFS_OK;
  hfs_h5 *f = *fp;
  int rc = HFS_OK;
  if (f->in_memory && !f->failed) {
    rc = hfs__store_stamp_staged(f);
    if (rc == HFS_OK) rc = commit_image(f);
  }
  if (f->in_memory && f->failed && rc == HFS_OK)
    rc = hfs_error_set(HFS_ERR_HDF5, "%s: not written: an earlier HDF5 operation failed", f->path);
  if (H5Fclose(f->file) < 0 && rc == HFS_OK) rc = fail(f, "close", "");
  free(f->path);
  free(f);
  *fp = NULL;
  return rc;
}

void hfs_h5_discard(hfs_h5 **fp) {
  if (!fp || !*fp) return;
  (*fp)->failed = 1;
  (*fp)->in_memory = 1; /* nothing else to write: an opened file is only read or patched */
  H5Fclose((*fp)->file);
  free((*fp)->path);
  free(*fp);
  *fp = NULL;
}

const char *hfs_h5_path(const hfs_h5 *f) { return f->path; }

int hfs_h5_exists(hfs_h5 *f, const char *path) {
  if (!strcmp(path, "/")) return 1;
  /* check every prefix: H5Lexists fails on a missing intermediate group */
  char buf[1024];
  size_t n = strlen(path);
  if (n >= sizeof buf) return 0;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; ++i) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (H5Lexists(f->file, buf, H5P_DEFAULT) <= 0) return 0;
      buf[i] = c;
    }
  }
  return 1;
}

int hfs_h5_group(hfs_h5 *f, const char *path) {
  if (hfs_h5_exists(f, path)) return HFS_OK;
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t g = H5Gcreate2(f->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (g < 0) return fail(f, "create group", path);
  H5Gclose(g);
  return HFS_OK;
}

int hfs_h5_delete(hfs_h5 *f, const char *path) {
  if (!hfs_h5_exists(f, path)) return HFS_OK;
  if (H5Ldelete(f->file, path, H5P_DEFAULT) < 0) return fail(f, "delete", path);
  return HFS_OK;
}

static int parent_groups(hfs_h5 *f, const char *path) {
  char buf[1024];
  size_t n = strlen(path);
  if (n >= sizeof buf) return fail(f, "use overlong path", path);
  memcpy(buf, path, n + 1);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return HFS_OK;
  *slash = '\0';
  return hfs_h5_group(f, buf);
}

static int attr_write(hfs_h5 *f, const char *obj, const char *name, hid_t type, const void *v) {
  int rc = HFS_OK;
  hid_t o = -1, sp = -1, a = -1;
  if (!hfs_h5_exists(f, obj) && (rc = hfs_h5_group(f, obj))) return rc;
  o = H5Oopen(f->file, obj, H5P_DEFAULT);
  if (o < 0) return fail(f, "open object", obj);
  if (H5Aexists(o, name) > 0) H5Adelete(o, name);
  sp = H5Screate(H5S_SCALAR);
  a = H5Acreate2(o, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0 || H5Awrite(a, type, v) < 0) rc = fail(f, "write attribute", name);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Oclose(o);
  return rc;
}

int hfs_h5_attr_str(hfs_h5 *f, const char *obj, const char *name, const char *v) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(v) + 1);
  H5Tset_cset(t, H5T_CSET_UTF8);
  int rc = attr_write(f, obj, name, t, v);
  H5Tclose(t);
  return rc;
}

int hfs_h5_attr_double(hfs_h5 *f, const char *obj, const char *name, double v) {
  return attr_write(f, obj, name, H5T_NATIVE_DOUBLE, &v);
}

int hfs_h5_attr_int(hfs_h5 *f, const char *obj, const char *name, int64_t v) {
  return attr_write(f, obj, name, H5T_NATIVE_INT64, &v);
}

static hid_t attr_open(hfs_h5 *f, const char *obj, const char *name, hid_t *o) {
  *o = -1;
  if (!hfs_h5_exists(f, obj)) return -1;
  *o = H5Oopen(f->file, obj, H5P_DEFAULT);
  if (*o < 0) return -1;
  if (H5Aexists(*o, name) <= 0) return -1;
  return H5Aopen(*o, name, H5P_DEFAULT);
}

int hfs_h5_get_attr_str(hfs_h5 *f, const char *obj, const char *name, char *buf, size_t n) {
  hid_t o, a = attr_open(f, obj, name, &o);
  int rc = HFS_OK;
  if (a < 0) {
    rc = hfs_error_set(HFS_ERR_NOT_FOUND, "%s: no attribute '%s' on '%s'", f->path, name, obj);
  } else {
    hid_t ft = H5Aget_type(a);
    size_t sz = H5Tget_size(ft);
    char *tmp = calloc(sz + 1, 1);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, sz + 1);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (!tmp || H5Tget_class(ft) != H5T_STRING || H5Aread(a, mt, tmp) < 0)
      rc = fail(f, "read attribute", name);
    else
      snprintf(buf, n, "%s", tmp);
    free(tmp);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Aclose(a);
  }
  if (o >= 0) H5Oclose(o);
  return rc;
}

static int attr_read(hfs_h5 *f, const char *obj, const char *name, hid_t type, void *v) {
  hid_t o, a = attr_open(f, obj, name, &o);
  int rc = HFS_OK;
  if (a < 0)
    rc = hfs_error_set(HFS_ERR_NOT_FOUND, "%s: no attribute '%s' on '%s'", f->path, name, obj);
  else {
    if (H5Aread(a, type, v) < 0) rc = fail(f, "read attribute", name);
    H5Aclose(a);
  }
  if (o >= 0) H5Oclose(o);
  return rc;
}

int hfs_h5_get_attr_double(hfs_h5 *f, const char *obj, const char *name, double *v) {
  return attr_read(f, obj, name, H5T_NATIVE_DOUBLE, v);
}

int hfs_h5_get_attr_int(hfs_h5 *f, const char *obj, const char *name, int64_t *v) {
  return attr_read(f, obj, name, H5T_NATIVE_INT64, v);
}

static int write_whole(hfs_h5 *f, const char *path, int rank, const int64_t *dims, hid_t type,
                       const void *data) {
  int rc = parent_groups(f, path);
  if (rc) return rc;
  hfs_h5_delete(f, path);
  hsize_t d[2] = {(hsize_t)dims[0], rank > 1 ? (hsize_t)dims[1] : 1};
  hid_t sp = H5Screate_simple(rank > 1 ? 2 : 1, d, NULL);
  hid_t ds = H5Dcreate2(f->file, path, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (ds < 0 || (d[0] * d[1] > 0 && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
    rc = fail(f, "write dataset", path);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(sp);
  return rc;
}

int hfs_h5_write_double(hfs_h5 *f, const char *path, int rank, const int64_t *dims,
                        const double *data) {
  return write_whole(f, path, rank, dims, H5T_NATIVE_DOUBLE, data);
}

int hfs_h5_write_int(hfs_h5 *f, const char *path, int rank, const int64_t *dims,
                     const int64_t *data) {
  return write_whole(f, path, rank, dims, H5T_NATIVE_INT64, data);
}

int hfs_h5_write_strings(hfs_h5 *f, const char *path, int64_t n, const char *const *s) {
  int rc = parent_groups(f, path);
  if (rc) return rc;
  hfs_h5_delete(f, path);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hsize_t d = (hsize_t)n;
  hid_t sp = H5Screate_simple(1, &d, NULL);
  hid_t ds = H5Dcreate2(f->file, path, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (ds < 0 || (n > 0 && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0))
    rc = fail(f, "write dataset", path);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(sp);
  H5Tclose(t);
  return rc;
}

int64_t hfs_h5_size(hfs_h5 *f, const char *path) {
  if (!hfs_h5_exists(f, path)) return -1;
  hid_t ds = H5Dopen2(f->file, path, H5P_DEFAULT);
  if (ds < 0) return -1;
  hid_t sp = H5Dget_space(ds);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  H5Dclose(ds);
  return (int64_t)n;
}

static int read_whole(hfs_h5 *f, const char *path, hid_t type, void *buf, int64_t n) {
  int64_t have = hfs_h5_size(f, path);
  if (have < 0) return hfs_error_set(HFS_ERR_NOT_FOUND, "%s: no dataset '%s'", f->path, path);
  if (have != n)
    return hfs_error_set(HFS_ERR_MISMATCH, "%s: dataset '%s' has %lld values, expected %lld",
                         f->path, path, (long long)have, (long long)n);
  hid_t ds = H5Dopen2(f->file, path, H5P_DEFAULT);
  int rc = HFS_OK;
  if (n > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    rc = fail(f, "read dataset", path);
  H5Dclose(ds);
  return rc;
}

int hfs_h5_read_double(hfs_h5 *f, const char *path, double *buf, int64_t n) {
  return read_whole(f, path, H5T_NATIVE_DOUBLE, buf, n);
}

int hfs_h5_read_int(hfs_h5 *f, const char *path, int64_t *buf, int64_t n) {
  return read_whole(f, path, H5T_NATIVE_INT64, buf, n);
}

int hfs_h5_read_strings(hfs_h5 *f, const char *path, int64_t n, char **out) {
  char **tmp = NULL;
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  int rc = HFS_OK;
  for (int64_t i = 0; i < n; ++i) out[i] = NULL;
  if (n > 0 && !(tmp = calloc((size_t)n, sizeof *tmp))) {
    rc = hfs_error_set(HFS_ERR_NOMEM, "out of memory");
    goto cleanup;
  }
  rc = read_whole(f, path, t, tmp, n);
  for (int64_t i = 0; i < n && rc == HFS_OK; ++i)
    if (!(out[i] = strdup(tmp[i] ? tmp[i] : "")))
      rc = hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  if (tmp && n > 0) {
    hsize_t d = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    H5Dvlen_reclaim(t, sp, H5P_DEFAULT, tmp);
    H5Sclose(sp);
  }
cleanup:
  free(tmp);
  H5Tclose(t);
  if (rc)
    for (int64_t i = 0; i < n; ++i) {
      free(out[i]);
      out[i] = NULL;
    }
  return rc;
}

static int rows_create(hfs_h5 *f, const char *path, int64_t nrows, int64_t ncols, hid_t type,
                       const void *fill) {
  int rc = parent_groups(f, path);
  if (rc) return rc;
  hfs_h5_delete(f, path);
  hsize_t d[2] = {(hsize_t)nrows, (hsize_t)ncols};
  int rank = ncols > 1 ? 2 : 1;
  hid_t sp = H5Screate_simple(rank, d, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_fill_value(dcpl, type, fill);
  /* allocate at creation so later writes never grow the file's metadata */
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  hid_t ds = H5Dcreate2(f->file, path, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds < 0)
    rc = fail(f, "create dataset", path);
  else
    H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(sp);
  return rc;
}

int hfs_h5_rows_create_double(hfs_h5 *f, const char *path, int64_t nrows, int64_t ncols,
                              double fill) {
  return rows_create(f, path, nrows, ncols, H5T_NATIVE_DOUBLE, &fill);
}

int hfs_h5_rows_create_int(hfs_h5 *f, const char *path, int64_t nrows, int64_t ncols,
                           int64_t fill) {
  return rows_create(f, path, nrows, ncols, H5T_NATIVE_INT64, &fill);
}

/* A block of rows, written (write = 1) or read; the rest of the dataset is
 * not touched. */
static int rows_io(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                   hid_t type, void *data, int write) {
  if (!write && !hfs_h5_exists(f, path))
    return hfs_error_set(HFS_ERR_NOT_FOUND, "%s: no dataset '%s'", f->path, path);
  hid_t ds = H5Dopen2(f->file, path, H5P_DEFAULT);
  if (ds < 0) return fail(f, "open dataset", path);
  int rc = HFS_OK;
  hid_t fs = H5Dget_space(ds);
  int rank = H5Sget_simple_extent_ndims(fs);
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)ncols};
  hid_t ms = H5Screate_simple(rank, count, NULL);
  if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      (write ? H5Dwrite(ds, type, ms, fs, H5P_DEFAULT, data)
             : H5Dread(ds, type, ms, fs, H5P_DEFAULT, data)) < 0)
    rc = fail(f, write ? "write rows of" : "read rows of", path);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(ds);
  return rc;
}

int hfs_h5_rows_read_double(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                            double *data) {
  return rows_io(f, path, row0, nrows, ncols, H5T_NATIVE_DOUBLE, data, 0);
}

int hfs_h5_rows_read_int(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                         int64_t *data) {
  return rows_io(f, path, row0, nrows, ncols, H5T_NATIVE_INT64, data, 0);
}

int hfs_h5_rows_write_double(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows,
                             int64_t ncols, const double *data) {
  return rows_io(f, path, row0, nrows, ncols, H5T_NATIVE_DOUBLE, (void *)data, 1);
}

int hfs_h5_rows_write_int(hfs_h5 *f, const char *path, int64_t row0, int64_t nrows, int64_t ncols,
                          const int64_t *data) {
  return rows_io(f, path, row0, nrows, ncols, H5T_NATIVE_INT64, (void *)data, 1);
}
