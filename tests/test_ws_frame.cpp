// SPDX-License-Identifier: MIT
// Tests for wisp/detail/ws_frame.hpp (masking against a naive loop, header encoding, close
// codes) and ws_reader.hpp (the WsReader rule by rule). Every reader input is also fed split at
// every byte boundary and one byte at a time, and must give exactly the same events.
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_reader.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Failed comparisons of event lists print them, non-printable bytes escaped.
namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& events) {
        std::string out = "{";
        for (const std::string& e : events) {
            out += out.size() > 1 ? ", \"" : "\"";
            for (const char c : e.substr(0, 60)) {
                if (c >= 0x20 && c < 0x7F) {
                    out += c;
                } else {
                    static const char hex[] = "0123456789abcdef";
                    out += "\\x";
                    out += hex[(static_cast<unsigned char>(c) >> 4) & 15];
                    out += hex[static_cast<unsigned char>(c) & 15];
                }
            }
            out += e.size() > 60 ? "...(" + std::to_string(e.size()) + ")\"" : "\"";
        }
        return (out + "}").c_str();
    }
};
}   // namespace doctest

namespace {

namespace d = wisp::detail;
using d::Opcode;
using Events = std::vector<std::string>;

const char* errc_name(wisp::errc e) {
    switch (e) {
        case wisp::errc::protocol_error:
            return "protocol_error";
        case wisp::errc::invalid_utf8:
            return "invalid_utf8";
        case wisp::errc::message_too_big:
            return "message_too_big";
        default:
            return "unexpected errc";
    }
}

struct Recorder {
    Events events;
    std::vector<const char*> message_data;   // data() of each on_message view
    std::vector<const char*> control_data;   // data() of each on_ping/on_pong view

    void on_message(Opcode op, std::string_view p) {
        CHECK((op == Opcode::text || op == Opcode::binary));
        events.push_back((op == Opcode::text ? "text:" : "binary:") + std::string(p));
        message_data.push_back(p.data());
    }
    void on_compressed_message(Opcode op, std::string_view p) {
        CHECK((op == Opcode::text || op == Opcode::binary));
        events.push_back((op == Opcode::text ? "ztext:" : "zbinary:") + std::string(p));
    }
    void on_ping(std::string_view p) {
        CHECK(p.size() <= 125);
        events.push_back("ping:" + std::string(p));
        control_data.push_back(p.data());
    }
    void on_pong(std::string_view p) {
        CHECK(p.size() <= 125);
        events.push_back("pong:" + std::string(p));
        control_data.push_back(p.data());
    }
    void on_close(std::uint16_t code, std::string_view reason) {
        events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
    void on_error(wisp::errc e, std::uint16_t code, const char* why) {
        CHECK(why != nullptr);
        events.push_back(std::string("error:") + errc_name(e) + ":" + std::to_string(code));
    }
};

// A client frame with full control of the header: b0 is FIN|RSV|opcode; `form` forces the
// length encoding (0: shortest, 126: 16-bit, 127: 64-bit); `declared` overrides the length
// written in the header (payload bytes are still all appended).
std::string frame(unsigned b0, std::string_view payload, int form = 0, bool masked = true,
                  std::uint32_t seed = 0x9E3779B9u, std::uint64_t declared = ~0ull) {
    const std::uint64_t len = declared == ~0ull ? payload.size() : declared;
    std::string out;
    out.push_back(static_cast<char>(b0));
    const unsigned m = masked ? 0x80 : 0;
    if (form == 0 && len < 126) {
        out.push_back(static_cast<char>(m | len));
    } else if (form == 126 || (form == 0 && len <= 0xFFFF)) {
        out.push_back(static_cast<char>(m | 126));
        out.push_back(static_cast<char>(len >> 8));
        out.push_back(static_cast<char>(len & 0xFF));
    } else {
        out.push_back(static_cast<char>(m | 127));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
    }
    const std::uint8_t key[4] = {
        static_cast<std::uint8_t>(seed), static_cast<std::uint8_t>(seed >> 8),
        static_cast<std::uint8_t>(seed >> 16), static_cast<std::uint8_t>(seed >> 24)};
    if (masked) out.append(reinterpret_cast<const char*>(key), 4);
    std::string body(payload);
    if (masked)
        for (std::size_t i = 0; i < body.size(); ++i)
            body[i] = static_cast<char>(body[i] ^ key[i & 3]);
    return out + body;
}

constexpr unsigned FIN = 0x80;
constexpr unsigned TEXT = 1, BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;

std::string close_frame(std::uint16_t code, std::string_view reason) {
    std::string body;
    body.push_back(static_cast<char>(code >> 8));
    body.push_back(static_cast<char>(code & 0xFF));
    body += reason;
    return frame(FIN | CLOSE, body);
}

struct Run {
    Events events;
    std::size_t consumed = 0;
};

// Feeds `bytes` in pieces of the given sizes (the last piece takes the rest), stopping where
// the reader stops; each piece is a separate heap buffer, as successive socket reads would be.
// permessage-deflate negotiated for the readers run() makes (Compression sets it for a scope).
bool compression_on = false;
struct Compression {
    Compression() { compression_on = true; }
    ~Compression() { compression_on = false; }
};

Run run(const std::string& bytes, const std::vector<std::size_t>& pieces, d::WsLimits limits = {}) {
    d::WsReader reader(limits, compression_on);
    Recorder rec;
    Run r;
    std::size_t pos = 0;
    for (std::size_t i = 0; i <= pieces.size() && pos <= bytes.size(); ++i) {
        const std::size_t n =
            i < pieces.size() && pieces[i] < bytes.size() - pos ? pieces[i] : bytes.size() - pos;
        std::vector<char> buf(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                              bytes.begin() + static_cast<std::ptrdiff_t>(pos + n));
        const std::size_t got = reader.feed(buf.data(), n, rec);
        CHECK(got <= n);
        r.consumed += got;
        if (got < n) {
            CHECK(reader.done());
            // A finished reader consumes and reports nothing more.
            const std::size_t before = rec.events.size();
            CHECK(reader.feed(buf.data() + got, n - got, rec) == 0);
            CHECK(rec.events.size() == before);
            break;
        }
        pos += n;
        if (pos == bytes.size()) break;
    }
    r.events = rec.events;
    return r;
}

Run run_whole(const std::string& bytes, d::WsLimits limits = {}) { return run(bytes, {}, limits); }

// One-shot, every 2-way split and byte by byte must all produce `expected`; when no error is
// expected, the bytes consumed must agree too.
void expect_events(const std::string& bytes, const Events& expected, d::WsLimits limits = {}) {
    const Run whole = run_whole(bytes, limits);
    CHECK(whole.events == expected);
    const bool error = !expected.empty() && expected.back().rfind("error:", 0) == 0;
    for (std::size_t k = 0; k <= bytes.size(); ++k) {
        const Run split = run(bytes, {k}, limits);
        if (split.events != expected) {
            CAPTURE(k);
            CHECK(split.events == expected);
        }
        if (!error) CHECK(split.consumed == whole.consumed);
    }
    const Run bytewise = run(bytes, std::vector<std::size_t>(bytes.size(), 1), limits);
    CHECK(bytewise.events == expected);
    if (!error) CHECK(bytewise.consumed == whole.consumed);
}

void expect_error(const std::string& bytes, const char* event, d::WsLimits limits = {}) {
    expect_events(bytes, {event}, limits);
}

void naive_mask(char* p, std::size_t n, const std::uint8_t key[4], std::size_t phase) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[(phase + i) % 4]);
}

}   // namespace

