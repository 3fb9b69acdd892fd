#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS next to plain text in one run: echo 16 B D=16, echo 64 KiB D=16 and fan-out 1 -> 1000 (64 B),
each over plain TCP and over TLS with the same generator (bench/tlsload), a fresh wisp anchor per
run pinned to CPU 0 and the generator to CPU 1, rounds interleaved; then the memory of idle
WebSocket connections (plain and TLS) at 1,000 and 10,000. Medians of the rounds, min-max, TLS/plain
ratios of the same round, and the server's CPU-seconds per million messages (read from /proc over
the measured window by tlsload -P).

Before each run it waits until other processes use less than --foreign-max cores (measured over
one second from /proc/stat, minus this run's own processes) and retries a run during which they
used more, as the shared kit's anchors.py does.

  python3 bench/tls_bench.py --build build/rel [--rounds 3] [--seconds 5] [--warmup 2]
Writes build/rel/tls-bench/<stamp>/{runs.jsonl,summary.md} and prints the summary.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
WORKLOADS = [
    ("echo 16 B, D=16", "echo -c 100 -d 16 -s 16"),
    ("echo 64 KiB, D=16", "echo -c 100 -d 16 -s 65536"),
    ("fan-out 1 -> 1000, 64 B", "fanout -k 1000 -d 16 -s 64"),
]


def cpu_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)   # busy (all but idle and iowait), total


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_quiet(limit, timeout=600):
    """Waits until the machine's busy share (in cores) over one second is below `limit`."""
    end = time.time() + timeout
    while True:
        b0, t0 = cpu_busy()
        time.sleep(1)
        b1, t1 = cpu_busy()
        cores = os.cpu_count() * (b1 - b0) / max(1, t1 - t0)
        if cores < limit or time.time() > end:
            return cores
        print(f"# waiting for a quiet machine ({cores:.2f} cores busy)", file=sys.stderr, flush=True)


class Anchor:
    def __init__(self, binary, port, tls, certs, cpu):
        cmd = ["taskset", "-c", str(cpu), binary, str(port)]
        if tls:
            cmd += ["--tls-cert", os.path.join(certs, "fullchain.pem"), "--tls-key", os.path.join(certs, "server.key")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"anchor did not start: {line!r} {self.proc.stderr.read()}")
        self.pid = self.proc.pid

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_once(a, name, args, tls, port):
    srv = Anchor(a.anchor, port, tls, a.certs, a.server_cpu)
    try:
        b0, t0 = cpu_busy()
        own0 = proc_cpu(srv.pid)
        cmd = ["taskset", "-c", str(a.client_cpu), a.tlsload, *args.split(), "-t", str(a.seconds),
               "-w", str(a.warmup), "-p", str(port), "-P", str(srv.pid)] + (["-T"] if tls else [])
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t_start = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + a.warmup + 300)
        wall = time.time() - t_start
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b1, t1 = cpu_busy()
        server = (proc_cpu(srv.pid) - own0) / HZ
        client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        # Busy time of the whole machine, less the server's and the generator's.
        total = os.cpu_count() * (b1 - b0) / max(1, t1 - t0) * wall
        last = (r.stdout.strip().splitlines() or ["{}"])[-1]
        rec = json.loads(last) if last.startswith("{") else {"error": r.stderr.strip()}
        rec.update({"workload": name, "tls": tls, "wall": round(wall, 2),
                    "client_cores": round(client / wall, 3),
                    "foreign_cores": round(max(0.0, total - server - client) / wall, 3) if wall else 0})
        if r.returncode != 0:
            rec["error"] = r.stderr.strip()[-500:]
        return rec
    finally:
        srv.stop()


