#!/bin/bash
# Job files for the diagnostics (docs/jobs.md): the keys data, par,
# freeze_group and yields and the tasks gof and yields give exactly what
# the same command line gives; bad values are one line naming the problem.
#   test_diag_jobs.sh HFSCAN WORKSPACE WORKDIR
set -u
HFSCAN=$1 WS=$2 DIR=$3
mkdir -p "$DIR"
rm -f "$DIR"/*.h5 "$DIR"/*.job
cd "$DIR" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
same() { h5diff -q --exclude-path /provenance "$1" "$2" || fail "$1 and $2 differ"; }

# goodness-of-fit toys on Asimov data
cat > gof.job <<EOF
task = gof
workspace = $WS
data = asimov:mu=2:nuis=postfit
calc = toys
ntoys = 30
seed = 5
output = gof_job.h5
EOF
"$HFSCAN" run gof.job --quiet > /dev/null || fail "gof job"
"$HFSCAN" gof "$WS" --data asimov:mu=2:nuis=postfit --calc toys --ntoys 30 --seed 5 --quiet \
  -o gof_cli.h5 > /dev/null || fail "gof command"
same gof_cli.h5 gof_job.h5
h5dump -a /gof/data_kind gof_job.h5 | grep -q '"asimov"' || fail "gof job: not on Asimov data"
"$HFSCAN" status gof_job.h5 > /dev/null || fail "gof job: incomplete"

# a 2D scan with a frozen group that a --group names
cat > pscan.job <<EOF
task = scan
workspace = $WS
par = mu=2:9:4
par = norm_charged_B=-1:1:3
group = norms=norm_.*
freeze_group = norms
freeze_group = staterror
output = pscan_job.h5
EOF
"$HFSCAN" run pscan.job --quiet > /dev/null || fail "scan job"
"$HFSCAN" scan "$WS" --par mu=2:9:4 --par norm_charged_B=-1:1:3 --group "norms=norm_.*" \
  --freeze-group norms --freeze-group staterror --quiet -o pscan_cli.h5 > /dev/null ||
  fail "scan command"
same pscan_cli.h5 pscan_job.h5
h5dump -a /pscan/frozen_groups pscan_job.h5 | grep -q 'norms,staterror' || fail "frozen groups"

# pre-fit yields on Asimov data
cat > yields.job <<EOF
task = yields
workspace = $WS
yields = prefit
data = asimov:mu=3
EOF
"$HFSCAN" run yields.job --json > yields_job.json || fail "yields job"
"$HFSCAN" yields "$WS" --prefit --data asimov:mu=3 --json > yields_cli.json || fail "yields command"
cmp -s yields_job.json yields_cli.json || fail "yields job and command differ"
grep -q '"channels"' yields_job.json || fail "yields job printed no table"

# bad values: one line each, non-zero exit
expect() {
  local want=$1 pattern=$2 job=$3 err rc
  err=$("$HFSCAN" run "$job" 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq "$want" ] || fail "$job: exit $rc, expected $want: $err"
  [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || fail "$job: not one line: $err"
  printf '%s\n' "$err" | grep -Eq -- "$pattern" || fail "$job: message lacks /$pattern/: $err"
}
printf 'task = yields\nworkspace = %s\nyields = midfit\n' "$WS" > bad_stage.job
expect 2 "bad_stage.job:3: key 'yields' is prefit or postfit, not 'midfit'" bad_stage.job
printf 'task = scan\nworkspace = %s\npar = ghost=0:1:3\n' "$WS" > bad_par.job
expect 1 "--par ghost: no parameter of that name" bad_par.job
printf 'task = gof\nworkspace = %s\ndata = asimov:mu=50\n' "$WS" > bad_data.job
expect 1 "Asimov mu=50: outside the bounds" bad_data.job
printf 'task = gof\nworkspace = %s\ndata = observed\ndata = asimov\n' "$WS" > twice.job
expect 2 "twice.job:4: key 'data' given twice" twice.job
echo OK
