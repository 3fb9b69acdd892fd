// SPDX-License-Identifier: MIT
// The runtime over real sockets: timers on the loop (app, peer, stream), handles that work from
// any thread, the peer registry, drain notifications, namespaces, late answers.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#ifdef WISP_EPOLL_REACTOR
#include <wisp/detail/signal_watch.hpp>   // SignalTable, also in compile-once builds

#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#endif

using namespace std::chrono_literals;
using support::Client;
using support::Server;
using support::status_of;
using support::WsClient;
using Clock = std::chrono::steady_clock;

namespace {

/// A countdown that a test waits on with a deadline.
struct Latch {
    std::mutex m;
    std::condition_variable cv;
    int left;
    explicit Latch(int n) : left(n) {}
    void count_down() {
        std::lock_guard<std::mutex> l(m);
        if (--left <= 0) cv.notify_all();
    }
    bool wait(std::chrono::milliseconds t = 10s) {
        std::unique_lock<std::mutex> l(m);
        return cv.wait_for(l, t, [this] { return left <= 0; });
    }
};

wisp::Options fast_timers() {
    wisp::Options o;
    o.timer_resolution = 5ms;
    return o;
}

}   // namespace

// ---- timers ------------------------------------------------------------------------------
TEST_CASE("runtime: 1000 timers each fire once, never early, in deadline order by ticks") {
    wisp::App app(fast_timers());
    struct Fired {
        Clock::time_point at;
        std::chrono::milliseconds delay;
    };
    std::mutex m;
    std::vector<Fired> fired;
    Latch all(1000);
    std::mt19937 rng(42);
    const auto start = Clock::now();
    std::vector<wisp::Timer> timers;
    for (int i = 0; i < 1000; ++i) {
        const std::chrono::milliseconds d(5 + static_cast<int>(rng() % 400));
        timers.push_back(app.after(d, [&, d] {
            std::lock_guard<std::mutex> l(m);
            fired.push_back({Clock::now(), d});
            all.count_down();
        }));
    }
    Server srv(app);
    REQUIRE(all.wait(20s));
    std::lock_guard<std::mutex> l(m);
    REQUIRE(fired.size() == 1000);
    for (const auto& f : fired) CHECK(f.at - start >= f.delay);   // made before run(): never early
    // Order: a timer due two ticks or more before another fired before it.
    for (std::size_t i = 1; i < fired.size(); ++i)
        CHECK(fired[i].delay + 10ms >= fired[i - 1].delay);
    for (const auto& t : timers) CHECK_FALSE(t.active());   // one-shot timers are over
}

TEST_CASE(
    "runtime: every() repeats until cancelled from inside, from another thread, or after run()") {
    wisp::App app(fast_timers());
    std::atomic<int> inside{0};
    wisp::Timer self_cancelling;
    Latch three(1);
    self_cancelling = app.every(5ms, [&] {
        if (++inside == 3) {
            self_cancelling.cancel();   // from inside its own callback
            three.count_down();
        }
    });
    std::atomic<int> outside{0};
    wisp::Timer repeating = app.every(5ms, [&] { ++outside; });
    wisp::Timer never = app.every(5ms, [] { FAIL("a timer cancelled before run() ran"); });
    never.cancel();
    Server srv(app);
    REQUIRE(three.wait());
    while (outside.load() < 3) std::this_thread::yield();
    std::thread([&] { repeating.cancel(); }).join();   // from another thread
    const int at_cancel = outside.load();
    // A sentinel later than several intervals: after it, neither timer has run again.
    std::promise<void> sentinel;
    app.after(60ms, [&] { sentinel.set_value(); });
    REQUIRE(sentinel.get_future().wait_for(10s) == std::future_status::ready);
    CHECK(inside.load() == 3);
    CHECK(outside.load() <= at_cancel + 1);   // a run already under way may finish
    CHECK_FALSE(self_cancelling.active());
    CHECK_FALSE(repeating.active());
    srv.stop();
    // After run() returned: cancelling, or a timer that lived through it, is safe.
    wisp::Timer late = app.every(5ms, [] {});
    late.cancel();
    repeating.cancel();
    CHECK_FALSE(late.active());
}

