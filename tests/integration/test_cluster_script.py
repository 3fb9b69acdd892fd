#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/cluster.sh, the Redis scale-out demo, run with a built chat (--chat: it installs and
builds nothing) on free ports: it starts redis-server and two chats that share the room, and
however it ends (SIGTERM, Ctrl+C to its process group, a chat that dies, a port in use) it
leaves nothing behind: each run is a session of its own with a TMPDIR of its own, and
afterwards no process is left in that session and no file in that TMPDIR. Every wait has a
deadline.
Usage: test_cluster_script.py --server CHAT [--redis-server REDIS_SERVER]"""
import argparse
import asyncio
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import websockets

import taplib

SERVER = None
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                      "cluster.sh")
ap = argparse.ArgumentParser()
ap.add_argument("--redis-server", default="")
ARGS, _ = ap.parse_known_args()
REDIS_SERVER = ARGS.redis_server or shutil.which("redis-server") or ""
NO_REDIS = "" if REDIS_SERVER else \
    "redis-server not found: install redis-server (Debian) to run this test"


def session_processes(sid):
    """The processes (pid, command) still in session `sid`."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue   # gone meanwhile
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) "
        if int(fields[3]) == sid and fields[0] != "Z":
            left.append((int(pid), cmd))
    return left


def numsub(port, channel="wisp:chat"):
    """Redis' PUBSUB NUMSUB for `channel`, over a socket of our own (no redis-cli needed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"PUBSUB NUMSUB {channel}\r\n".encode())
        reply = b""
        while reply.count(b"\r\n") < 4:   # *2 $len channel :count
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    m = re.search(rb":(\d+)\r\n$", reply)
    return int(m.group(1)) if m else -1


def wait_until(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)   # polling another process's state, with a deadline


def busy_port():
    """A socket listening on a free port of 127.0.0.1 (so that port is in use)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


