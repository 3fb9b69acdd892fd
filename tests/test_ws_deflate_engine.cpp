// SPDX-License-Identifier: MIT
// permessage-deflate through the real engine (Connection, SendQueue, WsSession, topics) over
// the in-memory transport, byte-exact: the handshake's answer, inflate before the hook, deflate
// on the way out, compress-once fan-out, the close codes, a bomb, and the zlib state peers keep.
// The client side is an independent zlib peer (support/zlib_peer.hpp). Built with WISP_DEFLATE.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include <ostream>   // doctest prints a std::error_code through operator<<

#ifdef WISP_DEFLATE
#include "support/fake_transport.hpp"
#include "support/ws_client.hpp"
#include "support/zlib_peer.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using support::FakeEngine;
using support::FakeWire;
namespace wd = wisp::detail;
using wd::Opcode;

namespace {

constexpr unsigned rsv1 = 4;   // support::Frame::rsv: RSV1 is its high bit

/// A room: subscribes on open; "pub:X" publishes X to the room (with "raw:" after "pub:",
/// uncompressed); anything else is echoed. Records what it saw.
struct Room {
    std::vector<std::string> got;
    std::vector<std::string> extensions;
    std::vector<std::uint16_t> closes;
    void open(wisp::Peer& p) {
        extensions.emplace_back(p.extensions());
        p.subscribe("room");
    }
    void message(wisp::Peer& p, const wisp::Message& m) {
        got.emplace_back(m.text());
        const std::string_view t = m.text();
        if (t.rfind("pub:raw:", 0) == 0)
            p.publish_text("room", t.substr(8), wisp::SendOptions{false});
        else if (t.rfind("pub:", 0) == 0) p.publish_text("room", t.substr(4));
        else if (t.rfind("raw:", 0) == 0) p.send_text(t.substr(4), wisp::SendOptions{false});
        else p.send(m);
    }
    void close(wisp::Peer&, const wisp::CloseInfo& c) { closes.push_back(c.code); }
};

/// An endpoint for `room` with these deflate settings.
std::unique_ptr<wd::WsEndpoint> endpoint(Room& room, wisp::DeflateMode mode, int window_bits = 15,
                                         std::size_t min_size = 64, std::size_t max_message = 0) {
    auto ep = std::make_unique<wd::WsEndpoint>();
    wd::fill_endpoint(*ep, room);
    ep->deflate.mode = mode;
    ep->deflate.window_bits = static_cast<std::uint8_t>(window_bits);
    ep->deflate.min_size = min_size;
    ep->max_message_bytes = max_message;
    return ep;
}

/// Upgrades a new connection on `path` offering `offer` (none when empty); returns the wire
/// and puts the response head in `head`.
std::shared_ptr<FakeWire> upgrade(FakeEngine& e, std::string_view path, std::string_view offer,
                                  std::string* head = nullptr) {
    auto w = e.connect();
    std::string req = "GET " + std::string(path) +
                      " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n";
    if (!offer.empty()) req += "Sec-WebSocket-Extensions: " + std::string(offer) + "\r\n";
    e.send(*w, req + "\r\n");
    std::string out = w->take();
    const auto end = out.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    REQUIRE(out.rfind("HTTP/1.1 101 ", 0) == 0);
    if (head) *head = out.substr(0, end + 4);
    return w;
}

/// A masked client frame, RSV1 set when `compressed`.
std::string client_frame(Opcode op, std::string_view payload, bool fin = true,
                         bool compressed = false) {
    static std::uint32_t seed = 77;
    ++seed;
    const std::uint8_t key[4] = {static_cast<std::uint8_t>(seed), 0x5a, 0xc3,
                                 static_cast<std::uint8_t>(seed >> 8)};
    char header[wd::max_frame_header_bytes];
    const std::size_t n = wd::encode_frame_header(header, op, fin, payload.size(), key, compressed);
    std::string out(header, n);
    const std::size_t at = out.size();
    out.append(payload.data(), payload.size());
    wd::mask(&out[at], payload.size(), key);
    return out;
}

/// Every frame the server wrote so far.
std::vector<support::Frame> frames(FakeWire& w) {
    std::string out = w.take();
    std::vector<support::Frame> v;
    for (;;) {
        support::Frame f;
        const std::size_t n = support::parse_frame(out, f);
        if (n == 0) break;
        v.push_back(f);
        out.erase(0, n);
    }
    CHECK(out.empty());
    return v;
}

std::string json_message(int seed) {
    std::string s = "{\"type\":\"update\",\"items\":[";
    for (int i = 0; s.size() < 1000; ++i) {
        if (i) s += ',';
        s += "{\"id\":" + std::to_string(seed * 100 + i) + ",\"name\":\"item-" + std::to_string(i) +
             "\",\"price\":" + std::to_string(10 + (seed + i) % 90) + ".5}";
    }
    return s + "]}";
}

const char* shared_answer =
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover\r\n";

std::uint64_t deflate_calls() { return wd::deflate_stats().deflate_calls.load(); }

}   // namespace

