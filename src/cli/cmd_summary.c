/* hfscan summary: the analysis summary of a workspace in one command (the
 * README's main job): the fit, the CLs upper limit with its bands, the
 * discovery significance, the nuisance-parameter ranking and the POI with its
 * stat/syst split.  Each part is the corresponding subcommand, so the output
 * files are theirs: -o DIR writes DIR/{fit,limit,significance,ranking,scan}.h5. */
#include "cli.h"
#include "hfs_error.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  int n;
  char *v[64];
  char store[64][512];
} args;

static void add(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(args *a, const char *fmt, ...) {
  if (a->n >= 63) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->store[a->n], sizeof a->store[a->n], fmt, ap);
  va_end(ap);
  a->v[a->n] = a->store[a->n];
  a->v[++a->n] = NULL;
}

static void common(args *a, const hfs_cli_opts *o) {
  if (o->measurement) add(a, "--measurement=%s", o->measurement);
  for (int i = 0; i < o->nfix; ++i) add(a, "--fix=%s=%.17g", o->fix_name[i], o->fix_value[i]);
  for (int i = 0; i < o->npatch; ++i) add(a, "--patch=%s", o->patch[i]);
  for (int i = 0; i < o->params.n; ++i) {
    const hfs_cli_edit *e = &o->params.e[i];
    if (e->kind == HFS_EDIT_BOUNDS) add(a, "--bounds=%s=%.17g:%.17g", e->name, e->lo, e->hi);
    else if (e->kind == HFS_EDIT_SET) add(a, "--set=%s=%.17g", e->name, e->value);
    else add(a, "--freeze=%s", e->name);
  }
  add(a, "--optimizer=%s", hfs_optimizer_name(o->fit.optimizer));
  add(a, "--normsys-code=%d", o->model.normsys_code);
  add(a, "--histosys-code=%s", o->model.histosys_code == 4 ? "4p" : o->model.histosys_code == 2 ? "2" : "0");
  if (o->quiet) add(a, "--quiet");
}

static int step(const char *title, int (*fn)(int, char **), args *a, int *worst) {
  if (hfs_cli_rank() == 0) {
    printf("\n== %s ==\n", title);
    fflush(stdout);
  }
  int code = fn(a->n, a->v);
  fflush(stdout);
  if (code > *worst && code != HFS_EXIT_FIT_FAILED) *worst = code;
  if (code == HFS_EXIT_FIT_FAILED && *worst == HFS_EXIT_OK) *worst = code;
  return code;
}

int hfs_cmd_summary(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  int worst = HFS_EXIT_OK;
  memset(&c, 0, sizeof c);
  hfs_cli_opts_default(&o);
  o.cl = 0.95;
  int code = hfs_cli_parse("summary", argc, argv, &o);
  if (code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return code < 0 ? HFS_EXIT_OK : code;
  }
  if (o.output && hfs_cli_rank() == 0 && mkdir(o.output, 0777) != 0 && errno != EEXIST) {
    hfs_cli_error("summary: cannot create output directory %s", o.output);
    hfs_cli_opts_free(&o);
    return HFS_EXIT_ERROR;
  }
  /* the scan grid comes from a quick fit: mu-hat +- 3 sigma inside the bounds */
  double lo = 0, hi = 1;
  {
    int rc = hfs_cli_load(&o, &c);
    hfs_fitter *f = NULL;
    hfs_fit_result r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = hfs_fitter_create(c.model, &o.fit, &f);
    if (!rc) rc = hfs_fit_result_init(&r, hfs_model_npar(c.model), 1);
    if (!rc) rc = hfs_fitter_minimize(f, NULL, NULL, c.init, c.fixed, 1, &r);
    if (rc) {
      if (hfs_cli_rank() == 0) hfs_cli_error("%s", hfs_error_message());
      hfs_fit_result_free(&r);
      hfs_fitter_destroy(&f);
      hfs_cli_ctx_free(&c);
      hfs_cli_opts_free(&o);
      return HFS_EXIT_ERROR;
    }
    int poi = hfs_model_poi(c.model);
    double s = r.has_errors && isfinite(r.error[poi]) && r.error[poi] > 0 ? r.error[poi] : 1;
    lo = fmax(hfs_model_par_lo(c.model, poi), r.theta[poi] - 3 * s);
    hi = fmin(hfs_model_par_hi(c.model, poi), r.theta[poi] + 3 * s);
    hfs_fit_result_free(&r);
    hfs_fitter_destroy(&f);
    hfs_cli_ctx_free(&c);
  }
  args a;
  a.n = 0;
  add(&a, "fit"); add(&a, "%s", o.workspace); common(&a, &o); add(&a, "--brief");
  if (o.output) add(&a, "-o%s/fit.h5", o.output);
  step("fit", hfs_cmd_fit, &a, &worst);

  a.n = 0;
  add(&a, "limit"); add(&a, "%s", o.workspace); common(&a, &o);
  add(&a, "--cl=%.17g", o.cl);
  if (o.output) add(&a, "-o%s/limit.h5", o.output);
  step("upper limit", hfs_cmd_limit, &a, &worst);

  a.n = 0;
  add(&a, "significance"); add(&a, "%s", o.workspace); common(&a, &o);
  if (o.output) add(&a, "-o%s/significance.h5", o.output);
  step("discovery significance", hfs_cmd_significance, &a, &worst);

  a.n = 0;
  add(&a, "ranking"); add(&a, "%s", o.workspace); common(&a, &o);
  add(&a, "--top=%d", o.top);
  for (int i = 0; i < o.ngroups; ++i) add(&a, "--group=%s", o.groups[i]);
  if (o.output) add(&a, "-o%s/ranking.h5", o.output);
  if (o.output) add(&a, "--overwrite");
  step("nuisance-parameter ranking", hfs_cmd_ranking, &a, &worst);

  a.n = 0;
  add(&a, "scan"); add(&a, "%s", o.workspace); common(&a, &o);
  add(&a, "--poi=%.6g:%.6g:31", lo, hi);
  for (int i = 0; i < o.nlevels; ++i) add(&a, "--level=%g", o.levels[i]);
  if (o.output) add(&a, "-o%s/scan.h5", o.output);
  if (o.output) add(&a, "--overwrite");
  step("profile-likelihood scan and stat/syst split", hfs_cmd_scan, &a, &worst);
  hfs_cli_opts_free(&o);
  return worst;
}
