// SPDX-License-Identifier: MIT
// The HTTP/1.1 server over real sockets on port 0, spoken to in raw bytes.
#include <doctest/doctest.h>
#include "support/net.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using support::Client;
using support::Server;
using support::status_of;

namespace {

void hello_routes(wisp::App& app) {
    app.get("/", [](wisp::Request&) { return wisp::text("Hello, World!"); });
    app.post("/echo", [](wisp::Request& req) { return wisp::text(std::string(req.body())); });
    app.get("/n/:n", [](wisp::Request& req) {
        return wisp::text(std::string(req.param("n").value_or("")));
    });
}

const char* get_root = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

}   // namespace

TEST_CASE("server: GET / answers 200 text/plain with Date and Content-Length") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    c.send(get_root);
    const std::string r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(r.compare(0, 17, "HTTP/1.1 200 OK\r\n") == 0);
    CHECK(support::header_of(r, "content-type") == "text/plain; charset=utf-8");
    CHECK(support::header_of(r, "content-length") == "13");
    CHECK(support::header_of(r, "date").size() == 29);
    CHECK(support::body_of(r) == "Hello, World!");
}

TEST_CASE("server: keep-alive serves many requests on one connection") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    for (int i = 0; i < 50; ++i) {
        c.send("GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        const std::string r = c.read_response();
        REQUIRE(status_of(r) == 200);
        CHECK(support::body_of(r) == std::to_string(i));
    }
    CHECK_FALSE(c.closed());
}

TEST_CASE(
    "server: each request on a kept-alive connection starts with no state and its own query") {
    // The connection's parser reuses one Request: what a handler made of the last one (decoded
    // query pairs, typed state) must not show through in the next.
    wisp::App app;
    app.get("/q", [](wisp::Request& req) {
        return wisp::text(std::string(req.query("a").value_or("-")));
    });
    app.get("/count", [](wisp::Request& req) {
        const bool had = req.has_state();
        return wisp::text(std::to_string(++req.state<int>()) + (had ? " had" : " fresh"));
    });
    app.get("/name", [](wisp::Request& req) {   // another state type than /count's
        std::string& s = req.state<std::string>();
        s += "x";
        return wisp::text(s);
    });
    Server srv(app);
    Client c(srv.port());
    const char* sequence[][2] = {
        {"/q?a=x%20y", "x y"}, {"/q?a=z%21", "z!"},   {"/q?b=%21", "-"}, {"/q?a=plain", "plain"},
        {"/count", "1 fresh"}, {"/count", "1 fresh"}, {"/name", "x"},    {"/count", "1 fresh"},
    };
    for (const auto& step : sequence) {
        c.send(std::string("GET ") + step[0] + " HTTP/1.1\r\nHost: x\r\n\r\n");
        const std::string r = c.read_response();
        REQUIRE(status_of(r) == 200);
        CHECK_MESSAGE(support::body_of(r) == step[1], step[0]);
    }
    // The same, pipelined: every request of one read parsed before any is answered.
    std::string burst;
    for (const auto& step : sequence)
        burst += std::string("GET ") + step[0] + " HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send(burst);
    for (const auto& step : sequence) {
        const std::string r = c.read_response();
        REQUIRE(status_of(r) == 200);
        CHECK_MESSAGE(support::body_of(r) == step[1], step[0]);
    }
}

TEST_CASE("server: pipelined requests are answered in order, also around a deferred one") {
    wisp::App app;
    hello_routes(app);
    app.get("/slow", [](wisp::Request& req) {
        wisp::Responder res = req.defer();
        std::thread([res] {
            std::this_thread::sleep_for(50ms);   // the work being waited for, not a test wait
            res.send(wisp::text("slow"));
        }).detach();
        return res;
    });
    Server srv(app);
    Client c(srv.port());
    std::string batch;
    for (int i = 0; i < 20; ++i) {
        if (i == 7) batch += "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
        batch += "GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nlast";
    c.send(batch);
    for (int i = 0; i < 20; ++i) {
        if (i == 7) CHECK(support::body_of(c.read_response()) == "slow");
        const std::string r = c.read_response();
        REQUIRE(status_of(r) == 200);
        CHECK(support::body_of(r) == std::to_string(i));
    }
    CHECK(support::body_of(c.read_response()) == "last");
}

TEST_CASE("server: pipelined responses to one read go out in one write") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    std::string batch;
    for (int i = 0; i < 16; ++i) batch += get_root;
    c.send(batch);
    // All sixteen responses arrive; with one gather write they land in the client's first
    // read or very few (a per-response write would still pass, so also see bench/).
    for (int i = 0; i < 16; ++i) REQUIRE(status_of(c.read_response()) == 200);
}

