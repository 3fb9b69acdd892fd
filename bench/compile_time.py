#!/usr/bin/env python3
"""Compile-time cost of including wisp (DESIGN.md: a file with one handler compiles within 1.5 s
of a file that includes only Asio). Compiles each file below to an object file, alternating
files, --runs times each, and prints medians and the difference against Asio alone.
  asio       #include <asio.hpp> and an io_context: "a file that includes only Asio"
  wisp       #include "wisp.hpp" (the single header), one WebSocket handler struct, listen, run
Usage: bench/compile_time.py [--cxx c++] [--runs 5] [--opt=-O0] [--opt=-O2]
Run from the repository root (reads single_header/wisp.hpp)."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FILES = {
    "asio": """#include <asio.hpp>
int main() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::tcp::v4(), 3000});
    io.run();
}
""",
    "wisp": """#include "wisp.hpp"
struct Echo {
    void message(wisp::Peer& peer, const wisp::Message& msg) { peer.send(msg); }
};
int main() {
    wisp::App app;
    app.ws<Echo>("/_ws");
    if (app.listen(3000)) return 1;
    return app.run() ? 1 : 0;
}
""",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cxx", default="c++")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--opt", action="append")
    a = ap.parse_args()
    opts = a.opt or ["-O0", "-O2"]
    version = subprocess.run([a.cxx, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"compiler: {version}; {a.runs} runs each, median seconds to an object file")
    with tempfile.TemporaryDirectory() as d:
        for name, text in FILES.items():
            with open(os.path.join(d, name + ".cpp"), "w") as f:
                f.write(text)
        print(f"| flags | asio only | wisp, one handler | difference |")
        print(f"|---|---|---|---|")
        for opt in opts:
            times = {name: [] for name in FILES}
            for _ in range(a.runs):
                for name in FILES:
                    cmd = [a.cxx, "-std=c++17", opt, "-c", os.path.join(d, name + ".cpp"),
                           "-I" + os.path.join(ROOT, "single_header"), "-I/usr/share/include/llhttp",
                           "-o", os.path.join(d, name + ".o")]
                    t0 = time.perf_counter()
                    subprocess.run(cmd, check=True)
                    times[name].append(time.perf_counter() - t0)
            m = {name: statistics.median(v) for name, v in times.items()}
            print(f"| `{opt}` | {m['asio']:.2f} s | {m['wisp']:.2f} s | {m['wisp'] - m['asio']:+.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
