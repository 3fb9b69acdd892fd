// sse_clock — the seed's event stream: GET /sse pushes `Message @ <local time>` every second
// until the client leaves. Each stream ticks with its own timer on its I/O thread (no thread of
// our own, no lock); the timer stops by itself when the client goes.
// Run: build/gcc/examples/sse_clock --port 3000   then   curl -N http://127.0.0.1:3000/sse
#include "wisp.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

std::string local_time() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
#ifdef _WIN32
    localtime_s(&tm, &t);   // the C runtime's localtime_r
#else
    localtime_r(&t, &tm);
#endif
    char buf[64];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

}   // namespace

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
            std::fprintf(stderr,
                         "usage: sse_clock [--host H] [--port 0-65535] [--threads 1-1024]\n");
            return 2;
        }
    }

    wisp::App app;
    app.get("/sse", [](wisp::Request& req) {
        wisp::EventStream stream(req);
        stream.push_comment("connected");
        stream.every(std::chrono::seconds(1),
                     [](wisp::EventStream& s) { s.push("Message @ " + local_time()); });
        return stream;
    });

    app.stop_on_signals();
    if (auto ec = app.listen(host, static_cast<std::uint16_t>(port))) {
        std::fprintf(stderr, "sse_clock: cannot listen on %s:%lu: %s\n", host.c_str(), port,
                     ec.message().c_str());
        return 1;
    }
    std::printf("listening on http://%s:%u\n", host.c_str(), unsigned(app.port()));
    std::fflush(stdout);
    return app.run(static_cast<unsigned>(threads)) ? 1 : 0;
}
