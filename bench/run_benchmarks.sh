#!/bin/bash
# Every benchmark behind docs/performance.md, in one command:
#   bash bench/run_benchmarks.sh [BUILD_DIR] > bench.log
# Needs a Release build (cmake -DCMAKE_BUILD_TYPE=Release) and ../shared for
# the Belle II likelihood (skipped without it).  Takes a few minutes; the
# numbers depend on the machine and on what else runs on it.
set -u
B=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
H=$B/hfscan
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DEF=$SRC/inputs/belle2_like.json
BELLE=$SRC/../shared/workspaces/belle2_knunu_2023/combined_likelihood.json
ws=("$DEF")
[ -f "$BELLE" ] && ws+=("$BELLE")
echo "# hfscan benchmarks $(date -u +%FT%TZ) on $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## likelihood"
for w in "${ws[@]}"; do "$B/bench/bench_likelihood" "$w" 2000; done
# The published likelihoods of issue 15, each with one signal point.
W=$SRC/../shared/workspaces
if [ -d "$W" ]; then
  lt=$(mktemp -d)
  "$B/bench/gen_nextstat_model" > "$lt/nextstat.json"
  "$B/bench/bench_likelihood" "$lt/nextstat.json" 2000
  "$B/bench/bench_likelihood" "$W/atlas_ewk3l_erjr/BkgOnly.json" 2000 \
    "$W/atlas_ewk3l_erjr/patches/patch.ERJR_100p0_20p0.json.gz"
  "$B/bench/bench_likelihood" "$W/atlas_sbottom_multib_ins1748602/RegionA/BkgOnly.json" 2000 \
    "$W/atlas_sbottom_multib_ins1748602/RegionA/patch.sbottom_1300_205_60.json.gz"
  python3 -c 'import gzip, json, sys
ps = json.load(gzip.open(sys.argv[1]))
json.dump([p for p in ps["patches"] if p["metadata"]["name"] == "C1N2_Wh_hbb_700_150"][0]["patch"],
          open(sys.argv[2], "w"))' "$W/atlas_1Lbb_ins1755298/patchset.json.gz" "$lt/1Lbb.patch.json"
  "$B/bench/bench_likelihood" "$W/atlas_1Lbb_ins1755298/BkgOnly.json" 200 "$lt/1Lbb.patch.json"
  rm -rf "$lt"
fi

echo "## fits (median of 300, with Hessian and covariance)"
for w in "${ws[@]}"; do "$B/bench/bench_fit" "$w" 300 tao-bntl nlopt-tnewton; done

echo "## hypotest and limit (asymptotic, one core)"
for w in "${ws[@]}"; do "$B/bench/bench_infer" "$w" 9 0.90; done

toys() { # ranks workspace ntoys [extra...]
  local np=$1 w=$2 n=$3
  shift 3
  mpirun -np "$np" --oversubscribe "$H" hypotest "$w" --mu 2 --calc toys --ntoys "$n" --seed 1 "$@" \
    2>&1 >/dev/null | grep "units/s" | sed "s|^|  np=$np $(basename "$w"): |"
}
echo "## toys (each toy = generation + free fit + conditional fit); units = toys"
for w in "${ws[@]}"; do
  toys 1 "$w" 1000
  toys 2 "$w" 1000
done

# Issues 14 and 15: the five likelihoods (one signal point each), thread CPU
# time; toys through the command line at mu = 1, CPU time of all ranks.
if [ -d "$W" ]; then
  lt=$(mktemp -d)
  "$B/bench/gen_nextstat_model" > "$lt/nextstat.json"
  names=(belle2 nextstat 3L_eRJR sbottom_A 1Lbb)
  files=("$BELLE" "$lt/nextstat.json" "$W/atlas_ewk3l_erjr/BkgOnly.json"
         "$W/atlas_sbottom_multib_ins1748602/RegionA/BkgOnly.json" "$W/atlas_1Lbb_ins1755298/BkgOnly.json")
  patches=("" "" "--patch $W/atlas_ewk3l_erjr/patches/patch.ERJR_100p0_20p0.json.gz"
           "--patch $W/atlas_sbottom_multib_ins1748602/RegionA/patch.sbottom_1300_205_60.json.gz"
           "--patch $W/atlas_1Lbb_ins1755298/patchset.json.gz:C1N2_Wh_hbb_700_150")
  for k in 0 1 2 3 4; do
    echo "## ${names[$k]}: fits per backend, hypotest, 95% CL limit (thread CPU time)"
    # shellcheck disable=SC2086
    "$B/bench/bench_fit" "${files[$k]}" ${patches[$k]} 30 newton tao-bntl nlopt-tnewton
    # shellcheck disable=SC2086
    "$B/bench/bench_infer" "${files[$k]}" ${patches[$k]} 3 0.95
  done
  for w in "$BELLE" "$DEF" "$lt/nextstat.json"; do
    echo "## newton pieces and toys: $(basename "$w")"
    "$B/bench/bench_newton" "$w" 300 | grep -v tao
  done
  n=1000
  for w in "$BELLE" "$DEF" "$lt/nextstat.json"; do
    case $w in *nextstat*) n=10000 ;; esac
    for np in 1 2; do
      echo "  np=$np $(basename "$w") --ntoys $n (2 x $n toys): $( { /usr/bin/time -f '%U s user %S s sys %e s wall' \
        mpirun -np "$np" --oversubscribe "$H" hypotest "$w" --mu 1 --calc toys --ntoys "$n" --seed 1 \
        --quiet > /dev/null; } 2>&1 | tail -1), load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
  rm -rf "$lt"
fi

echo "## checkpoint cost (default input, 1 rank, 2000 toys): without -o, then committing every 1 s"
tmp=$(mktemp -d)
toys 1 "$DEF" 1000
toys 1 "$DEF" 1000 -o "$tmp/ck.h5" --checkpoint-interval 1
ls -l "$tmp/ck.h5" | awk '{print "  toy file size", $5, "bytes"}'
"$B/bench/bench_toyfile" "$tmp/big.h5" 20 10000
rm -rf "$tmp"

echo "## scheduler: master overhead (units that do nothing) and efficiency (1 ms units)"
mpirun -np 2 "$B/bench/bench_sched" --unit noop 2>&1 | tail -3
for np in 1 2; do mpirun -np $np "$B/bench/bench_sched" --unit spin --unit-us 1000 --units 2000 2>&1 | tail -2; done

if [ -x "$SRC/bench/bench_ranking.sh" ] || [ -f "$SRC/bench/bench_ranking.sh" ]; then
  echo "## ranking"
  bash "$SRC/bench/bench_ranking.sh" "$B" 2>&1 | tail -12
fi

echo "## global-minimum search on Belle II (--robust observed against off)"
bash "$SRC/bench/bench_robust.sh" "$B" 5 2>&1
