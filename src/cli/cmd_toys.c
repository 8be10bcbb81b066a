/* Printing of toy-based hypothesis tests and limits; the run itself is the
 * job layer's "toys" kind (src/job/kind_toys.c). */
#include "cli.h"
#include "cli_json.h"
#include "toy_notes.h"
#include "hfs_toys.h"
#include "hfs_error.h"
#include "hfs_store.h"

#include <stdlib.h>
#include <string.h>

static void warn_failed(int64_t nfail) {
  if (nfail)
    fprintf(stderr,
            "hfscan: %lld toys had a fit that did not converge; they are recorded in "
            "the output and left out of the p-values\n",
            (long long)nfail);
}

static void print_result(const hfs_cli_opts *o, const hfs_cli_ctx *c, const hfs_toyfile *tf,
                         const char *kind) {
  const char *poi = hfs_model_par_name(c->model, hfs_model_poi(c->model));
  int64_t nfail = 0;
  for (int p = 0; p < tf->npoints; ++p) nfail += tf->cls[p].nfail_sb + tf->cls[p].nfail_b;
  if (!hfs_cli_show_result(o)) {
    warn_failed(nfail);
    return;
  }
  if (o->json) {
    json_t *j = json_object();
    json_object_set_new(j, "calculator", json_string("toys"));
    json_object_set_new(j, "test_stat", json_string(hfs_teststat_name(o->ts)));
    json_object_set_new(j, "ntoys", json_integer(o->ntoys));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(j, "n_failed_toys", json_integer(nfail));
    json_object_set_new(j, "failed_toys",
                        json_string("left out of the p-values (fits not converged)"));
    json_t *pts = json_array();
    for (int p = 0; p < tf->npoints; ++p) {
      const hfs_toy_cls *r = &tf->cls[p];
      json_t *q = json_object();
      json_object_set_new(q, "mu", json_real(tf->mu[p]));
      static const char *const keys[] = {"CLs_obs",     "CLsb_obs",     "CLb_obs",
                                         "CLs_obs_err", "CLsb_obs_err", "CLb_obs_err"};
      const double v[] = {r->cls, r->clsb, r->clb, r->cls_err, r->clsb_err, r->clb_err};
      hfs_cli_json_set_reals(q, keys, v, 6);
      json_t *e = json_array();
      for (int k = 0; k < 5; ++k) json_array_append_new(e, hfs_cli_json_real(r->cls_exp[k]));
      json_object_set_new(q, "CLs_exp", e);
      e = json_array();
      for (int k = 0; k < 5; ++k) json_array_append_new(e, hfs_cli_json_real(r->clsb_exp[k]));
      json_object_set_new(q, "CLsb_exp", e);
      if (o->ts == HFS_TS_Q0) {
        json_object_set_new(q, "p0_obs", hfs_cli_json_real(r->clsb));
        json_object_set_new(q, "p0_exp", json_copy(e));
        hfs_cli_toy_discovery_json(q, r);
      }
      json_object_set_new(q, "test_stat_obs", hfs_cli_json_real(r->t_obs));
      json_object_set_new(q, "n_toys_sb", json_integer(r->n_sb));
      json_object_set_new(q, "n_toys_b", json_integer(r->n_b));
      json_object_set_new(q, "n_failed_sb", json_integer(r->nfail_sb));
      json_object_set_new(q, "n_failed_b", json_integer(r->nfail_b));
      if (!o->brief)
        json_object_set_new(q, "fits", hfs_cli_json_fits(&tf->obs_fits[2 * p], 2, NULL));
      if (!strcmp(kind, "hypotest")) json_object_update(j, q);
      json_array_append_new(pts, q);
    }
    if (!strcmp(kind, "limit")) {
      json_object_set_new(j, "cl", json_real(tf->cl));
      json_object_set_new(j, "obs", hfs_cli_json_real(tf->limit_obs));
      json_t *e = json_array();
      for (int k = 0; k < 5; ++k) json_array_append_new(e, hfs_cli_json_real(tf->limit_exp[k]));
      json_object_set_new(j, "exp", e);
      hfs_cli_toy_limit_json(j, tf);
      if (o->brief)
        json_decref(pts); /* --brief: the limit, not its grid */
      else
        json_object_set_new(j, "scan", pts);
    } else {
      json_decref(pts);
    }
    hfs_cli_print_json(j);
    json_decref(j);
    return;
  }
  if (!strcmp(kind, "hypotest") && o->ts == HFS_TS_Q0 && tf->mu[0] == 0) {
    printf("hfscan significance: %s (discovery test q0, toys: %lld per hypothesis, seed %llu)\n",
           o->workspace, (long long)o->ntoys, o->seed);
    hfs_cli_toy_discovery_print(&tf->cls[0]);
  } else if (!strcmp(kind, "hypotest")) {
    const hfs_toy_cls *r = &tf->cls[0];
    printf(
        "hfscan hypotest: %s, %s = %g, test statistic %s (toys: %lld per hypothesis, seed %llu)\n",
        o->workspace, poi, tf->mu[0], hfs_teststat_name(o->ts), (long long)o->ntoys, o->seed);
    printf("CLs  observed  %.5f +- %.5f   (CLs+b %.5f +- %.5f, CLb %.5f +- %.5f)\n", r->cls,
           r->cls_err, r->clsb, r->clsb_err, r->clb, r->clb_err);
    printf("CLs  expected  -2s %.5f  -1s %.5f  median %.5f  +1s %.5f  +2s %.5f\n", r->cls_exp[0],
           r->cls_exp[1], r->cls_exp[2], r->cls_exp[3], r->cls_exp[4]);
    if (o->ts == HFS_TS_Q0) {
      printf(
          "p0   observed  %.5f +- %.5f   expected -2s %.5f  -1s %.5f  median %.5f  +1s %.5f  "
          "+2s %.5f\n",
          r->clsb, r->clsb_err, r->clsb_exp[0], r->clsb_exp[1], r->clsb_exp[2], r->clsb_exp[3],
          r->clsb_exp[4]);
      printf("Z    observed  %.4f sigma   expected median %.4f sigma\n", hfs_toys_z_from_p(r->clsb),
             hfs_toys_z_from_p(r->clsb_exp[2]));
    }
    printf("test statistic observed %.5f; failed toys left out: %lld s+b, %lld b\n", r->t_obs,
           (long long)r->nfail_sb, (long long)r->nfail_b);
  } else {
    char cl[32];
    printf(
        "hfscan limit: %s, %s upper limit on %s (CLs, %s, toys: %lld per hypothesis "
        "and point, seed %llu)\n",
        o->workspace, hfs_cli_cl_label(tf->cl, cl, sizeof cl), poi, hfs_teststat_name(o->ts),
        (long long)o->ntoys, o->seed);
    printf("observed   %.4f\n", tf->limit_obs);
    printf("expected   -2s %.4f  -1s %.4f  median %.4f  +1s %.4f  +2s %.4f\n", tf->limit_exp[0],
           tf->limit_exp[1], tf->limit_exp[2], tf->limit_exp[3], tf->limit_exp[4]);
    printf("%10s %10s %9s %10s %10s %10s %10s %10s %7s\n", poi, "CLs_obs", "err", "-2s", "-1s",
           "median", "+1s", "+2s", "failed");
    for (int p = 0; p < tf->npoints && !o->brief; ++p) {
      const hfs_toy_cls *r = &tf->cls[p];
      printf("%10.4f %10.5f %9.5f %10.5f %10.5f %10.5f %10.5f %10.5f %7lld\n", tf->mu[p], r->cls,
             r->cls_err, r->cls_exp[0], r->cls_exp[1], r->cls_exp[2], r->cls_exp[3], r->cls_exp[4],
             (long long)(r->nfail_sb + r->nfail_b));
    }
  }
  warn_failed(nfail);
}

