#!/usr/bin/env bash
# Installs what wisp's build, examples and tests need on Debian 12 (idempotent, quiet when
# everything is there). Run as root or with sudo available.
set -euo pipefail

packages=(
  g++ clang meson ninja-build pkg-config python3   # toolchain (clang: second compiler, fuzzing)
  libasio-dev node-llhttp doctest-dev             # wisp's three dependencies
  python3-websockets curl                         # independent clients in the integration tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
