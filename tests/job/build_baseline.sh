#!/bin/bash
# Builds hfscan as it was at a recorded commit (the last one before the job
# layer) into DIR, once: later runs reuse it.  Exit 77 (skip) when the
# source is not a git checkout holding that commit.
#   build_baseline.sh SOURCE_DIR COMMIT DIR
SRC=$1 COMMIT=$2 DIR=$3
if [ -x "$DIR/build/hfscan" ] && [ "$(cat "$DIR/commit" 2>/dev/null)" = "$COMMIT+model" ]; then
  echo "baseline hfscan $COMMIT already built in $DIR"
  exit 0
fi
git -C "$SRC" cat-file -e "$COMMIT^{commit}" 2>/dev/null \
  || { echo "skip: $SRC is not a git checkout holding $COMMIT"; exit 77; }
rm -rf "$DIR" && mkdir -p "$DIR/src" || exit 1
git -C "$SRC" archive "$COMMIT" | tar -x -C "$DIR/src" || exit 1
# The comparison is of the orchestration, not of the arithmetic: the model
# evaluation rewritten since (issue 15, equal to the old one to 1e-13,
# tests/model/test_model_compiled.c) is put into the baseline too, so that
# both binaries follow the same optimizer path bit for bit.
rm -rf "$DIR/src/src/model" && cp -r "$SRC/src/model" "$DIR/src/src/model" || exit 1
# ... with the core header it takes its two-lane types from
cp "$SRC/src/core/hfs_lanes.h" "$DIR/src/src/core/" || exit 1
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release > "$DIR/configure.log" 2>&1 \
  || { cat "$DIR/configure.log"; exit 1; }
nice cmake --build "$DIR/build" -j2 --target hfscan > "$DIR/build.log" 2>&1 \
  || { tail -30 "$DIR/build.log"; exit 1; }
echo "$COMMIT+model" > "$DIR/commit"
echo "baseline hfscan $COMMIT built in $DIR"