static int run_toys(hfs_cli_opts *o, hfs_cli_ctx *c, int limit) {
  const char *kind = limit ? "limit" : "hypotest";
  hfs_job_config cfg;
  hfs_job *job = NULL;
  if (!o->have_ts && !limit) o->ts = HFS_TS_QTILDE;
  hfs_cli_job_config(o, c, &cfg);
  cfg.toys.limit = limit;
  int code = hfs_cli_job_report(hfs_job_run(&hfs_job_toys, &cfg, &job));
  if (hfs_cli_rank() == 0 && code == HFS_EXIT_OK) {
    const hfs_toyfile *tf = hfs_job_toys_file(job);
    if (hfs_job_outcome(job) == HFS_JOB_COMPLETE) {
      print_result(o, c, tf, kind);
      fflush(stdout);
      if (limit) {
        hfs_cli_toy_limit_warn(tf);
        if (o->output && hfs_cli_toy_limit_h5(o->output, tf) != HFS_OK) {
          hfs_cli_error("%s", hfs_error_message());
          code = HFS_EXIT_ERROR;
        }
      }
    } else if (!o->quiet) {
      int64_t all = 0, n = hfs_toyfile_nunits(tf);
      for (int64_t u = 0; u < n; ++u)
        all += tf->done[u] && hfs_toyfile_unit_in_part(tf, u, o->array_index, o->array_count);
      printf(
          "hfscan: array part %d/%d done: %lld toys in %s; combine the parts with hfscan "
          "merge\n",
          o->array_index, o->array_count, (long long)all, o->output ? o->output : "(no -o)");
    }
  }
  hfs_job_destroy(&job);
  return code;
}

int hfs_cli_toys_hypotest(hfs_cli_opts *o, hfs_cli_ctx *c) { return run_toys(o, c, 0); }
int hfs_cli_toys_limit(hfs_cli_opts *o, hfs_cli_ctx *c) { return run_toys(o, c, 1); }
/* The same toys as hypotest --test-stat q0 --mu 0 (one file serves both). */
int hfs_cli_toys_significance(hfs_cli_opts *o, hfs_cli_ctx *c) {
  o->ts = HFS_TS_Q0;
  o->have_ts = 1;
  o->mu = 0;
  o->have_mu = 1;
  return run_toys(o, c, 0);
}
