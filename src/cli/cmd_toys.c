/* Toy-based hypothesis tests and limits distributed over MPI with the
 * scheduler: one work unit is one toy (point, hypothesis, index); the master
 * keeps the run in a toy file that doubles as the checkpoint. */
#include "cli.h"
#include "cli_json.h"
#include "hfs_error.h"
#include "hfs_sched.h"
#include "hfs_store.h"
#include "hfs_infer.h"
#include "hfs_core.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void hfs_cli_set_stop_hook(void (*h)(void));

typedef struct {
  hfs_toys *toys;
  hfs_toyfile *tf;          /* master only */
  const char *output;
  double interval, last_commit, t0;
  int64_t since_commit;
  int64_t ntoys;
} toy_task_ctx;

static int toy_run(void *ctx, int64_t unit, void *result) {
  toy_task_ctx *c = ctx;
  int64_t toy = unit % c->ntoys, ph = unit / c->ntoys;
  return hfs_toys_run(c->toys, (int)(ph / 2), (int)(ph % 2), toy, result);
}

static int commit(toy_task_ctx *c) {
  c->tf->wall_s += hfs_now() - c->t0;
  c->t0 = hfs_now();
  int rc = hfs_toyfile_save(c->tf, c->output);
  c->last_commit = hfs_now();
  c->since_commit = 0;
  return rc;
}

static int toy_collect(void *ctx, int64_t unit, const void *result) {
  toy_task_ctx *c = ctx;
  memcpy(&c->tf->units[unit], result, sizeof(hfs_toy_result));
  c->tf->done[unit] = 1;
  c->since_commit++;
  if (c->output && hfs_now() - c->last_commit >= c->interval) return commit(c);
  return HFS_OK;
}

/* The options that determine the results, in a canonical form: a resumed
 * run or a merged part must have exactly these. */
static void canonical_options(const hfs_cli_opts *o, const hfs_cli_ctx *c, const char *kind,
                              int P, const double *mu, char *buf, size_t n) {
  size_t l = 0;
  l += snprintf(buf + l, n - l,
                "kind=%s;measurement=%s;test_stat=%s;ntoys=%lld;seed=%llu;cl=%.17g;"
                "normsys_code=%d;histosys_code=%d;optimizer=%s;max_iter=%d;fixed=",
                kind, hfs_model_measurement(c->model), hfs_teststat_name(o->ts),
                (long long)o->ntoys, o->seed, strcmp(kind, "limit") ? 0.0 : o->cl,
                o->model.normsys_code, o->model.histosys_code,
                hfs_optimizer_name(o->fit.optimizer), o->fit.max_iter);
  for (int i = 0; i < hfs_model_npar(c->model) && l < n; ++i)
    if (c->fixed[i] && !hfs_model_par_fixed(c->model, i))
      l += snprintf(buf + l, n - l, "%s=%.17g,", hfs_model_par_name(c->model, i), c->init[i]);
  if (l < n) l += snprintf(buf + l, n - l, ";mu=");
  for (int p = 0; p < P && l < n; ++p) l += snprintf(buf + l, n - l, "%.17g,", mu[p]);
}

/* Name the first option that differs between two canonical strings. */
static void first_difference(const char *a, const char *b, char *out, size_t n) {
  const char *pa = a, *pb = b;
  while (*pa && *pb) {
    const char *ea = strchr(pa, ';'), *eb = strchr(pb, ';');
    size_t la = ea ? (size_t)(ea - pa) : strlen(pa), lb = eb ? (size_t)(eb - pb) : strlen(pb);
    if (la != lb || strncmp(pa, pb, la)) {
      snprintf(out, n, "file has '%.*s', this run '%.*s'", (int)(la > 200 ? 200 : la), pa,
               (int)(lb > 200 ? 200 : lb), pb);
      return;
    }
    if (!ea || !eb) break;
    pa = ea + 1;
    pb = eb + 1;
  }
  snprintf(out, n, "options differ");
}

