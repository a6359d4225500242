#!/usr/bin/env bash
# Installs the heavy references that only regenerate committed test data or run benchmarks:
# llama.cpp through the llama-cpp-python package (which compiles llama.cpp: many minutes on 2 cores).
# Ordinary test runs do not need it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
if python3 -c 'import llama_cpp' 2> /dev/null; then
  echo "setup-reference: llama-cpp-python already installed"
  exit 0
fi
echo "setup-reference: building llama-cpp-python (llama.cpp) from source; this takes a while"
flags=(--disable-pip-version-check --root-user-action=ignore)
if [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  flags+=(--break-system-packages)
fi
CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
  python3 -m pip install "${flags[@]}" -r "$here/scripts/requirements-reference.txt"
