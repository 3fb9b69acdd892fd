// Routes in a file of their own: a handler struct and lambdas, instantiated here against
// declarations only.
#include "routes.hpp"
#include <string>
#ifdef ASIO_VERSION
#error "a compile-once file must not see Asio"
#endif

namespace {
struct Echo {
    void open(wisp::Peer& peer) { peer.subscribe("room"); }
    void message(wisp::Peer& peer, const wisp::Message& msg) {
        peer.send(msg);
        peer.publish("room", "seen: " + std::string(msg.text()));
    }
};
}   // namespace

void add_routes(wisp::App& app) {
    app.get("/hello", [](wisp::Request& req) {
        return "hello, " + std::string(req.query("name").value_or("world"));
    });
    app.get("/events", [](wisp::Request& req) {
        wisp::EventStream stream(req);
        stream.subscribe("room");
        stream.push("ready");
        return stream;
    });
    app.ws<Echo>("/ws");
}
