/* Reading pyhf JSON workspaces (schema 1.0.0) into a plain, read-only tree.
 *
 * hfs_spec_read_file() parses and checks the *structure* of a workspace:
 * JSON syntax (with line and column), types, required and unknown keys,
 * finite numbers, non-negative observations and uncertainties, bin counts
 * within a sample and its modifiers, duplicate names, nesting depth.  Every
 * node keeps its JSON path ("channels[1].samples[3].modifiers[2]") so that
 * later stages (the model compiler) can name the place of a semantic error.
 *
 * Error messages have the form "FILE: JSON.PATH: problem" (one line).
 * The tree is owned by the hfs_spec handle and freed by hfs_spec_destroy. */
#ifndef HFS_WORKSPACE_H
#define HFS_WORKSPACE_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
  HFS_MOD_HISTOSYS = 0,
  HFS_MOD_LUMI,
  HFS_MOD_NORMFACTOR,
  HFS_MOD_NORMSYS,
  HFS_MOD_SHAPEFACTOR,
  HFS_MOD_SHAPESYS,
  HFS_MOD_STATERROR,
  HFS_MOD_NTYPES
} hfs_modtype; /* order = pyhf's modifier registry order (matters for par order) */

const char *hfs_modtype_name(hfs_modtype t);

typedef struct {
  char *name;
  hfs_modtype type;
  double hi, lo;   /* normsys factors */
  double *hi_data; /* histosys templates, nbins each */
  double *lo_data;
  double *data; /* shapesys / staterror absolute uncertainties */
  int ndata;    /* length of hi_data/lo_data/data as read */
  char *path;   /* "channels[c].samples[s].modifiers[m]" */
} hfs_spec_modifier;

typedef struct {
  char *name;
  int nbins;
  double *data; /* nominal yields */
  int nmods;
  hfs_spec_modifier *mods;
  char *path;
} hfs_spec_sample;

typedef struct {
  char *name;
  int nbins; /* from the first sample */
  int nsamples;
  hfs_spec_sample *samples;
  char *path;
} hfs_spec_channel;

typedef struct {
  char *name;
  int nbins;
  double *data;
  char *path;
} hfs_spec_observation;

/* One entry of measurements[].config.parameters.  A field that was absent has
 * its count at 0 (has_fixed 0). */
typedef struct {
  char *name;
  double *inits;
  int ninits;
  double *bounds;
  int nbounds; /* pairs: bounds[2*i], bounds[2*i+1] */
  double *auxdata;
  int nauxdata;
  double *sigmas;
  int nsigmas;
  double *factors;
  int nfactors;
  int has_fixed, fixed;
  char *path;
} hfs_spec_param;

typedef struct {
  char *name;
  char *poi;
  int nparams;
  hfs_spec_param *params;
  char *path;
} hfs_spec_measurement;

typedef struct hfs_spec {
  char *file; /* label used in messages (the path as given) */
  char *version;
  int nchannels;
  hfs_spec_channel *channels;
  int nobs;
  hfs_spec_observation *obs;
  int nmeas;
  hfs_spec_measurement *meas;
} hfs_spec;

/* Read and structurally check a workspace file.  On failure *out is NULL and
 * the error message names the file, the JSON path and the problem. */
int hfs_spec_read_file(const char *filename, hfs_spec **out);

/* Read a workspace and apply RFC 6902 JSON Patches to it, in order, before
 * the structural checks: the way published likelihoods come (a
 * background-only workspace plus one patch per signal hypothesis, as
 * `pyhf patchset apply` or jsonpatch use them).  All six operations (add,
 * remove, replace, move, copy, test) and JSON Pointer paths with "~0"/"~1"
 * escapes and "-" (array append) are supported.  The workspace and every
 * patch may be gzip-compressed (.json.gz; recognised by content).
 * hfs_spec_read_file(f, out) is hfs_spec_read_file_patched(f, NULL, 0, out).
 *
 * A patch that cannot be applied, or is not a JSON Patch, fails with one
 * line: "PATCH: [3] (op remove, path /channels/7): path does not exist"
 * (patch file, operation index, op and path, problem), HFS_ERR_SCHEMA (JSON
 * syntax errors in a patch: HFS_ERR_PARSE).  The result's label (spec->file)
 * is "WORKSPACE+PATCH1+PATCH2...", so that later messages, whose JSON paths
 * refer to the patched document, say so. */
int hfs_spec_read_file_patched(const char *filename, const char *const *patches, int npatches,
                               hfs_spec **out);

/* Flags of hfs_spec_read_patched. */
#define HFS_SPEC_NO_DIGEST_CHECK 1u /* apply patchset patches to any workspace */

