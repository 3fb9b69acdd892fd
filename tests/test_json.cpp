// SPDX-License-Identifier: MIT
// The optional JSON helpers (<wisp/json.hpp> over nlohmann/json): serialization never throws
// and stays valid for any text, parsing never throws, and the send/publish/push/response
// helpers put one JSON text on the wire.
#define WISP_JSON 1
#include <doctest/doctest.h>
#include <wisp/wisp.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <string>

using support::WsClient;
using namespace std::chrono_literals;

TEST_CASE("json: json_text escapes quotes, backslashes and control characters, keeps UTF-8") {
    const std::string text =
        std::string("say \"hi\" \\ now\n\t\x01 caf\xC3\xA9 \xF0\x9F\x98\x80") + '\0';
    const std::string out = wisp::json_text({{"message", text}});
    CHECK(
        out ==
        "{\"message\":\"say \\\"hi\\\" \\\\ now\\n\\t\\u0001 caf\xC3\xA9 \xF0\x9F\x98\x80\\u0000\"}");
    auto back = wisp::parse_json(out);
    REQUIRE(back);
    CHECK((*back)["message"].get<std::string>() == text);
}

TEST_CASE("json: bytes that are not UTF-8 become U+FFFD instead of throwing") {
    const std::string out =
        wisp::json_text(std::string("a\xFF"
                                    "b\xC3"));
    CHECK(out ==
          "\"a\xEF\xBF\xBD"
          "b\xEF\xBF\xBD\"");
    CHECK(wisp::parse_json(out));
}

TEST_CASE("json: parse_json answers nullopt for anything that is not one JSON value") {
    CHECK(wisp::parse_json("{\"a\":[1,2,{\"b\":null}]}"));
    CHECK(wisp::parse_json(" 42 ")->get<int>() == 42);
    for (const char* bad :
         {"", "{", "{\"a\":}", "[1,2", "nul", "1 2", "{\"a\":1}x", "'a'", "\"\xFF\""})
        CHECK_MESSAGE(!wisp::parse_json(bad), bad);
    CHECK_FALSE(wisp::parse_json(wisp::Message("{}", true)));   // binary messages are not JSON
    CHECK(wisp::parse_json(wisp::Message("{}", false)));
    // 64 KiB of nesting (a chat message at its limit) parses without exhausting the stack.
    const std::string deep = std::string(32 * 1024, '[') + std::string(32 * 1024, ']');
    auto v = wisp::parse_json(deep);
    CHECK(v);
}

TEST_CASE("json: send_json, publish_json, push_json and json_response over real sockets") {
    struct Room {
        void open(wisp::Peer& p) { p.subscribe("room"); }
        void message(wisp::Peer& p, const wisp::Message& m) {
            auto v = wisp::parse_json(m);
            if (!v || !v->is_object()) {
                wisp::send_json(p, {{"error", "not a JSON object"}});
                return;
            }
            wisp::send_json(p, {{"echo", *v}});
            wisp::publish_json(p, "room", {{"from", p.id()}, {"said", *v}});
        }
    };
    wisp::App app;
    app.ws<Room>("/ws");
    app.get("/events", [](wisp::Request& req) {
        wisp::EventStream s(req);
        s.subscribe("room", wisp::TopicEvents::named);
        wisp::push_json(s, {{"hello", true}});
        return s;
    });
    app.get("/value", [](wisp::Request&) { return wisp::json_response({{"n", 1}}, 201); });
    support::Server server(app);

    support::Client http(server.port());
    http.send("GET /value HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = http.read_response();
    CHECK(support::status_of(r) == 201);
    CHECK(support::header_of(r, "content-type").find("application/json") == 0);
    CHECK(r.substr(r.find("\r\n\r\n") + 4) == "{\"n\":1}");

    support::Client sse(server.port());
    sse.send("GET /events HTTP/1.0\r\n\r\n");
    CHECK(sse.read_until([](const std::string& b) {
        return b.find("data: {\"hello\":true}\n\n") != std::string::npos;
    }));

    WsClient a(server.port()), b(server.port());
    REQUIRE(support::status_of(a.handshake("/ws")) == 101);
    REQUIRE(support::status_of(b.handshake("/ws")) == 101);
    a.text("not json");
    auto f = a.read();
    REQUIRE(f);
    CHECK(f->payload == "{\"error\":\"not a JSON object\"}");
    a.text("{\"x\":\"\\u00e9\"}");
    f = a.read();
    REQUIRE(f);
    CHECK(f->opcode == 1);
    CHECK(f->payload == "{\"echo\":{\"x\":\"\xC3\xA9\"}}");
    f = b.read();
    REQUIRE(f);
    auto got = wisp::parse_json(f->payload);
    REQUIRE(got);
    CHECK((*got)["said"]["x"] == "\xC3\xA9");
    CHECK(sse.read_until([](const std::string& b) {
        return b.find("event: room\ndata: {\"from\":") != std::string::npos;
    }));
    CHECK_FALSE(a.read(200ms));   // the publisher is not among the receivers
}

TEST_CASE("json: keys keep their order, and a nlohmann::json converts") {
    CHECK(wisp::json_text({{"user", "server"}, {"message", "hi"}}) ==
          "{\"user\":\"server\",\"message\":\"hi\"}");
    nlohmann::json sorted = {{"b", 1}, {"a", 2}};   // nlohmann::json sorts its keys
    CHECK(wisp::json_text(sorted) == "{\"a\":2,\"b\":1}");
    auto v = wisp::parse_json("{\"z\":1,\"a\":2}");
    REQUIRE(v);
    CHECK(wisp::json_text(*v) == "{\"z\":1,\"a\":2}");
}