TEST_CASE("server: a burst far over the per-wakeup read bound is served without more input") {
    // 1 KiB receive buffer: one wakeup reads at most a few KiB, and 300 pipelined requests
    // (about 9 KiB, sent in one write, then nothing) need many. The rest must be read without
    // the socket signalling new input (edge-triggered readiness on Linux).
    wisp::Options o;
    o.receive_buffer_bytes = 1024;
    wisp::App app(o);
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    std::string batch;
    for (int i = 0; i < 300; ++i)
        batch += "GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send(batch);
    for (int i = 0; i < 300; ++i) {
        const std::string r = c.read_response();
        REQUIRE(status_of(r) == 200);
        REQUIRE(support::body_of(r) == std::to_string(i));
    }
}

TEST_CASE("server: chunked request bodies and Expect: 100-continue") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    c.send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n");
    CHECK(support::body_of(c.read_response()) == "Wikipedia");

    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    const std::string interim = c.read_response();
    CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
    c.send("12345");
    CHECK(support::body_of(c.read_response()) == "12345");

    // Over the body limit: refused at once, without the 100.
    c.send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n");
    const std::string r = c.read_response();
    CHECK(status_of(r) == 413);
    CHECK(c.wait_closed());
}

TEST_CASE("server: Connection: close and HTTP/1.0 close after the response") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    {
        Client c(srv.port());
        c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const std::string r = c.read_response();
        CHECK(status_of(r) == 200);
        CHECK(support::header_of(r, "connection") == "close");
        CHECK(c.wait_closed());
    }
    {
        Client c(srv.port());
        c.send("GET / HTTP/1.0\r\n\r\n");
        CHECK(status_of(c.read_response()) == 200);
        CHECK(c.wait_closed());
    }
    {
        Client c(srv.port());
        c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        const std::string r = c.read_response();
        CHECK(support::header_of(r, "connection") == "keep-alive");
        c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        CHECK(status_of(c.read_response()) == 200);
    }
}

TEST_CASE("server: a deferred answer keeps its own request's HTTP version, not the next one's") {
    wisp::App app;
    hello_routes(app);
    app.get("/later", [](wisp::Request& req) {
        wisp::Responder res = req.defer();
        std::thread([res] { res.send(wisp::text("later")); }).detach();
        return res;
    });
    Server srv(app);
    {   // 1.0 with keep-alive, deferred, then a 1.1 request in the same write
        Client c(srv.port());
        c.send(
            "GET /later HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        const std::string first = c.read_response();
        CHECK(support::body_of(first) == "later");
        CHECK(support::header_of(first, "connection") == "keep-alive");
        const std::string second = c.read_response();
        CHECK(status_of(second) == 200);
        CHECK(support::header_of(second, "connection").empty());
    }
    {   // 1.1, deferred, then a 1.0 request without keep-alive: only that one closes
        Client c(srv.port());
        c.send("GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        const std::string first = c.read_response();
        CHECK(support::body_of(first) == "later");
        CHECK(support::header_of(first, "connection").empty());
        CHECK(status_of(c.read_response()) == 200);
        CHECK(c.wait_closed());
    }
}

TEST_CASE("server: HEAD gets the GET headers without a body") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; });
    std::string head = c.buffer();
    CHECK(status_of(head) == 200);
    CHECK(support::header_of(head, "content-length") == "13");
    CHECK(head.size() == head.find("\r\n\r\n") + 4);
    c.buffer().clear();
    c.send(get_root);   // the next response follows directly: no stray body bytes
    CHECK(support::body_of(c.read_response()) == "Hello, World!");
}

