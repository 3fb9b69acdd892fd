// SPDX-License-Identifier: MIT
// HTTP/1.1 edge cases over real sockets: requests split across reads, request-target forms,
// and the status a malformed request line gets.
#include <doctest/doctest.h>
#include "support/net.hpp"

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using support::Client;
using support::Server;
using support::status_of;

namespace {

/// A POST to /upload/... of `body`, sized or chunked (in chunks of up to 5000 bytes), maybe
/// with Expect; `head_len` is set to the length of its head.
std::string post_of(const std::string& body, bool chunked, bool expect, std::size_t& head_len) {
    std::string in = "POST /upload/some/path?x=1 HTTP/1.1\r\nHost: x\r\n";
    if (expect) in += "Expect: 100-continue\r\n";
    if (!chunked) {
        in += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        head_len = in.size();
        return in + body;
    }
    in += "Transfer-Encoding: chunked\r\n\r\n";
    head_len = in.size();
    for (std::size_t at = 0; at < body.size(); at += 5000) {
        const std::string piece = body.substr(at, 5000);
        char size[16];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        in += std::string(size) + "\r\n" + piece + "\r\n";
    }
    return in + "0\r\n\r\n";
}

/// The next final response on `c`, skipping interim (1xx) ones.
std::string final_response(Client& c) {
    for (;;) {
        std::string r = c.read_response();
        if (r.empty() || status_of(r) >= 200) return r;
    }
}

/// Reads responses up to and including `100 Continue`; false if a final one came first.
bool wait_continue(Client& c) {
    const std::string r = c.read_response();
    return status_of(r) == 100;
}

}   // namespace

TEST_CASE("http edge: a head and its body in separate reads, with and without Expect") {
    // Issue 16 A1: the head of a request answered with 100 Continue was left in the receive
    // buffer that the body's read then overwrote, and the request was routed by garbage.
    wisp::App app;
    app.post("/upload/**", [](wisp::Request& req) {
        return wisp::text(std::string(req.path()) + "\n" + std::string(req.body()));
    });
    Server srv(app);
    for (std::size_t size : {std::size_t(1), std::size_t(6), std::size_t(64 * 1024)}) {
        std::string body(size, 'x');
        for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + i % 26);
        const std::string expected = "/upload/some/path\n" + body;
        for (bool chunked : {false, true}) {
            for (bool expect : {false, true}) {
                CAPTURE(size);
                CAPTURE(chunked);
                CAPTURE(expect);
                std::size_t head_len = 0;
                const std::string in = post_of(body, chunked, expect, head_len);
                // Every offset for the small bodies; for 64 KiB every offset of the head and a
                // spread through the body.
                std::vector<std::size_t> cuts;
                for (std::size_t cut = 1; cut < in.size(); ++cut) {
                    const std::size_t into_body = cut > head_len ? cut - head_len : 0;
                    if (size < 1024 || cut <= head_len + 2 || in.size() - cut <= 2 ||
                        into_body % 4099 == 0)
                        cuts.push_back(cut);
                }
                Client c(srv.port());
                for (std::size_t cut : cuts) {
                    CAPTURE(cut);
                    c.send(std::string_view(in).substr(0, cut));
                    // With Expect and the whole head sent, wait for the server's go-ahead: the
                    // body then surely arrives in a read of its own.
                    if (expect && cut >= head_len) REQUIRE(wait_continue(c));
                    c.send(std::string_view(in).substr(cut));
                    const std::string r = final_response(c);
                    REQUIRE(status_of(r) == 200);
                    REQUIRE(support::body_of(r) == expected);
                }
            }
        }
    }
}

