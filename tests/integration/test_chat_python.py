#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/chat driven by independent clients: Python's `websockets` (Debian) for the room,
raw sockets for the event stream, hand-written HTTP requests (chunked ones included) and a
stalled reader. Checks the contract of DESIGN.md section 3 byte for byte where it is exact."""
import asyncio
import base64
import json
import os
import re
import signal
import socket
import struct
import time
import unittest

import websockets
from websockets.exceptions import ConnectionClosed

import taplib

SERVER = None
LIMIT = 64 * 1024   # the room's message limit and /api/publish's body limit


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def said(user, message):
    """The server's JSON for one chat line, parsed, keys in order."""
    return [("user", user), ("message", message)]


def parse(raw):
    return json.loads(raw, object_pairs_hook=list)


def welcome_id(raw):
    m = re.fullmatch(r'\{"user":"server","message":"Welcome ([A-Za-z0-9_.:-]{1,16})!"\}', raw)
    if not m:
        raise AssertionError(f"not a welcome: {raw[:200]!r}")
    return m.group(1)


def server_line(text):
    return '{"user":"server","message":"' + text + '"}'


async def connect(url, **kw):
    """A websockets client past its welcome: (ws, id)."""
    ws = await websockets.connect(url, open_timeout=20, close_timeout=5, **kw)
    return ws, welcome_id(await asyncio.wait_for(ws.recv(), 10))


async def expect_next(test, ws, want, timeout=10):
    got = await asyncio.wait_for(ws.recv(), timeout)
    test.assertEqual(got, want)


async def marker(test, sender, sender_id, others, text):
    """Sends `text` from `sender`; its echo is the sender's next message and the relay is
    the next message of each of `others`: whatever was queued before shows up first."""
    assert "ping" not in text
    await sender.send(text)
    want = json.dumps({"user": sender_id, "message": text}, separators=(",", ":"))
    await expect_next(test, sender, want)
    for ws in others:
        await expect_next(test, ws, want)


# ---- raw HTTP ----------------------------------------------------------------------------

async def read_head(reader, timeout=10):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")[:-2]
    status = int(lines[0].split(" ")[1])
    fields = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        fields[k.strip().lower()] = v.strip()
    return lines[0], status, fields


async def http(host, port, parts, pause=0.0, timeout=10):
    """Writes the request `parts` one send each (`pause` between them) and reads one
    response: (status, fields, body). A server that answers early may reset the upload."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i, p in enumerate(parts):
                if i and pause:
                    await asyncio.sleep(pause)   # only to split the TCP segments
                writer.write(p)
                await asyncio.wait_for(writer.drain(), timeout)
        except (ConnectionResetError, BrokenPipeError):
            pass
        _, status, fields = await read_head(reader, timeout)
        n = int(fields.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(n), timeout) if n else b""
        return status, fields, body
    finally:
        writer.close()


def post_plain(body, path="/api/publish"):
    return [b"POST " + path.encode() + b" HTTP/1.1\r\nHost: chat\r\nContent-Type: text/plain\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body]


def chunk(data, ext=b""):
    return b"%x" % len(data) + ext + b"\r\n" + data + b"\r\n"


class SseReader:
    """A raw `GET /chat/events` reader: HTTP/1.1 chunked framing decoded by hand, then
    the event stream split into events."""

    def __init__(self, reader, writer, fields, rest=b""):
        self.reader, self.writer, self.fields = reader, writer, fields
        self.raw = rest
        self.text = b""
        self.ended = False   # the last-chunk arrived
        self.eof = False
        self.events = []

    @classmethod
    async def open(cls, host, port, timeout=10):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /chat/events HTTP/1.1\r\nHost: chat\r\nAccept: text/event-stream\r\n\r\n")
        line, status, fields = await read_head(reader, timeout)
        if status != 200:
            raise AssertionError(f"/chat/events answered {line}")
        return cls(reader, writer, fields)

    def _dechunk(self):
        while not self.ended:
            le = self.raw.find(b"\r\n")
            if le < 0:
                return
            size = int(self.raw[:le].split(b";")[0], 16)
            if size == 0:
                if self.raw[le:le + 4] == b"\r\n\r\n":
                    self.ended = True
                    self.raw = self.raw[le + 4:]
                return
            if len(self.raw) < le + 2 + size + 2:
                return
            if self.raw[le + 2 + size:le + 4 + size] != b"\r\n":
                raise AssertionError("chunk not followed by CRLF")
            self.text += self.raw[le + 2:le + 2 + size]
            self.raw = self.raw[le + 4 + size:]
        if self.ended and self.raw:
            raise AssertionError(f"bytes after the last chunk: {self.raw[:100]!r}")

    def _split(self):
        while b"\n\n" in self.text:
            block, self.text = self.text.split(b"\n\n", 1)
            ev = {"event": "message", "data": []}
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    continue   # a heartbeat comment
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    ev["data"].append(value)
                else:
                    ev[name] = value
            if ev["data"]:
                ev["data"] = "\n".join(ev["data"])
                self.events.append(ev)

    async def feed(self, timeout):
        data = await asyncio.wait_for(self.reader.read(1 << 20), timeout)
        if not data:
            self.eof = True
        self.raw += data
        self._dechunk()
        self._split()

    async def next_event(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.events:
            if self.ended or self.eof:
                raise AssertionError("the stream ended")
            await self.feed(max(0.01, deadline - time.monotonic()))
        return self.events.pop(0)

    async def until_end(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not (self.ended or self.eof):
            await self.feed(max(0.01, deadline - time.monotonic()))

    def close(self):
        self.writer.close()


# ---- a WebSocket client by hand ------------------------------------------------------------

def raw_ws_connect(host, port, rcvbuf):
    """Completes the handshake on a socket with a small receive buffer; returns (socket,
    bytes already read past the 101 head)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)   # before connect: the window
    s.settimeout(10)
    s.connect((host, port))
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /_ws HTTP/1.1\r\nHost: chat\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(4096)
        if not data:
            raise AssertionError("closed during the handshake")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101 "):
        raise AssertionError(f"handshake answered {head[:100]!r}")
    return s, rest


