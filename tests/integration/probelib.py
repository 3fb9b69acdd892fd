# SPDX-License-Identifier: MIT
"""Shared by the scripts that build a program as the README says and then run it
(tests/headers/copy_one_header.py, tests/headers/compile_once.py, tests/consumers/consumers.py):
the README's code blocks, shell commands run in a directory, TAP lines, where the engine's code
landed (nm), and what a served program answers over HTTP and WebSocket."""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from taplib import ExampleServer

# The three files of the compile-once test program: main.cpp and routes.cpp see declarations
# only (and #error if they see Asio); README "Compile time" builds them with wisp_impl.cpp.
ONCE_PROGRAM = ("main.cpp", "routes.cpp", "routes.hpp")

# RFC 6455 §1.3's sample nonce and the Sec-WebSocket-Accept it must produce.
WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
WS_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

_RUN_DEFINED = re.compile(r" [TW] wisp::v\d+_\d+::App::run\(unsigned int\)")
_RUN_STRONG = re.compile(r" T wisp::v\d+_\d+::App::run\(unsigned int\)")
_RUN_CALLED = re.compile(r" U wisp::v\d+_\d+::App::run\(unsigned int\)")


def readme_block(root, title, lang="sh", containing=""):
    """The first ```lang block (holding `containing`) of the README.md section whose heading
    starts with `## title`; exits with a message when there is none."""
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    m = re.search(r"^## " + re.escape(title) + r"[^\n]*\n(.*?)(?=^## )", readme, re.S | re.M)
    if not m:
        sys.exit(f"README.md has no section '## {title}'")
    for block in re.findall(r"```" + re.escape(lang) + r"\n(.*?)```", m.group(1), re.S):
        if containing in block:
            return block
    sys.exit(f"README.md's section '## {title}' has no ```{lang} block holding {containing!r}")


def run_shell(commands, cwd, env=None):
    """Runs shell commands as `sh -e -x` in cwd: the first failure stops them, and stderr
    holds each command before its output."""
    return subprocess.run(["sh", "-e", "-x", "-c", commands], cwd=cwd, env=env,
                          capture_output=True, text=True)


def report(n, ok, name, detail="", limit=4000):
    """Prints TAP line n; a failure is followed by the last `limit` characters of detail."""
    print(f"{'ok' if ok else 'not ok'} {n} - {name}", flush=True)
    if not ok:
        for line in str(detail)[-limit:].splitlines():
            print("# " + line)
    return ok


def copy_once_program(root, dest, include=None):
    """Copies the compile-once program (tests/headers/once) into dest; with `include`, its
    `#include "wisp.hpp"` lines become that (say `#include <wisp/wisp.hpp>`)."""
    for name in ONCE_PROGRAM:
        src = os.path.join(root, "tests", "headers", "once", name)
        if include is None:
            shutil.copy(src, dest)
            continue
        with open(src, encoding="utf-8") as f:
            text = f.read().replace('#include "wisp.hpp"', include)
        with open(os.path.join(dest, name), "w", encoding="utf-8") as f:
            f.write(text)


def symbols(path):
    """`nm -C path`, one line per symbol (an archive lists each member's)."""
    r = subprocess.run(["nm", "-C", path], capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


def engine_once(engine, caller, others=()):
    """(ok, detail): the engine is compiled once. App::run is defined in exactly one of the
    `engine` files (objects or archives), `caller` calls it without defining it, and neither
    `caller` nor `others` defines it or holds anything of Asio."""
    engine_syms = [s for path in engine for s in symbols(path)]
    caller_syms = symbols(caller)
    user_syms = caller_syms + [s for path in others for s in symbols(path)]
    asio = [s for s in user_syms if "asio::" in s]
    ok = (sum(bool(_RUN_STRONG.search(s)) for s in engine_syms) == 1
          and any(_RUN_CALLED.search(s) for s in caller_syms)
          and not any(_RUN_DEFINED.search(s) for s in user_syms) and not asio)
    engine_names = ", ".join(os.path.basename(p) for p in engine)
    user_names = ", ".join(os.path.basename(p) for p in (caller, *others))
    detail = (f"App::run in {engine_names}: {[s for s in engine_syms if 'App::run' in s]}; "
              f"in {user_names}: {[s for s in user_syms if 'App::run' in s]}; "
              f"Asio there: {asio[:5]}")
    return ok, detail


def http_get(host, port, target, timeout=10):
    """(status, body) of `GET target`."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _recv_until(s, done, data, deadline):
    while not done(data) and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def ws_exchange(host, port, path, payload=None, timeout=10):
    """Upgrades `path` to a WebSocket and, with a payload, sends it as one masked text frame.
    Returns (the response head, the bytes of the first frame back: b"" without a payload)."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: " + WS_KEY
                  + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        data = _recv_until(s, lambda d: b"\r\n\r\n" in d, b"", deadline)
        head, _, rest = data.partition(b"\r\n\r\n")
        if payload is None or not head.startswith(b"HTTP/1.1 101"):
            return head, b""
        mask = b"\x01\x02\x03\x04"
        s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                  + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))
        rest = _recv_until(s, lambda d: len(d) >= 2 + len(payload), rest, deadline)
        return head, rest[:2 + len(payload)]


def serves_once_program(binary, name):
    """(ok, detail): the compile-once program serves `GET /hello?name=<name>` from routes.cpp,
    echoes a text message on /ws, and exits with 0 on SIGTERM."""
    try:
        server = ExampleServer(binary, timeout=10)
    except RuntimeError as e:
        return False, str(e)
    status, body, head, echo, error = None, b"", b"", b"", ""
    try:
        status, body = http_get(server.host, server.port, "/hello?name=" + name)
        head, echo = ws_exchange(server.host, server.port, "/ws", b"once")
    except (OSError, http.client.HTTPException) as e:
        error = f"{type(e).__name__}: {e}; "
    finally:
        code = server.stop()
    want = f"hello, {name}".encode()
    ok = (status == 200 and want in body and head.startswith(b"HTTP/1.1 101")
          and echo == bytes([0x81, 4]) + b"once" and code == 0)
    return ok, (f"{error}GET /hello -> {status} {body[:120]!r}; upgrade -> {head[:60]!r}; "
                f"echo -> {echo[:20]!r}; exit {code}")
