#!/bin/bash
# Checkpoint and resume of hfscan grid on points of the ATLAS 1Lbb grid:
#  1. a run whose 2 ranks get SIGTERM after its first committed point
#     exits 3; the same command finishes it, and the file equals one
#     uninterrupted run (h5diff without /provenance), with 2 sessions;
#  2. a run killed by SIGKILL (no chance to write anything) resumes from
#     its last commit to the same file;
#  3. `hfscan status` reports the partial file as incomplete (exit 3) and the
#     finished one as complete (exit 0);
#  4. a 3-part job array merged equals the single run;
#  5. a file written with other options or another selection is refused.
# Skips (77) without ../shared.  Usage: test_grid_resume.sh HFSCAN SHARED DIR
set -u
HFSCAN=$1 SHARED=$2 DIR=$3
D=$SHARED/workspaces/atlas_1Lbb_ins1755298
[ -f "$D/BkgOnly.json" ] || { echo "skipped: $D absent"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$DIR" && cd "$DIR" && rm -f ./*.h5 ./*.err
fail() { echo "FAIL: $*"; exit 1; }
same() { h5diff --exclude-path /provenance "$1" "$2" > /dev/null || fail "$3 ($1 != $2)"; }
# The sanitizer build (HFS_TEST_QUICK) runs three points.
PTS=(C1N2_Wh_hbb_300_150 C1N2_Wh_hbb_150_0 C1N2_Wh_hbb_1000_0 C1N2_Wh_hbb_500_0
     C1N2_Wh_hbb_700_150 C1N2_Wh_hbb_900_200)
[ "${HFS_TEST_QUICK:-0}" = 1 ] && PTS=("${PTS[@]:0:3}")
SEL=()
for p in "${PTS[@]}"; do SEL+=(--points "$p"); done
ARGS=(grid "$D/BkgOnly.json" "$D/patchset.json.gz" "${SEL[@]}" --quiet)
N=${#PTS[@]}

# until FILE holds at least one committed point
wait_partial() {
  for _ in $(seq 1 3000); do
    if [ -f "$1" ] && "$HFSCAN" status "$1" 2> /dev/null | grep -qv " 0 of "; then return 0; fi
    sleep 0.02
  done
  return 1
}
# done count of a file's /job record
ndone() { "$HFSCAN" status "$1" 2> /dev/null | sed -n 's/.* \([0-9]*\) of [0-9]* points.*/\1/p'; }

"$HFSCAN" "${ARGS[@]}" -o full.h5 || fail "uninterrupted run exited $?"
"$HFSCAN" status full.h5 > /dev/null || fail "status of the complete file: exit $?"

# 1. SIGTERM to both ranks, as Slurm sends it to every task of a step
#    (mpiexec itself would abort the job on SIGTERM rather than forward it).
mpiexec -n 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" --checkpoint-interval 0 -o term.h5 \
  2> term.err &
pid=$!
wait_partial term.h5 || fail "no first commit of term.h5"
ranks=$(pgrep -P $pid)
[ -n "$ranks" ] || fail "no ranks under mpiexec $pid"
# shellcheck disable=SC2086
kill -TERM $ranks
wait $pid
rc=$?
if [ $rc -eq 3 ]; then
  grep -q "interrupted" term.err || fail "SIGTERM: no interruption message: $(cat term.err)"
  k=$(ndone term.h5)
  [ "$k" -ge 1 ] && [ "$k" -lt "$N" ] || fail "SIGTERM: $k of $N points committed"
  "$HFSCAN" status term.h5 > /dev/null
  [ $? -eq 3 ] || fail "status of the interrupted file is not 3"
  echo "SIGTERM after $k of $N points"
else
  [ $rc -eq 0 ] || fail "SIGTERM run exited $rc: $(cat term.err)"
  echo "note: the run finished before SIGTERM"
fi
mpiexec -n 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" --checkpoint-interval 0 -o term.h5 \
  2> term2.err || fail "resume after SIGTERM: $(cat term2.err)"
[ $rc -ne 3 ] || grep -q "resuming term.h5" term2.err || fail "no resuming note: $(cat term2.err)"
same full.h5 term.h5 "resumed after SIGTERM differs from one run"
s=$(h5dump -a /provenance/sessions term.h5 | awk '/\(0\)/{print $2}')
[ $rc -ne 3 ] || [ "$s" = 2 ] || fail "resumed file has $s sessions"

# 2. SIGKILL of a single process: nothing after the last commit survives.
"$HFSCAN" "${ARGS[@]}" --checkpoint-interval 0 -o kill.h5 2> kill.err &
pid=$!
wait_partial kill.h5 || fail "no first commit of kill.h5"
kill -KILL $pid
wait $pid 2> /dev/null
k=$(ndone kill.h5)
echo "SIGKILL after $k of $N points"
"$HFSCAN" "${ARGS[@]}" -o kill.h5 2> kill2.err || fail "resume after SIGKILL: $(cat kill2.err)"
same full.h5 kill.h5 "resumed after SIGKILL differs from one run"

# 4. a 3-part array, merged
for i in 0 1 2; do
  "$HFSCAN" "${ARGS[@]}" --array $i/3 -o part$i.h5 || fail "array part $i exited $?"
done
"$HFSCAN" status part1.h5 | grep -q "part 1/3" || fail "status does not name the part"
"$HFSCAN" merge merged.h5 part0.h5 part1.h5 part2.h5 > merge.out || fail "merge exited $?"
grep -q "$N of $N points, complete" merge.out || fail "merge: $(cat merge.out)"
same full.h5 merged.h5 "merged parts differ from one run"

# 5. other options, another selection: refused, the file left alone
cp full.h5 other.h5
"$HFSCAN" "${ARGS[@]}" --mu 2 -o other.h5 2> other.err
[ $? -eq 1 ] || fail "other --mu: not refused"
grep -q "cannot be resumed.*mu=" other.err || fail "other --mu: $(cat other.err)"
"$HFSCAN" "${ARGS[@]}" --points C1N2_Wh_hbb_400_250 -o other.h5 2> other2.err
[ $? -eq 1 ] || fail "other selection: not refused"
grep -q "cannot be resumed.*points=" other2.err || fail "other selection: $(cat other2.err)"
same full.h5 other.h5 "a refused run changed the file"
echo "PASS"
