#!/bin/bash
# hfscan on a real Slurm: a toy run split into a 3-task job array
# (slurm/submit-array.sh) and merged by the dependent merge job equals a
# single run; merging parts made with other options is refused.
. "$(dirname "$0")/lib.sh"
slurm_hfscan_setup
slurm_toys_job toys.job "ntoys = 60" "seed = 4"
"$HFSCAN" run toys.job --quiet -o single.h5 >single.txt || slurm_fail "single run failed"
read -r A M < <(bash "$SRC/slurm/submit-array.sh" 3 toys.job parts --quiet) || slurm_fail "submit"
[ -n "$A" ] && [ -n "$M" ] || slurm_fail "submit-array.sh printed no job ids"
slurm_log "array $A, merge $M"
slurm_wait_job "$A" 180 || slurm_fail "array $A did not finish"
slurm_wait_job "$M" 60 || slurm_fail "merge $M did not finish"
slurm_array_states "$A" >&2
[ "$(slurm_array_states "$A" | awk '$2 != "COMPLETED"' | wc -l)" = 0 ] || slurm_fail "array tasks not all COMPLETED"
[ "$(slurm_job_state "$M")" = COMPLETED ] || slurm_fail "merge job is $(slurm_job_state "$M"): $(cat hfscan-merge-*.log)"
# each part holds only its own block of toys
for i in 0 1 2; do
  "$HFSCAN" status parts.part$i.h5 | grep -q " 40 of 40 toys" || slurm_fail "part $i: $("$HFSCAN" status parts.part$i.h5)"
done
h5diff -q --exclude-path /provenance single.h5 parts.h5 || slurm_fail "merged parts differ from the single run"
# parts made with another seed cannot be merged with these
"$HFSCAN" run toys.job --quiet --seed 5 --array 1/3 -o other.part1.h5 >/dev/null || slurm_fail "other part"
out=$("$HFSCAN" merge bad.h5 parts.part0.h5 other.part1.h5 2>&1) && slurm_fail "merge of mismatched parts succeeded"
echo "$out" | grep -q "other options" || slurm_fail "merge refusal unclear: $out"
echo "PASS: slurm_hfscan_array"
