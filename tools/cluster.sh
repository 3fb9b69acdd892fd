#!/usr/bin/env bash
# The Redis scale-out demo: starts a redis-server and two examples/chat instances that share one
# room through it (chat --redis). Open the two URLs it prints in two browser tabs: what is said
# in one appears in the other. Ctrl+C (or SIGTERM) stops all three.
# Usage: tools/cluster.sh [--ports A,B] [--redis-port N] [--host H] [--chat BINARY]
#                         [--redis-server BINARY]
#   --ports A,B            the chats' ports, one instance per port (default 3000,3001;
#                          0 = any free port)
#   --redis-port N         redis-server's port on 127.0.0.1 (default 6379, or a free one when
#                          6379 is taken; 0 = a free one)
#   --host H               the address the chats listen on (default 127.0.0.1)
#   --chat BINARY          runs that chat as it is: nothing is installed or built
#   --redis-server BINARY  the redis-server to start (default: the one on PATH)
# The environment may set the same: WISP_CLUSTER_PORTS, WISP_REDIS_PORT, WISP_CLUSTER_HOST.
# Without --chat it installs what it needs first (tools/install-deps.sh cluster: serve's
# packages, hiredis and redis-server) and builds the chat in build/serve, as tools/serve.sh
# does, with the Redis bridge on. Redis writes nothing to disk (--save '' --appendonly no).
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
usage_error() {
  echo "cluster: $1 (tools/cluster.sh -h for help)" >&2
  exit 2
}
# The absolute path of an executable file, or of a command found on PATH; fails if neither.
executable() {
  local dir
  case "$1" in
    */*)
      [ -f "$1" ] && [ -x "$1" ] || return 1
      dir="$(cd "$(dirname "$1")" && pwd)"
      echo "${dir%/}/$(basename "$1")" ;;
    *) command -v "$1" ;;
  esac
}

ports="${WISP_CLUSTER_PORTS:-3000,3001}"
redis_port="${WISP_REDIS_PORT:-}"
host="${WISP_CLUSTER_HOST:-127.0.0.1}"
chat=""
redis_server=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --ports | --redis-port | --host | --chat | --redis-server)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case "$1" in
        --ports) ports="$2" ;;
        --redis-port) redis_port="$2" ;;
        --host) host="$2" ;;
        --chat) chat="$2" ;;
        --redis-server) redis_server="$2" ;;
      esac
      shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
is_port() { [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$1" -le 65535 ]; }
IFS=, read -r -a chat_ports <<<"$ports"
[ ${#chat_ports[@]} -gt 0 ] || usage_error "--ports needs at least one port"
for p in "${chat_ports[@]}"; do
  is_port "$p" || usage_error "'$p' in --ports is not a port (0-65535)"
done
if [ -n "$redis_port" ] && ! is_port "$redis_port"; then
  usage_error "--redis-port '$redis_port' is not a port (0-65535)"
fi
if [ -n "$chat" ]; then
  path="$(executable "$chat")" || usage_error "--chat '$chat' is not an executable file"
  chat="$path"
fi
if [ -n "$redis_server" ]; then
  path="$(executable "$redis_server")" ||
    usage_error "--redis-server '$redis_server' is not an executable file"
  redis_server="$path"
fi

cd "$(dirname "$0")/.."
if [ -z "$chat" ]; then
  tools/install-deps.sh cluster
  redis_of() {   # the redis feature build/serve was configured with
    meson introspect --buildoptions build/serve |
      python3 -c 'import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "redis"))'
  }
  if [ ! -d build/serve/meson-private ]; then
    CXX=g++ CC=gcc meson setup build/serve -Dtests=false -Dbench=false -Dfuzz=false \
      -Dredis=enabled >/dev/null
  elif [ "$(redis_of)" != enabled ]; then   # set up by tools/serve.sh: maybe without hiredis
    meson configure build/serve -Dredis=enabled >/dev/null
  fi
  ninja -C build/serve examples/chat >&2
  chat="$PWD/build/serve/examples/chat"
fi
if [ -z "$redis_server" ]; then
  redis_server="$(command -v redis-server)" ||
    { echo "cluster: redis-server is not on PATH (Debian: redis-server)" >&2; exit 1; }
fi

# Everything started is stopped on the way out, however the script ends.
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/wisp-cluster.XXXXXX")"
pids=()
names=()
stop_all() {
  local rc=$? pid left i
  trap - EXIT
  trap '' INT TERM HUP   # a second Ctrl+C does not cut the stop short
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 100; i++)); do   # up to 10 s for a clean stop (chats close their peers)
    left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    ((left)) || break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "cluster: ${names[$i]} did not stop within 10 s: killed" >&2
      kill -KILL "${pids[$i]}" 2>/dev/null
      rc=1
    fi
  done
  wait 2>/dev/null
  rm -rf "$run_dir"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 0' INT TERM HUP   # asked to stop: a clean stop is a success

# wait_for FILE PATTERN PID: waits until FILE has a line matching PATTERN (prints it), or fails
# when PID has ended or 15 s have passed.
wait_for() {
  local i line
  for ((i = 0; i < 300; i++)); do
    line="$(grep -m1 -E "$2" "$1" 2>/dev/null)" && { echo "$line"; return 0; }
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# redis-server: on the port asked for, else 6379 when that is free, else any free port.
start_redis() {
  "$redis_server" --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$run_dir" \
    >"$run_dir/redis.log" 2>&1 &
  local pid=$!
  if wait_for "$run_dir/redis.log" "Ready to accept connections" $pid >/dev/null; then
    pids+=("$pid")
    names+=("redis-server")
    return 0
  fi
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  return 1
}
started=0
for attempt in 1 2 3; do
  case "$redis_port" in
    "") if ((attempt == 1)); then p=6379; else p="$(free_port)"; fi ;;
    0) p="$(free_port)" ;;
    *) ((attempt == 1)) || break; p="$redis_port" ;;
  esac
  if start_redis "$p"; then started=1; break; fi
done
if ((!started)); then
  echo "cluster: redis-server did not start on port $p:" >&2
  tail -n 5 "$run_dir/redis.log" >&2
  exit 1
fi
redis_port="$p"
redis_url="redis://127.0.0.1:$redis_port"
echo "redis-server: $redis_url (pid ${pids[-1]})"

# The chats: their stdout (the `listening on` line) goes to a file; their stderr (Redis lost,
# back) to ours.
urls=()
for i in "${!chat_ports[@]}"; do
  n=$((i + 1))
  "$chat" --host "$host" --port "${chat_ports[$i]}" --redis "$redis_url" >"$run_dir/chat$n.out" &
  pids+=("$!")
  names+=("chat $n")
  if ! line="$(wait_for "$run_dir/chat$n.out" "^listening on " $!)"; then
    echo "cluster: chat $n did not start (port ${chat_ports[$i]})" >&2
    exit 1
  fi
  urls+=("${line#listening on }/")
  echo "chat $n: ${urls[-1]} (pid ${pids[-1]})"
done
echo "Open each chat in a browser tab: what is said in one appears in the others." \
  "Ctrl+C stops them all."

# Runs until one of them ends on its own (then the others are stopped) or we are asked to stop.
# A look every half second: `wait -n` alone misses a child that ended just before it was
# called. The wait on the sleep is interrupted by INT/TERM/HUP, so a stop is not delayed.
rc=0
ended=""
while [ -z "$ended" ]; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { ended="$pid"; break; }
  done
  if [ -z "$ended" ]; then
    sleep 0.5 &
    wait $! 2>/dev/null
  fi
done
wait "$ended" || rc=$?
for i in "${!pids[@]}"; do
  [ "${pids[$i]}" != "$ended" ] || echo "cluster: ${names[$i]} ended (status $rc)" >&2
done
exit 1
