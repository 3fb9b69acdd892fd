#!/usr/bin/env bash
# Installs what wisp's build, examples and tests need on Debian 12 (idempotent, quiet when
# everything is there), and with --cross what the cross builds need. Run as root or with sudo
# available.
set -euo pipefail

packages=(
  g++ clang meson ninja-build pkg-config python3   # toolchain (clang: second compiler, fuzzing)
  libasio-dev node-llhttp doctest-dev             # wisp's three dependencies
  zlib1g-dev                                      # optional permessage-deflate (WISP_DEFLATE)
  nlohmann-json3-dev                              # optional JSON helpers (tests, examples/chat)
  libssl-dev openssl                              # optional TLS (WISP_TLS); openssl makes the test certificates
  python3-websockets curl                         # independent clients in the integration tests
  chromium                                        # the browser test of examples/chat (playwright-core)
)
# With --cross (tools/test.sh): the cross builds' toolchains and emulators.
if [ "${1:-}" = "--cross" ]; then
  packages+=(
    g++-mingw-w64-x86-64-posix wine64               # Windows cross build, its tests under Wine
    g++-aarch64-linux-gnu g++-arm-linux-gnueabihf   # ARM cross builds (64-bit, and a 32-bit size_t)
    qemu-user-static                                # their tests under qemu-user
  )
fi

# Node.js runs the npm clients of the integration tests; any recent node will do.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

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

# The pinned npm clients (tests/node/package-lock.json), installed once per lock change.
here="$(cd "$(dirname "$0")/.." && pwd)"
lock="$here/tests/node/package-lock.json"
stamp="$here/tests/node/node_modules/.wisp-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
  echo "install-deps: npm ci in tests/node" >&2
  (cd "$here/tests/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$lock" "$stamp"
fi
