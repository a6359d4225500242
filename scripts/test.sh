#!/usr/bin/env bash
# Sets up a machine and runs every test: the build with -Werror, the clang-format check, the whole
# suite, the suite again under AddressSanitizer+UndefinedBehaviorSanitizer, and the fuzzers (GGUF
# reader, IR parser) for a bounded time. Prints one pass/fail summary line at the end. .ci/run calls
# this.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
jobs=$(nproc)

bash scripts/setup.sh

passed=0
failed=0
# run_suite NAME BUILD_DIR CMAKE_ARGS...: configure, build and run ctest; adds to the totals.
run_suite() {
  local name=$1 dir=$2
  shift 2
  echo "== $name: configure and build ($dir)"
  cmake -S . -B "$dir" -G Ninja -DCHORD_WERROR=ON "$@" > "$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  ninja -C "$dir" -j "$jobs"
  echo "== $name: tests"
  local log="$dir/ctest.log" rc=0
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" 2>&1 | tee "$log" || rc=1
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "$name: no ctest summary"
    failed=$((failed + 1))
    return 1
  fi
  local f t
  f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<< "$line")
  t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<< "$line")
  passed=$((passed + t - f))
  failed=$((failed + f))
  return $rc
}

status=0
echo "== clang-format check"
if git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror; then
  passed=$((passed + 1))
else
  echo "clang-format: files above are not formatted (run: git ls-files '*.c' '*.h' | xargs clang-format -i)"
  failed=$((failed + 1))
  status=1
fi

run_suite "release" build-ci || status=1
run_suite "asan+ubsan" build-ci-asan -DCMAKE_BUILD_TYPE=Debug -DCHORD_SANITIZE=ON || status=1

# One check: scripts/fuzz.sh runs both targets and fails if either does.
echo "== fuzzers: fuzz_gguf and fuzz_ir (60 s each)"
if bash scripts/fuzz.sh 60; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  status=1
fi

echo "total: $passed passed, $failed failed"
exit $status
