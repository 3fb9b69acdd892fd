#!/usr/bin/env bash
# Builds an example and starts it: tools/serve.sh [EXAMPLE] [ARGS...]  (default: chat --port 3000).
# Installs missing Debian packages first; the build lives in build/gcc.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
example="${1:-chat}"
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --port 3000
if [ ! -d build/gcc/meson-private ]; then CXX=g++ CC=gcc meson setup build/gcc >/dev/null; fi
ninja -C build/gcc "examples/$example" >&2
exec "build/gcc/examples/$example" "$@"
