// SPDX-License-Identifier: MIT
// Topics: peers and event streams subscribe, peers and the App publish; a publication is framed
// once and shared; order per publisher holds for every subscriber, across two I/O threads.
#include <doctest/doctest.h>
#include <wisp/app.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/topics.hpp>

#include "support/net.hpp"
#include "support/ws_client.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using support::WsClient;
using wisp::detail::Opcode;
using namespace std::chrono_literals;

namespace {

struct Chat {
    std::atomic<int> opened{0};
    void open(wisp::Peer& p) {
        p.subscribe("chat");
        p.subscribe("chat");   // twice: still one subscription
        ++opened;
    }
    void message(wisp::Peer& p, const wisp::Message& m) {
        if (m.text() == "topics") {
            std::string all;
            for (const auto& t : p.topics()) all += t + ";";
            p.send_text(all);
        } else if (m.text() == "leave") {
            p.send_text(p.unsubscribe("chat") && !p.unsubscribe("chat") ? "left" : "?");
        } else {
            p.publish("chat", m);
        }
    }
};

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds t = 5000ms) {
    const auto until = std::chrono::steady_clock::now() + t;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(5ms);   // polling a condition with a deadline
    }
    return true;
}

/// Subscribes every peer to "t" when it opens.
struct SubscribeT {
    void open(wisp::Peer& p) { p.subscribe("t"); }
};

/// `n` clients upgraded on "/s", returned once the app counts `n` subscribers of "t".
std::vector<std::unique_ptr<WsClient>> connect_subscribers(wisp::App& app, std::uint16_t port,
                                                           int n) {
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_unique<WsClient>(port));
        REQUIRE(support::status_of(clients.back()->handshake("/s")) == 101);
    }
    REQUIRE(wait_until([&] { return app.subscriber_count("t") == static_cast<std::size_t>(n); }));
    return clients;
}

/// Every client reads the text frames "0" .. "n-1", in order.
void expect_numbers(const std::vector<std::unique_ptr<WsClient>>& clients, int n) {
    for (auto& c : clients)
        for (int i = 0; i < n; ++i) {
            auto f = c->read();
            REQUIRE(f);
            REQUIRE(f->payload == std::to_string(i));
        }
}

}   // namespace

TEST_CASE("topics: a peer's publication reaches every other subscriber, not itself") {
    Chat chat;
    wisp::App app;
    app.ws("/chat", chat);
    support::Server server(app, 2);
    std::vector<std::unique_ptr<WsClient>> peers;
    for (int i = 0; i < 6; ++i) {
        peers.push_back(std::make_unique<WsClient>(server.port()));
        REQUIRE(support::status_of(peers.back()->handshake("/chat")) == 101);
    }
    REQUIRE(wait_until([&] { return app.subscriber_count("chat") == 6; }));
    peers[0]->text("hello");
    peers[0]->binary(std::string("\0\1", 2));
    for (int i = 1; i < 6; ++i) {
        auto f = peers[i]->read();
        REQUIRE(f);
        CHECK(f->opcode == 1);
        CHECK(f->payload == "hello");
        f = peers[i]->read();
        REQUIRE(f);
        CHECK(f->opcode == 2);   // same type as published
        CHECK(f->payload == std::string("\0\1", 2));
    }
    CHECK_FALSE(peers[0]->read(300ms));   // the sender gets nothing back
    peers[1]->text("topics");
    auto t = peers[1]->read();
    REQUIRE(t);
    CHECK(t->payload == "chat;");
    peers[2]->text("leave");
    auto l = peers[2]->read();
    REQUIRE(l);
    CHECK(l->payload == "left");
    CHECK(wait_until([&] { return app.subscriber_count("chat") == 5; }));
    app.publish_text("chat", "from the app");
    for (int i : {0, 1, 3, 4, 5}) {
        auto f = peers[i]->read();
        REQUIRE(f);
        CHECK(f->payload == "from the app");
    }
    CHECK_FALSE(peers[2]->read(300ms));   // unsubscribed
    peers.clear();                        // closed peers leave their topics
    CHECK(wait_until([&] { return app.subscriber_count("chat") == 0; }));
}

