#!/usr/bin/env python3
"""Paired per-CPU-second ratios over several kit runs, and CPU per request against instructions.

    python3 bench/paired.py --baseline wisp-771eb0f build/kit/results/STAMP1 build/kit/results/STAMP2
    python3 bench/paired.py --baseline wisp-771eb0f --workload 'c=100' \\
        --ir wisp=3100 --ir wisp-771eb0f=4423 --ir rawhttp=568 RESULTS...

Each round of a server is paired with the baseline's round of the same number in the same run
(the kit runs the servers of one round back to back, so a pair shares the machine's state), and
the ratio is (value / server CPU) over the baseline's. Printed per workload and server: the
median of the pairs, their range and count. Rounds the kit retried (attempt > 0 after a busy
machine) count with their last attempt only; a round with foreign CPU above --max-foreign is
left out.

With --ir NAME=INSTRUCTIONS for at least two servers (user-space instructions per request, from
bench/work_per_request.py), it also fits server CPU-seconds per request t = k + a * Ir by least
squares over the servers' median t (each run's t normalised to the baseline's in that run), and
says how many instructions a request may cost for each --target ratio over the baseline: the
instruction budget the row allows on this machine, with k the kernel's and the loop's share.
"""
import argparse
import json
import re
import statistics
import sys
from pathlib import Path


def load(dirs, max_foreign):
    rows = {}
    for run, d in enumerate(dirs):
        for line in open(Path(d) / "runs.jsonl"):
            r = json.loads(line)
            if not r.get("value") or not r.get("server_cpu"):
                continue
            key = (run, r["workload"], r["server"], r["round"])
            if key in rows and rows[key]["attempt"] > r.get("attempt", 0):
                continue
            rows[key] = dict(r, attempt=r.get("attempt", 0))
    return {k: v for k, v in rows.items() if v.get("foreign_cpu", 0.0) <= max_foreign}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="kit results directories (with runs.jsonl)")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--workload", default="", help="regular expression the workload must match")
    ap.add_argument("--max-foreign", type=float, default=0.05)
    ap.add_argument("--ir", action="append", default=[], metavar="NAME=IR")
    ap.add_argument("--target", action="append", type=float, default=[], metavar="RATIO")
    args = ap.parse_args()
    rows = load(args.results, args.max_foreign)
    workloads = sorted({k[1] for k in rows if re.search(args.workload, k[1])})
    servers = sorted({k[2] for k in rows})
    ir = dict((n, float(v)) for n, v in (s.split("=", 1) for s in args.ir))
    for w in workloads:
        print(f"## {w} (baseline {args.baseline})")
        print("| server | paired median | range | pairs | t / baseline t |")
        print("|---|---|---|---|---|")
        rel_t = {}
        for s in servers:
            ratios, rel = [], []
            for (run, wl, srv, rnd), r in rows.items():
                if wl != w or srv != s:
                    continue
                b = rows.get((run, w, args.baseline, rnd))
                if not b:
                    continue
                mine, base = r["value"] / r["server_cpu"], b["value"] / b["server_cpu"]
                ratios.append(mine / base)
                rel.append(base / mine)  # CPU per request over the baseline's
            if not ratios:
                continue
            rel_t[s] = statistics.median(rel)
            print(f"| {s} | {statistics.median(ratios):.3f}x | {min(ratios):.2f}-{max(ratios):.2f} | "
                  f"{len(ratios)} | {rel_t[s]:.3f} |")
        pts = [(ir[s], rel_t[s]) for s in rel_t if s in ir]
        if len(pts) >= 2:
            n = len(pts)
            mx = sum(x for x, _ in pts) / n
            my = sum(y for _, y in pts) / n
            sxx = sum((x - mx) ** 2 for x, _ in pts)
            a = sum((x - mx) * (y - my) for x, y in pts) / sxx
            k = my - a * mx
            print(f"\nfit over {n} servers: t / baseline t = {k:.3f} + {a * 1000:.4f} per 1,000 Ir "
                  f"(the kernel's and the loop's share {k:.0%} of the baseline's CPU per request)")
            for s, (x, y) in zip([s for s in rel_t if s in ir], pts):
                print(f"  {s}: {x:,.0f} Ir, measured {y:.3f}, fit {k + a * x:.3f}")
            for t in args.target or [1.0]:
                budget = (1 / t - k) / a if a > 0 else float("nan")
                print(f"  {t:.2f}x over {args.baseline} allows {budget:,.0f} Ir per request")
        print()


if __name__ == "__main__":
    sys.exit(main())
