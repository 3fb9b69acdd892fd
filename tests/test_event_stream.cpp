// SPDX-License-Identifier: MIT
// EventStream over real sockets with a raw client: the head, chunked and close-delimited
// framing, fields, heartbeats, on_closed in every way a stream ends, pushes from other
// threads, backpressure and many streams; and App::fetch of a stream route.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/net.hpp"
#include "support/sse_parse.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// A raw client that sends a GET and reads the head, then the (chunked) event bytes.
struct SseClient {
    support::Client c;
    std::string head;
    explicit SseClient(std::uint16_t port, std::string_view path, std::string_view extra = {},
                       std::string_view version = "HTTP/1.1")
        : c(port) {
        c.send("GET " + std::string(path) + " " + std::string(version) + "\r\nHost: x\r\n" +
               std::string(extra) + "\r\n");
        c.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; });
        const std::size_t e = c.buffer().find("\r\n\r\n");
        if (e != std::string::npos) {
            head = c.buffer().substr(0, e + 4);
            c.buffer().erase(0, e + 4);
        }
    }
    /// Reads until the decoded body holds `n` events (blank-line terminated).
    support::SseParser events_until(std::size_t n, std::chrono::milliseconds t = 5000ms) {
        support::SseParser p;
        c.read_until(
            [&](const std::string& b) {
                p = support::sse_parse_chunked(b);
                return p.events.size() >= n;
            },
            t);
        return p;
    }
};

struct Flag {
    std::mutex m;
    std::condition_variable cv;
    int count = 0;
    void hit() {
        {
            std::lock_guard<std::mutex> l(m);
            ++count;
        }
        cv.notify_all();
    }
    bool wait(int n = 1, std::chrono::milliseconds t = 5000ms) {
        std::unique_lock<std::mutex> l(m);
        return cv.wait_for(l, t, [&] { return count >= n; });
    }
    int get() {
        std::lock_guard<std::mutex> l(m);
        return count;
    }
};

}   // namespace

TEST_CASE("event stream: head, chunked framing, every field, invalid fields refused") {
    std::vector<wisp::SendResult> results;
    wisp::App app;
    app.get("/sse", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        s.headers().set("X-Stream", "yes");
        results.push_back(s.push("one"));
        results.push_back(s.push("a\nb\r\nc\rd"));
        results.push_back(s.push(""));
        results.push_back(s.push(wisp::EventMessage{"payload", "update", "7", 3000}));
        results.push_back(s.push(wisp::EventMessage{"x", "bad\nevent", {}, -1}));
        results.push_back(s.push(wisp::EventMessage{"x", {}, "bad\rid", -1}));
        results.push_back(s.push(wisp::EventMessage{"x", {}, std::string("nul\0", 4), -1}));
        results.push_back(s.push_comment("just a comment"));
        results.push_back(s.push(wisp::EventMessage{"reset", {}, "", -1}));
        return s;
    });
    support::Server server(app);
    SseClient c(server.port(), "/sse");
    CHECK(support::status_of(c.head) == 200);
    CHECK(support::header_of(c.head, "content-type") == "text/event-stream");
    CHECK(support::header_of(c.head, "cache-control") == "no-cache");
    CHECK(support::header_of(c.head, "x-accel-buffering") == "no");
    CHECK(support::header_of(c.head, "transfer-encoding") == "chunked");
    CHECK(support::header_of(c.head, "content-length").empty());
    CHECK(support::header_of(c.head, "x-stream") == "yes");
    auto p = c.events_until(5);
    REQUIRE(p.events.size() == 5);
    CHECK(p.events[0].data == "one");
    CHECK(p.events[1].data == "a\nb\nc\nd");
    CHECK(p.events[2].data.empty());
    CHECK(p.events[3].type == "update");
    CHECK(p.events[3].data == "payload");
    CHECK(p.events[3].last_event_id == "7");
    CHECK(p.reconnection_time == 3000);
    CHECK(p.events[4].data == "reset");
    CHECK(p.events[4].last_event_id.empty());
    CHECK(p.comments == std::vector<std::string>{" just a comment"});
    using R = wisp::SendResult;
    CHECK(results == std::vector<R>{R::sent, R::sent, R::sent, R::sent, R::invalid, R::invalid,
                                    R::invalid, R::sent, R::sent});
    CHECK(support::sse_dechunk(c.c.buffer()).find("bad") == std::string::npos);
}