static void print_result(const hfs_cli_opts *o, const hfs_cli_ctx *c, const hfs_toyfile *tf,
                         const char *kind) {
  const char *poi = hfs_model_par_name(c->model, hfs_model_poi(c->model));
  int64_t nfail = 0;
  for (int p = 0; p < tf->npoints; ++p) nfail += tf->cls[p].nfail_sb + tf->cls[p].nfail_b;
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
      json_object_set_new(q, "CLs_obs", hfs_cli_json_real(r->cls));
      json_object_set_new(q, "CLsb_obs", hfs_cli_json_real(r->clsb));
      json_object_set_new(q, "CLb_obs", hfs_cli_json_real(r->clb));
      json_object_set_new(q, "CLs_obs_err", hfs_cli_json_real(r->cls_err));
      json_object_set_new(q, "CLsb_obs_err", hfs_cli_json_real(r->clsb_err));
      json_object_set_new(q, "CLb_obs_err", hfs_cli_json_real(r->clb_err));
      json_t *e = json_array();
      for (int k = 0; k < 5; ++k) json_array_append_new(e, hfs_cli_json_real(r->cls_exp[k]));
      json_object_set_new(q, "CLs_exp", e);
      e = json_array();
      for (int k = 0; k < 5; ++k) json_array_append_new(e, hfs_cli_json_real(r->clsb_exp[k]));
      json_object_set_new(q, "CLsb_exp", e);
      if (o->ts == HFS_TS_Q0) {
        json_object_set_new(q, "p0_obs", hfs_cli_json_real(r->clsb));
        json_object_set_new(q, "p0_exp", json_copy(e));
      }
      json_object_set_new(q, "test_stat_obs", hfs_cli_json_real(r->t_obs));
      json_object_set_new(q, "n_toys_sb", json_integer(r->n_sb));
      json_object_set_new(q, "n_toys_b", json_integer(r->n_b));
      json_object_set_new(q, "n_failed_sb", json_integer(r->nfail_sb));
      json_object_set_new(q, "n_failed_b", json_integer(r->nfail_b));
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
      json_object_set_new(j, "scan", pts);
    } else {
      json_decref(pts);
    }
    hfs_cli_print_json(j);
    json_decref(j);
    return;
  }
  if (!strcmp(kind, "hypotest")) {
    const hfs_toy_cls *r = &tf->cls[0];
    printf("hfscan hypotest: %s, %s = %g, test statistic %s (toys: %lld per hypothesis, seed %llu)\n",
           o->workspace, poi, tf->mu[0], hfs_teststat_name(o->ts), (long long)o->ntoys, o->seed);
    printf("CLs  observed  %.5f +- %.5f   (CLs+b %.5f +- %.5f, CLb %.5f +- %.5f)\n", r->cls,
           r->cls_err, r->clsb, r->clsb_err, r->clb, r->clb_err);
    printf("CLs  expected  -2s %.5f  -1s %.5f  median %.5f  +1s %.5f  +2s %.5f\n", r->cls_exp[0],
           r->cls_exp[1], r->cls_exp[2], r->cls_exp[3], r->cls_exp[4]);
    if (o->ts == HFS_TS_Q0)
      printf("p0   observed  %.5f +- %.5f   expected -2s %.5f  -1s %.5f  median %.5f  +1s %.5f  "
             "+2s %.5f\n",
             r->clsb, r->clsb_err, r->clsb_exp[0], r->clsb_exp[1], r->clsb_exp[2],
             r->clsb_exp[3], r->clsb_exp[4]);
    printf("test statistic observed %.5f; failed toys left out: %lld s+b, %lld b\n", r->t_obs,
           (long long)r->nfail_sb, (long long)r->nfail_b);
  } else {
    printf("hfscan limit: %s, %.0f%% CL upper limit on %s (CLs, %s, toys: %lld per hypothesis "
           "and point, seed %llu)\n",
           o->workspace, 100 * tf->cl, poi, hfs_teststat_name(o->ts), (long long)o->ntoys, o->seed);
    printf("observed   %.4f\n", tf->limit_obs);
    printf("expected   -2s %.4f  -1s %.4f  median %.4f  +1s %.4f  +2s %.4f\n", tf->limit_exp[0],
           tf->limit_exp[1], tf->limit_exp[2], tf->limit_exp[3], tf->limit_exp[4]);
    printf("%10s %10s %9s %10s %10s %10s %10s %10s %7s\n", poi, "CLs_obs", "err", "-2s", "-1s",
           "median", "+1s", "+2s", "failed");
    for (int p = 0; p < tf->npoints; ++p) {
      const hfs_toy_cls *r = &tf->cls[p];
      printf("%10.4f %10.5f %9.5f %10.5f %10.5f %10.5f %10.5f %10.5f %7lld\n", tf->mu[p], r->cls,
             r->cls_err, r->cls_exp[0], r->cls_exp[1], r->cls_exp[2], r->cls_exp[3],
             r->cls_exp[4], (long long)(r->nfail_sb + r->nfail_b));
    }
  }
  if (nfail)
    fprintf(stderr, "hfscan: %lld toys had a fit that did not converge; they are recorded in "
                    "the output and left out of the p-values\n", (long long)nfail);
}

