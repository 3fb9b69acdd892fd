// SPDX-License-Identifier: MIT
// Tests for wisp/detail/deflate_codec.hpp against an independent zlib peer
// (support/zlib_peer.hpp): round trips both ways, context takeover, a final block, the size
// cap against a decompression bomb, corrupt and truncated data, UTF-8 checked as it inflates,
// and one deflate() call per message. Built only with WISP_DEFLATE.
#include <wisp/detail/deflate_codec.hpp>

#include <doctest/doctest.h>

#ifdef WISP_DEFLATE
#include "support/zlib_peer.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace {

namespace d = wisp::detail;
using Result = d::Inflater::Result;

/// A 1 KiB JSON message such as a chat or a feed sends: compressible, not trivially.
std::string json_message(int seed) {
    std::string s = "{\"type\":\"update\",\"items\":[";
    for (int i = 0; s.size() < 1000; ++i) {
        if (i) s += ',';
        s += "{\"id\":" + std::to_string(seed * 100 + i) + ",\"name\":\"item-" + std::to_string(i) +
             "\",\"price\":" + std::to_string(10 + (seed + i) % 90) + ".5,\"tags\":[\"a\",\"b\"]}";
    }
    return s + "]}";
}

std::string compress(d::Deflater& z, std::string_view in, bool keep) {
    d::ByteBuffer out;
    std::size_t n = 0;
    REQUIRE(z.compress(in, out, 3, n, keep));
    return std::string(out.data() + 3, n);
}

Result inflate(d::Inflater& z, std::string_view in, std::string& got, std::size_t limit = 1u << 24,
               bool text = false, bool keep = false) {
    d::ByteBuffer out;
    std::size_t n = 0;
    const Result r = z.inflate(in, limit, text, keep, out, n);
    got.assign(r == Result::ok ? out.data() : "", r == Result::ok ? n : 0);
    return r;
}

}   // namespace

TEST_CASE("deflate_codec: a message compressed by wisp inflates with a peer's zlib, and back") {
    d::Deflater z(15, 8, 6);
    REQUIRE(z.ok());
    for (const std::string& m : {json_message(1), std::string(), std::string("x"),
                                 std::string(200000, 'q'), json_message(2) + json_message(3)}) {
        CAPTURE(m.size());
        const std::string c = compress(z, m, false);
        CHECK(support::peer_inflate(c) == m);
        d::Inflater in(15);
        std::string got;
        CHECK(inflate(in, support::peer_deflate(m), got) == Result::ok);
        CHECK(got == m);
    }
    // The 1 KiB JSON shrinks well over 3x.
    const std::string m = json_message(4);
    CHECK(compress(z, m, false).size() * 3 < m.size());
}

TEST_CASE("deflate_codec: one deflate() call per message; the sync-flush tail is left off") {
    d::Deflater z(15, 8, 6);
    const std::string m = json_message(5);
    const auto before = d::deflate_stats().deflate_calls.load();
    const std::string c = compress(z, m, false);
    CHECK(d::deflate_stats().deflate_calls.load() - before == 1);
    // §7.2.1: what is left ends just before LEN/NLEN of the empty stored block; appending
    // them completes the stream, which the peer's inflater checks.
    CHECK(support::peer_inflate(c) == m);
}

TEST_CASE("deflate_codec: context takeover both ways, and a fresh window without it") {
    d::Deflater keep(15, 8, 6);
    support::PeerInflater peer;
    const std::string a = json_message(6), b = json_message(6);   // the same text twice
    const std::string ca = compress(keep, a, true), cb = compress(keep, b, true);
    CHECK(cb.size() * 4 < ca.size());   // the second refers to the first
    CHECK(peer.message(ca) == a);
    CHECK(peer.message(cb) == b);
    // An empty message between them is one empty stored block (§7.2.3.6), and leaves the
    // context alone (zlib itself would refuse a second flush with nothing new).
    CHECK(compress(keep, "", true) == std::string(1, '\0'));
    CHECK(peer.message(std::string(1, '\0')).empty());
    const std::string cc = compress(keep, a, true);
    CHECK(cc.size() * 4 < ca.size());
    CHECK(peer.message(cc) == a);

    support::PeerDeflater client;
    const std::string pa = client.message(a), pb = client.message(b);
    d::Inflater with(15), without(15);
    std::string got;
    CHECK(inflate(with, pa, got, 1u << 24, true, true) == Result::ok);
    CHECK(got == a);
    CHECK(inflate(with, pb, got, 1u << 24, true, true) == Result::ok);
    CHECK(got == b);
    // Without the window the second message's back-references point at nothing.
    CHECK(inflate(without, pa, got) == Result::ok);
    CHECK(inflate(without, pb, got) == Result::corrupt);
}

