#!/bin/bash
# Toy CLs per grid point with the adaptive toy count (--calc toys):
#  - the same table at 1, 2 and 3 ranks (h5diff without /provenance);
#  - one point's toy batches are units of their own, in rounds: the point
#    alone at 4 ranks (with speculative batches) equals it at 1 rank and
#    its row in the grid;
#  - a run interrupted by SIGTERM resumes to the same table;
#  - each point's count lies in [--toys-min, --toys-max] in whole batches,
#    and it stopped because the binomial error on CLs reached
#    --cls-accuracy or the count reached --toys-max; easy and hard points
#    get different counts;
#  - the toy CLs agree with the asymptotic ones within a few errors;
#  - a rerun on the complete file changes nothing; a file of another
#    --seed is not resumed (the seed is part of the identity).
# Usage: test_grid_toys.sh HFSCAN WS PATCHSET DIR
set -u
HFSCAN=$1 WS=$2 PS=$3 DIR=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$DIR" && cd "$DIR" && rm -f ./*.h5 ./*.json
fail() { echo "FAIL: $*"; exit 1; }
MIN=40 MAX=400 BATCH=40 ACC=0.02
[ "${HFS_TEST_QUICK:-0}" = 1 ] && MAX=120
TOY=(--calc toys --toys-min $MIN --toys-max $MAX --toys-batch $BATCH --cls-accuracy $ACC --seed 3)
ARGS=(grid "$WS" "$PS" --points 'sig_*' "${TOY[@]}" --quiet)
"$HFSCAN" "${ARGS[@]}" -o t1.h5 --json > t1.json || fail "1 rank: exit $?"
for np in 2 3; do
  mpiexec -n $np --oversubscribe "$HFSCAN" "${ARGS[@]}" -o t$np.h5 > /dev/null \
    || fail "$np ranks: exit $?"
  h5diff --exclude-path /provenance t1.h5 t$np.h5 || fail "toy grid differs between 1 and $np ranks"
done
"$HFSCAN" grid "$WS" "$PS" --points 'sig_*' --quiet --json > asym.json || fail "asymptotic run"
/usr/bin/python3 - "$MIN" "$MAX" "$BATCH" "$ACC" <<'PYEOF' || fail "adaptive toy counts"
import json, sys
lo, hi, batch, acc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
toys = json.load(open("t1.json"))["points"]
asym = {p["name"]: p for p in json.load(open("asym.json"))["points"]}
assert len(toys) == 6
counts = set()
for p in toys:
    n, err = p["ntoys"], p["CLs_err"]
    assert lo <= n <= hi and (n % batch == 0 or n == hi), p
    assert err <= acc or n == hi, p
    a = asym[p["name"]]["CLs_obs"]
    assert abs(p["CLs_obs"] - a) <= 5 * max(err, 0.01), (p, a)
    counts.add(n)
    print("%s: %d toys, CLs %.4f +- %.4f (asymptotic %.4f)" % (p["name"], n, p["CLs_obs"], err, a))
# easy and hard points get different counts
assert len(counts) > 1, counts
PYEOF
# One point's toys are units of their own: a single point (the one that
# needed the most toys) at 4 ranks runs in rounds of batches, round 1 being
# its asymptotic unit and the batches --toys-min needs, and later rounds
# lend the idle ranks speculative batches; its row equals the one of the
# 1-rank run of the whole grid and of a 1-rank run of it alone.
# The same for a point that stopped between the minimum and the maximum:
# there the speculative batches past its stop are dropped.
for pick in max between; do
  ONE_PT=$(/usr/bin/python3 - "$pick" "$MIN" "$MAX" <<'PYEOF'
import json, sys
p = json.load(open("t1.json"))["points"]
lo, hi = int(sys.argv[2]), int(sys.argv[3])
if sys.argv[1] == "max":
    print(max(p, key=lambda q: q["ntoys"])["name"])
else:
    print(([q["name"] for q in p if lo < q["ntoys"] < hi] + [""])[0])
PYEOF
  ) || fail "the toy counts of t1.json"
  # (with HFS_TEST_QUICK's smaller maximum every point may stop at an end)
  [ -n "$ONE_PT" ] || { echo "no point stopped between $MIN and $MAX toys"; continue; }
  ONE=(grid "$WS" "$PS" --points "$ONE_PT" "${TOY[@]}")
  "$HFSCAN" "${ONE[@]}" --quiet -o one1.h5 --json > one1.json || fail "$ONE_PT alone: exit $?"
  mpiexec -n 4 --oversubscribe "$HFSCAN" "${ONE[@]}" -o one4.h5 --overwrite > /dev/null \
    2> one4.err || fail "$ONE_PT alone at 4 ranks: exit $? $(cat one4.err)"
  h5diff --exclude-path /provenance one1.h5 one4.h5 \
    || fail "$ONE_PT alone differs between 1 and 4 ranks"
  grep -q "grid, round 1: $((1 + MIN / BATCH)) units on 4 ranks" one4.err \
    || fail "round 1 is not the asymptotic unit and the --toys-min batches: $(cat one4.err)"
  rounds=$(grep -c "grid, round [0-9]*: [0-9]* units on 4 ranks" one4.err)
  [ "$rounds" -ge 2 ] || fail "one point's toys did not come in rounds of batches: $(cat one4.err)"
  /usr/bin/python3 - "$ONE_PT" <<'PYEOF' || fail "$ONE_PT alone differs from its row in the grid"
