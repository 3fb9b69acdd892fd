#!/bin/bash
# User and system CPU time of a server under wrk, per million requests: what part of a row's
# value per CPU-second is the server's own code and what part the kernel's.
#   bench/cpu_split.sh SERVER [SECONDS] [wrk options...]
#   bench/cpu_split.sh build/rel/bench/anchor 4 -s build/kit/pipeline.lua
# SERVER takes the port as its only argument (bench/anchor, bench/rawhttp, an older anchor). The
# server runs on core 0 and wrk (-t1 -c100) on core 1; the times are /proc/PID/stat's utime and
# stime (fields 14 and 15, in clock ticks) over the wrk run.
set -euo pipefail
server=$1
seconds=${2:-4}
shift $(($# >= 2 ? 2 : 1))
here=$(cd "$(dirname "$0")" && pwd)
port=$(python3 -c "import sys; sys.path.insert(0, '$here'); import ports; print(ports.free_port())")
taskset -c 0 "$server" "$port" >/dev/null 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' EXIT
python3 -c "import sys; sys.path.insert(0, '$here'); import ports; ports.wait_port($port)"
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
rate=$(taskset -c 1 wrk -t1 -c100 -d"${seconds}s" "$@" "http://127.0.0.1:$port/" |
       awk '/Requests\/sec/ {print $2}')
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
hz=$(getconf CLK_TCK)
python3 - "$server" "$rate" "$seconds" "$((u1 - u0))" "$((s1 - s0))" "$hz" <<'PY'
import sys
server, rate, seconds, user, system, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), *map(int, sys.argv[4:])
mreq = rate * seconds / 1e6
print(f"{server}: {rate:,.0f} req/s; per million requests: user {user / mreq:.1f} ticks, "
      f"system {system / mreq:.1f} ticks ({hz} ticks/s); server CPU {(user + system) / hz / seconds:.2f}")
PY
