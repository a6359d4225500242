#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes each for a bounded time: the GGUF reader
# (fuzz_gguf) and the IR text parser with its print -> parse -> print round trip (fuzz_ir).
#
#   bash scripts/fuzz.sh [SECONDS]      (per target; default 60)
#
# Seeds: for fuzz_gguf they are generated first (tests/fuzz/make_seeds.c: synthetic files plus
# shrunken copies and 4 KiB prefixes of the vocabulary files), so nothing large is committed; for
# fuzz_ir they are the committed .cir tests (tests/ir, tests/ir/errors, tests/passes), and
# tests/fuzz/ir.dict gives it the keywords and op names. New inputs the fuzzers find accumulate in
# $BUILD/corpus and $BUILD/corpus-ir. Both targets run even when the first fails; a crashing input
# is saved in $BUILD/artifacts/ or $BUILD/artifacts-ir/, its path is printed and the script exits
# non-zero.
#
# Environment: CHORD_FUZZ_CC (default clang-19), CHORD_FUZZ_BUILD (default build-fuzz),
# CHORD_TEST_DATA (default ../shared/testdata, for the vocabulary seeds).
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cc=${CHORD_FUZZ_CC:-clang-19}
build=${CHORD_FUZZ_BUILD:-$root/build-fuzz}
data=${CHORD_TEST_DATA:-$root/../shared/testdata}

if ! command -v "$cc" >/dev/null; then
  echo "fuzz.sh: $cc not found (install clang-19 and libclang-rt-19-dev)" >&2
  exit 2
fi

generator=()
if command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S "$root/tests/fuzz" -B "$build" "${generator[@]}" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds"
if [ -d "$data/vocab" ]; then
  "$build/fuzz_gguf_seeds" "$seeds" "$data/vocab"
else
  echo "fuzz.sh: $data/vocab not found; synthetic seeds only" >&2
  "$build/fuzz_gguf_seeds" "$seeds"
fi

seeds_ir=$build/seeds-ir
rm -rf "$seeds_ir"
mkdir -p "$seeds_ir"
cp "$root"/tests/ir/*.cir "$root"/tests/ir/errors/*.cir "$root"/tests/passes/*.cir \
  "$root"/tests/fuzz/regressions/*.cir "$seeds_ir/"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_fuzzer NAME CORPUS ARTIFACTS SEEDS FLAGS...: fuzzes for $seconds; libFuzzer exits non-zero on
# a crash, a leak, a timeout or running out of memory, and names the input it saved in its log.
failed=()
run_fuzzer() {
  local name=$1 corpus=$2 artifacts=$3 seed_dir=$4
  shift 4
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz.sh: $name for ${seconds}s"
  local log=$build/$name.log rc=0
  "$build/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" "$corpus" "$seed_dir" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    local input
    input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
    echo "fuzz.sh: $name failed (exit $rc); the input is ${input:-in $artifacts/} (log: $log)" >&2
    failed+=("$name")
  fi
}

# -max_len: the GGUF seeds are at most 4 KiB; 64 KiB leaves room for the fuzzer to grow arrays
# and tensor data. The IR seeds are at most 3 KiB; 16 KiB allows names past the printer's buffers
# and hundreds of statements while keeping each run well under a millisecond.
run_fuzzer fuzz_gguf "$build/corpus" "$build/artifacts" "$seeds" -max_len=65536
run_fuzzer fuzz_ir "$build/corpus-ir" "$build/artifacts-ir" "$seeds_ir" -max_len=16384 \
  -dict="$root/tests/fuzz/ir.dict"

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${seconds}s per target (fuzz_gguf, fuzz_ir)"
