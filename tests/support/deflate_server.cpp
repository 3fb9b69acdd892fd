// SPDX-License-Identifier: MIT
// A test server for permessage-deflate clients (Python websockets, Node ws, raw sockets): one
// room per process, reached through routes that differ only in their compression settings:
//   /off (declines), /shared, /shared10 (10-bit window), /dedicated, /dedicated10 (10-bit
//   window, memLevel 4); every route: messages up to 1 MiB, min_size 0 (everything compresses).
// Every peer joins topic "room". A text message "?extensions" is answered with
// peer.extensions(); "pub:X" publishes X to the room (every other peer); "raw:X" sends X back
// with SendOptions{false}; anything else is echoed with its type. Prints `listening on ...`.
#include <wisp/app.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

// Run as `deflate_server`: support_servers.cpp calls run().
namespace wisp_test::deflate_server {

namespace {

struct Room {
    void open(wisp::Peer& peer) { peer.subscribe("room"); }
    void message(wisp::Peer& peer, const wisp::Message& m) {
        const std::string_view t = m.text();
        if (m.is_text() && t == "?extensions") peer.send_text(peer.extensions());
        else if (m.is_text() && t.rfind("pub:", 0) == 0) peer.publish_text("room", t.substr(4));
        else if (m.is_text() && t.rfind("raw:", 0) == 0)
            peer.send_text(t.substr(4), wisp::SendOptions{false});
        else peer.send(m);
    }
};

wisp::WsOptions options(wisp::DeflateMode mode, int window_bits = 15, int mem_level = 8) {
    wisp::WsOptions o;
    o.max_message_bytes = 1u << 20;
    o.deflate.mode = mode;
    o.deflate.window_bits = static_cast<std::uint8_t>(window_bits);
    o.deflate.mem_level = static_cast<std::uint8_t>(mem_level);
    o.deflate.min_size = 0;
    return o;
}

}   // namespace

int run(int argc, char** argv) {
    unsigned long port = 0;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!std::strcmp(argv[i], "--port")) port = std::strtoul(argv[i + 1], nullptr, 10);
    wisp::App app;
    app.ws<Room>("/off", options(wisp::DeflateMode::off));
    app.ws<Room>("/shared", options(wisp::DeflateMode::shared));
    app.ws<Room>("/shared10", options(wisp::DeflateMode::shared, 10));
    app.ws<Room>("/dedicated", options(wisp::DeflateMode::dedicated));
    app.ws<Room>("/dedicated10", options(wisp::DeflateMode::dedicated, 10, 4));
    app.stop_on_signals();
    if (auto ec = app.listen("127.0.0.1", static_cast<std::uint16_t>(port))) {
        std::fprintf(stderr, "deflate_server: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("listening on http://127.0.0.1:%u\n", unsigned(app.port()));
    std::fflush(stdout);
    return app.run() ? 1 : 0;
}

}   // namespace wisp_test::deflate_server
