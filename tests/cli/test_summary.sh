#!/bin/bash
# hfscan summary reads the workspace once and runs the commands' own code:
# its ranking and scan files equal those of hfscan ranking and hfscan scan
# on the same grid, its fit and limit the same numbers as hfscan fit and
# hfscan limit, at 2 ranks.
#   test_summary.sh HFSCAN WORKSPACE WORKDIR H5DIFF
HFSCAN=$1 WS=$2 DIR=$3 H5DIFF=$4
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
mpi() { mpiexec -n 2 --oversubscribe "$HFSCAN" "$@"; }
mpi summary "$WS" --quiet --group "pid=pid_.*" --poi 0:3:7 -o sum > summary.txt 2> summary.err \
  || fail "summary: $(cat summary.err)"
for part in "fit" "upper limit" "discovery significance" "nuisance-parameter ranking" \
            "profile-likelihood scan"; do
  grep -q "== $part" summary.txt || fail "summary printed no '$part' part"
done
for f in fit limit significance ranking scan; do [ -s "sum/$f.h5" ] || fail "no sum/$f.h5"; done
mpi ranking "$WS" --quiet --group "pid=pid_.*" -o ranking.h5 > /dev/null || fail "ranking"
"$H5DIFF" --exclude-path /provenance sum/ranking.h5 ranking.h5 || fail "summary's ranking differs"
mpi scan "$WS" --quiet --poi 0:3:7 -o scan.h5 > /dev/null || fail "scan"
"$H5DIFF" --exclude-path /provenance sum/scan.h5 scan.h5 || fail "summary's scan differs"
"$HFSCAN" fit "$WS" -o fit.h5 > /dev/null || fail "fit"
"$H5DIFF" sum/fit.h5 fit.h5 /fit/parameters/value || fail "summary's fit differs"
"$HFSCAN" limit "$WS" -o limit.h5 > /dev/null || fail "limit"
"$H5DIFF" sum/limit.h5 limit.h5 /limit/exp || fail "summary's expected limits differ"
# A second run resumes the ranking and the scan (a summary can be requeued).
mpi summary "$WS" --quiet --group "pid=pid_.*" --poi 0:3:7 -o sum > again.txt 2> again.err \
  || fail "second summary: $(cat again.err)"
grep -q "resuming sum/ranking.h5" again.err || fail "the second summary did not resume: $(cat again.err)"
"$H5DIFF" --exclude-path /provenance sum/ranking.h5 ranking.h5 || fail "resumed summary's ranking differs"
echo "1 passed, 0 failed"