TEST_CASE("ws_frame: mask equals a naive loop for every phase, length and alignment") {
    const std::uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};
    for (std::size_t phase = 0; phase < 8; ++phase) {
        for (std::size_t len = 0; len <= 40; ++len) {
            for (std::size_t offset = 0; offset < 8; ++offset) {
                std::vector<char> a(len + offset + 1), b;
                for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>(i * 7 + 3);
                b = a;
                d::mask(a.data() + offset, len, key, phase);
                naive_mask(b.data() + offset, len, key, phase);
                if (a != b) {
                    CAPTURE(phase);
                    CAPTURE(len);
                    CAPTURE(offset);
                    CHECK(a == b);
                }
            }
        }
    }
}

TEST_CASE("ws_frame: mask_ascii masks as mask does and finds any byte above 0x7F") {
    const std::uint8_t key[4] = {0x37, 0x5A, 0x21, 0x3D};
    for (std::size_t phase = 0; phase < 8; ++phase) {
        for (std::size_t len = 0; len <= 72; ++len) {
            // Every position of one non-ASCII byte (after unmasking), and none.
            for (std::size_t high = 0; high <= len; ++high) {
                std::vector<char> plain(len + 1);
                for (std::size_t i = 0; i < len; ++i) plain[i] = static_cast<char>(0x20 + i % 90);
                if (high < len) plain[high] = static_cast<char>(0x80 | (high * 13));
                std::vector<char> a = plain, b = plain;
                naive_mask(a.data(), len, key, phase);   // as the client sent it
                b = a;
                const bool ascii = d::mask_ascii(a.data(), len, key, phase);
                d::mask(b.data(), len, key, phase);
                if (a != plain || b != plain || ascii != (high == len)) {
                    CAPTURE(phase);
                    CAPTURE(len);
                    CAPTURE(high);
                    CHECK(a == plain);
                    CHECK(b == plain);
                    CHECK(ascii == (high == len));
                }
            }
        }
    }
}

