#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Redis bridge between real processes: a redis-server of our own on a free port, several
examples/chat instances started with --redis, and tests/support/redis_room_server for what the
chat does not carry (binary, 1 MiB, publications from a thread that is not an I/O thread).
Clients are Python's `websockets` (Debian) and a raw SSE reader. Nothing sleeps to hope: every
wait is on an event (a message, Redis' PUBSUB NUMSUB, a process exit) with a deadline.
Usage: test_redis_python.py --server CHAT --support ROOM_SERVER [--redis-server REDIS_SERVER]"""
import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import websockets

import taplib
from test_chat_python import SseReader, read_head, welcome_id

SERVER = None
ap = argparse.ArgumentParser()
ap.add_argument("--support", required=True)
ap.add_argument("--redis-server", default="")
ARGS, _ = ap.parse_known_args()
SUPPORT = os.path.abspath(ARGS.support)
REDIS_SERVER = ARGS.redis_server or shutil.which("redis-server") or ""
REDIS_CLI = shutil.which("redis-cli", path=os.path.dirname(REDIS_SERVER) + os.pathsep +
                         os.environ.get("PATH", "")) if REDIS_SERVER else None
NO_REDIS = "" if REDIS_SERVER and REDIS_CLI else \
    "redis-server (and redis-cli) not found: install redis-server (Debian) to run this test"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)   # polling an external process's state, with a deadline
    raise AssertionError(f"timed out waiting for {what}")


class Redis:
    """A redis-server of our own: no persistence, a free port (picked by binding port 0, then
    retried if someone took it meanwhile), optionally a password."""

    def __init__(self, password=None, port=None):
        self.password = password
        self.proc = None
        for _ in range(5):
            self.port = port or free_port()
            if self._start():
                return
            if port:
                break
        raise RuntimeError("could not start redis-server")

    def _start(self, timeout=10):
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"]
        if self.password:
            cmd += ["--requirepass", self.password]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "Ready to accept connections" in line:
                return True
            if not line and self.proc.poll() is not None:
                return False   # the port was taken, say
        self.proc.kill()
        self.proc.wait()
        return False

    def cli(self, *args):
        cmd = [REDIS_CLI, "-p", str(self.port)]
        if self.password:
            cmd += ["--no-auth-warning", "-a", self.password]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=10)
        return r.stdout.split()

    def numsub(self, channel):
        out = self.cli("PUBSUB", "NUMSUB", channel)
        return int(out[1]) if len(out) == 2 else -1

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def restart(self, timeout=15):
        """Kills it and starts it again on the same port."""
        self.kill()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._start():
                return
        raise RuntimeError("redis-server did not come back on its port")


def chat(url, binary=None, *extra):
    return taplib.ExampleServer(binary or SERVER, "--redis", url, *extra)


def stop_all(*servers):
    """Stops the servers; returns what each wrote to stderr."""
    errs = []
    for s in servers:
        s.stop()
        errs.append(s.proc.stderr.read())
    return errs


async def connect(srv):
    ws = await websockets.connect(f"ws://{srv.host}:{srv.port}/_ws", open_timeout=20,
                                  max_size=None)
    welcome_id(await asyncio.wait_for(ws.recv(), 10))
    return ws


async def sse(srv, path="/chat/events", last_event_id=None):
    reader, writer = await asyncio.open_connection(srv.host, srv.port)
    resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n{resume}\r\n"
                 .encode())
    line, status, fields = await read_head(reader, 10)
    if status != 200:
        raise AssertionError(f"{path} answered {line}")
    return SseReader(reader, writer, fields)


def text_of(raw):
    return json.loads(raw)["message"]


async def collect_ws(ws, prefix, until, timeout=15):
    """Chat lines starting with `prefix` on `ws`, in order, until the line `until` arrives."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        m = text_of(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if m == until:
            return got
        if m.startswith(prefix):
            got.append(m)


async def probe_until_crossed(sender, receiver, name, timeout=45, each=3):
    """Sends `name`-0, -1... from `sender` until one reaches `receiver` (each waited for
    `each` seconds); fails after `timeout`. Returns how many probes it took."""
    deadline = time.monotonic() + timeout
    sent = 0
    while time.monotonic() < deadline:
        await sender.send(f"{name}-{sent}")
        sent += 1
        try:
            end = min(deadline, time.monotonic() + each)
            while True:
                m = text_of(await asyncio.wait_for(receiver.recv(),
                                                   max(0.01, end - time.monotonic())))
                if m.startswith(name + "-"):
                    return sent
        except asyncio.TimeoutError:
            continue
    raise AssertionError(f"no {name} probe crossed within {timeout} s ({sent} sent)")


async def collect_sse(stream, prefix, until, timeout=15):
    got = []
    deadline = time.monotonic() + timeout
    while True:
        ev = await stream.next_event(max(0.01, deadline - time.monotonic()))
        assert ev["event"] == "chat", ev
        m = text_of(ev["data"])
        if m == until:
            return got
        if m.startswith(prefix):
            got.append(m)


class ChatCase(unittest.TestCase):
    """A redis-server of the test's own and the chat instances it starts (self.servers),
    stopped after it."""

    def setUp(self):
        self.redis = Redis()
        # Runs last, after the chats are stopped; a test may have replaced self.redis.
        self.addCleanup(lambda: self.redis.kill())
        self.url = f"redis://127.0.0.1:{self.redis.port}"
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def wait_subscribed(self, n, channel="wisp:chat"):
        wait_until(lambda: self.redis.numsub(channel) == n, what=f"{n} subscribers of {channel}")


@unittest.skipIf(NO_REDIS, NO_REDIS)
class RedisChat(ChatCase):
    def start(self, n):
        new = [chat(self.url) for _ in range(n)]
        self.servers += new
        return new

    def test_said_on_a_reaches_ws_and_sse_on_b_and_c_once_in_order(self):
        a, b, c = self.start(3)

        async def go():
            wa, wb, wc = await connect(a), await connect(b), await connect(c)
            sb, sc = await sse(b), await sse(c)
            self.wait_subscribed(3)
            said = [f"from-a-{i}" for i in range(30)]
            for t in said:
                await wa.send(t)
            # The sender sees each once (its own echo), everyone else once and in order ...
            for ws in (wa, wb, wc):
                self.assertEqual(await collect_ws(ws, "from-a-", said[-1]), said[:-1])
            for s in (sb, sc):
                self.assertEqual(await collect_sse(s, "from-a-", said[-1]), said[:-1])
            # ... and never again: Redis has sent A's lines to every subscriber connection
            # (A's own included) before it takes C's marker, so a duplicate would come first.
            await wc.send("marker-c")
            for ws in (wa, wb, wc):
                self.assertEqual(await collect_ws(ws, "from-a-", "marker-c"), [])
            for s in (sb, sc):
                self.assertEqual(await collect_sse(s, "from-a-", "marker-c"), [])
            for ws in (wa, wb, wc):
                await ws.close()
            sb.close()
            sc.close()
        run(go())

    def test_http_publish_on_one_instance_reaches_the_other(self):
        a, b = self.start(2)

        async def go():
            wb = await connect(b)
            self.wait_subscribed(1)
            reader, writer = await asyncio.open_connection(a.host, a.port)
            body = b"over http"
            writer.write(b"POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            _, status, _ = await read_head(reader)
            self.assertEqual(status, 204)
            writer.close()
            while True:
                m = json.loads(await asyncio.wait_for(wb.recv(), 10))
                if m["message"] == "over http":
                    self.assertEqual(m["user"], "http")
                    break
            await wb.close()
        run(go())

    def test_redis_restarted_mid_run(self):
        a, b = self.start(2)

        async def go():
            wa, wa2, wb = await connect(a), await connect(a), await connect(b)
            self.wait_subscribed(2)
            await wa.send("before")
            self.assertEqual(await collect_ws(wb, "x", "before"), [])
            self.redis.kill()
            # Local delivery never stops: a's neighbour on the same instance hears it.
            await wa.send("during")
            self.assertEqual(await collect_ws(wa2, "x", "during"), [])
            self.redis.restart()
            self.wait_subscribed(2)   # both instances reconnected and subscribed again
            await wa.send("after")
            got = await collect_ws(wb, "during", "after")
            self.assertLessEqual(len(got), 1)   # at most once: "during" may or may not cross
            await wb.send("back")
            self.assertEqual(await collect_ws(wa, "x", "back"), [])
            for ws in (wa, wa2, wb):
                await ws.close()
        run(go())
        errs = stop_all(*self.servers)
        self.servers = []
        for e in errs:
            self.assertRegex(e, r"connection to 127\.0\.0\.1:\d+ lost")
            self.assertIn("is back", e)

    def test_an_instance_killed_mid_run_leaves_the_others_working(self):
        a, b, c = self.start(3)

        async def go():
            wa, wb, wc = await connect(a), await connect(b), await connect(c)
            self.wait_subscribed(3)
            b.proc.kill()
            b.proc.wait()
            self.wait_subscribed(2)
            await wa.send("still-here")
            self.assertEqual(await collect_ws(wc, "x", "still-here"), [])
            await wc.send("me-too")
            self.assertEqual(await collect_ws(wa, "x", "me-too"), [])
            for ws in (wa, wc):
                await ws.close()
        run(go())

    def test_redis_stalled_a_while_local_delivery_goes_on_and_nothing_is_lost(self):
        a, b = self.start(2)

        async def go():
            wa, wa2, wb = await connect(a), await connect(a), await connect(b)
            self.wait_subscribed(2)
            self.redis.proc.send_signal(signal.SIGSTOP)   # a network stall, as seen from wisp
            try:
                for i in range(20):
                    await wa.send(f"stall-{i}")
                # Local delivery does not wait for Redis.
                self.assertEqual(await collect_ws(wa2, "stall-", "stall-19"),
                                 [f"stall-{i}" for i in range(19)])
            finally:
                self.redis.proc.send_signal(signal.SIGCONT)
            # What waited for Redis crosses once it answers again, in order, once.
            await wa.send("after-stall")
            self.assertEqual(await collect_ws(wb, "stall-", "after-stall"),
                             [f"stall-{i}" for i in range(20)])
            for ws in (wa, wa2, wb):
                await ws.close()
        run(go())

    def test_a_stalled_instance_cut_off_by_redis_reconnects_and_says_so(self):
        a, b = self.start(2)

        async def go():
            wa, wb = await connect(a), await connect(b)
            self.wait_subscribed(2)
            # Redis cuts a subscriber whose output buffer passes 256 KiB (its
            # client-output-buffer-limit for pub/sub; the default is 32 MiB).
            self.redis.cli("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 0 0")
            b.proc.send_signal(signal.SIGSTOP)   # b stops reading
            try:
                # 24 MB for b's subscriber connection: more than the kernel's socket buffers
                # on both ends of it can hold, so the rest waits in Redis' output buffer.
                big = "y" * 60000
                for i in range(400):
                    await wa.send(f"{big}-{i}")
                self.wait_subscribed(1)   # Redis dropped b's subscriber
            finally:
                b.proc.send_signal(signal.SIGCONT)
            self.wait_subscribed(2)   # b saw it, reconnected and subscribed again
            # Lines cross again. Redis delivers a publication only to the subscribers it has
            # at that moment, and the room can lose one again right after this count: a may
            # still be publishing what it read before the cut (400 x 60 KB), and Redis cuts
            # whichever subscriber then falls 256 KiB behind once more (a slow build, a busy
            # machine). So each direction is probed until a line crosses, within a deadline.
            await probe_until_crossed(wa, wb, "after-cut")
            await probe_until_crossed(wb, wa, "from-b")
            for ws in (wa, wb):
                await ws.close()
        run(go(), timeout=120)
        errs = stop_all(*self.servers)
        self.servers = []
        self.assertRegex(errs[1], r"subscribe connection to 127\.0\.0\.1:\d+ lost")
        self.assertRegex(errs[1], r"subscribe connection to 127\.0\.0\.1:\d+ is back")

    def test_refusals_are_logged_at_most_once_a_second_and_counted(self):
        a, b = self.start(2)

        async def go():
            wa, wa2, wb = await connect(a), await connect(a), await connect(b)
            self.wait_subscribed(2)
            # From now on Redis refuses every PUBLISH of the default user (NOPERM).
            self.redis.cli("ACL", "SETUSER", "default", "-publish")
            said = [f"refused-{i}" for i in range(200)]
            for t in said:
                await wa.send(t)
            # Local delivery goes on; nothing crosses.
            self.assertEqual(await collect_ws(wa2, "refused-", said[-1]), said[:-1])
            self.redis.cli("ACL", "SETUSER", "default", "+publish")
            await wa.send("allowed")
            self.assertEqual(await collect_ws(wb, "refused-", "allowed"), [])
            for ws in (wa, wa2, wb):
                await ws.close()
        run(go())
        errs = stop_all(*self.servers)
        self.servers = []
        lines = [l for l in errs[0].splitlines() if "answered PUBLISH with NOPERM" in l]
        # 200 refusals in well under a second or two: one line, maybe two or three, not 200.
        self.assertGreaterEqual(len(lines), 1, errs[0])
        self.assertLessEqual(len(lines), 5, errs[0])

    def test_redis_down_at_start_then_up(self):
        port = self.redis.port
        self.redis.kill()
        a, b = self.start(2)   # they listen although Redis is away

        async def go():
            wa, wa2 = await connect(a), await connect(a)
            await wa.send("alone")
            self.assertEqual(await collect_ws(wa2, "x", "alone"), [])
            self.redis = Redis(port=port)
            wb = await connect(b)
            self.wait_subscribed(2)
            await wa.send("together")
            self.assertEqual(await collect_ws(wb, "x", "together"), [])
            for ws in (wa, wa2, wb):
                await ws.close()
        run(go())


async def collect_events(stream, prefix, until, timeout=15):
    """(message, id) of the chat events starting with `prefix`, until the message `until`."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        ev = await stream.next_event(max(0.01, deadline - time.monotonic()))
        m = text_of(ev["data"])
        if m == until:
            return got
        if m.startswith(prefix):
            got.append((m, ev.get("id")))


def id_key(event_id):
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


@unittest.skipIf(NO_REDIS, NO_REDIS)
class RedisResume(ChatCase):
    """chat --history: the room is a retained topic kept in a Redis Stream, so an EventSource
    whose instance died resumes on another one with its Last-Event-ID."""

    def start(self):
        s = chat(self.url, None, "--history", "100")
        self.servers.append(s)
        return s

    def test_a_stream_resumes_on_another_instance_after_its_own_was_killed(self):
        a, b = self.start(), self.start()

        async def go():
            speaker, listener = await connect(b), await connect(b)
            stream = await sse(a)
            self.wait_subscribed(2)
            for i in range(5):
                await speaker.send(f"m-{i}")
            seen = await collect_events(stream, "m-", "m-4")
            self.assertEqual([m for m, _ in seen], [f"m-{i}" for i in range(4)])
            ids = [i for _, i in seen]
            self.assertTrue(all(ids), seen)   # every event of the room carries its id
            self.assertEqual(ids, sorted(ids, key=id_key))
            # The ids come from the room's Redis Stream, which keeps it all (joins included).
            self.assertGreaterEqual(int(self.redis.cli("XLEN", "wisp:chat")[0]), 5)
            a.proc.kill()   # the stream's instance dies
            a.proc.wait()
            self.wait_subscribed(1)
            for i in range(5, 12):
                await speaker.send(f"m-{i}")
            # Redis has them when B's own subscriber sees them: they come back from it.
            self.assertEqual(await collect_ws(listener, "m-", "m-11"),
                             [f"m-{i}" for i in range(11)])
            await speaker.close()
            await listener.close()
            return seen

        seen = run(go())
        # Reconnect to B with the last id seen (m-3's): m-4 and what was said while it was away
        # come first, in order, once, with the same ids everywhere, then live messages.
        last_seen = seen[-1][1]

        async def resume():
            speaker = await connect(b)
            stream = await sse(b, last_event_id=last_seen)
            await speaker.send("live-1")
            got = await collect_events(stream, "", "live-1")
            missed = [m for m, _ in got if m.startswith("m-")]
            self.assertEqual(missed, [f"m-{i}" for i in range(4, 12)])
            self.assertTrue(all(id_key(i) > id_key(last_seen) for _, i in got))
            self.assertEqual([i for _, i in got], sorted((i for _, i in got), key=id_key))
            # A third instance that starts now (its first subscriber asks Redis for the history
            # before its subscription is confirmed) gives the same events with the same ids.
            c = self.start()
            late = await sse(c, last_event_id=last_seen)
            await speaker.send("live-2")
            got_c = await collect_events(late, "", "live-2")
            self.assertEqual([x for x in got_c if x[0].startswith("m-")],
                             [x for x in got if x[0].startswith("m-")])
            # And nothing twice afterwards: the next line comes next on both.
            self.assertEqual(await collect_events(stream, "m-", "live-2"), [])
            await speaker.send("live-3")
            self.assertEqual(await collect_events(late, "", "live-3"), [])
            await speaker.close()
            stream.close()
            late.close()
        run(resume())

    def test_without_redis_the_room_goes_on_locally_without_ids(self):
        a = self.start()

        async def go():
            speaker, listener = await connect(a), await connect(a)
            stream = await sse(a)
            self.wait_subscribed(1)
            await speaker.send("with-redis")
            got = await collect_events(stream, "", "with-redis")
            # The two peers' join lines go out through Redis and may come back after the stream
            # subscribed (then it gets them, rightly); nothing else comes before this line.
            self.assertEqual([m for m in got if not m[0].endswith(" joined!")], [])
            self.redis.kill()
            # Once the instance has seen Redis go (what is said before that may be lost:
            # at most once), the room goes on locally: a line said then reaches the others.
            heard, i = None, 0
            deadline = time.monotonic() + 15
            while heard is None and time.monotonic() < deadline:
                await speaker.send(f"alone-{i}")
                i += 1
                try:
                    while True:
                        m = text_of(await asyncio.wait_for(listener.recv(), 0.2))
                        if m.startswith("alone-"):
                            heard = m
                            break
                except asyncio.TimeoutError:
                    pass
            self.assertIsNotNone(heard, "no line was delivered locally with Redis away")
            ev = await stream.next_event(10)
            while text_of(ev["data"]) != heard:
                ev = await stream.next_event(10)
            self.assertNotIn("id", ev)   # not retained while Redis is away
            await speaker.close()
            await listener.close()
            stream.close()
        run(go())


@unittest.skipIf(NO_REDIS, NO_REDIS)
class RedisErrors(unittest.TestCase):
    def exits_with(self, url, pattern, timeout=20):
        wrapper = os.environ.get("WISP_EXE_WRAPPER", "").split()
        p = subprocess.Popen([*wrapper, SERVER, "--port", "0", "--redis", url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError(f"chat --redis {url} did not exit")
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, pattern)
        return err

    def test_bad_urls_are_start_up_errors(self):
        self.exits_with("http://127.0.0.1:6379", r"redis URL must look like redis://")
        self.exits_with("redis://127.0.0.1:99999", r"port must be a number from 1 to 65535")
        self.exits_with("redis://:@127.0.0.1:1", r"empty password")
        err = self.exits_with("redis://:hunter2@no-such-host.invalid:6379", r"cannot resolve host")
        self.assertNotIn("hunter2", err)

    def test_wrong_or_missing_password_is_a_clear_error_and_the_right_one_works(self):
        redis = Redis(password="right-one")
        try:
            err = self.exits_with(f"redis://:wrong-one@127.0.0.1:{redis.port}",
                                  r"AUTH rejected by 127\.0\.0\.1:\d+")
            self.assertNotIn("wrong-one", err)
            self.exits_with(f"redis://127.0.0.1:{redis.port}", r"wants a password \(NOAUTH")
            a = chat(f"redis://:right-one@127.0.0.1:{redis.port}")
            b = chat(f"redis://default:right-one@127.0.0.1:{redis.port}")
            try:
                async def go():
                    wa, wb = await connect(a), await connect(b)
                    wait_until(lambda: redis.numsub("wisp:chat") == 2, what="2 subscribers")
                    await wa.send("authenticated")
                    self.assertEqual(await collect_ws(wb, "x", "authenticated"), [])
                    await wa.close()
                    await wb.close()
                run(go())
            finally:
                stop_all(a, b)
        finally:
            redis.kill()


async def stats_when(ws, cond, timeout=10):
    """The room server's bridge counters, asked for until `cond` holds (or the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        await ws.send("?stats")
        stats = dict(kv.split("=") for kv in (await asyncio.wait_for(ws.recv(), 10)).split())
        if cond(stats) or time.monotonic() > deadline:
            return stats


@unittest.skipIf(NO_REDIS, NO_REDIS)
class RedisRoom(unittest.TestCase):
    """The room server: every message crosses with its own type, any size."""

    def setUp(self):
        # Cleanups, not tearDown: they also run when setUp fails half-way (a server that does not
        # start), so no redis-server or room server outlives the test.
        self.redis = Redis()
        self.addCleanup(self.redis.kill)
        url = f"redis://127.0.0.1:{self.redis.port}"
        self.x = taplib.ExampleServer(SUPPORT, "--redis", url)
        self.addCleanup(stop_all, self.x)
        self.y = taplib.ExampleServer(SUPPORT, "--redis", url, "--threads", "2")
        self.addCleanup(stop_all, self.y)

    def test_binary_and_one_mib_messages_cross_with_their_type(self):
        async def go():
            wx = await websockets.connect(f"ws://{self.x.host}:{self.x.port}/_ws", max_size=None)
            wy = await websockets.connect(f"ws://{self.y.host}:{self.y.port}/_ws", max_size=None)
            sy = await sse(self.y, "/events")
            wait_until(lambda: self.redis.numsub("wisp:room") == 2, what="2 subscribers")
            big_bin = os.urandom(1 << 20)
            big_text = ("é" * (1 << 19))   # 1 MiB of UTF-8
            await wx.send(b"\x00\xff small")
            await wx.send(big_bin)
            await wx.send(big_text)
            await wx.send("last")
            self.assertEqual(await asyncio.wait_for(wy.recv(), 15), b"\x00\xff small")
            self.assertEqual(await asyncio.wait_for(wy.recv(), 15), big_bin)
            self.assertEqual(await asyncio.wait_for(wy.recv(), 15), big_text)
            self.assertEqual(await asyncio.wait_for(wy.recv(), 15), "last")
            # The stream gets the text ones only.
            self.assertEqual((await sy.next_event(15))["data"], big_text)
            self.assertEqual((await sy.next_event(15))["data"], "last")
            # Redis' PUBLISH replies may still be on their way to x: ask until they are in.
            stats = await stats_when(wx, lambda s: s["published"] == "4")
            self.assertEqual(stats["dropped"], "0")
            self.assertEqual(stats["connected"], "1")
            stats = await stats_when(wy, lambda s: True)
            self.assertEqual(stats["received"], "4")
            self.assertEqual(stats["rejected"], "0")
            await wx.close()
            await wy.close()
            sy.close()
        run(go())

    def test_a_thread_that_is_not_an_io_thread_publishes_across_in_order(self):
        async def go():
            wx = await websockets.connect(f"ws://{self.x.host}:{self.x.port}/_ws")
            wy = await websockets.connect(f"ws://{self.y.host}:{self.y.port}/_ws")
            wait_until(lambda: self.redis.numsub("wisp:room") == 2, what="2 subscribers")
            await wy.send("?thread 200")   # y runs two loops and a thread of its own
            got = [await asyncio.wait_for(wx.recv(), 15) for _ in range(200)]
            self.assertEqual(got, [f"thread-{i}" for i in range(200)])
            await wx.close()
            await wy.close()
        run(go())


if __name__ == "__main__":
    if NO_REDIS:
        print(f"# SKIP {NO_REDIS}", flush=True)
    taplib.main(globals())
