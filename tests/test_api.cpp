// SPDX-License-Identifier: MIT
// The CrossWS / H3 shape of the API over real sockets: send and publish with string-likes,
// text that is not UTF-8 never framed as text, URLs and ready states, lookups of one shape,
// HEAD on every kind of route, a lambda that returns a stream or a response.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using support::body_of;
using support::Client;
using support::header_of;
using support::Server;
using support::status_of;
using support::WsClient;

namespace {

std::string result_name(wisp::SendResult r) {
    switch (r) {
        case wisp::SendResult::sent:
            return "sent";
        case wisp::SendResult::dropped:
            return "dropped";
        case wisp::SendResult::closed:
            return "closed";
        case wisp::SendResult::invalid:
            return "invalid";
    }
    return "?";
}

/// Answers each message by trying one API call named by the message, and sends back what
/// the call returned.
struct Shapes {
    void open(wisp::Peer& p) { p.subscribe("t"); }
    void message(wisp::Peer& p, const wisp::Message& m) {
        const std::string what(m.text());
        if (what == "string") p.send(std::string("a std::string"));
        else if (what == "literal") p.send("a literal");
        else if (what == "view") p.send(std::string_view("a view"));
        else if (what == "bytes") p.send_binary("\x00\x01\x02", 3);
        else if (what == "bad-text") p.send(result_name(p.send("\xff\xfe bad")));
        else if (what == "bad-publish") p.send(result_name(p.publish("t", "\xc0\xaf")));
        else if (what == "publish") p.send(result_name(p.publish("t", std::string("from a peer"))));
        else if (what == "state") p.send(std::to_string(static_cast<int>(p.ready_state())));
        else if (what == "who") {
            std::ostringstream os;
            os << p;
            p.send(os.str() + "|" + wisp::to_string(p) + "|" + std::string(p.id()));
        } else if (what == "url") p.send(p.url());
        else if (what == "ext") p.send("[" + std::string(p.extensions()) + "]");
        else p.send(m);   // binary or anything else: echoed with its own type
    }
};

}   // namespace

TEST_CASE("api: peer.send takes any string-like as text; binary stays explicit") {
    wisp::App app;
    app.ws<Shapes>("/_ws");
    Server srv(app);
    WsClient c(srv.port());
    REQUIRE(status_of(c.handshake("/_ws")) == 101);
    for (auto [ask, want] : std::vector<std::pair<std::string, std::string>>{
             {"string", "a std::string"}, {"literal", "a literal"}, {"view", "a view"}}) {
        c.text(ask);
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->opcode == 1);
        CHECK(f->payload == want);
    }
    c.text("bytes");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->opcode == 2);
    CHECK(f->payload == std::string("\x00\x01\x02", 3));
    c.binary("\x07\x08");   // send(Message) keeps the message's type
    f = c.read();
    REQUIRE(f);
    CHECK(f->opcode == 2);
    CHECK(f->payload == "\x07\x08");
}

