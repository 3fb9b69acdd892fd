// SPDX-License-Identifier: MIT
// Retained topics in one process (App::retain), over real sockets with raw clients: ids on the
// events, a stream that comes back with Last-Event-ID gets what it missed in order and then
// live events, the ring's bounds, a WebSocket publisher skipped, setup errors, and streams
// resuming again and again on two loops while threads publish (nothing missed, nothing twice).
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/net.hpp"
#include "support/sse_parse.hpp"
#include "support/ws_client.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace retain_test {

/// GET `path` (with a Last-Event-ID when `last` is set); reads events as they come.
struct Stream {
    support::Client c;
    explicit Stream(std::uint16_t port, const std::string& path, const std::string& last = {})
        : c(port) {
        c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n" +
               (last.empty() ? std::string() : "Last-Event-ID: " + last + "\r\n") + "\r\n");
        c.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; });
        const std::size_t e = c.buffer().find("\r\n\r\n");
        if (e != std::string::npos) c.buffer().erase(0, e + 4);
    }
    /// The events so far once there are `n` of them (or fewer at the deadline).
    std::vector<support::SseEvent> until(std::size_t n, std::chrono::milliseconds t = 5000ms) {
        support::SseParser p;
        c.read_until(
            [&](const std::string& b) {
                p = support::sse_parse_chunked(b);
                return p.events.size() >= n;
            },
            t);
        return p.events;
    }
};

std::vector<std::string> data_of(const std::vector<support::SseEvent>& ev) {
    std::vector<std::string> d;
    for (const auto& e : ev) d.push_back(e.data);
    return d;
}

void wait_subscribers(wisp::App& app, const std::string& topic, std::size_t n) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (app.subscriber_count(topic) != n && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(1ms);   // polling the app's own count, with a deadline
    REQUIRE(app.subscriber_count(topic) == n);
}

/// "<ms>-<seq>" as a pair, to compare.
std::pair<unsigned long long, unsigned long long> id_of(const std::string& s) {
    const std::size_t dash = s.find('-');
    REQUIRE(dash != std::string::npos);
    return {std::stoull(s.substr(0, dash)), std::stoull(s.substr(dash + 1))};
}

void add_events_route(wisp::App& app, wisp::TopicEvents how = wisp::TopicEvents::unnamed) {
    app.get("/events", [how](wisp::Request& req) {
        wisp::EventStream s(req);
        s.subscribe("news", how);
        return s;
    });
}

TEST_CASE("retain: a stream back with Last-Event-ID gets what it missed in order, then live") {
    wisp::App app;
    REQUIRE_FALSE(app.retain("news", 4));
    add_events_route(app);
    support::Server server(app);

    auto a = std::make_unique<Stream>(server.port(), "/events");
    wait_subscribers(app, "news", 1);
    app.publish_text("news", "1");
    app.publish_text("news", "2");
    const auto first = a->until(2);
    REQUIRE(data_of(first) == std::vector<std::string>{"1", "2"});
    // Every retained event carries an id (<ms>-<seq>), growing.
    CHECK(id_of(first[0].last_event_id) < id_of(first[1].last_event_id));
    a.reset();   // the client goes away
    wait_subscribers(app, "news", 0);

    for (const char* d : {"3", "4", "5", "6"}) app.publish_text("news", d);
    Stream b(server.port(), "/events", first[1].last_event_id);
    wait_subscribers(app, "news", 1);
    auto got = b.until(4);
    REQUIRE(data_of(got) == std::vector<std::string>{"3", "4", "5", "6"});
    app.publish_text("news", "7");
    got = b.until(5);
    REQUIRE(data_of(got) == std::vector<std::string>{"3", "4", "5", "6", "7"});
    for (std::size_t i = 1; i < got.size(); ++i)
        CHECK(id_of(got[i - 1].last_event_id) < id_of(got[i].last_event_id));
    CHECK(id_of(first[1].last_event_id) < id_of(got[0].last_event_id));
}

