/* Command-line options shared by the subcommands. */
#include "cli.h"
#include "hfs_error.h"
#include "hfs_core.h"
#include "hfs_sched.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hfs_cli_error(const char *fmt, ...) {
  /* Every rank parses the same input and meets the same errors; one line
   * from rank 0 instead of one per rank.  Errors that only a worker meets
   * reach rank 0 through the scheduler. */
  if (hfs_cli_rank() != 0) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fputs("hfscan: ", stderr);
  hfs_fputs_escaped(msg, stderr);
  fputc('\n', stderr);
  /* For developers and bug reports: where in the code the error arose.  A
   * message not from the library (a usage error) has no trace of its own. */
  const char *want = getenv("HFS_ERROR_TRACE");
  if (want && *want && strcmp(want, "0") && hfs_error_trace_depth() > 0 &&
      strstr(msg, hfs_error_message()))
    fprintf(stderr, "hfscan: trace: %s\n", hfs_error_trace());
}

void hfs_cli_opts_default(hfs_cli_opts *o) {
  memset(o, 0, sizeof *o);
  hfs_fit_options fo = HFS_FIT_OPTIONS_DEFAULT;
  hfs_model_options mo = HFS_MODEL_OPTIONS_DEFAULT;
  o->fit = fo;
  o->model = mo;
  o->cl = 0.95;
  o->ts = HFS_TS_QTILDE;
  o->ntoys = 1000;
  o->seed = 1;
  o->top = 20;
  o->array_count = 1;
  o->checkpoint_interval = 30;
  o->worker_timeout = 300;
  o->robust = HFS_ROBUST_OBSERVED;
  o->limit_method = HFS_LIMIT_STEPS;
}

void hfs_cli_apply_robust(const hfs_cli_opts *o, hfs_infer *I) {
  hfs_infer_set_robust(I, o->robust != HFS_ROBUST_OFF, o->robust == HFS_ROBUST_TOYS);
}

void hfs_cli_opts_free(hfs_cli_opts *o) {
  for (int i = 0; i < o->nfix; ++i) free(o->fix_name[i]);
  o->nfix = 0;
  hfs_cli_params_free(&o->params);
}

static int parse_double(const char *s, double *v) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return errno == 0 && end != s && *end == '\0' && isfinite(*v);
}

static int parse_ll(const char *s, long long *v) {
  char *end;
  errno = 0;
  *v = strtoll(s, &end, 10);
  return errno == 0 && end != s && *end == '\0';
}

/* Which subcommands accept an option: a string of command names. */
typedef struct {
  struct option opt;
  const char *cmds; /* NULL = all */
  const char *help;
} optdef;

enum {
  O_MEAS = 1000,
  O_FIX,
  O_OPT,
  O_NCODE,
  O_HCODE,
  O_JSON,
  O_QUIET,
  O_STRICT,
  O_MU,
  O_CL,
  O_TS,
  O_SCAN,
  O_CALC,
  O_NTOYS,
  O_SEED,
  O_OVERWRITE,
  O_TOP,
  O_GROUP,
  O_POI,
  O_LEVEL,
  O_ARRAY,
  O_HELP,
  O_OUT,
  O_CKPT,
  O_BRIEF,
  O_MAXITER,
  O_PATCH,
  O_BOUNDS,
  O_SET,
  O_FREEZE,
  O_DATA,
  O_PREFIT,
  O_POSTFIT,
  O_LATEX,
  O_IMPACTS_JSON,
  O_PAR,
  O_FREEZE_GROUP,
  O_WTIMEOUT,
  O_ROBUST,
  O_NODIGEST,
  O_LIMIT_METHOD
};

