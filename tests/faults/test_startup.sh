#!/bin/bash
# Signals at start-up (issue 10): USR1 or TERM at a random moment in the
# first second of 50 short toy runs, a third of them under mpirun with the
# signal sent to the ranks as soon as they exist.  Every run either finishes
# (exit 0, the complete result) or stops with exit 3 and a checkpoint that a
# resume completes (every fourth is resumed and compared with the
# uninterrupted result); none is killed by a signal.
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
echo "1 passed, 0 failed"
