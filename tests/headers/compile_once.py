#!/usr/bin/env python3
"""The README's compile-once instructions ("Compile time") work verbatim: in an empty directory
holding wisp.hpp (single_header/wisp.hpp) and the three-file program of tests/headers/once/, the
shell commands of that README section build it, and:
 1. it builds;
 2. the engine is compiled once: wisp_impl.o defines App::run, main.o and routes.o only call it,
    and neither of them holds anything of Asio (their sources also #error if they see it);
 3. it serves: GET /hello answers from a route of routes.cpp, /ws upgrades and echoes a
    message, and SIGTERM stops it cleanly.
TAP output. Usage: compile_once.py --root SOURCE_ROOT [--keep]"""
import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import probelib  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--keep", action="store_true", help="keep the build directory")
a = ap.parse_args()

commands = probelib.readme_block(a.root, "Compile time")

print("1..3", flush=True)
failed = 0
d = tempfile.mkdtemp(prefix="wisp-compile-once-")
shutil.copy(os.path.join(a.root, "single_header", "wisp.hpp"), d)
probelib.copy_once_program(a.root, d)
r = probelib.run_shell(commands, d)
built = r.returncode == 0 and os.path.isfile(os.path.join(d, "app"))
failed += not probelib.report(1, built,
                              "the README's compile-once commands build a three-file program",
                              r.stderr)

ok, detail = False, "not built"
if built:
    ok, detail = probelib.engine_once([os.path.join(d, "wisp_impl.o")], os.path.join(d, "main.o"),
                                      [os.path.join(d, "routes.o")])
failed += not probelib.report(
    2, ok, "the engine is in wisp_impl.o only; main.o and routes.o hold no Asio", detail)

ok, detail = False, "not built"
if built:
    ok, detail = probelib.serves_once_program(os.path.join(d, "app"), "routes")
failed += not probelib.report(
    3, ok, "it serves a route from routes.cpp, echoes on /ws and stops on SIGTERM", detail)
if a.keep:
    print("# kept " + d)
else:
    shutil.rmtree(d, ignore_errors=True)
sys.exit(1 if failed else 0)