TEST_CASE("deflate_codec: a message ending in a final block (BFINAL) keeps the window") {
    const std::string a = json_message(7), b = json_message(7);
    support::PeerDeflater first;
    const std::string pa = first.message(a, true, true);   // Z_FINISH: BFINAL=1
    support::PeerDeflater second;
    second.set_dictionary(a);   // the same window on the client's side
    const std::string pb = second.message(b);
    d::Inflater z(15);
    std::string got;
    CHECK(inflate(z, pa, got, 1u << 24, false, true) == Result::ok);
    CHECK(got == a);
    CHECK(inflate(z, pb, got, 1u << 24, false, true) == Result::ok);
    CHECK(got == b);
    // Bytes after a final block are not DEFLATE data.
    d::Inflater y(15);
    CHECK(inflate(y, pa + "junk", got) == Result::corrupt);
}

TEST_CASE("deflate_codec: a bomb stops one byte past the limit, memory and time bounded") {
    // 1 GiB of zeros in about 1 MiB (DEFLATE's best ratio is near 1032:1, so 1 KiB inflates to
    // at most about 1 MiB; a 1 GiB bomb needs about 1 MiB on the wire).
    const std::string bomb = support::zero_bomb(1024);
    CHECK(bomb.size() < (1100u << 10));
    d::Inflater z(15);
    d::ByteBuffer out;
    std::size_t n = 0;
    const std::size_t limit = 16u << 20;
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(z.inflate(bomb, limit, true, false, out, n) == Result::too_big);
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(out.capacity() <= limit + 1);   // never more than the limit and one byte
    CHECK(took < std::chrono::seconds(5));
    MESSAGE("inflating the 1 GiB bomb to the 16 MiB limit took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    // The same stream within a limit it fits: 2 MiB of zeros, exactly.
    std::string got;
    d::Inflater y(15);
    CHECK(inflate(y, support::zero_bomb(2), got, 2u << 20) == Result::ok);
    CHECK(got == std::string(2u << 20, '\0'));
    // And one byte less is too big.
    CHECK(inflate(y, support::zero_bomb(2), got, (2u << 20) - 1) == Result::too_big);
}

TEST_CASE("deflate_codec: corrupt or truncated data is refused; the stream recovers") {
    d::Inflater z(15);
    std::string got;
    CHECK(inflate(z, std::string("\xff\xff\xff\xff\xff\xff", 6), got) == Result::corrupt);
    const std::string m = json_message(8);
    const std::string c = support::peer_deflate(m);
    // Cut in the middle of its block: the message ends inside it.
    CHECK(inflate(z, c.substr(0, c.size() / 2), got) == Result::corrupt);
    // After an error the next message starts fresh.
    CHECK(inflate(z, c, got) == Result::ok);
    CHECK(got == m);
}

TEST_CASE("deflate_codec: inflated text is checked for UTF-8 as it comes out") {
    d::Inflater z(15);
    std::string got;
    const std::string good = "h\xc3\xa9llo \xe2\x9c\x93";
    CHECK(inflate(z, support::peer_deflate(good), got, 1000, true) == Result::ok);
    CHECK(got == good);
    // Invalid at the start of 4 MiB: refused before most of it is inflated.
    const std::string bad = "\xff" + std::string(4u << 20, 'a');
    d::ByteBuffer out;
    std::size_t n = 0;
    const auto calls = d::deflate_stats().inflate_calls.load();
    const std::string c = support::peer_deflate(bad);
    CHECK(z.inflate(c, 16u << 20, true, false, out, n) == Result::not_utf8);
    CHECK(out.capacity() < (1u << 20));
    CHECK(d::deflate_stats().inflate_calls.load() - calls <= 2);
    // A sequence cut at the end.
    CHECK(inflate(z, support::peer_deflate("ok\xc3"), got, 1000, true) == Result::not_utf8);
    // Binary messages are not checked.
    CHECK(inflate(z, support::peer_deflate("ok\xc3"), got, 1000, false) == Result::ok);
}

TEST_CASE("deflate_codec: the loop's pool lends one stream per setting; zlib memory is counted") {
    const auto live0 = d::deflate_stats().live_bytes.load();
    {
        d::DeflatePool pool;
        d::Deflater* a = pool.deflater(15, 8, 6);
        REQUIRE(a != nullptr);
        CHECK(pool.deflater(15, 8, 6) == a);
        CHECK(pool.deflater(12, 8, 6) != a);
        CHECK(pool.inflater() == pool.inflater());
        // zlib's own estimate for a 15-bit window and memLevel 8: about 256 KiB to compress.
        CHECK(d::deflate_stats().live_bytes.load() - live0 > 256 * 1024);
    }
    CHECK(d::deflate_stats().live_bytes.load() == live0);
}
#else
TEST_CASE("deflate_codec: built without WISP_DEFLATE, nothing to test") {}
#endif
