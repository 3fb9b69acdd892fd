#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Topics seen by independent clients, Python's `websockets` (Debian): a publication that is not
UTF-8 is refused once and no subscriber is closed (issue 16 B6)."""
import asyncio
import unittest

import websockets

import taplib

SERVER = None


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class PublishUtf8(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)
        cls.url = f"ws://{cls.srv.host}:{cls.srv.port}/_ws"

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_bad_text_is_refused_and_subscribers_stay_open(self):
        async def go():
            async with websockets.connect(self.url) as a, websockets.connect(self.url) as b:
                self.assertEqual(await a.recv(), "joined")
                self.assertEqual(await b.recv(), "joined")
                for bad in (b"\xff", b"ok\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
                    await a.send(bad)   # binary: the server publishes it as text, or refuses
                    self.assertEqual(await a.recv(), "invalid", bad)
                await a.send("é✓".encode())
                self.assertEqual(await a.recv(), "sent")
                # b got nothing of the bad ones, and is still open: the good one is next.
                self.assertEqual(await b.recv(), "é✓")
                self.assertIsNone(b.close_code)
                await b.send("still here")
                self.assertEqual(await b.recv(), "still here")
        run(go())


if __name__ == "__main__":
    taplib.main(globals())