def idle_memory(a, tls, port):
    """(RSS at 10,000 - RSS at 1,000) / 9,000, each on a fresh server."""
    out = {}
    for n in (1000, 10000):
        srv = Anchor(a.anchor, port, tls, a.certs, a.server_cpu)
        try:
            p = subprocess.Popen(["taskset", "-c", str(a.client_cpu), a.tlsload, "idle", "-c", str(n), "-t", "4",
                                  "-p", str(port)] + (["-T"] if tls else []),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            if not line.startswith("ready"):
                raise RuntimeError(f"idle: {line!r} {p.stderr.read()}")
            time.sleep(1.5)   # let the last upgrades settle (the server is idle by then)
            out[n] = rss_kb(srv.pid)
            p.wait(30)
        finally:
            srv.stop()
    return out, (out[10000] - out[1000]) / 9000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/rel")
    ap.add_argument("--certs", help="default: BUILD/tests/tls-certs (made by the build)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--foreign-max", type=float, default=0.10)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--port", type=int, default=9411)
    ap.add_argument("--workloads", default="", help="regex on the workload names")
    ap.add_argument("--no-memory", action="store_true")
    a = ap.parse_args()
    a.anchor = os.path.join(a.build, "bench", "anchor")
    a.tlsload = os.path.join(a.build, "bench", "tlsload")
    a.certs = a.certs or os.path.join(a.build, "tests", "tls-certs")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(a.build, "tls-bench", stamp)
    os.makedirs(outdir, exist_ok=True)
    runs = []
    wls = [w for w in WORKLOADS if re.search(a.workloads, w[0])]
    with open(os.path.join(outdir, "runs.jsonl"), "w") as log:
        for rnd in range(a.rounds):
            for name, args in wls:
                for tls in (False, True):
                    for attempt in range(a.retries + 1):
                        wait_quiet(a.foreign_max)
                        rec = run_once(a, name, args, tls, a.port)
                        rec.update({"round": rnd, "attempt": attempt})
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                        print(f"# round {rnd} {name} {'tls' if tls else 'plain'}: {rec.get('msgs_per_s')} "
                              f"({rec.get('server_cpu_s_per_M')} server CPU-s/M, foreign {rec['foreign_cores']})",
                              file=sys.stderr, flush=True)
                        if "error" not in rec and rec["foreign_cores"] <= a.foreign_max:
                            break
                    runs.append(rec)
        mem = {}
        if not a.no_memory:
            for tls in (False, True):
                wait_quiet(a.foreign_max)
                mem[tls] = idle_memory(a, tls, a.port)
                log.write(json.dumps({"idle": "tls" if tls else "plain", "rss_kb": mem[tls][0],
                                      "kib_per_conn": mem[tls][1]}) + "\n")

    def med(xs):
        return statistics.median(xs) if xs else float("nan")

    lines = [f"Run {stamp}: {a.rounds} rounds of {a.seconds} s after {a.warmup} s of warm-up, server on CPU "
             f"{a.server_cpu}, tlsload on CPU {a.client_cpu}; medians (min-max); ratios are medians of the "
             f"per-round TLS/plain ratios.", "",
             "| workload | plain msgs/s | TLS msgs/s | TLS / plain | plain server CPU-s per M | "
             "TLS server CPU-s per M | TLS / plain per server CPU-s |", "|---|---|---|---|---|---|---|"]
    for name, _ in wls:
        by = {tls: [r for r in runs if r["workload"] == name and r["tls"] == tls and "error" not in r]
              for tls in (False, True)}
        rate = {t: [r["msgs_per_s"] for r in by[t]] for t in by}
        cpu = {t: [r["server_cpu_s_per_M"] for r in by[t]] for t in by}
        pairs = [(p, q) for p in by[False] for q in by[True] if p["round"] == q["round"]]
        ratio = med([q["msgs_per_s"] / p["msgs_per_s"] for p, q in pairs])
        eff = med([p["server_cpu_s_per_M"] / q["server_cpu_s_per_M"] for p, q in pairs])

        def cell(xs, f="{:,.0f}"):
            return f"{f.format(med(xs))} ({f.format(min(xs))}-{f.format(max(xs))})" if xs else "-"
        lines.append(f"| {name} | {cell(rate[False])} | {cell(rate[True])} | {ratio:.2f}x | "
                     f"{cell(cpu[False], '{:.2f}')} | {cell(cpu[True], '{:.2f}')} | {eff:.2f}x |")
    if mem:
        lines += ["", "| idle WebSocket | RSS at 1,000 | RSS at 10,000 | per connection |", "|---|---|---|---|"]
        for tls, (rss, per) in mem.items():
            lines.append(f"| {'TLS' if tls else 'plain'} | {rss[1000] / 1024:.1f} MiB | {rss[10000] / 1024:.1f} MiB | "
                         f"{per:.2f} KiB |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