TEST_CASE("event stream: HTTP/1.0 is close-delimited; close() ends the stream") {
    wisp::App app;
    app.get("/sse", [](wisp::Request& req) {
        wisp::EventStream s(req);
        s.push("first");
        s.push("second");
        s.close();
        return s;
    });
    support::Server server(app);
    SseClient c10(server.port(), "/sse", {}, "HTTP/1.0");
    CHECK(support::status_of(c10.head) == 200);
    CHECK(support::header_of(c10.head, "transfer-encoding").empty());
    CHECK(wisp::iequals(support::header_of(c10.head, "connection"), "close"));
    CHECK(c10.c.wait_closed());
    CHECK(c10.c.buffer() == "data: first\n\ndata: second\n\n");

    SseClient c11(server.port(), "/sse");
    CHECK(c11.c.wait_closed());
    bool ended = false;
    CHECK(support::sse_dechunk(c11.c.buffer(), &ended) == "data: first\n\ndata: second\n\n");
    CHECK(ended);   // the last-chunk was written before the close
}

TEST_CASE("event stream: Last-Event-ID reaches the handler; HEAD gets the head only") {
    wisp::App app;
    app.get("/sse", [](wisp::Request& req) {
        wisp::EventStream s(req);
        s.push("resume after " + std::string(s.last_event_id().value_or("nothing")));
        s.close();
        return s;
    });
    support::Server server(app);
    SseClient a(server.port(), "/sse", "Last-Event-ID: 41\r\n");
    CHECK(a.events_until(1).events.at(0).data == "resume after 41");
    SseClient b(server.port(), "/sse");
    CHECK(b.events_until(1).events.at(0).data == "resume after nothing");
    SseClient h(server.port(), "/sse");
    support::Client head(server.port());
    // HEAD: the head alone, and the connection stays open for the next request (issue 16 A2;
    // it used to end the head with a chunked terminator and close).
    head.send("HEAD /sse HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(head.read_until(
        [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }));
    CHECK(support::status_of(head.buffer()) == 200);
    head.buffer().clear();
    head.send("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string next = head.read_response();
    CHECK(support::status_of(next) == 404);
    CHECK(next.find("data:") == std::string::npos);
}

TEST_CASE("event stream: heartbeats keep idle streams alive; 0 disables them") {
    for (auto interval : {200ms, 0ms}) {
        CAPTURE(interval.count());
        wisp::Options o;
        o.limits.sse_heartbeat = interval;
        o.timer_resolution = 20ms;
        wisp::App app(o);
        app.get("/sse", [](wisp::Request& req) { return wisp::EventStream(req); });
        support::Server server(app);
        SseClient c(server.port(), "/sse");
        REQUIRE(support::status_of(c.head) == 200);
        const auto t0 = std::chrono::steady_clock::now();
        const bool got = c.c.read_until(
            [](const std::string& b) {
                return support::sse_dechunk(b).find(":\n") != std::string::npos;
            },
            interval.count() ? 2000ms : 700ms);
        const auto waited = std::chrono::steady_clock::now() - t0;
        if (interval.count()) {
            CHECK(got);
            CHECK(waited >= 150ms);   // not before the interval (minus a tick)
            // ...and again after the next interval.
            c.c.buffer().clear();
            CHECK(c.c.read_until([](const std::string& b) { return !b.empty(); }, 2000ms));
        } else {
            CHECK_FALSE(got);
        }
    }
}

TEST_CASE("event stream: on_closed fires once, promptly, however the stream ends") {
    Flag closed;
    std::atomic<int> fired{0};
    wisp::EventStream* keep = nullptr;
    std::mutex keep_m;
    std::vector<wisp::EventStream> held;
    wisp::App app;
    app.get("/idle", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        s.on_closed([&] {
            ++fired;
            closed.hit();
        });
        std::lock_guard<std::mutex> l(keep_m);
        held.push_back(s);
        return s;
    });
    app.get("/not-returned", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        s.on_closed([&] {
            ++fired;
            closed.hit();
        });
        return wisp::text("changed my mind");
    });
    (void)keep;
    support::Server server(app);
    {   // the client leaves while nothing is being pushed
        SseClient c(server.port(), "/idle");
        REQUIRE(support::status_of(c.head) == 200);
    }
    CHECK(closed.wait(1, 2000ms));
    {   // a stream made but not returned ends at once
        support::Client c(server.port());
        c.send("GET /not-returned HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(support::body_of(c.read_response()) == "changed my mind");
    }
    CHECK(closed.wait(2));
    {   // close() from another thread
        SseClient c(server.port(), "/idle");
        REQUIRE(support::status_of(c.head) == 200);
        wisp::EventStream s = [&] {
            std::lock_guard<std::mutex> l(keep_m);
            return held.back();
        }();
        std::thread([s]() mutable { s.close(); }).join();
        CHECK(closed.wait(3));
        CHECK(c.c.wait_closed());
        CHECK_FALSE(s.is_open());
        CHECK(s.push("after") == wisp::SendResult::closed);
    }
    {   // the server stops
        SseClient c(server.port(), "/idle");
        REQUIRE(support::status_of(c.head) == 200);
        server.stop();
        CHECK(closed.wait(4));
        CHECK(c.c.wait_closed());
    }
    CHECK(fired.load() == 4);   // exactly once each
}

