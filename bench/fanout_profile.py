#!/usr/bin/env python3
"""Work per fan-out delivery against the number of subscribers K, counted, not timed.

    python3 bench/fanout_profile.py [--build build/rel] [--ks 1000,10000] [--anchor PATH] \
        [--ll 1048576,16,64] [--seconds 8] [--kind ws|sse] [--wsload PATH]

Runs the anchor under callgrind with its cache simulation (user space only: the kernel's share is
not in these figures), drives it with bench/deliveries (64 B, 16 publications in flight; with
--kind sse, the kit's `wsload sse`: the same publisher on /_chat, K streams on /_sse), zeroes the
counters once the load runs and dumps them --seconds later. Deliveries are the publications made
in that window (calls of `Publication::make`) times K, so every figure is exact per delivery
(one delivery call may carry a run of publications: the last column says how many on average):
instructions (Ir), first-level data misses (D1mr + D1mw), misses of the simulated last level (--ll SIZE,ASSOC,LINE;
the default is this VM's 1 MiB L2 per core, which the working set of K connections outgrows),
and calls of malloc. Timed runs on a shared 2-vCPU VM move by 20-40%; these do not.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_listening(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("fanout_profile.py: the server exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("fanout_profile.py: the server did not listen")


def parse(path):
    """Totals, and the calls of WsSession::deliver and of malloc, from a callgrind dump."""
    events, totals, calls, names, pending = None, None, {}, {}, None
    with open(path) as f:
        for line in f:
            m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3)
                name = names.get(m.group(2), "")
                pending = None
                if m.group(1) == "cfn":
                    if "WsSession::deliver(" in name or "StreamState::deliver_to(" in name:
                        pending = "deliver"
                    elif "Publication::make(" in name:
                        pending = "make"
                    elif re.fullmatch(r"malloc(@.*)?", name):
                        pending = "malloc"
            elif line.startswith("calls=") and pending:
                calls[pending] = calls.get(pending, 0) + int(line.split("=")[1].split()[0])
                pending = None
            elif line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith(("summary:", "totals:")):
                totals = [int(x) for x in line.split()[1:]]
    return events, totals, calls


def run(args, k, port):
    out = tempfile.mkdtemp(prefix="fanout-profile-")
    cg = os.path.join(out, "callgrind.out")
    srv = subprocess.Popen(["taskset", "-c", args.server_cpu, "valgrind", "--tool=callgrind", "--cache-sim=yes",
                            f"--LL={args.ll}", f"--callgrind-out-file={cg}", args.anchor, str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, srv)
        if args.kind == "sse":
            cmd = [args.wsload, "sse", "-k", str(k), "-d", "16", "-s", "64", "-p", str(port),
                   "-t", str(args.seconds + 60), "-w", "1", "-v"]
        else:
            cmd = [args.deliveries, "--port", str(port), "--subscribers", str(k), "--size", "64",
                   "--window", "16", "--seconds", str(args.seconds + 60), "--warmup", "1", "--verbose"]
        gen = subprocess.Popen(["taskset", "-c", args.client_cpu] + cmd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # past the handshakes, the subscription barrier and the warm-up: its first measured second
        for line in gen.stderr:
            if "[measure]" in line:
                break
        else:
            sys.exit(f"fanout_profile.py: the generator ended before measuring (K={k})")
        subprocess.run(["callgrind_control", "-z", str(srv.pid)], capture_output=True)
        time.sleep(args.seconds)
        subprocess.run(["callgrind_control", "-d", str(srv.pid)], capture_output=True)
        gen.kill(); gen.communicate()
    finally:
        srv.terminate()
        srv.wait()
    dumps = sorted(p for p in os.listdir(out) if p.startswith("callgrind.out.") and not p.endswith(".log"))
    if not dumps:
        sys.exit("fanout_profile.py: no callgrind dump")
    events, totals, calls = parse(os.path.join(out, dumps[0]))
    e = dict(zip(events, totals))
    # Each publication reaches all K subscribers (the publisher is not one of them). Counted
    # from the publications made, since a delivery call may carry a run of publications.
    n = calls.get("make", 0) * k
    if not n:
        sys.exit(f"fanout_profile.py: no delivery counted for K={k} (see {out})")
    return {"k": k, "deliveries": n, "Ir": e["Ir"] / n, "D1": (e.get("D1mr", 0) + e.get("D1mw", 0)) / n,
            "LL": (e.get("DLmr", 0) + e.get("DLmw", 0)) / n, "malloc": calls.get("malloc", 0) / n, "dir": out,
            "calls": calls.get("deliver", 0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/rel"))
    ap.add_argument("--anchor", default=None)
    ap.add_argument("--ks", default="1000,10000")
    ap.add_argument("--ll", default="1048576,16,64")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--port", type=int, default=31500)
    ap.add_argument("--kind", choices=("ws", "sse"), default="ws")
    ap.add_argument("--wsload", default=os.path.join(ROOT, "build/kit/wsload"))
    args = ap.parse_args()
    args.anchor = args.anchor or os.path.join(args.build, "bench/anchor")
    args.deliveries = os.path.join(args.build, "bench/deliveries")
    print(f"| K | deliveries counted | Ir per delivery | D1 misses per delivery | LL ({args.ll}) misses per delivery "
          "| malloc per delivery | deliveries per delivery call |")
    print("|---|---|---|---|---|---|---|")
    for i, k in enumerate(int(x) for x in args.ks.split(",")):
        r = run(args, k, args.port + i)
        per_call = f"{r['deliveries'] / r['calls']:.1f}" if r["calls"] else "-"
        print(f"| {k} | {r['deliveries']:,} | {r['Ir']:.0f} | {r['D1']:.2f} | {r['LL']:.2f} | {r['malloc']:.3f} "
              f"| {per_call} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
