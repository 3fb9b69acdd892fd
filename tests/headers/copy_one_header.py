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
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--keep", action="store_true", help="keep the build directories")
a = ap.parse_args()

readme = open(os.path.join(a.root, "README.md"), encoding="utf-8").read()


def section(title):
    m = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## )", readme, re.S | re.M)
    if not m:
        sys.exit(f"README.md has no section '## {title}'")
    return m.group(1)


commands = re.search(r"```sh\n(.*?)```", section("Using the single header"), re.S).group(1)
minimal = re.search(r"```cpp\n(.*?)```", section("A minimal server"), re.S).group(1)


def build(app_source):
    d = tempfile.mkdtemp(prefix="wisp-copy-one-header-")
    shutil.copy(os.path.join(a.root, "single_header", "wisp.hpp"), os.path.join(d, "wisp.hpp"))
    with open(os.path.join(d, "app.cpp"), "w", encoding="utf-8") as f:
        f.write(app_source)
    r = subprocess.run(["sh", "-e", "-x", "-c", commands], cwd=d, capture_output=True, text=True)
    return d, r


def report(n, ok, name, detail=""):
    print(f"{'ok' if ok else 'not ok'} {n} - {name}", flush=True)
    if not ok:
        for line in detail[-4000:].splitlines():
            print("# " + line)
    return ok


print("1..2", flush=True)
failed = 0
d1, r1 = build(minimal)
failed += not report(1, r1.returncode == 0 and os.path.isfile(os.path.join(d1, "app")),
                     "the README's minimal server builds with the README's commands, verbatim",
                     r1.stderr)

d2, r2 = build(open(os.path.join(a.root, "examples", "echo.cpp"), encoding="utf-8").read())
ok, detail = False, r2.stderr
if r2.returncode == 0:
    proc = subprocess.Popen([os.path.join(d2, "app"), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()   # the example prints its address first; EOF if it dies
        m = re.match(r"listening on http://([^:]+):(\d+)", line)
        if not m:
            detail = f"no address line: {line!r}"
        else:
            host, port = m.group(1), int(m.group(2))
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read()
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = b""
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in head and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
            s.close()
            ok = (resp.status == 200 and body == b"Hello, World!" and head.startswith(b"HTTP/1.1 101")
                  and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head)
            detail = f"GET / -> {resp.status} {body!r}; upgrade -> {head[:200]!r}"
    finally:
        proc.terminate()
        proc.wait(10)
failed += not report(2, ok, "examples/echo.cpp built the same way serves GET / and upgrades /_ws",
                     detail)
if not a.keep:
    shutil.rmtree(d1, ignore_errors=True)
    shutil.rmtree(d2, ignore_errors=True)
sys.exit(1 if failed else 0)
