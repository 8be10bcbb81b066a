/* What the kinds with a done table share (job_internal.h). */
#include "hfs_error.h"
#include "job_internal.h"

int hfs__job_identify(const char *path, const char *group, char sha256[65], char **options,
                      int *array_index, int *array_count) {
  int rc = HFS_OK;
  hfs_h5 *h5 = NULL;
  *array_index = 0;
  *array_count = 1;
  HFS_CHECK(hfs_h5_open(path, 0, &h5));
  HFS_CHECK(hfs_store_read_identity(h5, group, sha256, options));
cleanup:
  hfs_h5_close(&h5);
  return rc;
}

int hfs__job_next_session(hfs_h5 *h5) {
  int64_t sessions = 1;
  if (hfs_h5_get_attr_int(h5, "/provenance", "sessions", &sessions) != HFS_OK) sessions = 1;
  return (int)sessions + 1;
}

int64_t hfs__job_undone(const uint8_t *done, int64_t n, int64_t *units) {
  int64_t k = 0;
  for (int64_t u = 0; u < n; ++u)
    if (!done[u]) units[k++] = u;
  return k;
}

int64_t hfs__job_ndone(const uint8_t *done, int64_t n) {
  int64_t k = 0;
  for (int64_t u = 0; u < n; ++u) k += done[u] != 0;
  return k;
}

void hfs__job_run_info(const hfs_job *job, const char *command, hfs_run_info *info) {
  const hfs_job_config *cfg = hfs_job_config_of(job);
  hfs_run_info r = {command,
                    cfg->command_line,
                    cfg->workspace,
                    cfg->workspace_sha256,
                    hfs_model_measurement(cfg->model),
                    hfs_optimizer_name(cfg->fit.optimizer),
                    cfg->model_options.normsys_code,
                    cfg->model_options.histosys_code,
                    hfs_job_elapsed(job),
                    hfs_job_nranks(job),
                    hfs_model_par_name(cfg->model, hfs_model_poi(cfg->model))};
  *info = r;
}
