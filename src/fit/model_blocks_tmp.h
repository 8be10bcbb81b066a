#ifndef MODEL_BLOCKS_TMP_H
#define MODEL_BLOCKS_TMP_H
#include "hfs_model.h"
typedef struct {
  int nshared; const int *shared;
  int nblocks; const int *block_off;
  const int *block_par;
  const int *block_bin;
} hfs_model_structure;
void hfs_model_structure_get(const hfs_model *m, hfs_model_structure *s);
int hfs_model_hessian_blocks(hfs_model *m, const double *main, const double *aux,
                             const double *theta, double *hss, double *hbb, double *hbs);
#endif
