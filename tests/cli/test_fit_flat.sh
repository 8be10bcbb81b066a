#!/bin/bash
# hfscan on fits whose Hessian at the minimum is not positive definite
# (tests/data: a flat direction of two normfactors): exit 0, status
# converged, covariance status 2 (made positive definite) in the text, the
# JSON and the HDF5 file, one warning line, "fixed" only for held
# parameters; a ranking counts such fits apart from failed ones.
# Usage: test_fit_flat.sh HFSCAN DATA_DIR OUT_DIR
set -u
hfscan=$1 data=$2 out=$3
mkdir -p "$out"
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }

for ws in flat_normfactors lumi_shapesys_14par; do
  w=$data/$ws.json
  "$hfscan" fit "$w" >"$out/$ws.txt" 2>"$out/$ws.err"
  rc=$?
  cat "$out/$ws.txt" "$out/$ws.err"
  check "[ $rc -eq 0 ]" "$ws: fit exit $rc"
  check "grep -q '^status      converged' '$out/$ws.txt'" "$ws: status converged"
  check "grep -q '^covariance  made_posdef (2)' '$out/$ws.txt'" "$ws: covariance line"
  check "! grep -q ' fixed' '$out/$ws.txt'" "$ws: no parameter is fixed"
  check "[ \$(grep -c 'made positive definite as MINUIT does' '$out/$ws.err') -eq 1 ]" \
        "$ws: one warning line"
  "$hfscan" fit "$w" --fix lumi=1 >"$out/$ws.fix.txt" 2>/dev/null
  if grep -q '^lumi' "$out/$ws.fix.txt"; then
    check "grep -q '^lumi .* fixed' '$out/$ws.fix.txt'" "$ws: held lumi printed as fixed"
  fi
  "$hfscan" fit "$w" --json >"$out/$ws.json" 2>/dev/null
  check "[ $? -eq 0 ]" "$ws: fit --json exit"
  check "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); \
assert d[\"status\"]==\"converged\" and d[\"covariance_status\"]==2 and \
d[\"covariance_quality\"]==\"made_posdef\" and \
all(p[\"error\"] is not None and p[\"error\"]>0 for p in d[\"parameters\"])' '$out/$ws.json'" \
        "$ws: JSON covariance_status and errors"
  rm -f "$out/$ws.h5"; "$hfscan" fit "$w" --quiet -o "$out/$ws.h5" >/dev/null 2>&1
  check "[ $? -eq 0 ]" "$ws: fit -o exit"
  check "/usr/bin/python3 -c 'import h5py,sys; g=h5py.File(sys.argv[1])[\"fit\"]; \
assert int(g.attrs[\"cov_status\"])==2, g.attrs[\"cov_status\"]; \
q=g.attrs[\"cov_quality\"]; q=q.decode() if isinstance(q,bytes) else q; assert q==\"made_posdef\", q; \
assert (g[\"parameters/error\"][:]>0).all()' '$out/$ws.h5'" "$ws: HDF5 cov_status"
done

# A ranking on the 14-parameter model: every fit converges, the free fit's
# covariance is counted apart.
w=$data/lumi_shapesys_14par.json
"$hfscan" ranking "$w" --json --quiet --overwrite -o "$out/rank14.h5" >"$out/rank14.json" \
  2>"$out/rank14.err"
rc=$?
cat "$out/rank14.err"
check "[ $rc -eq 0 ]" "ranking exit $rc"
check "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); \
assert d[\"n_failed_fits\"]==0 and d[\"n_posdef_fits\"]>=1 and \
d[\"free_fit_covariance\"]==\"made_posdef\", d' '$out/rank14.json'" "ranking JSON counts"
check "/usr/bin/python3 -c 'import h5py,sys; g=h5py.File(sys.argv[1])[\"ranking\"]; \
assert int(g.attrs[\"n_posdef_fits\"])>=1 and int(g[\"free_fit\"].attrs[\"cov_status\"])==2' \
'$out/rank14.h5'" "ranking HDF5 counts"
exit $fail