TEST_CASE("server: each limit answers its status and closes") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    struct Case {
        std::string request;
        int status;
    };
    const std::vector<Case> cases = {
        {"GET /" + std::string(9000, 'u') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
        {"GET / HTTP/1.1\r\nHost: x\r\nBig: " + std::string(17000, 'h') + "\r\n\r\n", 431},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", 413},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n" +
             std::string(1048577, 'b') + "\r\n0\r\n\r\n",
         413},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    };
    for (const auto& k : cases) {
        CAPTURE(k.status);
        Client c(srv.port());
        c.send(k.request);
        const std::string r = c.read_response();
        CHECK(status_of(r) == k.status);
        CHECK(support::header_of(r, "connection") == "close");
        CHECK(c.wait_closed());
    }
    // The server still serves everyone else.
    Client ok(srv.port());
    ok.send(get_root);
    CHECK(status_of(ok.read_response()) == 200);
}

TEST_CASE("server: request smuggling shapes get 400 and the connection closes") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    const char* shapes[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    };
    for (const char* s : shapes) {
        CAPTURE(s);
        Client c(srv.port());
        c.send(s);
        const std::string r = c.read_response();
        CHECK(status_of(r) == 400);
        CHECK(c.wait_closed());
        // Nothing after the error was taken as a request.
        CHECK(c.buffer().find("HTTP/1.1") == std::string::npos);
    }
}

#if !defined(WISP_NO_EXCEPTIONS)
TEST_CASE("server: a handler that throws gets 500 and the error hook; serving goes on") {
    wisp::App app;
    std::atomic<int> errors{0};
    app.on_error([&errors](const wisp::Request&, const wisp::Error& e) {
        if (e.code == wisp::errc::handler_exception) ++errors;
    });
    app.get("/boom", [](wisp::Request&) -> wisp::Response { throw std::logic_error("x"); });
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    c.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_of(c.read_response()) == 500);
    c.send(get_root);
    CHECK(status_of(c.read_response()) == 200);
    CHECK(errors.load() == 1);
}
#endif

TEST_CASE("server: slowloris is cut at the header timeout with 408") {
    wisp::Options opt;
    opt.limits.header_timeout = 300ms;
    opt.timer_resolution = 20ms;
    wisp::App app(opt);
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    const auto t0 = std::chrono::steady_clock::now();
    c.send("GET / HTTP/1.1\r\nHo");
    // Keep dribbling bytes: the deadline counts from the head's start, not the last byte.
    for (int i = 0; i < 10 && !c.closed(); ++i) {
        c.send("X");
        c.read_until([](const std::string& b) { return !b.empty(); }, 60ms);
    }
    c.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; },
                 2000ms);
    CHECK(status_of(c.buffer()) == 408);
    CHECK(c.wait_closed(2000ms));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 280ms);
    CHECK(took < 1500ms);
}

TEST_CASE("server: idle keep-alive connections and silent ones are closed by their timeouts") {
    wisp::Options opt;
    opt.limits.keep_alive_timeout = 200ms;
    opt.limits.header_timeout = 300ms;
    opt.timer_resolution = 20ms;
    wisp::App app(opt);
    hello_routes(app);
    Server srv(app);
    Client idle(srv.port());
    idle.send(get_root);
    CHECK(status_of(idle.read_response()) == 200);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(idle.wait_closed(2000ms));
    CHECK(std::chrono::steady_clock::now() - t0 >= 180ms);

    Client silent(srv.port());   // never sends a byte
    CHECK(silent.wait_closed(2000ms));
}

TEST_CASE("server: a stalled body is cut at the body timeout") {
    wisp::Options opt;
    opt.limits.body_timeout = 200ms;
    opt.timer_resolution = 20ms;
    wisp::App app(opt);
    hello_routes(app);
    Server srv(app);
    Client c(srv.port());
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    const std::string r = c.read_response(3000ms);
    CHECK(status_of(r) == 408);
    CHECK(c.wait_closed());
}

