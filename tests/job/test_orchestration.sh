#!/bin/bash
# The orchestration around the job layer (issue 10): merged job-array parts
# equal a single run in every dataset; `hfscan status` answers for every
# resumable output without reading its tables; equal runs compare equal
# outside /provenance; toy files carry the root attributes and the POI;
# stepped Slurm arrays number their parts by position; a refusal names its
# reason once.
#   test_orchestration.sh HFSCAN SOURCE_DIR H5DIFF WORKDIR
HFSCAN=$1 SRC=$2 H5DIFF=$3 DIR=$4
WS=$SRC/inputs/belle2_like.json
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mpi() { local np=$1; shift; mpiexec -n "$np" --oversubscribe "$HFSCAN" "$@"; }
same() { "$H5DIFF" --exclude-path /provenance "$1" "$2" > diff.txt 2>&1 || fail "$3: $(head -5 diff.txt)"; }
attr() { h5dump -a "$2" "$1" 2>/dev/null | awk -F'"' '/\(0\)/{print $2; exit}'; }
NT=${HFS_TEST_QUICK:+12}
NT=${NT:-20}

# 1. merged parts = one run, hypotest and limit, parts at 1 and 2 ranks.
for kind in hypotest limit; do
  if [ $kind = hypotest ]; then args=(hypotest "$WS" --mu 2); else args=(limit "$WS" --scan 1:11:3); fi
  args+=(--calc toys --ntoys "$NT" --seed 7 --quiet)
  mpi 2 "${args[@]}" -o $kind.single.h5 > /dev/null || fail "$kind: single run"
  for np in 1 2; do
    for i in 0 1 2; do
      mpi $np "${args[@]}" --array $i/3 -o $kind.np$np.part$i.h5 > /dev/null || fail "$kind part $i"
      "$HFSCAN" status $kind.np$np.part$i.h5 > /dev/null || fail "$kind part $i: status $?, expected 0"
    done
    "$HFSCAN" merge $kind.np$np.h5 $kind.np$np.part{0,1,2}.h5 > /dev/null || fail "$kind merge"
    same $kind.single.h5 $kind.np$np.h5 "$kind: merged parts at $np rank(s) differ from one run"
  done
done
cl=$(h5dump -a /limit/cl limit.np1.h5 | awk '/\(0\)/{print $2}')
[ "$cl" = 0.95 ] || fail "merged limit has cl=$cl"

# 2. status: toys, ranking, scan, summary; complete 0, partial 3, missing
# or unreadable 1.
"$HFSCAN" status limit.single.h5 > st.txt; rc=$?
[ $rc -eq 0 ] || fail "status of a complete toy file: $rc"
grep -q "toys, $((6 * NT)) of $((6 * NT)) toys done" st.txt || fail "status line: $(cat st.txt)"
grep -q "last commit 20" st.txt || fail "status gives no commit time: $(cat st.txt)"
"$HFSCAN" status missing.h5 2> st.err; rc=$?
[ $rc -eq 1 ] || fail "status of a missing file: $rc, expected 1"
echo "not an HDF5 file" > junk.h5
"$HFSCAN" status junk.h5 2> st.err; rc=$?
[ $rc -eq 1 ] || fail "status of an unreadable file: $rc, expected 1"
"$HFSCAN" hypotest "$WS" --mu 2 --calc toys --ntoys 400 --seed 3 --quiet --checkpoint-interval 0 \
  -o partial.h5 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s partial.h5 ] && break; sleep 0.1; done
kill -TERM $pid; wait $pid
"$HFSCAN" status partial.h5 > st.txt; rc=$?
[ $rc -eq 3 ] || fail "status of an interrupted toy file: $rc, expected 3 ($(cat st.txt))"
mpi 2 ranking "$WS" --quiet --group "pid=pid_.*" -o ranking.h5 > /dev/null || fail "ranking"
"$HFSCAN" status ranking.h5 > st.txt || fail "status of a ranking: $? ($(cat st.txt))"
grep -q "ranking, .* fits done" st.txt || fail "ranking status line: $(cat st.txt)"
mpi 1 scan "$WS" --quiet --poi 0:3:5 -o scan.h5 > /dev/null || fail "scan"
"$HFSCAN" status scan.h5 > /dev/null || fail "status of a scan: $?"
mpi 2 summary "$WS" --quiet --poi 0:3:5 -o sum > /dev/null 2>&1 || fail "summary"
"$HFSCAN" status sum > st.txt || fail "status of a summary folder: $? ($(cat st.txt))"
rm sum/ranking.h5
"$HFSCAN" status sum > /dev/null; rc=$?
[ $rc -eq 3 ] || fail "status of a summary folder without its ranking: $rc, expected 3"

# 3. equal runs compare equal outside /provenance (timings live there).
for k in 1 2; do
  "$HFSCAN" fit "$WS" --quiet -o fit$k.h5 > /dev/null
  "$HFSCAN" limit "$WS" --quiet -o lim$k.h5 > /dev/null
  "$HFSCAN" significance "$WS" --quiet -o sig$k.h5 > /dev/null
done
same fit1.h5 fit2.h5 "two equal fits"
same lim1.h5 lim2.h5 "two equal asymptotic limits"
same sig1.h5 sig2.h5 "two equal significances"

# 4. toy files carry the root attributes and name the POI; bands are labelled.
for a in command workspace workspace_sha256 measurement optimizer poi; do
  [ -n "$(attr limit.single.h5 /$a)" ] || fail "toy file without root attribute $a"
done
[ "$(attr limit.single.h5 /poi)" = mu ] || fail "toy file's POI: $(attr limit.single.h5 /poi)"
[ "$(attr limit.single.h5 /toys/result/CLs_exp/columns)" = "-2sigma,-1sigma,median,+1sigma,+2sigma" ] \
  || fail "CLs_exp columns are not labelled"
[ -n "$(attr scan.h5 /scan/points/dnll/quantity)" ] || fail "the scan's -2 delta ln L is not named"

# 5. a refusal names its reason once (issue 16: no message nested in itself).
cp junk.h5 notatoyfile.h5
out=$("$HFSCAN" hypotest "$WS" --mu 2 --calc toys --ntoys 5 --quiet -o notatoyfile.h5 2>&1)
[ $? -ne 0 ] || fail "a foreign file was resumed"
n=$(echo "$out" | grep -o "cannot be resumed" | wc -l)
[ "$n" -eq 1 ] || fail "refusal message garbled: $out"
cp ranking.h5 wrongkind.h5
out=$("$HFSCAN" hypotest "$WS" --mu 2 --calc toys --ntoys 5 --quiet -o wrongkind.h5 2>&1)
[ $? -ne 0 ] || fail "a ranking file was resumed as toys"
n=$(echo "$out" | grep -o "cannot be resumed" | wc -l)
[ "$n" -eq 1 ] || fail "refusal message garbled: $out"

# 6. stepped arrays: task 4 of --array=0-18:2 is part 2 of 10.
printf '%s\n' "workspace = $WS" "task = hypotest" "mu = 2" "calc = toys" "ntoys = 10" \
  "seed = 1" > arr.job
SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=10 \
  SLURM_NTASKS=1 HFSCAN=$HFSCAN bash "$SRC/slurm/hfscan-array.sbatch" arr.job arr --quiet \
  > arr.log 2>&1 || fail "array script: $(cat arr.log)"
"$HFSCAN" status arr.part2.h5 | grep -q "(part 2/10)" || fail "stepped array: $(ls arr*; cat arr.log)"

[ $fails -eq 0 ] && echo "all passed" && exit 0
exit 1