TEST_CASE("runtime: a peer's timers run on its thread and never after it closed") {
    wisp::App app(fast_timers());
    struct Ticker {
        std::atomic<bool>* closed;
        std::atomic<int>* late;
        void open(wisp::Peer& p) {
            p.every(5ms, [this](wisp::Peer& peer) {
                if (closed->load()) ++*late;
                peer.send("tick");
            });
            p.after(15ms, [](wisp::Peer& peer) { peer.send("once"); });
        }
        void close(wisp::Peer&) { closed->store(true); }
    };
    std::atomic<bool> closed{false};
    std::atomic<int> late{0};
    Ticker t{&closed, &late};
    app.ws("/_ws", t);
    Server srv(app);
    {
        WsClient c(srv.port());
        REQUIRE(status_of(c.handshake("/_ws")) == 101);
        int ticks = 0;
        bool once = false;
        while (ticks < 5 || !once) {
            auto f = c.read();
            REQUIRE(f);
            if (f->payload == "tick") ++ticks;
            if (f->payload == "once") once = true;
        }
        c.close(1000);
        REQUIRE(c.read_close());
    }
    std::promise<void> sentinel;
    app.after(50ms, [&] { sentinel.set_value(); });
    REQUIRE(sentinel.get_future().wait_for(10s) == std::future_status::ready);
    CHECK(closed.load());
    CHECK(late.load() == 0);
}

TEST_CASE("runtime: a stream's timer pushes until the client goes, then stops") {
    wisp::App app(fast_timers());
    std::atomic<int> pushes_after_close{0};
    std::atomic<bool> stream_closed{false};
    app.get("/clock", [&](wisp::Request& req) {
        wisp::EventStream s(req);
        int n = 0;
        s.every(5ms, [&, n](wisp::EventStream& st) mutable {
            if (stream_closed.load()) ++pushes_after_close;
            st.push(std::to_string(++n));
        });
        s.on_closed([&] { stream_closed = true; });
        return s;
    });
    Server srv(app);
    {
        Client c(srv.port());
        c.send("GET /clock HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(c.read_until(
            [](const std::string& b) { return b.find("data: 3\n") != std::string::npos; }));
    }
    std::promise<void> sentinel;
    app.after(60ms, [&] { sentinel.set_value(); });
    REQUIRE(sentinel.get_future().wait_for(10s) == std::future_status::ready);
    CHECK(stream_closed.load());
    CHECK(pushes_after_close.load() == 0);
}

// ---- handles -----------------------------------------------------------------------------
TEST_CASE("runtime: a peer handle sends and posts from another thread, and says closed after") {
    wisp::App app;
    std::promise<wisp::PeerHandle> opened;
    struct Keeper {
        std::promise<wisp::PeerHandle>* opened;
        void open(wisp::Peer& p) { opened->set_value(p.handle()); }
    };
    Keeper k{&opened};
    app.ws("/_ws", k);
    Server srv(app);
    WsClient c(srv.port());
    REQUIRE(status_of(c.handshake("/_ws")) == 101);
    auto fut = opened.get_future();
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    const wisp::PeerHandle h = fut.get();
    CHECK_FALSE(h.id().empty());
    CHECK(h.is_open());
    std::promise<wisp::SendResult> done;
    std::thread([&] {
        CHECK(h.send("from a worker", [&done](wisp::SendResult r) { done.set_value(r); }) ==
              wisp::SendResult::sent);
        CHECK(h.send("\xff") == wisp::SendResult::invalid);
        CHECK(h.post([](wisp::Peer& p) { p.send("posted to " + std::string(p.id())); }));
    }).join();
    CHECK(done.get_future().get() == wisp::SendResult::sent);
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "from a worker");
    f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "posted to " + std::string(h.id()));
    c.close(1000);
    REQUIRE(c.read_close());
    REQUIRE(c.wait_closed());
    // The peer is gone: sends say closed, at once or through `done`.
    std::promise<wisp::SendResult> after;
    const wisp::SendResult now =
        h.send("late", [&after](wisp::SendResult r) { after.set_value(r); });
    CHECK(after.get_future().get() == wisp::SendResult::closed);
    CHECK((now == wisp::SendResult::closed || now == wisp::SendResult::sent));
    CHECK_FALSE(h.is_open());   // the server closed the connection before the client saw it
    CHECK(h.send("later") == wisp::SendResult::closed);
    CHECK_FALSE(h.post([](wisp::Peer&) { FAIL("ran for a closed peer"); }));
}

