#!/bin/bash
# Checkpoint and resume of the job kinds "gof" (goodness-of-fit toys) and
# "pscan" (a 2D scan of any parameters), docs/diagnostics.md:
# 1. a run stopped by SIGTERM (one rank) or by SIGUSR1 through mpirun (two
#    ranks) after its first commit exits 3 with a partial file that
#    `hfscan status` calls incomplete (3);
# 2. the same command completes it (on one rank) to the file of an
#    uninterrupted run (h5diff --exclude-path /provenance), printing the same
#    JSON;
# 3. a file written with other options is refused (exit 1, the option named,
#    the file unchanged); --overwrite starts afresh.
#   test_diag_resume.sh HFSCAN WORKSPACE WORKDIR
set -u
HFSCAN=$1 WS=$2 DIR=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$DIR"
rm -f "$DIR"/*.h5
cd "$DIR" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
same() { h5diff -q --exclude-path /provenance "$1" "$2" || fail "$1 and $2 differ"; }

# wait until FILE holds at least one committed unit and is not complete
wait_partial() {
  for _ in $(seq 1 600); do
    if [ -f "$1" ]; then
      "$HFSCAN" status "$1" > /dev/null 2>&1
      [ $? -eq 3 ] && "$HFSCAN" status "$1" | grep -qv " 0 of " && return 0
    fi
    sleep 0.05
  done
  return 1
}

# check NAME ARGS...: the whole sequence for one kind; the array "other"
# holds the same command with an option that changes the results
check() {
  local name=$1
  shift
  local args=("$@")
  "$HFSCAN" "${args[@]}" --json -o "$name.ref.h5" > "$name.ref.txt" 2> "$name.ref.err" ||
    fail "$name: reference run: $(cat "$name.ref.err")"
  "$HFSCAN" status "$name.ref.h5" > /dev/null || fail "$name: reference run is not complete"
  local n=0
  for how in TERM mpi; do
    local f="$name.$how.h5" pid rc
    # the delay after each unit keeps the run going until the signal lands,
    # on a machine of any speed (docs/scheduler.md, Tests)
    if [ $how = TERM ]; then
      HFS_TEST_UNIT_DELAY_MS=5 "$HFSCAN" "${args[@]}" --quiet --checkpoint-interval 0.1 -o "$f" > /dev/null 2> "$f.err" &
    else
      # mpiexec itself in the background, so that it forwards the signal
      HFS_TEST_UNIT_DELAY_MS=5 mpiexec -n 2 --oversubscribe "$HFSCAN" "${args[@]}" --quiet --checkpoint-interval 0.1 \
        -o "$f" > /dev/null 2> "$f.err" &
    fi
    pid=$!
    wait_partial "$f" || fail "$name ($how): no checkpoint appeared"
    kill -$([ $how = TERM ] && echo TERM || echo USR1) $pid
    wait $pid
    rc=$?
    [ $rc -eq 3 ] || fail "$name ($how): exit status $rc, expected 3: $(cat "$f.err")"
    grep -q "interrupted" "$f.err" || fail "$name ($how): no interruption message"
    "$HFSCAN" status "$f" > "$f.status"
    [ $? -eq 3 ] || fail "$name ($how): status of the interrupted file is not 3"
    echo "$name ($how): $(cat "$f.status")"
    "$HFSCAN" "${args[@]}" --json -o "$f" > "$f.txt" 2> "$f.err2" ||
      fail "$name ($how): resume: $(cat "$f.err2")"
    grep -q "resuming" "$f.err2" || fail "$name ($how): the second run did not resume"
    same "$name.ref.h5" "$f"
    sessions=$(h5dump -a /provenance/sessions "$f" | awk '/\(0\)/{print $2}')
    [ "$sessions" = 2 ] || fail "$name ($how): $sessions session(s), expected 2"
    grep -q '"workspace"' "$f.txt" || fail "$name ($how): no JSON printed"
    diff "$name.ref.txt" "$f.txt" > /dev/null || fail "$name ($how): printed results differ"
    n=$((n + 1))
  done
  # other options: refused, the file untouched; --overwrite starts afresh
  cp "$name.ref.h5" "$name.other.h5"
  "$HFSCAN" "${other[@]}" --quiet -o "$name.other.h5" > /dev/null 2> "$name.other.err"
  rc=$?
  [ $rc -eq 1 ] || fail "$name: other options: exit $rc, expected 1"
  grep -q "cannot be resumed" "$name.other.err" || fail "$name: $(cat "$name.other.err")"
  [ "$(grep -c . "$name.other.err")" -eq 1 ] || fail "$name: refusal is not one line"
  same "$name.ref.h5" "$name.other.h5"
  "$HFSCAN" "${other[@]}" --quiet --overwrite -o "$name.other.h5" > /dev/null 2>&1 ||
    fail "$name: --overwrite"
  "$HFSCAN" status "$name.other.h5" > /dev/null || fail "$name: --overwrite run incomplete"
}

other=(gof "$WS" --calc toys --ntoys 1200 --seed 8)
check gof gof "$WS" --calc toys --ntoys 1200 --seed 7
grep -q "seed=7" gof.other.err || fail "gof: the refusal does not name the seed"
# Large enough that the stop lands before the end: at 35x35 a fast
# unloaded Release run could finish between the first commit seen and the
# signal.  The sanitizer build is slow enough at 35x35.
N=${HFS_TEST_QUICK:+35}
N=${N:-70}
other=(scan "$WS" --par mu=2:9:$N --par norm_charged_B=-1:1:$N --freeze-group staterror)
check pscan scan "$WS" --par mu=2:9:$N --par norm_charged_B=-1:1:$N
grep -q "frozen=" pscan.other.err || fail "pscan: the refusal does not name the frozen set"
echo OK
