// SPDX-License-Identifier: MIT
// Word-size and alignment assumptions, proved where they matter: 64-bit lengths on a 32-bit
// size_t (WebSocket frames, Content-Length, file sizes) are refused, never truncated to their
// low bits; unmasking is right at every start alignment and around every word-size boundary.
// Meaningful on x86-64 as well; the ARM configurations (tools/cross/) run them under qemu-user
// on aarch64 and on armhf, where size_t has 32 bits.
#include <wisp/detail/http_date.hpp>
#include <wisp/detail/llhttp.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_reader.hpp>
#include <wisp/detail/static_files_impl.hpp>   // serve_file without the engine (no Asio)

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

namespace d = wisp::detail;
using d::Opcode;
using Events = std::vector<std::string>;

constexpr std::uint64_t two32 = std::uint64_t(1) << 32;
constexpr std::uint8_t key[4] = {0xA1, 0x5C, 0x3E, 0x97};   // four distinct bytes, high bits set
const std::uint64_t string_max = std::string().max_size();

void naive_mask(char* p, std::size_t n, std::size_t phase) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[(phase + i) % 4]);
}

// A masked client frame whose header announces `declared` in the 64-bit form whatever the
// payload, written byte by byte here so that no code under test builds it.
std::string frame64(unsigned b0, std::uint64_t declared, std::string_view payload) {
    std::string out;
    out.push_back(static_cast<char>(b0));
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((declared >> (8 * i)) & 0xFF));
    out.append(reinterpret_cast<const char*>(key), 4);
    std::string body(payload);
    naive_mask(&body[0], body.size(), 0);
    return out + body;
}

std::string small_frame(unsigned b0, std::string_view payload) {
    std::string out;
    out.push_back(static_cast<char>(b0));
    out.push_back(static_cast<char>(0x80 | payload.size()));
    out.append(reinterpret_cast<const char*>(key), 4);
    std::string body(payload);
    naive_mask(&body[0], body.size(), 0);
    return out + body;
}

constexpr unsigned FIN = 0x80, TEXT = 1, BINARY = 2, CONT = 0;

struct Recorder {
    Events events;
    void on_message(Opcode op, std::string_view p) {
        events.push_back((op == Opcode::text ? "text:" : "binary:") + std::string(p));
    }
    void on_ping(std::string_view p) { events.push_back("ping:" + std::string(p)); }
    void on_pong(std::string_view p) { events.push_back("pong:" + std::string(p)); }
    void on_close(std::uint16_t code, std::string_view) {
        events.push_back("close:" + std::to_string(code));
    }
    void on_error(wisp::errc, std::uint16_t code, const char*) {
        events.push_back("error:" + std::to_string(code));
    }
};

// The events of `bytes` fed in two pieces split at `k` (k = size: all at once).
Events feed_split(const std::string& bytes, std::size_t k, d::WsLimits limits) {
    d::WsReader reader(limits);
    Recorder rec;
    std::string a = bytes.substr(0, k), b = bytes.substr(k);
    const std::size_t got = reader.feed(&a[0], a.size(), rec);
    if (got == a.size() && !b.empty()) reader.feed(&b[0], b.size(), rec);
    return rec.events;
}

// Events as one printable line, for failure messages (payloads here are short and ASCII).
std::string joined(const Events& events) {
    std::string out = "{";
    for (const std::string& e : events) out += (out.size() > 1 ? ", " : "") + e;
    return out + "}";
}

// Every split of `bytes`, and byte by byte, gives `expected`.
void expect_events(const std::string& bytes, const Events& expected, d::WsLimits limits) {
    for (std::size_t k = 0; k <= bytes.size(); ++k) {
        const Events got = feed_split(bytes, k, limits);
        if (got != expected) {
            CAPTURE(k);
            CHECK(joined(got) == joined(expected));
        }
    }
    d::WsReader reader(limits);
    Recorder rec;
    for (char c : bytes)
        if (reader.feed(&c, 1, rec) == 0) break;
    CHECK(joined(rec.events) == joined(expected));
}

}   // namespace

TEST_CASE("word size: the platform under test") {
    MESSAGE("size_t " << sizeof(std::size_t) * 8 << " bits, time_t " << sizeof(std::time_t) * 8
                      << " bits, std::string::max_size() " << string_max);
    CHECK(sizeof(std::uint64_t) == 8);
}

