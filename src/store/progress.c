/* The progress record every resumable file carries (docs/output.md, "Job
 * progress"), so that `hfscan status` answers for any kind of run from a
 * few attributes, without reading the file's tables. */
#include "hfs_error.h"
#include "hfs_store.h"

#include <stdio.h>
#include <string.h>

#include "store_internal.h"

static hfs_store_progress staged;
static int have_staged;

static int write_record(hfs_h5 *f, const hfs_store_progress *p) {
  int rc = HFS_OK;
  HFS_CHECK(hfs_h5_group(f, "/job"));
  HFS_CHECK(hfs_h5_attr_str(f, "/job", "kind", p->kind));
  HFS_CHECK(hfs_h5_attr_str(f, "/job", "unit", p->unit));
  HFS_CHECK(hfs_h5_attr_int(f, "/job", "n_done", p->done));
  HFS_CHECK(hfs_h5_attr_int(f, "/job", "n_total", p->total));
  HFS_CHECK(hfs_h5_attr_int(f, "/job", "complete", p->complete));
  HFS_CHECK(hfs_h5_attr_int(f, "/job", "array_index", p->array_index));
  HFS_CHECK(hfs_h5_attr_int(f, "/job", "array_count", p->array_count));
  /* The rate varies from run to run: with the other volatile facts. */
  HFS_CHECK(hfs_h5_group(f, "/provenance"));
  HFS_CHECK(hfs_h5_attr_double(f, "/provenance", "units_per_s", p->rate));
cleanup:
  return rc;
}

int hfs_store_write_progress(const char *path, const hfs_store_progress *p) {
  int rc = HFS_OK;
  hfs_h5 *f = NULL;
  HFS_CHECK(hfs_h5_open(path, 1, &f));
  HFS_CHECK(write_record(f, p));
  rc = hfs_h5_close(&f);
cleanup:
  hfs_h5_close(&f);
  return rc;
}

void hfs_store_stage_progress(const hfs_store_progress *p) {
  have_staged = p != NULL;
  if (p) staged = *p;
}

int hfs__store_stamp_staged(hfs_h5 *f) { return have_staged ? write_record(f, &staged) : HFS_OK; }

int hfs_store_read_progress(const char *path, hfs_store_progress *p) {
  int rc = HFS_OK;
  hfs_h5 *f = NULL;
  int64_t v;
  memset(p, 0, sizeof *p);
  p->rate = -1;
  HFS_CHECK(hfs_h5_open(path, 0, &f));
  if (!hfs_h5_exists(f, "/job"))
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: no /job progress record (not a resumable hfscan run)", path);
  HFS_CHECK(hfs_h5_get_attr_str(f, "/job", "kind", p->kind, sizeof p->kind));
  HFS_CHECK(hfs_h5_get_attr_str(f, "/job", "unit", p->unit, sizeof p->unit));
  HFS_CHECK(hfs_h5_get_attr_int(f, "/job", "n_done", &p->done));
  HFS_CHECK(hfs_h5_get_attr_int(f, "/job", "n_total", &p->total));
  HFS_CHECK(hfs_h5_get_attr_int(f, "/job", "complete", &v));
  p->complete = (int)v;
  HFS_CHECK(hfs_h5_get_attr_int(f, "/job", "array_index", &v));
  p->array_index = (int)v;
  HFS_CHECK(hfs_h5_get_attr_int(f, "/job", "array_count", &v));
  p->array_count = (int)v;
  if (p->done < 0 || p->total < 0 || p->done > p->total)
    HFS_FAIL(HFS_ERR_MISMATCH, "%s: /job: inconsistent counts (%lld of %lld)", path,
             (long long)p->done, (long long)p->total);
  /* Volatile and optional. */
  if (hfs_h5_get_attr_double(f, "/provenance", "units_per_s", &p->rate) != HFS_OK) p->rate = -1;
  if (hfs_h5_get_attr_int(f, "/provenance", "sessions", &p->sessions) != HFS_OK) p->sessions = 1;
  if (hfs_h5_get_attr_str(f, "/provenance", "written", p->written, sizeof p->written) != HFS_OK)
    p->written[0] = '\0';
cleanup:
  hfs_h5_close(&f);
  return rc;
}
