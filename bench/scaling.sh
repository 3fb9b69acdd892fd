#!/usr/bin/env bash
# One I/O thread against two: bench/anchor --threads T and the kit's generators share both CPUs.
#
#   bash bench/scaling.sh [ROUNDS] [SECONDS]   # needs bench/anchors.sh's build/kit and build/rel, and wrk
#   WORKLOADS='fanout|SSE' bash bench/scaling.sh 3    # only the rows whose name matches (grep -E)
#
# The anchor rows: echo 16 B D=1 and D=16, echo 1 KiB and 64 KiB D=16 (wsload echo, 100
# connections), fan-out 1 -> 1000 and SSE fan-out 1 -> 1000 (64 B, 16 in flight), HTTP GET /
# keep-alive and pipelined x16 (wrk, 100 connections, the kit's pipeline.lua). A fresh server per
# run, rounds interleaved (round, then row, then threads). Server CPU is summed over the
# server's threads (/proc/PID/task/*/schedstat) over the measured window only: for wsload from
# its first progress line of the measured seconds (-v) to its exit, paired with the messages
# counted in between; for wrk over the whole wrk run (it has no warm-up; its requests / that CPU).
# Prints each run, then a table: medians (min-max) of the rate, of the server's CPU (cores) and of
# the value per server CPU-second, and the 2-thread / 1-thread ratio of the per-CPU-second medians.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/build/kit"; anchor="$root/build/rel/bench/anchor"
rounds="${1:-3}"; seconds="${2:-3}"; warmup=1
[ -x "$kit/wsload" ] && [ -x "$anchor" ] || { echo "bench/scaling.sh: run bash bench/anchors.sh once first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench/scaling.sh: wrk is needed for the HTTP rows (apt-get install wrk)" >&2; exit 1; }
rows=(
  "echo 16 B, D=1|wsload|echo -c 100 -d 1 -s 16"
  "echo 16 B, D=16|wsload|echo -c 100 -d 16 -s 16"
  "echo 1 KiB, D=16|wsload|echo -c 100 -d 16 -s 1024"
  "echo 64 KiB, D=16|wsload|echo -c 100 -d 16 -s 65536"
  "fanout K=1000 (64 B)|wsload|fanout -k 1000 -d 16 -s 64"
  "SSE fanout K=1000 (64 B)|wsload|sse -k 1000 -d 16 -s 64"
  "HTTP GET / (c=100)|wrk|"
  "HTTP GET / pipelined x16 (c=100)|wrk|-s $kit/pipeline.lua"
)
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
runs="$out/runs.tsv"; : > "$runs"
cpu_s() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.6f", s / 1e9 }'; }
now() { date +%s.%N; }
port=29400
for round in $(seq "$rounds"); do
  for row in "${rows[@]}"; do
    IFS='|' read -r name kind args <<< "$row"
    [ -n "${WORKLOADS:-}" ] && ! grep -qE "$WORKLOADS" <<< "$name" && continue
    for t in 1 2; do
      port=$((port + 1))
      taskset -c 0,1 "$anchor" "$port" --threads "$t" >/dev/null 2>&1 & pid=$!
      for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
      if [ "$kind" = wsload ]; then
        # stderr (progress lines) -> the sampler; stdout (the JSON line) -> a file
        taskset -c 0,1 "$kit/wsload" $args -t "$seconds" -w "$warmup" -p "$port" -v 2> >(
          while IFS= read -r line; do
            case "$line" in "[measure]"*) echo "$(now) $(cpu_s "$pid") ${line#*msgs=}" ;; esac
          done > "$out/samples") > "$out/json" || true
        t_end=$(now); c_end=$(cpu_s "$pid")
        sleep 0.2   # the sampler's last line
        read -r t_a c_a m_a _ < <(head -1 "$out/samples") || true
        msgs=$(sed -n 's/.*"msgs":\([0-9]*\).*/\1/p' "$out/json" | tail -1)
        rate=$(sed -n 's/.*"msgs_per_s":\([0-9.]*\).*/\1/p' "$out/json" | tail -1)
        if [ -z "$rate" ] || [ -z "${t_a:-}" ]; then echo "$name threads=$t: no result" >&2; kill "$pid"; wait "$pid" 2>/dev/null || true; continue; fi
        read -r cores per_cpu < <(awk -v m="$msgs" -v ma="$m_a" -v ta="$t_a" -v te="$t_end" -v ca="$c_a" -v ce="$c_end" \
          'BEGIN { printf "%.3f %.0f\n", (ce - ca) / (te - ta), (m - ma) / (ce - ca) }')
      else
        c0=$(cpu_s "$pid"); t0=$(now)
        taskset -c 0,1 wrk -t1 -c100 -d"${seconds}s" $args "http://127.0.0.1:$port/" > "$out/wrk" 2>&1 || true
        t1=$(now); c1=$(cpu_s "$pid")
        rate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out/wrk")
        total=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out/wrk")
        if [ -z "$rate" ] || grep -q "Non-2xx" "$out/wrk"; then echo "$name threads=$t: wrk failed" >&2; kill "$pid"; wait "$pid" 2>/dev/null || true; continue; fi
        read -r cores per_cpu < <(awk -v n="$total" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
          'BEGIN { printf "%.3f %.0f\n", (c1 - c0) / (t1 - t0), n / (c1 - c0) }')
      fi
      kill "$pid"; wait "$pid" 2>/dev/null || true
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$t" "$rate" "$cores" "$per_cpu" >> "$runs"
      printf 'r%s %-34s threads=%s %12.0f/s server %.2f cores %12.0f per server CPU-s\n' \
        "$round" "$name" "$t" "$rate" "$cores" "$per_cpu"
    done
  done
done
python3 - "$runs" "$rounds" <<'EOF'
import statistics as st, sys
rows = {}
for line in open(sys.argv[1]):
    name, t, rate, cores, per = line.rstrip("\n").split("\t")
    rows.setdefault(name, {}).setdefault(int(t), []).append((float(rate), float(cores), float(per)))
def f(v):
    for d, s in ((1e6, "M"), (1e3, "k")):
        if v >= d:
            x = v / d
            return (f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}") + s
    return f"{v:.0f}"
def cell(xs, fmt=f):
    return fmt(st.median(xs)) + (f" ({fmt(min(xs))}-{fmt(max(xs))})" if len(xs) > 1 else "")
print(f"\nrounds: {sys.argv[2]}; medians (min-max)\n")
print("| workload | threads | rate | server CPU (cores) | per server CPU-s | per CPU-s, 2 / 1 thread |")
print("|---|---|---|---|---|---|")
for name, by_t in rows.items():
    for t in sorted(by_t):
        v = by_t[t]
        ratio = ""
        if t == 2 and 1 in by_t:
            ratio = f"{st.median(x[2] for x in v) / st.median(x[2] for x in by_t[1]):.2f}x"
        print(f"| {name} | {t} | {cell([x[0] for x in v])} | {cell([x[1] for x in v], lambda c: f'{c:.2f}')} | "
              f"{cell([x[2] for x in v])} | {ratio} |")
EOF
