#!/bin/bash
# Checkpoint and resume of a toy run without Slurm: a run killed with SIGKILL
# leaves a readable file that resumes to the result of an uninterrupted run;
# SIGTERM and SIGUSR1 (also through mpirun) checkpoint and exit 3; a file
# written with other options or another workspace is refused; --overwrite
# starts afresh.  Usage: test_resume.sh HFSCAN SOURCE_DIR
set -u
HFSCAN=$1
SRC=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
WS=$SRC/inputs/belle2_like.json
# Enough toys that a stop sent after the first commit lands before the end
# (Newton toys run at ~450/s here unloaded); the sanitizer build is slower.
NT=${HFS_TEST_QUICK:+150}
NT=${NT:-1500}
ARGS=(hypotest "$WS" --mu 2 --calc toys --ntoys $NT --seed 11 --quiet)

same() { h5diff -q --exclude-path /provenance "$1" "$2" || fail "$1 and $2 differ"; }

# wait until FILE holds at least one committed toy (status exits 3 = partial)
wait_partial() {
  for _ in $(seq 1 200); do
    if [ -f "$1" ]; then
      "$HFSCAN" status "$1" > /dev/null 2>&1
      [ $? -eq 3 ] && grep -q . <("$HFSCAN" status "$1" | grep -v " 0 of ") && return 0
    fi
    sleep 0.05
  done
  return 1
}

"$HFSCAN" "${ARGS[@]}" -o ref.h5 > ref.txt || fail "reference run failed"
"$HFSCAN" status ref.h5 || fail "reference run is not complete"

# SIGKILL mid-run: the file stays readable, status says incomplete, resume completes
# the interrupted runs sleep 1 ms after each toy, so that the signal lands
# part-way on a machine of any speed (docs/scheduler.md, Tests)
D=(env HFS_TEST_UNIT_DELAY_MS=1)
"${D[@]}" "$HFSCAN" "${ARGS[@]}" -o kill.h5 --checkpoint-interval 0.1 > /dev/null 2>&1 &
pid=$!
wait_partial kill.h5 || fail "no checkpoint appeared"
kill -KILL $pid
wait $pid 2>/dev/null
h5ls -r kill.h5 > /dev/null || fail "killed run left an unreadable file"
"$HFSCAN" status kill.h5; [ $? -eq 3 ] || fail "status of the killed run should be 3 (incomplete)"
"$HFSCAN" "${ARGS[@]}" -o kill.h5 > resumed.txt 2> resumed.err || fail "resume failed: $(cat resumed.err)"
grep -q "resuming" resumed.err || fail "the second run did not resume"
same ref.h5 kill.h5
diff <(grep -v "^$" ref.txt) <(grep -v "^$" resumed.txt) || fail "printed results differ"

# SIGTERM and SIGUSR1: clean checkpoint, exit status 3, then resume
for sig in TERM USR1; do
  "${D[@]}" "$HFSCAN" "${ARGS[@]}" -o sig.h5 --overwrite --checkpoint-interval 0.1 > /dev/null 2>&1 &
  pid=$!
  wait_partial sig.h5 || fail "no checkpoint appeared ($sig)"
  kill -$sig $pid
  wait $pid
  rc=$?
  [ $rc -eq 3 ] || fail "SIG$sig: exit status $rc, expected 3"
  "$HFSCAN" status sig.h5; [ $? -eq 3 ] || fail "SIG$sig left a complete file?"
  "$HFSCAN" "${ARGS[@]}" -o sig.h5 > /dev/null 2>&1 || fail "resume after SIG$sig failed"
  same ref.h5 sig.h5
done

# the same through mpirun with 2 ranks: mpirun forwards the signal to every rank
"${D[@]}" mpirun -np 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" -o mpi.h5 --checkpoint-interval 0.1 > /dev/null 2>&1 &
pid=$!
wait_partial mpi.h5 || fail "no checkpoint appeared (mpirun)"
kill -USR1 $pid
wait $pid
"$HFSCAN" status mpi.h5 > /dev/null; st=$?
[ $st -eq 3 ] || [ $st -eq 0 ] || fail "status after mpirun interruption: $st"
mpirun -np 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" -o mpi.h5 > /dev/null 2>&1 || fail "mpirun resume failed"
same ref.h5 mpi.h5

# refusals: other options, other workspace; --overwrite starts afresh
out=$("$HFSCAN" hypotest "$WS" --mu 2 --calc toys --ntoys $((NT + 1)) --seed 11 --quiet -o ref.h5 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a run with other options resumed a foreign file"
echo "$out" | grep -q "ntoys=$NT" || fail "refusal does not name the option: $out"
echo "$out" | grep -q "overwrite" || fail "refusal does not mention --overwrite: $out"
cp "$WS" other.json && echo " " >> other.json
out=$("$HFSCAN" hypotest other.json --mu 2 --calc toys --ntoys $NT --seed 11 --quiet -o ref.h5 2>&1)
[ $? -ne 0 ] || fail "a run on another workspace resumed the file"
echo "$out" | grep -q "another workspace" || fail "refusal does not say why: $out"
"$HFSCAN" hypotest "$WS" --mu 2 --calc toys --ntoys 20 --seed 11 --quiet -o ref.h5 --overwrite > /dev/null \
  || fail "--overwrite did not start afresh"
echo "1 passed, 0 failed"
