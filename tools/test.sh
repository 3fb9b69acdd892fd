#!/usr/bin/env bash
# Builds wisp and runs every test:
# TLS (WISP_TLS, OpenSSL 3) is on in gcc, single, asan and fuzz; off in tsan (it runs none of
# the TLS suites, and OpenSSL is not instrumented) and in the cross builds.
#   gcc     g++, C++17, against include/: the whole suite, the compile-time checks (each header
#           alone, strict warnings in C++17 and C++20, hook diagnostics, builds without exceptions
#           and RTTI, the README's copy-one-header commands) and the benchmarks' build
#           (this and the next three: with zlib, so WISP_DEFLATE and the permessage-deflate tests)
#   single  clang++, C++20, against the single header, with WISP_NO_EPOLL (connection sockets
#           wait through Asio's reactor, the path of Windows and the BSDs): the whole suite again
#   asan    clang++, ASan+UBSan: the whole suite (no compile-time checks)
#   tsan    clang++, TSan: the threaded suites
#   fuzz    each libFuzzer target for WISP_FUZZ_SECONDS (30)
#   win     MinGW-w64 cross build run under Wine: unit, server, echo with Python clients
#   armhf   32-bit ARM cross build under qemu-user: unit, server, echo with Python clients
#   aarch64 64-bit ARM cross build under qemu-user: unit, server
#           (the cross builds without zlib: they are the WISP_DEFLATE-off build of the suite)
# Installs missing Debian packages first. Ends with the line `N passed, N failed`.
# Usage: tools/test.sh     (build dirs: build/<label>)
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --cross || exit 1

fuzz_seconds="${WISP_FUZZ_SECONDS:-30}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"

logs=()
failed=()
# run LABEL CXX CC MESON_OPTIONS... : configure, build and test one configuration
# (only the tests named in $only when it is set; only the ninja targets in $targets when set).
run() {
  local label="$1" cxx="$2" cc="$3"
  shift 3
  local dir="build/$label"
  echo "=== $label: $cxx $* ($(date -u +%T))" >&2
  if [ -d "$dir/meson-private" ]; then
    meson setup "$dir" --reconfigure "$@" >/dev/null
  else
    CXX="$cxx" CC="$cc" meson setup "$dir" "$@" >/dev/null
  fi && ninja -C "$dir" ${targets:-} >&2 &&
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 ${only:-} >&2
  local rc=$?
  logs+=("$label=$dir/meson-logs/testlog.junit.xml")
  if [ $rc -ne 0 ]; then failed+=(--failed-run "$label"); fi
}

# Every configuration builds unity (several sources per compiler run: each pays for parsing
# Asio and wisp once, not once per test file); that a header stands alone is checked by the
# gcc run's headers and public-headers-link tests.
run gcc g++ gcc -Dunity=on
run single clang++ clang -Dtest_single_header=true -Dcpp_std=c++20 -Dbench=false -Ddebug=false \
  -Dcompile_checks=false -Dunity=on -Dcpp_args=-DWISP_NO_EPOLL
run asan clang++ clang -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false \
  -Dcompile_checks=false -Doptimization=1 -Dunity=on
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
only="unit server sse-node ws-python chat-python" run tsan clang++ clang -Db_sanitize=thread \
  -Db_lundef=false -Dbench=false -Dcompile_checks=false -Doptimization=1 -Dunity=on -Dtls=disabled
run fuzz clang++ clang -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds" -Dtests=false -Dexamples=false -Dbench=false

# Cross builds (tools/cross/*.ini) run under emulators; the native runs above cover the
# compile-only checks. Unity builds and no debug info keep their compile time down.
# TLS and permessage-deflate are off there (-Dtls=disabled -Ddeflate=disabled): no OpenSSL or
# zlib for the targets; the suites then check that listen_tls says so (test_tls_off.cpp); the
# native runs cover both.
cross=(-Dbench=false -Dcompile_checks=false -Djson=disabled -Dtls=disabled -Ddeflate=disabled -Ddebug=false
  -Dunity=on)
export WINEDEBUG=-all
WINEPREFIX="$PWD/build/win/wine" targets="tests/unit.exe tests/server.exe examples/echo.exe examples/sse_clock.exe" \
  only="unit server http-clients ws-protocol ws-python" \
  run win g++ gcc --cross-file tools/cross/mingw-w64.ini "${cross[@]}"
targets="tests/unit tests/server examples/echo" only="unit server http-clients ws-protocol" \
  run armhf g++ gcc --cross-file tools/cross/armhf.ini "${cross[@]}"
targets="tests/unit tests/server" only="unit server" \
  run aarch64 g++ gcc --cross-file tools/cross/aarch64.ini "${cross[@]}"
echo "=== done ($(date -u +%T))" >&2

python3 tools/count_tests.py "${failed[@]}" "${logs[@]}"