import json, sys
a = json.load(open("one1.json"))["points"][0]
b = [p for p in json.load(open("t1.json"))["points"] if p["name"] == sys.argv[1]][0]
assert a == b, (a, b)
print("%s: %d toys in batches, the same alone and in the grid" % (a["name"], a["ntoys"]))
PYEOF
  echo "$ONE_PT at 4 ranks: $rounds rounds, $(grep -o 'round [0-9]*: [0-9]* units' one4.err | tr '\n' ' ')"
  rm -f one1.h5 one4.h5
done

# Interrupted and resumed: SIGTERM to both ranks once the first commit is
# there (a longer run: up to 4000 toys a point), the same command resumes,
# and the file equals a 1-rank run.  Tried up to three times in case a run
# ends before its signal.
BIG=(grid "$WS" "$PS" --points 'sig_*' --calc toys --toys-min $MIN --toys-max 4000
     --toys-batch $BATCH --cls-accuracy 0.005 --seed 5)
"$HFSCAN" "${BIG[@]}" --quiet -o big1.h5 || fail "the longer toy grid: exit $?"
interrupted=0
for attempt in 1 2 3; do
  rm -f term.h5
  mpiexec -n 2 --oversubscribe "$HFSCAN" "${BIG[@]}" --quiet --checkpoint-interval 0 -o term.h5 \
    2> term.err &
  pid=$!
  for _ in $(seq 1 5000); do
    [ -f term.h5 ] && break
    sleep 0.002
  done
  ranks=$(pgrep -P $pid)
  # shellcheck disable=SC2086
  [ -n "$ranks" ] && kill -TERM $ranks 2> /dev/null
  wait $pid
  rc=$?
  [ $rc -eq 3 ] && { interrupted=1; break; }
  [ $rc -eq 0 ] || fail "SIGTERM run exited $rc: $(cat term.err)"
done
[ $interrupted = 1 ] || fail "three runs ended before their SIGTERM"
"$HFSCAN" status term.h5 > term.status
[ $? -eq 3 ] || fail "status of the interrupted toy grid is not 3: $(cat term.status)"
# The checkpoint keeps the toys of the points in progress (/grid/toys) and
# the resume uses them: its round 1 is the asymptotic unit of each point
# not done and batch 0 only where the file has none of it.
want=$(/usr/bin/python3 - "$BATCH" <<'PYEOF'
import sys
import h5py
f = h5py.File("term.h5", "r")
todo = [i for i, d in enumerate(f["grid/points/done"][()]) if not d]
with0 = set()
if "toys" in f["grid"]:
    t = f["grid/toys"]
    with0 = {p for p, k in zip(t["point"][()], t["toy"][()]) if k < int(sys.argv[1])}
    print("checkpoint: %d toys of %d points in progress" % (len(t["point"]), len(set(t["point"][()]))),
          file=sys.stderr)
print(2 * len(todo) - len(with0 & set(todo)))
PYEOF
) || fail "reading the checkpoint's toys"
# a crafted row (a toy of a point that is not in the table) is refused
# with one line, and the file is left alone
cp term.h5 crafted.h5
/usr/bin/python3 -c 'import h5py
f = h5py.File("crafted.h5", "r+")
if "toys" in f["grid"]:
    f["grid/toys/point"][0] = 99' || fail "crafting a checkpoint"
if /usr/bin/python3 -c 'import h5py, sys; sys.exit("toys" not in h5py.File("crafted.h5")["grid"])'; then
  cp crafted.h5 crafted0.h5
  err=$("$HFSCAN" "${BIG[@]}" --quiet -o crafted.h5 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] && [ "$(echo "$err" | grep -c .)" = 1 ] && echo "$err" | grep -q "/grid/toys row 0" \
    || fail "a crafted toy row: exit $rc: $err"
  cmp -s crafted.h5 crafted0.h5 || fail "a refused resume changed the file"
fi
mpiexec -n 2 --oversubscribe "$HFSCAN" "${BIG[@]}" --checkpoint-interval 0 -o term.h5 \
  > /dev/null 2> term2.err || fail "resume: $(cat term2.err)"
grep -q "resuming term.h5" term2.err || fail "no resuming note: $(cat term2.err)"
grep -q "grid, round 1: $want units on 2 ranks" term2.err \
  || fail "the resume's round 1 is not the missing units ($want): $(cat term2.err)"
h5diff --exclude-path /provenance big1.h5 term.h5 || fail "resumed toy grid differs from one run"
echo "interrupted at attempt $attempt ($(grep -o '[0-9]* of [0-9]* points' term.status)), resumed to the same table"

# the same command on the complete file: nothing recomputed, nothing changed
cp t1.h5 t1b.h5
"$HFSCAN" "${ARGS[@]}" -o t1b.h5 2> again.err || fail "rerun on the complete file: $(cat again.err)"
grep -q "6 of 6 points already done" again.err || fail "rerun: $(cat again.err)"
h5diff --exclude-path /provenance t1.h5 t1b.h5 || fail "rerun changed the file"
"$HFSCAN" grid "$WS" "$PS" --points 'sig_*' --calc toys --toys-min $MIN --toys-max $MAX \
  --toys-batch $BATCH --cls-accuracy $ACC --seed 4 --quiet -o t1.h5 2> other.err
[ $? -eq 1 ] && grep -q "seed=" other.err || fail "another seed resumed: $(cat other.err)"
echo "PASS"
