/* --data: which data a command fits.  "observed" (the default) or an Asimov
 * set, "asimov[:mu=X][:nuis=prefit|postfit]", which replaces the model's
 * observed data right after loading, so every command runs on it unchanged
 * (docs/diagnostics.md). */
#include "cli.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the loaded data are, for the outputs (one process, one data set). */
static struct {
  int asimov;
  double mu;
  hfs_asimov_nuis nuis;
} data_used;

int hfs_cli_data_parse(const char *arg, hfs_cli_opts *o) {
  char buf[256];
  if (!strcmp(arg, "observed")) {
    o->data_asimov = 0;
    return HFS_OK;
  }
  if (strncmp(arg, "asimov", 6) || (arg[6] != '\0' && arg[6] != ':') ||
      snprintf(buf, sizeof buf, "%s", arg) >= (int)sizeof buf)
    return hfs_error_set(HFS_ERR_ARG,
                         "--data %s: use observed or asimov[:mu=X][:nuis=prefit|postfit]", arg);
  o->data_asimov = 1;
  o->asimov_nuis = HFS_ASIMOV_PREFIT;
  o->have_asimov_mu = 0;
  for (char *save = NULL, *item = strtok_r(buf + 6, ":", &save); item;
       item = strtok_r(NULL, ":", &save)) {
    if (!strncmp(item, "mu=", 3)) {
      char *end;
      errno = 0;
      o->asimov_mu = strtod(item + 3, &end);
      if (errno || end == item + 3 || *end || !isfinite(o->asimov_mu))
        return hfs_error_set(HFS_ERR_ARG, "--data %s: mu=%s is not a number", arg, item + 3);
      o->have_asimov_mu = 1;
    } else if (!strcmp(item, "nuis=prefit")) {
      o->asimov_nuis = HFS_ASIMOV_PREFIT;
    } else if (!strcmp(item, "nuis=postfit")) {
      o->asimov_nuis = HFS_ASIMOV_POSTFIT;
    } else {
      return hfs_error_set(HFS_ERR_ARG,
                           "--data %s: unknown item '%s' (use mu=X, nuis=prefit or nuis=postfit)",
                           arg, item);
    }
  }
  return HFS_OK;
}

int hfs_cli_data_apply(const hfs_cli_opts *o, hfs_cli_ctx *c) {
  int rc = HFS_OK;
  hfs_infer *I = NULL;
  double *main = NULL, *aux = NULL;
  hfs_fit_summary gen;
  data_used.asimov = 0;
  if (!o->data_asimov) return HFS_OK;
  hfs_model *m = c->model;
  int poi = hfs_model_poi(m);
  double mu = o->have_asimov_mu ? o->asimov_mu : c->init[poi];
  HFS_ALLOC(main, hfs_model_nbins(m));
  HFS_ALLOC(aux, hfs_model_naux(m));
  HFS_CHECK(hfs_infer_create(m, &o->fit, c->fixed, c->init, &I));
  rc = hfs_asimov_generate(I, mu, o->asimov_nuis, main, aux, NULL, &gen);
  if (rc) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hfs_error_message());
    HFS_FAIL(rc, "%s: --data: %s", o->workspace, msg);
  }
  if (gen.status != HFS_FIT_CONVERGED)
    HFS_FAIL(HFS_ERR_NUMERIC,
             "--data asimov:mu=%g:nuis=postfit: the fit to the observed data with %s held at %g "
             "did not converge (%s)",
             mu, hfs_model_par_name(m, poi), mu, hfs_fit_status_name(gen.status));
  HFS_CHECK(hfs_model_set_data(m, main, aux));
  data_used.asimov = 1;
  data_used.mu = mu;
  data_used.nuis = o->asimov_nuis;
  /* Results on Asimov data must never be resumed into, or merged with, a
   * file made from other data: the data set is part of the input's
   * identity. */
  char cat[64 + 128];
  int len = snprintf(cat, sizeof cat, "%s%s", c->sha256, hfs_cli_data_describe());
  hfs_sha256_buffer(cat, (size_t)len, c->sha256);
  if (hfs_cli_rank() == 0 && !o->json) printf("data: %s\n", hfs_cli_data_describe());
cleanup:
  hfs_infer_destroy(&I);
  free(main);
  free(aux);
  return rc;
}

const char *hfs_cli_data_describe(void) {
  static char text[128];
  if (!data_used.asimov) return "observed";
  snprintf(text, sizeof text, "asimov:mu=%.17g:nuis=%s", data_used.mu,
           hfs_asimov_nuis_name(data_used.nuis));
  return text;
}

json_t *hfs_cli_data_json(void) {
  json_t *d = json_object();
  json_object_set_new(d, "kind", json_string(data_used.asimov ? "asimov" : "observed"));
  if (data_used.asimov) {
    json_object_set_new(d, "mu", json_real(data_used.mu));
    json_object_set_new(d, "nuisance", json_string(hfs_asimov_nuis_name(data_used.nuis)));
  }
  return d;
}

void hfs_cli_data_config(hfs_job_config *cfg) {
  cfg->data.asimov = data_used.asimov;
  cfg->data.mu = data_used.mu;
  cfg->data.nuis = data_used.nuis;
}

int hfs_cli_data_store(hfs_h5 *f, const char *group) {
  return hfs_store_write_data_kind(f, group, data_used.asimov, data_used.mu, data_used.nuis);
}
