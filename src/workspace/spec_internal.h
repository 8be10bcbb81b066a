/* Pieces shared by the workspace reader (spec.c) and the JSON Patch code
 * (patch.c); not part of the module's public interface. */
#ifndef HFS_SPEC_INTERNAL_H
#define HFS_SPEC_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "hfs_workspace.h"

/* Read a whole file into a fresh buffer (*buf, *len; the caller frees
 * *buf).  Gzip data (recognised by its magic bytes, whatever the name) is
 * inflated: JSON text cannot start with the byte 0x1f, so the test is
 * unambiguous. */
int hfs__spec_slurp(const char *filename, char **buf, size_t *len);

/* Parse JSON text the way every input of this module is parsed: empty input
 * and nesting deeper than HFS_SPEC_MAX_DEPTH refused, duplicate keys
 * refused, any top-level value accepted, integers read as reals.  Messages
 * start with label. */
int hfs__spec_parse(const char *text, size_t len, const char *label, json_t **root);

/* The same, keeping integer literals as integers (falling back to reals for
 * one that does not fit): for digests and for writing a document back as
 * pyhf would. */
int hfs__spec_parse_exact(const char *text, size_t len, const char *label, json_t **root);

/* The structural reading of a parsed document into a new hfs_spec whose
 * messages start with label. */
int hfs__spec_from_root(json_t *root, const char *label, hfs_spec **out);

/* Python's repr of a double ("0.1", "1e-05", "100.0"). */
void hfs__py_float_repr(double x, char *out, size_t n);

/* The document as Python's json.dumps(sort_keys=True) writes it: indent < 0
 * on one line (the digest's form), else indented by that many spaces, with
 * a final newline.  *text is the caller's. */
int hfs__spec_dump(const json_t *root, int indent, char **text, size_t *len);

/* pyhf's sha256 digest of a document (hex, 64 characters and NUL). */
int hfs__spec_digest(const json_t *root, char hex[65]);

/* Apply the operations of a JSON Patch (an array) to *root; label names the
 * patch in messages ("P.json", "PS.json:NAME"). */
int hfs__spec_patch_apply(json_t **root, const json_t *patch, const char *label);

/* Check a parsed document against the patchset's digests (what names the
 * document in the message); apply patch k of the patchset to *root. */
int hfs__patchset_verify_root(const hfs_patchset *ps, const json_t *root, const char *what);
int hfs__patchset_apply_root(const hfs_patchset *ps, int k, json_t **root);

/* Render a user-supplied string for a one-line message (control characters
 * escaped, long strings cut with "..."). */
const char *hfs__spec_show(const char *s, char *buf, size_t n);

/* Apply the RFC 6902 JSON Patch in file `patchfile` (plain or gzip) to
 * *root, which may be replaced (an operation on the path "").  The form
 * "PATCHSET.json:NAME" (when no file of the whole name exists) names one
 * patch of a pyhf patchset; *root is then checked against the patchset's
 * digest unless flags has HFS_SPEC_NO_DIGEST_CHECK.  On failure
 * *root is left in a valid but partly patched state. */
int hfs__spec_patch_file(json_t **root, const char *patchfile, unsigned flags);

#endif
