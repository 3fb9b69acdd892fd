#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""permessage-deflate (RFC 7692) against tests/support/deflate_server.cpp: Python's `websockets`
(Debian) with compression on, every parameter combination on every route, and a raw socket
with Python's zlib for what a polite client never sends: bombs, corrupt data, RSV1 where it
does not belong, fragments with pings between them, and the bytes every shared subscriber gets.

Every wait has a deadline; nothing sleeps."""
import asyncio
import itertools
import json
import os
import struct
import time
import unittest
import zlib

import websockets
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

import taplib
import ws_protocol
from ws_protocol import BINARY, CLOSE, CONT, PING, PONG, TEXT, RSV1, build_frame, check

SERVER = None
TAIL = b"\x00\x00\xff\xff"
LIMIT = 1 << 20   # the server's max_message_bytes

# route -> (shared?, window bits)
ROUTES = {"/shared": (True, 15), "/shared10": (True, 10), "/dedicated": (False, 15),
          "/dedicated10": (False, 10)}


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def json_message(seed):
    items = [{"id": seed * 100 + i, "name": f"item-{i}", "price": 10 + (seed + i) % 90 + 0.5,
              "tags": ["a", "b"]} for i in range(14)]
    return json.dumps({"type": "update", "items": items})


def expected_answer(route, snct, cnct, smwb, cmwb):
    """The response RFC 7692 and the route's settings call for (see ws_deflate.hpp)."""
    shared, bits = ROUTES[route]
    out = ["permessage-deflate"]
    if snct or shared:
        out.append("server_no_context_takeover")
    client_nct = cnct or shared
    if client_nct:
        out.append("client_no_context_takeover")
    w = bits if smwb is None else min(bits, smwb)
    if smwb is not None or w < 15:
        out.append(f"server_max_window_bits={w}")
    if cmwb is not None and not client_nct:
        offered = 15 if cmwb is True else cmwb
        if bits < offered:
            out.append(f"client_max_window_bits={bits}")
    return "; ".join(out)


def deflate_message(data, wbits=15, finish=False):
    c = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    if finish:
        return c.compress(data) + c.flush(zlib.Z_FINISH)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    check(out.endswith(TAIL), "no sync-flush tail")
    return out[:-4]


def inflate_message(payload, wbits=15):
    d = zlib.decompressobj(-wbits)
    return d.decompress(payload + TAIL)


def zero_bomb(mib):
    """`mib` MiB of zeros as one compressed message (about `mib` KiB): one compressed MiB,
    repeated, each copy ending in the empty stored block of its sync flush but the last."""
    one = deflate_message(bytes(1 << 20))
    return (one + TAIL) * (mib - 1) + one


class Client(ws_protocol.RawClient):
    """The raw client, on any path, offering `offer`, reading RSV1 frames."""

    def __init__(self, host, port, path, offer):
        self.path, self.offer = path, offer
        super().__init__(host, port)

    def _handshake(self):
        ext = f"Sec-WebSocket-Extensions: {self.offer}\r\n".encode() if self.offer else b""
        self.sock.sendall(
            f"GET {self.path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {ws_protocol.KEY}\r\n"
            f"Sec-WebSocket-Version: 13\r\n".encode() + ext + b"\r\n")
        deadline = self._deadline(None)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline, "the 101 response")
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        check(head.startswith("HTTP/1.1 101"), f"expected 101, got {head!r}")
        self.extensions = ""
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions":
                self.extensions = value.strip()

    def read_frame(self, deadline=None):
        """One server frame with its RSV bits (in .rsv) and its raw bytes (in .raw)."""
        deadline = self._deadline(deadline)
        head = self._take(2, deadline, "a frame header")
        b0, b1 = head
        n, ext = b1 & 0x7F, b""
        if n == 126:
            ext = self._take(2, deadline, "a 16-bit length")
            (n,) = struct.unpack("!H", ext)
        elif n == 127:
            ext = self._take(8, deadline, "a 64-bit length")
            (n,) = struct.unpack("!Q", ext)
        check(not b1 & 0x80, "server masked a frame")
        payload = self._take(n, deadline, f"a {n}-byte payload")
        f = ws_protocol.Frame(bool(b0 & 0x80), b0 & 0x0F, payload, 2 + len(ext))
        f.rsv = (b0 >> 4) & 7
        f.raw = head + ext + payload
        return f


