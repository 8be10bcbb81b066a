#!/bin/bash
# A grid job array on the test patchset: three parts (one at 2 ranks) merged
# equal the single run REF (the 1-rank file of the cli_grid tests); merge
# refuses a part given twice and parts of other options, with one line; a
# part with a failed point exits 4 (below).
# Usage: test_grid_array.sh HFSCAN WS PATCHSET DIR REF.h5
set -u
HFSCAN=$1 WS=$2 PS=$3 DIR=$4 REF=$5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$DIR" && cd "$DIR" && rm -f ./*.h5
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$REF" ] || fail "no reference $REF"
ARGS=(grid "$WS" "$PS" --points "sig_*" --limit --bounds mu=0:20 --quiet)
"$HFSCAN" "${ARGS[@]}" --array 0/3 -o p0.h5 || fail "part 0"
mpiexec -n 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" --array 1/3 -o p1.h5 || fail "part 1"
"$HFSCAN" "${ARGS[@]}" --array 2/3 -o p2.h5 || fail "part 2"
"$HFSCAN" merge two.h5 p0.h5 p2.h5 > two.out
[ $? -eq 3 ] || fail "merge of 2 of 3 parts is not incomplete (3)"
"$HFSCAN" status two.h5 > /dev/null
[ $? -eq 3 ] || fail "status of an incomplete merge is not 3"
"$HFSCAN" merge all.h5 p2.h5 p0.h5 p1.h5 > all.out || fail "merge: $(cat all.out)"
h5diff --exclude-path /provenance "$REF" all.h5 || fail "merged parts differ from one run"
# a merge is one commit like a run's: one atomic replace of all.h5 by
# all.h5.tmp, no other rename, the written file never reopened to patch it
if command -v strace > /dev/null; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=rename,renameat,renameat2,open,openat -o merge.trace \
    "$HFSCAN" merge traced.h5 p2.h5 p0.h5 p1.h5 > /dev/null || fail "traced merge"
  h5diff --exclude-path /provenance "$REF" traced.h5 || fail "traced merge differs from one run"
  [ "$(grep -c rename merge.trace)" -eq 1 ] && grep -q '"traced.h5.tmp", .*"traced.h5")' merge.trace ||
    fail "merge is not one atomic replace: $(grep -E 'rename|traced' merge.trace)"
  grep -E 'open.*"traced.h5(.tmp)?", ' merge.trace | grep -vq O_CREAT &&
    fail "merge reopened its output: $(grep traced merge.trace)"
else
  echo "note: strace not installed; the one-commit check of merge is left out"
fi
# merging the partial merge with the last part gives the same file
"$HFSCAN" merge again.h5 two.h5 p1.h5 > /dev/null || fail "merge of a merge"
h5diff --exclude-path /provenance "$REF" again.h5 || fail "merge of a merge differs"
err=$("$HFSCAN" merge bad.h5 p0.h5 p0.h5 2>&1 >/dev/null)
[ $? -eq 1 ] && [ "$(echo "$err" | grep -c .)" = 1 ] && echo "$err" | grep -q overlaps \
  || fail "a part given twice: $err"
"$HFSCAN" "${ARGS[@]}" --mu 2 --array 1/3 -o q1.h5 || fail "part with --mu 2"
err=$("$HFSCAN" merge bad.h5 p0.h5 q1.h5 2>&1 >/dev/null)
[ $? -eq 1 ] && [ "$(echo "$err" | grep -c .)" = 1 ] && echo "$err" | grep -q "other options" \
  || fail "parts of other options: $err"
err=$("$HFSCAN" merge bad.h5 "$REF" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] || fail "merge of one complete file: $err"
# A part holding a failed point (broken_400_0, index 6 of the whole
# patchset, is in part 0 of 3; its patch leaves an invalid workspace) exits
# with the failed-fit status 4 like a whole run, names the point, and keeps
# the point with its status and the others of the part; the other parts
# exit 0, and the merged parts equal the single run (which also exits 4).
ALL=(grid "$WS" "$PS" --limit --bounds mu=0:20 --quiet)
"$HFSCAN" "${ALL[@]}" -o b.h5; rc=$?
[ $rc -eq 4 ] || fail "whole patchset: exit $rc, expected 4"
mpiexec -n 2 --oversubscribe "$HFSCAN" "${ALL[@]}" --array 0/3 -o b0.h5 2> b0.err; rc=$?
[ $rc -eq 4 ] || fail "the part with a failed point exited $rc, expected 4: $(cat b0.err)"
grep -q "point broken_400_0: error" b0.err || fail "part 0 does not name its failed point: $(cat b0.err)"
"$HFSCAN" status b0.h5 > /dev/null || fail "status of the finished part 0 is not 0"
"$HFSCAN" "${ALL[@]}" --array 1/3 -o b1.h5 || fail "part 1 of the whole patchset exited $?"
"$HFSCAN" "${ALL[@]}" --array 2/3 -o b2.h5 || fail "part 2 of the whole patchset exited $?"
/usr/bin/python3 - <<'PYEOF' || fail "part 0 lost its points"
import h5py
g = h5py.File("b0.h5", "r")["grid/points"]
names = [n.decode() for n in g["name"][()]]
assert len(names) == 7, names
for i, n in enumerate(names):
    if i % 3:
        assert g["done"][i] == 0 and g["status"][i] == 3, (n, g["done"][i], g["status"][i])
    elif n == "broken_400_0":
        assert g["done"][i] == 1 and g["status"][i] == 2 and g["limit_status"][i] == 2, n
        assert b"has 3 bins" in g["message"][i], g["message"][i]
    else:
        assert g["done"][i] == 1 and g["status"][i] == 0 and g["limit_status"][i] == 0, n
        assert 0 < g["limit_obs"][i] < 20, (n, g["limit_obs"][i])
print("part 0: the failed point recorded, the others computed")
PYEOF
"$HFSCAN" merge ball.h5 b1.h5 b0.h5 b2.h5 > /dev/null || fail "merge of the whole patchset's parts"
h5diff --exclude-path /provenance b.h5 ball.h5 || fail "merged parts with a failed point differ from one run"
echo "PASS"
