#!/usr/bin/env python3
"""How cost grows (issue 24 point 4): fan-out to K subscribers and memory per idle connection.

    python3 bench/cost_growth.py                          # defaults below, about 5 minutes
    python3 bench/cost_growth.py --rounds 5 --seconds 5   # more rounds
    python3 bench/cost_growth.py --summarize build/rel/cost-growth/<stamp>   # tables + plot again

(a) Fan-out: one publisher -> K subscribers, 64 B messages, 16 publications in flight, K in
    --fanout (10, 100, 1000, 10000). WebSocket subscribers are driven by bench/deliveries (it
    reads the server's CPU over the measured seconds itself, --server-pid); SSE streams by the
    kit's `wsload sse` (/_chat -> /_sse), whose once-a-second progress lines (-v) are paired with
    the server's CPU read at the same moment, so both count server CPU over the measured window
    only. Reported: deliveries/s, server CPU (share of one core), deliveries per server
    CPU-second and server CPU per delivery (µs). Rounds are interleaved (round, then K, then kind).
(b) Memory: a fresh server per point, N idle connections held by bench/idle_conns (WebSocket
    upgrades on /_ws, or `GET /_sse` streams, each subscribed to the topic), N in --idle (1k, 10k,
    30k, 100k); the server's VmRSS before and with them. KiB/conn = (RSS - RSS before) / N;
    "marginal" is the same between consecutive N. A point needs RLIMIT_NOFILE >= N + 64 in the
    server: where the hard limit is lower (and cannot be raised) the point is skipped and the
    largest thousand that fits is measured instead, and the summary says so.

The server is build/rel/bench/anchor (--anchor) on CPU 0 (--server-cpu), generators on CPU 1
(--client-cpu); a fresh server per run. Other processes' CPU during each run is recorded
("foreign", in cores, from /proc/stat): runs are not retried, so read it. Writes runs.jsonl,
summary.md and cost_growth.svg to build/rel/cost-growth/<stamp>/ (--out); --svg also copies the
plot (e.g. --svg bench/cost_growth.svg). Needs bench/anchor, bench/deliveries and
bench/idle_conns in --build, and the kit's wsload (build/kit/wsload, as bench/anchors.sh builds
it; else it is compiled from ../shared/bench/wsload.c into build/kit).
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost_growth_plot  # noqa: E402  (bench/cost_growth_plot.py: the SVG, no third-party module)

HZ = os.sysconf("SC_CLK_TCK")
LIVE = set()


# ---------------------------------------------------------------------------- /proc helpers
def cpu_task_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2]


def proc_cpu_s(pid):
    """CPU seconds of every thread of pid (schedstat, ns; /proc/PID/stat ticks as a fallback)."""
    total, seen = 0, False
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0]); seen = True
            except OSError:
                pass
    except OSError:
        return None
    if seen:
        return total / 1e9
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / HZ


def proc_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def nofile_limits():
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    for lim in ((max(want, 200064), max(want, 200064)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
            return
        except (ValueError, OSError):
            continue


def _on_signal(signum, _frame):
    for p in list(LIVE):
        try:
            p.kill()
        except OSError:
            pass
    sys.exit(128 + signum)


# ---------------------------------------------------------------------------- processes
class Server:
    def __init__(self, cmd, port, cpu, log):
        self.log = open(log, "a")
        if any("{port}" in c for c in cmd):
            cmd = [c.replace("{port}", str(port)) for c in cmd]
        else:
            cmd = cmd[:1] + [str(port)] + cmd[1:]   # anchor PORT [options]
        self.p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=self.log, stderr=self.log,
                                  preexec_fn=raise_nofile)
        LIVE.add(self.p)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"server exited early (see {log})")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"server did not listen on {port}")
        time.sleep(0.3)

    @property
    def pid(self):
        return self.p.pid   # taskset execs the server

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill(); self.p.wait()
        LIVE.discard(self.p)
        self.log.close()


def client(cmd, cpu, **kw):
    p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=raise_nofile, **kw)
    LIVE.add(p)
    return p


# ---------------------------------------------------------------------------- fan-out
def fanout_ws(args, k, port, logdir):
    srv = Server(args.anchor_cmd, port, args.server_cpu, os.path.join(logdir, "server.log"))
    try:
        f0, t0 = cpu_task_ticks(), time.time()
        s0 = proc_cpu_s(srv.pid)
        p = client([args.deliveries, "--port", str(port), "--subscribers", str(k), "--size", "64",
                    "--window", "16", "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                    "--server-pid", str(srv.pid)], args.client_cpu)
        try:
            out, err = p.communicate(timeout=args.seconds + args.warmup + 120)
        except subprocess.TimeoutExpired:
            p.kill(); p.communicate()
            raise
        finally:
            LIVE.discard(p)
        f1, t1, s1 = cpu_task_ticks(), time.time(), proc_cpu_s(srv.pid)
    finally:
        srv.stop()
    rec = {"kind": "ws", "k": k, "cmd": "deliveries", "wall_s": round(t1 - t0, 2)}
    last = (out.strip().splitlines() or [""])[-1].split()
    kv = dict(zip(last[::2], last[1::2]))
    if p.returncode != 0 or "deliveries/s" not in kv:
        rec["error"] = ((err.strip().splitlines() or out.strip().splitlines() or ["rc=%s" % p.returncode])[-1])[:300]
        return rec
    rec["value"] = float(kv["deliveries/s"])
    rec["server_cpu"] = float(kv["server_cpu"].split(",")[0])
    rec["client_cpu"] = float(kv["client_cpu"])
    rec["p50_us"] = float(kv.get("p50_us", 0))
    # others' CPU over the whole run (ours: the server and the generator's reaped CPU)
    ours = (s1 - s0) if s0 is not None and s1 is not None else 0.0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec["_ru"] = ru.ru_utime + ru.ru_stime
    rec["foreign"] = (f1 - f0) / HZ, ours
    return rec


def fanout_sse(args, k, port, logdir):
    srv = Server(args.anchor_cmd, port, args.server_cpu, os.path.join(logdir, "server.log"))
    samples = []   # (phase, msgs, t, server CPU s) at each progress line of wsload -v
    try:
        f0, t0 = cpu_task_ticks(), time.time()
        s0 = proc_cpu_s(srv.pid)
        p = client([args.wsload, "sse", "-k", str(k), "-d", "16", "-s", "64", "-p", str(port),
                    "-t", str(args.seconds), "-w", str(args.warmup), "-v"], args.client_cpu)

        def read_err():
            for line in p.stderr:
                now, cpu = time.time(), proc_cpu_s(srv.pid)
                if line.startswith("[") and "msgs=" in line:
                    phase = line[1:line.index("]")]
                    msgs = int(line.split("msgs=")[1].split()[0])
                    samples.append((phase, msgs, now, cpu))
                else:
                    samples.append(("stderr", line.strip(), now, cpu))
        th = threading.Thread(target=read_err, daemon=True)
        th.start()
        guard = threading.Timer(args.seconds + args.warmup + 120, p.kill)
        guard.start()
        out = p.stdout.read()   # not communicate(): the thread above owns stderr
        p.wait()
        guard.cancel()
        t_exit, cpu_exit = time.time(), proc_cpu_s(srv.pid)   # wsload exits when the window ends
        th.join(2)
        LIVE.discard(p)
        f1, t1, s1 = cpu_task_ticks(), time.time(), proc_cpu_s(srv.pid)
    finally:
        srv.stop()
    rec = {"kind": "sse", "k": k, "cmd": "wsload sse", "wall_s": round(t1 - t0, 2)}
    meas = [s for s in samples if s[0] == "measure"]
    try:
        j = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        j = {"error": "no JSON line"}
    if p.returncode != 0 or "error" in j or not meas:
        errs = [s[1] for s in samples if s[0] == "stderr"]
        rec["error"] = (errs[-1] if errs else j.get("error", f"rc={p.returncode}, no progress line"))[:300]
        return rec
    # from the first progress line of the measured window to its end (the counter's total)
    a, b = meas[0], ("end", j["msgs"], t_exit, cpu_exit)
    rec["value"] = j["msgs_per_s"]
    rec["server_cpu"] = (b[3] - a[3]) / (b[2] - a[2])
    rec["window_rate"] = (b[1] - a[1]) / (b[2] - a[2])   # the rate over the same window as the CPU
    rec["p50_us"] = j["lat_us"]["p50"]
    ours = (s1 - s0) if s0 is not None and s1 is not None else 0.0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec["_ru"] = ru.ru_utime + ru.ru_stime
    rec["foreign"] = (f1 - f0) / HZ, ours
    return rec


def finish(rec, ru_before):
    """Turn the raw CPU figures into per-delivery cost and the foreign load."""
    if "_ru" in rec:
        total, ours = rec.pop("foreign")
        client_s = rec.pop("_ru") - ru_before
        rec["foreign"] = round(max(0.0, total - ours - client_s) / rec["wall_s"], 3)
    if "value" in rec and rec.get("server_cpu"):
        rate = rec.get("window_rate", rec["value"])
        rec["per_cpu_s"] = rate / rec["server_cpu"]
        rec["us_per_delivery"] = 1e6 / rec["per_cpu_s"]
    return rec


# ---------------------------------------------------------------------------- memory
def idle_memory(args, kind, n, port, logdir):
    srv = Server(args.anchor_cmd, port, args.server_cpu, os.path.join(logdir, "server.log"))
    try:
        time.sleep(0.5)
        base = proc_rss_kb(srv.pid)
        p = client([args.idle_conns, "--port", str(port), "--conns", str(n), "--kind", kind], args.client_cpu,
                   stdin=subprocess.PIPE)
        guard = threading.Timer(360, p.kill)   # idle_conns gives up after 300 s of opening
        guard.start()
        first = p.stdout.readline()
        guard.cancel()
        rec = {"kind": kind, "n": n, "base_rss_kb": base}
        if not first.startswith("ready"):
            p.kill(); _, err = p.communicate()
            rec["error"] = (err.strip().splitlines() or ["no ready line"])[-1][:300]
            return rec
        time.sleep(1.5)
        rec["rss_kb"] = proc_rss_kb(srv.pid)
        rec["open_s"] = float(first.split()[-1])
        p.stdin.close()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait()
        LIVE.discard(p)
        rec["kib_per_conn"] = (rec["rss_kb"] - base) / n
        return rec
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- summary
def med(xs):
    return statistics.median(xs) if xs else None


def fmt(v, unit=""):
    if v is None:
        return "-"
    for div, suf in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            x = v / div
            return (f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}") + suf + unit
    return (f"{v:.2f}" if v < 10 else f"{v:.0f}") + unit


def cell(xs, f=fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    if len(xs) == 1:
        return f(xs[0])
    return f"{f(med(xs))} ({f(min(xs))}-{f(max(xs))})"


def summarize(outdir, meta=None):
    runs = [json.loads(l) for l in open(os.path.join(outdir, "runs.jsonl"))]
    if meta is None:
        try:
            meta = json.load(open(os.path.join(outdir, "meta.json")))
        except OSError:
            meta = {}
    fan = [r for r in runs if r.get("what") == "fanout"]
    mem = [r for r in runs if r.get("what") == "memory"]
    lines = [f"# How cost grows: run {os.path.basename(outdir.rstrip('/'))}", ""]
    if meta:
        lines += [f"anchor `{meta.get('anchor')}`, commit {meta.get('commit')}, {meta.get('rounds')} rounds of "
                  f"{meta.get('seconds')} s after {meta.get('warmup')} s of warm-up; server on CPU {meta.get('server_cpu')}, "
                  f"generators on CPU {meta.get('client_cpu')}.", ""]
    plot = {"fanout": {}, "memory": {}}
    if fan:
        lines += ["Fan-out, 1 publisher -> K subscribers, 64 B, 16 publications in flight; medians (min-max) over rounds.",
                  "", "| K | kind | deliveries/s | server CPU | deliveries per server CPU-s | server CPU per delivery | "
                  "p50 latency (publication -> last subscriber) | others' CPU | errors |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for kind in ("ws", "sse"):
            ks = sorted({r["k"] for r in fan if r["kind"] == kind})
            for k in ks:
                rs = [r for r in fan if r["kind"] == kind and r["k"] == k]
                ok = [r for r in rs if "error" not in r]
                us = [r["us_per_delivery"] for r in ok if "us_per_delivery" in r]
                plot["fanout"].setdefault(kind, []).append((k, med(us), min(us, default=None), max(us, default=None)))
                lines.append(f"| {k} | {'WebSocket' if kind == 'ws' else 'SSE'} | {cell([r['value'] for r in ok])} | "
                             f"{cell([r['server_cpu'] for r in ok], lambda v: f'{v:.2f}')} | "
                             f"{cell([r.get('per_cpu_s') for r in ok])} | "
                             f"{cell(us, lambda v: f'{v:.2f} µs')} | "
                             f"{cell([r.get('p50_us', 0) / 1000 for r in ok], lambda v: f'{v:.1f} ms')} | "
                             f"{cell([r.get('foreign') for r in ok], lambda v: f'{v:.2f}')} | "
                             f"{len(rs) - len(ok) or ''}{' (' + rs[-1]['error'] + ')' if len(rs) > len(ok) else ''} |")
        lines.append("")
        for kind in ("ws", "sse"):
            pts = dict((k, u) for k, u, _, _ in plot["fanout"].get(kind, []))
            if pts.get(1000) and pts.get(10000):
                lines.append(f"- {'WebSocket' if kind == 'ws' else 'SSE'}: server CPU per delivery at K=10000 / K=1000 = "
                             f"**{pts[10000] / pts[1000]:.2f}x** (flat would be 1.0x)")
        lines.append("")
    if mem:
        lines += ["Idle connections, a fresh server per point; KiB/conn = (RSS with N - RSS before) / N, marginal = the "
                  "same between consecutive N.", "",
                  "| N | kind | RSS before | RSS with N | KiB/conn | marginal KiB/conn | open time |",
                  "|---|---|---|---|---|---|---|"]
        for kind in ("ws", "sse"):
            ns = sorted({r["n"] for r in mem if r["kind"] == kind})
            prev = None
            for n in ns:
                rs = [r for r in mem if r["kind"] == kind and r["n"] == n]
                ok = [r for r in rs if "error" not in r]
                grown = med([r["rss_kb"] - r["base_rss_kb"] for r in ok])
                margin = "-"
                if prev and grown is not None:
                    margin = f"{(grown - prev[1]) / (n - prev[0]):.2f}"
                kib = med([r["kib_per_conn"] for r in ok])
                if kib is not None:
                    plot["memory"].setdefault(kind, []).append((n, kib))
                name = "WebSocket" if kind == "ws" else "SSE stream"
                lines.append(f"| {n:,} | {name} | {cell([r['base_rss_kb'] / 1024 for r in ok], lambda v: f'{v:.1f} MiB')} | "
                             f"{cell([r['rss_kb'] / 1024 for r in ok], lambda v: f'{v:.1f} MiB')} | "
                             f"{cell([r['kib_per_conn'] for r in ok], lambda v: f'{v:.2f}')} | {margin} | "
                             f"{cell([r['open_s'] for r in ok], lambda v: f'{v:.1f} s')} |"
                             + (f" error: {rs[-1]['error']}" if len(ok) < len(rs) else ""))
                if grown is not None:
                    prev = (n, grown)
        lines.append("")
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(text)
    cost_growth_plot.write_svg(os.path.join(outdir, "cost_growth.svg"), plot,
                               title=f"wisp: how cost grows (run {os.path.basename(outdir.rstrip('/'))})")
    return text


# ---------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/rel"))
    ap.add_argument("--kit", default=os.path.join(ROOT, "build/kit"))
    ap.add_argument("--anchor", default=None, help="server command, default BUILD/bench/anchor ({port} or appended)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--fanout", default="10,100,1000,10000", help="K values ('' skips the fan-out part)")
    ap.add_argument("--kinds", default="ws,sse")
    ap.add_argument("--idle", default="1000,10000,30000,100000", help="N values ('' skips the memory part)")
    ap.add_argument("--memory-rounds", type=int, default=1)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--port", type=int, default=31000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--svg", default=None, help="also copy the plot here")
    ap.add_argument("--summarize", default=None, help="print an earlier run's tables again")
    args = ap.parse_args()

    if args.summarize:
        print(summarize(args.summarize))
        if args.svg:
            shutil.copy(os.path.join(args.summarize, "cost_growth.svg"), args.svg)
        return 0

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    raise_nofile()
    args.anchor_cmd = (args.anchor or os.path.join(args.build, "bench/anchor")).split()
    args.deliveries = os.path.join(args.build, "bench/deliveries")
    args.idle_conns = os.path.join(args.build, "bench/idle_conns")
    args.wsload = os.path.join(args.kit, "wsload")
    kinds = [k for k in args.kinds.split(",") if k]
    if not os.path.exists(args.wsload) and "sse" in kinds:
        os.makedirs(args.kit, exist_ok=True)
        subprocess.check_call(["cc", "-O2", "-Wall", "-Wextra", "-o", args.wsload,
                               os.path.join(ROOT, "../shared/bench/wsload.c")])
    for exe in (args.anchor_cmd[0], args.deliveries, args.idle_conns):
        if not os.access(exe, os.X_OK):
            sys.exit(f"cost_growth.py: {exe} missing: ninja -C {args.build} bench/anchor bench/deliveries bench/idle_conns")

    stamp = time.strftime("%Y%m%d-%H%M%S")
    outdir = args.out or os.path.join(args.build, "cost-growth", stamp)
    os.makedirs(outdir, exist_ok=True)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    notes = []
    soft, hard = nofile_limits()
    ks = [int(x) for x in args.fanout.split(",") if x]
    ns = []
    cap = (hard - 100) // 1000 * 1000 if hard != resource.RLIM_INFINITY else None
    for x in (int(x) for x in args.idle.split(",") if x):
        if cap is not None and x + 64 > soft:
            notes.append(f"idle N={x:,} skipped: the server needs RLIMIT_NOFILE >= {x + 64}, and the hard limit "
                         f"here is {hard} (raising it needs CAP_SYS_RESOURCE); measured N={cap:,} instead")
            if cap not in ns and cap > 0:
                ns.append(cap)
        elif x not in ns:
            ns.append(x)
    ns.sort()
    for k in ks:
        if cap is not None and k + 64 > soft:
            notes.append(f"fan-out K={k} needs RLIMIT_NOFILE >= {k + 64} (hard limit {hard})")
    meta = {"anchor": " ".join(args.anchor_cmd), "commit": commit, "rounds": args.rounds, "seconds": args.seconds,
            "warmup": args.warmup, "server_cpu": args.server_cpu, "client_cpu": args.client_cpu, "notes": notes,
            "nofile": [soft, hard]}
    json.dump(meta, open(os.path.join(outdir, "meta.json"), "w"))
    runs = open(os.path.join(outdir, "runs.jsonl"), "a")
    port = args.port

    def record(rec):
        runs.write(json.dumps(rec) + "\n"); runs.flush()

    t_start = time.time()
    for rnd in range(1, args.rounds + 1):
        for k in ks:
            for kind in kinds:
                port += 1
                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                try:
                    rec = (fanout_ws if kind == "ws" else fanout_sse)(args, k, port, outdir)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    rec = {"kind": kind, "k": k, "error": str(e)}
                rec = finish(rec, ru0.ru_utime + ru0.ru_stime)
                rec.update({"what": "fanout", "round": rnd})
                record(rec)
                print(f"[cost_growth] r{rnd} fanout {kind:3} K={k:<6} "
                      + (f"error: {rec['error']}" if "error" in rec else
                         f"{rec['value'] / 1e3:8.0f}k/s server_cpu {rec['server_cpu']:.2f} "
                         f"{rec['us_per_delivery']:.3f} µs/delivery foreign {rec.get('foreign', 0):.2f}"), flush=True)
    for rnd in range(1, args.memory_rounds + 1):
        for kind in kinds:
            for n in ns:
                port += 1
                try:
                    rec = idle_memory(args, kind, n, port, outdir)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    rec = {"kind": kind, "n": n, "error": str(e)}
                rec.update({"what": "memory", "round": rnd})
                record(rec)
                print(f"[cost_growth] r{rnd} idle {kind:3} N={n:<6} "
                      + (f"error: {rec['error']}" if "error" in rec else
                         f"rss {rec['base_rss_kb']} -> {rec['rss_kb']} kB, {rec['kib_per_conn']:.2f} KiB/conn"),
                      flush=True)
    runs.close()
    meta["elapsed_s"] = round(time.time() - t_start)
    json.dump(meta, open(os.path.join(outdir, "meta.json"), "w"))
    print(summarize(outdir, meta))
    if args.svg:
        shutil.copy(os.path.join(outdir, "cost_growth.svg"), args.svg)
    print(f"[cost_growth] {outdir} ({meta['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
