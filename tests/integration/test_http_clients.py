#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/echo driven by independent HTTP clients: Python's http.client and curl."""
import http.client
import shutil
import signal
import socket
import subprocess
import unittest

import taplib

SERVER = None


class EchoHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def conn(self):
        return http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=10)

    def test_get_root_with_http_client(self):
        c = self.conn()
        c.request("GET", "/")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.reason, "OK")
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain"))
        self.assertEqual(r.read(), b"Hello, World!")

    def test_keep_alive_reuses_the_connection(self):
        c = self.conn()
        for _ in range(20):
            c.request("GET", "/")
            r = c.getresponse()
            self.assertEqual(r.read(), b"Hello, World!")
        self.assertFalse(r.will_close)

    def test_unknown_path_404_and_wrong_method_405(self):
        c = self.conn()
        c.request("GET", "/no/such/path")
        r = c.getresponse()
        r.read()
        self.assertEqual((r.status, r.reason), (404, "Not Found"))
        c.request("DELETE", "/")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 405)
        self.assertIn("GET", r.getheader("Allow"))

    def test_head_has_length_but_no_body(self):
        c = self.conn()
        c.request("HEAD", "/")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Length"), "13")
        self.assertEqual(r.read(), b"")

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl(self):
        out = subprocess.run(["curl", "-sS", "-i", f"http://{self.srv.host}:{self.srv.port}/"],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("HTTP/1.1 200 OK"))
        self.assertTrue(out.stdout.endswith("Hello, World!"))


class EchoLifecycle(unittest.TestCase):
    def test_stops_cleanly_on_sigint_and_sigterm(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            srv = taplib.ExampleServer(SERVER)
            s = socket.create_connection((srv.host, srv.port), timeout=10)
            rc = srv.stop(sig)
            self.assertEqual(rc, 0)
            s.settimeout(10)
            self.assertEqual(s.recv(1), b"")   # the idle connection was closed, not left hanging
            s.close()

    def test_threads_option(self):
        srv = taplib.ExampleServer(SERVER, "--threads", "2")
        try:
            for _ in range(4):
                c = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
                c.request("GET", "/")
                self.assertEqual(c.getresponse().read(), b"Hello, World!")
        finally:
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    taplib.main(globals())
