#!/bin/bash
# Crafted or damaged toy files (issue 16): each is refused with one line by
# status, by a resume and by merge, before anything large is allocated; and
# merge refuses parts that overlap (the same part twice, two copies of one
# array part, toy ranges that intersect).
# Usage: test_crafted.sh HFSCAN SOURCE_DIR
set -u
HFSCAN=$1
WS=$2/inputs/belle2_like.json
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
$PY -c "import h5py" 2> /dev/null || skip "h5py (python3-h5py) is not installed"
N=6
ARGS=(hypotest "$WS" --mu 2 --calc toys --ntoys $N --seed 9 --quiet)
"$HFSCAN" "${ARGS[@]}" -o good.h5 > /dev/null 2> good.err || fail "good run: $(cat good.err)"
# A partial file (half the toys) to be damaged: a resume would read it.
"$HFSCAN" "${ARGS[@]}" --array 0/2 -o part0.h5 > /dev/null || fail "part 0"
"$HFSCAN" "${ARGS[@]}" --array 1/2 -o part1.h5 > /dev/null || fail "part 1"

craft() { # craft NAME PYTHON-STATEMENTS (f is the open file)
  cp part0.h5 "$1.h5"
  $PY - "$1.h5" << PYEOF || fail "crafting $1"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
u = f["/toys/unit"]
$2
f.close()
PYEOF
}
craft count0 'f["/toys"].attrs["array_count"] = np.int64(0)'
craft npoints 'f["/toys"].attrs["npoints"] = np.int64(999999)'
craft ntoys 'f["/toys"].attrs["ntoys"] = np.int64(10**15)'
craft index 'f["/toys"].attrs["array_index"] = np.int64(7)'
craft nodata 'd = u["done"][...]; d[:] = 1; del u["done"]; u["done"] = d'
craft nan 'done = u["done"][...]; t = u["t"][...]; t[np.argmax(done == 1)] = np.nan; del u["t"]; u["t"] = t'
craft donebad 'd = u["done"][...]; d[0] = 5; del u["done"]; u["done"] = d'
craft short 'd = u["t"][...]; del u["t"]; u["t"] = d[:-1]'
craft kind 'f["/toys"].attrs["kind"] = np.bytes_("evil")'
# the progress record (part complete) claims a toy the table lacks
craft record 'd = u["done"][...]; d[np.argmax(d == 1)] = 0; del u["done"]; u["done"] = d'
for k in count0 npoints ntoys index nodata nan donebad short kind; do
  "$HFSCAN" status $k.h5 > /dev/null 2> $k.err
  rc=$?
  [ $rc -eq 1 ] || fail "status of crafted file '$k': exit status $rc, expected 1: $(cat $k.err)"
  one_line $k.err
  grep -q "$k.h5" $k.err || fail "'$k': the message does not name the file: $(cat $k.err)"
  # a resume refuses it the same way (and does not run anything)
  "$HFSCAN" "${ARGS[@]}" --array 0/2 -o $k.h5 > /dev/null 2> $k.resume.err
  rc=$?
  [ $rc -eq 1 ] || fail "resume of crafted file '$k': exit status $rc: $(cat $k.resume.err)"
  "$HFSCAN" merge $k.out.h5 $k.h5 part1.h5 > /dev/null 2> $k.merge.err
  [ $? -eq 1 ] || fail "merge took crafted file '$k'"
done
grep -q "marked done but holds no result" nodata.err || fail "rows done without results: $(cat nodata.err)"
grep -q "non-finite" nan.err || fail "t = NaN: $(cat nan.err)"
# the record against the table: status refuses; a resume trusts the table
# and redoes the missing toy
"$HFSCAN" status record.h5 > /dev/null 2> record.err
[ $? -eq 1 ] || fail "status called a file complete that lacks a toy: $(cat record.err)"
one_line record.err
grep -q "/job says" record.err || fail "record against table: $(cat record.err)"

# status of a large file reads it in blocks, never whole: 4 million toy
# units (224 MB of tables, 256 MB once loaded) answered in bounded memory.
# Release build only (the sanitizers' shadow memory would blur the figure).
if [ "${HFS_TEST_QUICK:-0}" != 1 ]; then
  cp good.h5 large.h5
  $PY - large.h5 "$HFSCAN" << 'PYEOF' || fail "status of a large toy file"
import sys, h5py, numpy as np
path = sys.argv[1]
nt = 2_000_000
with h5py.File(path, "r+") as f:
    u = f["/toys/unit"]
    for k in list(u):
        dt = u[k].dtype
        del u[k]
        u.create_dataset(k, data=np.zeros(2 * nt, dtype=dt))
    f["/toys"].attrs["ntoys"] = np.int64(nt)
    f["/toys"].attrs["complete"] = np.int64(0)
    f["/job"].attrs["n_done"] = np.int64(0)
    f["/job"].attrs["n_total"] = np.int64(2 * nt)
    f["/job"].attrs["complete"] = np.int64(0)
PYEOF
  # measured from a small process: a child's peak counts its parent's
  # memory at the fork
  $PY - large.h5 "$HFSCAN" << 'PYEOF' || fail "status of a large toy file"
import resource, subprocess, sys
path, hfscan, nt = sys.argv[1], sys.argv[2], 2_000_000
r = subprocess.run([hfscan, "status", path], capture_output=True, text=True)
rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(r.stdout.strip(), r.stderr.strip(), f"(peak {rss_mb:.0f} MB)")
assert r.returncode == 3, f"exit status {r.returncode}, expected 3 (incomplete)"
assert f" 0 of {2 * nt} toys" in r.stdout, r.stdout
# loading the tables whole takes 256 MB; blocks take 4 MB above the
# process's own (about 40 MB: MPI, PETSc)
assert rss_mb < 100, f"status used {rss_mb:.0f} MB for a {2 * nt}-unit file"
PYEOF
fi

# merge: overlapping parts are refused, disjoint ones give the single run
"$HFSCAN" merge all.h5 part0.h5 part1.h5 > /dev/null || fail "merge of two disjoint parts"
same good.h5 all.h5
for parts in "part0.h5 part0.h5" "good.h5 part1.h5" "part0.h5 part1.h5 good.h5"; do
  cp part0.h5 copy0.h5
  # shellcheck disable=SC2086
  "$HFSCAN" merge over.h5 $parts > /dev/null 2> over.err
  rc=$?
  [ $rc -eq 1 ] || fail "merge of overlapping parts ($parts): exit status $rc"
  grep -q "overlaps" over.err || fail "merge ($parts) does not say why: $(cat over.err)"
done
cp part0.h5 copy0.h5
"$HFSCAN" merge over.h5 part0.h5 copy0.h5 part1.h5 > /dev/null 2>&1 && fail "merge took two copies of part 0"
echo "1 passed, 0 failed"
