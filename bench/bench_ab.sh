#!/bin/bash
# Two builds' likelihood timings, run alternately so that both see the same
# machine: on a virtual machine whose speed moves over minutes, one run of
# each after the other compares the machine, not the code.
#   bash bench/bench_ab.sh WS.json PATCH|"" RUNS BUILD_A BUILD_B
# For each build: the minimum of the runs' minima and the median of their
# medians, of bench_likelihood's four figures (thread CPU time).
set -u
WS=$1 PATCH=$2 N=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$N"); do
  k=0
  for b in "$@"; do
    # shellcheck disable=SC2086
    "$b/bench/bench_likelihood" "$WS" 300 $PATCH | grep -E '^(twice|Hessian)' >> "$tmp/$k"
    k=$((k + 1))
  done
done
k=0
for b in "$@"; do
  echo "$b:"
  for f in "twice_nll    " "twice_nll +" "Hessian   " "Hessian blocks"; do
    min=$(grep -F "$f" "$tmp/$k" | sed 's/.*(min \([0-9.]*\).*/\1/' | sort -g | head -1)
    med=$(grep -F "$f" "$tmp/$k" | sed 's/^[^0-9]*\([0-9.]*\) us.*/\1/' | sort -g |
      awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    printf "  %-15s min %8s us   median of medians %8s us\n" "$f" "$min" "$med"
  done
  k=$((k + 1))
done
