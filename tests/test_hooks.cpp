// SPDX-License-Identifier: MIT
// Handler hooks over real sockets: every accepted form of every hook is called, with the values
// the engine passes; overload sets and templates call the richest form that fits.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using support::WsClient;
using namespace std::chrono_literals;

namespace {

/// What the hooks saw, recorded on the server thread and awaited with a deadline.
class Seen {
public:
    void add(std::string event) {
        {
            std::lock_guard<std::mutex> lock(m_);
            events_.push_back(std::move(event));
        }
        cv_.notify_all();
    }
    bool wait_for(const std::string& event, std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return contains(event); });
    }
    /// Waits for an event that starts with `prefix` (for the parts the engine words).
    bool wait_for_prefix(const std::string& prefix, std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, timeout, [&] {
            return std::any_of(events_.begin(), events_.end(), [&](const std::string& e) {
                return e.compare(0, prefix.size(), prefix) == 0;
            });
        });
    }
    bool has(const std::string& event) {
        std::lock_guard<std::mutex> lock(m_);
        return contains(event);
    }

private:
    bool contains(const std::string& event) const {
        return std::find(events_.begin(), events_.end(), event) != events_.end();
    }
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::string> events_;
};

std::string code_of(const wisp::Error& e) {
    return e.code == wisp::make_error_code(wisp::errc::invalid_utf8) ? "invalid_utf8"
                                                                     : e.code.message();
}

/// Upgrades to `path` (101 required) and reads the greeting the handler's open hook sends.
std::string open_and_greet(WsClient& c, const std::string& path) {
    REQUIRE(support::status_of(c.handshake(path)) == 101);
    auto f = c.read();
    REQUIRE(f);
    return f->payload;
}

/// Sends invalid UTF-8 (the server fails the connection with 1007 and reports invalid_utf8).
void send_invalid_utf8(WsClient& c) {
    c.text("\xff");
    auto f = c.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1007);
}

// ---- upgrade ---------------------------------------------------------------------------

struct Room {
    std::string name;
};

struct UpgradeVoid {
    void upgrade(wisp::Request& req) {
        req.state<Room>().name = std::string(req.param("room").value_or(""));
    }
    void open(wisp::Peer& p) { p.send_text("in " + p.state<Room>().name); }
};

struct UpgradeConstRequest {
    wisp::Response upgrade(const wisp::Request& req) const {
        if (req.query("token").value_or("") == "yes") return wisp::accept();
        wisp::Response no = wisp::status(403);
        no.headers.set("X-Why", "token");
        no.body = "a token is needed";
        return no;
    }
    void open(wisp::Peer& p) { p.send_text("admitted"); }
};

struct UpgradeHeaders {
    wisp::Headers upgrade(wisp::Request& req) {
        wisp::Headers h{{"X-Room", std::string(req.param("room").value_or(""))}};
        if (req.header("sec-websocket-protocol")) h.set("Sec-WebSocket-Protocol", "chat.v1");
        return h;
    }
    void open(wisp::Peer& p) { p.send_text("protocol " + std::string(p.protocol())); }
};

// ---- open and message ----------------------------------------------------------------

struct ConstPeerAndByValue {
    Seen* seen;
    void open(const wisp::Peer& p) const { seen->add(p.id().empty() ? "open, no id" : "open"); }
    void message(wisp::Peer& p, wisp::Message m) const {
        p.send_text(std::string(m.is_binary() ? "binary " : "text ") + std::string(m.text()));
    }
};

// ---- close and error -----------------------------------------------------------------

struct PeerOnly {
    Seen* seen;
    void close(wisp::Peer&) { seen->add("close"); }
    void error(wisp::Peer&) { seen->add("error"); }
};

struct ByValue {
    Seen* seen;
    void close(wisp::Peer&, wisp::CloseInfo c) {
        seen->add("close " + std::to_string(c.code) + " " + std::string(c.reason) +
                  (c.clean ? " clean" : " unclean"));
    }
    void error(wisp::Peer&, wisp::Error e) { seen->add("error " + code_of(e)); }
};

// ---- overload sets, templates, static members ------------------------------------------

