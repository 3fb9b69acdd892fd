#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTPS and wss:// with independent clients: curl --cacert (HTTPS, SSE), Python's ssl module and
`websockets` (wss echo, close codes), mutual TLS, SNI, reload on SIGHUP, and the refusals at
start-up, against tests/support/tls_server and certificates tests/tls/make_certs.py made with the
openssl command for this run.
Usage: test_tls_clients.py --server tls_server --certs DIR"""
import argparse
import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import websockets

import taplib

SERVER = None
CERTS = None


def cert(name):
    return os.path.join(CERTS, name)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def client_context(cert_file=None, key_file=None):
    ctx = ssl.create_default_context(cafile=cert("ca.pem"))
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def start(*extra):
    return taplib.ExampleServer(SERVER, "--cert", cert("fullchain.pem"), "--key", cert("server.key"), *extra)


def https_get(port, path="/", ctx=None, server_hostname="localhost", timeout=10):
    """One GET over a fresh TLS connection with Python's ssl; returns (status, body, peer cert)."""
    ctx = ctx or client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            return int(head.split(b" ")[1]), body.decode(), s.getpeercert()


def subject_cn(peer):
    for rdn in peer.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


class Curl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = start()
        cls.base = f"https://localhost:{cls.srv.port}"

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def curl(self, *args):
        return subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", cert("ca.pem"), *args],
                              capture_output=True, text=True)

    def test_https_get_with_the_test_ca(self):
        r = self.curl("-v", self.base + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Hello, World!")
        self.assertIn("ALPN: server accepted http/1.1", r.stderr)
        self.assertRegex(r.stderr, r"SSL connection using TLSv1\.3")

    def test_tls12_is_served_and_tls11_refused(self):
        r = self.curl("--tlsv1.2", "--tls-max", "1.2", self.base + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.curl("--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT:@SECLEVEL=0", self.base + "/")
        self.assertNotEqual(r.returncode, 0)

    def test_an_unknown_ca_is_refused_by_curl(self):
        r = subprocess.run(["curl", "-sS", "--max-time", "10", self.base + "/"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 60, r.stderr)   # peer certificate cannot be authenticated

    def test_sse_over_https(self):
        r = self.curl("-N", self.base + "/sse?count=5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "".join(f"id: {i}\ndata: {i}\n\n" for i in range(1, 6)))

    def test_keep_alive_reuses_the_tls_connection(self):
        r = self.curl("-v", self.base + "/", self.base + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Hello, World!Hello, World!")
        self.assertIn("Re-using existing connection", r.stderr)


class WssPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = start()
        cls.url = f"wss://localhost:{cls.srv.port}/_ws"

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_echo_text_binary_and_large(self):
        async def go():
            async with websockets.connect(self.url, ssl=client_context(), max_size=None) as ws:
                await ws.send("héllo over tls ✓")
                self.assertEqual(await ws.recv(), "héllo over tls ✓")
                await ws.send(b"\x00\xff")
                self.assertEqual(await ws.recv(), b"\x00\xff")
                for n in (125, 65536, 1 << 20, 5 << 20):
                    payload = bytes((i * 13) & 0xFF for i in range(n))
                    await ws.send(payload)
                    self.assertEqual(await ws.recv(), payload, f"binary {n}")
        run(go(), timeout=60)

    def test_close_codes_are_echoed(self):
        async def go():
            ws = await websockets.connect(self.url, ssl=client_context())
            await ws.close(4000, "bye over tls")
            self.assertEqual(ws.close_code, 4000)   # RFC 6455 §5.5.1: the code comes back
        run(go())

    def test_many_peers_at_once(self):
        async def one(i):
            async with websockets.connect(self.url, ssl=client_context()) as ws:
                for k in range(20):
                    await ws.send(f"{i}:{k}")
                    self.assertEqual(await ws.recv(), f"{i}:{k}")
        async def go():
            await asyncio.gather(*(one(i) for i in range(30)))
        run(go(), timeout=60)


class Lifecycle(unittest.TestCase):
    def test_sigterm_closes_wss_peers_with_1001(self):
        srv = start()
        async def go():
            ws = await websockets.connect(f"wss://localhost:{srv.port}/_ws", ssl=client_context())
            await ws.send("x")
            await ws.recv()
            srv.proc.send_signal(signal.SIGTERM)
            await ws.wait_closed()
            return ws.close_code
        try:
            self.assertEqual(run(go()), 1001)
            self.assertEqual(srv.proc.wait(10), 0)
        finally:
            srv.stop()

    def test_a_stalled_handshake_is_closed_and_others_are_served(self):
        srv = start("--handshake-timeout", "500")
        try:
            raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            t0 = time.monotonic()
            self.assertEqual(https_get(srv.port)[1], "Hello, World!")
            self.assertEqual(raw.recv(1), b"")   # the server closed it
            self.assertLess(time.monotonic() - t0, 5)
            raw.close()
        finally:
            srv.stop()

    def test_start_up_refuses_an_expired_certificate_naming_it(self):
        r = subprocess.run([SERVER, "--port", "0", "--cert", cert("expired.pem"), "--key", cert("expired.key")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("expired.pem", r.stderr)
        self.assertIn("expired on", r.stderr)

    def test_start_up_refuses_a_key_that_does_not_fit(self):
        r = subprocess.run([SERVER, "--port", "0", "--cert", cert("fullchain.pem"), "--key", cert("wrong.key")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("wrong.key", r.stderr)
        self.assertIn("mismatch", r.stderr)


class MutualTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = start("--client-ca", cert("ca.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_refused_without_a_client_certificate(self):
        with self.assertRaises((ssl.SSLError, ConnectionError)) as e:
            https_get(self.srv.port)
        self.assertRegex(str(e.exception), "CERTIFICATE_REQUIRED|certificate required|EOF|reset")

    def test_refused_with_an_untrusted_client_certificate(self):
        with self.assertRaises((ssl.SSLError, ConnectionError)) as e:
            https_get(self.srv.port, ctx=client_context(cert("stranger.pem"), cert("stranger.key")))
        self.assertRegex(str(e.exception), "UNKNOWN_CA|unknown ca|EOF|reset")

    def test_accepted_with_one_and_its_subject_is_seen(self):
        ctx = client_context(cert("client.pem"), cert("client.key"))
        status, body, _ = https_get(self.srv.port, "/whoami", ctx=ctx)
        self.assertEqual(status, 200)
        self.assertEqual(body, "O=wisp tests,CN=alice")

        async def go():
            async with websockets.connect(f"wss://localhost:{self.srv.port}/_ws", ssl=ctx) as ws:
                await ws.send("whoami")
                return await ws.recv()
        self.assertEqual(run(go()), "O=wisp tests,CN=alice")


class SniAndReload(unittest.TestCase):
    def test_sni_chooses_the_certificate(self):
        srv = start("--sni", f"alpha.test,{cert('alpha.pem')},{cert('alpha.key')}",
                    "--sni", f"*.beta.test,{cert('beta.pem')},{cert('beta.key')}")
        try:
            for name, cn in (("alpha.test", "alpha.test"), ("x.beta.test", "*.beta.test"),
                             ("localhost", "localhost")):
                status, _, peer = https_get(srv.port, server_hostname=name)   # verified for name
                self.assertEqual(status, 200)
                self.assertEqual(subject_cn(peer), cn)
        finally:
            srv.stop()

    def test_sighup_reloads_the_certificate_and_open_connections_go_on(self):
        d = tempfile.mkdtemp(prefix="wisp-reload-")
        try:
            c, k = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            shutil.copy(cert("fullchain.pem"), c)
            shutil.copy(cert("server.key"), k)
            srv = taplib.ExampleServer(SERVER, "--cert", c, "--key", k)
            try:
                async def org(ws):
                    der = ws.transport.get_extra_info("ssl_object").getpeercert()
                    return dict(x[0] for x in der["subject"])["organizationName"]

                async def go():
                    url = f"wss://localhost:{srv.port}/_ws"
                    old = await websockets.connect(url, ssl=client_context())
                    self.assertEqual(await org(old), "wisp tests")
                    shutil.copy(cert("renewed-fullchain.pem"), c)
                    shutil.copy(cert("renewed.key"), k)
                    srv.proc.send_signal(signal.SIGHUP)
                    deadline = time.monotonic() + 10
                    while True:   # the reload runs on the server's loop: poll with a deadline
                        new = await websockets.connect(url, ssl=client_context())
                        renewed = await org(new) == "wisp tests renewed"
                        await new.close()
                        if renewed or time.monotonic() > deadline:
                            break
                        await asyncio.sleep(0.05)
                    self.assertTrue(renewed)
                    await old.send("still here")   # untouched by the reload
                    self.assertEqual(await old.recv(), "still here")
                    await old.close()
                run(go())
            finally:
                srv.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--certs", required=True)
    a, _ = ap.parse_known_args()
    CERTS = os.path.abspath(a.certs)
    taplib.main(globals())
