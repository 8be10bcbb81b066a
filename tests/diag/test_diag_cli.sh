#!/bin/bash
# Bad input to the diagnostics' options: one clear line on stderr naming the
# problem and a non-zero exit status, never a crash.  Usage:
# test_diag_cli.sh HFSCAN WORKSPACE
set -u
HFSCAN=$1
WS=$2
failn=0
pass=0
# expect STATUS PATTERN ARGS...
expect() {
  local want=$1 pattern=$2
  shift 2
  local err rc lines
  err=$("$HFSCAN" "$@" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ $rc -ne "$want" ]; then
    echo "FAIL [$*]: exit $rc, expected $want: $err"; failn=$((failn + 1))
  elif [ "$lines" -ne 1 ]; then
    echo "FAIL [$*]: expected one line, got $lines: $err"; failn=$((failn + 1))
  elif ! printf '%s\n' "$err" | grep -Eq -- "$pattern"; then
    echo "FAIL [$*]: message lacks /$pattern/: $err"; failn=$((failn + 1))
  else
    pass=$((pass + 1))
  fi
}
expect 1 "belle2_like.json: --data: Asimov mu=25: outside the bounds \[0, 20\] of the POI 'mu'" \
  fit "$WS" --data asimov:mu=25
expect 1 "outside the bounds \[0, 20\]" limit "$WS" --data asimov:mu=-1
expect 1 "outside the bounds \[0, 20\]" gof "$WS" --data asimov:mu=21:nuis=postfit
expect 2 "--data asimov:nuis=best: unknown item 'nuis=best'" fit "$WS" --data asimov:nuis=best
expect 2 "--data asimov:mu=x: mu=x is not a number" significance "$WS" --data asimov:mu=x
expect 2 "--data simulated: use observed or asimov" ranking "$WS" --data simulated
expect 2 "--ntoys 0: expected a positive integer" gof "$WS" --calc toys --ntoys 0
expect 1 "--par ghost: no parameter of that name in .*belle2_like.json" scan "$WS" --par ghost=0:1:3
expect 1 "--par mu=-1:3:3: outside the parameter's bounds \[0, 20\]" scan "$WS" --par mu=-1:3:3
expect 1 "--par mu: given twice" scan "$WS" --par mu=0:3:3 --par mu=1:2:2
expect 2 "--par mu=3:1:4: expected NAME=LO:HI:N with LO <= HI" scan "$WS" --par mu=3:1:4
expect 2 "--par mu=0:1:3: at most two parameters" scan "$WS" --par mu=0:1:3 --par mu=0:1:3 --par mu=0:1:3
expect 1 "--freeze-group nope: no group of that name" scan "$WS" --par mu=0:3:3 --freeze-group nope
echo "$pass passed, $failn failed"
[ $failn -eq 0 ]
