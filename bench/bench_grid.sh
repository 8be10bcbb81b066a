#!/bin/bash
# The full ATLAS 1Lbb signal grid (125 points of a pyhf patchset) on N MPI
# ranks: CLs at mu_SIG = 1 with the expected band for every point, then the
# same with the 95% CL upper limits and their bands.
#
#   bench/bench_grid.sh [BUILD_DIR] [RANKS]
#
# BUILD_DIR is a Release build (default: build), RANKS the MPI ranks
# (default 2).  Reported per run: the wall time of the whole command (mpiexec
# start, reading, every point, writing the HDF5 file), the CPU time of all
# processes (user + system, from /usr/bin/time), and the sum of the points'
# own times (/provenance/grid_time_s) with the slowest point, and the points
# whose test or limit failed.  The limits need the POI far above the
# published bound of 5 for the weakest points (the expected limits of
# 500_350 and 535_400 lie above 20): --bounds mu_SIG=0:200.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$HERE/build}
NP=${2:-2}
HFSCAN=$BUILD/hfscan
[ -x "$HFSCAN" ] || { echo "bench_grid: no $HFSCAN (build it first)" >&2; exit 2; }
D=${HFS_SHARED_DIR:-$HERE/../shared}/workspaces/atlas_1Lbb_ins1755298
[ -f "$D/BkgOnly.json" ] || { echo "bench_grid: $D absent" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
run() { # NAME ARGS...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$TMP/$name.time" \
    mpiexec -n "$NP" --oversubscribe "$HFSCAN" grid "$D/BkgOnly.json" "$D/patchset.json.gz" \
    --quiet -o "$TMP/$name.h5" "$@" 2>"$TMP/$name.err" || [ $? -eq 4 ]
  # /usr/bin/time puts "Command exited with non-zero status 4" first
  read -r wall user sys < <(tail -n 1 "$TMP/$name.time")
  /usr/bin/python3 - "$TMP/$name.h5" "$name" "$wall" "$user" "$sys" "$NP" <<'PYEOF'
import sys
import h5py
f = h5py.File(sys.argv[1], "r")
t = f["provenance/grid_time_s"][()]
st = f["grid/points/status"][()]
ls = f["grid/points/limit_status"][()]
name, wall, user, sysc, np_ = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
print("%-12s %d points on %s ranks: wall %.1f s, CPU %.1f s, points %.1f s summed "
      "(slowest %.1f s); CLs status ok %d; limit status ok %d"
      % (name, len(t), np_, wall, user + sysc, t.sum(), t.max(), (st == 0).sum(), (ls == 0).sum()))
g = f["grid/points"]
for i in range(len(t)):
    if st[i] != 0 or (ls[i] != 0 and ls[i] != 3):
        print("   %s: status %d, limit status %d: %s"
              % (g["name"][i].decode(), st[i], ls[i], g["message"][i].decode()))
PYEOF
}
uptime
run cls
run cls+limits --limit --bounds mu_SIG=0:200