TEST_CASE("api: text that is not UTF-8 is refused once, and subscribers stay open") {
    // Issue 16 B6: one bad byte in a publication used to reach every subscriber as a text
    // frame, and every browser closed with 1007.
    wisp::App app;
    app.ws<Shapes>("/_ws");
    std::atomic<int> app_result{-1};
    app.post("/publish", [&app, &app_result](wisp::Request& req) {
        const wisp::SendResult r = app.publish("t", req.body());
        app_result = static_cast<int>(r);
        return wisp::text(result_name(r));
    });
    Server srv(app);
    WsClient sender(srv.port()), sub(srv.port());
    REQUIRE(status_of(sender.handshake("/_ws")) == 101);
    REQUIRE(status_of(sub.handshake("/_ws")) == 101);
    sender.text("state");   // both are subscribed once their first answer comes back
    REQUIRE(sender.read());

    sender.text("bad-text");
    auto f = sender.read();
    REQUIRE(f);
    CHECK(f->payload == "invalid");
    sender.text("bad-publish");
    f = sender.read();
    REQUIRE(f);
    CHECK(f->payload == "invalid");
    Client http(srv.port());
    http.send("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nA\xed\xa0");
    CHECK(body_of(http.read_response()) == "invalid");   // a surrogate half: not UTF-8
    CHECK(app_result.load() == static_cast<int>(wisp::SendResult::invalid));

    // Nothing of the bad ones reached the subscriber; the next good one does, and it is open.
    sender.text("publish");
    f = sender.read();
    REQUIRE(f);
    CHECK(f->payload == "sent");
    f = sub.read();
    REQUIRE(f);
    CHECK(f->opcode == 1);
    CHECK(f->payload == "from a peer");
    http.send("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
    CHECK(body_of(http.read_response()) == "sent");
    f = sub.read();
    REQUIRE(f);
    CHECK(f->payload == "ok");
}

TEST_CASE("api: to_string(peer) and operator<< give the id; url, extensions, ready_state") {
    wisp::App app;
    struct Closing : Shapes {
        std::promise<int>* state_in_close = nullptr;
        void close(wisp::Peer& p, const wisp::CloseInfo&) {
            state_in_close->set_value(static_cast<int>(p.ready_state()));
        }
    };
    std::promise<int> in_close;
    auto state_in_close = in_close.get_future();
    Closing h;
    h.state_in_close = &in_close;
    app.ws("/rooms/:id", h);
    Server srv(app);
    WsClient c(srv.port());
    REQUIRE(status_of(c.handshake("/rooms/7?x=1&y=%20")) == 101);
    c.text("who");
    auto f = c.read();
    REQUIRE(f);
    const std::string id = f->payload.substr(0, f->payload.find('|'));
    CHECK_FALSE(id.empty());
    CHECK(f->payload == id + "|" + id + "|" + id);
    c.text("url");
    f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "ws://localhost/rooms/7?x=1&y=%20");   // WsClient sends Host: localhost
    c.text("ext");
    f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "[]");   // nothing negotiated
    c.text("state");
    f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "1");   // OPEN
    c.close(1000);
    REQUIRE(c.read_close());
    CHECK(c.wait_closed());
    REQUIRE(state_in_close.wait_for(5s) == std::future_status::ready);
    CHECK(state_in_close.get() == 3);   // CLOSED while the close hook runs, as WHATWG's onclose
}

TEST_CASE("api: Request::url() is the URL the client addressed, absolute-form included") {
    wisp::App app;
    app.get("/u/:id", [](wisp::Request& req) { return wisp::text(req.url()); });
    Server srv(app);
    Client c(srv.port());
    c.send("GET /u/1?q=a%20b HTTP/1.1\r\nHost: example.test:8080\r\n\r\n");
    CHECK(body_of(c.read_response()) == "http://example.test:8080/u/1?q=a%20b");
    c.send("GET http://other.test/u/2 HTTP/1.1\r\nHost: ignored.test\r\n\r\n");
    CHECK(body_of(c.read_response()) == "http://other.test/u/2");
    CHECK(app.fetch(wisp::Request("GET", "/u/3", {{"Host", "h"}})).body == "http://h/u/3");
}

TEST_CASE("api: query, param and header all answer an optional view, nullopt when absent") {
    wisp::App app;
    app.get("/u/:id", [](wisp::Request& req) {
        std::string out;
        auto show = [&out](std::optional<std::string_view> v) {
            out += v ? "[" + std::string(*v) + "]" : std::string("-");
        };
        show(req.param("id"));
        show(req.param("nope"));
        show(req.query("a"));
        show(req.query("b"));   // decoded: '+' is a space, %41 is 'A'
        show(req.query("empty"));
        show(req.query("nope"));
        show(req.header("x-h"));
        show(req.header("nope"));
        return wisp::text(out);
    });
    auto r = app.fetch(wisp::Request("GET", "/u/%41?a=1&b=x+%41&empty=", {{"X-H", "v"}}));
    CHECK(r.body == "[A]-[1][x A][]-[v]-");
    // Undecoded values are views into the request; decoded ones stay valid as long as it.
    wisp::Request req("GET", "/?k=%7E&k2=plain");
    const std::string_view k = *req.query("k");
    const std::string_view k2 = *req.query("k2");
    CHECK(k == "~");
    CHECK(k2 == "plain");
    CHECK(*req.query("k") == "~");
}