TEST_CASE("ws_frame: unmasking is right at every start alignment and word-size boundary") {
    // Lengths around 4 (the key), 8 (the word) and 32 (the unrolled block), and their sums.
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 20; ++n) lengths.push_back(n);
    for (std::size_t base : {24u, 32u, 40u, 64u, 72u, 96u, 128u, 256u, 4096u})
        for (std::size_t n = base - 3; n <= base + 3; ++n) lengths.push_back(n);
    // Storage aligned for uint64_t: offsets 0..15 start at every address alignment modulo 8
    // (twice), so every path of mask() through unaligned words is taken.
    const std::size_t guard = 16;
    std::unique_ptr<std::uint64_t[]> store(new std::uint64_t[(4096 + 3 + 2 * guard) / 8 + 1]);
    char* const base = reinterpret_cast<char*>(store.get());
    for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t phase = 0; phase < 8; ++phase) {
            for (std::size_t len : lengths) {
                const std::size_t total = offset + len + guard;
                for (std::size_t i = 0; i < total; ++i) base[i] = static_cast<char>(i * 29 + 5);
                std::string expected(base, total);
                naive_mask(&expected[offset], len, phase);
                d::mask(base + offset, len, key, phase);
                if (std::string_view(base, total) != expected) {
                    CAPTURE(offset);
                    CAPTURE(phase);
                    CAPTURE(len);
                    CHECK(std::string_view(base, total) == expected);   // guard bytes included
                }
            }
        }
    }
}

TEST_CASE("ws_frame: the reader unmasks in place at every alignment of the read buffer") {
    std::unique_ptr<std::uint64_t[]> store(new std::uint64_t[200]);
    char* const base = reinterpret_cast<char*>(store.get());
    for (std::size_t len : {1u, 7u, 8u, 9u, 31u, 32u, 33u, 125u, 126u, 200u, 1000u}) {
        std::string payload(len, '\0');
        for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>('a' + i % 26);
        const std::string bytes = frame64(FIN | BINARY, len, payload);
        for (std::size_t offset = 0; offset < 8; ++offset) {
            CAPTURE(len);
            CAPTURE(offset);
            std::memcpy(base + offset, bytes.data(), bytes.size());
            d::WsReader reader;
            Recorder rec;
            CHECK(reader.feed(base + offset, bytes.size(), rec) == bytes.size());
            CHECK(joined(rec.events) == joined({"binary:" + payload}));
        }
    }
}

TEST_CASE("ws_frame: 64-bit lengths above 32 bits are never cut to their low bits") {
    // Each would read as a small length (0, 5, 125, 2^32 - 1) if truncated to 32 bits.
    for (std::uint64_t len : {two32, two32 + 5, two32 + 125, 2 * two32 - 1, two32 << 20,
                              (std::uint64_t(1) << 63) - 1}) {
        CAPTURE(len);
        // The default limit (16 MiB): 1009 on the header, the 5 bytes after it never delivered.
        expect_events(frame64(FIN | BINARY, len, "hello"), {"error:1009"}, {});
        // No limit to speak of: refused only if the reader cannot hold it (a 32-bit size_t),
        // otherwise the frame is still arriving and the next frame's bytes are its payload.
        const std::string bytes =
            frame64(FIN | BINARY, len, "hello") + small_frame(FIN | TEXT, "x");
        const Events expected = len > string_max ? Events{"error:1009"} : Events{};
        expect_events(bytes, expected, {std::numeric_limits<std::uint64_t>::max()});
        expect_events(
            bytes, len > std::numeric_limits<std::size_t>::max() ? Events{"error:1009"} : expected,
            {std::numeric_limits<std::size_t>::max()});
    }
}

TEST_CASE("ws_frame: a length with the top bit set is 1002 whatever the limit") {
    for (std::uint64_t len : {std::uint64_t(1) << 63, (std::uint64_t(1) << 63) + 5,
                              std::numeric_limits<std::uint64_t>::max()}) {
        CAPTURE(len);
        for (std::uint64_t limit : {std::uint64_t(16) << 20, std::uint64_t(SIZE_MAX),
                                    std::numeric_limits<std::uint64_t>::max()})
            expect_events(frame64(FIN | BINARY, len, "hello"), {"error:1002"}, {limit});
    }
}

TEST_CASE("ws_frame: a message longer than the reader can hold is 1009 on its header") {
    // The limit allows it, but no std::string could reassemble it: refused before buffering
    // (on a 32-bit size_t this is about 1 GiB, so it is reachable).
    const d::WsLimits unlimited{std::numeric_limits<std::uint64_t>::max()};
    // One past max_size() is a length a frame can carry only below 2^63; where max_size() is
    // 2^63 - 1 (libstdc++ in C++20) it has the top bit set and is 1002 (the test above).
    const bool one_past_is_legal = string_max < (std::uint64_t(1) << 63) - 1;
    const char* one_past = one_past_is_legal ? "error:1009" : "error:1002";
    expect_events(frame64(FIN | BINARY, string_max + 1, "hello"), {one_past}, unlimited);
    // Fragments count together: the second header takes the sum one past what fits.
    expect_events(small_frame(TEXT, "abc") + frame64(FIN | CONT, string_max - 2, "d"),
                  {"error:1009"}, unlimited);
    d::WsReader reader(unlimited);
    std::string ok = frame64(FIN | BINARY, string_max, "hello");
    Recorder rec;
    CHECK(reader.feed(&ok[0], ok.size(), rec) == ok.size());
    CHECK(joined(rec.events) == "{}");   // at the limit: accepted, awaiting the rest
    // set_limits clamps the same way.
    d::WsReader later;
    later.set_limits(unlimited);
    std::string big = frame64(FIN | BINARY, string_max + 1, "hello");
    later.feed(&big[0], big.size(), rec);
    CHECK(joined(rec.events) == "{" + std::string(one_past) + "}");
}

