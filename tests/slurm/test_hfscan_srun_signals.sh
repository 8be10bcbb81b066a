#!/bin/bash
# hfscan under srun on a real Slurm: the launcher's exit status when srun
# itself is signalled (docs/slurm.md, "Under mpirun and srun"). A two-rank toy
# run started by `srun --mpi=pmix` inside a batch job; once its first
# checkpoint is in the file, srun gets SIGTERM, SIGUSR1, or SIGINT twice
# within a second.  SIGUSR1 is forwarded: both tasks commit and exit 3, and
# so does srun.  SIGTERM and the second SIGINT make srun cancel the step
# ("forcing job termination"): the tasks are killed (SIGKILL) and srun exits
# 137; the file keeps its last periodic commit.  Either way the file says
# incomplete (status 3) and the same command resumes it to the result of an
# uninterrupted run.
. "$(dirname "$0")/lib.sh"
slurm_hfscan_setup
slurm_toys_job toys.job "ntoys = 400" "seed = 21" "checkpoint_interval = 0.3"
"$HFSCAN" run toys.job --quiet -o ref.h5 >/dev/null || slurm_fail "reference run failed"
# 20 ms after each toy: the run lasts ~8 s, so the signal lands part-way on a
# machine of any speed (docs/scheduler.md, Tests)
export HFS_TEST_UNIT_DELAY_MS=20
# the batch script: srun in the background, its pid and exit status in files
cat >job.sh <<'JOBEOF'
#!/bin/bash
srun --mpi=pmix -n 2 "$HFSCAN" run toys.job --quiet -o "$1" &
echo $! > "$1.srun.pid"
wait $!
echo $? > "$1.srun.rc"
JOBEOF
partial() { [ -f "$1" ] && "$HFSCAN" status "$1" 2>/dev/null | grep -qv " 0 of "; }
for sig in TERM USR1 INT; do
  out=$sig.h5
  J=$(slurm_submit -D "$work" -n 2 -o "$sig.log" job.sh "$out") || slurm_fail "sbatch ($sig)"
  slurm_wait_until 120 partial "$out" || slurm_fail "$sig: job $J wrote no checkpoint: $(cat "$sig.log")"
  pid=$(cat "$out.srun.pid")
  if [ $sig = INT ]; then
    # once, srun only prints the tasks' states; twice within a second it
    # forwards the signal
    kill -INT "$pid"; sleep 0.2; kill -INT "$pid"
  else
    kill -$sig "$pid"
  fi
  slurm_wait_job "$J" 120 || slurm_fail "$sig: job $J did not end"
  [ -f "$out.srun.rc" ] || slurm_fail "$sig: no srun exit status: $(cat "$sig.log")"
  rc=$(cat "$out.srun.rc")
  "$HFSCAN" status "$out" > "$sig.status" 2>&1
  st=$?
  echo "SIG$sig to srun: srun exit $rc, hfscan status $st: $(cat "$sig.status")"
  want=137; [ $sig = USR1 ] && want=3
  [ "$rc" = $want ] || slurm_fail "SIG$sig to srun: exit status $rc, expected $want: $(cat "$sig.log")"
  if [ $sig = USR1 ]; then
    grep -q "Exited with exit code 3" "$sig.log" || slurm_fail "SIGUSR1: the tasks did not exit 3: $(cat "$sig.log")"
  else
    grep -q "forcing job termination" "$sig.log" || slurm_fail "SIG$sig: srun did not cancel the step: $(cat "$sig.log")"
  fi
  [ $st -eq 3 ] || slurm_fail "SIG$sig to srun: the file is not incomplete (status $st)"
  unset HFS_TEST_UNIT_DELAY_MS
  "$HFSCAN" run toys.job --quiet -o "$out" > "$sig.resume" 2>&1 || slurm_fail "SIG$sig: resume: $(cat "$sig.resume")"
  export HFS_TEST_UNIT_DELAY_MS=20
  h5diff -q --exclude-path /provenance ref.h5 "$out" || slurm_fail "SIG$sig: resumed result differs from the uninterrupted run"
done
echo "PASS: slurm_hfscan_srun_signals"