TEST_CASE("topics: a publication reaches who is subscribed when it is made, not who comes later") {
    // The second peer's open hook publishes, then makes the first peer subscribe. Delivery on
    // the publisher's loop happens at once, so the first peer must not get that publication,
    // only the next one (the app's, from another thread).
    wisp::App app;
    struct Room {
        wisp::Peer* first = nullptr;
        void open(wisp::Peer& p) {
            if (first == nullptr) {
                first = &p;
                return;
            }
            p.publish_text("room", "before");
            CHECK(first->subscribe("room"));
            p.publish_text("room", "after");
        }
        void close(wisp::Peer& p, const wisp::CloseInfo&) {
            if (first == &p) first = nullptr;
        }
    } room;
    app.ws("/r", room);
    support::Server server(app);
    WsClient a(server.port());
    REQUIRE(support::status_of(a.handshake("/r")) == 101);
    WsClient b(server.port());
    REQUIRE(support::status_of(b.handshake("/r")) == 101);
    auto f = a.read();
    REQUIRE(f);
    CHECK(f->payload == "after");
    CHECK_FALSE(a.read(200ms));
}

TEST_CASE("topics: event streams receive text publications as events, binary ones not") {
    Chat chat;
    wisp::App app;
    app.ws("/chat", chat);
    app.get("/events", [](wisp::Request& req) {
        wisp::EventStream s(req);
        s.subscribe("chat");
        return s;
    });
    support::Server server(app);
    support::Client sse(server.port());
    sse.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(sse.read_until(
        [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }));
    REQUIRE(wait_until([&] { return app.subscriber_count("chat") == 1; }));
    WsClient p(server.port());
    REQUIRE(support::status_of(p.handshake("/chat")) == 101);
    p.binary("skip me");
    p.text("line one\nline two");
    app.publish_text("chat", "from app");
    // Two publishers (the peer, over the network, and the app): each arrives, order between
    // them is not defined.
    CHECK(sse.read_until([](const std::string& b) {
        return b.find("data: from app\n\n") != std::string::npos &&
               b.find("data: line one\ndata: line two\n\n") != std::string::npos;
    }));
    CHECK(sse.buffer().find("skip me") == std::string::npos);
}

TEST_CASE("topics: a stream subscribed with TopicEvents::named gets `event: <topic>`") {
    wisp::App app;
    app.get("/events", [](wisp::Request& req) {
        wisp::EventStream s(req);
        CHECK(s.subscribe("chat", wisp::TopicEvents::named));
        CHECK_FALSE(s.subscribe("chat"));                                   // already subscribed
        CHECK_FALSE(s.subscribe("bad\ntopic", wisp::TopicEvents::named));   // not an event name
        CHECK_FALSE(s.subscribe("", wisp::TopicEvents::named));
        CHECK(s.subscribe("plain"));
        return s;
    });
    support::Server server(app);
    support::Client sse(server.port());
    sse.send("GET /events HTTP/1.0\r\n\r\n");   // plain (close-delimited) framing
    REQUIRE(sse.read_until(
        [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }));
    REQUIRE(wait_until([&] { return app.subscriber_count("plain") == 1; }));
    CHECK(app.subscriber_count("bad\ntopic") == 0);
    app.publish_text("chat", "{\"a\":1}");
    app.publish_text("plain", "two\nlines");
    CHECK(sse.read_until([](const std::string& b) {
        return b.find("event: chat\ndata: {\"a\":1}\n\ndata: two\ndata: lines\n\n") !=
               std::string::npos;
    }));
}

TEST_CASE("topics: 100 subscribers on two threads get 200 publications once each, in order") {
    wisp::App app;
    SubscribeT sub;
    app.ws("/s", sub);
    support::Server server(app, 2);
    auto clients = connect_subscribers(app, server.port(), 100);
    std::thread publisher([&] {
        for (int i = 0; i < 200; ++i) app.publish_text("t", std::to_string(i));
    });
    expect_numbers(clients, 200);
    publisher.join();
    for (auto& c : clients) CHECK_FALSE(c->read(50ms));   // nothing twice
}