TEST_CASE("ws_frame: fragment sums past 2^32 are compared in 64 bits") {
    // 100 bytes, then a fragment of 2^32 - 90: the sum is 2^32 + 10, over a limit of 2^32 + 9
    // (a 32-bit sum would wrap to 10 and pass).
    const std::string first(100, 'a');
    expect_events(
        small_frame(BINARY, "") + frame64(CONT, 100, first) + frame64(FIN | CONT, two32 - 90, "bb"),
        {"error:1009"}, {two32 + 9});
    // One byte more of limit and it is accepted, where a string can hold it (64-bit).
    if (two32 + 10 <= string_max)
        expect_events(small_frame(BINARY, "") + frame64(CONT, 100, first) +
                          frame64(FIN | CONT, two32 - 90, "bb"),
                      {}, {two32 + 10});
}

TEST_CASE("ws_frame: headers carry all 64 bits of a length") {
    char h[d::max_frame_header_bytes];
    CHECK(d::frame_header_size(two32) == 10);
    CHECK(d::frame_header_size(two32 + 5, true) == 14);
    REQUIRE(d::encode_frame_header(h, Opcode::binary, true, two32 + 5) == 10);
    CHECK(std::string(h, 10) == std::string("\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x05", 10));
    REQUIRE(d::encode_frame_header(h, Opcode::binary, true, 0x0102030405060708ull, key) == 14);
    CHECK(std::string(h + 2, 8) == "\x01\x02\x03\x04\x05\x06\x07\x08");
}

TEST_CASE("http parser: a Content-Length above 32 bits is 413, never its low bits") {
    // 2^32 + 1 would read as 1: a one-byte body, then smuggled bytes as the next request.
    for (const char* len : {"4294967297", "4294967296", "18446744073709551615"}) {
        CAPTURE(len);
        for (std::size_t max : {std::size_t(1) << 20, std::numeric_limits<std::size_t>::max()}) {
            d::ParserLimits limits;
            limits.max_body_bytes = max;
            d::RequestParser p(limits);
            const std::string req =
                std::string("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + len + "\r\n\r\nx";
            const auto r = p.feed(req.data(), req.size());
            if (max == std::numeric_limits<std::size_t>::max() &&
                std::stoull(len) <= std::numeric_limits<std::size_t>::max()) {
                CHECK(r.event == d::RequestParser::Event::need_more);   // body still to come
            } else {
                CHECK(r.event == d::RequestParser::Event::error);
                CHECK(p.error_status() == 413);
            }
        }
    }
}

TEST_CASE("serve_file: a file over 4 GiB is 413, never served as its low bits") {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("wisp-word-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    {
        std::FILE* f = std::fopen((root / "big.bin").string().c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fputs("head", f);
        std::fclose(f);
    }
    std::error_code ec;
    fs::resize_file(root / "big.bin", two32 + 10, ec);   // sparse: no 4 GiB written
    if (ec) {
        fs::remove_all(root);
        MESSAGE("no sparse 4 GiB file here (" << ec.message() << "): skipped");
        return;
    }
    const wisp::Request req("GET", "/big.bin");
    wisp::StaticOptions opts;
    // A limit just under the size refuses it (a 32-bit size would compare 10 with it).
    opts.max_file_bytes = two32 + 9;
    CHECK(wisp::serve_file(req, root, opts).status == 413);
    // No limit: a string that cannot hold it refuses it (a 32-bit size_t) instead of serving
    // the first 10 bytes; where it fits, reading 4 GiB here would prove nothing more.
    if (two32 + 10 > string_max) {
        opts.max_file_bytes = std::numeric_limits<std::uint64_t>::max();
        const wisp::Response res = wisp::serve_file(req, root, opts);
        CHECK(res.status == 413);
        CHECK(res.body.size() != 10);
    }
    fs::remove_all(root);
}

TEST_CASE("http date: seconds past 2^31 (a 32-bit time_t's end) format from 64 bits") {
    char buf[29];
    auto fmt = [&](std::int64_t s) {
        d::format_http_date(s, buf);
        return std::string(buf, 29);
    };
    CHECK(fmt(2147483647) == "Tue, 19 Jan 2038 03:14:07 GMT");
    CHECK(fmt(2147483648) == "Tue, 19 Jan 2038 03:14:08 GMT");
    CHECK(fmt(4294967296) == "Sun, 07 Feb 2106 06:28:16 GMT");
    CHECK(fmt(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
}
