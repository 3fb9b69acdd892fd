// SPDX-License-Identifier: MIT
// A test server for EventSource clients: GET /sse?count=N&per=K sends the events after
// Last-Event-ID (id: i, data: i, up to N), at most K per connection, then ends the stream, so
// a client must reconnect with Last-Event-ID to get the rest. Prints `listening on ...`.
#include <wisp/app.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

// Run as `sse_server`: support_servers.cpp calls run().
namespace wisp_test::sse_server {

int run(int argc, char** argv) {
    unsigned long port = 0;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!std::strcmp(argv[i], "--port")) port = std::strtoul(argv[i + 1], nullptr, 10);
    wisp::App app;
    app.get("/sse", [](wisp::Request& req) {
        const unsigned long n =
            std::strtoul(std::string(req.query("count").value_or("0")).c_str(), nullptr, 10);
        const unsigned long per =
            std::strtoul(std::string(req.query("per").value_or("1")).c_str(), nullptr, 10);
        wisp::EventStream s(req);
        unsigned long i = 1;
        if (auto last = s.last_event_id())
            i = std::strtoul(std::string(*last).c_str(), nullptr, 10) + 1;
        s.push(wisp::EventMessage{{}, "hello", {}, 50});   // retry: 50 ms, for quick reconnects
        for (unsigned long k = 0; k < per && i <= n; ++k, ++i) {
            const std::string v = std::to_string(i);
            s.push(wisp::EventMessage{v, {}, v});
        }
        s.close();
        return s;
    });
    app.stop_on_signals();
    if (app.listen("127.0.0.1", static_cast<std::uint16_t>(port))) return 1;
    std::printf("listening on http://127.0.0.1:%u\n", unsigned(app.port()));
    std::fflush(stdout);
    return app.run() ? 1 : 0;
}

}   // namespace wisp_test::sse_server
