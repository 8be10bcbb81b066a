/* From the command line's options and loaded workspace to the job layer's
 * configuration (hfs_job.h), which knows nothing of the command line. */
#include "cli.h"

void hfs_cli_job_config(const hfs_cli_opts *o, const hfs_cli_ctx *c, hfs_job_config *cfg) {
  hfs_job_config_default(cfg);
  cfg->model = c->model;
  cfg->fixed = c->fixed;
  cfg->init = c->init;
  cfg->workspace = o->workspace;
  cfg->workspace_sha256 = c->sha256;
  cfg->fit = o->fit;
  cfg->model_options = o->model;
  cfg->robust_observed = o->robust != HFS_ROBUST_OFF;
  cfg->robust_toys = o->robust == HFS_ROBUST_TOYS;
  cfg->output = o->output;
  cfg->overwrite = o->overwrite;
  cfg->checkpoint_interval = o->checkpoint_interval;
  cfg->worker_timeout = o->worker_timeout;
  cfg->quiet = o->quiet;
  cfg->command_line = o->argv_line;
  cfg->annotate = hfs_cli_poi_bound_h5;
  cfg->toys.ts = o->ts;
  cfg->toys.mu = o->mu;
  cfg->toys.cl = o->cl;
  cfg->toys.npoints = o->nscan;
  cfg->toys.lo = o->scan_lo;
  cfg->toys.hi = o->scan_hi;
  cfg->toys.ntoys = o->ntoys;
  cfg->toys.seed = o->seed;
  cfg->toys.array_index = o->array_index;
  cfg->toys.array_count = o->array_count;
  cfg->ranking.groups = o->groups;
  cfg->ranking.ngroups = o->ngroups;
  cfg->scan.lo = o->scan_lo;
  cfg->scan.hi = o->scan_hi;
  cfg->scan.npoints = o->nscan;
  cfg->scan.levels = o->levels;
  cfg->scan.nlevels = o->nlevels;
  cfg->gof.ntoys = o->ntoys;
  cfg->gof.seed = o->seed;
  cfg->pscan.ndim = o->npar_scan;
  for (int k = 0; k < o->npar_scan && k < 2; ++k) {
    cfg->pscan.par[k] = o->par_name[k];
    cfg->pscan.lo[k] = o->par_lo[k];
    cfg->pscan.hi[k] = o->par_hi[k];
    cfg->pscan.n[k] = o->par_n[k];
  }
  cfg->pscan.freeze_groups = o->freeze_group;
  cfg->pscan.nfreeze_groups = o->nfreeze_group;
  hfs_cli_data_config(cfg);
}

int hfs_cli_job_report(int code) {
  if ((code == HFS_EXIT_ERROR || code == HFS_EXIT_USAGE) && hfs_cli_rank() == 0)
    hfs_cli_error("%s", hfs_error_message());
  return code;
}
