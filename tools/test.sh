#!/usr/bin/env bash
# Builds wisp and runs its tests, in every configuration or the ones named.
# Usage: tools/test.sh [CONFIG...] [-- TEST...]
#   tools/test.sh                   every configuration, every test (CI); the last line is
#                                   `N passed, N failed`
#   tools/test.sh gcc asan          those configurations
#   tools/test.sh gcc -- server     only the meson test `server` in build/gcc (the
#                                   configuration defaults to gcc when tests are named)
# Installs the Debian packages the chosen configurations need first (tools/install-deps.sh).
# Build directories are build/<CONFIG>; re-running reuses them. With several configurations the
# next one builds (nice 10) while the tests of the one before run.
#
# TLS (WISP_TLS, OpenSSL 3) and permessage-deflate (WISP_DEFLATE, zlib) are on in gcc, single,
# asan and fuzz, the Redis bridge (WISP_REDIS, hiredis) in gcc, single, asan and tsan. TLS is
# off in tsan (it runs none of the TLS suites, and OpenSSL is not instrumented); all three are
# off in the cross builds (no OpenSSL, zlib or hiredis for the targets: they are the
# feature-off build of the suite, test_tls_off.cpp).
#   gcc     g++, C++17, against include/: the whole suite, the compile-time checks (each header
#           alone, strict warnings in C++17 and C++20, hook diagnostics, two translation units,
#           two versions in one program, the README's copy-one-header commands) and the
#           benchmarks' build. Optimized, without debug information (the sanitizer runs have it).
#   single  clang++, C++20, against the single header, with WISP_NO_EPOLL (connection sockets
#           wait through Asio's reactor, the path of Windows and the BSDs) and without
#           exceptions and RTTI (-fno-exceptions -fno-rtti): the whole suite again (the cases
#           about throwing handlers drop out; everything else must behave the same)
#   asan    clang++, ASan+UBSan: the whole suite (no compile-time checks)
#   tsan    clang++, TSan: the threaded suites (and the Redis bridge between processes)
#   fuzz    each libFuzzer target for WISP_FUZZ_SECONDS (30), two at a time
#   win     MinGW-w64 cross build run under Wine: unit, server, echo with Python clients
#   armhf   32-bit ARM cross build under qemu-user: unit, server, echo with Python clients
#   aarch64 64-bit ARM cross build under qemu-user: unit, server
set -uo pipefail
cd "$(dirname "$0")/.."

all_configs=(gcc single asan tsan fuzz win armhf aarch64)
configs=()
tests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; tests=("$@"); break ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *)
      if [[ " ${all_configs[*]} " != *" $1 "* ]]; then
        echo "test.sh: unknown configuration '$1' (one of: ${all_configs[*]})" >&2
        exit 2
      fi
      configs+=("$1") ;;
  esac
  shift
