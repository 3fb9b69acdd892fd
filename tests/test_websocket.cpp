// SPDX-License-Identifier: MIT
// WebSocket over real sockets with a raw client: the handshake, every framing rule of RFC 6455
// the server enforces, the close handshake, timeouts, hooks, Peer and backpressure.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <optional>
#include <thread>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using support::WsClient;
using wisp::detail::Opcode;
using namespace std::chrono_literals;

namespace {

/// Events the hooks saw, recorded from the server thread, awaited with deadlines.
struct Log {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> events;
    void add(std::string e) {
        {
            std::lock_guard<std::mutex> l(m);
            events.push_back(std::move(e));
        }
        cv.notify_all();
    }
    bool wait_for(const std::string& e, std::chrono::milliseconds t = 5000ms) {
        std::unique_lock<std::mutex> l(m);
        return cv.wait_for(l, t, [&] {
            for (const auto& x : events)
                if (x == e) return true;
            return false;
        });
    }
    bool has(const std::string& e) {
        std::lock_guard<std::mutex> l(m);
        for (const auto& x : events)
            if (x == e) return true;
        return false;
    }
    std::size_t count_prefix(const std::string& p) {
        std::lock_guard<std::mutex> l(m);
        std::size_t n = 0;
        for (const auto& x : events) n += x.compare(0, p.size(), p) == 0;
        return n;
    }
};

struct Echo {
    Log* log = nullptr;
    void open(wisp::Peer&) { log->add("open"); }
    void message(wisp::Peer& p, const wisp::Message& m) { p.send(m); }
    void close(wisp::Peer& p, const wisp::CloseInfo& c) {
        log->add("close " + std::to_string(c.code) + (c.clean ? " clean" : " unclean"));
        // A closed peer refuses sends without crashing.
        log->add(p.send_text("late") == wisp::SendResult::closed ? "late send refused"
                                                                 : "late send ok");
    }
    void error(wisp::Peer&, const wisp::Error& e) { log->add("error " + e.code.message()); }
};

struct EchoServer {
    Log log;
    Echo echo;
    wisp::App app;
    std::optional<support::Server> server;
    explicit EchoServer(std::function<void(wisp::App&, Echo&)> setup = {}) {
        echo.log = &log;
        app.ws("/_ws", echo, wisp::WsOptions{1024});
        if (setup) setup(app, echo);
        server.emplace(app);
    }
    std::uint16_t port() const { return server->port(); }
};

std::string frame(unsigned char b0, unsigned char b1_len, std::string_view payload = {},
                  bool masked = true) {
    std::string f;
    f += static_cast<char>(b0);
    f += static_cast<char>((masked ? 0x80 : 0) | b1_len);
    if (masked) f.append("\0\0\0\0", 4);   // zero key: payload unchanged
    f.append(payload);
    return f;
}

/// Expects the server to fail the connection with `code`: a close frame, then TCP close.
void expect_fail(WsClient& c, std::uint16_t code) {
    auto f = c.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == code);
    CHECK(c.wait_closed());
}

}   // namespace

TEST_CASE("websocket: the handshake answers 101 with the RFC 6455 accept value") {
    EchoServer s;
    WsClient c(s.port());
    const std::string head = c.handshake("/_ws");
    CHECK(support::status_of(head) == 101);
    CHECK(head.compare(0, 34, "HTTP/1.1 101 Switching Protocols\r\n") == 0);
    CHECK(support::header_of(head, "sec-websocket-accept") == WsClient::sample_accept);
    CHECK(wisp::iequals(support::header_of(head, "upgrade"), "websocket"));
    CHECK(s.log.wait_for("open"));
    c.text("hi");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->opcode == 1);
    CHECK(f->fin);
    CHECK_FALSE(f->masked);   // §5.1: servers never mask
    CHECK(f->payload == "hi");
}

TEST_CASE("websocket: Upgrade and Connection tokens are case-insensitive and may be lists") {
    EchoServer s;
    WsClient c(s.port());
    const std::string head = c.raw_handshake(
        "GET /_ws HTTP/1.1\r\nHost: x\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    CHECK(support::status_of(head) == 101);
    c.binary(std::string("\0\xff", 2));
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->opcode == 2);
    CHECK(f->payload == std::string("\0\xff", 2));
}

