/* hfscan yields: expected yields per channel, bin and sample before and
 * after the fit, with uncertainties through the full covariance, and the
 * data (docs/diagnostics.md). */
#include "cli.h"
#include "cli_json.h"
#include "hfs_core.h"
#include "hfs_error.h"
#include "hfs_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *reals(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; ++i) json_array_append_new(a, hfs_cli_json_real(v[i]));
  return a;
}

static json_t *yields_json(const hfs_yields *y) {
  json_t *chs = json_array();
  for (int c = 0; c < y->nchannels; ++c) {
    const hfs_yields_channel *ch = &y->ch[c];
    json_t *o = json_object(), *ss = json_array();
    json_object_set_new(o, "name", json_string(ch->name));
    for (int s = 0; s < ch->nsamples; ++s) {
      json_t *so = json_object();
      json_object_set_new(so, "name", json_string(ch->sample_names[s]));
      json_object_set_new(so, "yields", reals(&ch->yields[(size_t)s * ch->nbins], ch->nbins));
      json_object_set_new(so, "uncertainties", reals(&ch->unc[(size_t)s * ch->nbins], ch->nbins));
      json_object_set_new(so, "integral", hfs_cli_json_real(ch->integral[s]));
      json_object_set_new(so, "integral_uncertainty", hfs_cli_json_real(ch->integral_unc[s]));
      json_array_append_new(ss, so);
    }
    json_object_set_new(o, "samples", ss);
    json_object_set_new(o, "total", reals(ch->total, ch->nbins));
    json_object_set_new(o, "total_uncertainty", reals(ch->total_unc, ch->nbins));
    json_object_set_new(o, "integral", hfs_cli_json_real(ch->sum));
    json_object_set_new(o, "integral_uncertainty", hfs_cli_json_real(ch->sum_unc));
    json_object_set_new(o, "data", reals(ch->data, ch->nbins));
    json_array_append_new(chs, o);
  }
  json_t *j = json_object();
  json_object_set_new(j, "channels", chs);
  return j;
}

/* Rows: samples, the total and the data; columns: bins and the sum. */
static void print_text(const hfs_yields *y, const char *stage) {
  for (int c = 0; c < y->nchannels; ++c) {
    const hfs_yields_channel *ch = &y->ch[c];
    int w = 10;
    for (int s = 0; s < ch->nsamples; ++s)
      if ((int)strlen(ch->sample_names[s]) > w) w = (int)strlen(ch->sample_names[s]);
    printf("\nchannel %s (%s, %d bins)\n%-*s", ch->name, stage, ch->nbins, w, "sample");
    for (int b = 0; b < ch->nbins; ++b) printf("  %20s%-3d", "bin ", b);
    printf("  %23s\n", "sum");
    for (int s = 0; s <= ch->nsamples; ++s) {
      int tot = s == ch->nsamples;
      const double *v = tot ? ch->total : &ch->yields[(size_t)s * ch->nbins];
      const double *u = tot ? ch->total_unc : &ch->unc[(size_t)s * ch->nbins];
      printf("%-*s", w, tot ? "total" : ch->sample_names[s]);
      for (int b = 0; b < ch->nbins; ++b) printf("  %11.3f +- %-8.3f", v[b], u[b]);
      printf("  %11.3f +- %-8.3f\n", tot ? ch->sum : ch->integral[s],
             tot ? ch->sum_unc : ch->integral_unc[s]);
    }
    double n = 0;
    printf("%-*s", w, "data");
    for (int b = 0; b < ch->nbins; ++b) {
      printf("  %11.0f %11s", ch->data[b], "");
      n += ch->data[b];
    }
    printf("  %11.0f\n", n);
  }
}

/* LaTeX names: escape the characters TeX treats specially. */
static void tex(const char *s) {
  for (; *s; ++s) {
    if (strchr("_&%$#{}", *s))
      printf("\\%c", *s);
    else if (*s == '~' || *s == '^' || *s == '\\')
      printf("\\textasciitilde{}");
    else
      putchar(*s);
  }
}

static void print_latex(const hfs_yields *y, const char *stage) {
  for (int c = 0; c < y->nchannels; ++c) {
    const hfs_yields_channel *ch = &y->ch[c];
    printf("%% channel %s, %s yields\n\\begin{tabular}{l", ch->name, stage);
    for (int b = 0; b <= ch->nbins; ++b) printf("r");
    printf("}\n\\hline\nSample");
    for (int b = 0; b < ch->nbins; ++b) printf(" & bin %d", b);
    printf(" & sum \\\\\n\\hline\n");
    for (int s = 0; s <= ch->nsamples; ++s) {
      int tot = s == ch->nsamples;
      const double *v = tot ? ch->total : &ch->yields[(size_t)s * ch->nbins];
      const double *u = tot ? ch->total_unc : &ch->unc[(size_t)s * ch->nbins];
      if (tot)
        printf("\\hline\nTotal");
      else
        tex(ch->sample_names[s]);
      for (int b = 0; b < ch->nbins; ++b) printf(" & $%.2f \\pm %.2f$", v[b], u[b]);
      printf(" & $%.2f \\pm %.2f$ \\\\\n", tot ? ch->sum : ch->integral[s],
             tot ? ch->sum_unc : ch->integral_unc[s]);
    }
    double n = 0;
    printf("\\hline\nData");
    for (int b = 0; b < ch->nbins; ++b) {
      printf(" & %.0f", ch->data[b]);
      n += ch->data[b];
    }
    printf(" & %.0f \\\\\n\\hline\n\\end{tabular}\n\n", n);
  }
}