class DeflateWithWebsockets(unittest.TestCase):
    """websockets negotiates each combination; the answer is the one the rules call for, the
    server's peer.extensions() says the same, and messages round-trip both ways."""

    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)
        cls.base = f"ws://{cls.srv.host}:{cls.srv.port}"

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_every_parameter_combination_on_every_route(self):
        combos = list(itertools.product(ROUTES, (False, True), (False, True), (None, 9, 12, 15),
                                        (None, True, 9, 15)))

        async def one(route, snct, cnct, smwb, cmwb):
            factory = ClientPerMessageDeflateFactory(
                server_no_context_takeover=snct, client_no_context_takeover=cnct,
                server_max_window_bits=smwb, client_max_window_bits=cmwb)
            async with websockets.connect(self.base + route, compression=None,
                                          extensions=[factory], max_size=None) as ws:
                answer = ws.response_headers.get("Sec-WebSocket-Extensions")
                want = expected_answer(route, snct, cnct, smwb, cmwb)
                self.assertEqual(answer, want)
                await ws.send("?extensions")
                self.assertEqual(await ws.recv(), want)
                # The same message three times (context takeover has something to refer to),
                # then text with non-ASCII, binary, a large one and a fragmented one.
                for seed in (1, 1, 2):
                    m = json_message(seed)
                    await ws.send(m)
                    self.assertEqual(await ws.recv(), m)
                await ws.send("héllo ✓ 😀" * 20)
                self.assertEqual(await ws.recv(), "héllo ✓ 😀" * 20)
                b = bytes(range(256)) * 8
                await ws.send(b)
                self.assertEqual(await ws.recv(), b)
                big = json_message(3) * 200
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(iter(["frag", "ment", "ed ✓" * 50]))
                self.assertEqual(await ws.recv(), "fragment" + "ed ✓" * 50)

        async def go():
            for c in combos:
                try:
                    await one(*c)
                except Exception as e:   # name the combination that failed
                    raise AssertionError(f"route, snct, cnct, smwb, cmwb = {c}: {e!r}") from e
        run(go(), timeout=240)

    def test_an_offer_of_an_8_bit_server_window_is_declined_and_the_next_taken(self):
        async def go():
            f8 = ClientPerMessageDeflateFactory(server_max_window_bits=8)
            f12 = ClientPerMessageDeflateFactory(server_max_window_bits=12)
            async with websockets.connect(self.base + "/dedicated", compression=None,
                                          extensions=[f8]) as ws:
                self.assertIsNone(ws.response_headers.get("Sec-WebSocket-Extensions"))
                await ws.send(json_message(4))
                self.assertEqual(await ws.recv(), json_message(4))
            async with websockets.connect(self.base + "/dedicated", compression=None,
                                          extensions=[f8, f12]) as ws:
                self.assertEqual(ws.response_headers.get("Sec-WebSocket-Extensions"),
                                 "permessage-deflate; server_max_window_bits=12")
        run(go())

    def test_default_client_on_an_off_route_gets_no_compression(self):
        async def go():
            async with websockets.connect(self.base + "/off") as ws:
                self.assertIsNone(ws.response_headers.get("Sec-WebSocket-Extensions"))
                await ws.send("?extensions")
                self.assertEqual(await ws.recv(), "")
        run(go())

    def test_publications_reach_clients_of_every_window_and_mode(self):
        async def go():
            routes = ["/shared", "/shared", "/shared10", "/dedicated", "/dedicated10", "/off"]
            subs = [await websockets.connect(self.base + r, max_size=None) for r in routes]
            try:
                pub = await websockets.connect(self.base + "/shared")
                for ws in subs + [pub]:   # every peer has joined the room once it answers
                    await ws.send("?extensions")
                    await ws.recv()
                for seed in (5, 5, 6):
                    await pub.send("pub:" + json_message(seed))
                    for ws in subs:
                        self.assertEqual(await ws.recv(), json_message(seed))
                await pub.close()
            finally:
                for ws in subs:
                    await ws.close()
        run(go())


