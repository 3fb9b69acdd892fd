#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/echo's /_ws driven by an independent client: Python's `websockets` (Debian)."""
import asyncio
import unittest

import websockets
from websockets.exceptions import ConnectionClosed

import taplib

SERVER = None


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class EchoWebSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)
        cls.url = f"ws://{cls.srv.host}:{cls.srv.port}/_ws"

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_text_and_binary_keep_their_type(self):
        async def go():
            async with websockets.connect(self.url) as ws:
                await ws.send("héllo ✓")
                self.assertEqual(await ws.recv(), "héllo ✓")
                await ws.send(b"\x00\x01\xfe\xff")
                got = await ws.recv()
                self.assertIsInstance(got, bytes)
                self.assertEqual(got, b"\x00\x01\xfe\xff")
                await ws.send("")
                self.assertEqual(await ws.recv(), "")
        run(go())

    def test_every_length_form_both_types(self):
        async def go():
            async with websockets.connect(self.url, max_size=None) as ws:
                for n in (0, 125, 126, 65535, 65536, 1 << 20):
                    payload = bytes((i * 7) & 0xFF for i in range(n))
                    await ws.send(payload)
                    self.assertEqual(await ws.recv(), payload, f"binary {n}")
                    text = ("é" * (n // 2)) + ("x" * (n % 2))
                    await ws.send(text)
                    self.assertEqual(await ws.recv(), text, f"text {n}")
        run(go(), timeout=60)

    def test_fragmented_message_is_echoed_whole(self):
        async def go():
            async with websockets.connect(self.url) as ws:
                await ws.send(iter(["frag", "ment", "ed ✓"]))
                self.assertEqual(await ws.recv(), "fragmented ✓")
        run(go())

    def test_messages_up_to_16_mib_and_1009_beyond(self):
        async def go():
            async with websockets.connect(self.url, max_size=None) as ws:
                big = bytes(range(256)) * (16 * 4096)   # exactly 16 MiB
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(big + b"!")
                with self.assertRaises(ConnectionClosed) as cm:
                    await ws.recv()
                self.assertEqual(cm.exception.rcvd.code, 1009)
        run(go(), timeout=60)

    def test_ping_gets_pong_and_close_is_echoed(self):
        async def go():
            async with websockets.connect(self.url) as ws:
                pong = await ws.ping(b"payload")
                await asyncio.wait_for(pong, 5)
                await ws.close(4321, "done")
                self.assertEqual(ws.close_code, 4321)
        run(go())

    def test_many_clients_in_order(self):
        async def client(i):
            async with websockets.connect(self.url) as ws:
                for j in range(50):
                    await ws.send(f"{i}:{j}")
                for j in range(50):
                    self.assertEqual(await ws.recv(), f"{i}:{j}")
        async def go():
            await asyncio.gather(*(client(i) for i in range(50)))
        run(go(), timeout=60)

    def test_plain_get_is_426(self):
        import http.client
        c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=10)
        c.request("GET", "/_ws")
        r = c.getresponse()
        self.assertEqual(r.status, 426)
        self.assertEqual(r.getheader("Sec-WebSocket-Version"), "13")


class EchoShutdown(unittest.TestCase):
    def test_sigterm_closes_peers_with_1001(self):
        srv = taplib.ExampleServer(SERVER)
        url = f"ws://{srv.host}:{srv.port}/_ws"
        async def go():
            async with websockets.connect(url) as ws:
                await ws.send("x")
                await ws.recv()
                loop = asyncio.get_running_loop()
                stopping = loop.run_in_executor(None, srv.stop)
                with self.assertRaises(ConnectionClosed) as cm:
                    await ws.recv()
                self.assertEqual(cm.exception.rcvd.code, 1001)
                return await stopping
        rc = run(go())
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    taplib.main(globals())