int hfs_cmd_yields(int argc, char **argv) {
  hfs_cli_opts o;
  hfs_cli_ctx c;
  hfs_fitter *f = NULL;
  hfs_fit_result r;
  hfs_yields pre, post;
  hfs_h5 *h5 = NULL;
  double *cov = NULL;
  int rc = HFS_OK, exit_code;
  double t0 = hfs_now();
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  memset(&pre, 0, sizeof pre);
  memset(&post, 0, sizeof post);
  hfs_cli_opts_default(&o);
  exit_code = hfs_cli_parse("yields", argc, argv, &o);
  if (exit_code != HFS_EXIT_OK) {
    hfs_cli_opts_free(&o);
    return exit_code < 0 ? HFS_EXIT_OK : exit_code;
  }
  if (hfs_cli_rank() != 0) { /* one fit: one rank */
    hfs_cli_opts_free(&o);
    return HFS_EXIT_OK;
  }
  HFS_CHECK(hfs_cli_load(&o, &c));
  int n = hfs_model_npar(c.model);
  HFS_ALLOC(cov, (size_t)n * n);
  hfs_yields_prefit_cov(c.model, c.fixed, cov);
  HFS_CHECK(hfs_yields_compute(c.model, c.init, cov, &pre));
  if (!o.yields_prefit) {
    /* The same fit as hfscan fit: same start, fixed set and options. */
    HFS_CHECK(hfs_fitter_create(c.model, &o.fit, &f));
    HFS_CHECK(hfs_fit_result_init(&r, n, 1));
    HFS_CHECK(hfs_fitter_minimize(f, NULL, NULL, c.init, c.fixed, 1, &r));
    HFS_CHECK(hfs_yields_compute(c.model, r.theta, r.has_errors ? r.cov : NULL, &post));
  }
  const hfs_yields *shown = o.yields_prefit ? &pre : &post;
  const char *stage = o.yields_prefit ? "pre-fit" : "post-fit";
  if (o.json) {
    json_t *j = yields_json(shown);
    json_object_set_new(j, "stage", json_string(o.yields_prefit ? "prefit" : "postfit"));
    if (!o.yields_prefit)
      json_object_set_new(j, "fit_status", json_string(hfs_fit_status_name(r.status)));
    hfs_cli_print_json(j);
    json_decref(j);
  } else if (o.latex) {
    print_latex(shown, stage);
  } else {
    printf("hfscan yields: %s (measurement %s), %s%s%s\n", o.workspace,
           hfs_model_measurement(c.model), stage, o.yields_prefit ? "" : ", fit ",
           o.yields_prefit ? "" : hfs_fit_status_name(r.status));
    print_text(shown, stage);
  }
  if (o.output) {
    hfs_run_info info = hfs_cli_run_info("yields", &o, &c, hfs_now() - t0);
    HFS_CHECK(hfs_h5_create(o.output, &h5));
    HFS_CHECK(hfs_store_write_run_info(h5, &info));
    HFS_CHECK(hfs_store_write_yields(h5, "/yields/prefit", &pre));
    if (!o.yields_prefit) {
      HFS_CHECK(hfs_store_write_yields(h5, "/yields/postfit", &post));
      HFS_CHECK(hfs_store_write_fit(h5, "/fit", c.model, &r, c.fixed));
      HFS_CHECK(hfs_store_write_prefit_widths(h5, "/fit", c.model, c.init));
    }
    HFS_CHECK(hfs_cli_data_store(h5, "/yields"));
    HFS_CHECK(hfs_h5_close(&h5));
  }
cleanup:
  exit_code =
      rc ? HFS_EXIT_ERROR
         : (o.yields_prefit || r.status == HFS_FIT_CONVERGED ? HFS_EXIT_OK : HFS_EXIT_FIT_FAILED);
  if (rc)
    hfs_cli_error("%s", hfs_error_message());
  else if (exit_code == HFS_EXIT_FIT_FAILED)
    hfs_cli_error("fit did not converge: %s (%s)", hfs_fit_status_name(r.status), r.reason);
  hfs_h5_close(&h5);
  hfs_yields_free(&pre);
  hfs_yields_free(&post);
  free(cov);
  hfs_fit_result_free(&r);
  hfs_fitter_destroy(&f);
  hfs_cli_ctx_free(&c);
  hfs_cli_opts_free(&o);
  return exit_code;
}
