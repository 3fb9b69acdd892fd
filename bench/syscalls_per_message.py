#!/usr/bin/env python3
"""System calls, wakeups and CPU per echoed message of echo servers under the kit's load.

    python3 bench/syscalls_per_message.py --size 65536 --rounds 2 \\
        wisp=build/rel/bench/anchor raw=build/kit/rawecho:raw \\
        771eb0f=/work/bench/wisp-771eb0f/build/rel/bench/anchor

Each server (NAME=PATH, PATH:raw for rawecho, which wsload drives with -R) is started on CPU 0
with `PATH PORT` and loaded from CPU 1 with `wsload echo -c 100 -d 16 -s SIZE -t 5 -w 2` (the
kit's "echo SIZE, D=16" row). Over the measured five seconds `perf stat -p` counts the server's
system calls by name, its context switches and the wakeups it makes (sched:sched_waking), and
/proc/PID/stat gives its user and system time; each is divided by the messages wsload counted
in the same window (the two windows differ by a few milliseconds). Servers are taken in turn,
round by round. The counts are the kernel's side of the work per message, which a timed run on
a shared machine cannot compare; the CPU times are as noisy as the machine.
"""
import argparse, os, re, socket, subprocess, time

EVENTS = ["raw_syscalls:sys_enter"] + [
    "syscalls:sys_enter_" + s
    for s in ("recvfrom", "sendto", "sendmsg", "epoll_wait", "epoll_ctl", "read", "write")
] + ["context-switches", "sched:sched_waking"]


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]), int(f[12])   # utime, stime (clock ticks)


def run(name, path, raw, size, port, wsload):
    srv = subprocess.Popen(["taskset", "-c", "0", path, str(port)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        load = ["taskset", "-c", "1", wsload, "echo", "-c", "100", "-d", "16", "-s", str(size),
                "-p", str(port), "-t", "5", "-w", "2"] + (["-R"] if raw else [])
        ld = subprocess.Popen(load, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(2.0)
        u0, s0 = ticks(srv.pid)
        ps = subprocess.run(["perf", "stat", "-x,", "-e", ",".join(EVENTS), "-p", str(srv.pid),
                             "--", "sleep", "5"], capture_output=True, text=True)
        u1, s1 = ticks(srv.pid)
        out = ld.communicate()[0]
    finally:
        srv.terminate()
        srv.wait()
    m = re.search(r'"msgs":(\d+)', out)
    msgs = int(m.group(1)) if m else 0
    if msgs == 0:
        return f"| {name} | no messages counted | | | |"
    counts = {}
    for line in ps.stderr.splitlines():
        f = line.split(",")
        if len(f) > 3 and f[0].replace(".", "").isdigit():
            counts[f[2].split(":")[-1].replace("sys_enter_", "")] = int(float(f[0]))
    hz = os.sysconf("SC_CLK_TCK")
    us = lambda t: t / hz * 1e6 / msgs
    calls = ", ".join(f"{k} {v / msgs:.3f}" for k, v in counts.items()
                      if k not in ("sys_enter", "context-switches", "sched_waking") and v)
    return (f"| {name} | {msgs / 5:,.0f} | {counts.get('sys_enter', 0) / msgs:.3f} ({calls}) | "
            f"{counts.get('context-switches', 0) / msgs:.4f} / {counts.get('sched_waking', 0) / msgs:.4f} | "
            f"{us(u1 - u0 + s1 - s0):.2f} (user {us(u1 - u0):.2f}) |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", help="NAME=PATH, or NAME=PATH:raw for rawecho")
    ap.add_argument("--size", type=int, default=65536)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--wsload", default="build/kit/wsload")
    ap.add_argument("--port", type=int, default=9870)
    args = ap.parse_args()
    print("| server | msgs/s | syscalls per message | context switches / wakeups per message "
          "| server CPU us per message |")
    print("|---|---|---|---|---|")
    port = args.port
    for _ in range(args.rounds):
        for spec in args.servers:
            name, path = spec.split("=", 1)
            raw = path.endswith(":raw")
            port += 1
            print(run(name, path[:-4] if raw else path, raw, args.size, port, args.wsload),
                  flush=True)


if __name__ == "__main__":
    main()
