/* hfscan run JOB: a job file is a saved command line in key = value form;
 * hfscan merge OUT PART...: combine job-array parts (toys, grid) through
 * the job layer;
 * hfscan status FILE: progress of any resumable run (exit 0 complete, 3 not
 * yet, 1 missing or unreadable). */
#include "cli.h"
#include "hfs_error.h"
#include "hfs_store.h"
#include "toy_notes.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Job keys and the option each becomes ("" = positional workspace; STAGE:
 * the value is the flag, yields = prefit|postfit). */
static const char STAGE[] = "stage";
static const char FLAG[] = "flag"; /* yes: the option ("--KEY") is given, no: it is not */
static const struct {
  const char *key, *option;
  int repeat;
} keys[] = {
    {"workspace", "", 0},
    {"task", NULL, 0},
    {"measurement", "--measurement", 0},
    {"mu", "--mu", 0},
    {"cl", "--cl", 0},
    {"test_stat", "--test-stat", 0},
    {"scan", "--scan", 0},
    {"poi_grid", "--scan", 0},
    {"calc", "--calc", 0},
    {"ntoys", "--ntoys", 0},
    {"seed", "--seed", 0},
    {"output", "-o", 0},
    {"optimizer", "--optimizer", 0},
    {"fix", "--fix", 1},
    {"normsys_code", "--normsys-code", 0},
    {"histosys_code", "--histosys-code", 0},
    {"top", "--top", 0},
    {"group", "--group", 1},
    {"level", "--level", 1},
    {"checkpoint_interval", "--checkpoint-interval", 0},
    {"patch", "--patch", 1},
    {"bounds", "--bounds", 1},
    {"set", "--set", 1},
    {"freeze", "--freeze", 1},
    /* diagnostics (docs/diagnostics.md) */
    {"data", "--data", 0},
    {"par", "--par", 1},
    {"freeze_group", "--freeze-group", 1},
    {"yields", STAGE, 0},
    /* signal grids (docs/grid.md): patchset is the second positional
     * argument; limit = yes|no */
    {"patchset", "", 0},
    {"points", "--points", 1},
    {"limit", FLAG, 0},
    {"limit_method", "--limit-method", 0},
    {"toys_min", "--toys-min", 0},
    {"toys_max", "--toys-max", 0},
    {"toys_batch", "--toys-batch", 0},
    {"cls_accuracy", "--cls-accuracy", 0},
    {"harvest", "--harvest", 0},
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

static const struct {
  const char *name;
  int (*fn)(int, char **);
} tasks[] = {{"fit", hfs_cmd_fit},         {"hypotest", hfs_cmd_hypotest},
             {"limit", hfs_cmd_limit},     {"significance", hfs_cmd_significance},
             {"ranking", hfs_cmd_ranking}, {"scan", hfs_cmd_scan},
             {"summary", hfs_cmd_summary}, {"gof", hfs_cmd_gof},
             {"yields", hfs_cmd_yields},   {"grid", hfs_cmd_grid}};

char *hfs_cli_job_path(const char *job, const char *value) {
  const char *slash = strrchr(job, '/');
  if (value[0] == '/' || !strcmp(value, "-") || !slash) return strdup(value);
  size_t dl = (size_t)(slash - job), n = dl + 1 + strlen(value) + 1;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%.*s/%s", (int)dl, job, value);
  return p;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) ++s;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

int hfs_cmd_run(int argc, char **argv) {
  int code = HFS_EXIT_USAGE;
  char **av = NULL;
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fprintf(argc < 2 ? stderr : stdout,
            "usage: hfscan run JOB [options]   (options override the job file)\n"
            "A job file holds 'key = value' lines ('#' starts a comment); keys:\n"
            "  workspace, patch (repeatable), task (fit|hypotest|limit|significance|\n"
            "  ranking|scan|summary|gof|yields|grid),\n"
            "  measurement, mu, cl, test_stat, scan (LO:HI:N), calc, ntoys, seed, output,\n"
            "  optimizer, fix, bounds, set, freeze (repeatable), normsys_code, histosys_code, top, "
            "group\n"
            "  (repeatable), level (repeatable), checkpoint_interval, data, par (repeatable),\n"
            "  freeze_group (repeatable), yields (prefit|postfit), limit_method (limit, grid);\n"
            "  for task grid: patchset, points (repeatable), limit (yes|no), toys_min, toys_max,\n"
            "  toys_batch, cls_accuracy, harvest.  See docs/jobs.md.\n");
    return argc < 2 ? HFS_EXIT_USAGE : HFS_EXIT_OK;
  }
  const char *job = argv[1];
  FILE *f = fopen(job, "r");
  if (!f) {
    hfs_cli_error("%s: cannot open job file: %s", job, strerror(errno));
    return HFS_EXIT_ERROR;
  }
  /* room for every line as "--opt value" plus the overrides */
  int cap = 2 * 256 + argc + 4, n = 1;
  av = calloc((size_t)cap, sizeof *av);
  char *lines[256];
  int nlines = 0;
  const char *task = NULL, *workspace = NULL, *patchset = NULL;
  int patchset_line = 0;
  char buf[4096];
  int lineno = 0;
  int seen[NKEYS] = {0};
  while (fgets(buf, sizeof buf, f)) {
    ++lineno;
    char *hash = strchr(buf, '#');
    if (hash) *hash = '\0';
    char *s = trim(buf);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      hfs_cli_error("%s:%d: expected 'key = value'", job, lineno);
      goto done;
    }
    *eq = '\0';
    char *k = trim(s), *v = trim(eq + 1);
    int ki = -1;
    for (int i = 0; i < NKEYS; ++i)
      if (!strcmp(k, keys[i].key)) ki = i;
    if (ki < 0) {
      hfs_cli_error("%s:%d: unknown key '%s' (see hfscan run --help)", job, lineno, k);
      goto done;
    }
    if (!*v) {
      hfs_cli_error("%s:%d: key '%s' has no value", job, lineno, k);
      goto done;
    }
    if (seen[ki]++ && !keys[ki].repeat) {
      hfs_cli_error("%s:%d: key '%s' given twice", job, lineno, k);
      goto done;
    }
    if (nlines == 256) {
      hfs_cli_error("%s:%d: too many lines", job, lineno);
      goto done;
    }
    /* A relative path in a job file means the same file wherever hfscan
     * runs from: it is relative to the job file's folder. */
    int is_path = !strcmp(k, "workspace") || !strcmp(k, "patch") || !strcmp(k, "output") ||
                  !strcmp(k, "patchset") || !strcmp(k, "harvest");
    char *val = is_path ? hfs_cli_job_path(job, v) : strdup(v);
    if (!val) {
      hfs_cli_error("%s:%d: out of memory", job, lineno);
      goto done;
    }
    lines[nlines++] = val;
    if (keys[ki].option == STAGE) {
      if (strcmp(val, "prefit") && strcmp(val, "postfit")) {
        hfs_cli_error("%s:%d: key '%s' is prefit or postfit, not '%s'", job, lineno, k, val);
        goto done;
      }
      av[n++] = (char *)(!strcmp(val, "prefit") ? "--prefit" : "--postfit");
    } else if (keys[ki].option == FLAG) {
      if (strcmp(val, "yes") && strcmp(val, "no")) {
        hfs_cli_error("%s:%d: key '%s' is yes or no, not '%s'", job, lineno, k, val);
        goto done;
      }
      if (!strcmp(val, "yes")) av[n++] = (char *)"--limit";
    } else if (!keys[ki].option) {
      task = val;
    } else if (!keys[ki].option[0]) {
      if (!strcmp(k, "patchset")) {
        patchset = val;
        patchset_line = lineno;
      } else {
        workspace = val;
      }
    } else {
      av[n++] = (char *)keys[ki].option;
      av[n++] = val;
    }
  }
  fclose(f);
  f = NULL;
  if (!task || !workspace) {
    hfs_cli_error("%s: the job needs 'task' and 'workspace'", job);
    goto done;
  }
  int (*fn)(int, char **) = NULL;
  for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; ++i)
    if (!strcmp(task, tasks[i].name)) fn = tasks[i].fn;
  if (!fn) {
    hfs_cli_error(
        "%s: unknown task '%s' (fit, hypotest, limit, significance, ranking, scan, "
        "summary, gof, yields, grid)",
        job, task);
    goto done;
  }
  int grid = !strcmp(task, "grid");
  if (grid != (patchset != NULL)) {
    if (grid)
      hfs_cli_error("%s: task 'grid' needs 'patchset' (the signal points)", job);
    else
      hfs_cli_error(
          "%s:%d: key 'patchset' belongs to task 'grid', not '%s' (for one point: patch "
          "= PATCHSET.json:NAME)",
          job, patchset_line, task);
    goto done;
  }
  av[0] = (char *)task;
  if (grid) {
    /* hfscan grid BKG.json PATCHSET.json [options]: the two files first */
    memmove(av + 3, av + 1, (size_t)(n - 1) * sizeof *av);
    av[1] = (char *)workspace;
    av[2] = (char *)patchset;
    n += 2;
  } else {
    av[n++] = (char *)workspace;
  }
  hfs_cli_set_override_from(n);
  for (int i = 2; i < argc; ++i) av[n++] = argv[i];
  av[n] = NULL;
  code = fn(n, av);
