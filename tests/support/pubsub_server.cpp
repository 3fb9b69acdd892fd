// SPDX-License-Identifier: MIT
// A test server for independent clients of topics: /_ws peers join topic "room"; a binary
// message from a peer is published to the room *as text* (so a client can hand the server bytes
// that are not UTF-8, which it may not send in a text frame) and the peer gets back what
// publish_text returned ("sent" or "invalid"); GET /events streams the room. Prints
// `listening on ...` and stops on SIGINT/SIGTERM (peers get 1001).
#include <wisp/app.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

// Run as `pubsub_server`: support_servers.cpp calls run().
namespace wisp_test::pubsub_server {

namespace {

struct Room {
    void open(wisp::Peer& p) {
        p.subscribe("room");
        p.send("joined");
    }
    void message(wisp::Peer& p, const wisp::Message& m) {
        if (m.is_text()) {
            p.send(m);
            return;
        }
        const wisp::SendResult r = p.publish_text("room", m.data());
        p.send(r == wisp::SendResult::sent      ? "sent"
               : r == wisp::SendResult::invalid ? "invalid"
                                                : "other");
    }
};

}   // namespace

int run(int argc, char** argv) {
    unsigned long port = 0;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!std::strcmp(argv[i], "--port")) port = std::strtoul(argv[i + 1], nullptr, 10);
    wisp::App app;
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
    return app.run() ? 1 : 0;
}

}   // namespace wisp_test::pubsub_server