TEST_CASE("ws_frame: masking in pieces equals masking at once, and twice is identity") {
    const std::uint8_t key[4] = {1, 2, 3, 0xFF};
    std::string whole(1000, '\0');
    for (std::size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<char>(i * 131);
    const std::string original = whole;
    std::string pieces = whole;
    d::mask(&whole[0], whole.size(), key);
    std::size_t at = 0;
    for (std::size_t step : {0u, 1u, 3u, 5u, 8u, 13u, 33u, 100u, 500u}) {
        d::mask(&pieces[at], step, key, at);
        at += step;
    }
    d::mask(&pieces[at], pieces.size() - at, key, at);
    CHECK(pieces == whole);
    d::mask(&whole[0], whole.size(), key);
    CHECK(whole == original);
}

TEST_CASE("ws_frame: header encoding picks the shortest length form") {
    char h[d::max_frame_header_bytes];
    auto hdr = [&](std::size_t n) { return std::string(h, n); };
    CHECK(d::encode_frame_header(h, Opcode::text, true, 0) == 2);
    CHECK(hdr(2) == std::string("\x81\x00", 2));
    CHECK(d::encode_frame_header(h, Opcode::binary, true, 125) == 2);
    CHECK(hdr(2) == "\x82\x7d");
    CHECK(d::encode_frame_header(h, Opcode::binary, true, 126) == 4);
    CHECK(hdr(4) == std::string("\x82\x7e\x00\x7e", 4));
    CHECK(d::encode_frame_header(h, Opcode::text, false, 65535) == 4);
    CHECK(hdr(4) == "\x01\x7e\xff\xff");
    CHECK(d::encode_frame_header(h, Opcode::continuation, true, 65536) == 10);
    CHECK(hdr(10) == std::string("\x80\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
    CHECK(d::encode_frame_header(h, Opcode::binary, true, 0x7FFFFFFFFFFFFFFFull) == 10);
    CHECK(hdr(10) == "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff");
    CHECK(d::encode_frame_header(h, Opcode::ping, true, 5) == 2);
    CHECK(hdr(2) == "\x89\x05");
    // Masked (client) frames carry the key after the length; RSV1 marks compression.
    const std::uint8_t key[4] = {0xA, 0xB, 0xC, 0xD};
    CHECK(d::encode_frame_header(h, Opcode::text, true, 3, key) == 6);
    CHECK(hdr(6) == "\x81\x83\x0a\x0b\x0c\x0d");
    CHECK(d::encode_frame_header(h, Opcode::text, true, 70000, key, true) == 14);
    CHECK(hdr(14) == std::string("\xc1\xff\x00\x00\x00\x00\x00\x01\x11\x70\x0a\x0b\x0c\x0d", 14));
}

TEST_CASE("ws_frame: encode_client_frame round-trips through the reader") {
    for (std::size_t len : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70001u}) {
        std::string payload(len, '\0');
        for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>('a' + i % 26);
        const std::string bytes = d::encode_client_frame(Opcode::binary, payload, true, 0xDEADBEEF);
        CHECK(bytes.size() == payload.size() + (len < 126 ? 6 : len <= 65535 ? 8 : 14));
        const Run r = run_whole(bytes);
        REQUIRE(r.events.size() == 1);
        CHECK(r.events[0] == "binary:" + payload);
        CHECK(r.consumed == bytes.size());
    }
}

TEST_CASE("ws_frame: close code validity table") {
    auto expected = [](unsigned c) {
        return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    };
    for (unsigned c = 0; c <= 0xFFFF; ++c) {
        if (d::is_valid_close_code(static_cast<std::uint16_t>(c)) != expected(c)) {
            CAPTURE(c);
            CHECK(d::is_valid_close_code(static_cast<std::uint16_t>(c)) == expected(c));
        }
    }
    for (unsigned c : {0u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 2999u, 5000u, 65535u})
        CHECK_FALSE(d::is_valid_close_code(static_cast<std::uint16_t>(c)));
    for (unsigned c : {1000u, 1001u, 1002u, 1003u, 1007u, 1011u, 1014u, 3000u, 4999u})
        CHECK(d::is_valid_close_code(static_cast<std::uint16_t>(c)));
}

TEST_CASE("ws_frame: close payloads carry the code big-endian and cut the reason at 123") {
    char out[125];
    CHECK(d::encode_close_payload(out, 1000, "") == 2);
    CHECK(std::string(out, 2) == "\x03\xe8");
    CHECK(d::encode_close_payload(out, 4999, "bye") == 5);
    CHECK(std::string(out, 5) ==
          "\x13\x87"
          "bye");
    const std::string long_ascii(200, 'x');
    CHECK(d::encode_close_payload(out, 1001, long_ascii) == 125);
    // 122 ASCII bytes then a 2-byte character: it would straddle byte 123, so it is dropped.
    const std::string straddle = std::string(122, 'y') + "\xc3\xa9" + "tail";
    CHECK(d::encode_close_payload(out, 1001, straddle) == 124);
    CHECK(std::string_view(out + 2, 122) == std::string(122, 'y'));
    // 121 ASCII bytes then é: fits exactly in 123.
    const std::string fits = std::string(121, 'y') + "\xc3\xa9" + "tail";
    CHECK(d::encode_close_payload(out, 1001, fits) == 125);
}

TEST_CASE("ws_frame: all three length encodings, at the 125/126 and 65535/65536 boundaries") {
    for (std::size_t len : {0u, 1u, 125u, 126u, 65535u, 65536u}) {
        CAPTURE(len);
        const std::string payload(len, 'q');
        CHECK(run_whole(frame(FIN | TEXT, payload)).events == Events{"text:" + payload});
        // The same payload in each longer form: non-minimal encodings are accepted.
        CHECK(run_whole(frame(FIN | BINARY, payload, 127)).events == Events{"binary:" + payload});
        if (len <= 0xFFFF)
            CHECK(run_whole(frame(FIN | BINARY, payload, 126)).events ==
                  Events{"binary:" + payload});
    }
    expect_events(frame(FIN | TEXT, "abc", 127), {"text:abc"});
    expect_events(frame(FIN | TEXT, std::string(130, 'w'), 126), {"text:" + std::string(130, 'w')});
}

TEST_CASE("ws_frame: a single whole frame is delivered in place (zero copy)") {
    std::string bytes = frame(FIN | TEXT, "hello, world") + frame(FIN | PING, "pp") +
                        frame(FIN | BINARY, std::string(300, 'b'));
    d::WsReader reader;
    Recorder rec;
    CHECK(reader.feed(&bytes[0], bytes.size(), rec) == bytes.size());
    REQUIRE(rec.events.size() == 3);
    CHECK(rec.events[0] == "text:hello, world");
    const char* begin = bytes.data();
    const char* end = bytes.data() + bytes.size();
    for (const char* p : rec.message_data) CHECK((p >= begin && p < end));
    for (const char* p : rec.control_data) CHECK((p >= begin && p < end));
    CHECK(reader.buffer_capacity() <= sizeof(std::string));   // nothing was buffered
    // The payload was unmasked in place: the text now sits in the caller's buffer.
    CHECK(bytes.find("hello, world") != std::string::npos);
}

TEST_CASE("ws_frame: fragmented or split messages are delivered from the reader's buffer") {
    std::string frag = frame(TEXT, "hel") + frame(FIN | CONT, "lo");
    d::WsReader reader;
    Recorder rec;
    CHECK(reader.feed(&frag[0], frag.size(), rec) == frag.size());
    REQUIRE(rec.events == Events{"text:hello"});
    const char* p = rec.message_data[0];
    CHECK_FALSE((p >= frag.data() && p < frag.data() + frag.size()));

    std::string one = frame(FIN | BINARY, "split me");
    Recorder rec2;
    CHECK(reader.feed(&one[0], 7, rec2) == 7);
    CHECK(rec2.events.empty());
    CHECK(reader.feed(&one[7], one.size() - 7, rec2) == one.size() - 7);
    CHECK(rec2.events == Events{"binary:split me"});
}

TEST_CASE("ws_frame: fragments reassemble with control frames interleaved") {
    const std::string bytes = frame(TEXT, "Hel") + frame(FIN | PING, "are you there") +
                              frame(CONT, "lo ") + frame(FIN | PONG, "") + frame(CONT, "") +
                              frame(FIN | CONT, "w\xc3\xb6rld") + frame(FIN | BINARY, "\x01\x02") +
                              frame(BINARY, "a") + frame(FIN | PING, std::string(125, 'p')) +
                              frame(FIN | CONT, "b");
    expect_events(bytes, {"ping:are you there", "pong:", "text:Hello w\xc3\xb6rld",
                          "binary:\x01\x02", "ping:" + std::string(125, 'p'), "binary:ab"});
}

TEST_CASE("ws_frame: a code point may be split across fragments") {
    // U+1F600 as F0 9F | 98 80 across two fragments, with a ping in between.
    expect_events(frame(TEXT, "x\xf0\x9f") + frame(FIN | PING, "") + frame(FIN | CONT, "\x98\x80y"),
                  {"ping:", "text:x\xf0\x9f\x98\x80y"});
}

TEST_CASE("ws_frame: empty messages, frames and control payloads") {
    expect_events(frame(FIN | TEXT, "") + frame(FIN | BINARY, "") + frame(FIN | PING, "") +
                      frame(TEXT, "") + frame(FIN | CONT, ""),
                  {"text:", "binary:", "ping:", "text:"});
}

TEST_CASE("ws_frame: client frames must be masked (1002)") {
    expect_error(frame(FIN | TEXT, "hi", 0, false), "error:protocol_error:1002");
    expect_error(frame(FIN | PING, "", 0, false), "error:protocol_error:1002");
    expect_events(frame(FIN | TEXT, "ok") + frame(FIN | BINARY, "x", 0, false),
                  {"text:ok", "error:protocol_error:1002"});
}

TEST_CASE("ws_frame: RSV1, RSV2 and RSV3 are protocol errors without an extension (1002)") {
    for (unsigned rsv : {0x40u, 0x20u, 0x10u, 0x70u}) {
        CAPTURE(rsv);
        expect_error(frame(FIN | rsv | TEXT, "x"), "error:protocol_error:1002");
        expect_error(frame(FIN | rsv | PING, "x"), "error:protocol_error:1002");
    }
}

TEST_CASE("ws_frame: with compression on, RSV1 marks a message compressed, delivered unchecked") {
    const Compression on;
    constexpr unsigned RSV1 = 0x40;
    // Not UTF-8 and not inflated: the reader leaves both to the sink.
    expect_events(frame(FIN | RSV1 | TEXT, "\xff\xfe") + frame(FIN | RSV1 | BINARY, "z"),
                  {"ztext:\xff\xfe", "zbinary:z"});
    // Fragmented, a ping between the fragments; the next message is plain again.
    expect_events(frame(RSV1 | TEXT, "ab") + frame(FIN | PING, "p") + frame(CONT, "\xc3") +
                      frame(FIN | CONT, "cd") + frame(FIN | TEXT, "plain"),
                  {"ping:p",
                   "ztext:ab\xc3"
                   "cd",
                   "text:plain"});
    // An uncompressed message is still checked for UTF-8.
    expect_error(frame(FIN | TEXT, "\xff"), "error:invalid_utf8:1007");
}

TEST_CASE("ws_frame: RSV1 on a control or continuation frame, RSV2 and RSV3 stay 1002") {
    const Compression on;
    constexpr unsigned RSV1 = 0x40;
    for (unsigned op : {CLOSE, PING, PONG}) {
        CAPTURE(op);
        expect_error(frame(FIN | RSV1 | op, ""), "error:protocol_error:1002");
    }
    // RFC 7692 §6.1: only the first frame of a message says it is compressed.
    expect_events(frame(RSV1 | TEXT, "a") + frame(FIN | RSV1 | CONT, "b"),
                  {"error:protocol_error:1002"});
    expect_events(frame(TEXT, "a") + frame(FIN | RSV1 | CONT, "b"), {"error:protocol_error:1002"});
    for (unsigned rsv : {0x20u, 0x10u, 0x60u, 0x50u}) {
        CAPTURE(rsv);
        expect_error(frame(FIN | rsv | TEXT, "x"), "error:protocol_error:1002");
    }
}

TEST_CASE("ws_frame: a compressed message may exceed the limit by the deflate slack, no more") {
    const Compression on;
    constexpr unsigned RSV1 = 0x40;
    const std::uint64_t limit = 100;
    const std::size_t slack = static_cast<std::size_t>(d::deflate_size_slack(limit));
    CHECK(slack == 100 / 8 + 1024);
    const std::string most(limit + slack, 'a');
    expect_events(frame(FIN | RSV1 | BINARY, most), {"zbinary:" + most}, d::WsLimits{limit});
    expect_error(frame(FIN | RSV1 | BINARY, most + "a"), "error:message_too_big:1009",
                 d::WsLimits{limit});
    // Fragmented: the sum counts.
    expect_events(frame(RSV1 | BINARY, most.substr(1)) + frame(FIN | CONT, "aa"),
                  {"error:message_too_big:1009"}, d::WsLimits{limit});
    // Uncompressed messages keep the plain limit.
    expect_error(frame(FIN | BINARY, std::string(limit + 1, 'a')), "error:message_too_big:1009",
                 d::WsLimits{limit});
}

TEST_CASE("ws_frame: a sink that cannot inflate sees a compressed message as a protocol error") {
    struct Plain {
        std::vector<std::string> events;
        void on_message(Opcode, std::string_view p) {
            events.push_back("message:" + std::string(p));
        }
        void on_ping(std::string_view) {}
        void on_pong(std::string_view) {}
        void on_close(std::uint16_t, std::string_view) {}
        void on_error(wisp::errc e, std::uint16_t code, const char*) {
            events.push_back(std::string("error:") + errc_name(e) + ":" + std::to_string(code));
        }
    } sink;
    d::WsReader reader({}, true);
    std::string bytes = frame(FIN | 0x40 | TEXT, "x");
    reader.feed(&bytes[0], bytes.size(), sink);
    CHECK(sink.events == Events{"error:protocol_error:1002"});
    CHECK(reader.done());
}

TEST_CASE("ws_frame: reserved opcodes are protocol errors (1002)") {
    for (unsigned op : {3u, 4u, 5u, 6u, 7u, 11u, 12u, 13u, 14u, 15u}) {
        CAPTURE(op);
        expect_error(frame(FIN | op, ""), "error:protocol_error:1002");
        expect_error(frame(FIN | op, "payload"), "error:protocol_error:1002");
    }
}

TEST_CASE("ws_frame: control frames must be final and at most 125 bytes (1002)") {
    for (unsigned op : {CLOSE, PING, PONG}) {
        CAPTURE(op);
        expect_error(frame(op, "x"), "error:protocol_error:1002");
        expect_error(frame(FIN | op, std::string(126, 'x')), "error:protocol_error:1002");
        // Even a small payload in the 16- or 64-bit form: the 7-bit length is then > 125.
        expect_error(frame(FIN | op, "ab", 126), "error:protocol_error:1002");
        expect_error(frame(FIN | op, "ab", 127), "error:protocol_error:1002");
    }
    expect_events(frame(FIN | PONG, std::string(125, 'x')), {"pong:" + std::string(125, 'x')});
}

TEST_CASE("ws_frame: a 64-bit length with the top bit set is a protocol error (1002)") {
    const std::string h = frame(FIN | BINARY, "", 127, true, 1, 0x8000000000000000ull);
    expect_error(h, "error:protocol_error:1002");
    // ... even when the limit would also refuse it: the length is malformed first.
    expect_error(frame(FIN | BINARY, "", 127, true, 1, ~0ull - 1), "error:protocol_error:1002");
}

TEST_CASE("ws_frame: continuation frames need a message in progress (1002)") {
    expect_error(frame(FIN | CONT, "x"), "error:protocol_error:1002");
    expect_error(frame(CONT, "x"), "error:protocol_error:1002");
    expect_events(frame(FIN | TEXT, "done") + frame(FIN | CONT, "x"),
                  {"text:done", "error:protocol_error:1002"});
}

TEST_CASE("ws_frame: a new data frame inside a fragmented message is a protocol error (1002)") {
    expect_error(frame(TEXT, "a") + frame(FIN | TEXT, "b"), "error:protocol_error:1002");
    expect_error(frame(BINARY, "a") + frame(BINARY, "b"), "error:protocol_error:1002");
    expect_error(frame(TEXT, "a") + frame(FIN | BINARY, "b"), "error:protocol_error:1002");
    expect_events(frame(TEXT, "a") + frame(FIN | PING, "p") + frame(FIN | TEXT, "b"),
                  {"ping:p", "error:protocol_error:1002"});
}

TEST_CASE("ws_frame: max_message_bytes is enforced on the header, before the payload (1009)") {
    d::WsLimits limits;
    limits.max_message_bytes = 100;
    expect_events(frame(FIN | BINARY, std::string(100, 'x')), {"binary:" + std::string(100, 'x')},
                  limits);
    expect_error(frame(FIN | BINARY, std::string(101, 'x')), "error:message_too_big:1009", limits);
    // Fragments count together.
    expect_events(frame(TEXT, std::string(60, 'a')) + frame(FIN | CONT, std::string(40, 'b')),
                  {"text:" + std::string(60, 'a') + std::string(40, 'b')}, limits);
    expect_error(frame(TEXT, std::string(60, 'a')) + frame(FIN | CONT, std::string(41, 'b')),
                 "error:message_too_big:1009", limits);
    // Control frames do not count toward the message.
    expect_events(
        frame(TEXT, std::string(100, 'a')) + frame(FIN | PING, "p") + frame(FIN | CONT, ""),
        {"ping:p", "text:" + std::string(100, 'a')}, limits);

    SUBCASE("only the header has arrived") {
        for (int form : {0, 126, 127}) {
            CAPTURE(form);
            // Header alone (length field complete, no key, no payload yet).
            std::string h = frame(FIN | BINARY, "", form, true, 7, 101);
            h.resize(h.size() - 4);
            d::WsReader reader(limits);
            Recorder rec;
            reader.feed(&h[0], h.size(), rec);
            CHECK(rec.events == Events{"error:message_too_big:1009"});
            CHECK(reader.buffer_capacity() <= sizeof(std::string));
        }
        std::string big = frame(FIN | BINARY, "", 127, true, 7, 1ull << 40);
        d::WsReader reader;   // default limits: 16 MiB
        Recorder rec;
        reader.feed(&big[0], big.size(), rec);
        CHECK(rec.events == Events{"error:message_too_big:1009"});
        // Second fragment's header pushes the total over: refused before its payload.
        std::string two = frame(TEXT, std::string(60, 'a')) + frame(FIN | CONT, "", 0, true, 7, 41);
        d::WsReader r2(limits);
        Recorder rec2;
        r2.feed(&two[0], two.size(), rec2);
        CHECK(rec2.events == Events{"error:message_too_big:1009"});
    }
}

TEST_CASE("ws_frame: invalid UTF-8 in a text message fails with 1007") {
    expect_error(frame(FIN | TEXT, "ab\xff"), "error:invalid_utf8:1007");
    expect_error(frame(FIN | TEXT, "\xed\xa0\x80"), "error:invalid_utf8:1007");
    expect_error(frame(FIN | TEXT, "\xc0\xaf"), "error:invalid_utf8:1007");
    // Cut at the end of the final fragment.
    expect_error(frame(FIN | TEXT, "ok\xe2\x82"), "error:invalid_utf8:1007");
    expect_error(frame(TEXT, "ok\xe2") + frame(FIN | CONT, "\x82"), "error:invalid_utf8:1007");
    // Binary messages are not validated.
    expect_events(frame(FIN | BINARY, "\xff\xfe"), {"binary:\xff\xfe"});
    // A fragment of pure ASCII after a sequence left open by the one before is still checked
    // (its first byte should have been a continuation byte), and so is the end of a message.
    expect_error(frame(TEXT, "ok\xe2\x82") + frame(FIN | CONT, std::string(40, 'a')),
                 "error:invalid_utf8:1007");
    expect_error(frame(TEXT, std::string(40, 'a') + "\xe2") + frame(FIN | CONT, "bcd"),
                 "error:invalid_utf8:1007");
    expect_events(
        frame(TEXT, "\xe2\x82") + frame(CONT, "\xac") + frame(FIN | CONT, std::string(40, 'a')),
        {"text:\xe2\x82\xac" + std::string(40, 'a')});
}

TEST_CASE("ws_frame: invalid UTF-8 fails fast, before the message ends") {
    // The first fragment is already invalid: fail without waiting for the rest.
    std::string first = frame(TEXT, "abc\xc0\xaf" + std::string(50, 'x'));
    d::WsReader reader;
    Recorder rec;
    reader.feed(&first[0], first.size(), rec);
    CHECK(rec.events == Events{"error:invalid_utf8:1007"});
    // Mid-frame: the frame announces 1000 bytes; the bad byte is in the first 20.
    std::string partial = frame(FIN | TEXT, std::string(10, 'a') + "\xff" + std::string(989, 'b'));
    d::WsReader r2;
    Recorder rec2;
    r2.feed(&partial[0], 6 + 4 + 20, rec2);
    CHECK(rec2.events == Events{"error:invalid_utf8:1007"});
    // And one byte at a time, on exactly the bad byte.
    std::string slow = frame(FIN | TEXT, "aa\xe0\x9f\xbf");
    d::WsReader r3;
    Recorder rec3;
    std::size_t i = 0;
    for (; i < slow.size() && rec3.events.empty(); ++i) r3.feed(&slow[i], 1, rec3);
    CHECK(rec3.events == Events{"error:invalid_utf8:1007"});
    CHECK(i == 6 + 4);   // the 9F after E0
}

TEST_CASE("ws_frame: close frames are validated") {
    expect_events(frame(FIN | CLOSE, ""), {"close:1005:"});
    expect_events(close_frame(1000, ""), {"close:1000:"});
    expect_events(close_frame(1001, "going away"), {"close:1001:going away"});
    expect_events(close_frame(4999, "\xc3\xa9t\xc3\xa9"), {"close:4999:\xc3\xa9t\xc3\xa9"});
    expect_events(close_frame(3000, std::string(123, 'r')),
                  {"close:3000:" + std::string(123, 'r')});
    expect_error(frame(FIN | CLOSE, "\x03"), "error:protocol_error:1002");
    for (unsigned code : {0u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 2999u, 5000u, 65535u}) {
        CAPTURE(code);
        expect_error(close_frame(static_cast<std::uint16_t>(code), ""),
                     "error:protocol_error:1002");
    }
    for (unsigned code : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 1012u,
                          1013u, 1014u, 3000u, 3999u, 4000u, 4999u}) {
        CAPTURE(code);
        expect_events(close_frame(static_cast<std::uint16_t>(code), "r"),
                      {"close:" + std::to_string(code) + ":r"});
    }
    expect_error(close_frame(1000, "bad \xff"), "error:invalid_utf8:1007");
    expect_error(close_frame(1000, "cut \xe2\x82"), "error:invalid_utf8:1007");
}

TEST_CASE("ws_frame: the reader stops after a close frame") {
    const std::string close = close_frame(1000, "bye");
    std::string bytes = frame(FIN | TEXT, "a") + close + frame(FIN | TEXT, "after");
    d::WsReader reader;
    Recorder rec;
    const std::size_t end_of_close = frame(FIN | TEXT, "a").size() + close.size();
    CHECK(reader.feed(&bytes[0], bytes.size(), rec) == end_of_close);
    CHECK(rec.events == Events{"text:a", "close:1000:bye"});
    CHECK(reader.done());
    CHECK(reader.feed(&bytes[end_of_close], bytes.size() - end_of_close, rec) == 0);
    CHECK(rec.events.size() == 2);
    // Mid-message close: the partial message is dropped, the close is reported.
    expect_events(frame(TEXT, "partial") + close + frame(FIN | CONT, "never"), {"close:1000:bye"});
    // A close split across feeds reports the same and stops at its last byte.
    const Run r = run(close + "trailing garbage", {3});
    CHECK(r.events == Events{"close:1000:bye"});
    CHECK(r.consumed == close.size());
}

TEST_CASE("ws_frame: the reader is dead after an error") {
    std::string bytes = frame(FIN | 3, "") + frame(FIN | TEXT, "x");
    d::WsReader reader;
    Recorder rec;
    CHECK(reader.feed(&bytes[0], bytes.size(), rec) < bytes.size());
    CHECK(rec.events == Events{"error:protocol_error:1002"});
    CHECK(reader.done());
    std::string more = frame(FIN | TEXT, "y");
    CHECK(reader.feed(&more[0], more.size(), rec) == 0);
    CHECK(rec.events.size() == 1);
}

TEST_CASE("ws_frame: a long mixed stream gives identical events for every split") {
    std::string bytes;
    Events expected;
    auto add = [&](const std::string& f, const char* ev) {
        bytes += f;
        if (ev) expected.push_back(ev);
    };
    add(frame(FIN | TEXT, "hello"), "text:hello");
    add(frame(FIN | PING, "p1"), "ping:p1");
    add(frame(BINARY, std::string("\x00\x01", 2), 0, true, 0x01020304u), nullptr);
    add(frame(FIN | PONG, "pong!", 0, true, 0x0A0B0C0Du), "pong:pong!");
    add(frame(FIN | CONT, std::string("\x02\x03", 2)), nullptr);
    expected.push_back(std::string("binary:\x00\x01\x02\x03", 11));
    const std::string mid(130, 'M');
    add(frame(FIN | TEXT, mid, 0, true, 0xFFFFFFFFu), nullptr);
    expected.push_back("text:" + mid);
    add(frame(TEXT, "\xe2\x82"), nullptr);
    add(frame(FIN | PING, std::string(125, 'x'), 0, true, 5), nullptr);
    expected.push_back("ping:" + std::string(125, 'x'));
    add(frame(FIN | CONT, "\xac!", 127), "text:\xe2\x82\xac!");
    add(frame(FIN | BINARY, "", 126), "binary:");
    add(close_frame(1001, "going"), "close:1001:going");
    add("junk after close", nullptr);
    expect_events(bytes, expected);

    // Three-way splits over a stride of cut points.
    for (std::size_t a = 0; a < bytes.size(); a += 3)
        for (std::size_t b = 0; a + b < bytes.size(); b += 5) {
            const Run r = run(bytes, {a, b});
            if (r.events != expected) {
                CAPTURE(a);
                CAPTURE(b);
                CHECK(r.events == expected);
            }
        }
}

TEST_CASE("ws_frame: a large message in many reads; big buffers are released afterwards") {
    std::string payload(1u << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 23);
    const std::string bytes =
        frame(TEXT, payload.substr(0, 300000)) + frame(FIN | CONT, payload.substr(300000));
    std::vector<std::size_t> pieces(bytes.size() / 4096 + 1, 4096);
    d::WsReader reader;
    Recorder rec;
    std::size_t pos = 0;
    for (std::size_t n : pieces) {
        n = std::min(n, bytes.size() - pos);
        std::string piece = bytes.substr(pos, n);
        CHECK(reader.feed(&piece[0], n, rec) == n);
        pos += n;
    }
    REQUIRE(rec.events.size() == 1);
    CHECK(rec.events[0] == "text:" + payload);
    CHECK(reader.idle());
    CHECK(reader.buffer_capacity() <= sizeof(std::string));   // over 64 KiB: released

    // A small split message keeps its buffer for reuse until release_buffers().
    std::string small = frame(FIN | BINARY, std::string(1000, 's'));
    CHECK(reader.feed(&small[0], 500, rec) == 500);
    CHECK_FALSE(reader.idle());
    reader.release_buffers();   // in progress: kept
    CHECK(reader.feed(&small[500], small.size() - 500, rec) == small.size() - 500);
    CHECK(rec.events.size() == 2);
    CHECK(rec.events[1] == "binary:" + std::string(1000, 's'));
    CHECK(reader.buffer_capacity() >= 1000);
    reader.release_buffers();
    CHECK(reader.buffer_capacity() <= sizeof(std::string));
}

TEST_CASE("ws_frame: a split control frame uses a temporary block, then frees it") {
    std::string bytes = frame(TEXT, "abc") + frame(FIN | PING, std::string(100, 'p'));
    const std::size_t cut = frame(TEXT, "abc").size() + 6 + 50;
    d::WsReader reader;
    Recorder rec;
    CHECK(reader.feed(&bytes[0], cut, rec) == cut);
    CHECK(reader.buffer_capacity() >= 125);
    CHECK(reader.feed(&bytes[cut], bytes.size() - cut, rec) == bytes.size() - cut);
    CHECK(rec.events == Events{"ping:" + std::string(100, 'p')});
    CHECK(reader.buffer_capacity() < 125 + 3);   // control block gone; message buffer intact
    std::string rest = frame(FIN | CONT, "def");
    CHECK(reader.feed(&rest[0], rest.size(), rec) == rest.size());
    CHECK(rec.events.back() == "text:abcdef");
}

TEST_CASE("ws_frame: read_budget ends a read where frames of the peer's size end") {
    const std::size_t room = 256 * 1024, f = 65536 + 14;   // a masked 64 KiB frame
    d::WsReader fresh;
    CHECK(fresh.read_budget(room, 0) == room);     // no frame size known: all of it
    CHECK(fresh.read_budget(room, f) == 3 * f);    // between frames: whole frames
    CHECK(fresh.read_budget(f - 1, f) == f - 1);   // not one fits: all of it
    CHECK(fresh.read_budget(0, f) == 1);           // never nothing
    const std::string big = frame(FIN | BINARY, std::string(65536, 'x'));
    REQUIRE(big.size() == f);
    std::string bytes = big;
    d::WsReader r;
    Recorder rec;
    r.feed(&bytes[0], 14 + 1000, rec);   // inside the payload: 64,536 bytes to come
    CHECK(r.read_budget(room, f) == 64536 + 3 * f);
    CHECK(r.read_budget(64536 + f - 1, f) == 64536 + f - 1);
    CHECK(r.read_budget(64536, f) == 64536);
    CHECK(r.read_budget(1000, f) == 1000);
    std::string rest = bytes.substr(14 + 1000);
    r.feed(&rest[0], rest.size(), rec);
    CHECK(rec.events.size() == 1);
    CHECK(r.read_budget(room, f) == 3 * f);   // between frames again
    std::string head = big.substr(0, 3);      // inside a header: the frame's end is unknown
    r.feed(&head[0], head.size(), rec);
    CHECK(r.read_budget(room, f) == room);
    d::WsReader closed;
    std::string c = close_frame(1000, "");
    closed.feed(&c[0], c.size(), rec);
    CHECK(closed.read_budget(room, f) == room);
}

TEST_CASE("ws_frame: WsReader is small enough to live in every idle connection") {
    CHECK(sizeof(d::WsReader) <= 96);
    MESSAGE("sizeof(WsReader) = " << sizeof(d::WsReader));
}

#if !defined(WISP_NO_EXCEPTIONS)
TEST_CASE("ws_frame: a throwing sink leaves the reader consistent") {
    struct Thrower : Recorder {
        bool armed = true;
        void on_message(Opcode op, std::string_view p) {
            if (armed) {
                armed = false;
                throw 42;
            }
            Recorder::on_message(op, p);
        }
    };
    std::string a = frame(TEXT, "x") + frame(FIN | CONT, "y");
    std::string b = frame(FIN | TEXT, "z");
    d::WsReader reader;
    Thrower sink;
    CHECK_THROWS(reader.feed(&a[0], a.size(), sink));
    CHECK(reader.idle());
    CHECK(reader.feed(&b[0], b.size(), sink) == b.size());
    CHECK(sink.events == Events{"text:z"});
}
#endif
