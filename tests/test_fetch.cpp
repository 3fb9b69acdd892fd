// SPDX-License-Identifier: MIT
// App::fetch: routing, middleware, errors and deferred answers in-process, without sockets.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include <atomic>
#include <stdexcept>
#include <ostream>   // doctest prints std::error_code through it
#include <string>
#include <thread>

TEST_CASE("fetch: routes by method and pattern, with params and query") {
    wisp::App app;
    app.get("/", [](wisp::Request&) { return wisp::text("root"); });
    app.get("/users/:id", [](wisp::Request& req) {
        return wisp::text("user " + std::string(req.param("id").value_or("")) +
                          " q=" + std::string(req.query("q").value_or("-")));
    });
    app.post("/users/:id", [](wisp::Request& req) { return "posted " + std::string(req.body()); });
    app.get("/files/**",
            [](wisp::Request& req) { return std::string(req.param("_").value_or("")); });

    auto r = app.fetch(wisp::Request("GET", "/"));
    CHECK(r.status == 200);
    CHECK(r.body == "root");
    CHECK(r.headers.get("content-type").value_or("") == "text/plain; charset=utf-8");

    r = app.fetch(wisp::Request("GET", "/users/caf%C3%A9?q=a+b%21"));
    CHECK(r.body == "user caf\xC3\xA9 q=a b!");
    r = app.fetch(wisp::Request("POST", "/users/7", {}, "data"));
    CHECK(r.body == "posted data");
    r = app.fetch(wisp::Request("GET", "/files/a/b/c.txt"));
    CHECK(r.body == "a/b/c.txt");
}

TEST_CASE("fetch: 404, 405 with Allow, automatic HEAD, malformed escapes 400") {
    wisp::App app;
    app.get("/thing", [](wisp::Request&) { return wisp::text("body!"); });
    app.put("/thing", [](wisp::Request&) { return wisp::text("put"); });
    app.get("/p/:x", [](wisp::Request& req) { return std::string(req.param("x").value_or("")); });

    auto r = app.fetch(wisp::Request("GET", "/nothing"));
    CHECK(r.status == 404);
    r = app.fetch(wisp::Request("DELETE", "/thing"));
    CHECK(r.status == 405);
    CHECK(r.headers.get("Allow").value_or("") == "GET, HEAD, PUT");
    r = app.fetch(wisp::Request("HEAD", "/thing"));
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    r = app.fetch(wisp::Request("GET", "/p/%zz"));
    CHECK(r.status == 400);
}

TEST_CASE("fetch: middleware runs first, in order, and may answer") {
    wisp::App app;
    std::string trace;
    app.use([&trace](wisp::Request&) { trace += "a"; });
    app.use([&trace](wisp::Request& req) -> std::optional<wisp::Response> {
        trace += "b";
        if (!req.header("authorization")) return wisp::status(401);
        return std::nullopt;
    });
    app.get("/secret", [&trace](wisp::Request&) {
        trace += "h";
        return wisp::text("ok");
    });
    auto r = app.fetch(wisp::Request("GET", "/secret"));
    CHECK(r.status == 401);
    CHECK(r.body == "Unauthorized\n");
    CHECK(trace == "ab");
    r = app.fetch(wisp::Request("GET", "/secret", {{"Authorization", "Bearer x"}}));
    CHECK(r.status == 200);
    CHECK(trace == "ababh");
}

#if !defined(WISP_NO_EXCEPTIONS)
TEST_CASE("fetch: a throwing handler gives 500 and an error hook call") {
    wisp::App app;
    std::string seen;
    app.on_error([&seen](const wisp::Request& req, const wisp::Error& e) {
        seen = std::string(req.path()) + ": " + e.message;
        CHECK(e.code == wisp::errc::handler_exception);
    });
    app.get("/boom", [](wisp::Request&) -> wisp::Response { throw std::runtime_error("kaput"); });
    app.get("/fine", [](wisp::Request&) { return wisp::text("fine"); });
    auto r = app.fetch(wisp::Request("GET", "/boom"));
    CHECK(r.status == 500);
    CHECK(seen == "/boom: kaput");
    CHECK(app.fetch(wisp::Request("GET", "/fine")).status == 200);
}
#endif

