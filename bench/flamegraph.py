#!/usr/bin/env python3
"""Flame graphs of a bench server under load (issue 24: "keep flame graphs of the before and
after for the fan-out and SSE rows in bench/").

Starts SERVER (with {port} replaced), waits for its port, starts LOAD against it, lets it warm
up, samples the server's stacks with `perf record` (software clock, user and kernel frames,
DWARF unwinding, so release binaries without frame pointers unwind too), stops both, folds the
stacks and writes an SVG flame graph. Kernel frames are drawn in blue, the server's own in
warm colours; each frame's tooltip gives its samples and share.

    python3 bench/flamegraph.py --title 'fan-out K=1000, main' --out bench/flame/fanout-main.svg \\
        --server 'build/rel/bench/anchor {port}' \\
        --load 'build/kit/wsload fanout -k 1000 -d 16 -s 64 -p {port} -t 8 -w 1'

    python3 bench/flamegraph.py --fold perf.script --out x.svg      # render a saved `perf script`

Needs `perf` (Debian linux-perf) and root (or kernel.perf_event_paranoid <= 1). The folding
and the drawing are this script's own; no other tool is used.
"""
import argparse
import collections
import html
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_port, wait_port  # noqa: E402


def record(server, load, seconds, warmup, freq):
    """Runs server and load, samples the server for `seconds`; returns `perf script` text."""
    port = free_port()
    srv = subprocess.Popen(shlex.split(server.format(port=port)), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    gen = None
    try:
        wait_port(port, srv)
        gen = subprocess.Popen(shlex.split(load.format(port=port)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(warmup)
        if gen.poll() is not None:
            raise SystemExit("load generator exited during warm-up")
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "perf.data")
            subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(freq),
                            "--call-graph", "dwarf,16384", "-p", str(srv.pid), "-o", data,
                            "--", "sleep", str(seconds)], check=True,
                           stdout=subprocess.DEVNULL)
            out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym,dso"],
                                 check=True, capture_output=True, text=True,
                                 errors="replace").stdout
    finally:
        for p in (gen, srv):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in (gen, srv):
            if p is not None:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
    return out


def short_name(sym):
    """A C++ symbol without its parameter list, template arguments and ABI tags, so that
    frames stay readable: `wisp::v0_1::detail::Loop::settle`."""
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    sym = sym.replace("wisp::v0_1::", "wisp::")
    out, depth = [], 0
    i = 0
    while i < len(sym):
        c = sym[i]
        if sym.startswith("operator", i) and depth == 0:
            # operator(), operator<, operator<<...: keep the operator's own characters.
            m = re.match(r"operator(\(\)|<<=?|>>=?|<=?|>=?|\[\]|->|[^ (]*)", sym[i:])
            out.append(m.group(0))
            i += len(m.group(0))
            continue
        if c in "<(":
            depth += 1
        elif c in ">)" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(c)
        i += 1
    name = "".join(out).strip()
    name = re.sub(r"\[clone [^\]]*\]", "", name).strip()
    return name or sym


def fold(script_text):
    """perf script text -> Counter of 'root;...;leaf' stacks (kernel frames end in _[k])."""
    stacks = collections.Counter()
    frames, comm = [], None
    for line in script_text.splitlines() + [""]:
        if not line.strip():
            if comm is not None:
                stacks[";".join([comm] + frames[::-1])] += 1
            frames, comm = [], None
            continue
        if not line.startswith((" ", "\t")):
            comm = line.split()[0] if line.split() else "?"
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        m = re.match(r"(.*) \(([^()]*)\)$", rest)
        sym, dso = (m.group(1), m.group(2)) if m else (rest, "")
        if sym == "[unknown]":
            sym = "[%s]" % os.path.basename(dso) if dso else "[unknown]"
        name = short_name(sym)
        if "kernel.kallsyms" in dso or dso.startswith("[kernel"):
            name += "_[k]"
        frames.append(name.replace(";", ":"))
    return stacks


class Node:
    __slots__ = ("name", "value", "children")

    def __init__(self, name):
        self.name, self.value, self.children = name, 0, {}


def build_tree(stacks):
    root = Node("all")
    for stack, n in stacks.items():
        node = root
        node.value += n
        for f in stack.split(";"):
            node = node.children.setdefault(f, Node(f))
            node.value += n
    return root