TEST_CASE("runtime: a worker's handle sends wait while max_pending_sends wait for a busy loop") {
    CHECK(wisp::Limits{}.max_pending_sends == 1024);   // the default
    wisp::Options o;
    o.limits.max_pending_sends = 4;
    wisp::App app(o);
    std::promise<wisp::PeerHandle> opened;
    struct Keeper {
        std::promise<wisp::PeerHandle>* opened;
        void open(wisp::Peer& p) { opened->set_value(p.handle()); }
    };
    Keeper k{&opened};
    app.ws("/_ws", k);
    Server srv(app);
    WsClient c(srv.port());
    REQUIRE(status_of(c.handshake("/_ws")) == 101);
    auto fut = opened.get_future();
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    const wisp::PeerHandle h = fut.get();
    // The loop's thread is held in a task of its own until `release`.
    Latch busy(1), release(1);
    REQUIRE(app.post([&] {
        busy.count_down();
        CHECK(release.wait());
    }));
    REQUIRE(busy.wait());
    // Four sends wait in the loop's queue at once; the fifth waits for room.
    auto four = std::async(std::launch::async, [&] {
        for (int i = 0; i < 4; ++i)
            CHECK(h.send("m" + std::to_string(i)) == wisp::SendResult::sent);
    });
    REQUIRE(four.wait_for(5s) == std::future_status::ready);
    std::promise<wisp::SendResult> fifth_done;
    auto fifth = std::async(std::launch::async, [&] {
        return h.send("m4", [&fifth_done](wisp::SendResult r) { fifth_done.set_value(r); });
    });
    CHECK(fifth.wait_for(300ms) == std::future_status::timeout);   // paced, not queued
    release.count_down();
    REQUIRE(fifth.wait_for(5s) == std::future_status::ready);
    CHECK(fifth.get() == wisp::SendResult::sent);
    CHECK(fifth_done.get_future().get() == wisp::SendResult::sent);
    for (int i = 0; i < 5; ++i) {   // all of them, in order
        auto f = c.read();
        REQUIRE(f);
        CHECK(f->payload == "m" + std::to_string(i));
    }
}

TEST_CASE("runtime: an I/O thread's handle sends never wait, even to its own busy loop") {
    // Over the limit from the peer's own thread: waiting would wait for itself.
    wisp::Options o;
    o.limits.max_pending_sends = 2;
    wisp::App app(o);
    struct Burst {
        void message(wisp::Peer& p, const wisp::Message&) {
            const wisp::PeerHandle h = p.handle();
            for (int i = 0; i < 10; ++i)
                CHECK(h.send("b" + std::to_string(i)) == wisp::SendResult::sent);
            p.send("done");
        }
    };
    Burst b;
    app.ws("/_ws", b);
    Server srv(app);
    WsClient c(srv.port());
    REQUIRE(status_of(c.handshake("/_ws")) == 101);
    c.send(wisp::detail::Opcode::text, "go");
    auto f = c.read();
    REQUIRE(f);
    CHECK(f->payload == "done");
    for (int i = 0; i < 10; ++i) {
        f = c.read();
        REQUIRE(f);
        CHECK(f->payload == "b" + std::to_string(i));
    }
}

