#!/bin/bash
# A single process (no mpirun, srun or Slurm step) starts Open MPI as an
# isolated singleton: it forks no orted and loads none of the network
# point-to-point layers (UCX, libfabric, PSM), whose probing cost every
# command 0.2 s of wall time; under mpiexec the launcher's choice stands.
# Usage: test_singleton_startup.sh HFSCAN WORKSPACE OUT_DIR
set -u
hfscan=$1 ws=$2 out=$3
command -v strace > /dev/null || { echo "skip: strace is not installed"; exit 77; }
mkdir -p "$out"
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
unset OMPI_COMM_WORLD_SIZE PMIX_RANK PMI_RANK OMPI_MCA_pml
# LeakSanitizer cannot run under ptrace (the sanitizer build's hfscan would
# stop with a fatal error at exit); the sanitizer suite checks leaks elsewhere.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
strace -f -qq -e trace=execve,openat -o "$out/singleton.strace" \
  "$hfscan" fit "$ws" > "$out/singleton.txt" 2>&1
rc=$?
check "[ $rc -eq 0 ]" "fit exit $rc: $(tail -3 "$out/singleton.txt")"
check "grep -q '^status      converged' '$out/singleton.txt'" "fit converged"
check "! grep -q 'execve(\"[^\"]*orted' '$out/singleton.strace'" "an orted was started"
opened=$(grep -v ENOENT "$out/singleton.strace" | grep -oE 'mca_(pml_(ucx|cm)|mtl_[a-z0-9]+)\.so' | sort -u)
check "[ -z \"$opened\" ]" "network layers loaded: $(echo $opened)"
# The count of execve calls: hfscan itself only.
n=$(grep -c 'execve(' "$out/singleton.strace")
check "[ $n -eq 1 ]" "$n programs executed, expected 1"
[ $fail -eq 0 ] && echo "ok: singleton start-up"
exit $fail
