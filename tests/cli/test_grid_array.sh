#!/bin/bash
# A grid job array on the test patchset: three parts (one at 2 ranks) merged
# equal the single run REF (the 1-rank file of the cli_grid tests); merge
# refuses a part given twice and parts of other options, with one line.
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
echo "PASS"
