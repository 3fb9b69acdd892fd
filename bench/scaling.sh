#!/usr/bin/env bash
# One I/O thread against two: bench/anchor --threads T and the kit's generator share both CPUs.
#
#   bash bench/scaling.sh [ROUNDS]        # needs bench/anchors.sh's build/kit and build/rel
#
# Prints, per workload and thread count, each round's rate, the server's CPU seconds over its
# life (from /proc/PID/stat) and the rate per server CPU-second (rate x (warm-up + measured
# seconds) / CPU seconds, so an estimate: the generator counts only the measured window).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/build/kit"; anchor="$root/build/rel/bench/anchor"
rounds="${1:-3}"
[ -x "$kit/wsload" ] && [ -x "$anchor" ] || { echo "bench/scaling.sh: run bash bench/anchors.sh once first" >&2; exit 1; }
port=29400
for w in "echo -c 100 -d 16 -s 16" "echo -c 100 -d 16 -s 1024" "fanout -k 1000 -d 16 -s 64"; do
  for t in 1 2; do
    line="threads=$t $w:"
    for _ in $(seq "$rounds"); do
      port=$((port + 1))
      taskset -c 0,1 "$anchor" "$port" --threads "$t" >/dev/null 2>&1 & pid=$!
      for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
      rate=$(taskset -c 0,1 "$kit/wsload" $w -t 3 -w 1 -p "$port" | tail -1 | sed 's/.*"msgs_per_s":\([0-9.]*\).*/\1/')
      cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      line="$line $(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.2fM (%.2f cpu-s, %.2fM/cpu-s)", r / 1e6, c, r * 4 / c / 1e6 }')"
    done
    echo "$line"
  done
done