TEST_CASE("websocket: broken handshakes get 400, other versions 426 with version 13") {
    EchoServer s;
    const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    struct Case {
        std::string request;
        int status;
    };
    const Case cases[] = {
        {"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" + key +
             "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET /_ws HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key +
             "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key +
             key + "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key +
             "Sec-WebSocket-Version: 8\r\n\r\n",
         426},
        {"GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key +
             "\r\n",
         426},
    };
    for (const Case& k : cases) {
        CAPTURE(k.request);
        WsClient c(s.port());
        const std::string res = c.raw_handshake(k.request);
        CHECK(support::status_of(res) == k.status);
        if (k.status == 426) CHECK(support::header_of(res, "sec-websocket-version") == "13");
        CHECK(c.wait_closed());
    }
    CHECK_FALSE(s.log.has("open"));
    // The server still serves a good handshake.
    WsClient ok(s.port());
    CHECK(support::status_of(ok.handshake("/_ws")) == 101);
}

TEST_CASE("websocket: a plain GET on a WebSocket route is 426; a shared HTTP route serves it") {
    EchoServer s([](wisp::App& app, Echo& echo) {
        app.ws("/both", echo);
        app.get("/both", [](wisp::Request&) { return wisp::text("plain"); });
    });
    support::Client c(s.port());
    c.send("GET /_ws HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = c.read_response();
    CHECK(support::status_of(r) == 426);
    CHECK(r.find("426 Upgrade Required") != std::string::npos);
    CHECK(support::header_of(r, "sec-websocket-version") == "13");
    c.send("GET /both HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(support::body_of(c.read_response()) == "plain");
    WsClient w(s.port());
    CHECK(support::status_of(w.handshake("/both")) == 101);
}

TEST_CASE("websocket: a burst far over the per-wakeup read bound is echoed without more input") {
    // As the HTTP case: 300 frames of 100 B (about 31 KiB) in one write, a 1 KiB receive
    // buffer, then the client only reads.
    wisp::Options o;
    o.receive_buffer_bytes = 1024;
    wisp::App app(o);
    Log log;
    Echo echo{&log};
    app.ws("/_ws", echo);
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
    auto payload_of = [](int i) {   // "17......" (100 bytes)
        std::string p = std::to_string(i);
        p.resize(100, '.');
        return p;
    };
    std::string burst;
    for (int i = 0; i < 300; ++i) burst += frame(0x81, 100, payload_of(i));
    c.send_raw(burst);
    for (int i = 0; i < 300; ++i) {
        auto f = c.read();
        REQUIRE(f);
        REQUIRE(f->payload == payload_of(i));
    }
}

TEST_CASE(
    "websocket: WsOptions::keep_request = false keeps the address and state, frees the rest after open") {
    struct Reporter {
        Log* log = nullptr;
        std::optional<wisp::Response> upgrade(wisp::Request& req) {
            req.state<std::string>() = "from upgrade";
            return std::nullopt;
        }
        void open(wisp::Peer& p) {   // complete in open either way
            log->add("open " + std::string(p.request().path()) + " " +
                     std::string(p.request().header("x-test").value_or("-")));
        }
        void message(wisp::Peer& p, const wisp::Message&) {
            const wisp::Request& r = p.request();
            p.send_text(std::string(r.method()) + "|" + std::string(r.path()) + "|" +
                        std::to_string(r.headers().size()) + "|" + p.state<std::string>() + "|" +
                        (p.remote_address().ip() == "127.0.0.1" ? "127.0.0.1" : "?"));
        }
    };
    Log log;
    Reporter reporter;
    reporter.log = &log;
    wisp::App app;
    app.ws("/keep", reporter);
    wisp::WsOptions lean;
    lean.keep_request = false;
    app.ws("/lean", reporter, lean);
    support::Server server(app);
    for (const std::string path : {"/keep", "/lean"}) {
        WsClient c(server.port());
        REQUIRE(support::status_of(c.handshake(path, "X-Test: yes\r\n")) == 101);
        REQUIRE(log.wait_for("open " + path + " yes"));
        c.send(Opcode::text, "?");
        auto f = c.read();
        REQUIRE(f);
        if (path == "/keep") {
            CHECK(f->payload.rfind("GET|/keep|", 0) == 0);
            CHECK(f->payload.find("|0|") == std::string::npos);   // the headers are there
        } else {
            CHECK(f->payload == "||0|from upgrade|127.0.0.1");
        }
        CHECK(f->payload.find("|from upgrade|127.0.0.1") != std::string::npos);
    }
}

TEST_CASE("websocket: a kept request answers the same in later hooks as in upgrade") {
    // The peer keeps the request packed; each hook gets a Request made from it.
    struct Reader {
        std::string seen_in_upgrade;
        static std::string describe(const wisp::Request& r) {
            std::string out =
                std::string(r.method()) + " " + std::string(r.path()) + "?" +
                std::string(r.query_string()) + " q=" + std::string(r.query("q").value_or("-")) +
                " room=" + std::string(r.param("room").value_or("-")) +
                " host=" + std::string(r.host()) + " n=" + std::to_string(r.headers().size());
            for (const char* name : {"cookie", "COOKIE", "x-long", "sec-websocket-protocol"})
                out += std::string(" ") + name + "=" +
                       std::to_string(r.header(name).value_or("-").size()) + ":" +
                       std::string(r.header(name).value_or("-").substr(0, 8));
            for (const wisp::Header& h : r.headers())
                out += " [" + std::string(h.name) + ":" + std::to_string(h.value.size()) + "]";
            return out + " " + r.url();
        }
        std::optional<wisp::Response> upgrade(wisp::Request& req) {
            seen_in_upgrade = describe(req);
            return wisp::accept("two");
        }
        void message(wisp::Peer& p, const wisp::Message& m) {
            if (m.text() == "request") p.send_text(describe(p.request()));
            if (m.text() == "url") p.send_text(p.url() + " " + std::string(p.protocol()));
        }
    };
    Reader reader;
    wisp::App app;
    app.ws("/room/:room", reader);
    support::Server server(app);
    // Repeated names in two cases, a value near the 16 KiB head limit, a subprotocol list.
    const std::string extra =
        "Cookie: a=1; b=2\r\ncookie: c=3\r\nX-Long: " + std::string(15 * 1024, 'L') +
        "\r\nSec-WebSocket-Protocol: one, two\r\n";
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/room/r%201?q=a%2Bb&z", extra)) == 101);
    for (int round = 0; round < 2; ++round) {   // the second read is made afresh
        c.send(Opcode::text, "request");
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->payload == reader.seen_in_upgrade);
    }
    CHECK(reader.seen_in_upgrade.find(" q=a+b room=r 1 host=localhost n=9 ") != std::string::npos);
    CHECK(reader.seen_in_upgrade.find(
              " cookie=8:a=1; b=2 COOKIE=8:a=1; b=2 x-long=15360:LLLLLLLL") != std::string::npos);
    c.send(Opcode::text, "url");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "ws://localhost/room/r%201?q=a%2Bb&z two");
}

