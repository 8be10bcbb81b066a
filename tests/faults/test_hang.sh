#!/bin/bash
# A stopped rank outside the scheduler's loop (issue 16): the collectives of
# the set-up and of the end of a command are watched by the master, which
# names the rank that does not answer and exits 3 with what was committed.
# 1. A toy limit resumed at 3 ranks with a worker stopped (SIGSTOP) as soon
#    as the master holds the output's lock, before any unit: the worker is
#    in its set-up or waits in a collective while the master builds the
#    model and computes the asymptotic pre-scan of the grid.  The run exits
#    3 naming the rank, the checkpoint is untouched, and a resume ends
#    identical to an uninterrupted run.
# 2. An asymptotic limit at 2 ranks (computed by rank 0 alone) with the
#    other rank stopped: the roll call at the end of the command names it;
#    the result file is complete and identical to a 1-rank run's.
# Usage: test_hang.sh HFSCAN SOURCE_DIR
set -u
HFSCAN=$1
WS=$2/inputs/belle2_like.json
. "$(dirname "$0")/lib.sh"
ARGS=(limit "$WS" --calc toys --ntoys "$NTOYS" --seed 3 --quiet)
"$HFSCAN" "${ARGS[@]}" -o ref.h5 > /dev/null 2> ref.err || fail "reference run: $(cat ref.err)"

# the hfscan ranks started by mpirun PID, once there are N of them
ranks_of() {
  for _ in $(seq 1 400); do
    local r
    r=$(pgrep -P "$1" -x hfscan | sort -n | tr '\n' ' ')
    [ "$(echo $r | wc -w)" -eq "$2" ] && { echo "$r"; return 0; }
    sleep 0.05
  done
  return 1
}
# run_stopped LOCK NP COMMAND...: COMMAND at NP ranks under mpirun, rank 1
# stopped (SIGSTOP) as soon as LOCK exists: rank 0 takes the output's lock
# after MPI_Init, which every rank has then passed; mpirun's exit status
run_stopped() {
  local lock=$1 np=$2 mp rc
  shift 2
  mpirun -np "$np" --oversubscribe "$@" > /dev/null &
  mp=$!
  local ranks
  ranks=$(ranks_of $mp "$np") || fail "the ranks did not start"
  set -- $ranks
  until [ -e "$lock" ] || ! kill -0 $mp 2> /dev/null; do :; done
  kill -STOP "$2"
  wait $mp
  rc=$?
  kill -CONT "$2" 2> /dev/null
  return $rc
}
gone() { # no process of this test's run on FILE is left
  for _ in $(seq 1 100); do pgrep -f "o $1" > /dev/null || return 0; sleep 0.1; done
  return 1
}

# 1. the set-up of a resumed toy limit
"$HFSCAN" "${ARGS[@]}" -o setup.h5 --checkpoint-interval 0 > /dev/null 2>&1 &
pid=$!
wait_partial setup.h5 || fail "no checkpoint appeared"
kill -USR1 $pid
wait $pid
[ $? -eq 3 ] || fail "the first session did not stop with 3"
before=$(md5sum < setup.h5)
run_stopped setup.h5.lock 3 "$HFSCAN" "${ARGS[@]}" -o setup.h5 --worker-timeout 2 2> setup.err
rc=$?
[ $rc -eq 3 ] || fail "stopped in the set-up: mpirun exit status $rc, expected 3: $(cat setup.err)"
grep -Eq "rank [12] on [^ ?][^ ]* has not reached (the start of the job|the job's set-up|the start of the run)" setup.err ||
  fail "stopped in the set-up: the message does not name the rank, host and phase: $(cat setup.err)"
echo "stopped in the set-up: $(grep 'has not reached' setup.err)"
[ "$(md5sum < setup.h5)" = "$before" ] || fail "stopped in the set-up: the checkpoint changed"
[ -e setup.h5.tmp ] && fail "stopped in the set-up: a temporary file was left"
gone setup.h5 || fail "ranks outlived the job given up"
mpirun -np 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" -o setup.h5 > /dev/null 2> resume.err ||
  fail "resume after the stopped set-up: $(cat resume.err)"
same ref.h5 setup.h5

# 2. the end of a command that rank 0 computes alone
"$HFSCAN" limit "$WS" --quiet -o asy_ref.h5 > /dev/null 2> asy.err || fail "asymptotic limit: $(cat asy.err)"
run_stopped asy.h5.lock 2 "$HFSCAN" limit "$WS" --quiet -o asy.h5 --worker-timeout 2 2> end.err
rc=$?
[ $rc -eq 3 ] || fail "stopped before the end: mpirun exit status $rc, expected 3: $(cat end.err)"
grep -Eq "rank 1 on [^ ?][^ ]* has not reached the end of the command" end.err ||
  fail "stopped before the end: the message does not name the rank: $(cat end.err)"
echo "stopped before the end: $(grep 'has not reached' end.err)"
same asy_ref.h5 asy.h5
gone asy.h5 || fail "ranks outlived the command given up"
echo "1 passed, 0 failed"
