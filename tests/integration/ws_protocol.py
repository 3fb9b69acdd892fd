#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/echo's /_ws driven frame by frame over a raw socket: RFC 6455 framing, limits,
fragmentation, UTF-8, control frames and the closing handshake. Standard library only.

Every wait has a deadline (socket timeouts plus an overall deadline per read); nothing sleeps."""
import os
import socket
import struct
import time
import unittest

import taplib

SERVER = None

KEY = "dGhlIHNhbXBsZSBub25jZQ=="          # RFC 6455 §1.3's example key
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   # and its accept value
TIMEOUT = 10.0                             # seconds for any single wait
MIB = 1024 * 1024
MAX_MESSAGE = 16 * MIB                     # examples/echo's WsOptions{16 * 1024 * 1024}

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1, RSV2, RSV3 = 4, 2, 1                 # send_frame's `rsv`: the three bits after FIN


def check(cond, msg):
    """An assertion that survives `python -O`; unittest counts it as a failure."""
    if not cond:
        raise AssertionError(msg)


def mask_payload(payload, key):
    """XORs `payload` with the 4-byte `key` (RFC 6455 §5.3), fast enough for 16 MiB."""
    n = len(payload)
    if n == 0:
        return b""
    pad = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(pad, "big")).to_bytes(n, "big")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """One client frame, header built byte by byte. `rsv` is 3 bits (RSV1=4, RSV2=2, RSV3=1).
    `length` announces a payload length other than len(payload) (the payload is still
    appended as given, possibly empty)."""
    payload = bytes(payload)
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n <= 0xFFFF:
        head = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + mask_payload(payload, key)


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, opcode, payload, header_len):
        self.fin, self.opcode, self.payload, self.header_len = fin, opcode, payload, header_len

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return (f"Frame(fin={self.fin}, opcode={self.opcode}, len={len(self.payload)}, "
                f"header={self.header_len}, payload={p!r})")


class RawClient:
    """A minimal RFC 6455 client over a plain socket."""

    def __init__(self, host, port, timeout=TIMEOUT):
        self.timeout = timeout
        self.buf = bytearray()
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._handshake()

    def close(self):
        self.sock.close()

    # ---- bytes in ----
    def _deadline(self, deadline):
        return time.monotonic() + self.timeout if deadline is None else deadline

    def _fill(self, deadline, what):
        left = deadline - time.monotonic()
        check(left > 0, f"timed out waiting for {what}")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise AssertionError(f"timed out waiting for {what}") from None
        check(data, f"server closed TCP while we waited for {what} "
                    f"(buffered: {bytes(self.buf[:64])!r})")
        self.buf += data

    def _take(self, n, deadline, what):
        while len(self.buf) < n:
            self._fill(deadline, what)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    # ---- the opening handshake ----
    def _handshake(self):
        self.sock.sendall(
            b"GET /_ws HTTP/1.1\r\n"
            b"Host: localhost\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + KEY.encode() + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n")
        deadline = self._deadline(None)
        while b"\r\n\r\n" not in self.buf:
            check(len(self.buf) < 64 * 1024, "handshake response too long")
            self._fill(deadline, "the 101 response")
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        check(lines[0].startswith("HTTP/1.1 101"), f"expected 101, got {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        check(headers.get("upgrade", "").lower() == "websocket", f"Upgrade: {headers}")
        check("upgrade" in headers.get("connection", "").lower(), f"Connection: {headers}")
        check(headers.get("sec-websocket-accept") == ACCEPT,
              f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r} != {ACCEPT!r}")
        # Bytes already read past the 101 stay in self.buf: they start the first frame.

    # ---- frames ----
    def send_raw(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
        self.send_raw(build_frame(opcode, payload, fin, rsv, mask, length))

    def read_frame(self, deadline=None):
        """One server frame; checks what a server must never do (§5.1, §5.2, §5.5)."""
        deadline = self._deadline(deadline)
        b0, b1 = self._take(2, deadline, "a frame header")
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        check(rsv == 0, f"server set RSV bits: first byte {b0:#04x}")
        check(not b1 & 0x80, f"server masked a frame: second byte {b1:#04x}")
        check(opcode in (CONT, TEXT, BINARY, CLOSE, PING, PONG),
              f"server sent reserved opcode {opcode}")
        n, header_len = b1 & 0x7F, 2
        if n == 126:
            (n,) = struct.unpack("!H", self._take(2, deadline, "a 16-bit length"))
            header_len = 4
        elif n == 127:
            (n,) = struct.unpack("!Q", self._take(8, deadline, "a 64-bit length"))
            header_len = 10
            check(not n >> 63, "server's 64-bit length has the top bit set")
        if opcode & 0x08:
            check(fin and n <= 125, f"server sent a bad control frame: fin={fin} len={n}")
        payload = self._take(n, deadline, f"a {n}-byte payload")
        return Frame(fin, opcode, payload, header_len)

    def read_close(self, deadline=None, allow_before=False):
        """Reads frames up to a close frame; returns its payload (and the frames before it,
        which must be none unless allow_before)."""
        deadline = self._deadline(deadline)
        before = []
        while True:
            f = self.read_frame(deadline)
            if f.opcode == CLOSE:
                break
            before.append(f)
        check(allow_before or not before, f"frames before the close frame: {before}")
        if len(f.payload) >= 2:
            try:
                f.payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise AssertionError(f"close reason is not UTF-8: {f.payload!r}") from None
        check(len(f.payload) != 1, "server sent a 1-byte close payload")
        return f.payload, before

    def expect_eof(self, deadline=None):
        """After the close frame: nothing more, then the server closes TCP (§7.1.1)."""
        deadline = self._deadline(deadline)
        check(not self.buf, f"bytes after the close frame: {bytes(self.buf[:64])!r}")
        while True:
            left = deadline - time.monotonic()
            check(left > 0, "server did not close TCP after its close frame")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("server did not close TCP after its close frame") from None
            except ConnectionResetError:
                raise AssertionError("server reset TCP instead of closing it") from None
            if not data:
                return
            raise AssertionError(f"bytes after the close frame: {data[:64]!r}")

    def expect_close(self, code, allow_before=False):
        """Reads to a close frame carrying `code`, then expects TCP EOF; returns its reason."""
        deadline = self._deadline(None)
        payload, before = self.read_close(deadline, allow_before)
        check(len(payload) >= 2, f"expected close {code}, got close payload {payload!r}")
        (got,) = struct.unpack("!H", payload[:2])
        check(got == code, f"expected close {code}, got {got} (reason {payload[2:]!r})")
        self.expect_eof(deadline)
        return payload[2:]

    def close_cleanly(self):
        """Our close 1000; the server must echo it with nothing in between, then close TCP."""
        self.send_frame(CLOSE, close_payload(1000))
        self.expect_close(1000)


def text_payload(n):
    """n bytes of valid UTF-8 with multi-byte characters in it."""
    unit = "abc é €".encode()   # 10 bytes: 61 62 63 20 C3 A9 20 E2 82 AC
    return unit * (n // 10) + b"x" * (n % 10)


def header_len_for(n):
    return 2 if n < 126 else 4 if n <= 0xFFFF else 10


class WsProtocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = taplib.ExampleServer(SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def connect(self):
        c = RawClient(self.srv.host, self.srv.port)
        self.addCleanup(c.close)
        return c

    def echo(self, c, opcode, payload):
        c.send_frame(opcode, payload)
        f = c.read_frame()
        self.assertEqual(f.opcode, opcode, "echo changed the opcode")
        self.assertTrue(f.fin, "echo was fragmented")
        self.assertEqual(len(f.payload), len(payload))
        self.assertTrue(f.payload == payload, "echoed payload differs")
        return f

    # ---- fragmentation ----
    def test_fragmented_text_with_ping_and_pong_interleaved(self):
        c = self.connect()
        c.send_frame(TEXT, "frag".encode(), fin=False)
        c.send_frame(PING, b"ping in the middle")
        c.send_frame(CONT, "ment".encode(), fin=False)
        c.send_frame(PONG, b"unsolicited pong")
        c.send_frame(CONT, "ed ✓".encode(), fin=True)
        f = c.read_frame()
        self.assertEqual((f.opcode, f.payload), (PONG, b"ping in the middle"))
        f = c.read_frame()
        self.assertEqual((f.opcode, f.fin, f.payload), (TEXT, True, "fragmented ✓".encode()))
        c.close_cleanly()   # nothing else came back (no answer to the unsolicited pong)

    def test_fragmented_binary_in_100_one_byte_fragments(self):
        c = self.connect()
        data = os.urandom(100)
        for i in range(100):
            c.send_frame(BINARY if i == 0 else CONT, data[i:i + 1], fin=(i == 99))
        f = c.read_frame()
        self.assertEqual((f.opcode, f.fin, f.payload), (BINARY, True, data))
        c.close_cleanly()

    def test_utf8_code_point_split_across_fragments(self):
        c = self.connect()
        msg = "a€b😀c".encode()             # 61 E2 82 AC 62 F0 9F 98 80 63
        c.send_frame(TEXT, msg[:3], fin=False)   # cut inside €
        c.send_frame(CONT, msg[3:7], fin=False)  # cut inside 😀
        c.send_frame(CONT, msg[7:], fin=True)
        f = c.read_frame()
        self.assertEqual((f.opcode, f.payload), (TEXT, msg))
        c.close_cleanly()

    # ---- 1009 ----
    def test_1009_announced_binary_16mib_plus_1(self):
        c = self.connect()
        c.send_frame(BINARY, b"", length=MAX_MESSAGE + 1)   # the header only
        c.expect_close(1009)

    def test_1009_announced_text_16mib_plus_1(self):
        c = self.connect()
        c.send_frame(TEXT, b"", length=MAX_MESSAGE + 1)
        c.expect_close(1009)

    def test_1009_fragments_announce_past_16mib(self):
        c = self.connect()
        c.send_frame(BINARY, os.urandom(MIB), fin=False)
        c.send_frame(CONT, b"", fin=True, length=MAX_MESSAGE - MIB + 1)   # header only
        c.expect_close(1009)

    def test_1009_fragments_16mib_then_one_more_byte(self):
        c = self.connect()
        c.send_frame(BINARY, bytes(MAX_MESSAGE), fin=False)   # a whole 16 MiB, unfinished
        c.send_frame(CONT, b"!", fin=True)
        c.expect_close(1009)

    # ---- ping / pong ----
    def test_ping_125_bytes_gets_pong_with_same_payload(self):
        c = self.connect()
        data = os.urandom(125)
        c.send_frame(PING, data)
        f = c.read_frame()
        self.assertEqual((f.opcode, f.payload, f.header_len), (PONG, data, 2))
        c.close_cleanly()

    def test_empty_ping_gets_empty_pong(self):
        c = self.connect()
        c.send_frame(PING, b"")
        f = c.read_frame()
        self.assertEqual((f.opcode, f.payload), (PONG, b""))
        c.close_cleanly()

    # ---- the closing handshake ----
    def test_close_1000_bye_is_echoed_then_tcp_closed(self):
        c = self.connect()
        c.send_frame(CLOSE, close_payload(1000, b"bye"))
        c.expect_close(1000)

    def test_close_empty_payload_is_answered_then_tcp_closed(self):
        c = self.connect()
        c.send_frame(CLOSE, b"")
        payload, _ = c.read_close()
        if payload == b"":
            answer = "an empty close frame"
        else:
            self.assertGreaterEqual(len(payload), 2)
            (code,) = struct.unpack("!H", payload[:2])
            self.assertEqual(code, 1000, f"empty close answered with {payload!r}")
            answer = f"close 1000 (payload {payload!r})"
        print(f"# empty close was answered with {answer}", flush=True)
        c.expect_eof()

    def test_close_1_byte_payload_is_1002(self):
        c = self.connect()
        c.send_frame(CLOSE, b"\x03")
        c.expect_close(1002)

    def test_1007_close_reason_not_utf8(self):
        c = self.connect()
        c.send_frame(CLOSE, close_payload(1000, b"ok\xff"))
        c.expect_close(1007)

    def test_data_after_our_close_gets_no_answer(self):
        c = self.connect()
        # One write, so the server reads it all before it closes (no RST for unread bytes).
        c.send_raw(build_frame(CLOSE, close_payload(1000)) +
                   build_frame(TEXT, b"after close") +
                   build_frame(BINARY, b"\x00\x01") +
                   build_frame(PING, b"ping after close"))
        c.expect_close(1000)   # strict: no echo, no pong before it, nothing after it

    # ---- TCP segmentation ----
    def test_50_messages_in_one_tcp_write(self):
        c = self.connect()
        msgs = [f"message {i} ✓".encode() for i in range(50)]
        c.send_raw(b"".join(build_frame(TEXT, m) for m in msgs))
        for i, m in enumerate(msgs):
            f = c.read_frame()
            self.assertEqual((f.opcode, f.payload), (TEXT, m), f"echo {i}")
        c.close_cleanly()

    def test_200_byte_message_sent_one_byte_per_write(self):
        c = self.connect()
        data = text_payload(200)
        for b in build_frame(TEXT, data):
            c.send_raw(bytes([b]))
        f = c.read_frame()
        self.assertEqual((f.opcode, f.payload, f.header_len), (TEXT, data, 4))
        c.close_cleanly()

    # ---- last: the server survived everything above ----
    def test_zz_server_still_serves_after_all_failures(self):
        self.assertIsNone(self.srv.proc.poll(), "the server process exited")
        c = self.connect()
        self.echo(c, TEXT, "still here ✓".encode())
        self.echo(c, BINARY, b"\x00\xff")
        c.close_cleanly()


# ---- generated cases: one test method (one TAP line) each ----------------------------

def _add(name, fn):
    name = "test_" + name
    assert not hasattr(WsProtocol, name), name
    fn.__name__ = name
    setattr(WsProtocol, name, fn)


SIZES = [(0, "0"), (125, "125"), (126, "126"), (65535, "65535"), (65536, "65536"),
         (MIB, "1mib"), (MAX_MESSAGE, "16mib")]


def _echo_case(opcode, size):
    def test(self):
        c = self.connect()
        payload = text_payload(size) if opcode == TEXT else os.urandom(size)
        f = self.echo(c, opcode, payload)
        self.assertEqual(f.header_len, header_len_for(size),
                         f"{size} bytes: header of {f.header_len} bytes is not the shortest")
        c.close_cleanly()
    return test


for _size, _label in SIZES:
    _add(f"echo_text_{_label}", _echo_case(TEXT, _size))
    _add(f"echo_binary_{_label}", _echo_case(BINARY, _size))


def _fail_case(code, *frames):
    """Sends `frames` (build_frame keyword dicts) in order, expects close `code`."""
    def test(self):
        c = self.connect()
        for fr in frames:
            c.send_frame(**fr)
        c.expect_close(code)
    return test


def F(opcode, payload=b"", **kw):
    return dict(opcode=opcode, payload=payload, **kw)


# 1002: framing rules.
_add("1002_unmasked_frame", _fail_case(1002, F(TEXT, b"hello", mask=False)))
_add("1002_rsv1", _fail_case(1002, F(TEXT, b"hello", rsv=RSV1)))
_add("1002_rsv2", _fail_case(1002, F(TEXT, b"hello", rsv=RSV2)))
_add("1002_rsv3", _fail_case(1002, F(TEXT, b"hello", rsv=RSV3)))
for _op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
    _add(f"1002_reserved_opcode_{_op}", _fail_case(1002, F(_op, b"x")))
_add("1002_64bit_length_top_bit_set", _fail_case(1002, F(BINARY, b"", length=1 << 63)))
_add("1002_ping_126_bytes", _fail_case(1002, F(PING, b"p" * 126)))
_add("1002_fragmented_ping", _fail_case(1002, F(PING, b"ping", fin=False)))
_add("1002_fragmented_close", _fail_case(1002, F(CLOSE, close_payload(1000), fin=False)))
_add("1002_continuation_without_start", _fail_case(1002, F(CONT, b"orphan")))
_add("1002_text_inside_unfinished_message",
     _fail_case(1002, F(TEXT, b"first", fin=False), F(TEXT, b"second")))
_add("1002_binary_inside_unfinished_message",
     _fail_case(1002, F(BINARY, b"first", fin=False), F(BINARY, b"second")))

# 1007: text that is not UTF-8.
for _label, _bytes in [("lone_continuation_80", b"ab\x80cd"),
                       ("overlong_c0_af", b"ab\xc0\xafcd"),
                       ("surrogate_ed_a0_80", b"ab\xed\xa0\x80cd"),
                       ("above_10ffff_f4_90_80_80", b"ab\xf4\x90\x80\x80cd"),
                       ("byte_ff", b"ab\xffcd")]:
    _add(f"1007_{_label}", _fail_case(1007, F(TEXT, _bytes)))
# Fail fast (§8.1): the message is never finished, so only an early check can answer.
_add("1007_first_fragment_of_unfinished_message",
     _fail_case(1007, F(TEXT, "κα".encode() + b"\xff", fin=False)))

# Close codes: valid ones are echoed, the rest are protocol errors.
def _close_echo_case(code):
    def test(self):
        c = self.connect()
        c.send_frame(CLOSE, close_payload(code, b"reason"))
        c.expect_close(code)
    return test


for _code in (1000, 1001, 1002, 1003, *range(1007, 1015), 3000, 4999):
    _add(f"close_code_{_code}_is_echoed", _close_echo_case(_code))
for _code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535):
    _add(f"1002_close_code_{_code}", _fail_case(1002, F(CLOSE, close_payload(_code))))


if __name__ == "__main__":
    taplib.main(globals())
