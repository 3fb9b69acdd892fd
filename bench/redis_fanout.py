#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-instance fan-out through Redis next to single-instance fan-out, in one run.

Configurations (each run starts its servers afresh, all pinned to --server-cpu; the generator,
bench/deliveries, runs on --client-cpu):
  single   one anchor, no Redis; 1 publisher and K subscribers on it (the baseline)
  bridged  one anchor bridged to Redis, everything on it: what the bridge costs when nothing
           has to cross (every publication still goes to Redis and comes back)
  cross    anchors A and B bridged to one redis-server; the publisher and K/2 subscribers on A,
           K/2 on B
Two modes per configuration: saturated (--window publications in flight, as fast as they
complete) for deliveries/s and CPU, and paced (--rate publications per second) for the latency
of every delivery, from a CLOCK_MONOTONIC stamp in the payload to the read that brought it.
Server CPU (each anchor, redis-server) is read from /proc over the measured window (the
threads' schedstat, in nanoseconds).
Then Redis alone (--ceiling): a fresh redis-server on --server-cpu, N connections SUBSCRIBEd to one
channel standing for N wisp instances (a drainer that reads and discards, on --client-cpu), and
redis-benchmark PUBLISHing envelope-sized messages, pipelined, as fast as Redis takes them:
Redis CPU per publication against N, the figures that say when one Redis is the limit.
Rounds interleave the configurations (their order rotates each round); before each run the
machine must be quiet (other processes under --foreign-max cores), and a run disturbed by
others is retried.

  python3 bench/redis_fanout.py --build build/rel [--rounds 3] [--seconds 5] [--warmup 1]
                                [--ceiling 0,1,2,4,8,16,32]
Writes BUILD/redis-fanout/<stamp>/{runs.jsonl,summary.md,*.log} and prints the summary.
Needs anchor built with WISP_REDIS (meson -Dredis=enabled) and redis-server on PATH.
"""
import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_port  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
CONFIGS = ["single", "bridged", "cross"]


def cpu_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)   # busy (all but idle and iowait), total


def proc_cpu(pid):
    """utime + stime of the process, all its threads, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def task_cpu(pid):
    """CPU seconds of the process's threads, to the nanosecond (first field of schedstat)."""
    ns = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                ns += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return ns / 1e9


def wait_quiet(limit, timeout):
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

class Proc:
    """A server pinned to one CPU; its output goes to `log`."""

    def __init__(self, cmd, log, ready, cpu, timeout=10):
        self.log = log
        self.out = open(log, "w")
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu), *cmd], stdout=self.out,
                                     stderr=subprocess.STDOUT, text=True)
        self.pid = self.proc.pid   # taskset execs the server: same process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(log) as f:
                if ready in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)   # polling another process's log, with a deadline
        self.stop()
        with open(log) as f:
            raise RuntimeError(f"{cmd[0]} did not start: {f.read()[-500:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        with open(self.log) as f:
            return f.read()


def redis_counters(text):
    """The anchor's exit line `redis published N received N dropped N ...` as a dict."""
    for line in text.splitlines():
        if line.startswith("redis published"):
            w = line.split()[1:]
            return {w[i]: int(w[i + 1]) for i in range(0, len(w) - 1, 2)}
    return {}


def parse_result(line):
    """deliveries' last line: `key value key value ...`."""
    w = line.split()
    out = {}
    for i in range(0, len(w) - 1, 2):
        k, v = w[i], w[i + 1]
        out[k] = [float(x) for x in v.split(",")] if k == "server_cpu" else float(v)
    return out


def start_servers(a, config, outdir, tag):
    """[(role, Proc)], the anchor the publisher uses first."""
    procs = []
    try:
        if config == "single":
            port = free_port()
            procs.append(("A", Proc([a.anchor, str(port)], f"{outdir}/{tag}-A.log", "listening on",
                                    a.server_cpu)))
            return procs, [port]
        rport = free_port()
        procs.append(("redis", Proc([a.redis_server, "--port", str(rport), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no"],
                                    f"{outdir}/{tag}-redis.log", "Ready to accept connections",
                                    a.server_cpu)))
        url = f"redis://127.0.0.1:{rport}"
        ports = []
        for role in (["A"] if config == "bridged" else ["A", "B"]):
            port = free_port()
            procs.insert(len(ports), (role, Proc([a.anchor, str(port), "--redis", url],
                                                 f"{outdir}/{tag}-{role}.log", "listening on",
                                                 a.server_cpu)))
            ports.append(port)
        return procs, ports
    except Exception:
        for _, p in procs:
            p.stop()
        raise


def run_once(a, config, mode, outdir, tag):
    procs, ports = start_servers(a, config, outdir, tag)
    rec = {"config": config, "mode": mode}
    try:
        pids = [p.pid for _, p in procs]
        cmd = ["taskset", "-c", str(a.client_cpu), a.deliveries, "--port", str(ports[0]),
               "--subscribers", str(a.subscribers), "--size", str(a.size), "--window",
               str(a.window), "--seconds", str(a.seconds), "--warmup", str(a.warmup), "--stamp",
               "--server-pid", ",".join(map(str, pids))]
        if len(ports) > 1:
            cmd += ["--port2", str(ports[1])]
        if mode == "paced":
            cmd += ["--rate", str(a.rate)]
        b0, t0 = cpu_busy()
        own0 = sum(proc_cpu(p) for p in pids)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + a.warmup + 120)
        wall = time.time() - start
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)   # the generator only: servers run on
        b1, t1 = cpu_busy()
        own = (sum(proc_cpu(p) for p in pids) - own0) / HZ
        client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        total = os.cpu_count() * (b1 - b0) / max(1, t1 - t0) * wall
        last = (r.stdout.strip().splitlines() or [""])[-1]
        rec.update(parse_result(last) if last.startswith("deliveries/s") else {})
        rec["foreign_cores"] = round(max(0.0, total - own - client) / wall, 3) if wall else 0
        rec["roles"] = [role for role, _ in procs]
        if r.returncode != 0 or "deliveries/s" not in rec:
            rec["error"] = (r.stderr.strip() or last)[-500:]
    finally:
        for role, p in procs:
            text = p.stop()
            if role != "redis" and config != "single":
                c = redis_counters(text)
                rec[f"redis_{role}"] = c
                if c.get("dropped") or c.get("rejected"):
                    rec["error"] = f"anchor {role}: the bridge dropped or rejected: {c}"
    return rec