TEST_CASE("fetch: a deferred answer from another thread is waited for") {
    wisp::App app;
    app.get("/later/:n", [](wisp::Request& req) {
        wisp::Responder res = req.defer();
        std::thread([res] {
            res.send(wisp::text("answered " + std::string(res.request().param("n").value_or(""))));
        }).detach();
        return res;
    });
    auto r = app.fetch(wisp::Request("GET", "/later/42"));
    CHECK(r.status == 200);
    CHECK(r.body == "answered 42");
}

TEST_CASE("fetch: a Responder dropped unanswered gives 500; a second send is refused") {
    wisp::App app;
    std::atomic<bool> second{true};
    app.get("/drop", [](wisp::Request& req) {
        wisp::Responder res = req.defer();
        return res;   // the handler's copy is the last one: nobody answers
    });
    app.get("/twice", [&second](wisp::Request& req) {
        wisp::Responder res = req.defer();
        CHECK(res.send(wisp::text("one")));
        second = res.send(wisp::text("two"));
        return res;
    });
    app.get("/fake", [](wisp::Request&) { return wisp::Responder(); });
    CHECK(app.fetch(wisp::Request("GET", "/drop")).status == 500);
    auto r = app.fetch(wisp::Request("GET", "/twice"));
    CHECK(r.body == "one");
    CHECK_FALSE(second.load());
    CHECK(app.fetch(wisp::Request("GET", "/fake")).status == 500);
}

TEST_CASE("fetch: invalid and duplicate routes are reported by listen()") {
    wisp::App bad;
    bad.get("no-slash", [](wisp::Request&) { return "x"; });
    CHECK(bad.listen("127.0.0.1", 0) == wisp::errc::invalid_route);
    wisp::App dup;
    dup.get("/a/:x", [](wisp::Request&) { return "x"; });
    dup.get("/a/:y", [](wisp::Request&) { return "y"; });
    CHECK(dup.listen("127.0.0.1", 0) == wisp::errc::duplicate_route);
    wisp::App none;
    CHECK(none.run() == wisp::errc::not_listening);
}

TEST_CASE("response helpers: reason phrases, redirects, json") {
    CHECK(wisp::reason_phrase(404) == "Not Found");
    CHECK(wisp::reason_phrase(426) == "Upgrade Required");
    CHECK(wisp::reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(wisp::reason_phrase(799) == "Unknown");
    auto r = wisp::redirect("/elsewhere", 308);
    CHECK(r.status == 308);
    CHECK(r.headers.get("location").value_or("") == "/elsewhere");
    r = wisp::json(R"({"a":1})");
    CHECK(r.headers.get("Content-Type").value_or("") == "application/json");
    wisp::Headers h;
    h.add("X-A", "1").add("x-a", "2").set("X-B", "3");
    CHECK(h.size() == 3);
    h.set("X-A", "only");
    CHECK(h.size() == 2);
    CHECK(h.get("x-a").value_or("") == "only");
}

TEST_CASE("request: copies own their bytes; addresses print per RFC 5952") {
    wisp::Request a("GET", "/x?y=1", {{"H", "v"}}, "body");
    wisp::Request b = a;
    wisp::Request c = std::move(a);
    CHECK(b.path() == "/x");
    CHECK(b.query_string() == "y=1");
    CHECK(c.header("h").value_or("") == "v");
    CHECK(c.body() == "body");
    wisp::Request small("GET", "/");   // small strings move by copy: views must follow
    wisp::Request moved = std::move(small);
    CHECK(moved.method() == "GET");
    CHECK(moved.target() == "/");

    CHECK(wisp::Address::v4({192, 0, 2, 1}, 80).to_string() == "192.0.2.1:80");
    CHECK(wisp::Address::v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 443)
              .to_string() == "[2001:db8::1]:443");
    CHECK(wisp::Address::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 1).ip() == "::1");
    CHECK(wisp::Address::v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 1).ip() ==
          "2001:db8:0:1::1");
    CHECK(wisp::Address::v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1}, 1).ip() ==
          "2001:db8:0:1:1::1");
    CHECK(wisp::Address().to_string().empty());
}
