#!/usr/bin/env python3
"""Heap allocations per message on the hot path of bench/anchor, with the kit's load generators.

    python3 bench/allocs.py --build build/rel --kit build/kit

For each workload: starts anchor under LD_PRELOAD=liballoc_count.so, runs the load for
--seconds after a one-second warm-up, and samples the allocation counter (SIGUSR2) when the
measured window begins and ends. Allocations per message = allocations in the window divided by
the messages (deliveries, requests) the generator counted in that window; the two clocks differ
by a few milliseconds, so read 0.003 as zero. The kit (`../shared/bench`) is read-only: copy it
to a writable place and build it there (bench/README.md), then pass that directory as --kit.
"""
import argparse, json, os, re, signal, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import wait_port  # noqa: E402

WORKLOADS = [
    ("echo 16 B, D=16", ["echo", "-c", "100", "-d", "16", "-s", "16"]),
    ("echo 1 KiB, D=16", ["echo", "-c", "100", "-d", "16", "-s", "1024"]),
    ("echo 64 KiB, D=16", ["echo", "-c", "100", "-d", "16", "-s", "65536"]),
    ("fanout K=100 (64 B)", ["fanout", "-k", "100", "-d", "16", "-s", "64"]),
    ("SSE fanout K=100 (64 B)", ["sse", "-k", "100", "-d", "16", "-s", "64"]),
    ("HTTP GET / pipelined x16", "wrk"),
]

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/rel")
    ap.add_argument("--kit", default="build/kit")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--port", type=int, default=9701)
    args = ap.parse_args()
    anchor = os.path.join(args.build, "bench", "anchor")
    lib = os.path.abspath(os.path.join(args.build, "bench", "liballoc_count.so"))
    port = args.port
    print("| workload | messages in window | allocations in window | allocations per message |")
    print("|---|---|---|---|")
    for name, load in WORKLOADS:
        port += 1
        env = dict(os.environ, LD_PRELOAD=lib)
        srv = subprocess.Popen(["taskset", "-c", "0", anchor, str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_port(port)
        if load == "wrk":
            cmd = ["wrk", "-t1", "-c100", f"-d{int(args.seconds) + 1}s", "-s",
                   os.path.join(args.kit, "pipeline.lua"), f"http://127.0.0.1:{port}/"]
        else:
            cmd = [os.path.join(args.kit, "wsload")] + load + ["-t", str(args.seconds), "-w", "1",
                                                              "-p", str(port)]
        gen = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        srv.send_signal(signal.SIGUSR2)
        t0 = time.time()
        time.sleep(args.seconds)
        srv.send_signal(signal.SIGUSR2)
        window = time.time() - t0
        out, _ = gen.communicate()
        srv.send_signal(signal.SIGTERM)
        _, err = srv.communicate()
        counts = [int(m.group(1)) for m in re.finditer(r"alloc_count: allocations (\d+)", err)]
        if len(counts) < 2:
            print(f"| {name} | - | - | (no counter output: {err.strip()[:80]}) |")
            continue
        if load == "wrk":
            m = re.search(r"Requests/sec:\s+([\d.]+)", out)
            msgs = float(m.group(1)) * window if m else 0
        else:
            j = json.loads(out.strip().splitlines()[-1])
            msgs = j["msgs_per_s"] * window
        allocs = counts[1] - counts[0]
        per = allocs / msgs if msgs else float("nan")
        print(f"| {name} | {msgs:,.0f} | {allocs:,} | {per:.3f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
