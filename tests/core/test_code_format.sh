#!/bin/bash
# The C sources follow .clang-format (docs/architecture.md, "Layout"): a
# file that clang-format would change is listed with the first differing
# lines, so the fix is `clang-format -i FILE`.
# Usage: test_code_format.sh CLANG_FORMAT SOURCE_DIR
set -u
cf=$1 src=$2
cd "$src" || exit 1
fail=0 n=0
while IFS= read -r f; do
  n=$((n + 1))
  if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
    echo "not formatted: $f"
    "$cf" --style=file "$f" | diff "$f" - | head -8
    fail=1
  fi
done < <(find src tests bench tools -name '*.[ch]' | sort)
echo "$n files checked"
exit $fail