TEST_CASE("websocket: frames that break RFC 6455 close the connection with 1002") {
    EchoServer s;
    struct Case {
        const char* name;
        std::string bytes;
    };
    const std::string big_control(126, 'p');
    const Case cases[] = {
        {"unmasked client frame", frame(0x81, 2, "hi", false)},
        {"RSV1", frame(0xC1, 2, "hi")},
        {"RSV2", frame(0xA1, 2, "hi")},
        {"RSV3", frame(0x91, 2, "hi")},
        {"reserved data opcode 3", frame(0x83, 0)},
        {"reserved control opcode 11", frame(0x8B, 0)},
        {"64-bit length with the top bit", std::string("\x82\xff\x80\0\0\0\0\0\0\0\0\0\0\0", 14)},
        {"ping over 125 bytes", std::string("\x89\xfe\x00\x7e\0\0\0\0", 8) + big_control},
        {"fragmented ping", frame(0x09, 1, "x")},
        {"continuation without a start", frame(0x80, 1, "x")},
        {"new start inside a message", frame(0x01, 1, "a") + frame(0x81, 1, "b")},
        {"close with a 1-byte payload", frame(0x88, 1, "x")},
        {"close code 1005", frame(0x88, 2, "\x03\xed")},
        {"close code 1006", frame(0x88, 2, "\x03\xee")},
        {"close code 1015", frame(0x88, 2, "\x03\xf7")},
        {"close code 999", frame(0x88, 2, "\x03\xe7")},
        {"close code 1004", frame(0x88, 2, "\x03\xec")},
        {"close code 2999", frame(0x88, 2, "\x0b\xb7")},
        {"close code 5000", frame(0x88, 2, "\x13\x88")},
    };
    for (const Case& k : cases) {
        CAPTURE(k.name);
        WsClient c(s.port());
        REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
        c.send_raw(k.bytes);
        expect_fail(c, 1002);
    }
    CHECK(s.log.wait_for("close 1002 unclean"));
}

