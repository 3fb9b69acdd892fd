#!/usr/bin/env python3
"""permessage-deflate benchmarks (bench/README.md, "permessage-deflate"): wisp's bench/anchor with
each compression mode against bench/deflate_load, server pinned to CPU 0 and the client to CPU 1,
a fresh server per run, the rows interleaved round by round, medians over the rounds.

  python3 bench/deflate.py [--rounds 3] [--seconds 5] [--rows fanout,echo] [--no-memory]

Rows: fan-out 1 -> 1000 of a 1 KiB JSON message, uncompressed and shared mode; echo of 1 KiB
JSON with 100 connections x 16 in flight, uncompressed and dedicated mode (and shared). Each run
reports messages/s, wire bytes per message, the server's CPU-seconds per million messages and
its zlib calls per message. A run during which other processes used more than 10% of the
machine is retried (up to 3 times): the "other" column says how busy the machine was.
Memory: server RSS with 1,000 and 10,000 idle connections per mode and window size, untouched
(upgraded only) and touched (one compressed message each way), (RSS10k - RSS1k) / 9,000.
Builds build/rel (meson release) first."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "build", "rel")
ANCHOR = os.path.join(REL, "bench", "anchor")
LOAD = os.path.join(REL, "bench", "deflate_load")

RUNS = {
    "fanout": [
        ("fan-out 1->1000, 1 KiB JSON, uncompressed", ["--deflate", "off"], ["fanout"]),
        ("fan-out 1->1000, 1 KiB JSON, shared", ["--deflate", "shared"], ["fanout", "--deflate"]),
    ],
    "echo": [
        ("echo 1 KiB JSON, 100x16, uncompressed", ["--deflate", "off"], ["echo"]),
        ("echo 1 KiB JSON, 100x16, dedicated", ["--deflate", "dedicated"], ["echo", "--deflate"]),
        ("echo 1 KiB JSON, 100x16, shared", ["--deflate", "shared"], ["echo", "--deflate"]),
    ],
}
MEMORY = [
    ("off", ["--deflate", "off"], False),
    ("shared, 15-bit window", ["--deflate", "shared"], True),
    ("dedicated, 15-bit window, memLevel 8", ["--deflate", "dedicated"], True),
    ("dedicated, 12-bit window, memLevel 6", ["--deflate", "dedicated", "--window-bits", "12",
                                              "--mem-level", "6"], True),
    ("dedicated, 10-bit window, memLevel 4", ["--deflate", "dedicated", "--window-bits", "10",
                                              "--mem-level", "4"], True),
    ("dedicated, 9-bit window, memLevel 1", ["--deflate", "dedicated", "--window-bits", "9",
                                             "--mem-level", "1"], True),
]


def others_cpu(exclude):
    """CPU jiffies used so far by every process except those in `exclude` (and this one)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in exclude or int(pid) == os.getpid():
            continue
        try:
            total += proc_cpu(int(pid))
        except (OSError, ValueError, IndexError):
            pass   # gone meanwhile
    return total


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def start_server(args):
    p = subprocess.Popen(["taskset", "-c", "0", ANCHOR, "0", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r":(\d+)", line)
    if not m:
        p.kill()
        raise RuntimeError(f"anchor did not start: {line!r} {p.stderr.read()}")
    return p, m.group(1)


def stop_server(p):
    p.terminate()
    _, err = p.communicate(timeout=30)
    m = re.search(r"zlib deflate_calls (\d+) inflate_calls (\d+)", err or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def one_run(server_args, client_args, seconds):
    tick = os.sysconf("SC_CLK_TCK")
    for attempt in range(3):
        srv, port = start_server(server_args)
        c = subprocess.Popen(["taskset", "-c", "1", LOAD, *client_args, "--port", port,
                              "--seconds", str(seconds), "--server-pid", str(srv.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        busy0, t0 = others_cpu({srv.pid, c.pid}), time.monotonic()
        out, err = c.communicate(timeout=seconds + 120)
        busy1, t1 = others_cpu({srv.pid, c.pid}), time.monotonic()
        calls = stop_server(srv)
        if c.returncode != 0:
            raise RuntimeError(f"deflate_load failed: {err.strip()}")
        line = out.strip().splitlines()[-1]
        f = dict(zip(line.split()[0::2], line.split()[1::2]))
        # Other processes' share of the 2 CPUs while this ran (compilers of other people).
        other_share = max(0.0, (busy1 - busy0) / tick / (2 * (t1 - t0)))
        r = {"msgs": float(f["msgs/s"]), "bytes": float(f["bytes_per_msg"]),
             "server_cpu": float(f["server_cpu"]), "client_cpu": float(f["client_cpu"]),
             "published": int(f["published"]), "deflate_calls": calls[0],
             "inflate_calls": calls[1], "other": other_share}
        if other_share <= 0.10:
            return r
        print(f"#   disturbed ({other_share:.0%} of the machine used by others), retrying",
              file=sys.stderr, flush=True)
        time.sleep(5)
    return r


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def memory_run(server_args, deflate, touch):
    srv, port = start_server(server_args)
    args = [LOAD, "idle", "--port", port, "--steps", "1000,10000"]
    if deflate:
        args.append("--deflate")
    if touch:
        args.append("--touch")
    c = subprocess.Popen(["taskset", "-c", "1", *args], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    rss = []
    for _ in range(2):
        line = c.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"idle client: {line!r}")
        time.sleep(0.5)   # let the server finish the last handshakes' work
        rss.append(rss_kib(srv.pid))
        c.stdin.write("\n")
        c.stdin.flush()
    c.stdin.close()
    c.wait(timeout=60)
    stop_server(srv)
    return (rss[1] - rss[0]) / 9000, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rows", default="fanout,echo")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(REL):
        subprocess.run(["meson", "setup", REL, "--buildtype=release", "-Dtests=false",
                        "-Dexamples=false", "-Dcompile_checks=false", "-Djson=disabled"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", REL, "bench/anchor", "bench/deflate_load"], check=True,
                   stdout=subprocess.DEVNULL)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"# commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{args_text()}")
    if not a.memory_only:
        rows = [r for k in a.rows.split(",") for r in RUNS[k]]
        results = {name: [] for name, _, _ in rows}
        for rnd in range(a.rounds):
            for name, sargs, cargs in rows:
                r = one_run(sargs, cargs, a.seconds)
                results[name].append(r)
                print(f"# round {rnd + 1}: {name}: {r['msgs']:.0f} msgs/s, {r['bytes']:.0f} B/msg, "
                      f"server {r['server_cpu']:.2f} CPU, client {r['client_cpu']:.2f}, "
                      f"other {r['other']:.0%}", file=sys.stderr, flush=True)
        print("| row | msgs/s (median, min-max) | wire bytes/msg | server CPU-s per 1M msgs "
              "| zlib deflate calls per publication / message | client CPU | others' load |")
        print("|---|---|---|---|---|---|---|")
        for name, _, _ in rows:
            rs = results[name]
            med = statistics.median([r["msgs"] for r in rs])
            lo, hi = min(r["msgs"] for r in rs), max(r["msgs"] for r in rs)
            b = statistics.median([r["bytes"] for r in rs])
            cpu_m = statistics.median([r["server_cpu"] / r["msgs"] * 1e6 for r in rs])
            per = "fan-out" in name
            calls = statistics.median([r["deflate_calls"] / max(1, r["published"]) for r in rs])
            ccpu = statistics.median([r["client_cpu"] for r in rs])
            other = max(r["other"] for r in rs)
            print(f"| {name} | {fmt(med)} ({fmt(lo)}-{fmt(hi)}) | {b:.0f} | {cpu_m:.2f} | "
                  f"{calls:.3f} per {'publication' if per else 'message sent'} | {ccpu:.2f} | "
                  f"<= {other:.0%} |")
    if not a.no_memory:
        print()
        print("| mode | idle, upgraded only (KiB/conn) | after one message each way (KiB/conn) |")
        print("|---|---|---|")
        for name, sargs, deflate in MEMORY:
            untouched, r0 = memory_run(sargs, deflate, False)
            touched, r1 = memory_run(sargs, deflate, True)
            print(f"| {name} | {untouched:.2f} | {touched:.2f} |", flush=True)
            print(f"#   {name}: RSS at 1k/10k {r0} untouched, {r1} touched", file=sys.stderr)


def fmt(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def args_text():
    return "python3 bench/deflate.py " + " ".join(sys.argv[1:])


if __name__ == "__main__":
    main()