TEST_CASE("topics: a publication is framed once and shared by every queue") {
    auto p = wisp::detail::Publication::make("t", "shared payload", false);
    wisp::detail::BlockPool pool;
    wisp::detail::OutQueue a, b;
    a.append_shared(p->ws_frame);
    b.append_shared(p->ws_frame);
    const char* pa = nullptr;
    const char* pb = nullptr;
    a.gather(1, [&](const char* d, std::size_t) { pa = d; });
    b.gather(1, [&](const char* d, std::size_t) { pb = d; });
    CHECK(pa == p->ws_frame.data());   // the very same bytes, no per-subscriber copy
    CHECK(pb == p->ws_frame.data());
    CHECK(std::string(p->ws_frame.view()) == std::string("\x81\x0eshared payload"));
    CHECK(std::string(p->sse(false, true).view()) == "16\r\ndata: shared payload\n\n\r\n");
    CHECK(std::string(p->sse(false, false).view()) == "data: shared payload\n\n");
    CHECK(std::string(p->sse(true, true).view()) == "1f\r\nevent: t\ndata: shared payload\n\n\r\n");
    CHECK(p->sse(true, false).data() == p->sse(true, false).data());   // built once
    CHECK(p->payload() == "shared payload");
}

TEST_CASE("topics: a stalled subscriber is closed at its cap; the others get everything") {
    wisp::Options o;
    o.limits.max_queued_bytes = 64 * 1024;
    wisp::App app(o);
    struct Sub {
        std::atomic<int> closed_1008{0};
        void open(wisp::Peer& p) { p.subscribe("t"); }
        void close(wisp::Peer&, const wisp::CloseInfo& c) {
            if (c.code == 1008) ++closed_1008;
        }
    } sub;
    app.ws("/s", sub);
    support::Server server(app);
    WsClient stalled(server.port()), a(server.port()), b(server.port());
    for (WsClient* c : {&stalled, &a, &b}) REQUIRE(support::status_of(c->handshake("/s")) == 101);
    REQUIRE(wait_until([&] { return app.subscriber_count("t") == 3; }));
    // 10 MB in batches of 100 KB that the two readers keep up with: more than the kernel
    // buffers of the reader that never reads.
    const std::string pad(1000, 'p');
    for (int batch = 0; batch < 100; ++batch) {
        for (int i = 0; i < 100; ++i) app.publish_text("t", std::to_string(batch * 100 + i) + pad);
        for (WsClient* c : {&a, &b})
            for (int i = 0; i < 100; ++i) {
                auto f = c->read(10000ms);
                REQUIRE(f);
                REQUIRE(f->opcode == 1);
                REQUIRE(f->payload == std::to_string(batch * 100 + i) + pad);
            }
    }
    CHECK(wait_until([&] { return sub.closed_1008.load() == 1; }));
    CHECK(app.subscriber_count("t") == 2);
    auto f = stalled.read_close(10000ms);   // what was queued, then the close frame
    REQUIRE(f);
    CHECK(f->close_code() == 1008);
}

