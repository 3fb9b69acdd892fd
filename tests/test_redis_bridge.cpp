// SPDX-License-Identifier: MIT
// The Redis bridge inside one App (WISP_REDIS), without a Redis server: setup errors, and an
// app whose Redis is away. Between real processes and a real redis-server:
// tests/integration/test_redis_python.py.
#include <doctest/doctest.h>
#include <wisp/app.hpp>
#include <wisp/redis.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#ifdef WISP_REDIS
using namespace std::chrono_literals;
using support::WsClient;

namespace {

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
std::uint16_t closed_port() {
    support::net::io_context io;
    support::tcp::acceptor a(io);
    std::error_code ec;
    const support::tcp::endpoint ep(support::net::ip::make_address("127.0.0.1"), 0);
    a.open(ep.protocol(), ec);
    a.bind(ep, ec);
    if (ec) support::fixture_failed("bind: " + ec.message());
    const std::uint16_t port = a.local_endpoint(ec).port();
    a.close(ec);
    return port;
}

template <class F>
bool eventually(F&& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);   // polling a counter of another thread, with a deadline
    }
    return true;
}

struct Listener {
    void open(wisp::Peer& p) { p.subscribe("t"); }
};

}   // namespace

TEST_CASE("redis bridge: a bad URL is refused by bridge(), and again by listen()") {
    wisp::App app;
    wisp::RedisBridge redis("redis://127.0.0.1:0");
    CHECK(redis.error() == wisp::make_error_code(wisp::errc::redis_url));
    CHECK(redis.error_detail().find("port must be a number") != std::string::npos);
    CHECK(app.bridge(redis) == wisp::make_error_code(wisp::errc::redis_url));
    CHECK(app.listen("127.0.0.1", 0) == wisp::make_error_code(wisp::errc::redis_url));
    CHECK(app.setup_error_detail() == redis.error_detail());
    CHECK(redis.instance().empty());
}

TEST_CASE("redis bridge: options out of range are refused; an app takes one bridge") {
    wisp::RedisOptions none;
    none.max_pending_bytes = 0;
    CHECK(wisp::RedisBridge("redis://127.0.0.1:6379", none).error() ==
          wisp::make_error_code(wisp::errc::invalid_argument));
    wisp::RedisOptions upside_down;
    upside_down.reconnect_max = 10ms;
    CHECK(wisp::RedisBridge("redis://127.0.0.1:6379", upside_down).error() ==
          wisp::make_error_code(wisp::errc::invalid_argument));
    wisp::App app;
    wisp::RedisBridge one("redis://127.0.0.1:6379"), two("redis://127.0.0.1:6379");
    CHECK_FALSE(one.error());
    CHECK(one.instance().size() == 16);
    CHECK(one.instance() != two.instance());
    CHECK_FALSE(app.bridge(one));
    CHECK(app.bridge(two) == wisp::make_error_code(wisp::errc::invalid_argument));
}

TEST_CASE(
    "redis bridge: with Redis away, local delivery goes on and what exceeds "
    "max_pending_bytes is dropped and counted") {
    wisp::RedisOptions o;
    o.max_pending_bytes = 300;   // two of the publications below, not ten
    o.reconnect_min = 10ms;
    o.reconnect_max = 40ms;
    wisp::RedisBridge redis("redis://127.0.0.1:" + std::to_string(closed_port()), o);
    wisp::App app;
    std::string logged;
    std::mutex m;
    app.on_error([&](const wisp::Request&, const wisp::Error& e) {
        std::lock_guard<std::mutex> lock(m);
        if (e.code == wisp::make_error_code(wisp::errc::redis_connection)) logged += e.message;
    });
    REQUIRE_FALSE(app.bridge(redis));
    app.ws<Listener>("/l");
    support::Server server(app);
    WsClient c(server.port());
    REQUIRE(support::status_of(c.handshake("/l")) == 101);
    const std::string text(100, 'x');
    REQUIRE(eventually([&] { return app.subscriber_count("t") == 1; }));
    for (int i = 0; i < 10; ++i) CHECK(app.publish_text("t", text) == wisp::SendResult::sent);
    for (int i = 0; i < 10; ++i) {
        auto f = c.read(5000ms);
        REQUIRE(f);
        CHECK(f->payload == text);
    }
    CHECK(eventually([&] { return redis.stats().dropped >= 8; }));
    const wisp::RedisStats s = redis.stats();
    CHECK(s.dropped <= 10);
    CHECK(s.published == 0);
    CHECK_FALSE(s.connected);
    server.stop();   // returns although Redis never answered
    std::lock_guard<std::mutex> lock(m);
    CHECK(logged.find("failed: ") != std::string::npos);
    CHECK(logged.find("retrying with backoff") != std::string::npos);
}
#endif   // WISP_REDIS