TEST_CASE("event stream: pushes from other threads and after the handler returned") {
    std::vector<wisp::EventStream> streams;
    std::mutex m;
    Flag opened;
    wisp::App app;
    app.get("/sse", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        std::lock_guard<std::mutex> l(m);
        streams.push_back(s);
        opened.hit();
        return s;
    });
    support::Server server(app, 2);
    SseClient a(server.port(), "/sse"), b(server.port(), "/sse");
    REQUIRE(opened.wait(2));
    std::vector<std::thread> pushers;
    for (int t = 0; t < 4; ++t)
        pushers.emplace_back([&, t] {
            for (int i = 0; i < 250; ++i) {
                std::lock_guard<std::mutex> l(m);
                for (auto& s : streams) s.push(std::to_string(t) + ":" + std::to_string(i));
            }
        });
    for (auto& t : pushers) t.join();
    for (SseClient* c : {&a, &b}) {
        auto p = c->events_until(1000);
        REQUIRE(p.events.size() == 1000);
        // Order per pushing thread is kept.
        int last[4] = {-1, -1, -1, -1};
        for (const auto& e : p.events) {
            const int t = e.data[0] - '0';
            const int i = std::stoi(e.data.substr(2));
            CHECK(i == last[t] + 1);
            last[t] = i;
        }
    }
}

TEST_CASE("event stream: a reader that does not read is held to the byte cap (close or drop)") {
    for (auto policy : {wisp::BackpressurePolicy::close, wisp::BackpressurePolicy::drop}) {
        CAPTURE(static_cast<int>(policy));
        wisp::Options o;
        o.limits.max_queued_bytes = 64 * 1024;
        o.backpressure = policy;
        std::size_t max_queued = 0, before_head_refused = 0;   // I/O thread only
        std::atomic<int> dropped{0}, refused{0};
        Flag done;
        wisp::App app(o);
        app.get("/flood", [&](wisp::Request& req) {
            wisp::EventStream s(req);
            const std::string data(1000, 'e');
            // Before the head: 50 KB wait for it, under the cap.
            for (int i = 0; i < 50; ++i)
                if (s.push(data) != wisp::SendResult::sent) ++before_head_refused;
            s.on_closed([&] { done.hit(); });
            auto flood = [&, data](wisp::EventStream& st, int n) {
                for (int i = 0; i < n; ++i) {
                    const auto r = st.push(data);
                    max_queued = std::max(max_queued, st.buffered_amount());
                    if (r == wisp::SendResult::dropped) ++dropped;
                    if (r == wisp::SendResult::closed) {
                        ++refused;
                        break;
                    }
                }
                if (dropped > 0) done.hit();
            };
            // Then, each time the queue empties, a megabyte more, until the kernel's buffers
            // fill. A round can end with the socket full and the queue under the cap (no drain
            // comes then), so a producer that does not wait for drains goes on pushing each
            // tick (100 KB): the queue reaches the cap, and the policy applies.
            s.on_drain([s, flood]() mutable { flood(s, 1000); });
            s.every(100ms, [flood](wisp::EventStream& st) { flood(st, 100); });
            return s;
        });
        support::Server server(app);
        SseClient c(server.port(), "/flood");   // reads the head, then nothing
        REQUIRE(support::status_of(c.head) == 200);
        CHECK(done.wait(1, 20000ms));
        server.stop();
        const std::size_t event = 1000 + 8 + 8;   // data line, blank line, chunk framing
        CHECK(max_queued <= 64 * 1024 + event);
        CHECK(max_queued >= 60 * 1024);   // it really reached the cap
        CHECK(before_head_refused == 0);
        if (policy == wisp::BackpressurePolicy::close) CHECK(refused.load() == 1);
        else CHECK(dropped.load() > 0);
    }
}