TEST_CASE("websocket: fragments with interleaved control frames; all three length forms") {
    EchoServer s(
        [](wisp::App& app, Echo& echo) { app.ws("/big", echo, wisp::WsOptions{1 << 20}); });
    WsClient c(s.port());
    REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
    c.send(Opcode::text, "Hel", false);
    c.send(Opcode::ping, "are you there");
    c.send(Opcode::continuation, "lo, ", false);
    c.send(Opcode::pong, "unsolicited");
    c.send(Opcode::continuation, "world", true);
    auto pong = c.read();
    REQUIRE(pong);
    CHECK(pong->opcode == 0xA);
    CHECK(pong->payload == "are you there");
    auto msg = c.read();
    REQUIRE(msg);
    CHECK(msg->opcode == 1);
    CHECK(msg->payload == "Hello, world");

    WsClient b(s.port());
    REQUIRE(support::status_of(b.handshake("/big")) == 101);
    for (std::size_t n : {std::size_t(0), std::size_t(125), std::size_t(126), std::size_t(65535),
                          std::size_t(65536), std::size_t(300000)}) {
        CAPTURE(n);
        std::string payload(n, 'a');
        for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
        b.binary(payload);
        auto f = b.read();
        REQUIRE(f);
        CHECK(f->opcode == 2);
        CHECK(f->payload == payload);
    }
}

TEST_CASE("websocket: large frames written at once come back whole and in order") {
    // The server cuts its reads where frames of the size it last read end
    // (WsReader::read_budget); frames of other sizes in between must not be disturbed. Under
    // half the send cap in all, so the server never stops reading while this client writes.
    EchoServer s(
        [](wisp::App& app, Echo& echo) { app.ws("/big", echo, wisp::WsOptions{1 << 20}); });
    WsClient c(s.port());
    REQUIRE(support::status_of(c.handshake("/big")) == 101);
    const std::vector<std::size_t> sizes = {65536, 65536, 65536, 70000, 4096, 65536, 10};
    std::string wire;
    std::vector<std::string> sent;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        std::string p(sizes[i], '\0');
        for (std::size_t j = 0; j < p.size(); ++j) p[j] = static_cast<char>(j * 7 + i);
        wire += wisp::detail::encode_client_frame(Opcode::binary, p, true,
                                                  static_cast<std::uint32_t>(100 + i));
        sent.push_back(std::move(p));
    }
    c.send_raw(wire);
    for (const std::string& p : sent) {
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->opcode == 2);
        CHECK(f->payload == p);
    }
}

TEST_CASE("websocket: invalid UTF-8 closes with 1007, also split and before the message ends") {
    EchoServer s;
    {
        WsClient c(s.port());
        REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
        c.text("ok \xc3\xa9");   // valid: echoed
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->payload == "ok \xc3\xa9");
        c.send(Opcode::text, "\xed\xa0\x80");   // a surrogate
        expect_fail(c, 1007);
    }
    {
        // A code point split across fragments is fine...
        WsClient c(s.port());
        REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
        c.send(Opcode::text, "caf\xc3", false);
        c.send(Opcode::continuation, "\xa9", true);
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->payload == "caf\xc3\xa9");
        // ...but invalid bytes fail at once, with the message still open.
        c.send(Opcode::text, "abc\xff", false);
        expect_fail(c, 1007);
    }
    {
        WsClient c(s.port());
        REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
        c.close(1000, "\xff\xfe");
        expect_fail(c, 1007);
    }
}

TEST_CASE("websocket: a message over the endpoint's limit closes with 1009") {
    EchoServer s;   // /_ws allows 1024 bytes
    WsClient c(s.port());
    REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
    c.text(std::string(1024, 'x'));
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload.size() == 1024);
    c.send(Opcode::text, std::string(600, 'x'), false);
    c.send(Opcode::continuation, std::string(600, 'x'), true);
    expect_fail(c, 1009);
    CHECK(s.log.wait_for("close 1009 unclean"));
}

