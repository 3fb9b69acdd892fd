#!/usr/bin/env bash
# The shared kit's anchor matrix with wisp in it (bench/README.md has the latest table).
#
#   bash bench/anchors.sh                                   # raw, beast, node-crossws, wisp: 3 rounds
#   bash bench/anchors.sh --workloads 'echo 1 KiB' --rounds 5 --no-memory   # any anchors.py option
#
# ../shared/bench is read-only and its anchors.sh builds in place, so this copies the kit to
# build/kit (git-ignored; never into the sources) and runs it from there. wisp's anchor is built
# in build/rel (meson buildtype=release; anchor itself is -O2 -DNDEBUG). Needs what the kit
# needs: libboost-dev, wrk, node + npm (the seed's pinned packages), taskset.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit_src="${WISP_BENCH_KIT:-$root/../shared/bench}"
kit="$root/build/kit"
[ -f "$kit_src/anchors.py" ] || { echo "bench/anchors.sh: no kit at $kit_src (set WISP_BENCH_KIT)" >&2; exit 1; }
if [ ! -f "$kit/anchors.py" ] || ! diff -q "$kit_src/anchors.py" "$kit/anchors.py" >/dev/null; then
  rm -rf "$kit"
  cp -r "$kit_src" "$kit"
  chmod -R u+w "$kit"
fi
if [ ! -d "$root/build/rel" ]; then
  meson setup "$root/build/rel" --buildtype=release -Dtests=false -Dexamples=false \
    -Dcompile_checks=false -Djson=disabled >/dev/null
fi
ninja -C "$root/build/rel" bench/anchor bench/liballoc_count.so >/dev/null
servers="raw,beast,node-crossws,wisp"
for a in "$@"; do [ "$a" = "--servers" ] && servers=""; done
exec bash "$kit/anchors.sh" ${servers:+--servers "$servers"} --baseline beast \
  --server wisp="$root/build/rel/bench/anchor {port}" "$@"