TEST_CASE("http edge: absolute-form targets are routed by their path; host() is theirs") {
    // RFC 9112 §3.2.2: a server MUST accept the absolute-form, and then ignores Host.
    wisp::App app;
    app.get("/n/:n", [](wisp::Request& req) {
        return wisp::text(std::string(req.param("n").value_or("")) + "@" + std::string(req.host()) +
                          "?" + std::string(req.query_string()));
    });
    app.get("/", [](wisp::Request& req) { return wisp::text("root@" + std::string(req.host())); });
    Server srv(app);
    Client c(srv.port());
    c.send("GET http://example.com:8080/n/5?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n");
    std::string r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(support::body_of(r) == "5@example.com:8080?x=1");
    c.send("GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
    r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(support::body_of(r) == "root@example.com");
    c.send("GET /n/6 HTTP/1.1\r\nHost: h:1\r\n\r\n");
    CHECK(support::body_of(c.read_response()) == "6@h:1?");

    Client bad(srv.port());
    bad.send("GET ws://example.com/n/5 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    CHECK(status_of(bad.read_response()) == 400);
    CHECK(bad.wait_closed());
}

TEST_CASE("http edge: OPTIONS * reaches no route; * with another method is 400") {
    // RFC 9112 §3.2.4: the asterisk-form is only for OPTIONS, and means the server itself.
    wisp::App app;
    std::atomic<int> catch_all{0};
    app.any("/**", [&catch_all](wisp::Request&) {
        ++catch_all;
        return wisp::text("routed");
    });
    Server srv(app);
    Client c(srv.port());
    c.send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = c.read_response();
    CHECK(status_of(r) ==
          204);   // the server's options: OPTIONS alone (any-method routes add none)
    CHECK(support::header_of(r, "allow") == "OPTIONS");
    CHECK(support::body_of(r) != "routed");
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");   // the connection goes on
    CHECK(support::body_of(c.read_response()) == "routed");
    CHECK(catch_all.load() == 1);

    for (const char* bad :
         {"GET * HTTP/1.1\r\nHost: x\r\n\r\n", "OPTIONS *?x HTTP/1.1\r\nHost: x\r\n\r\n"}) {
        CAPTURE(bad);
        Client b(srv.port());
        b.send(bad);
        CHECK(status_of(b.read_response()) == 400);
        CHECK(b.wait_closed());
    }
}

TEST_CASE("http edge: a malformed request line is 400; 501 and 505 only for well-formed ones") {
    wisp::App app;
    app.get("/", [](wisp::Request&) { return wisp::text("Hello"); });
    Server srv(app);
    struct Case {
        std::string request;
        int status;
    };
    const std::vector<Case> cases = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/2.0 extra\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400},
        {"GET /\r\nHost: x\r\n\r\n", 400},
        {"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
        {"get / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
    };
    for (const auto& k : cases) {
        // Whole, and in two writes cut after the first byte, mid-line and before the CRLF.
        const std::size_t line_end = k.request.find('\r');
        for (std::size_t cut : {k.request.size(), std::size_t(1), line_end / 2, line_end}) {
            CAPTURE(k.request);
            CAPTURE(cut);
            Client c(srv.port());
            c.send(std::string_view(k.request).substr(0, cut));
            if (cut < k.request.size()) c.send(std::string_view(k.request).substr(cut));
            const std::string r = c.read_response();
            CHECK(status_of(r) == k.status);
            CHECK(support::header_of(r, "connection") == "close");
            CHECK(c.wait_closed());
        }
    }
    // HTTP/1.2 is served as HTTP/1.1 (RFC 9110 §2.5).
    Client c(srv.port());
    c.send("GET / HTTP/1.2\r\nHost: x\r\n\r\n");
    const std::string r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(r.compare(0, 9, "HTTP/1.1 ") == 0);
}

TEST_CASE("http edge: OPTIONS * answers 204 with the methods the app serves") {
    wisp::App app;
    app.get("/a", [](wisp::Request&) { return "a"; });
    app.post("/b", [](wisp::Request&) { return "b"; });
    struct Ws {};
    app.ws<Ws>("/_ws");
    Server srv(app);
    Client c(srv.port());
    c.send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = c.read_response();
    CHECK(status_of(r) == 204);
    CHECK(support::header_of(r, "allow") == "GET, HEAD, OPTIONS, POST");
    CHECK(support::header_of(r, "content-length").empty());   // 204: no content, no length
}