TEST_CASE("websocket: close handshake echoes the code, then the server closes TCP") {
    EchoServer s;
    WsClient c(s.port());
    REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
    c.close(4000, "bye");
    c.text("after close: never answered");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->opcode == 8);
    CHECK(f->close_code() == 4000);
    CHECK(c.wait_closed());
    CHECK(c.tcp().buffer().empty());   // nothing after the close frame
    CHECK(s.log.wait_for("close 4000 clean"));
    CHECK(s.log.wait_for("late send refused"));

    WsClient e(s.port());
    REQUIRE(support::status_of(e.handshake("/_ws")) == 101);
    e.send(Opcode::close, "");   // no code: echoed empty, reported as 1005
    auto g = e.read();
    REQUIRE(g);
    CHECK(g->opcode == 8);
    CHECK(g->payload.empty());
    CHECK(e.wait_closed());
    CHECK(s.log.wait_for("close 1005 clean"));
}

TEST_CASE("websocket: a client that vanishes is reported as 1006") {
    EchoServer s;
    {
        WsClient c(s.port());
        REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
        REQUIRE(s.log.wait_for("open"));
    }
    CHECK(s.log.wait_for("close 1006 unclean"));
}

TEST_CASE("websocket: idle peers get pings; silent ones are closed at the idle timeout") {
    wisp::Options o;
    o.limits.ws_idle_timeout = 600ms;
    o.timer_resolution = 20ms;
    Log log;
    Echo echo{&log};
    wisp::App app(o);
    app.ws("/_ws", echo);
    support::Server server(app);

    WsClient lively(server.port());
    REQUIRE(support::status_of(lively.handshake("/_ws")) == 101);
    WsClient silent(server.port());
    REQUIRE(support::status_of(silent.handshake("/_ws")) == 101);
    // The lively client answers each ping; it survives several idle periods.
    int pings = 0;
    const auto until = std::chrono::steady_clock::now() + 1800ms;
    while (std::chrono::steady_clock::now() < until) {
        auto f = lively.read(300ms);
        if (f && f->opcode == 9) {
            ++pings;
            lively.send(Opcode::pong, f->payload);
        }
    }
    CHECK(pings >= 2);
    lively.text("still here");
    // A ping may still come before the echo (one is due every 300 ms): answer it and go on.
    auto f = lively.read();
    while (f && f->opcode == 9) {
        lively.send(Opcode::pong, f->payload);
        f = lively.read();
    }
    REQUIRE(f);
    CHECK(f->payload == "still here");
    // The silent client got a ping and, not answering, was closed.
    auto p = silent.read(1000ms);
    REQUIRE(p);
    CHECK(p->opcode == 9);
    CHECK(silent.wait_closed(2000ms));
    CHECK(log.wait_for("close 1006 unclean"));
}

TEST_CASE("websocket: our close waits for the peer's, bounded by ws_close_timeout") {
    wisp::Options o;
    o.limits.ws_close_timeout = 300ms;
    o.timer_resolution = 20ms;
    Log log;
    struct Closer {
        Log* log;
        void message(wisp::Peer& p, const wisp::Message& m) {
            log->add(p.close(999) == wisp::SendResult::invalid ? "999 invalid" : "999 accepted");
            log->add(p.close(1000, std::string(124, 'r')) == wisp::SendResult::invalid
                         ? "long reason invalid"
                         : "long reason accepted");
            p.close(4001, m.text());
            log->add(p.send_text("x") == wisp::SendResult::closed ? "send after close refused"
                                                                  : "send after close ok");
            log->add(p.close(1000) == wisp::SendResult::closed ? "second close refused"
                                                               : "second close ok");
        }
        void close(wisp::Peer&, const wisp::CloseInfo& c) {
            log->add("close " + std::to_string(c.code) + (c.clean ? " clean" : " unclean"));
        }
    } closer{&log};
    wisp::App app(o);
    app.ws("/c", closer);
    support::Server server(app);

    WsClient a(server.port());
    REQUIRE(support::status_of(a.handshake("/c")) == 101);
    a.text("polite");
    auto f = a.read();
    REQUIRE(f);
    CHECK(f->close_code() == 4001);
    CHECK(f->close_reason() == "polite");
    a.close(4001);
    CHECK(a.wait_closed());
    CHECK(log.wait_for("close 4001 clean"));
    CHECK(log.has("999 invalid"));
    CHECK(log.has("long reason invalid"));
    CHECK(log.has("send after close refused"));
    CHECK(log.has("second close refused"));

    WsClient b(server.port());   // never answers the close
    REQUIRE(support::status_of(b.handshake("/c")) == 101);
    b.text("rude");
    auto g = b.read();
    REQUIRE(g);
    CHECK(g->opcode == 8);
    CHECK(b.wait_closed(2000ms));
    CHECK(log.wait_for("close 1006 unclean"));
}

