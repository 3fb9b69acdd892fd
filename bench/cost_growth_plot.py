"""The plot of bench/cost_growth.py: plain SVG written by hand, no third-party module.

Two panels with a logarithmic x axis: server CPU per delivery (µs) against the subscribers K
(median and min-max bar per K, WebSocket and SSE), and KiB per idle connection against N.

    python3 bench/cost_growth_plot.py RUN_DIR [OUT.svg]     # = cost_growth.py --summarize RUN_DIR
"""
import math
import sys

COLORS = {"ws": "#1f6fb4", "sse": "#d9731a"}
NAMES = {"ws": "WebSocket", "sse": "SSE"}
W, H = 900, 380
PANEL_W, PANEL_H = 360, 250
LEFT = (70, 520)   # x of each panel's origin
TOP = 60


def _esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def _fmt_tick(v):
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def _panel(out, x0, title, xlabel, ylabel, series, xs_all):
    """series: {kind: [(x, y, lo, hi), ...]} (lo/hi may be None)."""
    ys = [v for pts in series.values() for p in pts for v in p[1:] if v is not None]
    ymax = _nice_max(max(ys) * 1.1 if ys else 1.0)
    xs = sorted(set(xs_all)) or [1, 10]
    lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
    if lx1 - lx0 < 1e-9:
        lx0, lx1 = lx0 - 0.5, lx1 + 0.5
    pad = 0.08 * (lx1 - lx0)
    lx0, lx1 = lx0 - pad, lx1 + pad

    def px(x):
        return x0 + (math.log10(x) - lx0) / (lx1 - lx0) * PANEL_W

    def py(y):
        return TOP + PANEL_H - y / ymax * PANEL_H

    out.append(f'<text x="{x0 + PANEL_W / 2}" y="{TOP - 14}" text-anchor="middle" font-weight="bold">'
               f'{_esc(title)}</text>')
    out.append(f'<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#444"/>')
    for i in range(6):
        y = ymax * i / 5
        out.append(f'<line x1="{x0}" x2="{x0 + PANEL_W}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for x in xs:
        out.append(f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{TOP}" y2="{TOP + PANEL_H}" stroke="#eee"/>')
        out.append(f'<text x="{px(x):.1f}" y="{TOP + PANEL_H + 16}" text-anchor="middle">{_fmt_tick(x)}</text>')
    out.append(f'<text x="{x0 + PANEL_W / 2}" y="{TOP + PANEL_H + 36}" text-anchor="middle">{_esc(xlabel)}</text>')
    out.append(f'<text transform="translate({x0 - 48},{TOP + PANEL_H / 2}) rotate(-90)" text-anchor="middle">'
               f'{_esc(ylabel)}</text>')
    for kind, pts in series.items():
        pts = [p for p in pts if p[1] is not None]
        if not pts:
            continue
        c = COLORS.get(kind, "#333")
        path = " ".join(f"{'M' if i == 0 else 'L'}{px(p[0]):.1f},{py(p[1]):.1f}" for i, p in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for p in pts:
            x, y = px(p[0]), py(p[1])
            if len(p) > 3 and p[2] is not None and p[3] is not None:
                out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(p[2]):.1f}" y2="{py(p[3]):.1f}" '
                           f'stroke="{c}" stroke-width="1.5"/>')
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{c}"/>')
            out.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}" fill="{c}" font-size="11">{p[1]:.2f}</text>')


def write_svg(path, plot, title="wisp: how cost grows"):
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{_esc(title)}</text>']
    fan = plot.get("fanout", {})
    _panel(out, LEFT[0], "fan-out: server CPU per delivery", "subscribers K (log scale)",
           "µs of server CPU per delivery", fan, [p[0] for pts in fan.values() for p in pts])
    mem = {k: [(n, v) for n, v in pts] for k, pts in plot.get("memory", {}).items()}
    _panel(out, LEFT[1], "memory per idle connection", "idle connections N (log scale)",
           "KiB of server RSS per connection", mem, [p[0] for pts in mem.values() for p in pts])
    lx = W / 2 - 90
    for i, kind in enumerate(("ws", "sse")):
        x = lx + i * 110
        out.append(f'<line x1="{x}" x2="{x + 22}" y1="{H - 14}" y2="{H - 14}" stroke="{COLORS[kind]}" '
                   f'stroke-width="3"/>')
        out.append(f'<text x="{x + 28}" y="{H - 10}">{NAMES[kind]}</text>')
    out.append(f'<text x="{W - 8}" y="{H - 10}" text-anchor="end" font-size="10" fill="#666">'
               'median, bar = min-max over rounds</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cost_growth
    run = sys.argv[1]
    cost_growth.summarize(run)
    if len(sys.argv) > 2:
        import shutil
        shutil.copy(os.path.join(run, "cost_growth.svg"), sys.argv[2])