TEST_CASE(
    "retain: the ring keeps the last N; an old id gets them all, the newest or a foreign "
    "id none") {
    wisp::App app;
    REQUIRE_FALSE(app.retain("news", 2));
    add_events_route(app);
    app.get("/plain", [](wisp::Request& req) {   // a topic that is not retained: no ids
        wisp::EventStream s(req);
        s.subscribe("other");
        return s;
    });
    support::Server server(app);
    Stream watch(server.port(), "/events");
    wait_subscribers(app, "news", 1);
    for (const char* d : {"a", "b", "c"}) app.publish_text("news", d);
    const auto all = watch.until(3);
    REQUIRE(all.size() == 3);

    Stream old(server.port(), "/events", "1-0");   // older than anything kept: both kept
    CHECK(data_of(old.until(2)) == std::vector<std::string>{"b", "c"});
    Stream newest(server.port(), "/events", all[2].last_event_id);
    Stream foreign(server.port(), "/events", "page-7");   // not a retained id: live only
    Stream none(server.port(), "/events");                // no Last-Event-ID: live only
    wait_subscribers(app, "news", 5);
    app.publish_text("news", "d");
    app.publish_binary("news", "\x01\x02");   // binary publications never reach streams
    app.publish_text("news", "e");
    CHECK(data_of(old.until(4)) == std::vector<std::string>{"b", "c", "d", "e"});
    CHECK(data_of(newest.until(2)) == std::vector<std::string>{"d", "e"});
    CHECK(data_of(foreign.until(2)) == std::vector<std::string>{"d", "e"});
    CHECK(data_of(none.until(2)) == std::vector<std::string>{"d", "e"});

    Stream plain(server.port(), "/plain", all[0].last_event_id);
    wait_subscribers(app, "other", 1);
    app.publish_text("other", "x");
    const auto p = plain.until(1);
    REQUIRE(p.size() == 1);
    CHECK(p[0].last_event_id.empty());   // the event had no id
}

TEST_CASE("retain: a WebSocket publisher is skipped; peers and named streams get it") {
    wisp::App app;
    REQUIRE_FALSE(app.retain("news", 8));
    struct Room {
        void open(wisp::Peer& p) { p.subscribe("news"); }
        void message(wisp::Peer& p, const wisp::Message& m) { p.publish("news", m); }
    };
    app.ws<Room>("/ws");
    add_events_route(app, wisp::TopicEvents::named);
    support::Server server(app);
    support::WsClient alice(server.port()), bob(server.port());
    REQUIRE(alice.handshake("/ws").find(" 101 ") != std::string::npos);
    REQUIRE(bob.handshake("/ws").find(" 101 ") != std::string::npos);
    Stream s(server.port(), "/events");
    wait_subscribers(app, "news", 3);
    alice.text("hello");
    const auto f = bob.read();
    REQUIRE(f);
    CHECK(f->payload == "hello");
    const auto ev = s.until(1);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == "news");
    CHECK(ev[0].data == "hello");
    CHECK_FALSE(ev[0].last_event_id.empty());
    bob.text("back");
    const auto g = alice.read();   // alice's next frame is bob's, not her own "hello"
    REQUIRE(g);
    CHECK(g->payload == "back");
    CHECK(data_of(s.until(2)) == std::vector<std::string>{"hello", "back"});
}