static int file_exists(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0;
}

static int run_toys(hfs_cli_opts *o, hfs_cli_ctx *c, const char *kind) {
  int rank = hfs_cli_rank(), size = hfs_cli_size(), rc = HFS_OK, exit_code = HFS_EXIT_OK;
  hfs_infer *I = NULL;
  hfs_toys *toys = NULL;
  hfs_sched *sched = NULL;
  hfs_toyfile tf;
  int64_t *pending = NULL, npending = 0;
  double *mu = NULL;
  int P = 0;
  memset(&tf, 0, sizeof tf);
  if (!o->have_ts && !strcmp(kind, "hypotest")) o->ts = HFS_TS_QTILDE;
  if (o->ts == HFS_TS_TMU || o->ts == HFS_TS_TMUTILDE) {
    /* toys work for any statistic; limits need a one-sided one */
    if (!strcmp(kind, "limit")) HFS_FAIL(HFS_ERR_ARG, "toy limits use q or qtilde");
  }
  HFS_CHECK(hfs_infer_create(c->model, &o->fit, c->fixed, c->init, &I));
  /* the grid: given, or around the asymptotic limit (computed on the master) */
  if (!strcmp(kind, "hypotest")) {
    P = 1;
    HFS_ALLOC(mu, 1);
    mu[0] = o->mu;
  } else if (o->nscan > 0) {
    P = o->nscan;
    HFS_ALLOC(mu, P);
    for (int p = 0; p < P; ++p)
      mu[p] = P == 1 ? o->scan_lo : o->scan_lo + (o->scan_hi - o->scan_lo) * p / (P - 1);
  } else {
    double hi = 0;
    if (rank == 0) {
      hfs_limit_options lo = HFS_LIMIT_OPTIONS_DEFAULT;
      hfs_limit L;
      lo.cl = o->cl;
      lo.ts = o->ts;
      rc = hfs_infer_limit(I, &lo, &L);
      if (!rc) {
        hi = L.exp[4] > L.obs ? L.exp[4] : L.obs;
        hi *= 1.5;
        double poi_hi = hfs_model_par_hi(c->model, hfs_model_poi(c->model));
        if (hi > poi_hi) hi = poi_hi;
        hfs_limit_free(&L);
      }
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc) {
      HFS_FAIL(HFS_ERR_ARG, "toy limit: no --scan given and the asymptotic limit that would "
                            "set the grid failed; give --scan LO:HI:N");
    }
    MPI_Bcast(&hi, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    P = 16;
    HFS_ALLOC(mu, P);
    for (int p = 0; p < P; ++p) mu[p] = hi * (p + 1) / P;
  }
  HFS_CHECK(hfs_toys_create(I, o->ts, o->seed, P, mu, &toys));

  /* the master prepares or resumes the file; errors travel to every rank */
  int64_t nunits = (int64_t)P * 2 * o->ntoys;
  if (rank == 0) {
    char opts[HFS_TOYFILE_OPTS];
    canonical_options(o, c, kind, P, mu, opts, sizeof opts);
    if (o->output && file_exists(o->output) && !o->overwrite) {
      rc = hfs_toyfile_load(o->output, &tf);
      if (rc) {
        rc = hfs_error_set(HFS_ERR_MISMATCH,
                           "%s exists and cannot be resumed (%s); use --overwrite to start afresh",
                           o->output, hfs_error_message());
      } else if (strcmp(tf.workspace_sha256, c->sha256)) {
        rc = hfs_error_set(HFS_ERR_MISMATCH,
                           "%s was written for another workspace (sha256 %.12s..., this one "
                           "%.12s...); use --overwrite to start afresh",
                           o->output, tf.workspace_sha256, c->sha256);
      } else if (strcmp(tf.options, opts)) {
        char diff[512];
        first_difference(tf.options, opts, diff, sizeof diff);
        rc = hfs_error_set(HFS_ERR_MISMATCH,
                           "%s was written with other options (%s); use --overwrite to start "
                           "afresh",
                           o->output, diff);
      } else if (tf.array_index != o->array_index || tf.array_count != o->array_count) {
        rc = hfs_error_set(HFS_ERR_MISMATCH,
                           "%s holds array part %d/%d, this run is part %d/%d", o->output,
                           tf.array_index, tf.array_count, o->array_index, o->array_count);
      } else {
        tf.sessions++;
        int64_t have = 0;
        for (int64_t u = 0; u < nunits; ++u) have += tf.done[u] != 0;
        fprintf(stderr, "hfscan: resuming %s (%lld of %lld toys already done)\n", o->output,
                (long long)have, (long long)nunits);
      }
    } else {
      rc = hfs_toyfile_alloc(&tf, P, o->ntoys, hfs_model_npar(c->model));
      if (!rc) {
        snprintf(tf.kind, sizeof tf.kind, "%s", kind);
        snprintf(tf.workspace_sha256, sizeof tf.workspace_sha256, "%s", c->sha256);
        snprintf(tf.options, sizeof tf.options, "%s", opts);
        tf.seed = o->seed;
        snprintf(tf.test_stat, sizeof tf.test_stat, "%s", hfs_teststat_name(o->ts));
        memcpy(tf.mu, mu, sizeof(double) * (size_t)P);
        tf.array_index = o->array_index;
        tf.array_count = o->array_count;
        tf.cl = o->cl;
        tf.sessions = 1;
        for (int p = 0; p < P && !rc; ++p) {
          rc = hfs_infer_teststat(I, o->ts, mu[p], NULL, NULL, &tf.obs_t[p], &tf.obs_fits[2 * p],
                                  &tf.obs_fits[2 * p + 1]);
          tf.obs_mu_hat[p] = tf.obs_fits[2 * p].poi;
          for (int h = 0; h < 2 && !rc; ++h)
            rc = hfs_toys_point_pars(toys, p, h, NULL, &tf.gen_fits[2 * p + h]);
        }
      }
    }
    if (!rc) {
      tf.cl = o->cl;
      tf.nranks = size;
      snprintf(tf.command_line, sizeof tf.command_line, "%s", o->argv_line ? o->argv_line : "");
      HFS_ALLOC(pending, nunits);
      /* toy-major order: an interrupted run holds the first toys of every
       * point rather than all toys of the first points */
      for (int64_t t = 0; t < o->ntoys; ++t)
        for (int64_t ph = 0; ph < 2 * P; ++ph) {
          int64_t u = ph * o->ntoys + t;
          if (!tf.done[u] && hfs_toyfile_unit_in_part(&tf, u, o->array_index, o->array_count))
            pending[npending++] = u;
        }
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rc) {
    if (rank != 0) hfs_error_set(rc, "the master rank failed to prepare the run");
    goto cleanup;
  }
  MPI_Bcast(&npending, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) HFS_ALLOC(pending, npending);
  MPI_Bcast(pending, (int)npending, MPI_INT64_T, 0, MPI_COMM_WORLD);

  toy_task_ctx tc = {toys, rank == 0 ? &tf : NULL, o->output, o->checkpoint_interval,
                     hfs_now(), hfs_now(), 0, o->ntoys};
  hfs_sched_options so;
  hfs_sched_options_default(&so);
  so.progress = !o->quiet;
  char name[64];
  snprintf(name, sizeof name, "toys (%d point%s)", P, P > 1 ? "s" : "");
  hfs_sched_task task = {name, sizeof(hfs_toy_result), toy_run, toy_collect, &tc};
  HFS_CHECK(hfs_sched_create(MPI_COMM_WORLD, &so, &sched));
  hfs_cli_set_stop_hook(hfs_sched_request_stop);
  hfs_sched_stats st;
  int run_rc = hfs_sched_run(sched, &task, pending, npending, &st);
  hfs_cli_set_stop_hook(NULL);
  if (rank == 0) {
    if (run_rc == HFS_OK || run_rc == HFS_ERR_INTERRUPTED) {
      int64_t all = 0, mine = 0;
      for (int64_t u = 0; u < nunits; ++u) {
        int in = hfs_toyfile_unit_in_part(&tf, u, o->array_index, o->array_count);
        mine += in;
        all += in && tf.done[u];
      }
      int whole = 1;
      for (int64_t u = 0; u < nunits; ++u) whole &= tf.done[u] != 0;
      if (whole) HFS_CHECK(hfs_toyfile_compute(&tf));
      tf.complete = whole;
      if (o->output) HFS_CHECK(commit(&tc));
      if (run_rc == HFS_ERR_INTERRUPTED) {
        fprintf(stderr, "hfscan: interrupted: %lld of %lld toys done%s%s; run the same command "
                        "again to resume\n",
                (long long)all, (long long)mine, o->output ? ", checkpoint written to " : "",
                o->output ? o->output : "");
        exit_code = HFS_EXIT_INTERRUPTED;
      } else if (whole) {
        print_result(o, c, &tf, kind);
      } else if (!o->quiet) {
        printf("hfscan: array part %d/%d done: %lld toys in %s; combine the parts with hfscan "
               "merge\n",
               o->array_index, o->array_count, (long long)all, o->output ? o->output : "(no -o)");
      }
    }
  }
  if (run_rc != HFS_OK && run_rc != HFS_ERR_INTERRUPTED) {
    rc = run_rc;
    goto cleanup;
  }
  if (run_rc == HFS_ERR_INTERRUPTED) exit_code = HFS_EXIT_INTERRUPTED;
cleanup:
  if (rc) {
    if (rank == 0) hfs_cli_error("%s", hfs_error_message());
    exit_code = rc == HFS_ERR_ARG ? HFS_EXIT_USAGE : HFS_EXIT_ERROR;
  }
  hfs_sched_destroy(&sched);
  hfs_toys_destroy(&toys);
  hfs_infer_destroy(&I);
  hfs_toyfile_free(&tf);
  free(pending);
  free(mu);
  return exit_code;
}

int hfs_cli_toys_hypotest(hfs_cli_opts *o, hfs_cli_ctx *c) { return run_toys(o, c, "hypotest"); }
int hfs_cli_toys_limit(hfs_cli_opts *o, hfs_cli_ctx *c) { return run_toys(o, c, "limit"); }