TEST_CASE(
    "ws deflate engine: shared mode answers the offer; a compressed message is inflated "
    "before the hook and the echo goes out compressed") {
    Room room;
    auto ep = endpoint(room, wisp::DeflateMode::shared);
    FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", ep.get()));
    std::string head;
    auto w = upgrade(e, "/_ws", "permessage-deflate; client_max_window_bits", &head);
    CHECK(head.find(shared_answer) != std::string::npos);
    REQUIRE(room.extensions.size() == 1);
    CHECK(room.extensions[0] ==
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover");

    const std::string m = json_message(1);
    support::PeerDeflater client;
    e.send(*w, client_frame(Opcode::text, client.message(m, false), true, true));
    REQUIRE(room.got.size() == 1);
    CHECK(room.got[0] == m);
    auto f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].rsv == rsv1);
    CHECK(f[0].opcode == 1);
    CHECK(f[0].payload.size() * 3 < m.size());
    CHECK(support::peer_inflate(f[0].payload) == m);

    // Fragmented, RSV1 on the first frame only, a ping between the fragments.
    const std::string c = client.message(m, false);
    e.trickle(*w, client_frame(Opcode::text, c.substr(0, 10), false, true) +
                      client_frame(Opcode::ping, "p") +
                      client_frame(Opcode::continuation, c.substr(10), true));
    REQUIRE(room.got.size() == 2);
    CHECK(room.got[1] == m);
    f = frames(*w);
    REQUIRE(f.size() == 2);
    CHECK(f[0].opcode == 10);
    CHECK(f[0].payload == "p");
    CHECK(support::peer_inflate(f[1].payload) == m);

    // An uncompressed message on the same connection is fine too.
    e.send(*w, client_frame(Opcode::text, "plain and short"));
    CHECK(room.got.back() == "plain and short");
    f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].rsv == 0);   // below min_size (64): sent as it is
    CHECK(f[0].payload == "plain and short");
}

TEST_CASE("ws deflate engine: min_size, the per-send opt-out and incompressible data go plain") {
    Room room;
    auto ep = endpoint(room, wisp::DeflateMode::shared, 15, 200);
    FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", ep.get()));
    auto w = upgrade(e, "/_ws", "permessage-deflate");
    const std::string m = json_message(2);
    e.send(*w, client_frame(Opcode::text, m.substr(0, 199)));
    auto f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].rsv == 0);
    e.send(*w, client_frame(Opcode::text, m.substr(0, 200)));
    f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].rsv == rsv1);
    CHECK(support::peer_inflate(f[0].payload) == m.substr(0, 200));
    // SendOptions{false}: plain, however compressible.
    e.send(*w, client_frame(Opcode::text, "raw:" + m));
    f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].rsv == 0);
    CHECK(f[0].payload == m);
    // Random bytes do not shrink: without context takeover they go plain.
    std::string noise(4000, '\0');
    unsigned x = 1;
    for (char& ch : noise) ch = static_cast<char>((x = x * 1103515245u + 12345u) >> 16);
    e.send(*w, client_frame(Opcode::binary, noise));
    f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].rsv == 0);
    CHECK(f[0].payload == noise);
}