def ws_frames(buf):
    """Splits unmasked server frames: [(opcode, payload)], leftover bytes."""
    out = []
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        if b1 & 0x80:
            raise AssertionError("a masked server frame")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, pos = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, pos = struct.unpack(">Q", buf[2:10])[0], 10
        if len(buf) < pos + n:
            break
        if not b0 & 0x80:
            raise AssertionError("a fragmented server message")
        out.append((b0 & 0x0F, buf[pos:pos + n]))
        buf = buf[pos + n:]
    return out, buf


# ---- the tests ---------------------------------------------------------------------------

class ChatRoom(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)
        cls.url = f"ws://{cls.srv.host}:{cls.srv.port}/_ws"

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        if rc != 0:
            print(f"# chat exited {rc}: {cls.srv.proc.stderr.read()[-2000:]}")

    def test_1_welcome_joined_left_exact(self):
        async def go():
            a, aid = await connect(self.url)
            b = await websockets.connect(self.url, open_timeout=20)
            raw = await asyncio.wait_for(b.recv(), 10)
            bid = welcome_id(raw)
            self.assertEqual(raw, server_line(f"Welcome {bid}!"))
            self.assertNotEqual(aid, bid)
            await expect_next(self, a, server_line(f"{bid} joined!"))
            c, cid = await connect(self.url)
            self.assertEqual(len({aid, bid, cid}), 3, "ids are unique")
            await expect_next(self, a, server_line(f"{cid} joined!"))
            await expect_next(self, b, server_line(f"{cid} joined!"))
            await b.close()
            await expect_next(self, a, server_line(f"{bid} left!"))
            await expect_next(self, c, server_line(f"{bid} left!"))
            await c.close()
            await expect_next(self, a, server_line(f"{cid} left!"))
            # Nothing else was queued for a: its own message is its next one.
            await marker(self, a, aid, [], "done")
            await a.close()
        run(go())

    def test_2_relay_once_and_tricky_text(self):
        controls = "".join(map(chr, range(0x20))) + "\x7f" + "".join(map(chr, range(0x80, 0xA0)))
        texts = [
            "hello",
            'say "hi" \\ back\\slash \\" \\\\ /slash',
            controls,
            "line\u2028sep\u2029para",
            "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
            "RTL: שלום עולם, مرحبا بالعالم \u202eevil\u202c",
            "json-looking {\"user\":\"server\",\"message\":\"x\"}",
            "",
            " ",
            "é" * (LIMIT // 2),          # 65536 bytes, two-byte characters
            "x" * (LIMIT - 1) + '"',      # 65536 bytes, the last one escaped
            "\\" * LIMIT,                 # 65536 bytes, every one escaped
        ]

        async def go():
            a, aid = await connect(self.url, max_size=None)
            b, bid = await connect(self.url, max_size=None)
            await expect_next(self, a, server_line(f"{bid} joined!"))
            await a.send("hello")
            await expect_next(self, a, '{"user":"' + aid + '","message":"hello"}')
            await expect_next(self, b, '{"user":"' + aid + '","message":"hello"}')
            for text in texts:
                self.assertNotIn("ping", text)
                await a.send(text)
                for who in (a, b):
                    raw = await asyncio.wait_for(who.recv(), 10)
                    self.assertIsInstance(raw, str)
                    self.assertEqual(parse(raw), said(aid, text), f"text {text[:40]!r}")
            # The other way round, and each once: the marker is next everywhere.
            await b.send(controls)
            for who in (b, a):
                self.assertEqual(parse(await asyncio.wait_for(who.recv(), 10)), said(bid, controls))
            await marker(self, a, aid, [b], "once")
            await marker(self, b, bid, [a], "once more")

            # 65537 bytes: the sender is closed with 1009, nobody hears it, the room goes on.
            await a.send("y" * (LIMIT + 1))
            with self.assertRaises(ConnectionClosed) as cm:
                await asyncio.wait_for(a.recv(), 10)
            self.assertEqual(cm.exception.rcvd.code, 1009)
            await expect_next(self, b, server_line(f"{aid} left!"))
            c, cid = await connect(self.url)
            await expect_next(self, b, server_line(f"{cid} joined!"))
            await marker(self, c, cid, [b], "still serving")
            await b.close()
            await c.close()
        run(go(), timeout=40)

    def test_3_ping_pongs_to_the_sender_only(self):
        async def go():
            a, aid = await connect(self.url)
            b, bid = await connect(self.url)
            await expect_next(self, a, server_line(f"{bid} joined!"))
            for text in ("ping", "a ping in the middle", "xpingx", "pingping"):
                await a.send(text)
                await expect_next(self, a, server_line("pong"))
            # b heard none of it: the marker is b's next message.
            await marker(self, a, aid, [b], "after those")
            await a.close()
            await b.close()
        run(go())

    def test_4_two_hundred_clients_two_publishers(self):
        n_clients, n_msgs = 200, 100

        async def go():
            # max_queue=None: a closing client goes on reading the others' `left!` lines up
            # to the close frame, instead of waiting its close_timeout on a full queue.
            conns = await asyncio.gather(*(connect(self.url, max_queue=None)
                                           for _ in range(n_clients)))
            ids = [i for _, i in conns]
            self.assertEqual(len(set(ids)), n_clients, "200 welcomes with distinct ids")
            pubs = [conns[0], conns[1]]
            echoed = [asyncio.Event(), asyncio.Event()]

            async def consume(k, ws):
                seen = {ids[0]: [], ids[1]: []}
                while True:
                    raw = await ws.recv()
                    (_, user), (_, msg) = parse(raw)
                    if user == "server":
                        self.assertRegex(msg, r"^\S+ joined!$", f"client {k}: {raw}")
                        continue
                    self.assertIn(user, seen, f"client {k}: {raw}")
                    if msg == "end":
                        return seen
                    seen[user].append(msg)
                    if k < 2 and user == ids[k] and len(seen[user]) == n_msgs:
                        echoed[k].set()   # the server has handled all of this publisher's

            async def publish(p):
                ws, pid = pubs[p]
                for j in range(n_msgs):
                    await ws.send(f"{p}:{j}")

            async def drive():
                await asyncio.gather(publish(0), publish(1))
                await echoed[0].wait()
                await echoed[1].wait()
                await pubs[0][0].send("end")   # after both publishers' last broadcast

            # One gather: a reader that fails fails the test at once.
            results = (await asyncio.gather(drive(), *(consume(k, ws)
                                                       for k, (ws, _) in enumerate(conns))))[1:]
            for k, seen in enumerate(results):
                for p in (0, 1):
                    self.assertEqual(seen[ids[p]], [f"{p}:{j}" for j in range(n_msgs)],
                                     f"client {k} from publisher {p}")
            await asyncio.gather(*(ws.close() for ws, _ in conns))
        t0 = time.monotonic()
        run(go(), timeout=60)
        print(f"# 200 clients x 200 broadcasts in {time.monotonic() - t0:.1f} s")

    def test_5_stalled_client_is_dropped_others_unharmed(self):
        size, window = 60 * 1024, 4
        # Enough to fill the kernel's send buffer for a zero window (it grows up to
        # tcp_wmem's maximum) and then the server's 1 MiB send queue, with room to spare.
        try:
            with open("/proc/sys/net/ipv4/tcp_wmem") as f:
                wmem_max = int(f.read().split()[2])
        except (OSError, ValueError, IndexError):
            wmem_max = 4 << 20
        n_msgs = max(150, (wmem_max + (1 << 20)) // size + 64)

        async def go():
            r1, r1id = await connect(self.url)
            r2, r2id = await connect(self.url)
            pub, pid = await connect(self.url)
            await expect_next(self, r1, server_line(f"{r2id} joined!"))
            for r in (r1, r2):
                await expect_next(self, r, server_line(f"{pid} joined!"))
            loop = asyncio.get_running_loop()
            stalled, rest = await loop.run_in_executor(
                None, raw_ws_connect, self.srv.host, self.srv.port, 4096)
            try:
                raw = await asyncio.wait_for(r1.recv(), 10)
                m = re.fullmatch(r'\{"user":"server","message":"(.+) joined!"\}', raw)
                self.assertTrue(m, raw)
                sid = m.group(1)
                for w in (r2, pub):
                    await expect_next(self, w, server_line(f"{sid} joined!"))

                bodies = [f"{j:04d}:" + chr(ord("a") + j % 26) * (size - 5) for j in range(n_msgs)]
                progress = [0, 0, 0]   # messages each of r1, r2, pub has read
                moved = asyncio.Event()
                left = [False, False, False]

                async def read(k, ws):
                    while progress[k] < n_msgs or not left[k]:
                        raw = await ws.recv()
                        (_, user), (_, msg) = parse(raw)
                        if user == "server":
                            self.assertEqual(msg, f"{sid} left!", f"reader {k}")
                            left[k] = True
                            continue
                        self.assertEqual(user, pid)
                        self.assertEqual(msg, bodies[progress[k]], f"reader {k}")
                        progress[k] += 1
                        moved.set()

                async def publish():
                    for j, body in enumerate(bodies):
                        # Stay a few messages ahead of the slowest reader: the readers are
                        # never the ones over the send queue limit, only the stalled one.
                        while j - min(progress) > window:
                            moved.clear()
                            await moved.wait()
                        await pub.send(body)

                t0 = time.monotonic()
                await asyncio.wait_for(asyncio.gather(read(0, r1), read(1, r2), read(2, pub),
                                                      publish()), 30)
                took = time.monotonic() - t0
                self.assertTrue(all(left), "the stalled client was dropped (its left! arrived)")

                # The stalled client: what it finally reads is a prefix of the room, then
                # (if the queue had room for it) a 1008 close frame, then the end.
                def drain():
                    buf, frames, end = rest, [], None
                    deadline = time.monotonic() + 15
                    while end is None and time.monotonic() < deadline:
                        try:
                            data = stalled.recv(1 << 20)
                        except ConnectionResetError:
                            end = "reset"
                            break
                        except socket.timeout:
                            continue
                        if not data:
                            end = "eof"
                        got, buf = ws_frames(buf + data)
                        frames += got
                    return frames, end, buf
                frames, end, tail = await loop.run_in_executor(None, drain)
                self.assertIsNotNone(end, "the server closed the stalled connection")
                texts = [json.loads(p) for op, p in frames if op == 1]
                closes = [p for op, p in frames if op == 8]
                self.assertEqual(texts[0], {"user": "server", "message": f"Welcome {sid}!"})
                chat = [t["message"] for t in texts[1:]]
                self.assertEqual(chat, bodies[:len(chat)], "a prefix of the room, in order")
                self.assertLess(len(chat), n_msgs, "the stalled client was not sent everything")
                if closes:
                    self.assertEqual(struct.unpack(">H", closes[0][:2])[0], 1008)
                    self.assertEqual(frames[-1][0], 8, "nothing after the close frame")
                if end == "eof":
                    self.assertEqual(tail, b"", "no partial frame before the end")
                print(f"# readers got {n_msgs} x 60 KiB in {took:.1f} s; the stalled client got "
                      f"{len(chat)} then {'close 1008 and ' if closes else ''}{end}")
            finally:
                stalled.close()

            # The server still takes a new client, and the room still works.
            c, cid = await connect(self.url)
            for w in (r1, r2, pub):
                await expect_next(self, w, server_line(f"{cid} joined!"))
            await marker(self, c, cid, [r1, r2, pub], "after the stall")
            for w in (r1, r2, pub, c):
                await w.close()
        run(go(), timeout=50)

    def test_6_http_publish(self):
        host, port = self.srv.host, self.srv.port

        async def go():
            ws, wid = await connect(self.url, max_size=None)
            sse = await SseReader.open(host, port)
            self.assertEqual(sse.fields.get("content-type"), "text/event-stream")
            self.assertEqual(sse.fields.get("transfer-encoding"), "chunked")

            async def heard(body_text):
                raw = await asyncio.wait_for(ws.recv(), 10)
                self.assertEqual(parse(raw), said("http", body_text))
                ev = await sse.next_event()
                self.assertEqual(ev["event"], "chat")
                self.assertEqual(ev["data"], raw, "the same JSON on both")
                if body_text == "hello from http":
                    self.assertEqual(raw, '{"user":"http","message":"hello from http"}')

            async def ok(parts, text, pause=0.0):
                status, fields, body = await http(host, port, parts, pause)
                self.assertEqual(status, 204, body)
                await heard(text)

            await ok(post_plain(b"hello from http"), "hello from http")
            await ok(post_plain("quote \" backslash \\ newline\n tab\t é 😀".encode()),
                     "quote \" backslash \\ newline\n tab\t é 😀")
            await ok(post_plain(b""), "")
            await ok(post_plain(b"z" * LIMIT), "z" * LIMIT)

            # Chunked, hand-written: chunk sizes and data split across sends, a chunk
            # extension, and a UTF-8 character split across two chunks.
            head = (b"POST /api/publish HTTP/1.1\r\nHost: chat\r\nContent-Type: text/plain\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
            euro = "€".encode()
            body = chunk(b"Hello, ") + chunk(b"chunked ", b";ext=1") + chunk(b"world " + euro[:1]) \
                + chunk(euro[1:] + b"!") + b"0\r\n\r\n"
            cuts = [len(head) - 3, len(head) + 1, len(head) + 5, len(head) + 14, len(head) + 30,
                    len(head) + len(body) - 4, len(head) + len(body) - 1]
            whole = head + body
            parts = [whole[i:j] for i, j in zip([0] + cuts, cuts + [len(whole)])]
            await ok(parts, "Hello, chunked world €!", pause=0.02)
            big = [head] + [chunk(b"c" * 4096) for _ in range(16)] + [b"0\r\n\r\n"]
            await ok(big, "c" * LIMIT)

            # Refusals, each publishing nothing: the marker is next on both.
            status, fields, _ = await http(host, port, post_plain(b"w" * (LIMIT + 1)))
            self.assertEqual(status, 413)
            status, fields, _ = await http(
                host, port, [head] + [chunk(b"c" * 4096) for _ in range(16)] + [chunk(b"c"),
                                                                               b"0\r\n\r\n"])
            self.assertEqual(status, 413, "chunked over 64 KiB")
            for bad in (b"\xff", b"abc\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                        b"\xc0\xaf"):
                status, fields, _ = await http(host, port, post_plain(bad))
                self.assertEqual(status, 400, bad)
            status, fields, _ = await http(host, port, [head, chunk(b"ok "), chunk(b"\xe2\x82"),
                                                        b"0\r\n\r\n"])
            self.assertEqual(status, 400, "chunked, a truncated UTF-8 character")
            status, fields, _ = await http(host, port, [b"GET /api/publish HTTP/1.1\r\nHost: chat\r\n\r\n"])
            self.assertEqual(status, 405)
            self.assertEqual(fields.get("allow"), "POST")
            status, fields, _ = await http(host, port, [b"GET /nope HTTP/1.1\r\nHost: chat\r\n\r\n"])
            self.assertEqual(status, 404)
            status, fields, _ = await http(host, port, post_plain(b"x", "/nope"))
            self.assertEqual(status, 404)
            await ok(post_plain(b"marker"), "marker")
            sse.close()
            await ws.close()
        run(go(), timeout=40)


class ChatShutdown(unittest.TestCase):
    def test_sigint_closes_peers_1001_ends_streams_exits_0(self):
        srv = taplib.ExampleServer(SERVER)
        try:
            url = f"ws://{srv.host}:{srv.port}/_ws"

            async def go():
                ws, wid = await connect(url)
                sse = await SseReader.open(srv.host, srv.port)
                # Both are in the room: a message reaches the stream.
                await ws.send("before the signal")
                await asyncio.wait_for(ws.recv(), 10)
                ev = await sse.next_event()
                self.assertEqual(json.loads(ev["data"]), {"user": wid, "message": "before the signal"})
                srv.proc.send_signal(signal.SIGINT)
                with self.assertRaises(ConnectionClosed) as cm:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                self.assertEqual(cm.exception.rcvd.code, 1001)
                await sse.until_end(10)
                print(f"# on SIGINT: close 1001; the stream ended with "
                      f"{'its last chunk' if sse.ended else 'EOF'}")
                sse.close()
            run(go())
            rc = srv.proc.wait(10)
            self.assertEqual(rc, 0)
        finally:
            srv.stop()


if __name__ == "__main__":
    taplib.main(globals())
