#!/bin/bash
# Signals at start-up (issue 10): USR1 or TERM at a random moment in the
# first second of 50 short toy runs, a third of them under mpirun with the
# signal sent to the ranks as soon as they exist.  Every run either finishes
# (exit 0, the complete result) or stops with exit 3 and a checkpoint that a
# resume completes (every fourth is resumed and compared with the
# uninterrupted result); none is killed by a signal.  Then TERM, and USR1
# through mpirun with 2 ranks, during a toy limit's asymptotic pre-scan.
# Usage: test_startup.sh HFSCAN SOURCE_DIR [RUNS]
set -u
HFSCAN=$1
WS=$2/inputs/belle2_like.json
RUNS=${3:-50}
. "$(dirname "$0")/lib.sh"
ARGS=(hypotest "$WS" --mu 2 --calc toys --ntoys 2 --seed 13 --quiet --checkpoint-interval 0)
"$HFSCAN" "${ARGS[@]}" -o ref.h5 > /dev/null 2> ref.err || fail "reference run: $(cat ref.err)"
# whether process $1 blocks or catches both USR1 (bit 10) and TERM (bit 15)
guarded() {
  local blk cgt
  blk=$(awk '/^SigBlk/ {print $2}' /proc/$1/status 2> /dev/null) || return 1
  cgt=$(awk '/^SigCgt/ {print $2}' /proc/$1/status 2> /dev/null) || return 1
  [ -n "$blk" ] && [ -n "$cgt" ] && (( ((0x$blk | 0x$cgt) & 0x4200) == 0x4200 ))
}
RANDOM=20261201
finished=0 stopped=0
for i in $(seq 1 "$RUNS"); do
  sigs=(USR1 TERM)
  sig=${sigs[RANDOM % 2]}
  delay=$(printf "0.%03d" $((RANDOM % 1000)))
  out=run$i.h5
  if [ $((i % 3)) -ne 0 ]; then
    # The signal is ignored until hfscan runs (a signal before exec would
    # hit the shell's child, not hfscan); hfscan installs its handlers at once.
    (trap '' USR1 TERM; exec "$HFSCAN" "${ARGS[@]}" -o $out) > /dev/null 2> run.err &
    pid=$!
    sleep "$delay"
    kill -$sig $pid 2> /dev/null
    wait $pid
    rc=$?
  else
    mpirun -np 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" -o $out > /dev/null 2> run.err &
    mp=$!
    sleep "$delay"
    # A rank can defend itself from the first instruction of main; before
    # it (the dynamic loader, a few ms after exec) nothing in the program
    # runs, so the signal goes to ranks that have blocked or caught it.
    ranks=""
    for _ in $(seq 1 2000); do
      ranks=$(for r in $(pgrep -P $mp -x hfscan); do guarded $r && echo $r; done | tr '\n' ' ')
      [ "$(echo $ranks | wc -w)" -eq 2 ] || ! kill -0 $mp 2> /dev/null && break
      sleep 0.002
    done
    [ -n "$ranks" ] && kill -$sig $ranks 2> /dev/null
    wait $mp
    rc=$?
  fi
  case $rc in
    0) finished=$((finished + 1)); same ref.h5 $out ;;
    3)
      stopped=$((stopped + 1))
      [ -f $out ] || fail "run $i (SIG$sig after ${delay}s): exit 3 but no checkpoint"
      st=$("$HFSCAN" status $out 2>&1)
      [ $? -eq 3 ] || fail "run $i (SIG$sig after ${delay}s): the checkpoint is not a resumable partial file: $st; the run said: $(tail -2 run.err)"
      # resumed to the end: every fourth (resumes cost as much as runs)
      if [ $((stopped % 4)) -eq 1 ]; then
        "$HFSCAN" "${ARGS[@]}" -o $out > /dev/null 2> resume.err || fail "run $i: resume: $(cat resume.err)"
        same ref.h5 $out
      fi
      ;;
    *) fail "run $i (SIG$sig after ${delay}s, $([ $((i % 3)) -ne 0 ] && echo 1 process || echo mpirun)): exit status $rc: $(tail -3 run.err)" ;;
  esac
done
echo "$RUNS runs: $finished finished, $stopped stopped and resumed"

# A signal during a toy limit's asymptotic pre-scan: without --scan, rank 0
# computes the asymptotic limit that places the grid before any toy (about
# 0.2 s here), outside the scheduler, so HFS_TEST_UNIT_DELAY_MS does not
# stretch it.  The set-up reaches it about 20 ms after the output's lock
# appears (gdb breakpoints on hfs_store_lock_acquire and hfs_infer_limit),
# so the signal goes out 40 to 160 ms after the lock; a case counts as
# landed in the pre-scan when the scheduler's first line ("N units on M
# ranks") is not yet on stderr just before the signal.  SIGTERM to one
# process, SIGUSR1 to mpirun (which forwards it) with 2 ranks; each run
# exits 3 or 0, and the same command run again completes to the
# uninterrupted result.
LARGS=(limit "$WS" --calc toys --ntoys 2 --seed 13 --checkpoint-interval 0)
"$HFSCAN" "${LARGS[@]}" --quiet -o lref.h5 > /dev/null 2> lref.err || fail "toy limit reference: $(cat lref.err)"
for mode in TERM USR1-mpirun; do
  landed=0
  for delay in 0.04 0.08 0.12 0.16; do
    out=pre-$mode-$delay.h5
    if [ $mode = TERM ]; then
      "$HFSCAN" "${LARGS[@]}" -o $out > /dev/null 2> pre.err &
      sig=TERM
    else
      mpirun -np 2 --oversubscribe "$HFSCAN" "${LARGS[@]}" -o $out > /dev/null 2> pre.err &
      sig=USR1
    fi
    pid=$!
    for _ in $(seq 1 5000); do [ -e $out.lock ] || ! kill -0 $pid 2> /dev/null && break; sleep 0.002; done
    [ -e $out.lock ] || fail "pre-scan, $mode: no lock appeared: $(tail -3 pre.err)"
    sleep $delay
    grep -q "units on" pre.err || landed=$((landed + 1))
    kill -$sig $pid 2> /dev/null
    wait $pid
    rc=$?
    case $rc in
      0) same lref.h5 $out ;;
      3)
        st=$("$HFSCAN" status $out 2>&1)
        [ $? -eq 3 ] || fail "pre-scan, $mode after ${delay}s: exit 3 but no resumable checkpoint: $st; the run said: $(tail -3 pre.err)"
        if [ $mode = TERM ]; then
          "$HFSCAN" "${LARGS[@]}" -o $out > /dev/null 2> resume.err
        else
          mpirun -np 2 --oversubscribe "$HFSCAN" "${LARGS[@]}" -o $out > /dev/null 2> resume.err
        fi
        [ $? -eq 0 ] || fail "pre-scan, $mode after ${delay}s: the rerun failed: $(tail -3 resume.err)"
        same lref.h5 $out
        ;;
      *) fail "pre-scan, $mode after ${delay}s: exit status $rc: $(tail -3 pre.err)" ;;
    esac
  done
  [ $landed -ge 1 ] || fail "pre-scan, $mode: no signal landed before the toys started (test premise)"
  echo "pre-scan, $mode: $landed of 4 signals landed in the pre-scan"
done
echo "1 passed, 0 failed"
