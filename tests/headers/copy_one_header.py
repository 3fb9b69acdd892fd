#!/usr/bin/env python3
"""The README's "Using the single header" instructions work verbatim: in an empty directory
holding only wisp.hpp (single_header/wisp.hpp) and app.cpp, the shell commands of that README
section build a program (Asio and llhttp come from the system, as the README says).
 1. app.cpp = the README's own "A minimal server" code: it builds.
 2. app.cpp = examples/echo.cpp: it builds, serves GET / and accepts a WebSocket upgrade.
TAP output. Usage: copy_one_header.py --root SOURCE_ROOT [--keep]"""
import argparse
import http.client
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import probelib  # noqa: E402
from taplib import ExampleServer  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--keep", action="store_true", help="keep the build directories")
a = ap.parse_args()

commands = probelib.readme_block(a.root, "Using the single header")
minimal = probelib.readme_block(a.root, "A minimal server", lang="cpp")


def build(app_source):
    d = tempfile.mkdtemp(prefix="wisp-copy-one-header-")
    shutil.copy(os.path.join(a.root, "single_header", "wisp.hpp"), os.path.join(d, "wisp.hpp"))
    with open(os.path.join(d, "app.cpp"), "w", encoding="utf-8") as f:
        f.write(app_source)
    return d, probelib.run_shell(commands, d)


def serves_echo(binary):
    """(ok, detail): examples/echo.cpp answers GET / and upgrades /_ws."""
    try:
        server = ExampleServer(binary, timeout=10)
    except RuntimeError as e:
        return False, str(e)
    status, body, head, error = None, b"", b"", ""
    try:
        status, body = probelib.http_get(server.host, server.port, "/")
        head, _ = probelib.ws_exchange(server.host, server.port, "/_ws")
    except (OSError, http.client.HTTPException) as e:
        error = f"{type(e).__name__}: {e}; "
    finally:
        server.stop()
    ok = (status == 200 and body == b"Hello, World!" and head.startswith(b"HTTP/1.1 101")
          and probelib.WS_ACCEPT in head)
    return ok, f"{error}GET / -> {status} {body!r}; upgrade -> {head[:200]!r}"


print("1..2", flush=True)
failed = 0
d1, r1 = build(minimal)
failed += not probelib.report(
    1, r1.returncode == 0 and os.path.isfile(os.path.join(d1, "app")),
    "the README's minimal server builds with the README's commands, verbatim", r1.stderr)

d2, r2 = build(open(os.path.join(a.root, "examples", "echo.cpp"), encoding="utf-8").read())
ok, detail = False, r2.stderr
if r2.returncode == 0:
    ok, detail = serves_echo(os.path.join(d2, "app"))
failed += not probelib.report(
    2, ok, "examples/echo.cpp built the same way serves GET / and upgrades /_ws", detail)
if a.keep:
    print(f"# kept {d1} {d2}")
else:
    shutil.rmtree(d1, ignore_errors=True)
    shutil.rmtree(d2, ignore_errors=True)
sys.exit(1 if failed else 0)
