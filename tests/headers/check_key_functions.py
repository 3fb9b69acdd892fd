#!/usr/bin/env python3
"""A header-only file that only adds a route compiles no engine. Under the Itanium C++ ABI a
class's vtable (and, through it, every virtual function and all they call) is emitted in each
file that defines the class's key function: its first virtual function not declared inline in
the class. wisp's engine classes define their virtual functions after the class, so those must
be declared `inline` there; one that is not makes every file that includes wisp compile the
whole engine (400 KB of code at -O0 for one route, and seconds of compile time). Compiles such a
file against the single header and against include/, with each optional switch given, and reads
the object's symbols (`nm -C`). TAP output.
Usage: check_key_functions.py --cxx CXX --header SINGLE_HEADER --include DIR [--nm NM]
                              [--switch -DWISP_TLS=1]... [--flag F]..."""
import argparse
import os
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--header", required=True)
ap.add_argument("--include", required=True)
ap.add_argument("--nm", default="nm")
ap.add_argument("--switch", action="append", default=[])
ap.add_argument("--flag", action="append", default=[])
a = ap.parse_args()

ROUTE_FILE = """#include HEADER
#include <string>
void add_route(wisp::App& app) {
    app.get("/r/:name", [](wisp::Request& req) {
        return "route: " + std::string(req.param("name").value_or(""));
    });
}
"""
# What only the engine defines: the vtables of the classes behind a connection (error_category's
# is not one: a route's error code may need it) and the connection's entry points.
ENGINE = tuple(f"vtable for wisp::v0_1::detail::{c}\n" for c in (
    "Connection", "Session", "HttpSession", "WsSession", "StreamSession", "Transport",
    "TransportOwner", "SocketTransport", "TlsTransport", "Bridge", "RedisLink")) + (
    "wisp::v0_1::detail::Connection::on_readable()", "wisp::v0_1::detail::WsSession::on_data(",
    "wisp::v0_1::detail::HttpSession::on_data(")

cases = [("single header", f'"{a.header}"', [])]
cases.append(("include/", "<wisp/wisp.hpp>", ["-I" + a.include]))
for s in a.switch:
    cases.append((f"single header with {s}", f'"{a.header}"', [s]))

print(f"1..{len(cases)}")
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, (name, header, extra) in enumerate(cases, 1):
        src = os.path.join(tmp, "route.cpp")
        obj = os.path.join(tmp, "route.o")
        with open(src, "w") as f:
            f.write(ROUTE_FILE.replace("HEADER", header))
        r = subprocess.run([a.cxx, "-std=c++17", "-O0", "-c", src, "-o", obj, *a.flag, *extra],
                           capture_output=True, text=True)
        if r.returncode != 0:
            failed += 1
            print(f"not ok {i} - {name}: the route file does not compile")
            for line in r.stderr.splitlines()[:20]:
                print("# " + line)
            continue
        syms = subprocess.run([a.nm, "-C", "--defined-only", obj], capture_output=True, text=True,
                              check=True).stdout.splitlines()
        engine = [s for s in syms if any(e in s + "\n" for e in ENGINE)]
        ok = not engine
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {i} - {name}: a file that adds one route defines no "
              f"engine symbol ({len(syms)} symbols)")
        for s in engine[:10]:
            print("# defined: " + s.split(" ", 2)[-1])
sys.exit(1 if failed else 0)
