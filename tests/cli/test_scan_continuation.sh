#!/bin/bash
# The scan's continuation pass (issue 17: a scan's neighbours warm-start each
# other).  On ATLAS 1Lbb's C1N2_Wh_hbb_1000_0 some grid points, fitted from the
# free minimum, stop in a higher minimum far out along mu_SIG; continued from
# the neighbouring point they reach the lower one.  Checks: at least one point
# repaired, counted alike in the HDF5 attribute and the JSON; no point of the
# total curve above its unit as run; every repaired point equal (1e-6) to an
# independent conditional fit from the initial values (`fit --fix`); the same
# file at 1 and 2 ranks; --robust off leaves the units as they are (0
# repairs).  Skips (77) without ../shared.
# Usage: test_scan_continuation.sh HFSCAN SHARED DIR
set -u
HFSCAN=$1 SHARED=$2 DIR=$3
D=$SHARED/workspaces/atlas_1Lbb_ins1755298
[ -f "$D/BkgOnly.json" ] || { echo "skipped: $D absent"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$DIR" && cd "$DIR" && rm -f ./*.h5 ./*.json
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3
WS=("$D/BkgOnly.json" --patch "$D/patchset.json.gz:C1N2_Wh_hbb_1000_0")
"$HFSCAN" scan "${WS[@]}" --quiet -o np1.h5 || fail "scan exited $?"
"$HFSCAN" scan "${WS[@]}" --json > scan.json 2> scan.err || fail "scan --json: $(cat scan.err)"
mpiexec -n 2 --oversubscribe "$HFSCAN" scan "${WS[@]}" --quiet -o np2.h5 || fail "2 ranks exited $?"
h5diff --exclude-path /provenance np1.h5 np2.h5 || fail "the scan differs between 1 and 2 ranks"
"$HFSCAN" scan "${WS[@]}" --robust off --quiet -o off.h5 || fail "--robust off exited $?"
# the points repaired, as "MU RAW_DNLL DNLL" lines
$PY - np1.h5 scan.json off.h5 > repaired.txt <<'PYEOF' || fail "$(cat repaired.txt)"
import h5py, json, sys
s = h5py.File(sys.argv[1], "r")["scan"]
n, nh = int(s.attrs["n_points"]), s.attrs["twice_nll_hat"]
raw = s["units/twice_nll"][:n] - nh
cur = s["points/dnll"][:, 0]
mu = s["points/mu"][:]
nrep = int(s.attrs["n_repairs"])
js = json.load(open(sys.argv[2]))
assert js["n_repairs"] == nrep, "JSON n_repairs %s, file %d" % (js["n_repairs"], nrep)
assert nrep >= 1, "no point repaired"
assert all(cur <= raw + 1e-12), "a point above its unit"
lower = [k for k in range(n) if cur[k] < raw[k] - 1e-7]
assert len(lower) == nrep, "%d points lower, n_repairs %d" % (len(lower), nrep)
off = h5py.File(sys.argv[3], "r")["scan"]
assert int(off.attrs["n_repairs"]) == 0, "--robust off repaired"
for k in sorted(lower, key=lambda k: cur[k] - raw[k]):
    print("%.17g %.10f %.10f" % (mu[k], raw[k], cur[k]))
PYEOF
[ -s repaired.txt ] || fail "no repaired point listed"
nh=$($PY -c 'import h5py, sys; print(repr(float(h5py.File(sys.argv[1], "r")["scan"].attrs["twice_nll_hat"])))' np1.h5)
while read -r mu raw cur; do
  "$HFSCAN" fit "${WS[@]}" --fix "mu_SIG=$mu" --brief --json > fit.json 2> fit.err ||
    fail "fit at mu_SIG = $mu: $(cat fit.err)"
  $PY - fit.json "$nh" "$cur" "$raw" "$mu" <<'PYEOF' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
t = d["twice_nll"] - float(sys.argv[2])
cur, raw, mu = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
if abs(t - cur) > 1e-6:
    print("FAIL: mu_SIG = %s: scan %.8f (unit %.8f), independent fit %.8f" % (mu, cur, raw, t))
    sys.exit(1)
print("mu_SIG = %s: unit %.6f, continued %.6f, independent fit %.6f" % (mu, raw, cur, t))
PYEOF
done < repaired.txt
echo "PASS"