TEST_CASE("runtime: a worker's stream pushes wait while max_pending_sends wait, none lost") {
    wisp::Options o;
    o.limits.max_pending_sends = 3;
    wisp::App app(o);
    std::promise<wisp::StreamHandle> made;
    app.get("/events", [&made](wisp::Request& req) {
        wisp::EventStream s(req);
        made.set_value(s.handle());
        return s;
    });
    Server srv(app);
    Client c(srv.port());
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    auto fut = made.get_future();
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    wisp::StreamHandle h = fut.get();
    Latch busy(1), release(1);
    REQUIRE(app.post([&] {
        busy.count_down();
        CHECK(release.wait());
    }));
    REQUIRE(busy.wait());
    auto three = std::async(std::launch::async, [&] {
        for (int i = 0; i < 3; ++i)
            CHECK(h.push("e" + std::to_string(i)) == wisp::SendResult::sent);
    });
    REQUIRE(three.wait_for(5s) == std::future_status::ready);
    auto fourth = std::async(std::launch::async, [&] { return h.push("e3"); });
    CHECK(fourth.wait_for(300ms) == std::future_status::timeout);
    release.count_down();
    REQUIRE(fourth.wait_for(5s) == std::future_status::ready);
    CHECK(fourth.get() == wisp::SendResult::sent);
    REQUIRE(c.read_until(
        [](const std::string& b) { return b.find("data: e3\n") != std::string::npos; }));
    std::size_t at = 0;   // every push, in order
    for (int i = 0; i < 4; ++i) {
        const std::size_t next = c.buffer().find("data: e" + std::to_string(i) + "\n", at);
        REQUIRE(next != std::string::npos);
        at = next + 1;
    }
    h.close();
    CHECK(c.wait_closed());
}

TEST_CASE("runtime: app.post runs on the I/O thread; a stream handle pushes from a worker") {
    wisp::App app;
    std::promise<wisp::StreamHandle> made;
    app.get("/events", [&made](wisp::Request& req) {
        wisp::EventStream s(req);
        made.set_value(s.handle());
        return s;
    });
    Server srv(app);
    std::promise<std::thread::id> where;
    REQUIRE(app.post([&where] { where.set_value(std::this_thread::get_id()); }));
    CHECK(where.get_future().get() != std::this_thread::get_id());
    Client c(srv.port());
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    auto fut = made.get_future();
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    wisp::StreamHandle h = fut.get();
    std::thread([&h] { CHECK(h.push("from a worker") == wisp::SendResult::sent); }).join();
    REQUIRE(c.read_until(
        [](const std::string& b) { return b.find("data: from a worker\n") != std::string::npos; }));
    h.close();
    CHECK(c.wait_closed());
    CHECK_FALSE(h.is_open());
    CHECK(h.push("late") == wisp::SendResult::closed);
}