TEST_CASE("api: a duplicate route says which routes clashed") {
    wisp::App app;
    app.get("/users/:id", [](wisp::Request&) { return "a"; });
    app.get("/users/:name", [](wisp::Request&) { return "b"; });
    const std::error_code ec = app.listen("127.0.0.1", 0);
    CHECK(ec == wisp::errc::duplicate_route);
    CHECK(app.setup_error_detail() ==
          "GET /users/:name clashes with GET /users/:id, registered before (same shape)");
}

TEST_CASE("api: a lambda declared -> Response returns a stream on one path, a 404 on another") {
    wisp::App app;
    app.get("/events", [](wisp::Request& req) -> wisp::Response {
        if (req.query("missing")) return wisp::Response(404);
        wisp::EventStream stream(req);
        stream.push("first");
        stream.close();
        return stream;
    });
    Server srv(app);
    Client c(srv.port());
    c.send("GET /events?missing HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_of(c.read_response()) == 404);
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(header_of(r, "content-type") == "text/event-stream");
    CHECK(r.find("data: first\n\n") != std::string::npos);
}

TEST_CASE("api: HEAD on every route: GET's head, no body, no chunk; the next request is read") {
    // Issue 16 A2: HEAD on an event stream route sent a chunked terminator and closed.
    wisp::App app;
    std::atomic<int> streams_closed{0};
    app.get("/events", [&streams_closed](wisp::Request& req) {
        wisp::EventStream s(req);
        s.headers().set("X-Kind", "stream");
        s.push("never on HEAD");
        s.on_closed([&streams_closed] { ++streams_closed; });
        return s;
    });
    app.get("/text", [](wisp::Request&) { return wisp::text("twelve bytes"); });
    Server srv(app);
    Client c(srv.port());
    // Pipelined: HEAD of a stream, HEAD of a plain route, then a GET, in one write.
    c.send(
        "HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n"
        "HEAD /text HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /text HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(c.read_until(
        [](const std::string& b) { return b.find("twelve bytes") != std::string::npos; }));
    const std::string all = c.buffer();
    const std::size_t h1 = all.find("\r\n\r\n");
    const std::string head1 = all.substr(0, h1 + 4);
    CHECK(status_of(head1) == 200);
    CHECK(header_of(head1, "content-type") == "text/event-stream");
    CHECK(header_of(head1, "transfer-encoding") == "chunked");
    CHECK(header_of(head1, "x-kind") == "stream");
    CHECK(header_of(head1, "connection").empty());   // kept alive
    // Right after the head: the next response, with no event and no "0\r\n\r\n" between.
    CHECK(all.compare(h1 + 4, 9, "HTTP/1.1 ") == 0);
    const std::size_t h2 = all.find("\r\n\r\n", h1 + 4);
    const std::string head2 = all.substr(h1 + 4, h2 + 4 - (h1 + 4));
    CHECK(header_of(head2, "content-length") == "12");
    CHECK(all.compare(h2 + 4, 9, "HTTP/1.1 ") == 0);   // HEAD: no body
    CHECK(body_of(all.substr(h2 + 4)) == "twelve bytes");
    CHECK(all.find("never on HEAD") == std::string::npos);
    CHECK(streams_closed.load() == 1);   // the stream never started, and said so once
}