TEST_CASE("server: 1000 idle connections while a new client is served") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    std::vector<std::unique_ptr<Client>> idle;
    for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<Client>(srv.port()));
    // Half of them are in the middle of a request head.
    for (int i = 0; i < 1000; i += 2) idle[i]->send("GET / HTTP/1.1\r\nHo");
    Client fresh(srv.port());
    fresh.send(get_root);
    CHECK(status_of(fresh.read_response()) == 200);
    // And one of the half-finished ones completes normally.
    idle[10]->send("st: x\r\n\r\n");
    CHECK(status_of(idle[10]->read_response()) == 200);
}

TEST_CASE("server: clients that reset mid-request do not disturb the server") {
    wisp::App app;
    hello_routes(app);
    Server srv(app);
    for (int i = 0; i < 50; ++i) {
        Client c(srv.port());
        c.send(i % 2 ? "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"
                     : "GET / HTTP/1.1\r\nHo");
        c.socket().set_option(support::net::socket_base::linger(true, 0));   // RST on close
        c.socket().close();
    }
    Client ok(srv.port());
    ok.send(get_root);
    CHECK(status_of(ok.read_response()) == 200);
}

TEST_CASE("server: a client that reads nothing is not read further (bounded memory)") {
    wisp::Options opt;
    opt.limits.max_queued_bytes = 64 * 1024;
    wisp::App app(opt);
    app.get("/big", [](wisp::Request&) { return wisp::text(std::string(256 * 1024, 'z')); });
    std::atomic<int> served{0};
    app.get("/count", [&served](wisp::Request&) {
        ++served;
        return wisp::text("x");
    });
    Server srv(app);
    Client c(srv.port());
    std::string batch;
    for (int i = 0; i < 200; ++i) batch += "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "GET /count HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send(batch);
    // Without reading, the server stops parsing once its queue passes the cap.
    Client other(srv.port());
    other.send("GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_of(other.read_response()) == 200);
    CHECK(served.load() == 1);
    // Reading everything, all responses arrive in order and complete.
    for (int i = 0; i < 200; ++i)
        REQUIRE(support::body_of(c.read_response(5000ms)).size() == 256 * 1024);
    CHECK(support::body_of(c.read_response()) == "x");
    CHECK(served.load() == 2);
}

TEST_CASE("server: stop() lets an in-flight response finish, then run() returns") {
    wisp::App app;
    std::promise<void> entered, go;
    std::shared_future<void> go_f = go.get_future().share();
    app.get("/slow", [&entered, go_f](wisp::Request& req) {
        wisp::Responder res = req.defer();
        std::thread([res, go_f] {
            go_f.wait();   // answer only once the test has asked the server to stop
            res.send(wisp::text("finished"));
        }).detach();
        entered.set_value();
        return res;
    });
    Server srv(app);
    Client c(srv.port());
    Client idle(srv.port());
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(entered.get_future().wait_for(3s) == std::future_status::ready);
    std::thread stopper([&srv] { srv.stop(); });
    go.set_value();
    const std::string r = c.read_response(3000ms);
    CHECK(support::body_of(r) == "finished");
    CHECK(c.wait_closed(3000ms));
    CHECK(idle.wait_closed(3000ms));
    stopper.join();
    CHECK_FALSE(app.running());
}

TEST_CASE("server: a second thread serves too, and answers from any thread are ordered") {
    wisp::App app;
    hello_routes(app);
    Server srv(app, 2);
    std::vector<std::unique_ptr<Client>> cs;
    for (int i = 0; i < 8; ++i) cs.push_back(std::make_unique<Client>(srv.port()));
    for (auto& c : cs) c->send(std::string(get_root) + get_root);
    for (auto& c : cs) {
        CHECK(status_of(c->read_response()) == 200);
        CHECK(status_of(c->read_response()) == 200);
    }
}