done:
  if (f) fclose(f);
  for (int i = 0; i < nlines; ++i) free(lines[i]);
  free(av);
  return code;
}

int hfs_cmd_merge(int argc, char **argv) {
  int code = HFS_EXIT_OK;
  if (argc < 3 || !strcmp(argv[1], "--help")) {
    fprintf(argc < 3 ? stderr : stdout,
            "usage: hfscan merge OUT.h5 PART.h5 [PART.h5 ...]\n"
            "Combines the files of a job array's parts (toys or grid; same workspace and\n"
            "options) into one file, identical to a single run's apart from /provenance.\n");
    return argc < 3 ? HFS_EXIT_USAGE : HFS_EXIT_OK;
  }
  if (hfs_cli_rank() != 0) return HFS_EXIT_OK;
  const char *target = argv[1];
  for (int i = 2; i < argc; ++i)
    if (!strcmp(argv[i], target)) {
      hfs_cli_error("merge: the output %s is also listed as a part", target);
      return HFS_EXIT_USAGE;
    }
  const hfs_job_kind *kind = NULL;
  int64_t done = 0, n = 0;
  int rc = hfs_job_merge(target, (const char *const *)argv + 2, argc - 2, &kind, &done, &n);
  if (rc == HFS_OK && done == n && kind == &hfs_job_toys) {
    /* The merged limit carries the same notes as a single run's. */
    hfs_toyfile tf;
    rc = hfs_toyfile_load(target, &tf);
    if (rc == HFS_OK) {
      if (!strcmp(tf.kind, "limit")) {
        rc = hfs_job_toys_compute(&tf);
        if (rc == HFS_OK) rc = hfs_cli_toy_limit_h5(target, &tf);
      }
      hfs_toyfile_free(&tf);
    }
  }
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    return rc == HFS_ERR_ARG ? HFS_EXIT_USAGE : HFS_EXIT_ERROR;
  }
  printf("hfscan merge: %s: %lld of %lld %s%s\n", target, (long long)done, (long long)n,
         kind->unit_noun, done == n ? ", complete" : ", still incomplete (parts missing?)");
  code = done == n ? HFS_EXIT_OK : HFS_EXIT_INTERRUPTED;
  return code;
}