TEST_CASE("runtime: 8 threads send through handles while peers come and go and the app stops") {
    // Every send is accounted for: `done` runs exactly once with sent, dropped or closed, and a
    // client that reads to its close frame received exactly what was reported sent to it.
    wisp::App app;
    std::mutex m;
    std::vector<wisp::PeerHandle> handles;
    struct Registry {
        std::mutex* m;
        std::vector<wisp::PeerHandle>* handles;
        void open(wisp::Peer& p) {
            p.send("id:" + std::string(p.id()));
            std::lock_guard<std::mutex> l(*m);
            handles->push_back(p.handle());
        }
    };
    Registry reg{&m, &handles};
    app.ws("/_ws", reg);
    Server srv(app);

    std::mutex counts_m;
    std::map<std::string, long> sent_to;   // by peer id
    std::atomic<long> calls{0}, dones{0}, closed{0}, dropped{0};
    std::atomic<bool> stop_senders{false};
    std::vector<std::thread> senders;
    for (int t = 0; t < 8; ++t)
        senders.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            while (!stop_senders.load()) {
                // A bounded backlog: unpaced, 8 threads post faster than one loop runs the
                // sends, and a new peer's first message would queue behind all of them.
                if (calls.load() - dones.load() > 1024) {
                    std::this_thread::yield();
                    continue;
                }
                wisp::PeerHandle h;
                {
                    std::lock_guard<std::mutex> l(m);
                    if (handles.empty()) {
                        std::this_thread::yield();
                        continue;
                    }
                    h = handles[rng() % handles.size()];
                }
                ++calls;
                const std::string id(h.id());
                h.send("m", [&, id](wisp::SendResult r) {
                    ++dones;
                    if (r == wisp::SendResult::sent) {
                        std::lock_guard<std::mutex> l(counts_m);
                        ++sent_to[id];
                    } else if (r == wisp::SendResult::closed) {
                        ++closed;
                    } else {
                        ++dropped;
                    }
                });
            }
        });

    // Clients that come and go. Each reads to the server's close frame, answering it, and
    // counts what it got. The first wave all leave on their own; in the second, half leave
    // and half stay until the app stops them with 1001.
    std::mutex got_m;
    std::map<std::string, long> received;
    Latch second_wave_going(16);
    std::atomic<int> no_start{0};   // clients whose handshake or first frame failed
    auto client = [&](int i, bool leave, bool second) {
        WsClient c(srv.port(), 15s);
        auto failed = [&] {
            ++no_start;
            if (second) second_wave_going.count_down();
        };
        if (status_of(c.handshake("/_ws")) != 101) return failed();
        auto first = c.read();
        if (!first || first->payload.rfind("id:", 0) != 0) return failed();
        const std::string id = first->payload.substr(3);
        long n = 0;
        const int quit_after = 50 + i * 7;
        bool closing = false, counted = false;
        for (;;) {
            auto f = c.read(15s);
            if (!f) break;
            if (f->opcode == 8) {
                if (!closing) c.close(1000);   // answer the server's close
                break;
            }
            if (f->opcode == 1) ++n;
            if (second && !counted && n >= 20) {
                counted = true;
                second_wave_going.count_down();
            }
            if (!closing && leave && n >= quit_after) {
                c.close(1000);
                closing = true;
            }
        }
        if (second && !counted) second_wave_going.count_down();
        std::lock_guard<std::mutex> l(got_m);
        received[id] += n;
    };
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i) clients.emplace_back(client, i, true, false);
    for (auto& t : clients) t.join();
    clients.clear();
    for (int i = 0; i < 16; ++i) clients.emplace_back(client, i, i % 2 == 0, true);
    REQUIRE(second_wave_going.wait(30s));
    srv.stop();   // those still there get 1001 while the senders go on
    for (auto& t : clients) t.join();
    stop_senders = true;
    for (auto& s : senders) s.join();
    {
        std::lock_guard<std::mutex> l(m);
        handles.clear();   // the last references: connections' memory goes here
    }
    CHECK(no_start.load() == 0);
    CHECK(calls.load() > 0);
    CHECK(dones.load() == calls.load());   // exactly once each
    std::lock_guard<std::mutex> l(counts_m);
    for (const auto& kv : received) {
        const std::string& id = kv.first;
        CAPTURE(id);
        CHECK(kv.second == sent_to[id]);
    }
}

// ---- the registry --------------------------------------------------------------------------
TEST_CASE("runtime: the registry lists and counts peers per route and closes them all") {
    wisp::App app;
    struct Room {
        void message(wisp::Peer& p, const wisp::Message&) {
            p.send(std::to_string(p.peers().size()));
        }
    };
    struct Lobby {};
    app.ws<Room>("/room");
    app.ws<Lobby>("/lobby");
    Server srv(app);
    WsClient a(srv.port()), b(srv.port()), c(srv.port());
    REQUIRE(status_of(a.handshake("/room")) == 101);
    REQUIRE(status_of(b.handshake("/room")) == 101);
    REQUIRE(status_of(c.handshake("/lobby")) == 101);
    a.text("how many");   // answered only once both opened on the server
    for (int i = 0; i < 100; ++i) {
        auto f = a.read();
        REQUIRE(f);
        if (f->payload == "2") break;
        a.text("how many");
    }
    CHECK(app.peer_count() == 3);
    CHECK(app.peer_count("/room") == 2);
    CHECK(app.peer_count("/lobby") == 1);
    CHECK(app.peer_count("/nowhere") == 0);
    CHECK(app.peers().size() == 3);
    auto room = app.peers("/room");
    REQUIRE(room.size() == 2);
    CHECK(room[0].id() != room[1].id());
    app.close_all("/room", 4001, "room closed");
    for (WsClient* w : {&a, &b}) {
        auto f = w->read_close();
        REQUIRE(f);
        CHECK(f->close_code() == 4001);
        CHECK(f->close_reason() == "room closed");
    }
    c.text("still here");   // the lobby was not touched
    app.close_all(1001, "bye");
    auto f = c.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
}