ENVELOPE = "wisp1tc" + "0123456789abcdef" + ":"   # the bridge's envelope header, 24 bytes


def drain(port, n):
    """--drain: N connections SUBSCRIBEd to wisp:chat, everything read and thrown away."""
    import selectors
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$9\r\nwisp:chat\r\n")
        socks.append(c)
    for c in socks:   # the confirmation: *3 $9 subscribe $9 wisp:chat :1
        got = b""
        while got.count(b"\r\n") < 6:
            got += c.recv(4096)
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                while key.fileobj.recv(1 << 20):
                    pass
                sel.unregister(key.fileobj)   # closed by Redis (output buffer limit): say so
                print("closed", file=sys.stderr, flush=True)
            except BlockingIOError:
                pass


def ceiling_once(a, n, outdir):
    """Redis alone: publications/s and Redis CPU per publication with N subscribed instances."""
    port = free_port()
    redis = Proc([a.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no"], f"{outdir}/ceiling-{n}-redis.log",
                 "Ready to accept connections", a.server_cpu)
    drainer = None
    try:
        if n:
            drainer = subprocess.Popen(["taskset", "-c", str(a.client_cpu), sys.executable,
                                        os.path.abspath(__file__), "--drain", str(port), str(n)],
                                       stdout=subprocess.PIPE, text=True)
            if drainer.stdout.readline().strip() != "ready":
                raise RuntimeError("the drainer did not subscribe")
        payload = ENVELOPE + "x" * a.size
        cmd = ["taskset", "-c", str(a.client_cpu), a.redis_benchmark, "-p", str(port), "-c", "4",
               "-P", "32", "-n", str(a.ceiling_requests), "--csv", "PUBLISH", "wisp:chat", payload]
        c0, b0, t0 = task_cpu(redis.pid), *cpu_busy()
        start = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        wall = time.time() - start
        c1, (b1, t1) = task_cpu(redis.pid), cpu_busy()
        rps = 0.0
        for line in r.stdout.splitlines():
            cells = [x.strip('"') for x in line.split(",")]
            if len(cells) > 1 and cells[0].startswith("PUBLISH"):
                rps = float(cells[1])
        total = os.cpu_count() * (b1 - b0) / max(1, t1 - t0) * wall
        return {"instances": n, "publications/s": rps, "redis_cpu": (c1 - c0) / wall,
                "redis_us_per_pub": (c1 - c0) / a.ceiling_requests * 1e6,
                "machine_cores": round(total / wall, 3), "error": r.stderr[-300:] if not rps else None}
    finally:
        if drainer:
            drainer.kill()
            drainer.wait()
        redis.stop()


def ceiling_table(a, rows):
    lines = ["", f"Redis alone ({a.size} B messages in the bridge's envelope, {a.size + len(ENVELOPE)} B; "
             "redis-benchmark -c 4 -P 32 PUBLISH; N subscribed connections standing for N instances; "
             f"Redis on CPU {a.server_cpu}, the benchmark and the drainer on CPU {a.client_cpu}). "
             f"Medians of {a.rounds} rounds:", "",
             "| subscribed instances N | PUBLISH/s | Redis CPU (cores) | Redis µs per publication | "
             "messages out of Redis/s |", "|---|---|---|---|---|"]
    for n in a.ceiling:
        rs = [r for r in rows if r["instances"] == n and not r.get("error")]
        if not rs:
            lines.append(f"| {n} | (no valid run) | | | |")
            continue
        rate = med([r["publications/s"] for r in rs])
        lines.append(f"| {n} | {cell([r['publications/s'] for r in rs])} | "
                     f"{med([r['redis_cpu'] for r in rs]):.2f} | "
                     f"{cell([r['redis_us_per_pub'] for r in rs], lambda v: f'{v:.2f}')} | "
                     f"{si(rate * n)} |")
    return "\n".join(lines) + "\n"


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def si(v):
    if v != v:
        return "-"
    for unit, f in (("M", 1e6), ("k", 1e3)):
        if abs(v) >= f:
            return f"{v / f:.2f}{unit}" if v / f < 10 else f"{v / f:.1f}{unit}" if v / f < 100 \
                else f"{v / f:.0f}{unit}"
    return f"{v:.0f}"


def cell(xs, fmt=si):
    return f"{fmt(med(xs))} ({fmt(min(xs))}-{fmt(max(xs))})" if xs else "-"


def derived(r):
    """Per-run figures: CPU shares by role, deliveries per CPU-second, Redis per publication."""
    share = dict(zip(r["roles"], r["server_cpu"]))
    wisp = sum(v for k, v in share.items() if k != "redis")
    redis = share.get("redis", 0.0)
    d = r["deliveries/s"]
    return {
        "A": share.get("A", 0.0), "B": share.get("B", 0.0), "redis": redis, "wisp": wisp,
        "per_wisp_cpu": d / wisp if wisp > 0 else float("nan"),
        "per_cpu": d / (wisp + redis) if wisp + redis > 0 else float("nan"),
        "redis_us_per_pub": redis / r["publications/s"] * 1e6 if r["publications/s"] else 0.0,
        "wisp_us_per_delivery": wisp / d * 1e6 if d else float("nan"),
        "wisp_us_per_pub": wisp / r["publications/s"] * 1e6 if r["publications/s"] else float("nan"),
        "A_us_per_pub": share.get("A", 0.0) / r["publications/s"] * 1e6 if r["publications/s"] else 0.0,
        "B_us_per_pub": share.get("B", 0.0) / r["publications/s"] * 1e6 if r["publications/s"] else 0.0,
    }


def summarize(a, runs, stamp):
    ok = [r for r in runs if "error" not in r]
    configs = [c for c in CONFIGS if c in a.configs]
    label = {"single": "single instance, no Redis",
             "bridged": "1 instance bridged (nothing crosses)",
             "cross": f"A + B through Redis ({a.subscribers // 2} + {a.subscribers - a.subscribers // 2})"}
    foreign = [r["foreign_cores"] for r in ok]
    lines = [
        f"Run {stamp}: {a.rounds} rounds, {a.seconds} s measured after {a.warmup} s of warm-up, "
        f"1 publisher -> {a.subscribers} WebSocket subscribers, {a.size} B text; every server "
        f"(anchors, redis-server) on CPU {a.server_cpu}, bench/deliveries on CPU {a.client_cpu}. "
        f"Medians (min-max); ratios are medians of per-round ratios against the single instance. "
        f"Other processes used {med(foreign):.2f} cores (median; max {max(foreign or [0]):.2f}) "
        f"during the runs kept."]
    sat = [
        "", f"Saturated ({a.window} publications in flight):", "",
        "| configuration | deliveries/s | vs single | wisp CPU (A / B) | Redis CPU | "
        "deliveries per wisp CPU-s | per CPU-s incl. Redis | vs single | wisp CPU per publication | "
        "Redis CPU per publication |",
        "|---|---|---|---|---|---|---|---|---|---|"]

    def pick(config, mode):
        return [r for r in ok if r["config"] == config and r["mode"] == mode]

    def ratio(config, mode, f):
        pairs = [(p, q) for p in pick("single", mode) for q in pick(config, mode)
                 if p["round"] == q["round"]]
        return med([f(q) / f(p) for p, q in pairs])

    for c in configs:
        rs = pick(c, "saturated")
        if not rs:
            sat.append(f"| {label[c]} | (no valid run) | | | | | | | | |")
            continue
        ds = [derived(r) for r in rs]
        cpu_ab = (f"{med([d['A'] for d in ds]):.2f} / {med([d['B'] for d in ds]):.2f}" if c == "cross"
                  else f"{med([d['A'] for d in ds]):.2f}")
        sat.append(
            f"| {label[c]} | {cell([r['deliveries/s'] for r in rs])} | "
            f"{ratio(c, 'saturated', lambda r: r['deliveries/s']):.2f}x | {cpu_ab} | "
            f"{med([d['redis'] for d in ds]):.2f} | {cell([d['per_wisp_cpu'] for d in ds])} | "
            f"{cell([d['per_cpu'] for d in ds])} | "
            f"{ratio(c, 'saturated', lambda r: derived(r)['per_cpu']):.2f}x | "
            f"{med([d['wisp_us_per_pub'] for d in ds]):.1f} µs"
            + (f" ({med([d['A_us_per_pub'] for d in ds]):.1f} + "
               f"{med([d['B_us_per_pub'] for d in ds]):.1f})" if c == "cross" else "")
            + f" | {med([d['redis_us_per_pub'] for d in ds]):.1f} µs |")
    if any(r["mode"] == "saturated" for r in runs):
        lines += sat
    paced = ["", f"Paced ({a.rate:g} publications/s, {si(a.rate * a.subscribers)} deliveries/s); "
              "latency of every delivery, publish -> received:", "",
              "| configuration | p50 | p99 | p99.9 | wisp CPU (A / B) | Redis CPU | "
              "wisp CPU per delivery |", "|---|---|---|---|---|---|---|"]
    for c in configs:
        rs = pick(c, "paced")
        if not rs:
            paced.append(f"| {label[c]} | (no valid run) | | | | | |")
            continue
        ds = [derived(r) for r in rs]
        cpu_ab = (f"{med([d['A'] for d in ds]):.2f} / {med([d['B'] for d in ds]):.2f}" if c == "cross"
                  else f"{med([d['A'] for d in ds]):.2f}")

        def us(v):
            return f"{v / 1000:.1f} ms" if v >= 1000 else f"{v:.0f} µs"
        paced.append(
            f"| {label[c]} | {cell([r['delivery_p50_us'] for r in rs], us)} | "
            f"{cell([r['delivery_p99_us'] for r in rs], us)} | "
            f"{cell([r['delivery_p999_us'] for r in rs], us)} | {cpu_ab} | "
            f"{med([d['redis'] for d in ds]):.3f} | "
            f"{med([d['wisp_us_per_delivery'] for d in ds]):.2f} µs |")
    if any(r["mode"] == "paced" for r in runs):
        lines += paced
    bad = [r for r in runs if "error" in r]
    if bad:
        lines += ["", f"{len(bad)} attempt(s) discarded and retried (an error, or other processes "
                  "busy): "
                  + "; ".join(f"{r['config']} {r['mode']} round {r['round']}: "
                              f"{r['error'][:120]}" for r in bad)]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/rel")
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--rate", type=float, default=50, help="publications/s of the paced runs")
    ap.add_argument("--modes", default="saturated,paced")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--foreign-max", type=float, default=0.25)
    ap.add_argument("--quiet-timeout", type=float, default=120)
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--ceiling", default="0,1,2,4,8,16,32",
                    help="subscribed instances for the Redis-alone runs ('' for none)")
    ap.add_argument("--ceiling-requests", type=int, default=1000000)
    ap.add_argument("--redis-benchmark", default=shutil.which("redis-benchmark") or "redis-benchmark")
    ap.add_argument("--summarize", metavar="DIR",
                    help="only print the summary of an earlier run's runs.jsonl (same options)")
    ap.add_argument("--drain", nargs=2, type=int, metavar=("PORT", "N"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.drain:
        drain(*a.drain)
        return
    a.ceiling = [int(x) for x in a.ceiling.split(",") if x]
    if a.summarize:
        with open(os.path.join(a.summarize, "runs.jsonl")) as f:
            recs = [json.loads(line) for line in f]
        runs = [r for r in recs if "config" in r]
        ceiling = [r for r in recs if "instances" in r]
        a.configs = sorted({r["config"] for r in runs}, key=CONFIGS.index)
        a.ceiling = sorted({r["instances"] for r in ceiling})
        print((summarize(a, runs, os.path.basename(a.summarize.rstrip("/"))) if runs else "")
              + (ceiling_table(a, ceiling) if ceiling else ""))
        return
    a.anchor = os.path.join(a.build, "bench", "anchor")
    a.deliveries = os.path.join(a.build, "bench", "deliveries")
    a.configs = [c for c in a.configs.split(",") if c]
    unknown = set(a.configs) - set(CONFIGS)
    if unknown or "single" not in a.configs:
        ap.error(f"--configs: from {CONFIGS}, single included (the baseline)")
    modes = [m for m in a.modes.split(",") if m]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(a.build, "redis-fanout", stamp)
    os.makedirs(outdir, exist_ok=True)
    runs = []
    with open(os.path.join(outdir, "runs.jsonl"), "w") as log:
        for rnd in range(a.rounds):
            order = a.configs[rnd % len(a.configs):] + a.configs[:rnd % len(a.configs)]
            for mode in modes:
                for config in order:
                    for attempt in range(a.retries + 1):
                        wait_quiet(a.foreign_max, a.quiet_timeout)
                        tag = f"r{rnd}-{mode}-{config}-{attempt}"
                        try:
                            rec = run_once(a, config, mode, outdir, tag)
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            rec = {"config": config, "mode": mode, "error": str(e)[-500:]}
                        rec.update({"round": rnd, "attempt": attempt})
                        if "error" not in rec and rec["foreign_cores"] > a.foreign_max:
                            rec["error"] = f"other processes used {rec['foreign_cores']:.2f} cores"
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                        runs.append(rec)
                        print(f"# round {rnd} {mode} {config}: {si(rec.get('deliveries/s', 0))} "
                              f"deliveries/s, p50 {rec.get('delivery_p50_us')} µs, p99 "
                              f"{rec.get('delivery_p99_us')} µs, cpu {rec.get('server_cpu')}, "
                              f"foreign {rec.get('foreign_cores')}"
                              + (f" ERROR {rec['error'][:200]}" if "error" in rec else ""),
                              file=sys.stderr, flush=True)
                        if "error" not in rec:
                            break
        ceiling = []
        for rnd in range(a.rounds if a.ceiling else 0):
            for n in a.ceiling:
                wait_quiet(a.foreign_max, a.quiet_timeout)
                try:
                    rec = ceiling_once(a, n, outdir)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    rec = {"instances": n, "error": str(e)[-300:]}
                rec["round"] = rnd
                log.write(json.dumps(rec) + "\n")
                log.flush()
                print(f"# round {rnd} Redis alone, {n} subscribed: {si(rec.get('publications/s', 0))} "
                      f"PUBLISH/s, {rec.get('redis_us_per_pub', 0):.2f} µs Redis CPU each, redis "
                      f"{rec.get('redis_cpu', 0):.2f} cores, machine {rec.get('machine_cores')}"
                      + (f" ERROR {rec['error']}" if rec.get("error") else ""),
                      file=sys.stderr, flush=True)
                ceiling.append(rec)
    text = summarize(a, runs, stamp) if runs else ""
    if ceiling:
        text += ceiling_table(a, ceiling)
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