/* One file's status line; returns the exit status (0 done, 3 not yet, 1
 * missing or unreadable).  Reads only the progress record's attributes. */
static int status_of(const char *path) {
  hfs_store_progress p;
  struct stat st;
  if (stat(path, &st) != 0) {
    hfs_cli_error("status: %s: no such file (nothing committed yet?)", path);
    return HFS_EXIT_ERROR;
  }
  /* A toy file is also validated row by row (shapes, done rows, finite
   * statistics), as resume and merge do, so status never calls a damaged
   * file complete; the rows are read in blocks, never the file whole.  A
   * grid file is read whole (one row a signal point).  Rankings and scans
   * answer from the record alone.  The record and the table are read by
   * two opens: a commit of a running job may replace the file between
   * them (a new inode), and then both are read again. */
  int64_t done = 0, total = 0;
  for (int attempt = 0;; ++attempt) {
    struct stat before, after;
    if (stat(path, &before) != 0 || hfs_store_read_progress(path, &p)) {
      hfs_cli_error("status: %s", hfs_error_message());
      return HFS_EXIT_ERROR;
    }
    if (strcmp(p.kind, "toys")) break;
    if (hfs_toyfile_check(path, &done, &total)) {
      hfs_cli_error("status: %s", hfs_error_message());
      return HFS_EXIT_ERROR;
    }
    if (stat(path, &after) != 0 ||
        (after.st_ino == before.st_ino && after.st_dev == before.st_dev) || attempt == 20)
      break;
  }
  if (!strcmp(p.kind, "toys")) {
    if (done != p.done || total != p.total || (p.complete && done != total)) {
      hfs_cli_error(
          "status: %s: damaged toy file: /job says %lld of %lld toys done%s, the "
          "toy table holds %lld of %lld",
          path, (long long)p.done, (long long)p.total, p.complete ? " (complete)" : "",
          (long long)done, (long long)total);
      return HFS_EXIT_ERROR;
    }
  }
  if (!strcmp(p.kind, "grid")) {
    hfs_grid_file g;
    hfs_h5 *f = NULL;
    int rc = hfs_h5_open(path, 0, &f);
    if (!rc) rc = hfs_store_read_grid(f, &g);
    hfs_h5_close(&f);
    if (rc) {
      hfs_cli_error("status: %s", hfs_error_message());
      return HFS_EXIT_ERROR;
    }
    hfs_grid_file_free(&g);
  }
  char rate[64] = "";
  if (p.rate >= 0) snprintf(rate, sizeof rate, ", %.3g %s/s", p.rate, p.unit);
  printf(
      "hfscan status: %s: %s, %lld of %lld %s done (part %d/%d), %lld session(s), last "
      "commit %s%s%s\n",
      path, p.kind, (long long)p.done, (long long)p.total, p.unit, p.array_index, p.array_count,
      (long long)p.sessions, p.written[0] ? p.written : "unknown", rate,
      p.complete ? ", complete" : "");
  return p.done == p.total ? HFS_EXIT_OK : HFS_EXIT_INTERRUPTED;
}