struct Overloaded {
    Seen* seen;
    void message(wisp::Peer&, std::string&) { seen->add("message with a string"); }
    void message(wisp::Peer& p, const wisp::Message& m) { p.send_text(m.text()); }
    void close(wisp::Peer&) { seen->add("close without info"); }
    void close(wisp::Peer&, const wisp::CloseInfo& c) {
        seen->add("close " + std::to_string(c.code));
    }
    void error(wisp::Peer&) { seen->add("error without info"); }
    void error(wisp::Peer&, const wisp::Error& e) { seen->add("error " + code_of(e)); }
};

struct Generic {
    Seen* seen;
    template <class Request>
    void upgrade(Request& req) {
        req.template state<Room>().name = "generic";
    }
    template <class Peer>
    void open(Peer& p) {
        p.send_text("hello from " + p.template state<Room>().name);
    }
    template <class Peer, class Message>
    void message(Peer& p, const Message& m) {
        p.send(m);
    }
    template <class... Info>
    void close(wisp::Peer&, const Info&... info) {
        seen->add("close with " + std::to_string(sizeof...(Info)) + " " + describe(info...));
    }
    template <class... Info>
    void error(wisp::Peer&, const Info&... info) {
        seen->add("error with " + std::to_string(sizeof...(Info)) + " " + describe(info...));
    }
    static std::string describe() { return "nothing"; }
    static std::string describe(const wisp::CloseInfo& c) { return std::to_string(c.code); }
    static std::string describe(const wisp::Error& e) { return code_of(e); }
};

struct Static {
    static inline Seen* seen = nullptr;
    static wisp::Headers upgrade(wisp::Request&) { return {{"X-Static", "yes"}}; }
    static void open(wisp::Peer& p) { p.send_text("static open"); }
    static void close(wisp::Peer&, const wisp::CloseInfo& c) {
        seen->add("static close " + std::to_string(c.code));
    }
};

struct ConstHandler {
    Seen* seen;
    void open(wisp::Peer& p) const { p.send_text("const open"); }
    void close(wisp::Peer&, const wisp::CloseInfo& c) const {
        seen->add("const close " + std::to_string(c.code));
    }
};

struct Mistyped {
    void message(wisp::Peer&, wisp::Message&) {}
};
struct Sealed final {
    void open(wisp::Peer&) {}
};

static_assert(wisp::is_websocket_handler_v<UpgradeVoid>);
static_assert(wisp::is_websocket_handler_v<UpgradeConstRequest>);
static_assert(wisp::is_websocket_handler_v<UpgradeHeaders>);
static_assert(wisp::is_websocket_handler_v<ConstPeerAndByValue>);
static_assert(wisp::is_websocket_handler_v<PeerOnly>);
static_assert(wisp::is_websocket_handler_v<ByValue>);
static_assert(wisp::is_websocket_handler_v<Overloaded>);
static_assert(wisp::is_websocket_handler_v<Generic>);
static_assert(wisp::is_websocket_handler_v<Static>);
static_assert(wisp::is_websocket_handler_v<const ConstHandler>);
static_assert(!wisp::is_websocket_handler_v<Mistyped>);
static_assert(!wisp::is_websocket_handler_v<Sealed>);
static_assert(!wisp::is_websocket_handler_v<int>);

}   // namespace

TEST_CASE("hooks: upgrade(Request&) returning void accepts and may set per-peer state") {
    wisp::App app;
    app.ws<UpgradeVoid>("/rooms/:room");
    support::Server server(app);
    WsClient c(server.port());
    CHECK(open_and_greet(c, "/rooms/attic") == "in attic");
}

TEST_CASE("hooks: upgrade(const Request&) rejects with its Response or accepts") {
    wisp::App app;
    app.ws<UpgradeConstRequest>("/gate");
    support::Server server(app);
    {
        WsClient c(server.port());
        const std::string r = c.handshake("/gate");
        CHECK(support::status_of(r) == 403);
        CHECK(support::header_of(r, "x-why") == "token");
        CHECK(support::body_of(r) == "a token is needed");
    }
    WsClient c(server.port());
    CHECK(open_and_greet(c, "/gate?token=yes") == "admitted");
}

TEST_CASE("hooks: an upgrade returning wisp::Headers accepts with them on the 101") {
    wisp::App app;
    app.ws<UpgradeHeaders>("/rooms/:room");
    support::Server server(app);
    WsClient c(server.port());
    const std::string r = c.handshake("/rooms/cellar", "Sec-WebSocket-Protocol: chat.v1\r\n");
    REQUIRE(support::status_of(r) == 101);
    CHECK(support::header_of(r, "x-room") == "cellar");
    CHECK(support::header_of(r, "sec-websocket-protocol") == "chat.v1");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "protocol chat.v1");   // the chosen subprotocol reaches the peer
}

