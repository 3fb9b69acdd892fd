#!/usr/bin/env bash
# Installs the Debian 12 packages a wisp command needs (idempotent, quiet when everything is
# there). Run as root or with sudo available.
#   tools/install-deps.sh serve              build and run the examples: a compiler, meson,
#                                            Asio, llhttp (and nlohmann/json for examples/chat)
#   tools/install-deps.sh cluster            serve's, and hiredis and redis-server for
#                                            tools/cluster.sh (chats sharing a room via Redis)
#   tools/install-deps.sh test CONFIG...     what those tools/test.sh configurations need
#                                            (gcc single asan tsan fuzz win armhf aarch64)
set -euo pipefail

# serve: tools/serve.sh (a build with -Dtests=false -Dbench=false).
packages=(
  g++ meson ninja-build pkg-config python3   # toolchain (python3: meson, tools/embed.py)
  libasio-dev node-llhttp                    # wisp's dependencies
  nlohmann-json3-dev                         # examples/chat's JSON (wisp's optional JSON helpers)
)
mode="${1:-serve}"
[ $# -gt 0 ] && shift
need_node=0
case "$mode" in
  serve) ;;
  cluster) packages+=(libhiredis-dev redis-server) ;;   # tools/cluster.sh: the Redis bridge
  test)
    [ $# -gt 0 ] || { echo "install-deps: test needs configuration names" >&2; exit 2; }
    # Every configuration that builds the suite: doctest and the Python clients.
    suite=(doctest-dev python3-websockets curl)
    optional=(zlib1g-dev libssl-dev openssl)   # permessage-deflate; TLS (openssl makes the test certificates)
    redis=(libhiredis-dev redis-server)        # the Redis bridge; its tests start a real redis-server
    for config in "$@"; do
      case "$config" in
        gcc)
          # clang: the strict-warnings check's second compiler; chromium: the browser tests;
          # cmake: the consumers test's find_package(wisp); clang-format: the format test
          packages+=("${suite[@]}" "${optional[@]}" "${redis[@]}" clang chromium cmake clang-format)
          need_node=1 ;;
        single | asan)
          packages+=("${suite[@]}" "${optional[@]}" "${redis[@]}" clang chromium); need_node=1 ;;
        tsan)
          packages+=("${suite[@]}" zlib1g-dev "${redis[@]}" clang); need_node=1 ;;
        fuzz)
          packages+=("${optional[@]}" clang) ;;
        win)
          packages+=("${suite[@]}" g++-mingw-w64-x86-64-posix wine64); need_node=1 ;;
        armhf)
          packages+=("${suite[@]}" g++-arm-linux-gnueabihf qemu-user-static); need_node=1 ;;
        aarch64)
          packages+=("${suite[@]}" g++-aarch64-linux-gnu qemu-user-static); need_node=1 ;;
        *) echo "install-deps: unknown configuration '$config'" >&2; exit 2 ;;
      esac
    done ;;
  *) echo "usage: tools/install-deps.sh serve | cluster | test CONFIG..." >&2; exit 2 ;;
esac

# Node.js runs the npm clients of the integration tests; any recent node will do.
if ((need_node)) && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  packages+=(nodejs npm)
fi

missing=()
for p in $(printf '%s\n' "${packages[@]}" | sort -u); do
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
if ((need_node)); then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  lock="$here/tests/node/package-lock.json"
  stamp="$here/tests/node/node_modules/.wisp-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
    echo "install-deps: npm ci in tests/node" >&2
    (cd "$here/tests/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$lock" "$stamp"
  fi
fi
