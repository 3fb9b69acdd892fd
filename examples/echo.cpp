// echo — the conformance and benchmark target: GET / says hello, /_ws echoes every message
// with its own type (up to 16 MiB), GET /sse?count=N streams N events as fast as the client
// reads them (resuming after Last-Event-ID when the client sends one).
// Build: meson setup build && ninja -C build examples/echo   (or see README: one c++ command)
// Run:   build/examples/echo --port 3000   ->  listening on http://127.0.0.1:3000
#include "wisp.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

// Every message goes back whole, text as text and binary as binary.
struct Echo {
    void message(wisp::Peer& peer, const wisp::Message& message) { peer.send(message); }
};

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    unsigned long port = 3000, threads = 1;
    for (int i = 1; i < argc; i += 2) {
        char* end = nullptr;
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        bool ok = value != nullptr;
        if (ok && !std::strcmp(argv[i], "--host")) host = value;
        else if (ok && !std::strcmp(argv[i], "--port"))
            ok = (port = std::strtoul(value, &end, 10)) <= 65535 && *value && !*end;
        else if (ok && !std::strcmp(argv[i], "--threads"))
            ok = (threads = std::strtoul(value, &end, 10)) >= 1 && threads <= 1024 && *value &&
                 !*end;
        else ok = false;
        if (!ok) {
            std::fprintf(stderr, "usage: echo [--host H] [--port 0-65535] [--threads 1-1024]\n");
            return 2;
        }
    }

    wisp::App app;
    app.get("/", [](wisp::Request&) { return wisp::text("Hello, World!"); });
    app.ws<Echo>("/_ws", wisp::WsOptions{16 * 1024 * 1024});
    app.get("/sse", [](wisp::Request& req) {
        const std::string count(req.query("count").value_or("0"));
        char* end = nullptr;
        const unsigned long long n = std::strtoull(count.c_str(), &end, 10);
        if (count.empty() || *end != '\0') return wisp::status(400);
        wisp::EventStream stream(req);
        // Pushes while less than 64 KiB waits for the socket, then continues from on_drain:
        // memory stays bounded whatever N is, and a slow reader sets the pace.
        // A client that reconnects with Last-Event-ID resumes after that event.
        unsigned long long first = 1;
        if (auto last = stream.last_event_id()) {
            const std::string l(*last);
            const unsigned long long v = std::strtoull(l.c_str(), &end, 10);
            if (!l.empty() && *end == '\0') first = v + 1;
        }
        auto next = std::make_shared<unsigned long long>(first);
        auto pump = [stream, next, n]() mutable {
            while (*next <= n && stream.buffered_amount() < 64 * 1024) {
                const std::string i = std::to_string((*next)++);
                stream.push(wisp::EventMessage{i, {}, i});
            }
            if (*next > n) stream.close();
        };
        stream.on_drain(pump);
        pump();
        return wisp::Response(stream);
    });

    app.stop_on_signals();   // before the "listening on" line: no signal is lost after it
    if (auto ec = app.listen(host, static_cast<std::uint16_t>(port))) {
        std::fprintf(stderr, "echo: cannot listen on %s:%u: %s\n", host.c_str(), unsigned(port),
                     ec.message().c_str());
        return 1;
    }
    std::printf("listening on http://%s:%u\n", host.c_str(), unsigned(app.port()));
    std::fflush(stdout);
    auto ec = app.run(static_cast<unsigned>(threads));
    return ec ? 1 : 0;
}
