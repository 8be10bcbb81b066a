#!/bin/bash
# hfscan on a real Slurm: a running job killed with SIGKILL (scancel
# --signal=KILL, no chance to checkpoint) leaves a readable file that holds
# the toys of its last commit; resubmitting the same job resumes from it and
# ends with the result of an uninterrupted run.
. "$(dirname "$0")/lib.sh"
slurm_hfscan_setup
slurm_toys_job toys.job "ntoys = 400" "seed = 13" "checkpoint_interval = 0.3" "output = out.h5"
"$HFSCAN" run toys.job --quiet -o ref.h5 >/dev/null || slurm_fail "reference run failed"
# the kill must land part-way on a machine of any speed (docs/scheduler.md, Tests)
export HFS_TEST_UNIT_DELAY_MS=20
printf '%s\n' '#!/bin/bash' 'exec mpirun "$HFSCAN" run toys.job --quiet' >job.sh
J=$(slurm_submit -D "$work" -n 2 -o kill.log job.sh) || slurm_fail "sbatch"
partial() { [ -f out.h5 ] && "$HFSCAN" status out.h5 2>/dev/null | grep -qv " 0 of "; }
slurm_wait_until 120 partial || slurm_fail "job $J wrote no checkpoint: $(cat kill.log)"
scancel --full --signal=KILL "$J" || slurm_fail "scancel --signal=KILL"
slurm_wait_job "$J" 60 || slurm_fail "killed job $J still active"
h5ls -r out.h5 >/dev/null || slurm_fail "SIGKILL left an unreadable file"
"$HFSCAN" status out.h5
[ $? -eq 3 ] || slurm_fail "the killed run should be incomplete"
J2=$(slurm_submit -D "$work" -n 2 -o resume.log job.sh) || slurm_fail "sbatch (resume)"
slurm_wait_job "$J2" 180 || slurm_fail "resumed job $J2 did not finish"
[ "$(slurm_job_state "$J2")" = COMPLETED ] || slurm_fail "job $J2 is $(slurm_job_state "$J2"): $(cat resume.log)"
grep -q "resuming out.h5" resume.log || slurm_fail "the second job did not resume: $(cat resume.log)"
h5diff -q --exclude-path /provenance ref.h5 out.h5 || slurm_fail "resumed result differs from the uninterrupted run"
echo "PASS: slurm_hfscan_kill"