namespace {
struct User {
    std::string name;
};

struct Rich {
    Log* log;
    std::optional<wisp::Response> upgrade(wisp::Request& req) {
        const auto token = req.query("token");
        if (!token) {
            wisp::Response r = wisp::status(403);
            r.headers.set("X-Why", "no token");
            r.body = "no token";
            return r;
        }
#if !defined(WISP_NO_EXCEPTIONS)
        if (*token == "boom") throw std::runtime_error("upgrade exploded");
#endif
        req.state<User>().name = *token;
        if (*token == "proto") return wisp::accept("nope");   // not offered: a server bug
        const bool v2 = req.header("sec-websocket-protocol").value_or("").find("chat.v2") !=
                        std::string_view::npos;
        wisp::Response ok = wisp::accept(v2 ? "chat.v2" : "");
        ok.headers.set("X-Hello", "there");
        return ok;
    }
    void open(wisp::Peer& p) {
        p.send_text("hello " + p.state<User>().name +
                    " room=" + std::string(p.request().param("room").value_or("")) +
                    " proto=" + std::string(p.protocol()) +
                    " ua=" + std::string(p.request().header("user-agent").value_or("-")) +
                    " from=" + p.remote_address().ip());
    }
    void message(wisp::Peer& p, const wisp::Message& m) {
#if !defined(WISP_NO_EXCEPTIONS)
        if (m.text() == "throw") throw std::runtime_error("message exploded");
#endif
        if (m.text() == "id") {
            p.send_text(std::string(p.id()));
            return;
        }
        if (m.text() == "bad utf8") {
            log->add(p.send_text("\xff") == wisp::SendResult::invalid ? "bad text refused"
                                                                      : "bad text sent");
            return;
        }
        if (m.text() == "terminate") {
            p.terminate();
            return;
        }
        p.send_binary(m.data());
    }
    void close(wisp::Peer& p, const wisp::CloseInfo& c) {
        log->add("close " + p.state<User>().name + " " + std::to_string(c.code));
    }
    void error(wisp::Peer&, const wisp::Error& e) { log->add("error: " + e.message); }
};
}   // namespace

TEST_CASE("websocket: upgrade accepts, rejects, adds headers, picks a subprotocol, sets state") {
    Log log;
    Rich rich{&log};
    wisp::App app;
    app.use([](wisp::Request& req) -> std::optional<wisp::Response> {
        if (req.header("authorization").value_or("") == "deny") return wisp::status(401);
        return std::nullopt;
    });
    app.ws("/rooms/:room", rich);
    app.get("/other", [](wisp::Request&) { return wisp::text("other"); });
    support::Server server(app);

    {   // rejected by upgrade with a full response: status, reason phrase, header, body
        WsClient c(server.port());
        const std::string r = c.handshake("/rooms/a");
        CHECK(r.compare(0, 22, "HTTP/1.1 403 Forbidden") == 0);
        CHECK(support::header_of(r, "x-why") == "no token");
        CHECK(r.substr(r.size() - 8) == "no token");
    }
    {   // rejected by middleware before the hook
        WsClient c(server.port());
        CHECK(support::status_of(c.handshake("/rooms/a?token=t", "Authorization: deny\r\n")) ==
              401);
    }
#if !defined(WISP_NO_EXCEPTIONS)
    {   // a throwing upgrade hook: 500, and the server goes on
        WsClient c(server.port());
        CHECK(support::status_of(c.handshake("/rooms/a?token=boom")) == 500);
    }
#endif
    {   // a subprotocol the client did not offer is refused
        WsClient c(server.port());
        CHECK(support::status_of(c.handshake("/rooms/a?token=proto",
                                             "Sec-WebSocket-Protocol: chat.v1\r\n")) == 500);
    }
    {   // accepted: state, params, headers and the chosen protocol reach the peer
        WsClient c(server.port());
        const std::string r = c.handshake("/rooms/caf%C3%A9?token=ann",
                                          "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"
                                          "User-Agent: raw-test\r\n");
        REQUIRE(support::status_of(r) == 101);
        CHECK(support::header_of(r, "sec-websocket-protocol") == "chat.v2");
        CHECK(support::header_of(r, "x-hello") == "there");
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->payload == "hello ann room=caf\xc3\xa9 proto=chat.v2 ua=raw-test from=127.0.0.1");
        c.text("bytes");
        f = c.read();
        REQUIRE(f);
        CHECK(f->opcode == 2);   // sent as binary, as the handler said
        c.text("bad utf8");
        CHECK(log.wait_for("bad text refused"));
        c.close(1000);
        CHECK(c.read_close());
        CHECK(log.wait_for("close ann 1000"));
    }
}

