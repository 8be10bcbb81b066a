/* hfscan patchset list|extract|apply: one point of a pyhf patchset for the
 * people who need one (the other commands take it with --patch
 * PATCHSET.json:NAME; hfscan grid takes them all). */
#include "cli.h"
#include "hfs_error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(out,
          "usage: hfscan patchset list PATCHSET.json [--json]\n"
          "       hfscan patchset extract PATCHSET.json NAME [-o PATCH.json]\n"
          "       hfscan patchset apply BKG.json PATCHSET.json NAME [-o WS.json] "
          "[--no-digest-check]\n"
          "       hfscan patchset verify BKG.json PATCHSET.json\n");
}

static void print_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static int list(const hfs_patchset *ps, int json) {
  int n = hfs_patchset_size(ps), nl = hfs_patchset_nlabels(ps);
  const char *d = hfs_patchset_digest(ps, "sha256");
  if (json) {
    printf("{\"description\": ");
    print_json_string(stdout, hfs_patchset_description(ps));
    printf(", \"digest_sha256\": ");
    if (d)
      print_json_string(stdout, d);
    else
      printf("null");
    printf(", \"labels\": [");
    for (int k = 0; k < nl; k++) {
      if (k) printf(", ");
      print_json_string(stdout, hfs_patchset_label(ps, k));
    }
    printf("], \"patches\": [");
    for (int i = 0; i < n; i++) {
      printf("%s{\"name\": ", i ? ", " : "");
      print_json_string(stdout, hfs_patchset_name(ps, i));
      printf(", \"values\": [");
      for (int k = 0; k < nl; k++) {
        double v = hfs_patchset_value(ps, i, k);
        if (k) printf(", ");
        if (v == v)
          printf("%s", hfs_patchset_value_text(ps, i, k));
        else
          print_json_string(stdout, hfs_patchset_value_text(ps, i, k));
      }
      printf("]}");
    }
    printf("]}\n");
    return HFS_OK;
  }
  printf("# %s: %d patches; %s\n", hfs_patchset_file(ps), n, hfs_patchset_description(ps));
  printf("# sha256 of the background-only workspace: %s\n", d ? d : "(none)");
  printf("%-40s", "name");
  for (int k = 0; k < nl; k++) printf(" %12s", hfs_patchset_label(ps, k));
  printf("\n");
  for (int i = 0; i < n; i++) {
    printf("%-40s", hfs_patchset_name(ps, i));
    for (int k = 0; k < nl; k++) printf(" %12s", hfs_patchset_value_text(ps, i, k));
    printf("\n");
  }
  return HFS_OK;
}

static int find(const hfs_patchset *ps, const char *name, int *k) {
  *k = hfs_patchset_find(ps, name);
  if (*k < 0)
    return hfs_error_set(HFS_ERR_NOT_FOUND, "%s: no patch named '%s' (hfscan patchset list %s)",
                         hfs_patchset_file(ps), name, hfs_patchset_file(ps));
  return HFS_OK;
}

int hfs_cmd_patchset(int argc, char **argv) {
  static const struct option lo[] = {{"json", no_argument, 0, 'j'},
                                     {"output", required_argument, 0, 'o'},
                                     {"no-digest-check", no_argument, 0, 'n'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};
  int json = 0, nodigest = 0, c, rc = HFS_OK, k;
  const char *output = NULL;
  hfs_patchset *ps = NULL;
  FILE *out = stdout;
  char hex[65];

  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
    switch (c) {
      case 'j': json = 1; break;
      case 'o': output = optarg; break;
      case 'n': nodigest = 1; break;
      case 'h': usage(stdout); return HFS_EXIT_OK;
      case ':':
        hfs_cli_error("patchset: option %s needs a value", argv[optind - 1]);
        return HFS_EXIT_USAGE;
      default:
        hfs_cli_error("patchset: unknown option '%s'", argv[optind - 1]);
        usage(stderr);
        return HFS_EXIT_USAGE;
    }
  }
  int npos = argc - optind;
  char **pos = argv + optind;
  const char *verb = npos > 0 ? pos[0] : "";
  int want = !strcmp(verb, "list")      ? 2
             : !strcmp(verb, "extract") ? 3
             : !strcmp(verb, "apply")   ? 4
             : !strcmp(verb, "verify")  ? 3
                                        : 0;
  if (!want || npos != want) {
    if (want)
      hfs_cli_error("patchset %s: expected %d arguments", verb, want - 1);
    else
      hfs_cli_error("patchset: expected list, extract, apply or verify");
    usage(stderr);
    return HFS_EXIT_USAGE;
  }
  if (hfs_cli_rank() != 0) return HFS_EXIT_OK;

  const char *psfile = !strcmp(verb, "list") || !strcmp(verb, "extract") ? pos[1] : pos[2];
  HFS_CHECK(hfs_patchset_read(psfile, &ps));
  if (output && strcmp(verb, "list") && strcmp(verb, "verify")) {
    out = fopen(output, "w");
    if (!out) {
      out = stdout;
      HFS_FAIL(HFS_ERR_IO, "%s: cannot open for writing", output);
    }
  }
  if (!strcmp(verb, "list")) {
    HFS_CHECK(list(ps, json));
  } else if (!strcmp(verb, "extract")) {
    HFS_CHECK(find(ps, pos[2], &k));
    HFS_CHECK(hfs_patchset_write_patch(ps, k, out));
  } else if (!strcmp(verb, "apply")) {
    HFS_CHECK(find(ps, pos[3], &k));
    HFS_CHECK(
        hfs_patchset_write_workspace(ps, k, pos[1], nodigest ? HFS_SPEC_NO_DIGEST_CHECK : 0, out));
  } else {
    HFS_CHECK(hfs_patchset_verify(ps, pos[1]));
    HFS_CHECK(hfs_workspace_digest(pos[1], hex));
    printf("%s: sha256 digest %s matches %s\n", pos[1], hex, psfile);
  }

cleanup:
  if (out != stdout && fclose(out) != 0 && rc == HFS_OK)
    rc = hfs_error_set(HFS_ERR_IO, "%s: write error", output);
  hfs_patchset_destroy(&ps);
  if (rc) {
    hfs_cli_error("%s", hfs_error_message());
    return HFS_EXIT_ERROR;
  }
  return HFS_EXIT_OK;
}
