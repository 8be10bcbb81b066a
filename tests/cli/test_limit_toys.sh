#!/bin/bash
# A toy limit at 2 ranks for the Brazil-plot test (cli_plot_brazil_toys):
# 40 toys per hypothesis at 5 points, 12 at 3 in the sanitizer build
# (HFS_TEST_QUICK=1), where the same run is 3-10 times slower.
# Usage: test_limit_toys.sh MPIEXEC HFSCAN WORKSPACE OUT.h5
set -eu
if [ "${HFS_TEST_QUICK:-0}" = 1 ]; then size=(--ntoys 12 --scan 1:9:3); else size=(--ntoys 40 --scan 1:9:5); fi
exec "$1" -n 2 --oversubscribe "$2" limit "$3" --cl 0.9 --calc toys "${size[@]}" --quiet \
  --overwrite -o "$4"
