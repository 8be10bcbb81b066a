/* JSON helpers of the command line (jansson). */
#ifndef HFS_CLI_JSON_H
#define HFS_CLI_JSON_H

#include "hfs_infer.h"

#include <jansson.h>

json_t *hfs_cli_json_real(double v);
json_t *hfs_cli_json_fit(hfs_model *m, const hfs_fit_result *r, const char *optimizer);
json_t *hfs_cli_json_fits(const hfs_fit_summary *s, int n, const char *const *kinds);
/* Prints o; adds "data" ({"kind": "observed"} or the Asimov set's mu and
 * nuisance-parameter setting) when o has none. */
void hfs_cli_print_json(json_t *o);
/* o[keys[i]] = v[i] for i < n (NaN and inf as null), in that order. */
void hfs_cli_json_set_reals(json_t *o, const char *const *keys, const double *v, int n);
json_t *hfs_cli_data_json(void);
/* summary --json: while into is set, hfs_cli_print_json() stores each
 * document as into[key] instead of printing it (print.c); NULL stops. */
void hfs_cli_json_gather(json_t *into, const char *key);
int hfs_cli_json_gathered(json_t *o);

#endif
