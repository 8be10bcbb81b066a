#!/bin/bash
# Submit a toy run as a job array of N parts plus the merge that waits for it.
#
#   slurm/submit-array.sh N JOB PREFIX [hfscan options]
#
# Prints "ARRAYID MERGEID".  The merged result is PREFIX.h5.
set -eu
n=$1
job=$2
prefix=$3
shift 3
dir=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable --array=0-$((n - 1)) "$dir/hfscan-array.sbatch" "$job" "$prefix" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" "$dir/hfscan-merge.sbatch" "$prefix.h5" "$prefix")
echo "$array ${merge%%;*}"