class DeflateRaw(unittest.TestCase):
    """Frame by frame, with Python's zlib as the client's compressor."""

    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def connect(self, path="/shared", offer="permessage-deflate"):
        return Client(self.srv.host, self.srv.port, path, offer)

    def rss_kib(self, field):
        with open(f"/proc/{self.srv.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/PID/status")

    def test_compressed_fragments_with_pings_between_are_inflated_and_echoed_compressed(self):
        c = self.connect()
        m = json_message(7).encode()
        z = deflate_message(m)
        c.send_frame(TEXT, z[:7], fin=False, rsv=RSV1)
        c.send_frame(PING, b"one")
        c.send_frame(CONT, z[7:20], fin=False)
        c.send_frame(PING, b"two")
        c.send_frame(CONT, z[20:], fin=True)
        got = [c.read_frame() for _ in range(3)]
        self.assertEqual([(f.opcode, f.payload) for f in got[:2]], [(PONG, b"one"), (PONG, b"two")])
        self.assertEqual(got[2].opcode, TEXT)
        self.assertEqual(got[2].rsv, RSV1)
        self.assertEqual(inflate_message(got[2].payload), m)
        # A final block (BFINAL) from the client is fine too.
        c.send_frame(BINARY, deflate_message(m, finish=True), rsv=RSV1)
        f = c.read_frame()
        self.assertEqual(inflate_message(f.payload), m)
        c.close_cleanly()

    def test_a_1_gib_bomb_closes_1009_with_memory_and_time_bounded(self):
        bomb = zero_bomb(1024)   # 1 GiB of zeros in about 1 MiB
        self.assertLess(len(bomb), 1100 * 1024)
        for fragmented in (False, True):
            c = self.connect()
            hwm0 = self.rss_kib("VmHWM")
            t0 = time.monotonic()
            if fragmented:
                step = 64 * 1024
                for at in range(0, len(bomb), step):
                    c.send_frame(BINARY if at == 0 else CONT, bomb[at:at + step],
                                 fin=at + step >= len(bomb), rsv=RSV1 if at == 0 else 0)
            else:
                c.send_frame(BINARY, bomb, rsv=RSV1)
            c.expect_close(1009)
            took = time.monotonic() - t0
            grew = self.rss_kib("VmHWM") - hwm0
            print(f"# bomb ({'fragments' if fragmented else 'one frame'}): closed 1009 after "
                  f"{took * 1000:.0f} ms, peak RSS grew {grew} KiB", flush=True)
            # The 1 MiB limit inflated once, the compressed MiB buffered: a few MiB, not 1 GiB.
            self.assertLess(grew, 16 * 1024)
            self.assertLess(took, 5.0)

    def test_corrupt_data_is_1007_and_rsv1_where_it_does_not_belong_is_1002(self):
        z = deflate_message(json_message(8).encode())
        cases = [
            ("corrupt", "/shared", [build_frame(BINARY, b"\xff\xfe\xfd\xfc", rsv=RSV1)], 1007),
            ("truncated", "/dedicated", [build_frame(BINARY, z[:len(z) // 2], rsv=RSV1)], 1007),
            ("not UTF-8", "/shared", [build_frame(TEXT, deflate_message(b"ok \xff"), rsv=RSV1)],
             1007),
            ("RSV1 on a ping", "/shared", [build_frame(PING, b"", rsv=RSV1)], 1002),
            ("RSV1 on a close", "/shared", [build_frame(CLOSE, b"\x03\xe8", rsv=RSV1)], 1002),
            ("RSV1 on a continuation", "/shared",
             [build_frame(TEXT, z[:4], fin=False, rsv=RSV1),
              build_frame(CONT, z[4:], rsv=RSV1)], 1002),
            ("RSV1 without negotiation", "/off", [build_frame(TEXT, z, rsv=RSV1)], 1002),
            ("RSV2 with deflate", "/shared", [build_frame(TEXT, b"x", rsv=2)], 1002),
        ]
        for name, path, frames, code in cases:
            c = self.connect(path)
            c.send_raw(b"".join(frames))
            try:
                c.expect_close(code)
            except AssertionError as e:
                raise AssertionError(f"{name}: {e}") from e

    def test_every_shared_subscriber_gets_the_same_compressed_bytes(self):
        subs = [self.connect("/shared") for _ in range(5)]
        pub = self.connect("/shared")
        for c in subs + [pub]:   # joined once each has answered
            c.send_frame(TEXT, b"?extensions")
            f = c.read_frame()   # compressed: the route compresses everything (min_size 0)
            self.assertEqual(f.rsv, RSV1)
            self.assertEqual(inflate_message(f.payload),
                             b"permessage-deflate; server_no_context_takeover; "
                             b"client_no_context_takeover")
        m = json_message(9).encode()
        pub.send_frame(TEXT, b"pub:" + m)
        frames = [c.read_frame() for c in subs]
        self.assertEqual(frames[0].rsv, RSV1)
        self.assertEqual(inflate_message(frames[0].payload), m)
        self.assertLess(len(frames[0].payload) * 3, len(m))
        for f in frames[1:]:
            self.assertEqual(f.raw, frames[0].raw)
        for c in subs + [pub]:
            c.close_cleanly()

    def test_raw_sends_stay_uncompressed_and_a_10_bit_route_inflates_with_its_window(self):
        c = self.connect("/shared10", "permessage-deflate; server_max_window_bits=12")
        self.assertEqual(c.extensions, "permessage-deflate; server_no_context_takeover; "
                                       "client_no_context_takeover; server_max_window_bits=10")
        m = json_message(10)
        c.send_frame(TEXT, ("raw:" + m).encode())
        f = c.read_frame()
        self.assertEqual((f.rsv, f.payload), (0, m.encode()))
        c.send_frame(TEXT, m.encode())
        f = c.read_frame()
        self.assertEqual(f.rsv, RSV1)
        self.assertEqual(inflate_message(f.payload, 10), m.encode())
        c.close_cleanly()


if __name__ == "__main__":
    taplib.main(globals())
