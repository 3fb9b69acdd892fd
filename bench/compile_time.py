#!/usr/bin/env python3
"""Compile-time cost of including wisp, header-only and compile-once (README "Compile time").
Compiles each file below to an object file, alternating files, --runs times each, and prints
medians in seconds:
  empty      an empty file: what the compiler costs before any header
  asio       #include <asio.hpp> and an io_context: "a file that includes only Asio"
  wisp       the single header, one WebSocket handler struct, listen, run (header-only)
  once       the same file with WISP_COMPILE_ONCE: declarations only
  impl       the file with WISP_IMPLEMENTATION: the engine, compiled once per program
and a 10-file program (main.cpp and nine files of one route each), built file by file and
linked, header-only against compile-once (+ the impl file), as one core builds it.
Usage: bench/compile_time.py [--cxx c++] [--runs 5] [--opt=-O0] [--opt=-O2] [--program-runs 3]
                             [--files 10]
Run from the repository root (reads single_header/wisp.hpp)."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLHTTP_INC = "/usr/share/include/llhttp"
LLHTTP_SRC = "/usr/share/llhttp"

ONE_HANDLER = """#include "wisp.hpp"
struct Echo {
    void message(wisp::Peer& peer, const wisp::Message& msg) { peer.send(msg); }
};
int main() {
    wisp::App app;
    app.ws<Echo>("/_ws");
    if (app.listen(3000)) return 1;
    return app.run() ? 1 : 0;
}
"""

FILES = {
    "empty": ("", []),
    "asio": ("""#include <asio.hpp>
int main() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::tcp::v4(), 3000});
    io.run();
}
""", []),
    "wisp": (ONE_HANDLER, []),
    "once": (ONE_HANDLER, ["-DWISP_COMPILE_ONCE"]),
    "impl": ('#define WISP_IMPLEMENTATION\n#include "wisp.hpp"\n', []),
}

def program_files(routes):
    files = {}
    decl = "\n".join(f"void add_route_{i}(wisp::App& app);" for i in range(routes))
    calls = "\n".join(f"    add_route_{i}(app);" for i in range(routes))
    files["main.cpp"] = f"""#include "wisp.hpp"
{decl}
int main() {{
    wisp::App app;
{calls}
    if (app.listen(3000)) return 1;
    return app.run() ? 1 : 0;
}}
"""
    for i in range(routes):
        files[f"route_{i}.cpp"] = f"""#include "wisp.hpp"
#include <string>
void add_route_{i}(wisp::App& app) {{
    app.get("/r{i}/:name", [](wisp::Request& req) {{
        return "route {i}: " + std::string(req.param("name").value_or(""));
    }});
}}
"""
    return files


def compile_to(cxx, opt, src, obj, extra, d):
    cmd = [cxx, "-std=c++17", opt, "-c", src, "-I" + os.path.join(ROOT, "single_header"),
           "-I" + LLHTTP_INC, "-o", obj] + extra
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=d)
    return time.perf_counter() - t0


def build_program(cxx, opt, d, once, llhttp_objs):
    """Seconds to compile every file one after another and link."""
    t0 = time.perf_counter()
    objs = []
    names = sorted(n for n in os.listdir(d) if n.endswith(".cpp"))
    for n in names:
        if n == "wisp_impl.cpp" and not once:
            continue
        extra = ["-DWISP_COMPILE_ONCE"] if once and n != "wisp_impl.cpp" else []
        obj = os.path.join(d, n[:-4] + (".once.o" if once else ".o"))
        compile_to(cxx, opt, os.path.join(d, n), obj, extra, d)
        objs.append(obj)
    subprocess.run([cxx, "-o", os.path.join(d, "app"), *objs, *llhttp_objs, "-pthread"],
                   check=True, cwd=d)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cxx", default="c++")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--program-runs", type=int, default=3)
    ap.add_argument("--opt", action="append")
    ap.add_argument("--files", type=int, default=10, help="files in the program (main + routes)")
    a = ap.parse_args()
    opts = a.opt or ["-O0", "-O2"]
    version = subprocess.run([a.cxx, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"compiler: {version}; medians of {a.runs} runs (files) and {a.program_runs} "
          f"(program), seconds")
    with tempfile.TemporaryDirectory() as d:
        for name, (text, _) in FILES.items():
            with open(os.path.join(d, name + ".cpp"), "w") as f:
                f.write(text)
        prog = os.path.join(d, "program")
        os.mkdir(prog)
        for name, text in program_files(a.files - 1).items():
            with open(os.path.join(prog, name), "w") as f:
                f.write(text)
        with open(os.path.join(prog, "wisp_impl.cpp"), "w") as f:
            f.write(FILES["impl"][0])
        llhttp_objs = []
        for c in ("api", "http", "llhttp"):
            obj = os.path.join(d, c + ".o")
            subprocess.run(["cc", "-c", "-O2", "-DLLHTTP_STRICT_MODE=1", "-I" + LLHTTP_INC,
                            os.path.join(LLHTTP_SRC, c + ".c"), "-o", obj], check=True)
            llhttp_objs.append(obj)
        print("| flags | empty | asio only | wisp header-only | ratio to asio | wisp compile-once "
              f"| minus empty | engine (impl) | {a.files} files header-only | {a.files} files "
              "compile-once | speed-up |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for opt in opts:
            times = {name: [] for name in FILES}
            for _ in range(a.runs):
                for name, (_, extra) in FILES.items():
                    times[name].append(compile_to(a.cxx, opt, os.path.join(d, name + ".cpp"),
                                                  os.path.join(d, name + ".o"), extra, d))
            m = {name: statistics.median(v) for name, v in times.items()}
            ho, co = [], []
            for _ in range(a.program_runs):
                ho.append(build_program(a.cxx, opt, prog, False, llhttp_objs))
                co.append(build_program(a.cxx, opt, prog, True, llhttp_objs))
            h, c = statistics.median(ho), statistics.median(co)
            print(f"| `{opt}` | {m['empty']:.2f} | {m['asio']:.2f} | {m['wisp']:.2f} | "
                  f"{m['wisp'] / m['asio']:.2f}x | {m['once']:.2f} | {m['once'] - m['empty']:+.2f} | "
                  f"{m['impl']:.2f} | {h:.1f} | {c:.1f} | {h / c:.1f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
