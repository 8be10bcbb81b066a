# Shared by the fault tests: a scratch folder, failure and comparison
# helpers, and waiting for a first checkpoint.  Source after setting HFSCAN.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2> /dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
same() { h5diff -q --exclude-path /provenance "$1" "$2" || fail "$1 and $2 differ"; }
# A message must be one line on stderr.
one_line() { [ "$(grep -c . "$1")" -eq 1 ] || fail "expected one line in $1: $(cat "$1")"; }

# Toys per hypothesis: fewer in the sanitizer build.
if [ "${HFS_TEST_QUICK:-0}" = 1 ]; then NTOYS=${NTOYS_QUICK:-12}; else NTOYS=${NTOYS_FULL:-40}; fi

# wait_partial FILE: until FILE holds at least one committed toy.
wait_partial() {
  for _ in $(seq 1 1200); do
    if [ -f "$1" ] && "$HFSCAN" status "$1" 2> /dev/null | grep -qv " 0 of "; then return 0; fi
    sleep 0.05
  done
  return 1
}

# tmpfs FOLDER OPTIONS: mount a small tmpfs, or skip when not permitted.
tmpfs() {
  mkdir -p "$1"
  mount -t tmpfs -o "$2" tmpfs "$1" 2> /dev/null || skip "cannot mount a tmpfs here (needs root)"
  mounts+=("$PWD/$1")
}