class Cluster:
    """tools/cluster.sh in a session of its own, with a TMPDIR of its own; its stdout lines
    are read by a thread."""

    def __init__(self, *args):
        self.tmp = tempfile.mkdtemp(prefix="cluster-script-")
        self.proc = subprocess.Popen(
            [SCRIPT, "--chat", SERVER, "--redis-server", REDIS_SERVER, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, env={**os.environ, "TMPDIR": self.tmp})
        self.lines = queue.Queue()
        self.err = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.err_reader = threading.Thread(target=lambda: self.err.extend(self.proc.stderr),
                                           daemon=True)
        self.err_reader.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)   # the end

    def started(self, timeout=20):
        """Reads the script's report until its last line: {"redis": port, "chats": [url...],
        "pids": [pid...]} (redis-server's pid first)."""
        got = {"chats": [], "pids": []}
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"cluster.sh did not start in {timeout} s: {got}, "
                                     f"stderr {''.join(self.err)!r}") from None
            if line is None:
                raise AssertionError(f"cluster.sh ended: stderr {''.join(self.err)!r}")
            if m := re.fullmatch(r"redis-server: redis://127\.0\.0\.1:(\d+) \(pid (\d+)\)\n", line):
                got["redis"] = int(m.group(1))
                got["pids"].append(int(m.group(2)))
            elif m := re.fullmatch(r"chat \d+: (http://\S+/) \(pid (\d+)\)\n", line):
                got["chats"].append(m.group(1))
                got["pids"].append(int(m.group(2)))
            elif line.startswith("Open each chat"):
                return got
            else:
                raise AssertionError(f"unexpected line {line!r}")

    def ended(self, timeout=15):
        """Waits for the script to end: (status, stderr); then nothing is left of its session,
        nor in its TMPDIR."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"cluster.sh still runs after {timeout} s") from None
        self.err_reader.join(5)
        left = session_processes(self.proc.pid)
        if left:
            self.kill()
            raise AssertionError(f"left behind: {left}")
        files = os.listdir(self.tmp)
        shutil.rmtree(self.tmp)
        if files:
            raise AssertionError(f"left in TMPDIR: {files}")
        return rc, "".join(self.err)

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid, _ in session_processes(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers.get("content-type", "")


@unittest.skipIf(NO_REDIS, NO_REDIS)
class ClusterScript(unittest.TestCase):
    def setUp(self):
        self.cluster = None

    def tearDown(self):
        if self.cluster and self.cluster.proc.poll() is None:
            self.cluster.kill()

    def start(self, *args):
        self.cluster = Cluster("--ports", "0,0", "--redis-port", "0", *args)
        return self.cluster.started()

    def check_room(self, got):
        """Both chats serve their page, and a line said on each reaches the other's room."""
        self.assertEqual(len(got["chats"]), 2)
        for url in got["chats"]:
            status, ctype = get(url)
            self.assertEqual(status, 200)
            self.assertTrue(ctype.startswith("text/html"), ctype)

        async def go():
            a, b = got["chats"]
            async with websockets.connect(a.replace("http:", "ws:") + "_ws") as wa, \
                    websockets.connect(b.replace("http:", "ws:") + "_ws") as wb:
                await asyncio.wait_for(wa.recv(), 10)   # Welcome
                await asyncio.wait_for(wb.recv(), 10)
                wait_until(lambda: numsub(got["redis"]) == 2, "both chats subscribed in Redis")
                for sender, receiver, text in ((wa, wb, "from a"), (wb, wa, "from b")):
                    await sender.send(text)
                    while text not in await asyncio.wait_for(receiver.recv(), 10):
                        pass
        asyncio.run(asyncio.wait_for(go(), 30))

    def test_help_and_bad_arguments_start_nothing(self):
        r = subprocess.run([SCRIPT, "-h"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertIn("Usage: tools/cluster.sh", r.stdout)
        for bad in (["--bogus"], ["--ports", "3000,x"], ["--redis-port", "70000"],
                    ["--chat", "/nonexistent"], ["--redis-server", "/nonexistent"],
                    ["--ports"]):
            r = subprocess.run([SCRIPT, *bad], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, bad)
            self.assertRegex(r.stderr, r"^cluster: .*tools/cluster\.sh -h", bad)

    def test_sigterm_stops_redis_and_both_chats(self):
        got = self.start()
        self.check_room(got)
        self.cluster.proc.send_signal(signal.SIGTERM)   # to the script alone, as a supervisor
        rc, err = self.cluster.ended()
        self.assertEqual(rc, 0, err)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", got["redis"]), timeout=5).close()

    def test_ctrl_c_to_its_process_group_stops_everything(self):
        got = self.start()
        self.check_room(got)
        os.killpg(self.cluster.proc.pid, signal.SIGINT)   # what a terminal's Ctrl+C does
        rc, err = self.cluster.ended()
        self.assertEqual(rc, 0, err)

    def test_a_chat_that_dies_takes_the_others_down_with_a_failure(self):
        got = self.start()
        os.kill(got["pids"][1], signal.SIGKILL)   # chat 1
        rc, err = self.cluster.ended()
        self.assertEqual(rc, 1, err)
        self.assertIn("cluster: chat 1 ended", err)

    def test_redis_that_dies_while_the_chats_start_is_noticed(self):
        self.cluster = Cluster("--ports", "0,0", "--redis-port", "0")
        line = self.cluster.lines.get(timeout=20)
        m = re.fullmatch(r"redis-server: \S+ \(pid (\d+)\)\n", line or "")
        self.assertTrue(m, line)
        os.kill(int(m.group(1)), signal.SIGKILL)
        rc, err = self.cluster.ended()
        self.assertEqual(rc, 1, err)
        self.assertIn("cluster: redis-server ended", err)

    def test_a_redis_port_in_use_is_an_error(self):
        with busy_port() as s:
            port = s.getsockname()[1]
            self.cluster = Cluster("--ports", "0,0", "--redis-port", str(port))
            rc, err = self.cluster.ended()
        self.assertEqual(rc, 1, err)
        self.assertIn(f"redis-server did not start on port {port}", err)

    def test_a_chat_port_in_use_stops_redis_and_the_first_chat(self):
        with busy_port() as s:
            port = s.getsockname()[1]
            self.cluster = Cluster("--ports", f"0,{port}", "--redis-port", "0")
            rc, err = self.cluster.ended()
        self.assertEqual(rc, 1, err)
        self.assertIn(f"chat 2 did not start (port {port})", err)
        self.assertIn("cannot listen", err)   # the chat's own word on it


if __name__ == "__main__":
    if NO_REDIS:
        print(f"# SKIP {NO_REDIS}", flush=True)
    taplib.main(globals())
