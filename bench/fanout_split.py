#!/usr/bin/env python3
"""Server CPU per fan-out delivery, split into user space and kernel, against K subscribers.

    python3 bench/fanout_split.py [--build build/rel] [--anchor PATH] [--ks 1000,10000] \
        [--seconds 5] [--rounds 3] [--kind ws|sse] [--wsload PATH]

A fresh bench/anchor per run on --server-cpu, bench/deliveries (64 B, 16 publications in flight;
with --kind sse the kit's `wsload sse`, the same publisher on /_chat and K streams on /_sse) on
--client-cpu. Over the generator's measured seconds the server's utime and stime
(/proc/PID/stat, clock ticks) are read at its first and last progress line and divided by the
deliveries counted between them. Timed, so noisy on a shared machine (medians over --rounds,
runs interleaved); what it adds to bench/fanout_profile.py's counts is the kernel's share, which
callgrind does not see.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK   # utime, stime (fields 14 and 15)


def run(args, k, port):
    srv = subprocess.Popen(["taskset", "-c", args.server_cpu, args.anchor, str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or srv.poll() is not None:
                    sys.exit("fanout_split.py: the server did not listen")
                time.sleep(0.05)
        if args.kind == "sse":
            cmd = [args.wsload, "sse", "-k", str(k), "-d", "16", "-s", "64", "-p", str(port),
                   "-t", str(args.seconds), "-w", "1", "-v"]
        else:
            cmd = [args.deliveries, "--port", str(port), "--subscribers", str(k), "--size", "64",
                   "--window", "16", "--seconds", str(args.seconds), "--warmup", "1", "--verbose"]
        gen = subprocess.Popen(["taskset", "-c", args.client_cpu] + cmd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        marks = []   # (deliveries so far, utime, stime) at each measured progress line
        for line in gen.stderr:
            if "[measure]" in line and " s: " in line:   # "deliveries: [measure] 2.0 s: N deliveries"
                marks.append((int(line.split(" s: ")[1].split()[0]), *cpu(srv.pid)))
            elif line.startswith("[measure]") and "msgs=" in line:   # wsload: "[measure] 2.0s msgs=N"
                marks.append((int(line.split("msgs=")[1].split()[0]), *cpu(srv.pid)))
        gen.wait()
    finally:
        srv.terminate()
        srv.wait()
    if len(marks) < 2 or marks[-1][0] == marks[0][0]:
        sys.exit(f"fanout_split.py: too few progress lines at K={k}")
    n = marks[-1][0] - marks[0][0]
    return (marks[-1][1] - marks[0][1]) / n * 1e6, (marks[-1][2] - marks[0][2]) / n * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/rel"))
    ap.add_argument("--anchor", default=None)
    ap.add_argument("--ks", default="1000,10000")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--port", type=int, default=31400)
    ap.add_argument("--kind", choices=("ws", "sse"), default="ws")
    ap.add_argument("--wsload", default=os.path.join(ROOT, "build/kit/wsload"))
    args = ap.parse_args()
    args.anchor = args.anchor or os.path.join(args.build, "bench/anchor")
    args.deliveries = os.path.join(args.build, "bench/deliveries")
    ks = [int(x) for x in args.ks.split(",")]
    got = {k: [] for k in ks}
    for r in range(args.rounds):
        for i, k in enumerate(ks):
            got[k].append(run(args, k, args.port + r * len(ks) + i))
    print("| K | user µs per delivery | kernel µs per delivery | total | rounds (user/kernel) |")
    print("|---|---|---|---|---|")
    for k in ks:
        u = statistics.median(x[0] for x in got[k])
        s = statistics.median(x[1] for x in got[k])
        each = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in got[k])
        print(f"| {k} | {u:.2f} | {s:.2f} | {u + s:.2f} | {each} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