/* hfs_spec_read_file_patched with flags.  A patch given as
 * "PATCHSET.json:NAME" (when no file of that whole name exists) is the patch
 * NAME of a pyhf patchset; the document it is applied to must have the
 * patchset's digest unless HFS_SPEC_NO_DIGEST_CHECK is set. */
int hfs_spec_read_patched(const char *filename, const char *const *patches, int npatches,
                          unsigned flags, hfs_spec **out);

/* Same from memory; label names the source in messages. */
int hfs_spec_read_buffer(const char *text, size_t len, const char *label, hfs_spec **out);

/* hfs_spec_read_file_patched() from memory (the command line's "-":
 * standard input); filename labels the document in messages. */
int hfs_spec_read_buffer_patched(const char *text, size_t len, const char *filename,
                                 const char *const *patches, int npatches, hfs_spec **out);
/* The same with hfs_spec_read_patched's flags. */
int hfs_spec_read_buffer_patched_flags(const char *text, size_t len, const char *filename,
                                       const char *const *patches, int npatches, unsigned flags,
                                       hfs_spec **out);

void hfs_spec_destroy(hfs_spec **spec);

/* Lookups by name; NULL when absent. */
const hfs_spec_measurement *hfs_spec_measurement_find(const hfs_spec *s, const char *name);
const hfs_spec_observation *hfs_spec_observation_find(const hfs_spec *s, const char *name);

/* pyhf patchsets (schema 1.0.0): a background-only workspace's signal
 * hypotheses as named RFC 6902 patches, each with the values of the
 * patchset's labels (for example the masses m1, m2), and digests of the
 * workspace they belong to.
 *
 * hfs_patchset_read checks the schema (required keys, label and name
 * patterns, one value per label, at least one patch, no two patches of the
 * same name or values) and refuses with "FILE: JSON.PATH: problem".  The
 * patches' operations are checked when applied: a failure names the patch
 * and the operation ("PS.json:NAME: [3] (op add, path /channels/9): ...").
 * A handle is read-only after reading and may be shared by threads. */
typedef struct hfs_patchset hfs_patchset;

int hfs_patchset_read(const char *filename, hfs_patchset **out);
void hfs_patchset_destroy(hfs_patchset **ps);

const char *hfs_patchset_file(const hfs_patchset *ps);
const char *hfs_patchset_description(const hfs_patchset *ps);
int hfs_patchset_size(const hfs_patchset *ps); /* number of patches */
int hfs_patchset_nlabels(const hfs_patchset *ps);
const char *hfs_patchset_label(const hfs_patchset *ps, int k);
/* The digest recorded for algorithm alg ("sha256", "md5"); NULL if none. */
const char *hfs_patchset_digest(const hfs_patchset *ps, const char *alg);

const char *hfs_patchset_name(const hfs_patchset *ps, int i);
/* Index of the patch called name; -1 when there is none. */
int hfs_patchset_find(const hfs_patchset *ps, const char *name);
/* Value k of patch i: the number (NaN for a string value), and its text as
 * Python would print it ("1000", "12.5", or the string). */
double hfs_patchset_value(const hfs_patchset *ps, int i, int k);
const char *hfs_patchset_value_text(const hfs_patchset *ps, int i, int k);

/* Check the background-only workspace in file against the patchset's
 * digest.  A mismatch fails (HFS_ERR_MISMATCH) with both digests. */
int hfs_patchset_verify(const hfs_patchset *ps, const char *workspace_file);

/* pyhf's digest of a JSON file (pyhf.utils.digest: the SHA-256 of
 * json.dumps(sort_keys=True) of the document), as 64 hex characters. */
int hfs_workspace_digest(const char *filename, char hex[65]);

/* Read the background workspace in file once and keep it in ps, so that
 * hfs_patchset_verify and hfs_patchset_workspace on that file copy it
 * instead of reading and parsing it again (a grid builds every point from
 * it). */
int hfs_patchset_keep_background(hfs_patchset *ps, const char *workspace_file);

/* The workspace in file with patch i applied, read as hfs_spec_read_file
 * does (label "WORKSPACE+PATCHSET:NAME").  The digest is checked unless
 * flags has HFS_SPEC_NO_DIGEST_CHECK. */
int hfs_patchset_workspace(const hfs_patchset *ps, int i, const char *workspace_file,
                           unsigned flags, hfs_spec **out);

/* Write patch i's operations (as `pyhf patchset extract` does), or the
 * patched workspace (as `pyhf patchset apply` does), as indented JSON with
 * sorted keys. */
int hfs_patchset_write_patch(const hfs_patchset *ps, int i, FILE *out);
int hfs_patchset_write_workspace(const hfs_patchset *ps, int i, const char *workspace_file,
                                 unsigned flags, FILE *out);

/* Maximum nesting depth accepted before the parser refuses the document. */
#define HFS_SPEC_MAX_DEPTH 64

#endif
