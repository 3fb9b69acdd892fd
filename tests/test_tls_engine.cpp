// SPDX-License-Identifier: MIT
// The TLS layer inside the engine, without sockets: the real Connection, SendQueue and
// sessions over TlsTransport over the in-memory transport, with an OpenSSL client in memory.
// Here batching is counted: SSL_write calls, records and socket writes per loop turn.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/tls_client.hpp"
#include "support/tls_fake.hpp"
#include "support/ws_client.hpp"

#include <string>
#include <vector>

using support::FakeWire;
using support::TlsFakeEngine;
using wisp::detail::Opcode;

namespace {

/// TLS records (RFC 8446 §5.1: type, version, 2-byte length) in `cipher`, by content type.
struct Records {
    int app_data = 0, other = 0;
    bool whole = true;
};
Records count_records(const std::string& cipher) {
    Records r;
    std::size_t p = 0;
    while (p + 5 <= cipher.size()) {
        const std::size_t len = static_cast<std::size_t>(static_cast<unsigned char>(cipher[p + 3]))
                                    << 8 |
                                static_cast<unsigned char>(cipher[p + 4]);
        (cipher[p] == 23 ? r.app_data : r.other) += 1;
        p += 5 + len;
    }
    r.whole = p == cipher.size();
    return r;
}

struct Subscriber {
    void open(wisp::Peer& p) { p.subscribe("t"); }
};

void route(TlsFakeEngine& e, std::string_view path, wisp::detail::HttpHandler h) {
    REQUIRE_FALSE(e.core.router.add("GET", path, std::move(h)));
}

const char* upgrade =
    "GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

}   // namespace

TEST_CASE("tls engine: a handshake fed a byte at a time, then a request and its answer") {
    TlsFakeEngine e(support::server_tls(), support::cert("ca.pem"));
    route(e, "/", [](wisp::Request&) { return wisp::text("hi"); });
    auto c = e.connect_tls();
    for (int i = 0; i < 16 && !c.client->step(); ++i) {
        c.client->exchange(*c.wire);
        const std::string bytes = std::move(c.wire->input);
        c.wire->input.clear();
        e.trickle(*c.wire, bytes);
        c.client->exchange(*c.wire);
    }
    e.pump(c);
    REQUIRE(c.tls->established());
    c.client->write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    e.pump(c);
    const std::string r = c.client->read();
    CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(r.find("\r\n\r\nhi") != std::string::npos);
}

TEST_CASE(
    "tls engine: a turn's publications to a TLS peer are one SSL_write, one record, one write") {
    wisp::detail::WsEndpoint ep;
    Subscriber sub;
    wisp::detail::fill_endpoint(ep, sub);
    TlsFakeEngine e(support::server_tls(), support::cert("ca.pem"));
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", &ep));
    auto c = e.connect_tls();
    REQUIRE(e.handshake(c));
    c.client->write(upgrade);
    e.pump(c);
    REQUIRE(c.client->read().rfind("HTTP/1.1 101", 0) == 0);

    const std::size_t writes = c.wire->writes, seals = c.tls->seal_calls();
    const std::size_t staged = c.tls->staged_bytes();
    std::string expect;
    for (int i = 0; i < 50; ++i) {
        const std::string text = "message " + std::to_string(i);
        auto p = wisp::detail::Publication::make("t", text, false);
        expect += text;
        e.core.publish(p, e.loop.get(), nullptr);
    }
    e.run();   // the end-of-turn flush
    CHECK(c.wire->writes == writes + 1);
    CHECK(c.tls->seal_calls() == seals + 1);
    const Records recs = count_records(c.wire->output);
    CHECK(recs.whole);
    CHECK(recs.app_data == 1);
    CHECK(c.tls->staged_bytes() - staged > 0);   // small messages share the record by copy
    c.client->exchange(*c.wire);
    std::string got = c.client->read(), texts;
    support::Frame f;
    while (std::size_t n = support::parse_frame(got, f)) {
        texts += f.payload;
        got.erase(0, n);
    }
    CHECK(texts == expect);
}

TEST_CASE("tls engine: a lone publication is sealed from its shared block, without a copy") {
    wisp::detail::WsEndpoint ep;
    Subscriber sub;
    wisp::detail::fill_endpoint(ep, sub);
    TlsFakeEngine e(support::server_tls(), support::cert("ca.pem"));
    REQUIRE_FALSE(e.core.ws_router.add("GET", "/_ws", &ep));
    auto c = e.connect_tls();
    REQUIRE(e.handshake(c));
    c.client->write(upgrade);
    e.pump(c);
    REQUIRE(c.client->read().rfind("HTTP/1.1 101", 0) == 0);
    for (std::size_t size : {std::size_t(100), std::size_t(20000), std::size_t(64 * 1024)}) {
        CAPTURE(size);
        const std::size_t staged = c.tls->staged_bytes();
        const std::string text(size, 'p');
        e.core.publish(wisp::detail::Publication::make("t", text, false), e.loop.get(), nullptr);
        e.run();
        CHECK(c.tls->staged_bytes() == staged);
        const Records recs = count_records(c.wire->output);
        const std::size_t head = size < 126 ? 2 : size < 65536 ? 4 : 10;   // RFC 6455 §5.2
        CHECK(recs.app_data == static_cast<int>((size + head + 16383) / 16384));
        c.client->exchange(*c.wire);
        std::string got = c.client->read();
        support::Frame f;
        REQUIRE(support::parse_frame(got, f) == got.size());
        CHECK(f.payload == text);
    }
}

TEST_CASE("tls engine: ciphertext the transport does not take waits, in order, until room") {
    const std::string big(300000, 'b');
    TlsFakeEngine e(support::server_tls(), support::cert("ca.pem"));
    route(e, "/big", [&big](wisp::Request&) { return wisp::text(big); });
    route(e, "/small", [](wisp::Request&) { return wisp::text("small"); });
    auto c = e.connect_tls();
    REQUIRE(e.handshake(c));
    c.wire->write_room = 1000;
    c.client->write("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    e.pump(c);
    std::string plain = c.client->read();
    for (int i = 0; i < 1000 && c.wire->wants_write; ++i) {
        c.wire->make_room(7000);
        e.run();
        c.client->exchange(*c.wire);
        plain += c.client->read();
    }
    CHECK_FALSE(c.wire->wants_write);
    const std::size_t first = support::complete_response_length(plain);
    REQUIRE(first != 0);
    CHECK(support::body_of(plain.substr(0, first)) == big);
    CHECK(support::body_of(plain.substr(first)) == "small");
}

TEST_CASE("tls engine: the client's close_notify ends the connection; ours precedes the FIN") {
    TlsFakeEngine e(support::server_tls(), support::cert("ca.pem"));
    route(e, "/", [](wisp::Request&) { return wisp::text("bye"); });
    auto c = e.connect_tls();
    REQUIRE(e.handshake(c));
    c.client->write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    e.pump(c);
    CHECK(c.client->read().find("\r\n\r\nbye") != std::string::npos);
    CHECK(c.wire->shut);   // half-closed after the answer...
    CHECK((SSL_get_shutdown(c.client->ssl()) & SSL_RECEIVED_SHUTDOWN) !=
          0);   // ...after close_notify
    CHECK_FALSE(c.wire->closed);
    SSL_shutdown(c.client->ssl());
    e.pump(c);
    CHECK(c.wire->closed);
}
