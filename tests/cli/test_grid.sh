#!/bin/bash
# hfscan grid on the test patchset (tests/data/grid/patchset.json: six
# signal points and one whose patch leaves an invalid workspace):
#  - the broken point is recorded with status error and its message, the
#    others go on, and the exit status is 4;
#  - --json, --harvest and the HDF5 table hold the same numbers, the table
#    reads into pandas and h5py, keyed by name with m1, m2;
#  - --points selects by name and glob; a selection matching nothing, a
#    wrong digest and --patch are refused with one line;
#  - grid --help lists the options grid takes itself.
# Usage: test_grid.sh HFSCAN WS PATCHSET DIR
set -u
HFSCAN=$1 WS=$2 PS=$3 DIR=$4
mkdir -p "$DIR"
rm -f "$DIR"/*
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

"$HFSCAN" grid --help >"$DIR/help.txt" 2>&1 || fail "grid --help exit status $?"
grep -q '^usage: hfscan grid BKG.json PATCHSET.json' "$DIR/help.txt" || fail "grid --help: usage line"
for o in points limit harvest toys-min toys-max toys-batch cls-accuracy limit-method cl calc; do
  grep -q -- "--$o " "$DIR/help.txt" || fail "grid --help does not list --$o"
done

"$HFSCAN" grid "$WS" "$PS" --limit --bounds mu=0:20 --quiet --json -o "$DIR/g.h5" \
  --harvest "$DIR/harvest.json" >"$DIR/g.json" 2>"$DIR/g.err"
rc=$?
[ $rc -eq 4 ] || fail "exit status $rc, expected 4 (one point failed): $(cat "$DIR/g.err")"
$PY - "$DIR" <<'PYEOF' || fail "outputs disagree"
import json, math, sys
import h5py
d = sys.argv[1]
js = json.load(open(d + "/g.json"))
hv = json.load(open(d + "/harvest.json"))
f = h5py.File(d + "/g.h5", "r")
g = f["grid/points"]
assert js["labels"] == ["m1", "m2"], js["labels"]
assert f["grid"].attrs["labels"] in ("m1,m2", b"m1,m2")
names = [n.decode() for n in g["name"][()]]
assert names == [p["name"] for p in js["points"]], names
assert len(hv) == len(names) == 7
bad = names.index("broken_400_0")
for i, p in enumerate(js["points"]):
    h = hv[i]
    assert h["fID"] == p["name"]
    assert [h["m1"], h["m2"]] == p["values"] == [g["m1"][i], g["m2"][i]], (h, p)
    if i == bad:
        assert p["status"] == "error" and g["status"][i] == 2, p
        assert "has 3 bins" in p["message"], p["message"]
        assert math.isnan(g["CLs_obs"][i]) and p["CLs_obs"] is None
        assert h["CLs"] == -1 and h["failedfit"] == 1
        continue
    assert p["status"] == "ok" and g["status"][i] == 0, p
    assert g["limit_status"][i] == 0 and p["limit"]["status"] == "ok"
    e = p["CLs_exp"]
    assert e == sorted(e), e
    assert h["CLs"] == p["CLs_obs"] == g["CLs_obs"][i]
    assert [h["clsd2s"], h["clsd1s"], h["CLsexp"], h["clsu1s"], h["clsu2s"]] == e
    assert [g["CLs_exp_" + b][i] for b in ("m2", "m1", "med", "p1", "p2")] == e
    assert h["upperLimit"] == p["limit"]["obs"] == g["limit_obs"][i]
    assert h["expectedUpperLimit"] == p["limit"]["exp"][2] == g["limit_exp_med"][i]
    assert h["failedfit"] == 0
    # The limit is where CLs crosses 0.05: below it at mu = 1 iff UL < 1.
    assert (p["CLs_obs"] < 0.05) == (p["limit"]["obs"] < 1), p
# the table reads into pandas as docs/grid.md shows, keyed by name
import pandas as pd
df = pd.DataFrame({k: v[()] for k, v in g.items() if v.ndim == 1})
df["name"] = df["name"].str.decode("utf-8")
df = df.set_index("name")
assert len(df) == 7 and df.loc["sig_200_0", "m1"] == 200 and df.loc["sig_200_0", "m2"] == 0
i = names.index("sig_200_0")
assert df.loc["sig_200_0", "CLs_obs"] == g["CLs_obs"][i] == js["points"][i]["CLs_obs"]
assert df.loc["broken_400_0", "status"] == 2
print("outputs agree")
PYEOF

# The grid's limit search (secant, the default) finds the roots of the
# reference search (Brent's method on full hypothesis tests, as hfscan
# limit) within the tolerance.
"$HFSCAN" grid "$WS" "$PS" --points 'sig_*' --limit --bounds mu=0:20 --limit-method brent --quiet \
  --json >"$DIR/brent.json" || fail "--limit-method brent"
$PY - "$DIR" <<'PYEOF' || fail "secant and Brent limits differ"
import json, sys
d = sys.argv[1]
a = {p["name"]: p["limit"] for p in json.load(open(d + "/brent.json"))["points"]}
worst = 0
for p in json.load(open(d + "/g.json"))["points"]:
    if p["name"] not in a:
        continue
    x, y = [p["limit"]["obs"]] + p["limit"]["exp"], [a[p["name"]]["obs"]] + a[p["name"]]["exp"]
    worst = max(worst, max(abs(u - v) / v for u, v in zip(x, y)))
assert worst < 5e-5, worst
print("secant vs Brent: largest relative difference %.2g" % worst)
PYEOF

# --points: a name and a glob; the selected rows equal the full run's.
"$HFSCAN" grid "$WS" "$PS" --points sig_100_0 --points 'sig_3*' --quiet --json >"$DIR/sel.json" \
  || fail "--points run failed"
$PY - "$DIR" <<'PYEOF' || fail "--points rows differ from the full run"
import json, sys
d = sys.argv[1]
sel = json.load(open(d + "/sel.json"))["points"]
full = {p["name"]: p for p in json.load(open(d + "/g.json"))["points"]}
assert [p["name"] for p in sel] == ["sig_100_0", "sig_300_0", "sig_300_50"], sel
for p in sel:
    assert p["CLs_obs"] == full[p["name"]]["CLs_obs"] and p["CLs_exp"] == full[p["name"]]["CLs_exp"]
PYEOF

# A limit outside the POI's bounds (--bounds mu=0:2): the point keeps its
# CLs values and its other limits, each limit has its own status, and the
# message names the limit that failed and the way out; exit status 4.
"$HFSCAN" grid "$WS" "$PS" --points 'sig_*' --limit --bounds mu=0:2 --quiet --json \
  -o "$DIR/bounded.h5" >"$DIR/bounded.json" 2>"$DIR/bounded.err"
rc=$?
[ $rc -eq 4 ] || fail "bounded limits: exit status $rc, expected 4: $(cat "$DIR/bounded.err")"
$PY - "$DIR" <<'PYEOF' || fail "a limit outside the bounds lost other results"
import json, math, sys
import h5py
d = sys.argv[1]
b = {p["name"]: p for p in json.load(open(d + "/bounded.json"))["points"]}
full = {p["name"]: p for p in json.load(open(d + "/g.json"))["points"]}
g = h5py.File(d + "/bounded.h5", "r")["grid/points"]
names = [n.decode() for n in g["name"][()]]
# sig_300_50: expected +1 and +2 sigma limits and the observed one above mu = 2
p, f = b["sig_300_50"], full["sig_300_50"]
i = names.index("sig_300_50")
assert p["status"] == "ok" and p["CLs_obs"] == f["CLs_obs"] and p["CLs_exp"] == f["CLs_exp"], p
assert p["limit"]["status"] == "error" and g["limit_status"][i] == 2
assert p["limit"]["obs_status"] == "error" and p["limit"]["obs"] is None
assert p["limit"]["exp_status"] == ["ok", "ok", "ok", "error", "error"], p["limit"]
for k in range(3):
    assert abs(p["limit"]["exp"][k] - f["limit"]["exp"][k]) <= 1e-4 * f["limit"]["exp"][k], (p, f)
assert p["limit"]["exp"][3] is None and math.isnan(g["limit_exp_p1"][i])
assert [g[c][i] for c in ("limit_obs_status", "limit_exp_m2_status", "limit_exp_med_status",
                          "limit_exp_p2_status")] == [2, 0, 0, 2]
assert "above the POI's upper bound 2" in p["message"] and "--bounds mu=" in p["message"], p
# sig_100_0: every limit inside the bounds, as in the unbounded run
q = b["sig_100_0"]
assert q["limit"]["status"] == "ok" and q["limit"]["exp_status"] == ["ok"] * 5
assert abs(q["limit"]["obs"] - full["sig_100_0"]["limit"]["obs"]) <= 1e-4 * q["limit"]["obs"]
print("bounded limits recorded per quantity")
PYEOF

one_line() { # NAME PATTERN STATUS COMMAND...
  local name=$1 pattern=$2 want=$3; shift 3
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq "$want" ] || fail "$name: exit $rc, expected $want: $err"
  [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || fail "$name: not one line: $err"
  echo "$err" | grep -Eq -e "$pattern" || fail "$name: message lacks /$pattern/: $err"
}
one_line no_match "--points nope_\*: no patch of .*patchset.json matches" 1 \
  "$HFSCAN" grid "$WS" "$PS" --points 'nope_*' --quiet
sed 's/"sha256": "[0-9a-f]*"/"sha256": "'"$(printf '0%.0s' {1..64})"'"/' "$PS" >"$DIR/wrong.json"
one_line digest "wrong.json: the patchset was made for a workspace of sha256 digest 0{64}, but .*valid.json has [0-9a-f]{64}" 1 \
  "$HFSCAN" grid "$WS" "$DIR/wrong.json" --quiet
"$HFSCAN" grid "$WS" "$DIR/wrong.json" --no-digest-check --points 'sig_1*' --quiet \
  || fail "--no-digest-check did not override"
# The patchset's own bad input, refused by grid before any point: an empty
# patchset, duplicate patch names.
DIGEST=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["digests"]["sha256"])' "$PS")
$PY - "$PS" "$DIR" <<'PYEOF'
import json, sys
ps = json.load(open(sys.argv[1]))
empty = dict(ps, patches=[])
json.dump(empty, open(sys.argv[2] + "/empty.json", "w"))
dup = dict(ps, patches=[ps["patches"][0], json.loads(json.dumps(ps["patches"][1]))])
dup["patches"][1]["metadata"]["name"] = ps["patches"][0]["metadata"]["name"]
json.dump(dup, open(sys.argv[2] + "/dup.json", "w"))
# a patch whose path does not exist: recorded for its point, the others go on
gone = dict(ps, patches=[ps["patches"][0], json.loads(json.dumps(ps["patches"][1]))])
gone["patches"][1]["patch"] = [{"op": "remove", "path": "/channels/7"}]
json.dump(gone, open(sys.argv[2] + "/gone.json", "w"))
PYEOF
[ -n "$DIGEST" ] || fail "no digest in $PS"
one_line empty "empty.json: patches: empty patchset" 1 "$HFSCAN" grid "$WS" "$DIR/empty.json" --quiet
one_line duplicate "dup.json: patches\[1\].metadata: duplicate patch name" 1 \
  "$HFSCAN" grid "$WS" "$DIR/dup.json" --quiet
"$HFSCAN" grid "$WS" "$DIR/gone.json" --quiet --json >"$DIR/gone.out" 2>/dev/null
[ $? -eq 4 ] || fail "a patch with a missing path: exit status is not 4"
$PY - "$DIR/gone.out" <<'PYEOF' || fail "missing path not recorded with the patch and the operation"
import json, sys
p = json.load(open(sys.argv[1]))["points"]
assert p[0]["status"] == "ok", p[0]
assert p[1]["status"] == "error", p[1]
assert "[0] (op remove, path /channels/7): path does not exist" in p[1]["message"], p[1]
PYEOF
one_line patch "--patch does not apply" 2 "$HFSCAN" grid "$WS" "$PS" --patch "$PS:sig_100_0" --quiet
one_line usage "expected BKG.json PATCHSET.json" 2 "$HFSCAN" grid "$WS" --quiet
echo "PASS"
