#!/bin/bash
# hfscan on a real Slurm: the time-limit path of slurm/hfscan-requeue.sbatch.
# The warning signal (delivered as Slurm delivers --signal=B:USR1, with
# scancel --batch) makes hfscan commit its checkpoint and exit 3; the job
# requeues itself, resumes from the file and finishes with the result of an
# uninterrupted run.
. "$(dirname "$0")/lib.sh"
slurm_hfscan_setup
slurm_toys_job toys.job "ntoys = 500" "seed = 9" "checkpoint_interval = 0.5"
"$HFSCAN" run toys.job --quiet -o ref.h5 >/dev/null || slurm_fail "reference run failed"
# 20 ms after each toy keeps the job running for ~10 s, so that the warning
# lands part-way on a machine of any speed (docs/scheduler.md, Tests)
export HFS_TEST_UNIT_DELAY_MS=20
J=$(slurm_submit -D "$work" -n 2 -o requeue.log "$SRC/slurm/hfscan-requeue.sbatch" out.h5 toys.job --quiet) \
  || slurm_fail "sbatch"
partial() { [ -f out.h5 ] && "$HFSCAN" status out.h5 2>/dev/null | grep -qv " 0 of "; }
slurm_wait_until 120 partial || slurm_fail "job $J wrote no checkpoint: $(cat requeue.log)"
scancel --batch --signal=USR1 "$J" || slurm_fail "scancel --signal=USR1"
slurm_wait_job "$J" 240 || slurm_fail "job $J did not finish"
cat requeue.log >&2
[ "$(slurm_job_state "$J")" = COMPLETED ] || slurm_fail "job $J is $(slurm_job_state "$J")"
r=$(slurm_restarts "$J")
[ "${r:-0}" -ge 1 ] || slurm_fail "job $J Restarts=$r, expected >= 1"
grep -q "requeueing" requeue.log || slurm_fail "the job never requeued itself"
grep -q "resuming out.h5" requeue.log || slurm_fail "the second start did not resume"
"$HFSCAN" status out.h5 || slurm_fail "final file incomplete"
h5diff -q --exclude-path /provenance ref.h5 out.h5 || slurm_fail "resumed result differs from the uninterrupted run"
echo "PASS: slurm_hfscan_requeue (Restarts=$r)"
