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
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--keep", action="store_true", help="keep the build directory")
a = ap.parse_args()

readme = open(os.path.join(a.root, "README.md"), encoding="utf-8").read()
m = re.search(r"^## Compile time[^\n]*\n(.*?)(?=^## )", readme, re.S | re.M)
if not m:
    sys.exit("README.md has no section '## Compile time'")
commands = re.search(r"```sh\n(.*?)```", m.group(1), re.S).group(1)


def report(n, ok, name, detail=""):
    print(f"{'ok' if ok else 'not ok'} {n} - {name}", flush=True)
    if not ok:
        for line in str(detail)[-4000:].splitlines():
            print("# " + line)
    return ok


def symbols(path):
    r = subprocess.run(["nm", "-C", path], capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


def recv_until(s, marker, deadline):
    data = b""
    while marker not in data and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


print("1..3", flush=True)
failed = 0
d = tempfile.mkdtemp(prefix="wisp-compile-once-")
shutil.copy(os.path.join(a.root, "single_header", "wisp.hpp"), d)
for f in ("main.cpp", "routes.cpp", "routes.hpp"):
    shutil.copy(os.path.join(a.root, "tests", "headers", "once", f), d)
r = subprocess.run(["sh", "-e", "-x", "-c", commands], cwd=d, capture_output=True, text=True)
built = r.returncode == 0 and os.path.isfile(os.path.join(d, "app"))
failed += not report(1, built, "the README's compile-once commands build a three-file program",
                     r.stderr)

ok, detail = False, "not built"
if built:
    run_def = re.compile(r" T wisp::v\d+_\d+::App::run\(unsigned int\)")
    run_use = re.compile(r" U wisp::v\d+_\d+::App::run\(unsigned int\)")
    impl = symbols(os.path.join(d, "wisp_impl.o"))
    main = symbols(os.path.join(d, "main.o"))
    routes = symbols(os.path.join(d, "routes.o"))
    asio = [s for s in main + routes if "asio::" in s]
    ok = (any(run_def.search(s) for s in impl) and any(run_use.search(s) for s in main)
          and not any(run_def.search(s) for s in main + routes) and not asio)
    detail = (f"App::run in wisp_impl.o: {[s for s in impl if 'App::run' in s]}; in main.o: "
              f"{[s for s in main if 'App::run' in s]}; Asio in main.o/routes.o: {asio[:5]}")
failed += not report(2, ok, "the engine is in wisp_impl.o only; main.o and routes.o hold no Asio",
                     detail)

ok, detail = False, "not built"
if built:
    proc = subprocess.Popen([os.path.join(d, "app")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()   # the address first; EOF if it dies
        m = re.match(r"listening on http://([^:]+):(\d+)", line)
        if not m:
            detail = f"no address line: {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        else:
            addr = (m.group(1), int(m.group(2)))
            deadline = time.monotonic() + 10
            s = socket.create_connection(addr, timeout=10)
            s.sendall(b"GET /hello?name=routes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            http = recv_until(s, b"hello, routes", deadline)
            s.close()
            s = socket.create_connection(addr, timeout=10)
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = recv_until(s, b"\r\n\r\n", deadline)
            payload = b"once"
            mask = b"\x01\x02\x03\x04"
            s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                      + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))
            rest = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
            while len(rest) < 2 + len(payload) and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                rest += chunk
            s.close()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(10)
            ok = (http.startswith(b"HTTP/1.1 200") and head.startswith(b"HTTP/1.1 101")
                  and rest[:2 + len(payload)] == bytes([0x81, len(payload)]) + payload and code == 0)
            detail = (f"GET /hello -> {http[:120]!r}; upgrade -> {head[:60]!r}; "
                      f"echo -> {rest[:20]!r}; exit {code}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
failed += not report(3, ok, "it serves a route from routes.cpp, echoes on /ws and stops on SIGTERM",
                     detail)
if not a.keep:
    shutil.rmtree(d, ignore_errors=True)
sys.exit(1 if failed else 0)