TEST_CASE("topics: publishing from another thread while peers and streams come and go") {
    // Two I/O threads; a publisher thread numbers its publications; meanwhile subscribers
    // arrive, read a while and leave (cleanly or by dropping the socket). Each one must see
    // consecutive numbers from its first on: no loss, no duplicate, no reordering, whatever
    // the churn. At the end no subscription is left behind.
    wisp::App app;
    struct Sub {
        void open(wisp::Peer& p) { p.subscribe("t"); }
    } sub;
    app.ws("/s", sub);
    app.get("/e", [](wisp::Request& req) {
        wisp::EventStream s(req);
        s.subscribe("t");
        return s;
    });
    support::Server server(app, 2);
    std::atomic<bool> stop{false};
    std::atomic<long> published{0};
    std::thread publisher([&] {
        for (long i = 0; !stop.load(); ++i) {
            app.publish_text("t", std::to_string(i));
            published = i + 1;
            if (i % 64 == 63) std::this_thread::yield();   // let the loops breathe
        }
    });
    auto consecutive_ws = [](WsClient& c, int n) {
        long prev = -1;
        for (int k = 0; k < n; ++k) {
            auto f = c.read();
            if (!f || f->opcode != 1) return false;
            const long v = std::stol(f->payload);
            if (prev >= 0 && v != prev + 1) return false;
            prev = v;
        }
        return true;
    };
    for (int round = 0; round < 20; ++round) {
        std::vector<std::unique_ptr<WsClient>> peers;
        for (int i = 0; i < 4; ++i) {
            peers.push_back(std::make_unique<WsClient>(server.port()));
            REQUIRE(support::status_of(peers.back()->handshake("/s")) == 101);
        }
        support::Client sse(server.port());
        sse.send("GET /e HTTP/1.0\r\n\r\n");
        for (auto& p : peers) CHECK(consecutive_ws(*p, 50));
        // The stream: 30 events after the head, consecutive too.
        REQUIRE(sse.read_until([](const std::string& b) {
            const std::size_t head = b.find("\r\n\r\n");
            if (head == std::string::npos) return false;
            std::size_t n = 0;
            for (std::size_t at = head; (at = b.find("\n\n", at + 1)) != std::string::npos;) ++n;
            return n >= 31;
        }));
        const std::string& b = sse.buffer();
        long prev = -1;
        bool ok = true;
        for (std::size_t at = b.find("data: ", b.find("\r\n\r\n")); at != std::string::npos;
             at = b.find("data: ", at + 1)) {
            const std::size_t end = b.find("\n\n", at);
            if (end == std::string::npos) break;   // a partial last event
            const long v = std::stol(b.substr(at + 6, end - at - 6));
            if (prev >= 0 && v != prev + 1) ok = false;
            prev = v;
        }
        CHECK(ok);
        for (std::size_t i = 0; i < peers.size(); i += 2) {   // half close cleanly
            peers[i]->close(1000);
            CHECK(peers[i]->read_close());
        }
        peers.clear();   // the rest drop their sockets
    }
    stop = true;
    publisher.join();
    CHECK(published.load() > 0);
    CHECK(wait_until([&] { return app.subscriber_count("t") == 0; }));
}

TEST_CASE("topics: a producer thread faster than the loops waits at max_pending_publications") {
    // One pending publication per loop at most (0 counts as 1, never as "wait forever"): the
    // producer waits on nearly every publish, and still every subscriber on both loops gets
    // every number once, in order.
    wisp::Options o;
    o.limits.max_pending_publications = 0;
    wisp::App app(o);
    SubscribeT sub;
    app.ws("/s", sub);
    support::Server server(app, 2);
    auto clients = connect_subscribers(app, server.port(), 10);
    constexpr int n = 3000;
    std::thread publisher([&] {
        for (int i = 0; i < n; ++i) app.publish_text("t", std::to_string(i));
    });
    expect_numbers(clients, n);
    publisher.join();
}

TEST_CASE("topics: a backlog of foreign publications is delivered in batches, all and in order") {
    // The loop is held inside a handler while a producer thread queues 3000 publications, so
    // the loop finds them all waiting at once: it delivers them 64 per handler, and the
    // subscribers still get every number once, in order, after what came before the backlog.
    wisp::Options o;
    o.limits.max_pending_publications = 100000;
    wisp::App app(o);
    std::mutex m;
    std::condition_variable cv;
    bool held = false, release = false;
    struct Sub {
        std::mutex& m;
        std::condition_variable& cv;
        bool& held;
        bool& release;
        void open(wisp::Peer& p) { p.subscribe("t"); }
        void message(wisp::Peer&, const wisp::Message&) {
            std::unique_lock<std::mutex> lock(m);
            held = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });   // the loop waits here
        }
    } sub{m, cv, held, release};
    app.ws("/s", sub);
    support::Server server(app, 1);
    auto clients = connect_subscribers(app, server.port(), 5);
    app.publish_text("t", "first");
    for (auto& c : clients) {
        auto f = c->read();
        REQUIRE(f);
        REQUIRE(f->payload == "first");
    }
    auto let_go = [&] {
        {
            std::lock_guard<std::mutex> lock(m);
            release = true;
        }
        cv.notify_all();
    };
    struct LetGo {   // a failed REQUIRE must not leave the loop held (stop() would wait on it)
        std::function<void()> f;
        ~LetGo() { f(); }
    } guard{let_go};
    clients[0]->send(Opcode::text, "hold");
    {
        std::unique_lock<std::mutex> lock(m);
        REQUIRE(cv.wait_for(lock, 5s, [&] { return held; }));
    }
    constexpr int n = 3000;
    for (int i = 0; i < n; ++i) app.publish_text("t", std::to_string(i));   // never waits
    let_go();
    expect_numbers(clients, n);
    for (auto& c : clients) CHECK_FALSE(c->read(50ms));   // nothing twice
}

