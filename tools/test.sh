#!/usr/bin/env bash
# Builds wisp and runs every test: g++ and clang++ builds (tests, examples, benchmarks), an
# ASan+UBSan build of the whole suite, a TSan build of the threaded suites, and each libFuzzer
# target for WISP_FUZZ_SECONDS (30).
# Installs missing Debian packages first. Ends with the line `N passed, N failed`.
# Usage: tools/test.sh     (build dirs: build/gcc, build/clang, build/asan, build/tsan, build/fuzz)
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh || exit 1

fuzz_seconds="${WISP_FUZZ_SECONDS:-30}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"

logs=()
failed=()
# run LABEL CXX CC MESON_OPTIONS... : configure, build and test one configuration
# (only the tests named in $only when it is set).
run() {
  local label="$1" cxx="$2" cc="$3"
  shift 3
  local dir="build/$label"
  echo "=== $label: $cxx $*" >&2
  if [ -d "$dir/meson-private" ]; then
    meson setup "$dir" --reconfigure "$@" >/dev/null
  else
    CXX="$cxx" CC="$cc" meson setup "$dir" "$@" >/dev/null
  fi && ninja -C "$dir" >&2 && meson test -C "$dir" --print-errorlogs --num-processes 2 ${only:-} >&2
  local rc=$?
  logs+=("$label=$dir/meson-logs/testlog.junit.xml")
  if [ $rc -ne 0 ]; then failed+=(--failed-run "$label"); fi
}

run gcc g++ gcc
run clang clang++ clang
run asan clang++ clang -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
only="unit server sse-node ws-python chat-python" run tsan clang++ clang -Db_sanitize=thread -Db_lundef=false -Dbench=false
run fuzz clang++ clang -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds" -Dtests=false -Dexamples=false -Dbench=false

python3 tools/count_tests.py "${failed[@]}" "${logs[@]}"