static const optdef defs[] = {
    {{"measurement", required_argument, 0, O_MEAS},
     NULL,
     "NAME  measurement to use (default: the first)"},
    {{"fix", required_argument, 0, O_FIX}, NULL, "NAME=VALUE  hold a parameter (repeatable)"},
    {{"bounds", required_argument, 0, O_BOUNDS},
     NULL,
     "NAME=LO:HI  new bounds of a parameter (repeatable)"},
    {{"set", required_argument, 0, O_SET},
     NULL,
     "NAME=VALUE  starting value of a parameter (repeatable)"},
    {{"freeze", required_argument, 0, O_FREEZE},
     NULL,
     "NAME|MODIFIER|rgx{RE}|allConstrainedNuisances[,...]  hold parameters at their (--set) values "
     "(repeatable)"},
    {{"patch", required_argument, 0, O_PATCH},
     NULL,
     "FILE  apply a JSON Patch (.json or .json.gz) to the workspace (repeatable, in order)"},
    {{"no-digest-check", no_argument, 0, O_NODIGEST},
     NULL,
     "apply patchset patches to a workspace whose digest differs"},
    {{"optimizer", required_argument, 0, O_OPT},
     NULL,
     "newton|tao|nlopt  minimiser backend (default newton)"},
    {{"normsys-code", required_argument, 0, O_NCODE},
     NULL,
     "0|1|2|4  normsys interpolation (default 4)"},
    {{"histosys-code", required_argument, 0, O_HCODE},
     NULL,
     "0|2|4p  histosys interpolation (default 4p)"},
    {{"json", no_argument, 0, O_JSON}, NULL, "machine-readable result on stdout"},
    {{"output", required_argument, 0, O_OUT}, NULL, "FILE.h5  write the result to HDF5 (also -o)"},
    {{"quiet", no_argument, 0, O_QUIET},
     NULL,
     "no progress output; with -o, no printed result either (the file holds it)"},
    {{"strict", no_argument, 0, O_STRICT}, NULL, "treat workspace warnings as errors"},
    {{"mu", required_argument, 0, O_MU}, "hypotest grid", "X  tested POI value"},
    {{"cl", required_argument, 0, O_CL},
     "limit summary grid",
     "CL  confidence level (default 0.95)"},
    {{"test-stat", required_argument, 0, O_TS},
     "hypotest limit grid",
     "qtilde|q|tmu|tmutilde|q0  (default qtilde; q0: discovery, with --mu 0)"},
    {{"scan", required_argument, 0, O_SCAN},
     "limit scan",
     "LO:HI:N  also compute CLs on this grid (scan: same as --poi)"},
    {{"calc", required_argument, 0, O_CALC},
     "hypotest limit significance gof grid",
     "asymptotic|toys  (default asymptotic)"},
    {{"ntoys", required_argument, 0, O_NTOYS},
     "hypotest limit significance gof",
     "N  toys per hypothesis (default 1000)"},
    {{"seed", required_argument, 0, O_SEED},
     "hypotest limit significance gof grid",
     "S  random seed (default 1)"},
    {{"overwrite", no_argument, 0, O_OVERWRITE},
     "hypotest limit significance ranking scan summary gof grid",
     "start afresh even if -o exists"},
    {{"top", required_argument, 0, O_TOP},
     "ranking summary",
     "N  parameters to print (default 20; 0 = all)"},
    {{"group", required_argument, 0, O_GROUP},
     "ranking summary scan",
     "NAME=PATTERN  grouped impact: names, modifier names or regexes, comma-separated "
     "(repeatable)"},
    {{"poi", required_argument, 0, O_POI},
     "scan summary",
     "LO:HI:N  POI grid of the likelihood scan"},
    {{"level", required_argument, 0, O_LEVEL},
     "scan summary",
     "X  -2 delta ln L crossing to report (repeatable)"},
    {{"array", required_argument, 0, O_ARRAY},
     "hypotest limit significance grid",
     "I/N  run part I of N (job arrays)"},
    {{"checkpoint-interval", required_argument, 0, O_CKPT},
     "hypotest limit significance ranking scan gof grid",
     "S  seconds between checkpoint commits (default 30)"},
    {{"brief", no_argument, 0, O_BRIEF},
     NULL,
     "the headline result only: no matrix, per-point list, group table or per-fit records"},
    {{"max-iter", required_argument, 0, O_MAXITER},
     NULL,
     "N  iteration limit of each fit (default 2000)"},
    {{"data", required_argument, 0, O_DATA},
     "fit yields ranking scan limit significance hypotest gof summary",
     "observed|asimov[:mu=X][:nuis=prefit|postfit]  data to fit (default observed)"},
    {{"prefit", no_argument, 0, O_PREFIT}, "yields", "pre-fit yields (no fit)"},
    {{"postfit", no_argument, 0, O_POSTFIT}, "yields", "post-fit yields (default)"},
    {{"latex", no_argument, 0, O_LATEX}, "yields", "print the tables as LaTeX"},
    {{"impacts-json", required_argument, 0, O_IMPACTS_JSON},
     "ranking",
     "FILE  also write the impacts in CMS Combine's JSON (plotImpacts.py)"},
    {{"par", required_argument, 0, O_PAR},
     "scan",
     "NAME=LO:HI:N  scan any parameter (repeat once for 2D)"},
    {{"freeze-group", required_argument, 0, O_FREEZE_GROUP},
     "scan",
     "NAME  with --par: hold a group at its best-fit values (repeatable)"},
    {{"worker-timeout", required_argument, 0, O_WTIMEOUT},
     "hypotest limit ranking scan gof grid",
     "S  give up a rank silent for S seconds (at least 10x its longest batch; default 300): "
     "checkpoint and exit 3"},
    {{"robust", required_argument, 0, O_ROBUST},
     NULL,
     "observed|toys|off  which fits search for the global minimum (default observed: data and "
     "Asimov fits; toys: also toy fits)"},
    /* grid takes the option out of its arguments itself (cmd_grid.c); listed
     * for its help */
    {{"limit-method", required_argument, 0, O_LIMIT_METHOD},
     "limit grid",
     "secant|brent  root finding of asymptotic limits (default secant: few fits; brent: "
     "Brent's method on full hypothesis tests)"},
    {{"help", no_argument, 0, O_HELP}, NULL, "this help"},
};
#define NDEFS ((int)(sizeof defs / sizeof defs[0]))