#if !defined(WISP_NO_EXCEPTIONS)
TEST_CASE("websocket: a throwing hook gets 1011 and the error hook; others are unaffected") {
    Log log;
    Rich rich{&log};
    wisp::App app;
    app.ws("/rooms/:room", rich);
    support::Server server(app);
    WsClient a(server.port()), b(server.port());
    REQUIRE(support::status_of(a.handshake("/rooms/x?token=a")) == 101);
    REQUIRE(support::status_of(b.handshake("/rooms/x?token=b")) == 101);
    REQUIRE(a.read());
    REQUIRE(b.read());
    a.text("throw");
    auto f = a.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1011);
    CHECK(f->close_reason().empty());   // the exception text stays on the server
    CHECK(a.wait_closed());
    CHECK(log.wait_for("error: message exploded"));
    CHECK(log.wait_for("close a 1011"));
    b.text("still fine");
    auto g = b.read();
    REQUIRE(g);
    CHECK(g->payload == "still fine");
}
#endif

TEST_CASE("websocket: peer ids are unique; terminate closes at once with 1006") {
    Log log;
    Rich rich{&log};
    wisp::App app;
    app.ws("/rooms/:room", rich);
    support::Server server(app);
    std::set<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        WsClient c(server.port());
        REQUIRE(support::status_of(c.handshake("/rooms/x?token=t")) == 101);
        REQUIRE(c.read());
        c.text("id");
        auto f = c.read();
        REQUIRE(f);
        CHECK(!f->payload.empty());
        ids.insert(f->payload);
    }
    CHECK(ids.size() == 20);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/rooms/x?token=z")) == 101);
    REQUIRE(c.read());
    c.text("terminate");
    CHECK(c.wait_closed());
    CHECK(c.tcp().buffer().empty());   // no close frame
    CHECK(log.wait_for("close z 1006"));
}

TEST_CASE("websocket: backpressure closes a non-reading peer with 1008, or drops") {
    for (auto policy : {wisp::BackpressurePolicy::close, wisp::BackpressurePolicy::drop}) {
        CAPTURE(static_cast<int>(policy));
        wisp::Options o;
        o.limits.max_queued_bytes = 256 * 1024;
        o.backpressure = policy;
        Log log;
        struct Flood {
            Log* log;
            void message(wisp::Peer& p, const wisp::Message&) {
                const std::string chunk(64 * 1024, 'f');
                int sent = 0, dropped = 0, closed = 0;
                for (int i = 0; i < 20000; ++i) {   // 1.25 GiB if nothing pushed back
                    switch (p.send_binary(chunk)) {
                        case wisp::SendResult::sent:
                            ++sent;
                            break;
                        case wisp::SendResult::dropped:
                            ++dropped;
                            break;
                        default:
                            ++closed;
                            break;
                    }
                    if (closed) break;
                }
                log->add(closed ? "closed" : dropped ? "dropped" : "all sent");
                log->add(p.buffered_amount() <= 256 * 1024 + 64 * 1024 + 16 ? "bounded"
                                                                            : "unbounded");
            }
            void drain(wisp::Peer&) { log->add("drain"); }
            void close(wisp::Peer&, const wisp::CloseInfo& c) {
                log->add("close " + std::to_string(c.code));
            }
        } flood{&log};
        wisp::App app(o);
        app.ws("/f", flood);
        support::Server server(app);
        WsClient c(server.port());
        REQUIRE(support::status_of(c.handshake("/f")) == 101);
        c.text("go");
        if (policy == wisp::BackpressurePolicy::close) {
            CHECK(log.wait_for("closed"));
            CHECK(log.wait_for("close 1008"));
            auto f = c.read_close(10000ms);   // after the queued data, the close frame
            REQUIRE(f);
            CHECK(f->close_code() == 1008);
        } else {
            CHECK(log.wait_for("dropped"));
            // What was not dropped arrives (what the kernel took, plus at most the cap); once
            // it is read the queue empties and the drain hook says so; the peer stays open.
            std::size_t frames = 0;
            while (auto f = c.read(500ms)) {
                CHECK(f->opcode == 2);
                ++frames;
            }
            CHECK(frames >= 1);
            CHECK(frames < 20000);   // the rest was dropped, not queued
            CHECK(log.wait_for("drain"));
            CHECK_FALSE(c.tcp().closed());
        }
        CHECK(log.has("bounded"));
    }
}

