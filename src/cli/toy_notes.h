/* How toy results read: notes for toy-based limits that have no value
 * (NaN), why and how many toys the band would need; p0 and Z of discovery
 * toys.  Master only; no MPI. */
#ifndef HFS_CLI_TOY_NOTES_H
#define HFS_CLI_TOY_NOTES_H

#include "hfs_toyfile.h"

#include <jansson.h>

#define HFS_TOY_NOTE_LEN 512

/* notes[0] for the observed limit, notes[1..5] for the expected -2s..+2s;
 * an empty string where the limit has a value.  Returns how many notes. */
int hfs_cli_toy_limit_notes(const hfs_toyfile *tf, char notes[6][HFS_TOY_NOTE_LEN]);
/* One warning line on stderr per missing limit. */
void hfs_cli_toy_limit_warn(const hfs_toyfile *tf);
/* JSON members "obs_note" (string or null) and "exp_notes" (5 strings or
 * nulls). */
void hfs_cli_toy_limit_json(json_t *obj, const hfs_toyfile *tf);
/* The attribute /limit/notes (the notes, one a line) in the file at path,
 * when there is a note. */
int hfs_cli_toy_limit_h5(const char *path, const hfs_toyfile *tf);

/* Discovery from toys (toy_discovery.c), for q0 toys with mu = 0: print
 * p0 and Z, observed and expected; add "q0", "p0", "p0_err", "Z",
 * "Z_lower_bound" (when no toy reaches q0) and "Z_exp" to a JSON object. */
void hfs_cli_toy_discovery_print(const hfs_toy_cls *r);
void hfs_cli_toy_discovery_json(json_t *obj, const hfs_toy_cls *r);

#endif