static int allowed(const optdef *d, const char *cmd) {
  if (!d->cmds) return 1;
  const char *p = d->cmds;
  size_t n = strlen(cmd);
  while ((p = strstr(p, cmd))) {
    if ((p == d->cmds || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    p += n;
  }
  return 0;
}

static void usage(const char *cmd, FILE *out) {
  int grid = !strcmp(cmd, "grid");
  fprintf(out, "usage: hfscan %s %s [options]\noptions:\n", cmd,
          grid ? "BKG.json PATCHSET.json" : "WORKSPACE.json");
  for (int i = 0; i < NDEFS; ++i) {
    if (!allowed(&defs[i], cmd)) continue;
    fprintf(out, "  %s--%s %s\n", defs[i].opt.val == O_OUT ? "-o, " : "    ", defs[i].opt.name,
            defs[i].help);
  }
  if (grid) hfs_cli_grid_usage(out);
}

static int parse_grid(const char *s, double *lo, double *hi, int *n) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  char *a = strtok(buf, ":"), *b = strtok(NULL, ":"), *c = strtok(NULL, ":");
  long long nn;
  if (!a || !b || !c || strtok(NULL, ":") || !parse_double(a, lo) || !parse_double(b, hi) ||
      !parse_ll(c, &nn) || nn < 1 || nn > 100000 || *hi < *lo)
    return 0;
  *n = (int)nn;
  return 1;
}

static char argv_line[4096];

/* hfscan run: options from the job file come first, and the command line's
 * (argv[override_from] on) may override each of them once. */
static int override_from;
void hfs_cli_set_override_from(int argi) { override_from = argi; }

int hfs_cli_parse(const char *cmd, int argc, char **argv, hfs_cli_opts *o) {
  size_t l = snprintf(argv_line, sizeof argv_line, "hfscan");
  for (int i = 0; i < argc && l < sizeof argv_line; ++i)
    l += snprintf(argv_line + l, sizeof argv_line - l, " %s", argv[i]);
  o->argv_line = argv_line;
  struct option lo[NDEFS + 1];
  for (int i = 0; i < NDEFS; ++i) lo[i] = defs[i].opt;
  memset(&lo[NDEFS], 0, sizeof lo[NDEFS]);
  optind = 1;
  opterr = 0;
  int c, idx;
  /* Where each valued option was first given: a second value of an option
   * that takes one is an error, not a silent override. */
  const char *seen[NDEFS];
  int seen_at[NDEFS];
  memset(seen, 0, sizeof seen);
  memset(seen_at, 0, sizeof seen_at);
  while ((c = getopt_long(argc, argv, ":o:h", lo, &idx)) != -1) {
    const char *name = NULL;
    for (int i = 0; i < NDEFS; ++i)
      if (defs[i].opt.val == c || (c == 'o' && defs[i].opt.val == O_OUT)) {
        name = defs[i].opt.name;
        if (!allowed(&defs[i], cmd)) {
          hfs_cli_error("option --%s does not apply to '%s'", name, cmd);
          return HFS_EXIT_USAGE;
        }
        if (defs[i].opt.has_arg == required_argument && !strstr(defs[i].help, "repeat")) {
          if (seen[i] && override_from > 0 && seen_at[i] <= override_from &&
              optind > override_from) {
            /* the command line overrides the job file's value */
          } else if (seen[i]) {
            hfs_cli_error("option --%s given twice ('%s', then '%s'); give it once", name, seen[i],
                          optarg);
            return HFS_EXIT_USAGE;
          }
          seen[i] = optarg;
          seen_at[i] = optind;
        }
      }
    double v;
    long long ll;
    switch (c) {
      case O_MEAS: o->measurement = optarg; break;
      case O_FIX: {
        const char *eq = strchr(optarg, '=');
        if (!eq || eq == optarg || !parse_double(eq + 1, &v)) {
          hfs_cli_error("--fix %s: expected NAME=VALUE with a finite number", optarg);
          return HFS_EXIT_USAGE;
        }
        if (o->nfix == HFS_MAX_FIX) {
          hfs_cli_error("--fix: at most %d parameters", HFS_MAX_FIX);
          return HFS_EXIT_USAGE;
        }
        o->fix_name[o->nfix] = strndup(optarg, (size_t)(eq - optarg));
        o->fix_value[o->nfix++] = v;
        break;
      }
      case O_BOUNDS:
      case O_SET:
      case O_FREEZE:
        if (hfs_cli_params_add(&o->params,
                               c == O_BOUNDS ? HFS_EDIT_BOUNDS
                               : c == O_SET  ? HFS_EDIT_SET
                                             : HFS_EDIT_FREEZE,
                               optarg))
          return HFS_EXIT_USAGE;
        break;
      case O_PATCH:
        if (o->npatch == HFS_MAX_PATCH) {
          hfs_cli_error("--patch: at most %d patches", HFS_MAX_PATCH);
          return HFS_EXIT_USAGE;
        }
        o->patch[o->npatch++] = optarg;
        break;
      case O_NODIGEST: o->no_digest_check = 1; break;
      case O_OPT:
        if (hfs_optimizer_from_name(optarg, &o->fit.optimizer)) {
          hfs_cli_error("--optimizer %s: use newton, tao or nlopt", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_NCODE:
        if (!parse_ll(optarg, &ll) || (ll != 0 && ll != 1 && ll != 2 && ll != 4)) {
          hfs_cli_error("--normsys-code %s: use 0, 1, 2 or 4", optarg);
          return HFS_EXIT_USAGE;
        }
        o->model.normsys_code = (int)ll;
        break;
      case O_HCODE:
        if (!strcmp(optarg, "4p") || !strcmp(optarg, "4"))
          o->model.histosys_code = 4;
        else if (!strcmp(optarg, "0"))
          o->model.histosys_code = 0;
        else if (!strcmp(optarg, "2"))
          o->model.histosys_code = 2;
        else {
          hfs_cli_error("--histosys-code %s: use 0, 2 or 4p", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_JSON: o->json = 1; break;
      case 'o':
      case O_OUT: o->output = optarg; break;
      case O_QUIET: o->quiet = 1; break;
      case O_BRIEF: o->brief = 1; break;
      case O_MAXITER:
        if (!parse_ll(optarg, &ll) || ll < 1 || ll > 1000000) {
          hfs_cli_error("--max-iter %s: expected a positive integer", optarg);
          return HFS_EXIT_USAGE;
        }
        o->fit.max_iter = (int)ll;
        break;
      case O_ROBUST:
        if (!strcmp(optarg, "off"))
          o->robust = HFS_ROBUST_OFF;
        else if (!strcmp(optarg, "observed"))
          o->robust = HFS_ROBUST_OBSERVED;
        else if (!strcmp(optarg, "toys"))
          o->robust = HFS_ROBUST_TOYS;
        else {
          hfs_cli_error("--robust %s: expected observed, toys or off", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_LIMIT_METHOD:
        if (!strcmp(optarg, "secant"))
          o->limit_method = HFS_LIMIT_STEPS;
        else if (!strcmp(optarg, "brent"))
          o->limit_method = HFS_LIMIT_BRENT;
        else {
          hfs_cli_error("--limit-method %s: expected secant or brent", optarg);
          return HFS_EXIT_USAGE;
        }
        o->have_limit_method = 1;
        break;
      case O_STRICT: o->strict = 1; break;
      case O_MU:
        if (!parse_double(optarg, &o->mu)) {
          hfs_cli_error("--mu %s: expected a number", optarg);
          return HFS_EXIT_USAGE;
        }
        o->have_mu = 1;
        break;
      case O_CL:
        if (!parse_double(optarg, &o->cl) || !(o->cl > 0 && o->cl < 1)) {
          hfs_cli_error("--cl %s: expected a number in (0, 1), e.g. 0.90", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_TS:
        if (hfs_teststat_from_name(optarg, &o->ts)) {
          hfs_cli_error("--test-stat %s: %s", optarg, hfs_error_message());
          return HFS_EXIT_USAGE;
        }
        o->have_ts = 1;
        break;
      case O_SCAN:
        if (!parse_grid(optarg, &o->scan_lo, &o->scan_hi, &o->nscan)) {
          hfs_cli_error("--scan %s: expected LO:HI:N with LO <= HI and N >= 1", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_POI:
        if (!parse_grid(optarg, &o->scan_lo, &o->scan_hi, &o->nscan)) {
          hfs_cli_error("--poi %s: expected LO:HI:N with LO <= HI and N >= 1", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_CALC:
        if (!strcmp(optarg, "toys"))
          o->toys = 1;
        else if (!strcmp(optarg, "asymptotic"))
          o->toys = 0;
        else {
          hfs_cli_error("--calc %s: use asymptotic or toys", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_NTOYS:
        if (!parse_ll(optarg, &o->ntoys) || o->ntoys < 1) {
          hfs_cli_error("--ntoys %s: expected a positive integer", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_SEED:
        if (!parse_ll(optarg, &ll) || ll < 0) {
          hfs_cli_error("--seed %s: expected a non-negative integer", optarg);
          return HFS_EXIT_USAGE;
        }
        o->seed = (unsigned long long)ll;
        break;
      case O_OVERWRITE: o->overwrite = 1; break;
      case O_TOP:
        if (!parse_ll(optarg, &ll) || ll < 0) {
          hfs_cli_error("--top %s: expected a non-negative integer", optarg);
          return HFS_EXIT_USAGE;
        }
        o->top = (int)ll;
        break;
      case O_GROUP:
        if (!strchr(optarg, '=') || o->ngroups == 32) {
          hfs_cli_error("--group %s: expected NAME=REGEX (at most 32 groups)", optarg);
          return HFS_EXIT_USAGE;
        }
        o->groups[o->ngroups++] = optarg;
        break;
      case O_LEVEL:
        if (!parse_double(optarg, &v) || v <= 0 || o->nlevels == 4) {
          hfs_cli_error("--level %s: expected a positive number (at most 4)", optarg);
          return HFS_EXIT_USAGE;
        }
        o->levels[o->nlevels++] = v;
        break;
      case O_ARRAY: {
        long long a, b;
        char buf[64];
        snprintf(buf, sizeof buf, "%s", optarg);
        char *sl = strchr(buf, '/');
        if (!sl) {
          hfs_cli_error("--array %s: expected I/N", optarg);
          return HFS_EXIT_USAGE;
        }
        *sl = '\0';
        if (!parse_ll(buf, &a) || !parse_ll(sl + 1, &b) || b < 1 || a < 0 || a >= b) {
          hfs_cli_error("--array %s: expected I/N with 0 <= I < N", optarg);
          return HFS_EXIT_USAGE;
        }
        o->array_index = (int)a;
        o->array_count = (int)b;
        break;
      }
      case O_CKPT:
        if (!parse_double(optarg, &o->checkpoint_interval) || o->checkpoint_interval < 0) {
          hfs_cli_error("--checkpoint-interval %s: expected seconds >= 0", optarg);
          return HFS_EXIT_USAGE;
        }
        break;
      case O_DATA:
        if (hfs_cli_data_parse(optarg, o)) {
          hfs_cli_error("%s", hfs_error_message());
          return HFS_EXIT_USAGE;
        }
        break;
      case O_PREFIT: o->yields_prefit = 1; break;
      case O_POSTFIT: o->yields_prefit = 0; break;
      case O_LATEX: o->latex = 1; break;
      case O_IMPACTS_JSON: o->impacts_json = optarg; break;
      case O_PAR:
        if (hfs_cli_par_parse(optarg, o)) {
          hfs_cli_error("%s", hfs_error_message());
          return HFS_EXIT_USAGE;
        }
        break;
      case O_FREEZE_GROUP:
        if (o->nfreeze_group == 32) {
          hfs_cli_error("--freeze-group: at most 32 groups");
          return HFS_EXIT_USAGE;
        }
        o->freeze_group[o->nfreeze_group++] = optarg;
        break;
      case O_WTIMEOUT:
        if (!parse_double(optarg, &o->worker_timeout) || !(o->worker_timeout > 0)) {
          hfs_cli_error("--worker-timeout %s: expected seconds > 0", optarg);
          return HFS_EXIT_USAGE;
        }
        /* also the limit of the roll call at the end of any command */
        hfs_sched_hang_timeout(o->worker_timeout);
        break;
      case 'h':
      case O_HELP: usage(cmd, stdout); return -1;
      case ':': hfs_cli_error("option %s needs a value", argv[optind - 1]); return HFS_EXIT_USAGE;
      default:
        hfs_cli_error("unknown option '%s' (see hfscan %s --help)", argv[optind - 1], cmd);
        return HFS_EXIT_USAGE;
    }
    (void)name;
  }
  if (optind >= argc) {
    hfs_cli_error("%s: missing WORKSPACE.json (see hfscan %s --help)", cmd, cmd);
    return HFS_EXIT_USAGE;
  }
  if (optind + 1 < argc) {
    hfs_cli_error("%s: unexpected argument '%s'", cmd, argv[optind + 1]);
    return HFS_EXIT_USAGE;
  }
  o->workspace = argv[optind];
  if (o->have_limit_method && o->toys) {
    hfs_cli_error(
        "--limit-method applies to asymptotic limits (a toy limit interpolates CLs on its --scan "
        "grid)");
    return HFS_EXIT_USAGE;
  }
  if (o->output && !strcmp(cmd, "summary")) {
    size_t n = strlen(o->output);
    if (n >= 3 && !strcmp(o->output + n - 3, ".h5")) {
      hfs_cli_error(
          "summary -o %s: give a folder (summary writes fit.h5, limit.h5, "
          "significance.h5, ranking.h5 and scan.h5 in it)",
          o->output);
      return HFS_EXIT_USAGE;
    }
  }
  /* Every rank, so that all stop together; creating a folder that exists
   * is no error. */
  if (o->output &&
      (!strcmp(cmd, "summary") ? hfs_cli_mkdirs(o->output) : hfs_cli_prepare_output(o->output))) {
    hfs_cli_error("%s", hfs_error_message());
    return HFS_EXIT_ERROR;
  }
  return HFS_EXIT_OK;
}

static int warned;
static void count_warning(const char *line, void *ctx) {
  (void)ctx;
  warned++;
  fprintf(stderr, "hfscan: warning: %s\n", line);
}

/* The identity of the input for provenance and resumption: the workspace
 * file's sha256 as before without patches (so existing outputs still
 * match), else the sha256 of the workspace's and each patch's sha256 (hex)
 * concatenated in order. */
/* A patch file's sha256; for PATCHSET.json:NAME, that of the patchset's
 * sha256 followed by the name. */
static int patch_sha256(const char *patch, char hex[65]) {
  const char *colon = strrchr(patch, ':');
  char buf[64 + 512], *file;
  int rc;
  if (!colon || access(patch, F_OK) == 0) return hfs_sha256_file(patch, hex);
  if (!(file = strndup(patch, (size_t)(colon - patch))))
    return hfs_error_set(HFS_ERR_NOMEM, "out of memory");
  rc = hfs_sha256_file(file, buf);
  free(file);
  if (rc) return rc;
  snprintf(buf + 64, sizeof buf - 64, "%s", colon + 1);
  hfs_sha256_buffer(buf, strlen(buf), hex);
  return HFS_OK;
}

static int workspace_sha256(const hfs_cli_opts *o, char hex[65]) {
  char cat[64 * (HFS_MAX_PATCH + 1) + 1];
  int rc = HFS_OK;
  if (!strcmp(o->workspace, "-")) {
    const char *text;
    size_t len;
    HFS_CHECK(hfs_cli_stdin_workspace(&text, &len));
    hfs_sha256_buffer(text, len, cat);
    if (o->npatch == 0) {
      memcpy(hex, cat, 65);
      goto cleanup;
    }
  } else if (o->npatch == 0) {
    return hfs_sha256_file(o->workspace, hex);
  } else {
    HFS_CHECK(hfs_sha256_file(o->workspace, cat));
  }
  for (int i = 0; i < o->npatch; ++i) HFS_CHECK(patch_sha256(o->patch[i], cat + 64 * (i + 1)));
  hfs_sha256_buffer(cat, 64 * (size_t)(o->npatch + 1), hex);
cleanup:
  return rc;
}

/* A likelihood that is not finite at the start point is an input error
 * (the initial values of the workspace or of --set, --fix): the command's
 * free fit starts there and would stop at once, and most commands would
 * report only that their fits failed, not why.  Not for the points of a
 * grid, which record a point whose fits failed instead (cmd_grid.c calls
 * hfs_cli_load_spec). */
static int check_start(const hfs_cli_opts *o, hfs_cli_ctx *c) {
  hfs_model *m = c->model;
  const double *main = hfs_model_observed(m);
  if (isfinite(hfs_model_twice_nll(m, main, hfs_model_auxdata(m), c->init, NULL))) return HFS_OK;
  char why[160] = "";
  hfs_model_first_nonfinite(m, main, c->init, why, sizeof why);
  return hfs_error_set(HFS_ERR_MODEL,
                       "%s: the likelihood is not finite at the start point (the parameters' "
                       "initial values)%s%s",
                       o->workspace, why[0] ? ": " : "", why);
}

static int load_spec(const hfs_cli_opts *o, hfs_spec *spec, hfs_cli_ctx *c, int check_init);

int hfs_cli_load(const hfs_cli_opts *o, hfs_cli_ctx *c) {
  hfs_spec *spec = NULL;
  memset(c, 0, sizeof *c);
  warned = 0;
  hfs_warn_set_sink(count_warning, NULL);
  int rc;
  if (!strcmp(o->workspace, "-")) {
    const char *text;
    size_t len;
    rc = hfs_cli_stdin_workspace(&text, &len);
    if (!rc)
      rc = hfs_spec_read_buffer_patched_flags(text, len, "-", o->patch, o->npatch,
                                              o->no_digest_check ? HFS_SPEC_NO_DIGEST_CHECK : 0,
                                              &spec);
  } else {
    rc = hfs_spec_read_patched(o->workspace, o->patch, o->npatch,
                               o->no_digest_check ? HFS_SPEC_NO_DIGEST_CHECK : 0, &spec);
  }
  return rc ? rc : load_spec(o, spec, c, 1);
}

/* With check_init, the start point is checked on the workspace's data
 * before --data replaces them: an Asimov data set is made from the same
 * start, so its own error would hide the cause. */
static int load_spec(const hfs_cli_opts *o, hfs_spec *spec, hfs_cli_ctx *c, int check_init) {
  int rc = HFS_OK;
  memset(c, 0, sizeof *c);
  c->spec = spec;
  rc = hfs_model_create(c->spec, o->measurement, &o->model, &c->model);
  if (rc == HFS_ERR_NOMEM) {
    /* Say for which model size the memory ran out. */
    long long nbins = 0;
    for (int k = 0; k < c->spec->nchannels; ++k) nbins += c->spec->channels[k].nbins;
    rc = hfs_error_set(rc, "%s (building the model of %s: %d channels, %lld bins)",
                       hfs_error_message(), o->workspace, c->spec->nchannels, nbins);
  }
  if (rc) goto cleanup;
  if (o->strict && warned)
    HFS_FAIL(HFS_ERR_MODEL, "%s: %d warning(s) and --strict given", o->workspace, warned);
  HFS_CHECK(workspace_sha256(o, c->sha256));
  int n = hfs_model_npar(c->model);
  HFS_ALLOC(c->fixed, n);
  HFS_ALLOC(c->init, n);
  for (int i = 0; i < n; ++i) {
    c->fixed[i] = hfs_model_par_fixed(c->model, i);
    c->init[i] = hfs_model_par_init(c->model, i);
  }
  if (o->params.n > 0) {
    /* The edits change the model, so they are part of the input's identity:
     * a run resumes or merges only with the same ones. */
    char buf[64 + 64 * HFS_MAX_EDITS];
    snprintf(buf, sizeof buf, "%s;", c->sha256);
    hfs_cli_params_canonical(&o->params, buf + strlen(buf), sizeof buf - strlen(buf));
    hfs_sha256_buffer(buf, strlen(buf), c->sha256);
    HFS_CHECK(hfs_cli_params_apply(&o->params, c->model, o->workspace, c->fixed, c->init));
  }
  for (int k = 0; k < o->nfix; ++k) {
    int i = hfs_model_par_find(c->model, o->fix_name[k]);
    if (i < 0)
      HFS_FAIL(HFS_ERR_ARG, "--fix %s: no parameter of that name in %s", o->fix_name[k],
               o->workspace);
    double lo = hfs_model_par_lo(c->model, i), hi = hfs_model_par_hi(c->model, i);
    if (!(o->fix_value[k] >= lo && o->fix_value[k] <= hi))
      HFS_FAIL(HFS_ERR_ARG, "--fix %s=%g: outside the parameter's bounds [%g, %g]", o->fix_name[k],
               o->fix_value[k], lo, hi);
    c->fixed[i] = 1;
    c->init[i] = o->fix_value[k];
  }
  if (check_init) HFS_CHECK(check_start(o, c));
  HFS_CHECK(hfs_cli_data_apply(o, c));
cleanup:
  return rc;
}

int hfs_cli_load_spec(const hfs_cli_opts *o, hfs_spec *spec, hfs_cli_ctx *c) {
  return load_spec(o, spec, c, 0);
}

void hfs_cli_ctx_free(hfs_cli_ctx *c) {
  hfs_model_destroy(&c->model);
  hfs_spec_destroy(&c->spec);
  free(c->fixed);
  free(c->init);
  memset(c, 0, sizeof *c);
}

hfs_run_info hfs_cli_run_info(const char *kind, const hfs_cli_opts *o, const hfs_cli_ctx *c,
                              double wall) {
  hfs_run_info info = {kind,
                       o->argv_line,
                       o->workspace,
                       c->sha256,
                       hfs_model_measurement(c->model),
                       hfs_optimizer_name(o->fit.optimizer),
                       o->model.normsys_code,
                       o->model.histosys_code,
                       wall,
                       hfs_cli_size(),
                       hfs_model_par_name(c->model, hfs_model_poi(c->model))};
  return info;
}
