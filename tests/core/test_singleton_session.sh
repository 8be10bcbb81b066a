#!/bin/bash
# hfscan started without mpirun (an isolated Open MPI singleton) uses a
# session directory of its own: every isolated singleton takes the same job
# name, so a shared directory let one run's clean-up fail another's start-up
# ("File exists" in MPI_Init) when several ran at once on a node.  Here the
# shared path is blocked by a plain file: a run that used it would fail.
# The run's own directory is gone after it exits.
# Usage: test_singleton_session.sh HFSCAN WORKSPACE OUT_DIR
set -u
hfscan=$1 ws=$2 out=$3
rm -rf "$out" && mkdir -p "$out" || exit 1
fail=0
top=$out/ompi.$(hostname).$(id -u)
mkdir -p "$top" && : >"$top/jf.0"
TMPDIR=$out "$hfscan" fit "$ws" --quiet >"$out/fit.txt" 2>"$out/fit.err"
rc=$?
if [ $rc -ne 0 ]; then echo "FAIL: exit $rc with the shared session path blocked"; cat "$out/fit.err"; fail=1; fi
left=$(find "$out" -maxdepth 1 -name 'hfscan-ompi.*' | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left session directories left behind"; fail=1; }
# Many at once: none may fail at start-up.
for i in $(seq 8); do
  (TMPDIR=$out "$hfscan" fit "$ws" --quiet >/dev/null 2>"$out/par$i.err" || echo "$i" >>"$out/failed") &
done
wait
if [ -s "$out/failed" ]; then echo "FAIL: concurrent runs failed: $(cat "$out/failed")"; cat "$out"/par*.err; fail=1; fi
[ $fail -eq 0 ] && echo "all passed"
exit $fail