/* A summary folder: its resumable parts are ranking.h5 and scan.h5; the
 * other parts are written whole at the end of their step. */
static int status_of_summary(const char *dir) {
  static const char *const resumable[] = {"ranking.h5", "scan.h5"};
  static const char *const whole[] = {"fit.h5", "limit.h5", "significance.h5"};
  char path[4096];
  struct stat st;
  int code = HFS_EXIT_OK, missing = 0;
  for (int i = 0; i < 3; ++i) {
    snprintf(path, sizeof path, "%s/%s", dir, whole[i]);
    if (stat(path, &st) != 0) ++missing;
  }
  for (int i = 0; i < 2; ++i) {
    snprintf(path, sizeof path, "%s/%s", dir, resumable[i]);
    if (stat(path, &st) != 0) {
      ++missing;
      continue;
    }
    int c = status_of(path);
    if (c == HFS_EXIT_ERROR) return c;
    if (c != HFS_EXIT_OK) code = c;
  }
  printf("hfscan status: %s: summary, %d of 5 parts written\n", dir, 5 - missing);
  return missing ? HFS_EXIT_INTERRUPTED : code;
}

int hfs_cmd_status(int argc, char **argv) {
  if (argc != 2 || !strcmp(argv[1], "--help")) {
    fprintf(argc != 2 ? stderr : stdout,
            "usage: hfscan status OUT.h5|SUMMARY_DIR\nProgress of a resumable run (toys, "
            "ranking, scan, summary, ...): units done of the total, rate, time of the last "
            "commit.\nExit status 0: complete; 3: incomplete (resume it); 1: missing or "
            "unreadable.\n");
    return argc != 2 ? HFS_EXIT_USAGE : HFS_EXIT_OK;
  }
  if (hfs_cli_rank() != 0) return HFS_EXIT_OK;
  struct stat st;
  if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode)) return status_of_summary(argv[1]);
  return status_of(argv[1]);
}