TEST_CASE("hooks: open(const Peer&) const and message(Peer&, Message) by value are called") {
    Seen seen;
    ConstPeerAndByValue handler{&seen};
    wisp::App app;
    app.ws("/ws", handler);
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/ws")) == 101);
    c.text("caf\xc3\xa9");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "text caf\xc3\xa9");
    c.binary("\x01\x02");
    f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "binary \x01\x02");
    CHECK(seen.wait_for("open"));
}

TEST_CASE("hooks: close(Peer&) and error(Peer&) are called without the details") {
    Seen seen;
    PeerOnly handler{&seen};
    wisp::App app;
    app.ws("/ws", handler);
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/ws")) == 101);
    send_invalid_utf8(c);
    CHECK(seen.wait_for("error"));
    CHECK(seen.wait_for("close"));
}

TEST_CASE("hooks: close(Peer&, CloseInfo) gets code and reason; error(Peer&, Error) the code") {
    Seen seen;
    ByValue handler{&seen};
    wisp::App app;
    app.ws("/ws", handler);
    support::Server server(app);
    {
        WsClient c(server.port());
        REQUIRE(support::status_of(c.handshake("/ws")) == 101);
        c.close(4001, "bye now");
        auto f = c.read_close();
        REQUIRE(f);
        CHECK(f->close_code() == 4001);
        CHECK(seen.wait_for("close 4001 bye now clean"));
    }
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/ws")) == 101);
    send_invalid_utf8(c);
    CHECK(seen.wait_for("error invalid_utf8"));
    CHECK(seen.wait_for_prefix("close 1007 "));   // then the engine's wording of the reason
}

TEST_CASE("hooks: an overload set calls the members that fit, the richest when several do") {
    Seen seen;
    Overloaded handler{&seen};
    wisp::App app;
    app.ws("/ws", handler);
    support::Server server(app);
    {
        WsClient c(server.port());
        REQUIRE(support::status_of(c.handshake("/ws")) == 101);
        c.text("over");
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->payload == "over");
        c.close(1000);
        REQUIRE(c.read_close());
        CHECK(seen.wait_for("close 1000"));
    }
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/ws")) == 101);
    send_invalid_utf8(c);
    CHECK(seen.wait_for("error invalid_utf8"));
    CHECK(seen.wait_for("close 1007"));
    CHECK_FALSE(seen.has("message with a string"));
    CHECK_FALSE(seen.has("close without info"));
    CHECK_FALSE(seen.has("error without info"));
}

TEST_CASE("hooks: member templates are called with the engine's arguments") {
    Seen seen;
    Generic handler{&seen};
    wisp::App app;
    app.ws("/ws", handler);
    support::Server server(app);
    {
        WsClient c(server.port());
        CHECK(open_and_greet(c, "/ws") == "hello from generic");
        const std::string bytes(
            "\x00\xff"
            "bytes",
            7);
        c.binary(bytes);
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->opcode == 2);
        CHECK(f->payload == bytes);
        c.close(4002, "done");
        REQUIRE(c.read_close());
        CHECK(seen.wait_for("close with 1 4002"));   // the richest form: with the CloseInfo
    }
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/ws")) == 101);
    REQUIRE(c.read());
    send_invalid_utf8(c);
    CHECK(seen.wait_for("error with 1 invalid_utf8"));
}

TEST_CASE("hooks: static member hooks are called") {
    Seen seen;
    Static::seen = &seen;
    wisp::App app;
    app.ws<Static>("/ws");
    support::Server server(app);
    WsClient c(server.port());
    const std::string r = c.handshake("/ws");
    REQUIRE(support::status_of(r) == 101);
    CHECK(support::header_of(r, "x-static") == "yes");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "static open");
    c.close(1000);
    REQUIRE(c.read_close());
    CHECK(seen.wait_for("static close 1000"));
}

TEST_CASE("hooks: a const handler object has its const hooks called") {
    Seen seen;
    const ConstHandler handler{&seen};
    wisp::App app;
    app.ws("/ws", handler);
    support::Server server(app);
    WsClient c(server.port());
    CHECK(open_and_greet(c, "/ws") == "const open");
    c.close(1001);
    REQUIRE(c.read_close());
    CHECK(seen.wait_for("const close 1001"));
}