def colour(name):
    h = zlib.crc32(name.encode()) & 0xffff
    if name.endswith("_[k]"):
        return "rgb(%d,%d,%d)" % (80 + h % 60, 140 + h % 50, 220)
    if "wisp::" in name:
        return "rgb(%d,%d,%d)" % (230, 110 + h % 90, 40 + h % 40)
    return "rgb(%d,%d,%d)" % (200 + h % 40, 180 + h % 50, 60 + h % 40)


def render(root, title, subtitle, width=1200, row=16, min_px=0.3):
    total = max(root.value, 1)
    scale = (width - 20) / total
    rects, maxdepth = [], 0

    def walk(node, x, depth):
        nonlocal maxdepth
        w = node.value * scale
        if w < min_px:
            return
        maxdepth = max(maxdepth, depth)
        rects.append((node, x, depth, w))
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            walk(child, cx, depth + 1)
            cx += child.value * scale

    walk(root, 10.0, 0)
    height = (maxdepth + 1) * row + 70
    out = ['<?xml version="1.0" standalone="no"?>',
           '<svg version="1.1" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg" '
           'font-family="Verdana, sans-serif" font-size="11">' % (width, height),
           '<rect x="0" y="0" width="%d" height="%d" fill="#f8f8f8"/>' % (width, height),
           '<text x="%d" y="20" text-anchor="middle" font-size="15">%s</text>'
           % (width // 2, html.escape(title)),
           '<text x="%d" y="38" text-anchor="middle" fill="#555">%s</text>'
           % (width // 2, html.escape(subtitle))]
    for node, x, depth, w in rects:
        y = height - 10 - (depth + 1) * row
        pct = 100.0 * node.value / total
        label = node.name.replace("_[k]", " [k]")
        tip = "%s (%d samples, %.2f%%)" % (label, node.value, pct)
        out.append('<g><title>%s</title><rect x="%.1f" y="%d" width="%.1f" height="%d" '
                   'fill="%s" rx="2"/>' % (html.escape(tip), x, y, w, row - 1, colour(node.name)))
        chars = int(w / 7)
        if chars >= 3:
            text = label if len(label) <= chars else label[:chars - 2] + ".."
            out.append('<text x="%.1f" y="%d">%s</text>' % (x + 3, y + row - 4,
                                                            html.escape(text)))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def shares(stacks):
    """(kernel share, the top self-time frames) of folded stacks."""
    total = sum(stacks.values()) or 1
    kernel = sum(n for s, n in stacks.items() if s.split(";")[-1].endswith("_[k]"))
    leaf = collections.Counter()
    for s, n in stacks.items():
        leaf[s.split(";")[-1]] += n
    return kernel / total, [(f, n / total) for f, n in leaf.most_common(8)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", help="server command, {port} replaced")
    ap.add_argument("--load", help="load command, {port} replaced")
    ap.add_argument("--fold", help="render this saved `perf script` output instead")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--freq", type=int, default=499)
    ap.add_argument("--title", default="wisp")
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-script", help="also keep the `perf script` text here")
    args = ap.parse_args()
    if args.fold:
        with open(args.fold, encoding="utf-8", errors="replace") as f:
            text = f.read()
    elif args.server and args.load:
        text = record(args.server, args.load, args.seconds, args.warmup, args.freq)
    else:
        ap.error("give --server and --load, or --fold")
    if args.save_script:
        with open(args.save_script, "w", encoding="utf-8") as f:
            f.write(text)
    stacks = fold(text)
    if not stacks:
        raise SystemExit("no samples")
    kshare, top = shares(stacks)
    sub = "%d samples; kernel %.0f%% of the server's CPU; widest self: %s" % (
        sum(stacks.values()), 100 * kshare,
        ", ".join("%s %.0f%%" % (f.replace("_[k]", ""), 100 * s) for f, s in top[:3]))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(render(build_tree(stacks), args.title, sub))
    print("%s: %d samples, kernel %.1f%%" % (args.out, sum(stacks.values()), 100 * kshare))
    for name, s in top:
        print("  %5.1f%%  %s" % (100 * s, name))


if __name__ == "__main__":
    main()
