#!/bin/bash
# One case per class of bad input (cases/list.txt: name TAB pattern): hfscan
# must print exactly one line naming the file and the JSON path, and exit
# with status 1 — never crash (status >= 128), never succeed.  A pattern
# starting with WARN: is a tolerated input: status 0 with that warning, and
# status 1 under --strict.  Usage: test_bad_inputs.sh HFSCAN
set -u
HFSCAN=$1
dir=$(cd "$(dirname "$0")" && pwd)/cases
pass=0
failn=0
bad() { echo "FAIL [$1]: $2"; failn=$((failn + 1)); }
while IFS=$'\t' read -r name pattern; do
  f=$dir/$name.json
  err=$("$HFSCAN" fit "$f" --json 2>&1 >/dev/null)
  rc=$?
  if [ -z "$pattern" ]; then
    [ $rc -eq 0 ] && pass=$((pass + 1)) || bad "$name" "valid input failed ($rc): $err"
    continue
  fi
  if [ "${pattern#WARN:}" != "$pattern" ]; then
    p=${pattern#WARN:}
    if [ $rc -ne 0 ]; then bad "$name" "tolerated input exited $rc: $err"; continue; fi
    echo "$err" | grep -Eq "warning: $f: $p" || { bad "$name" "warning missing or unclear: $err"; continue; }
    "$HFSCAN" fit "$f" --strict >/dev/null 2>&1
    [ $? -eq 1 ] || { bad "$name" "--strict did not turn the warning into an error"; continue; }
    pass=$((pass + 1))
    continue
  fi
  if [ $rc -ge 128 ]; then bad "$name" "crashed with status $rc: $err"; continue; fi
  if [ $rc -ne 1 ]; then bad "$name" "exit status $rc, expected 1: $err"; continue; fi
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$lines" -ne 1 ]; then bad "$name" "expected one line, got $lines: $err"; continue; fi
  case "$err" in
    "hfscan: $f: "*) ;;
    *) bad "$name" "message does not start with the file name: $err"; continue ;;
  esac
  echo "$err" | grep -Eq "$pattern" || { bad "$name" "message lacks /$pattern/: $err"; continue; }
  pass=$((pass + 1))
done <"$dir/list.txt"
# a start point where the likelihood is not finite: the same one line for
# the commands other than fit and with --data asimov (made from that start),
# and --set moves the start to where it is
f=$dir/nonfinite_start.json
for cmd in "hypotest --mu 1" "ranking" "limit --calc toys --ntoys 2" "fit --data asimov:nuis=postfit"; do
  err=$("$HFSCAN" $cmd "$f" --quiet 2>&1 >/dev/null); rc=$?
  { [ $rc -eq 1 ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] &&
    echo "$err" | grep -q "^hfscan: $f: the likelihood is not finite at the start point"; } &&
    pass=$((pass + 1)) || bad "nonfinite_start ${cmd%% *}" "$rc: $err"
done
"$HFSCAN" fit "$f" --set jes=0 --json >/dev/null 2>&1 && pass=$((pass + 1)) ||
  bad nonfinite_start_set "--set jes=0 did not make the start finite"
# options that name a parameter the model does not have
err=$("$HFSCAN" fit "$dir/valid.json" --fix ghost=1 2>&1); rc=$?
{ [ $rc -eq 1 ] && echo "$err" | grep -q "ghost"; } && pass=$((pass + 1)) || bad fix_unknown "$rc: $err"
err=$("$HFSCAN" fit "$dir/valid.json" --fix mu=20 2>&1); rc=$?
{ [ $rc -eq 1 ] && echo "$err" | grep -q "outside"; } && pass=$((pass + 1)) || bad fix_outside "$rc: $err"
err=$("$HFSCAN" fit "$dir/valid.json" --measurement nope 2>&1); rc=$?
{ [ $rc -eq 1 ] && echo "$err" | grep -q "no measurement named 'nope'"; } && pass=$((pass + 1)) || bad measurement "$rc: $err"
err=$("$HFSCAN" fit "$dir/does-not-exist.json" 2>&1); rc=$?
{ [ $rc -eq 1 ] && echo "$err" | grep -q "does-not-exist.json"; } && pass=$((pass + 1)) || bad missing_file "$rc: $err"
err=$("$HFSCAN" fit "$dir/valid.json" --optimizer foo 2>&1); rc=$?
[ $rc -eq 2 ] && pass=$((pass + 1)) || bad usage "$rc: $err"
err=$("$HFSCAN" limit "$dir/valid.json" --limit-method newton 2>&1); rc=$?
{ [ $rc -eq 2 ] && echo "$err" | grep -q "expected secant or brent"; } && pass=$((pass + 1)) || bad limit_method "$rc: $err"
err=$("$HFSCAN" limit "$dir/valid.json" --limit-method brent --calc toys 2>&1); rc=$?
{ [ $rc -eq 2 ] && echo "$err" | grep -q "applies to asymptotic limits"; } && pass=$((pass + 1)) || bad limit_method_toys "$rc: $err"
# job files: unknown key, repeated key, missing task, a line without '='
jd=$(mktemp -d)
printf 'workspace = %s\ntask = fit\nntoy = 5\n' "$dir/valid.json" >"$jd/a.job"
printf 'workspace = %s\ntask = fit\ntask = limit\n' "$dir/valid.json" >"$jd/b.job"
printf 'workspace = %s\n' "$dir/valid.json" >"$jd/c.job"
printf 'workspace = %s\ntask fit\n' "$dir/valid.json" >"$jd/d.job"
printf 'workspace = %s\ntask = fit\n' "$dir/valid.json" >"$jd/ok.job"
for j in a:"a.job:3: unknown key 'ntoy'" b:"b.job:3: key 'task' given twice" c:"needs 'task'" d:"d.job:2: expected 'key = value'"; do
  f=${j%%:*}; want=${j#*:}
  err=$("$HFSCAN" run "$jd/$f.job" 2>&1); rc=$?
  { [ $rc -eq 2 ] && echo "$err" | grep -qF "$want"; } && pass=$((pass + 1)) || bad "job_$f" "$rc: $err"
done
"$HFSCAN" run "$jd/ok.job" --json >/dev/null 2>&1 && pass=$((pass + 1)) || bad job_ok "a valid job failed"
rm -rf "$jd"
echo "$pass passed, $failn failed"
[ $failn -eq 0 ]