done
if [ ${#configs[@]} -eq 0 ]; then
  if [ ${#tests[@]} -gt 0 ]; then configs=(gcc); else configs=("${all_configs[@]}"); fi
fi
chosen() { [[ " ${configs[*]} " == *" $1 "* ]]; }

tools/install-deps.sh test "${configs[@]}" || exit 1

fuzz_seconds="${WISP_FUZZ_SECONDS:-30}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
export WINEDEBUG=-all

logs=()
failed=()
# run LABEL CXX CC MESON_OPTIONS... : adds a configuration to the plan when it was chosen (only
# the tests named in $only when it is set, or those after `--`; only the ninja targets in
# $targets when set; $WINEPREFIX as it is set for the call). The plan runs at the end.
plan=()
declare -A plan_cxx plan_cc plan_opts plan_only plan_targets plan_wine
run() {
  local label="$1"
  chosen "$label" || return 0
  plan+=("$label")
  plan_cxx[$label]="$2"
  plan_cc[$label]="$3"
  shift 3
  plan_opts[$label]="$(printf '%q ' "$@")"
  plan_only[$label]="${only:-}"
  plan_targets[$label]="${targets:-}"
  plan_wine[$label]="${WINEPREFIX:-}"
}
# build LABEL: configures and builds it.
build() {
  local label="$1" dir="build/$1"
  eval "local opts=(${plan_opts[$label]})"
  if [ -n "${plan_wine[$label]}" ]; then export WINEPREFIX="${plan_wine[$label]}"; else unset WINEPREFIX; fi
  echo "=== $label: ${plan_cxx[$label]} ${opts[*]} ($(date -u +%T))"
  if [ -d "$dir/meson-private" ]; then
    meson setup "$dir" --reconfigure "${opts[@]}" >/dev/null
  else
    CXX="${plan_cxx[$label]}" CC="${plan_cc[$label]}" meson setup "$dir" "${opts[@]}" >/dev/null
  fi && ninja -C "$dir" ${plan_targets[$label]}
}
# check LABEL: runs its tests.
check() {
  local label="$1" dir="build/$1"
  local selected=(${plan_only[$label]})
  [ ${#tests[@]} -gt 0 ] && selected=("${tests[@]}")
  if [ -n "${plan_wine[$label]}" ]; then export WINEPREFIX="${plan_wine[$label]}"; else unset WINEPREFIX; fi
  echo "=== $label: tests ($(date -u +%T))" >&2
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 "${selected[@]}" >&2
}
# run_plan: builds the first configuration, then tests each while the next one builds beside
# it at a lower priority (nice 10): the test suites wait on sockets and processes much of the
# time, and the build takes what they leave, so the tests keep their pace. A build's output is
# printed when its configuration's turn comes.
run_plan() {
  local n=${#plan[@]} i rc bg_log="build/.next-build.log"
  bg_pid=""
  [ "$n" -gt 0 ] || return 0
  mkdir -p build
  trap 'if [ -n "$bg_pid" ]; then pkill -TERM -P "$bg_pid"; kill "$bg_pid"; fi 2>/dev/null' EXIT
  build "${plan[0]}" >&2
  rc=$?
  for ((i = 0; i < n; i++)); do
    if [ "$i" -gt 0 ]; then
      wait "$bg_pid"
      rc=$?
      bg_pid=""
      cat "$bg_log" >&2
    fi
    if [ $((i + 1)) -lt "$n" ]; then
      (renice -n 10 -p "$BASHPID" >/dev/null; build "${plan[i + 1]}") >"$bg_log" 2>&1 &
      bg_pid=$!
    fi
    if [ $rc -eq 0 ]; then check "${plan[i]}"; rc=$?; fi
    logs+=("${plan[i]}=build/${plan[i]}/meson-logs/testlog.junit.xml")
    if [ $rc -ne 0 ]; then failed+=(--failed-run "${plan[i]}"); fi
  done
}

# Every configuration builds unity (several sources per compiler run: each pays for parsing
# Asio and wisp once, not once per test file); that a header stands alone is checked by the
# gcc run's headers and public-headers-link tests.
# gcc, asan and tsan build the examples and test servers compile-once (one engine library for
# all of them, README "Compile time"); single, the unit and server tests and the cross builds
# stay header-only.
run gcc g++ gcc -Dunity=on -Ddebug=false -Dcompile_once=true
run single clang++ clang -Dtest_single_header=true -Dcpp_std=c++20 -Dbench=false -Ddebug=false \
  -Dcompile_checks=false -Dunity=on -Dcpp_args=-DWISP_NO_EPOLL -Dcpp_eh=none -Dcpp_rtti=false
# The sanitizer runs keep line tables only: enough for their reports' stack traces, and a
# quarter less compile time than full debug information.
sanitized=(-Db_lundef=false -Dbench=false -Dcompile_checks=false -Doptimization=1 -Dunity=on
  -Ddebug=false -Dcpp_args=-gline-tables-only -Dcompile_once=true)
run asan clang++ clang -Db_sanitize=address,undefined "${sanitized[@]}"
only="unit server sse-node ws-python chat-python redis-python" run tsan clang++ clang -Db_sanitize=thread \
  "${sanitized[@]}" -Dtls=disabled
run fuzz clang++ clang -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds" -Dtests=false -Dexamples=false -Dbench=false

# Cross builds (tools/cross/*.ini) run under emulators; the native runs above cover the
# compile-only checks. Unity builds and no debug info keep their compile time down.
cross=(-Dbench=false -Dcompile_checks=false -Djson=disabled -Dtls=disabled -Ddeflate=disabled
  -Dredis=disabled -Ddebug=false -Dunity=on)
WINEPREFIX="$PWD/build/win/wine" targets="tests/unit.exe tests/server.exe examples/echo.exe examples/sse_clock.exe" \
  only="unit server http-clients ws-protocol ws-python" \
  run win g++ gcc --cross-file tools/cross/mingw-w64.ini "${cross[@]}"
targets="tests/unit tests/server examples/echo" only="unit server http-clients ws-protocol" \
  run armhf g++ gcc --cross-file tools/cross/armhf.ini "${cross[@]}"
targets="tests/unit tests/server" only="unit server" \
  run aarch64 g++ gcc --cross-file tools/cross/aarch64.ini "${cross[@]}"
run_plan
echo "=== done ($(date -u +%T))" >&2

cat >&2 <<'HINT'
One test again:   tools/test.sh gcc -- server          (meson test names: meson test -C build/gcc --list)
Without rebuilding everything:  ninja -C build/gcc tests/server && meson test -C build/gcc --no-rebuild server
One doctest case: build/gcc/tests/server -tc='*keep-alive*'     (-ltc lists them)
HINT
python3 tools/count_tests.py "${failed[@]}" "${logs[@]}"
