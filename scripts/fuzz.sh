#!/usr/bin/env bash
# Builds the GGUF reader's libFuzzer target with clang and fuzzes it for a bounded time.
#
#   bash scripts/fuzz.sh [SECONDS]      (default 60)
#
# The seed corpus is generated first (tests/fuzz/make_seeds.c: synthetic files plus shrunken
# copies and 4 KiB prefixes of the vocabulary files), so nothing large is committed. New inputs
# the fuzzer finds accumulate in $BUILD/corpus; a crashing input is saved in $BUILD/artifacts/
# and the script exits non-zero.
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
mkdir -p "$seeds" "$build/corpus" "$build/artifacts"
if [ -d "$data/vocab" ]; then
  "$build/fuzz_gguf_seeds" "$seeds" "$data/vocab"
else
  echo "fuzz.sh: $data/vocab not found; synthetic seeds only" >&2
  "$build/fuzz_gguf_seeds" "$seeds"
fi

# -max_len: the seeds are at most 4 KiB; 64 KiB leaves room for the fuzzer to grow arrays and
# tensor data. libFuzzer exits non-zero on a crash, a leak, a timeout or running out of memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
"$build/fuzz_gguf" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$build/corpus" "$seeds" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: the fuzzer failed (exit $status); the input is in $build/artifacts/" >&2
  ls -l "$build/artifacts/" >&2 || true
  exit "$status"
fi
echo "fuzz.sh: no crash in ${seconds}s"