TEST_CASE("runtime: for_each_subscriber visits a topic's peers on their own threads") {
    wisp::App app;
    struct Sub {
        void open(wisp::Peer& p) {
            p.subscribe("news");
            p.send("ready");
        }
    };
    app.ws<Sub>("/_ws");
    Server srv(app, 2);
    std::vector<std::unique_ptr<WsClient>> cs;
    for (int i = 0; i < 4; ++i) {
        cs.push_back(std::make_unique<WsClient>(srv.port()));
        REQUIRE(status_of(cs.back()->handshake("/_ws")) == 101);
        REQUIRE(cs.back()->read());
    }
    Latch visited(4);
    CHECK(app.for_each_subscriber("news", [&visited](wisp::Peer& p) {
        p.send("visited");
        visited.count_down();
    }) == 2);
    REQUIRE(visited.wait());
    for (auto& c : cs) {
        auto f = c->read();
        REQUIRE(f);
        CHECK(f->payload == "visited");
    }
}

// ---- drain ---------------------------------------------------------------------------------
TEST_CASE(
    "runtime: the drain hook runs at the low watermark; when_drained once the queue is empty") {
    wisp::Options o;
    o.limits.max_queued_bytes = 256 * 1024;
    o.limits.low_watermark = 64 * 1024;
    o.backpressure = wisp::BackpressurePolicy::drop;
    wisp::App app(o);
    struct Flood {
        std::promise<wisp::PeerHandle>* opened;
        std::atomic<long>* at_drain;
        std::atomic<int>* drained;
        void open(wisp::Peer& p) { opened->set_value(p.handle()); }
        void drain(wisp::Peer& p) { at_drain->store(static_cast<long>(p.buffered_amount())); }
    };
    std::promise<wisp::PeerHandle> opened;
    std::atomic<long> at_drain{-1};
    std::atomic<int> drained{0};
    Flood h{&opened, &at_drain, &drained};
    app.ws("/_ws", h);
    Server srv(app);
    WsClient c(srv.port(), 20s);
    REQUIRE(status_of(c.handshake("/_ws")) == 101);
    auto fut = opened.get_future();
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    const wisp::PeerHandle peer = fut.get();
    // The client reads nothing until the server has flooded it past the cap.
    Latch flooded(1);
    long queued = 0;
    REQUIRE(peer.post([&](wisp::Peer& p) {
        const std::string chunk(16 * 1024, 'x');
        for (int i = 0; i < 100000 && p.send(chunk) == wisp::SendResult::sent; ++i)
            queued += static_cast<long>(chunk.size());
        p.when_drained([&drained](wisp::Peer& q) {
            ++drained;
            q.send("empty");
        });
        flooded.count_down();
    }));
    REQUIRE(flooded.wait());
    long bytes = 0;
    for (;;) {
        auto f = c.read();
        REQUIRE(f);
        if (f->payload == "empty") break;
        bytes += static_cast<long>(f->payload.size());
    }
    CHECK(bytes == queued);
    CHECK(at_drain.load() >= 0);
    CHECK(at_drain.load() <= 64 * 1024);   // at the low watermark, not only when empty
    CHECK(drained.load() == 1);
}

