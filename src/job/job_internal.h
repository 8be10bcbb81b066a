/* Shared by the job kinds whose output holds one row per unit with a done
 * flag (gof, pscan): the parts of identify, resume, pending, progress and
 * save that do not depend on what a unit is (unit_table.c). */
#ifndef HFS_JOB_INTERNAL_H
#define HFS_JOB_INTERNAL_H

#include "hfs_job.h"
#include "hfs_store.h"

#include <stdint.h>

/* The identity stored in /GROUP of path (attribute options, root
 * workspace_sha256); no array parts. */
int hfs__job_identify(const char *path, const char *group, char sha256[65], char **options,
                      int *array_index, int *array_count);
/* The sessions of an open file plus this one. */
int hfs__job_next_session(hfs_h5 *h5);
/* Units not done, in index order; how many are done. */
int64_t hfs__job_undone(const uint8_t *done, int64_t n, int64_t *units);
int64_t hfs__job_ndone(const uint8_t *done, int64_t n);
/* The root attributes and provenance of the job's output. */
void hfs__job_run_info(const hfs_job *job, const char *command, hfs_run_info *info);

#endif
