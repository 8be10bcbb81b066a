#!/bin/bash
# Toy CLs per grid point with the adaptive toy count (--calc toys):
#  - the same table at 1 and 2 ranks (h5diff without /provenance);
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
ARGS=(grid "$WS" "$PS" --points 'sig_*' --calc toys --toys-min $MIN --toys-max $MAX
      --toys-batch $BATCH --cls-accuracy $ACC --seed 3 --quiet)
"$HFSCAN" "${ARGS[@]}" -o t1.h5 --json > t1.json || fail "1 rank: exit $?"
mpiexec -n 2 --oversubscribe "$HFSCAN" "${ARGS[@]}" -o t2.h5 > /dev/null || fail "2 ranks: exit $?"
h5diff --exclude-path /provenance t1.h5 t2.h5 || fail "toy grid differs between 1 and 2 ranks"
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
# the same command on the complete file: nothing recomputed, nothing changed
cp t1.h5 t1b.h5
"$HFSCAN" "${ARGS[@]}" -o t1b.h5 2> again.err || fail "rerun on the complete file: $(cat again.err)"
grep -q "6 of 6 points already done" again.err || fail "rerun: $(cat again.err)"
h5diff --exclude-path /provenance t1.h5 t1b.h5 || fail "rerun changed the file"
"$HFSCAN" grid "$WS" "$PS" --points 'sig_*' --calc toys --toys-min $MIN --toys-max $MAX \
  --toys-batch $BATCH --cls-accuracy $ACC --seed 4 --quiet -o t1.h5 2> other.err
[ $? -eq 1 ] && grep -q "seed=" other.err || fail "another seed resumed: $(cat other.err)"
echo "PASS"
