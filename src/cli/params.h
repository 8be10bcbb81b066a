/* Parameter edits from the command line: --bounds NAME=LO:HI, --set
 * NAME=VALUE and --freeze NAME|GROUP (Combine's --setParameterRanges,
 * --setParameters and --freezeParameters), and the note printed when the
 * POI's best fit sits at one of its bounds. */
#ifndef HFS_CLI_PARAMS_H
#define HFS_CLI_PARAMS_H

#include "hfs_fit.h"
#include "hfs_h5.h"
#include "hfs_model.h"

#include <jansson.h>

#define HFS_MAX_EDITS 256

typedef enum { HFS_EDIT_BOUNDS, HFS_EDIT_SET, HFS_EDIT_FREEZE } hfs_edit_kind;

typedef struct {
  hfs_edit_kind kind;
  char *name;    /* owned */
  double lo, hi; /* --bounds */
  double value;  /* --set */
} hfs_cli_edit;

typedef struct {
  int n;
  hfs_cli_edit e[HFS_MAX_EDITS];
} hfs_cli_params;

/* Check the syntax of one option's argument and keep it; prints one line
 * and returns nonzero on bad input.  --freeze takes a comma-separated list. */
int hfs_cli_params_add(hfs_cli_params *p, hfs_edit_kind kind, const char *arg);
void hfs_cli_params_free(hfs_cli_params *p);

/* Apply the edits to a freshly built model and to the per-parameter fixed
 * flags and starting values (npar each): every --bounds first, then every
 * --set, then every --freeze, so the order on the command line does not
 * matter.  HFS_ERR_ARG naming the option for an unknown parameter, an empty
 * group, or a value outside the (new) bounds. */
int hfs_cli_params_apply(const hfs_cli_params *p, hfs_model *m, const char *workspace, int *fixed,
                         double *init);

/* A canonical text of the edits ("" without any), part of the input's
 * identity so that a resumed or merged run has the same ones. */
void hfs_cli_params_canonical(const hfs_cli_params *p, char *buf, size_t n);

/* Where the best-fit POI lies: 0 inside, -1 at its lower, +1 at its upper
 * bound (within 1e-6 of the range, or 1e-6 absolute for an infinite one). */
int hfs_cli_poi_at_bound(const hfs_model *m, const hfs_fit_result *r);

/* For a fit at a bound: one warning line on stderr (rank 0) saying what the
 * command's output means there, and the way out (--bounds).  what names
 * the command's results ("fit", "ranking", "scan", "limit", "significance",
 * "summary").  No output when the POI is inside its bounds. */
void hfs_cli_poi_bound_warn(const hfs_model *m, const hfs_fit_result *r, const char *what);
/* The same note as JSON members of obj: "poi_at_bound" ("lower", "upper" or
 * null) and, at a bound, "poi_at_bound_note". */
void hfs_cli_poi_bound_json(json_t *obj, const hfs_model *m, const hfs_fit_result *r,
                            const char *what);
/* The same as attributes of an HDF5 group: poi_at_bound ("lower", "upper"
 * or "no") and, at a bound, poi_at_bound_note. */
int hfs_cli_poi_bound_h5(hfs_h5 *h5, const char *group, const hfs_model *m, const hfs_fit_result *r,
                         const char *what);
/* The note's text (empty when inside); returns at_bound as above. */
int hfs_cli_poi_bound_note(const hfs_model *m, const hfs_fit_result *r, const char *what, char *buf,
                           size_t n);

#endif
