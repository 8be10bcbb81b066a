#!/bin/bash
# hfscan patchset list|extract|apply|verify and --patch PATCHSET.json:NAME on
# a small patchset made here for tests/badinput/cases/valid.json; then one
# clear line (exit 1) for each bad patchset input: digest mismatch, a patch
# path that does not exist, a patch leaving an invalid workspace, an empty
# patchset, duplicate patch names.  Usage: test_patchset_cli.sh HFSCAN DIR
set -u
HFSCAN=$1 DIR=$2
WS=$(cd "$(dirname "$0")/../badinput/cases" && pwd)/valid.json
mkdir -p "$DIR"
fail() { echo "FAIL: $*"; exit 1; }
patchset() { # DIGEST PATCHES... -> stdout
  local d=$1; shift
  local IFS=,
  printf '{"version": "1.0.0", "metadata": {"description": "cli test", "references": {"hepdata": "ins1234567"}, "digests": {"sha256": "%s"}, "labels": ["m1", "m2"]}, "patches": [%s]}\n' "$d" "$*"
}
sig='{"op": "add", "path": "/channels/0/samples/-", "value": {"name": "sig2", "data": [%s], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]}}'
p() { printf '{"metadata": {"name": "%s", "values": [%s]}, "patch": [%s]}' "$1" "$2" "$3"; }
good1=$(p pt_100_0 "100, 0" "$(printf "$sig" "1.0, 2.0")")
good2=$(p pt_200_50 "200, 50" "$(printf "$sig" "0.5, 0.25")")
zero=0000000000000000000000000000000000000000000000000000000000000000

# The workspace's digest, from the mismatch message (which must give both).
patchset $zero "$good1" "$good2" >"$DIR/wrong.json"
err=$("$HFSCAN" patchset verify "$WS" "$DIR/wrong.json" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "verify of a wrong digest: exit $rc: $err"
[ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || fail "verify: not one line: $err"
echo "$err" | grep -q "digest $zero, but .*valid.json has [0-9a-f]\{64\}" || fail "verify message: $err"
digest=$(echo "$err" | sed -n 's/.* has \([0-9a-f]\{64\}\).*/\1/p')
patchset "$digest" "$good1" "$good2" >"$DIR/ps.json"
"$HFSCAN" patchset verify "$WS" "$DIR/ps.json" | grep -q "matches" || fail "verify of the right digest"

out=$("$HFSCAN" patchset list "$DIR/ps.json") || fail "list: $out"
echo "$out" | grep -Eq '^pt_200_50 +200 +50$' || fail "list: $out"
out=$("$HFSCAN" patchset list "$DIR/ps.json" --json) || fail "list --json"
echo "$out" | grep -q '"labels": \["m1", "m2"\], "patches": \[{"name": "pt_100_0", "values": \[100, 0\]}' || fail "list --json: $out"
"$HFSCAN" patchset extract "$DIR/ps.json" pt_200_50 -o "$DIR/one.json" || fail extract
"$HFSCAN" patchset apply "$WS" "$DIR/ps.json" pt_200_50 -o "$DIR/sig.json" || fail apply
# The three ways to the same signal workspace give the same fit.
a=$("$HFSCAN" fit "$DIR/sig.json" --brief | grep -E '^(status|twice_nll|mu )') || fail "fit of the applied workspace"
b=$("$HFSCAN" fit "$WS" --patch "$DIR/one.json" --brief | grep -E '^(status|twice_nll|mu )') || fail "fit with the extracted patch"
c=$("$HFSCAN" fit "$WS" --patch "$DIR/ps.json:pt_200_50" --brief | grep -E '^(status|twice_nll|mu )') || fail "fit with PATCHSET:NAME"
[ "$a" = "$b" ] && [ "$a" = "$c" ] || fail "different fits: '$a' '$b' '$c'"

one_line() { # NAME PATTERN COMMAND...
  local name=$1 pattern=$2; shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] || fail "$name: exit $rc, expected 1: $err"
  [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || fail "$name: not one line: $err"
  echo "$err" | grep -Eq -e "$pattern" || fail "$name: message lacks /$pattern/: $err"
}
one_line digest_mismatch "wrong.json: the patchset was made for a workspace of sha256 digest $zero, but .* has $digest" \
  "$HFSCAN" fit "$WS" --patch "$DIR/wrong.json:pt_100_0"
"$HFSCAN" fit "$WS" --patch "$DIR/wrong.json:pt_100_0" --no-digest-check --brief >/dev/null \
  || fail "--no-digest-check did not override"
patchset "$digest" "$(p gone "1, 1" '{"op": "remove", "path": "/channels/5"}')" >"$DIR/gone.json"
one_line missing_path "gone.json:gone: \[0\] \(op remove, path /channels/5\): path does not exist" \
  "$HFSCAN" patchset apply "$WS" "$DIR/gone.json" gone
patchset "$digest" "$(p three "1, 1" "$(printf "$sig" "1, 2, 3")")" >"$DIR/three.json"
one_line invalid_workspace "three.json:three: channels\[0\].samples\[[0-9]+\].*3" \
  "$HFSCAN" fit "$WS" --patch "$DIR/three.json:three"
one_line invalid_workspace_apply "three.json:three: channels\[0\]" \
  "$HFSCAN" patchset apply "$WS" "$DIR/three.json" three
patchset "$digest" >"$DIR/empty.json"
one_line empty "empty.json: patches: empty patchset" "$HFSCAN" patchset list "$DIR/empty.json"
patchset "$digest" "$good1" "$(p pt_100_0 "3, 4" "$(printf "$sig" "1, 2")")" >"$DIR/dup.json"
one_line duplicate "dup.json: patches\[1\].metadata: duplicate patch name 'pt_100_0' \(also patches\[0\]\)" \
  "$HFSCAN" patchset list "$DIR/dup.json"
one_line unknown_patch "ps.json: no patch named 'nope'" "$HFSCAN" fit "$WS" --patch "$DIR/ps.json:nope"
echo "PASS"