// ---- namespaces ------------------------------------------------------------------------------
TEST_CASE("runtime: namespaced routes keep their topics apart; publish_to reaches one") {
    wisp::App app;
    struct Chat {
        void open(wisp::Peer& p) {
            p.subscribe("chat");
            p.send("in " + std::string(p.namespace_name()));
        }
        void message(wisp::Peer& p, const wisp::Message& m) { p.publish("chat", m); }
    };
    wisp::WsOptions ns;
    ns.namespace_of = wisp::namespace_by_path;
    app.ws<Chat>("/_ws/:room", ns);
    app.ws<Chat>("/plain");   // app-wide topics, as before
    Server srv(app);
    WsClient a1(srv.port()), a2(srv.port()), b1(srv.port()), p1(srv.port());
    REQUIRE(status_of(a1.handshake("/_ws/a")) == 101);
    REQUIRE(status_of(a2.handshake("/_ws/a")) == 101);
    REQUIRE(status_of(b1.handshake("/_ws/b")) == 101);
    REQUIRE(status_of(p1.handshake("/plain")) == 101);
    for (WsClient* c : {&a1, &a2, &b1, &p1}) REQUIRE(c->read());
    a1.text("hello a");
    auto f = a2.read();
    REQUIRE(f);
    CHECK(f->payload == "hello a");
    CHECK(app.publish_to("/_ws/b", "chat", "to b") == wisp::SendResult::sent);
    f = b1.read();
    REQUIRE(f);
    CHECK(f->payload == "to b");
    app.publish("chat", "app-wide");   // un-namespaced subscribers only
    f = p1.read();
    REQUIRE(f);
    CHECK(f->payload == "app-wide");
    // Nothing crossed namespaces: what each namespaced peer gets next is from its own.
    for (WsClient* c : {&a1, &a2, &b1}) c->text("ping-self");
    for (WsClient* c : {&a1, &a2}) {   // each gets the other's, not "to b" or "app-wide"
        f = c->read();
        REQUIRE(f);
        CHECK(f->payload == "ping-self");
    }
    CHECK(app.publish_to("/_ws/b", "chat", "marker") == wisp::SendResult::sent);
    f = b1.read();   // b1 is alone in b: its own publication did not come back
    REQUIRE(f);
    CHECK(f->payload == "marker");
}

// ---- late answers ---------------------------------------------------------------------------
TEST_CASE(
    "runtime: a Responder answered late does nothing and says so, also after the App is gone") {
    // Issue 16 B5: an answer after run() returned was posted to a freed loop.
    std::mutex m;
    std::condition_variable cv;
    std::vector<wisp::Responder> gave;
    wisp::Responder after_leave, after_stop, after_app;
    {
        wisp::Options o;
        o.limits.shutdown_timeout = 200ms;
        auto app = std::make_unique<wisp::App>(o);
        app->get("/later", [&](wisp::Request& req) {
            auto r = req.defer();
            {
                std::lock_guard<std::mutex> l(m);
                gave.push_back(r);
            }
            cv.notify_all();
            return r;
        });
        Server srv(*app);
        Client a(srv.port()), b(srv.port()), c(srv.port());
        for (Client* x : {&a, &b, &c}) x->send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
        {
            std::unique_lock<std::mutex> l(m);
            REQUIRE(cv.wait_for(l, 5s, [&] { return gave.size() == 3; }));
        }
        after_leave = gave[0];
        after_stop = gave[1];
        after_app = gave[2];
        gave.clear();
        a.socket().close();   // one client leaves before its answer
        srv.stop();           // the app stops (the waiting answers hold it to shutdown_timeout)
        CHECK_FALSE(after_leave.send(wisp::text("client gone")));
        CHECK_FALSE(after_stop.send(wisp::text("app stopped")));
    }
    // The App is destroyed; another thread holds the last Responder and answers it.
    std::thread([r = std::move(after_app)] { CHECK_FALSE(r.send(wisp::text("app gone"))); }).join();
}

