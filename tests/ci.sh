#!/bin/bash
# The whole test suite, as CI and the README's test command run it: a Release
# build with every test (unit, reference agreement, MPI at 1/2/4 ranks, real
# Slurm), then a Debug build with AddressSanitizer and UBSan running the unit,
# reference, bad-input and command-line tests.  Valgrind runs are part of the Release ctest (label
# valgrind).  Exit status: non-zero if any test failed.
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DHFS_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHFS_WERROR=ON
cmake --build build-asan -j"$jobs"
# LeakSanitizer reports Open MPI's and PETSc's one-time allocations at exit;
# the suppressions name only those libraries.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
# Multi-process end-to-end runs (label heavy) are the Release build's; here
# every test that runs the library in one or a few processes, with fewer toys.
export HFS_TEST_QUICK=1
ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE "slurm|valgrind|heavy"
