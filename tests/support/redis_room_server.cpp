// SPDX-License-Identifier: MIT
// A test server for the Redis bridge (WISP_REDIS) where the chat cannot go: /_ws peers join
// topic "room" and every message a peer sends, text or binary, any size up to 16 MiB, is
// published to the room with its own type (the sender is skipped, as peer.publish does). The
// text "?stats" is answered, to the asker only, with the bridge's counters as
// "published=N received=N dropped=N reconnects=N rejected=N connected=0|1"; the text
// "?thread N" has a thread of its own (not an I/O thread) publish "thread-0".."thread-<N-1>".
// GET /events streams the room (text only). Takes --port, --threads, --redis URL; prints
// `listening on ...` and stops on SIGINT/SIGTERM.
#include <wisp/wisp.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// Run as `redis_room_server`: support_servers.cpp calls run().
namespace wisp_test::redis_room_server {

namespace {

wisp::App* app_ = nullptr;
wisp::RedisBridge* redis_ = nullptr;
std::mutex threads_mutex;
std::vector<std::thread> threads;

struct Room {
    void open(wisp::Peer& p) { p.subscribe("room"); }
    void message(wisp::Peer& p, const wisp::Message& m) {
        if (!m.is_binary() && m.text() == "?stats") {
            const wisp::RedisStats s = redis_->stats();
            p.send("published=" + std::to_string(s.published) + " received=" +
                   std::to_string(s.received) + " dropped=" + std::to_string(s.dropped) +
                   " reconnects=" + std::to_string(s.reconnects) + " rejected=" +
                   std::to_string(s.rejected) + " connected=" + (s.connected ? "1" : "0"));
            return;
        }
        if (!m.is_binary() && m.text().substr(0, 8) == "?thread ") {
            const int n = std::atoi(std::string(m.text().substr(8)).c_str());
            std::lock_guard<std::mutex> lock(threads_mutex);
            threads.emplace_back([n] {
                for (int i = 0; i < n; ++i)
                    app_->publish_text("room", "thread-" + std::to_string(i));
            });
            return;
        }
        p.publish("room", m);
    }
};

}   // namespace

int run(int argc, char** argv) {
    unsigned long port = 0, n_threads = 1;
    std::string url;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--port")) port = std::strtoul(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--threads"))
            n_threads = std::strtoul(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--redis")) url = argv[i + 1];
    }
    wisp::App app;
    app_ = &app;
    wisp::RedisBridge redis(url);
    redis_ = &redis;
    if (app.bridge(redis)) {
        std::fprintf(stderr, "redis_room_server: %s\n", redis.error_detail().c_str());
        return 1;
    }
    app.on_error([](const wisp::Request&, const wisp::Error& e) {
        std::fprintf(stderr, "redis_room_server: %s\n", e.message.c_str());
    });
    app.ws<Room>("/_ws");
    app.get("/events", [](wisp::Request& req) {
        wisp::EventStream s(req);
        s.subscribe("room");
        s.push_comment("joined");
        return s;
    });
    app.stop_on_signals();
    if (app.listen("127.0.0.1", static_cast<std::uint16_t>(port))) return 1;
    std::printf("listening on http://127.0.0.1:%u\n", unsigned(app.port()));
    std::fflush(stdout);
    const bool failed = static_cast<bool>(app.run(static_cast<unsigned>(n_threads)));
    std::lock_guard<std::mutex> lock(threads_mutex);
    for (auto& t : threads) t.join();
    return failed ? 1 : 0;
}

}   // namespace wisp_test::redis_room_server
