#!/usr/bin/env bash
# Sets up a machine, builds chord and runs the main job on the default model: a description of
# the model, then text generated from a prompt. Extra arguments go to `chord run` (e.g. -p TEXT,
# -n N, --temp T, --chat); without them it continues a fixed prompt greedily for 32 tokens.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja > /dev/null
ninja -C build chord
./build/chord info
echo
if [ "$#" -eq 0 ]; then
  set -- -p "The three most important inventions of the twentieth century are" -n 32 --temp 0
fi
./build/chord run "$@"