TEST_CASE("ws deflate engine: an off route declines; RSV1 there is a protocol error (1002)") {
    Room room;
    auto ep = endpoint(room, wisp::DeflateMode::off);
    FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", ep.get()));
    std::string head;
    auto w = upgrade(e, "/_ws", "permessage-deflate", &head);
    CHECK(head.find("Sec-WebSocket-Extensions") == std::string::npos);
    CHECK(room.extensions == std::vector<std::string>{""});
    e.send(*w, client_frame(Opcode::text, support::peer_deflate("hello"), true, true));
    auto f = frames(*w);
    REQUIRE(f.size() == 1);
    CHECK(f[0].close_code() == 1002);
    CHECK(room.got.empty());
}

TEST_CASE(
    "ws deflate engine: RSV1 on control and continuation frames is 1002; corrupt data "
    "and inflated text that is not UTF-8 are 1007") {
    struct Case {
        const char* name;
        std::string bytes;
        std::uint16_t code;
    };
    const std::string c = support::peer_deflate(json_message(3));
    const Case cases[] = {
        {"RSV1 on a ping", client_frame(Opcode::ping, "", true, true), 1002},
        {"RSV1 on a continuation",
         client_frame(Opcode::text, c.substr(0, 5), false, true) +
             client_frame(Opcode::continuation, c.substr(5), true, true),
         1002},
        {"corrupt data",
         client_frame(Opcode::binary, std::string("\xff\xfe\xfd\xfc", 4), true, true), 1007},
        {"truncated data", client_frame(Opcode::binary, c.substr(0, c.size() / 2), true, true),
         1007},
        {"not UTF-8 once inflated",
         client_frame(Opcode::text, support::peer_deflate("ok \xff then more"), true, true), 1007},
    };
    for (const Case& k : cases) {
        CAPTURE(k.name);
        Room room;
        auto ep = endpoint(room, wisp::DeflateMode::shared);
        FakeEngine e;
        REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", ep.get()));
        auto w = upgrade(e, "/_ws", "permessage-deflate");
        e.send(*w, k.bytes);
        auto f = frames(*w);
        REQUIRE_FALSE(f.empty());
        CHECK(f.back().opcode == 8);
        CHECK(f.back().close_code() == k.code);
        CHECK(room.got.empty());
        CHECK(room.closes == std::vector<std::uint16_t>{k.code});
    }
}

TEST_CASE("ws deflate engine: a 1 GiB bomb closes 1009 after inflating at most the limit") {
    const std::string bomb = support::zero_bomb(1024);   // about 1 MiB on the wire
    for (bool fragmented : {false, true}) {
        CAPTURE(fragmented);
        Room room;
        auto ep = endpoint(room, wisp::DeflateMode::shared, 15, 64, 1u << 20);   // 1 MiB limit
        FakeEngine e;
        REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", ep.get()));
        auto w = upgrade(e, "/_ws", "permessage-deflate");
        std::string bytes;
        if (!fragmented) {
            bytes = client_frame(Opcode::binary, bomb, true, true);
        } else {
            // 64 KiB fragments, a ping after each: the pongs come back before the close.
            for (std::size_t at = 0; at < bomb.size(); at += 65536) {
                const bool last = at + 65536 >= bomb.size();
                bytes += client_frame(at == 0 ? Opcode::binary : Opcode::continuation,
                                      bomb.substr(at, 65536), last, at == 0);
                bytes += client_frame(Opcode::ping, "x");
            }
        }
        const auto calls = wd::deflate_stats().inflate_calls.load();
        const auto t0 = std::chrono::steady_clock::now();
        e.send(*w, bytes);
        const auto took = std::chrono::steady_clock::now() - t0;
        auto f = frames(*w);
        REQUIRE_FALSE(f.empty());
        CHECK(f.back().close_code() == 1009);
        CHECK(room.closes == std::vector<std::uint16_t>{1009});
        CHECK(room.got.empty());
        // At most the limit was inflated: a handful of inflate() calls, not 1 GiB's worth.
        CHECK(wd::deflate_stats().inflate_calls.load() - calls < 16);
        // The scratch memory is gone again, and the time is that of 1 MiB, not 1 GiB.
        CHECK(e.loop->deflate.inflated.capacity() <= wd::DeflatePool::keep_bytes);
        CHECK(took < std::chrono::seconds(5));
    }
}

