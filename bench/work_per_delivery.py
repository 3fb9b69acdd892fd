#!/usr/bin/env python3
"""Instructions (callgrind Ir) and syscalls (strace -c) per fan-out delivery of bench/anchor servers.

    cc -O2 -o build/wsload ../shared/bench/wsload.c
    python3 bench/work_per_delivery.py --load build/wsload \\
        new=build/rel/bench/anchor old=/work/bench/wisp-771eb0f/build/rel/bench/anchor

The sibling of bench/work_per_request.py for the kit's fan-out rows: `fanout K=1000 (64 B)` (one
WebSocket publisher, K WebSocket subscribers on /_chat) and `SSE fanout K=1000 (64 B)` (K event
streams on /_sse fed by a publisher on /_chat), driven by the kit's own generator (wsload) with its
window of 16 publications. For each server and workload the server runs under valgrind
--tool=callgrind (then under strace -c -f) while wsload publishes for a short and a long time; the
difference of the server's totals divided by the difference of the deliveries (publications sent,
from wsload's result line, times K) is the work one more delivery costs: start-up, the K
handshakes and shutdown cancel out. At most one window of publications is in flight when wsload
stops, an error of 16 / (publications in the long run - those in the short one), under 2 % with
the defaults. Ir is user-space instructions only: the syscall count stands for the kernel's part.
How many deliveries one writev carries depends on how far the server lags behind the generator
(under valgrind or strace it lags a lot, so its batches are larger than in a timed run): compare
servers measured the same way, in the same run.
"""
import argparse, json, subprocess

from work_per_request import measure   # bench/, beside this file

# name: (wsload arguments, K, short seconds, long seconds for callgrind, and for strace)
WORKLOADS = {
    "fanout": (["fanout", "-k", "1000", "-d", "16", "-s", "64"], 1000, (2, 8), (2, 6)),
    "sse": (["sse", "-k", "1000", "-d", "16", "-s", "64"], 1000, (2, 8), (2, 6)),
}


def run_once(tool, server, load, workload, seconds, port):
    args = WORKLOADS[workload][0]
    full = [load] + args + ["-p", str(port), "-w", "0", "-t", str(seconds)]

    def drive():   # the publications wsload sent
        res = subprocess.run(full, check=True, stdout=subprocess.PIPE, text=True, timeout=600)
        return json.loads(res.stdout.strip().splitlines()[-1])["published"]

    return measure(tool, server, port, drive)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", help="name=path of an anchor binary")
    ap.add_argument("--load", default="build/wsload")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--port", type=int, default=9850)
    ap.add_argument("--no-strace", action="store_true")
    args = ap.parse_args()
    port = args.port
    print("| workload | server | Ir per delivery | syscalls per delivery | by syscall |")
    print("|---|---|---|---|---|", flush=True)
    for wl in args.workloads.split(","):
        _, k, ir_secs, sys_secs = WORKLOADS[wl]
        for spec in args.servers:
            name, path = spec.split("=", 1)
            res = {}
            for tool in (["ir"] if args.no_strace else ["ir", "sys"]):
                vals = []
                for seconds in (ir_secs if tool == "ir" else sys_secs):
                    port += 1
                    vals.append(run_once(tool, path, args.load, wl, seconds, port))
                deliveries = (vals[1][0] - vals[0][0]) * k
                per = (vals[1][1] - vals[0][1]) / deliveries
                detail = {c: (vals[1][2].get(c, 0) - vals[0][2].get(c, 0)) / deliveries
                          for c in vals[1][2]}
                res[tool] = (per, {c: v for c, v in detail.items() if abs(v) >= 0.0005})
            ir = res["ir"][0]
            sysc = res.get("sys", (float("nan"), {}))
            top = ", ".join(f"{c} {v:.3f}" for c, v in sorted(sysc[1].items(), key=lambda kv: -kv[1]))
            print(f"| {wl} | {name} | {ir:,.0f} | {sysc[0]:.3f} | {top} |", flush=True)


if __name__ == "__main__":
    main()