TEST_CASE("topics: stop() lets a producer that waits on a full inbox go") {
    // The subscriber never reads and the limit is one publication: the producer soon waits
    // for the loop. Stopping the app must release it, and later publishes return at once.
    wisp::Options o;
    o.limits.max_pending_publications = 1;
    o.backpressure = wisp::BackpressurePolicy::drop;
    wisp::App app(o);
    struct Sub {
        void open(wisp::Peer& p) { p.subscribe("t"); }
    } sub;
    app.ws("/s", sub);
    auto server = std::make_unique<support::Server>(app, 2);
    WsClient c(server->port());
    REQUIRE(support::status_of(c.handshake("/s")) == 101);
    REQUIRE(wait_until([&] { return app.subscriber_count("t") == 1; }));
    std::atomic<bool> done{false};
    std::atomic<long> count{0};
    std::thread publisher([&] {
        const std::string big(4096, 'x');
        while (!done.load()) {
            app.publish_text("t", big);
            ++count;
        }
    });
    REQUIRE(wait_until([&] { return count.load() > 1000; }));
    server.reset();   // stop() and wait for run() to return
    const long at_stop = count.load();
    REQUIRE(wait_until([&] { return count.load() > at_stop + 1000; }));   // not stuck
    done = true;
    publisher.join();
}

TEST_CASE("topics: one read's publications keep their order with sends, queries and other topics") {
    // Publications made while a read's messages are handled are delivered together (a run to
    // one topic walks its subscribers once). Nothing may tell: a direct send, a query, another
    // topic or a stream's push between them sees every publication before it delivered.
    wisp::App app;
    struct Order {
        wisp::App* app = nullptr;
        wisp::Peer* sub = nullptr;   // the first peer: "a" and "b"; the second: "a"; then "a"
        int opened = 0;
        std::vector<wisp::EventStream> streams;
        void open(wisp::Peer& p) {
            if (opened == 0) sub = &p;
            p.subscribe("a");
            if (opened++ == 0) p.subscribe("b");
        }
        void message(wisp::Peer& p, const wisp::Message& m) {
            const std::string t(m.text());
            const std::string arg = t.substr(t.find(':') + 1);
            if (t.rfind("a:", 0) == 0) p.publish("a", arg);
            else if (t.rfind("b:", 0) == 0) p.publish("b", arg);
            else if (t.rfind("s:", 0) == 0) sub->send_text(arg);
            else if (t.rfind("app:", 0) == 0) app->publish_text("a", arg);   // to p too
            else if (t.rfind("me:", 0) == 0) p.send_text(arg);
            else if (t.rfind("p:", 0) == 0) streams.front().push(arg);
            else if (t == "q") p.send_text(sub->buffered_amount() > 0 ? "q1" : "q0");
        }
        void close(wisp::Peer& p, const wisp::CloseInfo&) {
            if (sub == &p) sub = nullptr;
        }
    } order;
    order.app = &app;
    app.ws("/o", order);
    app.get("/events", [&order](wisp::Request& req) {
        wisp::EventStream s(req);
        s.subscribe("a");
        order.streams.push_back(s);
        return s;
    });
    support::Server server(app);
    WsClient sub(server.port()), sub2(server.port()), pub(server.port());
    for (WsClient* c : {&sub, &sub2, &pub}) {
        REQUIRE(support::status_of(c->handshake("/o")) == 101);
        REQUIRE(wait_until([&] { return app.subscriber_count("b") == 1; }));
    }
    support::Client sse(server.port());
    sse.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(sse.read_until(
        [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }));
    REQUIRE(wait_until([&] { return app.subscriber_count("a") == 4; }));
    // One write, so that the server reads the messages together.
    std::string burst;
    std::uint32_t seed = 7;
    for (const char* m : {"a:1", "q", "a:2", "s:3", "a:4", "b:5", "a:6", "app:7", "me:8", "b:9",
                          "b:10", "a:11", "p:12", "a:13"})
        burst += wisp::detail::encode_client_frame(Opcode::text, m, true, ++seed);
    pub.send_raw(burst);
    auto expect = [](WsClient& c, std::vector<std::string> want) {
        for (const std::string& w : want) {
            auto f = c.read(5000ms);
            REQUIRE(f);
            CHECK(f->payload == w);
        }
        CHECK_FALSE(c.read(200ms));
    };
    expect(sub, {"1", "2", "3", "4", "5", "6", "7", "9", "10", "11", "13"});
    expect(sub2, {"1", "2", "4", "6", "7", "11", "13"});
    expect(pub, {"q1", "7", "8"});   // its own publications skip it; the app's do not
    const std::string events =
        "data: 1\n\ndata: 2\n\ndata: 4\n\ndata: 6\n\ndata: 7\n\n"
        "data: 11\n\ndata: 12\n\ndata: 13\n\n";
    CHECK(sse.read_until(
        [&](const std::string& b) { return b.find("data: 13") != std::string::npos; }));
    std::string body;   // the chunked body's events, without the chunk sizes
    for (std::size_t pos = sse.buffer().find("\r\n\r\n") + 4; pos < sse.buffer().size();) {
        const std::size_t eol = sse.buffer().find("\r\n", pos);
        const std::size_t n = std::stoul(sse.buffer().substr(pos, eol - pos), nullptr, 16);
        body += sse.buffer().substr(eol + 2, n);
        pos = eol + 2 + n + 2;
    }
    CHECK(body == events);
}