TEST_CASE(
    "ws deflate engine: a publication is compressed once per window size and the same "
    "bytes go to every subscriber that shares them") {
    Room room;
    auto shared15 = endpoint(room, wisp::DeflateMode::shared, 15);
    auto shared10 = endpoint(room, wisp::DeflateMode::shared, 10);
    auto dedicated = endpoint(room, wisp::DeflateMode::dedicated, 15);
    FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/s15", shared15.get()));
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/s10", shared10.get()));
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/d", dedicated.get()));
    std::vector<std::shared_ptr<FakeWire>> s15, s10, plain, ded;
    for (int i = 0; i < 20; ++i) s15.push_back(upgrade(e, "/s15", "permessage-deflate"));
    for (int i = 0; i < 5; ++i) s10.push_back(upgrade(e, "/s10", "permessage-deflate"));
    for (int i = 0; i < 5; ++i) plain.push_back(upgrade(e, "/s15", ""));
    for (int i = 0; i < 3; ++i) ded.push_back(upgrade(e, "/d", "permessage-deflate"));
    // A dedicated peer whose client forbids server context takeover shares like shared ones.
    auto ded_nct = upgrade(e, "/d", "permessage-deflate; server_no_context_takeover");
    const std::string m = json_message(4);

    // Only shared subscribers (and plain ones): one deflate() call for all 20.
    {
        Room only;
        auto ep = endpoint(only, wisp::DeflateMode::shared, 15);
        FakeEngine e2;
        REQUIRE_FALSE(e2.core.ws_router.add("GET", "/s", ep.get()));
        std::vector<std::shared_ptr<FakeWire>> subs;
        for (int i = 0; i < 20; ++i) subs.push_back(upgrade(e2, "/s", "permessage-deflate"));
        const auto before = deflate_calls();
        e2.core.publish(wd::Publication::make("room", m, false), e2.loop.get(), nullptr);
        e2.run();
        CHECK(deflate_calls() - before == 1);
        std::string first;
        for (auto& w : subs) {
            const std::string out = w->take();
            if (first.empty()) first = out;
            CHECK(out == first);   // byte-identical frames
        }
        support::Frame f;
        REQUIRE(support::parse_frame(first, f) == first.size());
        CHECK(f.rsv == rsv1);
        CHECK(support::peer_inflate(f.payload) == m);
    }

    for (auto* group : {&s15, &s10, &plain, &ded})
        for (auto& w : *group) w->take();
    ded_nct->take();
    const auto before = deflate_calls();
    e.core.publish(wd::Publication::make("room", m, false), e.loop.get(), nullptr);
    e.run();
    // 15-bit shared (s15 and ded_nct), 10-bit shared, and each of 3 dedicated peers.
    CHECK(deflate_calls() - before == 2 + 3);
    auto one = [](FakeWire& w) {
        auto f = frames(w);
        REQUIRE(f.size() == 1);
        return f[0];
    };
    const support::Frame a = one(*s15[0]);
    CHECK(a.rsv == rsv1);
    for (std::size_t i = 1; i < s15.size(); ++i) CHECK(one(*s15[i]).payload == a.payload);
    CHECK(one(*ded_nct).payload == a.payload);
    const support::Frame b = one(*s10[0]);
    CHECK(support::peer_inflate(b.payload, 10) == m);
    for (std::size_t i = 1; i < s10.size(); ++i) CHECK(one(*s10[i]).payload == b.payload);
    for (auto& w : plain) {
        const support::Frame p = one(*w);
        CHECK(p.rsv == 0);
        CHECK(p.payload == m);
    }
    for (auto& w : ded) {
        const support::Frame d = one(*w);
        CHECK(d.rsv == rsv1);
        CHECK(support::peer_inflate(d.payload) == m);
    }

    // Opted out: nobody compresses, no zlib call.
    const auto before2 = deflate_calls();
    e.core.publish(wd::Publication::make("room", m, false, false), e.loop.get(), nullptr);
    e.run();
    CHECK(deflate_calls() == before2);
    CHECK(one(*s15[1]).rsv == 0);
    CHECK(one(*ded[1]).rsv == 0);
}

