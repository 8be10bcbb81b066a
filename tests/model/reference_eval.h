/* The pre-compiled likelihood (reference_eval.c), for comparisons. */
#ifndef HFS_REFERENCE_EVAL_H
#define HFS_REFERENCE_EVAL_H

#include "hfs_error.h"
#include "model_internal.h"

void ref_init(const hfs_model *m);
void ref_free(void);
double ref_twice_nll(const hfs_model *m, const double *main, const double *aux, const double *theta,
                     double *grad);
int ref_hessian(const hfs_model *m, const double *main, const double *aux, const double *theta,
                double *hess);

#endif