TEST_CASE("topics: a peer's bursts reach a stalled subscriber in order up to its cap, then 1008") {
    // Each burst arrives in one read, so its publications are delivered as held runs: the
    // stalled subscriber's cap must still be applied publication by publication.
    wisp::Options o;
    o.limits.max_queued_bytes = 64 * 1024;
    wisp::App app(o);
    struct Relay {
        std::atomic<int> closed_1008{0};
        void open(wisp::Peer& p) { p.subscribe("t"); }
        void message(wisp::Peer& p, const wisp::Message& m) { p.publish("t", m); }
        void close(wisp::Peer&, const wisp::CloseInfo& c) {
            if (c.code == 1008) ++closed_1008;
        }
    } relay;
    app.ws("/s", relay);
    support::Server server(app);
    WsClient stalled(server.port()), a(server.port()), pub(server.port());
    for (WsClient* c : {&stalled, &a, &pub}) REQUIRE(support::status_of(c->handshake("/s")) == 101);
    REQUIRE(wait_until([&] { return app.subscriber_count("t") == 3; }));
    const std::string pad(1000, 'p');
    std::uint32_t seed = 1;
    for (int batch = 0; batch < 100 && relay.closed_1008.load() == 0; ++batch) {
        std::string burst;
        for (int i = 0; i < 50; ++i)
            burst += wisp::detail::encode_client_frame(
                Opcode::text, std::to_string(batch * 50 + i) + pad, true, ++seed);
        pub.send_raw(burst);
        for (int i = 0; i < 50; ++i) {
            auto f = a.read(10000ms);
            REQUIRE(f);
            REQUIRE(f->payload == std::to_string(batch * 50 + i) + pad);
        }
    }
    CHECK(wait_until([&] { return relay.closed_1008.load() == 1; }));
    // What was queued before the cap, in order and without a gap, then the close frame.
    for (int next = 0;; ++next) {
        auto f = stalled.read(10000ms);
        REQUIRE(f);
        if (f->opcode == 8) {
            CHECK(f->close_code() == 1008);
            CHECK(next > 0);
            break;
        }
        REQUIRE(f->payload == std::to_string(next) + pad);
    }
    CHECK_FALSE(pub.read(200ms));   // the publisher never gets its own
}
