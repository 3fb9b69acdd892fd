#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Event streams of examples/echo and examples/sse_clock read by a raw socket reader:
the head and chunked framing byte by byte, a million events to a slow reader with the
server's memory bounded, and hundreds of idle streams whose memory returns when they go."""
import argparse
import os
import socket
import time
import unittest

import taplib

SERVER = None
CLOCK = None
SANITIZED = False   # ASan's quarantine keeps freed memory from reuse: RSS says nothing then


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_stream(host, port, path, extra=b"", rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:   # before connect: shrinking it later makes Linux reset the connection
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, port))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed before the head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return s, head.decode(), rest


class Dechunker:
    """Incremental chunked-body decoder."""

    def __init__(self):
        self.raw = b""
        self.body = bytearray()
        self.ended = False

    def feed(self, data):
        self.raw += data
        pos = 0
        raw = self.raw
        while True:
            le = raw.find(b"\r\n", pos)
            if le < 0:
                break
            size = int(raw[pos:le], 16)
            if size == 0:
                self.ended = raw[le:le + 4] == b"\r\n\r\n"
                break
            if len(raw) < le + 2 + size + 2:
                break
            assert raw[le + 2 + size:le + 4 + size] == b"\r\n", "chunk not followed by CRLF"
            self.body += raw[le + 2:le + 2 + size]
            pos = le + 4 + size
        self.raw = raw[pos:]


class EchoSse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def read_all(self, s, rest):
        d = Dechunker()
        d.feed(rest)
        while not d.ended:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            d.feed(chunk)
        return d

    def test_head_and_framing_byte_exact(self):
        s, head, rest = open_stream(self.srv.host, self.srv.port, "/sse?count=3")
        lines = head.split("\r\n")
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        self.assertEqual(fields["content-type"], "text/event-stream")
        self.assertEqual(fields["cache-control"], "no-cache")
        self.assertEqual(fields["x-accel-buffering"], "no")
        self.assertEqual(fields["transfer-encoding"], "chunked")
        self.assertNotIn("content-length", fields)
        d = self.read_all(s, rest)
        self.assertTrue(d.ended, "the stream ends with the last-chunk")
        self.assertEqual(bytes(d.body), b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\nid: 3\ndata: 3\n\n")
        self.assertEqual(s.recv(10), b"", "the connection closes after the stream")

    def test_last_event_id_resumes(self):
        s, _, rest = open_stream(self.srv.host, self.srv.port, "/sse?count=5", b"Last-Event-ID: 3\r\n")
        d = self.read_all(s, rest)
        self.assertEqual(bytes(d.body), b"id: 4\ndata: 4\n\nid: 5\ndata: 5\n\n")

    def test_bad_count_is_400(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=10)
        s.sendall(b"GET /sse?count=x HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400 Bad Request"))

    def test_million_events_to_a_slow_reader_with_bounded_memory(self):
        pid = self.srv.proc.pid
        before = rss_kib(pid)
        s, _, rest = open_stream(self.srv.host, self.srv.port, "/sse?count=1000000", rcvbuf=16384)
        d = Dechunker()
        d.feed(rest)
        peak = before
        # Slow: 4 KiB every 10 ms for 2 s (the reader sets the pace, not a wait for an event).
        end = time.monotonic() + 2
        while time.monotonic() < end:
            d.feed(s.recv(4096))
            time.sleep(0.01)
            peak = max(peak, rss_kib(pid))
        if not SANITIZED:
            self.assertLess(peak - before, 4096, f"server grew {peak - before} KiB for a slow reader")
        # Then fast, to the end: every event, in order, exactly once.
        while not d.ended:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            d.feed(chunk)
        self.assertTrue(d.ended)
        body = bytes(d.body)
        self.assertEqual(body.count(b"\n\n"), 1000000)
        self.assertTrue(body.endswith(b"id: 1000000\ndata: 1000000\n\n"))
        self.assertTrue(body.startswith(b"id: 1\ndata: 1\n\nid: 2\n"))


class ClockSse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(CLOCK)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_message_every_second(self):
        s, head, rest = open_stream(self.srv.host, self.srv.port, "/sse")
        self.assertIn("text/event-stream", head)
        d = Dechunker()
        d.feed(rest)
        t0 = time.monotonic()
        while bytes(d.body).count(b"data: Message @ ") < 2 and time.monotonic() - t0 < 5:
            d.feed(s.recv(4096))
        self.assertEqual(bytes(d.body).count(b"data: Message @ "), 2)
        self.assertGreater(time.monotonic() - t0, 0.9)

    def test_idle_streams_memory_returns(self):
        if SANITIZED:
            self.skipTest("RSS is not meaningful under AddressSanitizer")
        if os.environ.get("WISP_EXE_WRAPPER"):
            # qemu-user's RSS includes the code it translates as new paths run (measured: +1 MiB
            # in round 2, then flat for 6 more rounds, where the native build grows 150 KiB).
            self.skipTest("RSS is the emulator's too under WISP_EXE_WRAPPER")
        pid = self.srv.proc.pid
        base = rss_kib(pid)
        rounds = []
        for _ in range(3):
            streams = [open_stream(self.srv.host, self.srv.port, "/sse")[0] for _ in range(500)]
            rounds.append(rss_kib(pid) - base)
            for s in streams:
                s.close()
            # The server notices each close at once (it keeps reading idle streams); the clock
            # drops a closed stream at its next tick.
            time.sleep(1.2)
        per_stream = rounds[0] * 1024 / 500
        print(f"# 500 idle streams: +{rounds[0]} KiB ({per_stream:.0f} B each); "
              f"after 3 rounds of open and close: +{rounds[2]} KiB")
        self.assertLess(per_stream, 8192, "an idle stream should cost little memory")
        # Memory is reused, not leaked: later rounds grow by at most a quarter of the first.
        self.assertLess(rounds[2] - rounds[0], max(rounds[0] / 4, 256))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--clock", required=True)
    ap.add_argument("--sanitized", action="store_true")
    a, _ = ap.parse_known_args()
    CLOCK = os.path.abspath(a.clock)
    SANITIZED = a.sanitized
    taplib.main(globals())