TEST_CASE("retain: a thread and a handler publishing to one topic at once never deadlock") {
    // A thread that is not an I/O thread is paced by the loops' inboxes. It used to wait for
    // room while holding the topic's lock, and the loop, inside a handler publishing to the
    // same topic, waited for that lock: neither went on. A small inbox makes it certain.
    wisp::Options o;
    o.limits.max_pending_publications = 4;
    wisp::App app(o);
    REQUIRE_FALSE(app.retain("news", 64));
    struct Burst {
        void message(wisp::Peer& p, const wisp::Message& m) {
            for (int i = 0; i < 200; ++i) p.publish_text("news", std::string(m.text()));
            p.send_text("done");
        }
    };
    app.ws<Burst>("/ws");
    add_events_route(app);
    support::Server server(app);
    Stream s(server.port(), "/events");
    wait_subscribers(app, "news", 1);
    std::atomic<bool> stop{false};
    std::atomic<int> published{0};
    struct Joined {   // however the case ends, the thread stops before the server does
        std::atomic<bool>& stop;
        std::thread t;
        ~Joined() {
            stop.store(true);
            t.join();
        }
    } flood{stop, std::thread([&] {
                while (!stop.load()) {
                    app.publish_text("news", "thread");
                    ++published;
                }
            })};
    // The thread goes on publishing past `at_least` (within a deadline): it is not stuck. Waited
    // for, not assumed: on a loaded machine a new thread may get no CPU during a short burst.
    const auto publishes_past = [&](int at_least) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (published.load() <= at_least && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        return published.load() > at_least;
    };
    REQUIRE_MESSAGE(publishes_past(0), "the thread never published");   // it competes from here
    support::WsClient c(server.port());
    REQUIRE(c.handshake("/ws").find(" 101 ") != std::string::npos);
    for (int round = 0; round < 20; ++round) {
        c.text("handler");
        const auto f = c.read(10000ms);   // the burst's handler returned
        REQUIRE_MESSAGE(f, "round " << round << ": no answer (deadlock?)");
        CHECK(f->payload == "done");
    }
    CHECK_MESSAGE(publishes_past(published.load()), "the thread no longer publishes (deadlock?)");
}

TEST_CASE("retain: setup mistakes are errors that listen() reports too") {
    wisp::App app;
    CHECK(app.retain("", 3) == wisp::errc::invalid_argument);
    CHECK(app.retain("news", 0) == wisp::errc::invalid_argument);
    CHECK(app.listen("127.0.0.1", 0) == wisp::errc::invalid_argument);
    CHECK(app.setup_error_detail().find("retain(\"\", 3)") != std::string::npos);
}

TEST_CASE("retain: streams resuming again and again on two loops while threads publish") {
    // Two publishing threads and the streams' own loops; each stream reconnects with its last
    // id several times. Every stream must see one publisher's sequence without a gap or a
    // repeat across its reconnects, and ids only growing (the ring holds everything here).
    constexpr int per_thread = 400;
    wisp::App app;
    REQUIRE_FALSE(app.retain("news", 2 * per_thread));
    add_events_route(app);
    support::Server server(app, 2);

    std::atomic<bool> go{false};
    std::vector<std::thread> publishers;
    for (int t = 0; t < 2; ++t)
        publishers.emplace_back([&app, &go, t] {
            while (!go.load()) std::this_thread::yield();
            for (int i = 0; i < per_thread; ++i) {
                app.publish_text("news", std::to_string(t) + ":" + std::to_string(i));
                if (i % 50 == 0) std::this_thread::sleep_for(1ms);   // spread over reconnects
            }
        });
    constexpr int readers = 4;
    std::vector<std::thread> clients;
    std::vector<std::string> failures(readers);
    for (int r = 0; r < readers; ++r)
        clients.emplace_back([&, r] {
            std::string last = "1-0";   // from the start: everything retained
            std::vector<int> next(2, 0);
            std::pair<unsigned long long, unsigned long long> prev{0, 0};
            int total = 0;
            for (int round = 0; total < 2 * per_thread && round < 200; ++round) {
                Stream s(server.port(), "/events", last);
                if (round == 0) go.store(true);
                // A handful of events per connection, then drop it and come back.
                const auto ev = s.until(static_cast<std::size_t>(1 + (round * 7 + r) % 40), 3000ms);
                for (const auto& e : ev) {
                    const auto id = id_of(e.last_event_id);
                    const int t = e.data[0] - '0';
                    const int i = std::stoi(e.data.substr(2));
                    if (!(prev < id) || i != next[t]) {
                        failures[r] = "after " + last + " got " + e.last_event_id + " " + e.data +
                                      ", wanted " + std::to_string(t) + ":" +
                                      std::to_string(next[t]);
                        return;
                    }
                    prev = id;
                    ++next[t];
                    ++total;
                    last = e.last_event_id;
                }
            }
            if (total != 2 * per_thread)
                failures[r] = "got " + std::to_string(total) + " events in all";
        });
    for (auto& c : clients) c.join();
    for (auto& p : publishers) p.join();
    for (int r = 0; r < readers; ++r) CHECK_MESSAGE(failures[r].empty(), failures[r]);
}

}   // namespace retain_test