// ---- graceful shutdown -----------------------------------------------------------------------
TEST_CASE(
    "runtime: stop() finishes in-flight answers, closes peers 1001, and ends by its deadline") {
    CHECK(wisp::Limits{}.shutdown_timeout == 5s);   // the default the issue asks for
    wisp::Options o;
    o.limits.shutdown_timeout = 300ms;
    wisp::App app(o);
    std::promise<wisp::Responder> gave;
    app.get("/slow", [&gave](wisp::Request& req) {
        auto r = req.defer();
        gave.set_value(r);
        return r;
    });
    struct Closes {
        std::atomic<int>* hooks;
        void close(wisp::Peer&, const wisp::CloseInfo&) { ++*hooks; }
    };
    std::atomic<int> hooks{0};
    Closes h{&hooks};
    app.ws("/_ws", h);
    Server srv(app);
    Client http(srv.port());
    http.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    wisp::Responder answer = gave.get_future().get();
    WsClient polite(srv.port()), silent(srv.port());
    REQUIRE(status_of(polite.handshake("/_ws")) == 101);
    REQUIRE(status_of(silent.handshake("/_ws")) == 101);
    const auto t0 = Clock::now();
    std::thread stopper([&srv] { srv.stop(); });
    // Peers get 1001 (so the stop has begun on the loop); one answers, one never does and is
    // cut at the deadline.
    auto f = polite.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
    polite.close(1001);
    // The in-flight response still goes out, now the last on its connection.
    CHECK(answer.send(wisp::text("done")));
    const std::string r = http.read_response();
    CHECK(support::body_of(r) == "done");
    CHECK(support::header_of(r, "connection") == "close");
    f = silent.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
    stopper.join();                  // run() returned
    CHECK(Clock::now() - t0 < 5s);   // the deadline, not the default 5 s nor ws_close_timeout
    CHECK(hooks.load() == 2);        // every close hook ran
    CHECK(silent.wait_closed());
}

#ifdef WISP_EPOLL_REACTOR
TEST_CASE("runtime: a signal watch that goes waits for a handler still writing to its pipe") {
    // A handler on another thread may be between reading a slot and writing to its pipe when
    // the watch goes; the pipe must stay open until it is done (its numbers would be reused).
    auto& table = wisp::detail::SignalTable::get();
    int keep[2], p[2];
    REQUIRE(::pipe2(keep, O_NONBLOCK | O_CLOEXEC) == 0);
    REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    REQUIRE(table.add(SIGUSR2, keep[1]));   // the handler stays installed throughout
    REQUIRE(table.add(SIGUSR2, p[1]));

    table.running.fetch_add(1);   // as a handler does on entry: one is in flight
    std::atomic<bool> removed{false};
    std::thread remover([&] {
        table.remove(SIGUSR2, p[1]);
        removed.store(true);
    });
    std::this_thread::sleep_for(50ms);   // remove() must not return while it runs
    CHECK_FALSE(removed.load());
    table.running.fetch_sub(1);   // the handler is done
    remover.join();
    CHECK(removed.load());
    ::close(p[0]);
    ::close(p[1]);

    // Watches coming and going while another thread takes signals: no byte reaches the next
    // pipe to get the numbers of one just let go of.
    std::atomic<bool> stop{false};
    std::thread signaller([&] {
        while (!stop.load()) ::raise(SIGUSR2);   // handled on this thread
    });
    int stray = 0, reused = 0;
    for (int batch = 0; batch < 8; ++batch) {
        std::vector<std::array<int, 2>> fresh;
        for (int i = 0; i < 250; ++i) {
            int a[2];
            REQUIRE(::pipe2(a, O_NONBLOCK | O_CLOEXEC) == 0);
            REQUIRE(table.add(SIGUSR2, a[1]));
            table.remove(SIGUSR2, a[1]);
            ::close(a[0]);
            ::close(a[1]);
            int q[2];   // most often the numbers just closed
            REQUIRE(::pipe2(q, O_NONBLOCK | O_CLOEXEC) == 0);
            if (q[1] == a[1]) ++reused;
            fresh.push_back({q[0], q[1]});
        }
        for (auto& q : fresh) {
            char c;
            if (::read(q[0], &c, 1) == 1) ++stray;
            ::close(q[0]);
            ::close(q[1]);
        }
    }
    stop.store(true);
    signaller.join();
    table.remove(SIGUSR2, keep[1]);
    char buf[512];
    long got = 0;
    for (ssize_t n; (n = ::read(keep[0], buf, sizeof buf)) > 0;) got += n;
    ::close(keep[0]);
    ::close(keep[1]);
    CHECK(stray == 0);
    CHECK(reused > 1000);   // the numbers watched were reused
    CHECK(got > 0);         // and the signals reached the watch that stayed
}
#endif