TEST_CASE("websocket: a peer closed for backpressure that never reads is cut at ws_close_timeout") {
    // Our close frame waits behind data the peer does not read: the close timeout still bounds
    // how long the connection lives, not the much longer send_timeout.
    wisp::Options o;
    o.limits.max_queued_bytes = 256 * 1024;
    o.limits.ws_close_timeout = 300ms;
    o.limits.send_timeout = 60s;
    Log log;
    struct Flood {
        Log* log;
        void message(wisp::Peer& p, const wisp::Message&) {
            const std::string chunk(64 * 1024, 'f');
            for (int i = 0; i < 20000 && p.send_binary(chunk) == wisp::SendResult::sent; ++i) {}
        }
        void close(wisp::Peer&, const wisp::CloseInfo& c) {
            log->add("close " + std::to_string(c.code));
        }
    } flood{&log};
    wisp::App app(o);
    app.ws("/f", flood);
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/f")) == 101);
    c.text("go");
    REQUIRE(log.wait_for("close 1008"));
    // Without reading, write small frames until the server's side is gone (its reset makes a
    // write fail): well within 5 s, where send_timeout would take 60 s.
    const auto until = std::chrono::steady_clock::now() + 5s;
    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() < until) {
        c.send(Opcode::ping, "x");
        gone = static_cast<bool>(c.tcp().last_error());
        if (!gone) std::this_thread::sleep_for(50ms);   // polling with a deadline
    }
    CHECK(gone);
}

TEST_CASE("websocket: stop() closes peers with 1001") {
    Log log;
    Echo echo{&log};
    wisp::App app;
    app.ws("/_ws", echo);
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
    REQUIRE(log.wait_for("open"));
    std::thread stopper([&] { server.stop(); });
    auto f = c.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
    c.close(1001);
    CHECK(c.wait_closed());
    stopper.join();
    CHECK(log.wait_for("close 1001 clean"));
}

TEST_CASE("websocket: frames that arrive with the handshake are not lost") {
    EchoServer s;
    WsClient c(s.port());
    std::string req =
        "GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    req += wisp::detail::encode_client_frame(Opcode::text, "early", true, 7);
    CHECK(support::status_of(c.raw_handshake(req)) == 101);
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "early");
}

TEST_CASE("websocket: a client that sends far ahead of reading is paused, not closed") {
    wisp::Options o;
    o.limits.max_queued_bytes = 256 * 1024;
    Log log;
    Echo echo{&log};
    wisp::App app(o);
    app.ws("/_ws", echo);
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/_ws")) == 101);
    // 8 MiB of echoes requested before reading any: 32 times the send cap.
    std::string all;
    for (int i = 0; i < 128; ++i) {
        std::string payload(64 * 1024, static_cast<char>('a' + i % 26));
        all += wisp::detail::encode_client_frame(Opcode::binary, payload, true, 99u + i);
    }
    std::thread writer([&] { c.send_raw(all); });
    for (int i = 0; i < 128; ++i) {
        auto f = c.read(10000ms);
        REQUIRE(f);
        CHECK(f->opcode == 2);
        CHECK(f->payload == std::string(64 * 1024, static_cast<char>('a' + i % 26)));
    }
    writer.join();
    CHECK_FALSE(log.has("close 1008 unclean"));
}
