#!/usr/bin/env bash
# Sets up a machine, builds chord and runs the main job on the default model. Extra arguments go
# to `chord info` (e.g. --tensors or --json).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja > /dev/null
ninja -C build chord
./build/chord info "$@"
