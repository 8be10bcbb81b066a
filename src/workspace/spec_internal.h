/* Pieces shared by the workspace reader (spec.c) and the JSON Patch code
 * (patch.c); not part of the module's public interface. */
#ifndef HFS_SPEC_INTERNAL_H
#define HFS_SPEC_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

/* Read a whole file into a fresh buffer (*buf, *len; the caller frees
 * *buf).  Gzip data (recognised by its magic bytes, whatever the name) is
 * inflated: JSON text cannot start with the byte 0x1f, so the test is
 * unambiguous. */
int hfs__spec_slurp(const char *filename, char **buf, size_t *len);

/* Parse JSON text the way every input of this module is parsed: empty input
 * and nesting deeper than HFS_SPEC_MAX_DEPTH refused, duplicate keys
 * refused, any top-level value accepted, integers read as reals.  Messages
 * start with label. */
int hfs__spec_parse(const char *text, size_t len, const char *label,
                    json_t **root);

/* Render a user-supplied string for a one-line message (control characters
 * escaped, long strings cut with "..."). */
const char *hfs__spec_show(const char *s, char *buf, size_t n);

/* Apply the RFC 6902 JSON Patch in file `patchfile` (plain or gzip) to
 * *root, which may be replaced (an operation on the path "").  On failure
 * *root is left in a valid but partly patched state. */
int hfs__spec_patch_file(json_t **root, const char *patchfile);

#endif
