#!/bin/bash
# Checkpoint and resume of hfscan ranking.
#   test_ranking_resume.sh HFSCAN WORKSPACE WORKDIR H5DIFF REFERENCE.h5
# 1. REFERENCE.h5 is an uninterrupted run with the same groups (the 1-rank
#    file of the cli_ranking tests);
# 2. a run stopped by SIGUSR1 exits 3 with a partial file (when the signal
#    comes in time) and the same command completes it: same results;
# 3. rerunning on a complete file recomputes nothing and keeps the results;
# 4. a file written with other options is refused (exit 1, no change).
set -u
HFSCAN=$1 WS=$2 DIR=$3 H5DIFF=$4 REF=$5
mkdir -p "$DIR"
rm -f "$DIR"/*.h5
fail() { echo "FAIL: $*"; exit 1; }
GRP_ARGS=(--group "bkg_norms=norm_.*" --group "pid=pid_.*")
run() { mpiexec -n 2 --oversubscribe "$HFSCAN" ranking "$WS" --quiet "${GRP_ARGS[@]}" "$@"; }

[ -f "$REF" ] || fail "no reference file $REF"
cp "$REF" "$DIR/full.h5"

# mpiexec itself in the background (not a subshell), so that the signal
# reaches it and it forwards it to the ranks.
mpiexec -n 2 --oversubscribe "$HFSCAN" ranking "$WS" --quiet "${GRP_ARGS[@]}" --overwrite \
  --checkpoint-interval 0.2 -o "$DIR/part.h5" > "$DIR/part.txt" 2> "$DIR/part.err" &
pid=$!
sleep 2
kill -USR1 $pid 2>/dev/null
wait $pid
rc=$?
case $rc in
  3) grep -q "interrupted" "$DIR/part.err" || fail "no interruption message"
     done=$(h5dump -a /ranking/n_done "$DIR/part.h5" | awk '/\(0\)/{print $2}')
     echo "interrupted after $done fits"
     ;;
  0) echo "note: the run finished before the signal; resume of a partial file not exercised" ;;
  *) cat "$DIR/part.err"; fail "interrupted run exited $rc" ;;
esac
run --checkpoint-interval 0.2 -o "$DIR/part.h5" > "$DIR/resumed.txt" 2> "$DIR/resumed.err" \
  || { cat "$DIR/resumed.err"; fail "resumed run"; }
sessions=$(h5dump -a /provenance/sessions "$DIR/part.h5" | awk '/\(0\)/{print $2}')
[ $rc -ne 3 ] || [ "$sessions" = 2 ] || fail "resumed file has $sessions session(s), expected 2"
"$H5DIFF" --exclude-path /provenance "$DIR/full.h5" "$DIR/part.h5" || fail "resumed != uninterrupted"

cp "$DIR/full.h5" "$DIR/again.h5"
run -o "$DIR/again.h5" > /dev/null 2>&1 || fail "rerun on a complete file"
"$H5DIFF" --exclude-path /provenance "$DIR/full.h5" "$DIR/again.h5" || fail "rerun changed results"

cp "$DIR/full.h5" "$DIR/other.h5"
mpiexec -n 2 --oversubscribe "$HFSCAN" ranking "$WS" --quiet --group "trk=trk_.*" \
  -o "$DIR/other.h5" > /dev/null 2> "$DIR/other.err"
rc=$?
[ $rc -eq 1 ] || fail "other options: exit $rc, expected 1"
grep -q "cannot be resumed" "$DIR/other.err" || fail "other options: $(cat "$DIR/other.err")"
grep -q "groups=" "$DIR/other.err" || fail "message does not name the difference"
"$H5DIFF" --exclude-path /provenance "$DIR/full.h5" "$DIR/other.h5" || fail "refused run changed the file"
echo "OK"