TEST_CASE("ws deflate engine: dedicated mode keeps context per peer; shared peers keep none") {
    const auto streams0 = wd::deflate_stats().streams.load();
    Room room;
    auto shared = endpoint(room, wisp::DeflateMode::shared);
    auto dedicated = endpoint(room, wisp::DeflateMode::dedicated);
    FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/s", shared.get()));
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/d", dedicated.get()));
    const std::string m = json_message(5);

    // Ten shared peers that each sent and got a compressed message: only the loop's pooled
    // streams exist (one compressor, one decompressor), however many peers.
    std::vector<std::shared_ptr<FakeWire>> ws;
    for (int i = 0; i < 10; ++i) {
        ws.push_back(upgrade(e, "/s", "permessage-deflate"));
        e.send(*ws.back(), client_frame(Opcode::text, support::peer_deflate(m), true, true));
        CHECK(support::peer_inflate(frames(*ws.back()).at(0).payload) == m);
    }
    CHECK(wd::deflate_stats().streams.load() - streams0 == 2);

    // Dedicated peers: a compressor and a decompressor each, kept; the second identical message
    // costs a fraction of the first both ways.
    for (int i = 0; i < 10; ++i) {
        auto w = upgrade(e, "/d", "permessage-deflate; client_max_window_bits");
        support::PeerDeflater client;
        support::PeerInflater reader;
        e.send(*w, client_frame(Opcode::text, client.message(m), true, true));
        const support::Frame f1 = frames(*w).at(0);
        const std::string c2 = client.message(m);
        e.send(*w, client_frame(Opcode::text, c2, true, true));
        const support::Frame f2 = frames(*w).at(0);
        CHECK(reader.message(f1.payload) == m);
        CHECK(reader.message(f2.payload) == m);
        CHECK(f2.payload.size() * 4 < f1.payload.size());
        CHECK(c2.size() * 4 < f1.payload.size());
        ws.push_back(w);
    }
    CHECK(wd::deflate_stats().streams.load() - streams0 == 2 + 20);
    CHECK(room.got.size() == 30);
}

TEST_CASE(
    "ws deflate engine: a handler's own Sec-WebSocket-Extensions is left out on a "
    "compressing route") {
    struct Own {
        wisp::Response upgrade(wisp::Request&) {
            wisp::Response r = wisp::accept();
            r.headers.set("Sec-WebSocket-Extensions", "x-own-extension");
            return r;
        }
    } own;
    wd::WsEndpoint ep;
    wd::fill_endpoint(ep, own);
    ep.deflate.mode = wisp::DeflateMode::shared;
    FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", &ep));
    std::string head;
    auto w = upgrade(e, "/_ws", "permessage-deflate", &head);
    CHECK(head.find("x-own-extension") == std::string::npos);
    CHECK(head.find(shared_answer) != std::string::npos);
}

TEST_CASE("ws deflate engine: out-of-range deflate options fail listen() with invalid_argument") {
    struct Nop {};
    for (int k = 0; k < 4; ++k) {
        wisp::WsOptions o;
        o.deflate.mode = wisp::DeflateMode::shared;
        if (k == 0) o.deflate.window_bits = 8;
        if (k == 1) o.deflate.window_bits = 16;
        if (k == 2) o.deflate.mem_level = 0;
        if (k == 3) o.deflate.level = 10;
        wisp::App app;
        app.ws<Nop>("/_ws", o);
        CHECK(app.listen("127.0.0.1", 0) == wisp::errc::invalid_argument);
    }
    wisp::WsOptions fine;
    fine.deflate.mode = wisp::DeflateMode::dedicated;
    fine.deflate.window_bits = 9;
    fine.deflate.mem_level = 1;
    wisp::App app;
    app.ws<Nop>("/_ws", fine);
    CHECK_FALSE(app.listen("127.0.0.1", 0));
}
#else
#include "support/fake_transport.hpp"

TEST_CASE("ws deflate engine: without WISP_DEFLATE a compressing route declines every offer") {
    struct Nop {};
    Nop nop;
    wisp::detail::WsEndpoint ep;
    wisp::detail::fill_endpoint(ep, nop);
    ep.deflate.mode = wisp::DeflateMode::shared;
    support::FakeEngine e;
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", &ep));
    auto w = e.connect();
    e.send(*w,
           "GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
    const std::string head = w->take();
    CHECK(head.rfind("HTTP/1.1 101 ", 0) == 0);
    CHECK(head.find("Sec-WebSocket-Extensions") == std::string::npos);
    CHECK_FALSE(wisp::deflate_supported);
}
#endif