TEST_CASE("event stream: the cap also bounds what is pushed before the head") {
    for (auto policy : {wisp::BackpressurePolicy::close, wisp::BackpressurePolicy::drop}) {
        CAPTURE(static_cast<int>(policy));
        wisp::Options o;
        o.limits.max_queued_bytes = 64 * 1024;
        o.backpressure = policy;
        std::vector<wisp::SendResult> results;
        wisp::App app(o);
        app.get("/early", [&](wisp::Request& req) {
            wisp::EventStream s(req);
            for (int i = 0; i < 100; ++i) results.push_back(s.push(std::string(1000, 'e')));
            return s;
        });
        support::Server server(app);
        SseClient c(server.port(), "/early");
        REQUIRE(support::status_of(c.head) == 200);
        const auto expect = policy == wisp::BackpressurePolicy::close ? wisp::SendResult::closed
                                                                      : wisp::SendResult::dropped;
        std::size_t sent = 0;
        for (auto r : results) sent += r == wisp::SendResult::sent;
        CHECK(sent >= 60);
        CHECK(sent <= 66);   // 64 KiB of ~1 KiB events
        CHECK(results.back() == expect);
        auto p = c.events_until(sent);
        CHECK(p.events.size() == sent);   // what was accepted is delivered, nothing lost
        if (policy == wisp::BackpressurePolicy::close) CHECK(c.c.wait_closed());
    }
}

TEST_CASE("event stream: hundreds of streams opened and dropped leave nothing behind") {
    std::atomic<int> closed{0};
    wisp::App app;
    app.get("/sse", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        s.on_closed([&] { ++closed; });
        s.push("hello");
        return s;
    });
    support::Server server(app);
    {
        std::vector<std::unique_ptr<SseClient>> clients;
        for (int i = 0; i < 300; ++i) {
            clients.push_back(std::make_unique<SseClient>(server.port(), "/sse"));
            REQUIRE(support::status_of(clients.back()->head) == 200);
        }
        CHECK(app.connection_count() == 300);
    }
    const auto until = std::chrono::steady_clock::now() + 5s;
    while ((closed.load() < 300 || app.connection_count() != 0) &&
           std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(10ms);   // polling a condition with a deadline
    CHECK(closed.load() == 300);
    CHECK(app.connection_count() == 0);
}

TEST_CASE("event stream: one that no handle reaches streams on: topics, heartbeats, its end") {
    // An idle stream's shape (bench/anchor's /_sse): subscribed and returned, and the handler
    // keeps nothing (no handle, callback or timer), so only the stream's session remains.
    const std::string longer = "a-topic-name-of-more-than-22-characters";
    wisp::Options o;
    o.limits.sse_heartbeat = 200ms;
    o.timer_resolution = 20ms;
    wisp::App app(o);
    app.get("/sse", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        s.push_comment("connected");
        CHECK(s.subscribe("a"));
        CHECK(s.subscribe(longer, wisp::TopicEvents::named));
        CHECK(s.subscribe("b"));
        CHECK(s.unsubscribe("b"));
        return s;
    });
    support::Server server(app);
    auto subscribers = [&](std::size_t n) {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (app.subscriber_count("a") != n || app.subscriber_count(longer) != n) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(5ms);   // polling a condition with a deadline
        }
        return true;
    };
    {
        SseClient c(server.port(), "/sse");
        REQUIRE(support::status_of(c.head) == 200);
        REQUIRE(subscribers(1));
        CHECK(app.subscriber_count("b") == 0);
        app.publish_text("b", "not for it");
        app.publish_text("a", "one");
        app.publish_text(longer, "two");
        const std::string both = "data: one\n\nevent: " + longer + "\ndata: two\n\n";
        CHECK(c.c.read_until([&](const std::string& b) {
            return support::sse_dechunk(b).find(both) != std::string::npos;
        }));
        CHECK(support::sse_dechunk(c.c.buffer()).find(": connected\n") == 0);
        CHECK(c.c.buffer().find("not for it") == std::string::npos);
        // Then nothing is published: a heartbeat comes.
        const std::size_t seen = c.c.buffer().size();
        CHECK(c.c.read_until(
            [seen](const std::string& b) {
                return b.find("\r\n:\n\r\n", seen > 2 ? seen - 2 : 0) != std::string::npos;
            },
            2000ms));
    }
    CHECK(subscribers(0));   // the client left: so did the stream, from its topics
    SseClient c(server.port(), "/sse");
    REQUIRE(support::status_of(c.head) == 200);
    REQUIRE(subscribers(1));
    server.stop();   // the stream ends with the last chunk
    CHECK(c.c.wait_closed());
    bool ended = false;
    (void)support::sse_dechunk(c.c.buffer(), &ended);
    CHECK(ended);
}

TEST_CASE("event stream: App::fetch returns what the handler pushed, and ends the stream") {
    bool closed = false;
    wisp::App app;
    app.get("/sse", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        s.on_closed([&] { closed = true; });
        s.push(wisp::EventMessage{"hi", "greeting", "1", -1});
        return s;
    });
    auto r = app.fetch(wisp::Request("GET", "/sse"));
    CHECK(r.status == 200);
    CHECK(r.headers.get("content-type").value_or("") == "text/event-stream");
    CHECK(r.body == "event: greeting\nid: 1\ndata: hi\n\n");
    CHECK(closed);
}
