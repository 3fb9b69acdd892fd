#!/usr/bin/env bash
# Builds an example and starts it: tools/serve.sh [EXAMPLE] [ARGS...]  (default: chat --port 3000).
# Installs only what that needs first (a compiler, meson, Asio, llhttp, nlohmann/json: no test
# tools, no browser, no npm); the build lives in build/serve (examples only).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh serve
example="${1:-chat}"
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --port 3000
if [ ! -d build/serve/meson-private ]; then
  CXX=g++ CC=gcc meson setup build/serve -Dtests=false -Dbench=false -Dfuzz=false >/dev/null
fi
ninja -C build/serve "examples/$example" >&2
exec "build/serve/examples/$example" "$@"
