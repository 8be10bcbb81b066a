#!/bin/bash
# A grid from a job file (task = grid, patchset = ...): the same file as the
# command line; a job array through slurm/hfscan-array.sbatch (Slurm's
# array variables set by hand), merged, equal to one run; misplaced or
# missing 'patchset' and a bad 'limit' value give one line each.
# Usage: test_grid_job.sh HFSCAN WORKSPACE PATCHSET SOURCE_DIR OUT_DIR
set -u
hfscan=$1 ws=$2 ps=$3 src=$4 out=$5
rm -rf "$out" && mkdir -p "$out" && cd "$out" || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
same() { h5diff --exclude-path /provenance "$1" "$2" >/dev/null || bad "$3"; }
opts=(--points "sig_*" --limit --bounds mu=0:20 --quiet)
"$hfscan" grid "$ws" "$ps" "${opts[@]}" -o direct.h5 >/dev/null || bad "grid from the command line"
printf '%s\n' "task = grid" "workspace = $ws" "patchset = $ps" "points = sig_*" "limit = yes" \
  "bounds = mu=0:20" >grid.job
"$hfscan" run grid.job --quiet -o job.h5 >/dev/null 2>job.err || bad "grid job: $(cat job.err)"
same direct.h5 job.h5 "the job file's grid differs from the command line's"

for i in 0 1 2; do
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=3 SLURM_NTASKS=1 \
    HFSCAN=$hfscan bash "$src/slurm/hfscan-array.sbatch" grid.job arr --quiet >arr$i.log 2>&1 ||
    bad "array part $i: $(cat arr$i.log)"
  "$hfscan" status arr.part$i.h5 >/dev/null || bad "status of part $i: $?"
done
"$hfscan" merge merged.h5 arr.part{0,1,2}.h5 >merge.log 2>&1 || bad "merge: $(cat merge.log)"
same job.h5 merged.h5 "the merged array differs from one run"

one_line() { # NAME EXPECTED-TEXT JOB-LINES...
  local name=$1 want=$2
  shift 2
  printf '%s\n' "$@" >$name.job
  "$hfscan" run $name.job --quiet -o $name.h5 >/dev/null 2>$name.err
  local rc=$?
  [ $rc -ne 0 ] || bad "$name: accepted"
  [ "$(grep -c . $name.err)" -eq 1 ] || bad "$name: not one line: $(cat $name.err)"
  grep -q "$want" $name.err || bad "$name: $(cat $name.err)"
}
one_line nopatchset "needs 'patchset'" "task = grid" "workspace = $ws"
one_line misplaced "belongs to task 'grid'" "task = fit" "workspace = $ws" "patchset = $ps"
one_line badlimit "yes or no" "task = grid" "workspace = $ws" "patchset = $ps" "limit = maybe"
[ $fail -eq 0 ] && echo PASS
exit $fail
