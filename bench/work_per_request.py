#!/usr/bin/env python3
"""Instructions (callgrind Ir) and syscalls (strace -c) per request of bench/anchor servers.

    cc -O2 -o build/fixed_load bench/fixed_load.c
    python3 bench/work_per_request.py --load build/fixed_load \\
        new=build/rel/bench/anchor old=/work/bench/wisp-771eb0f/build/rel/bench/anchor

Deterministic where a timed run on a shared VM is not: for each server and workload the server
runs under valgrind --tool=callgrind (then under strace -c -f) while bench/fixed_load sends a
fixed number of requests; it runs twice, with a small and a large count, and the difference
divided by the difference of the counts is the work one more request costs (start-up, accept
and shutdown cancel out). Ir is user-space instructions only: the syscall count stands for the
kernel's part. Syscalls per request depend a little on batching (how many connections one
epoll_wait returns), so compare servers measured the same way, in the same run.
"""
import argparse, os, re, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import wait_port  # noqa: E402

WORKLOADS = {
    "keep-alive": (["http", "{port}", "10", "1"], 2000, 10000),
    "pipelined x16": (["http", "{port}", "10", "16"], 8000, 40000),
    "echo 16 B": (["ws", "{port}", "10", "16"], 2000, 10000),
    "echo 16 B text": (["ws-text", "{port}", "10", "16"], 2000, 10000),
    "echo 64 KiB text": (["ws-text", "{port}", "10", "65536"], 400, 2000),
}

def measure(tool, server, port, drive):
    """Runs `server` under callgrind (tool "ir") or strace -c -f (tool "sys") while drive()
    loads it, stops it, and returns (drive()'s result, the total, {syscall: calls})."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        if tool == "ir":
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, server, str(port)]
        else:
            cmd = ["strace", "-c", "-f", "-o", out, server, str(port)]
        srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, srv, deadline=60.0)
            result = drive()
        finally:
            target = srv.pid
            if tool == "sys":   # signal the traced server, not strace
                try:
                    kids = open(f"/proc/{srv.pid}/task/{srv.pid}/children").read().split()
                    target = int(kids[0]) if kids else srv.pid
                except OSError:
                    pass
            os.kill(target, signal.SIGTERM)
            srv.wait(timeout=120)
        text = open(out).read()
    if tool == "ir":
        m = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
        return result, int(m.group(1)), {}
    calls = {}
    for line in text.splitlines():
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    return result, sum(calls.values()), calls


def run_once(tool, server, load, workload, count, port):
    args, _, _ = WORKLOADS[workload]
    full = [load] + [a.format(port=port) for a in args] + [str(count)]
    _, total, calls = measure(
        tool, server, port,
        lambda: subprocess.run(full, check=True, stdout=subprocess.DEVNULL, timeout=600))
    return total, calls


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", help="name=path of an anchor binary")
    ap.add_argument("--load", default="build/fixed_load")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--port", type=int, default=9750)
    ap.add_argument("--no-strace", action="store_true")
    args = ap.parse_args()
    port = args.port
    rows = []
    for wl in args.workloads.split(","):
        _, small, large = WORKLOADS[wl]
        for spec in args.servers:
            name, path = spec.split("=", 1)
            res = {}
            for tool in (["ir"] if args.no_strace else ["ir", "sys"]):
                vals = []
                for count in (small, large):
                    port += 1
                    vals.append(run_once(tool, path, args.load, wl, count, port))
                per = (vals[1][0] - vals[0][0]) / (large - small)
                detail = {k: (vals[1][1].get(k, 0) - vals[0][1].get(k, 0)) / (large - small)
                          for k in vals[1][1]}
                res[tool] = (per, {k: v for k, v in detail.items() if abs(v) >= 0.01})
            rows.append((wl, name, res))
            ir = res["ir"][0]
            sysc = res.get("sys", (float("nan"), {}))
            top = ", ".join(f"{k} {v:.2f}" for k, v in sorted(sysc[1].items(), key=lambda kv: -kv[1]))
            print(f"| {wl} | {name} | {ir:,.0f} | {sysc[0]:.2f} | {top} |", flush=True)


if __name__ == "__main__":
    main()
