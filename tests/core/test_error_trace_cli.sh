#!/bin/bash
# A bad workspace gives one line naming the file, the JSON path and the
# problem; with HFS_ERROR_TRACE=1 a second line says where in the code it
# arose (origin first, then each caller that passed it on).
# Usage: test_error_trace_cli.sh HFSCAN OUT_DIR
set -u
hfscan=$1 out=$2
mkdir -p "$out"
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
ws=$out/bad_name.json
printf '%s\n' '{"channels": [{"name": 7, "samples": []}], "observations": [], "measurements": [], "version": "1.0.0"}' >"$ws"

"$hfscan" fit "$ws" >/dev/null 2>"$out/plain.err"
rc=$?
cat "$out/plain.err"
check "[ $rc -eq 1 ]" "exit status $rc, expected 1"
check "[ \$(wc -l <'$out/plain.err') -eq 1 ]" "one line without the trace"
check "grep -q 'bad_name.json: channels\[0\].name' '$out/plain.err'" "file and JSON path named"

HFS_ERROR_TRACE=1 "$hfscan" fit "$ws" >/dev/null 2>"$out/trace.err"
cat "$out/trace.err"
check "[ \$(wc -l <'$out/trace.err') -eq 2 ]" "two lines with the trace"
check "head -1 '$out/trace.err' | cmp -s - '$out/plain.err'" "first line unchanged"
check "sed -n 2p '$out/trace.err' | grep -Eq '^hfscan: trace: workspace/[a-z_]+\.c:[0-9]+ <- '" \
      "trace names the reader's source line first"
exit $fail
