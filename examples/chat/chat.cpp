// chat — the seed's chat demo. GET / serves a self-contained page (embedded at build time, so
// the binary runs from any directory); /_ws is the chat room (topic "chat", JSON messages up to
// 64 KiB); GET /sse ticks "Message @ <local time>" every second; GET /chat/events streams the
// room as `event: chat`; POST /api/publish says its body (UTF-8 text, up to 64 KiB) to the room.
// Build: meson setup build && ninja -C build examples/chat   (needs nlohmann-json3-dev)
// Run:   build/examples/chat --port 3000   ->  listening on http://127.0.0.1:3000
// HTTPS: --tls-cert F --tls-key F serves https:// and wss:// instead (the page picks wss:);
//        SIGHUP re-reads the two files (certificate renewal without a restart).
// Scale out: --redis redis://[:password@]host:port shares the room with every chat started
//        with the same Redis (needs WISP_REDIS: meson defines it when hiredis is there).
// Resume: --history N keeps the room's last N messages; an EventSource on /chat/events that
//        reconnects (to this instance, or with --redis to any) gets what it missed first.
#define WISP_JSON 1   // wisp's helpers over nlohmann/json: json_text, send_json, publish_json
#include "wisp.hpp"

#include "chat_page.hpp"   // chat_page: index.html, embedded by tools/embed.py

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t max_text = 64 * 1024;

wisp::Json say(std::string_view user, std::string_view message) {
    return {{"user", user}, {"message", message}};
}

struct Chat {
    // A peer's name: its id, which is unique within one process; with --redis, followed by
    // "." and the start of this instance's id, so that names differ across the instances.
    std::string instance;
    std::string name(const wisp::Peer& peer) const { return std::string(peer.id()) + instance; }

    void open(wisp::Peer& peer) {
        const std::string id = name(peer);
        wisp::send_json(peer, say("server", "Welcome " + id + "!"));
        wisp::publish_json(peer, "chat", say("server", id + " joined!"));
        peer.subscribe("chat");
    }
    void message(wisp::Peer& peer, const wisp::Message& message) {
        if (message.is_binary()) {   // the room speaks text (RFC 6455 7.4.1: 1003)
            peer.close(1003, "text messages only");
            return;
        }
        if (message.text().find("ping") != std::string_view::npos) {
            wisp::send_json(peer, say("server", "pong"));
            return;
        }
        const std::string json = wisp::json_text(say(name(peer), message.text()));
        peer.send_text(json);              // the sender sees its own message once...
        peer.publish_text("chat", json);   // ...and every other subscriber once
    }
    void close(wisp::Peer& peer, const wisp::CloseInfo&) {
        wisp::publish_json(peer, "chat", say("server", name(peer) + " left!"));
    }
};

// "Message @ <local time>", for the clock at /sse.
std::string clock_text() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
#ifdef _WIN32
    localtime_s(&tm, &t);   // the C runtime's localtime_r
#else
    localtime_r(&t, &tm);
#endif
    char text[64];
    const std::size_t n = std::strftime(text, sizeof text, "Message @ %H:%M:%S", &tm);
    return std::string(text, n);
}

}   // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1", tls_cert, tls_key, redis_url;
    unsigned long port = 3000, threads = 1, history = 0;
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
        else if (ok && !std::strcmp(argv[i], "--tls-cert")) tls_cert = value;
        else if (ok && !std::strcmp(argv[i], "--tls-key")) tls_key = value;
        else if (ok && !std::strcmp(argv[i], "--redis")) redis_url = value;
        else if (ok && !std::strcmp(argv[i], "--history"))
            ok = (history = std::strtoul(value, &end, 10)) >= 1 && history <= 1'000'000 && *value &&
                 !*end;
        else ok = false;
        if (!ok) {
            std::fprintf(stderr,
                         "usage: chat [--host H] [--port 0-65535] [--threads 1-1024] "
                         "[--tls-cert FILE --tls-key FILE] [--redis URL] "
                         "[--history 1-1000000]\n");
            return 2;
        }
    }

    wisp::Options options;
    options.limits.max_body_bytes = max_text;   // POST /api/publish: 413 beyond 64 KiB
    wisp::App app(options);
    app.get("/", [](wisp::Request&) { return wisp::html(std::string(chat_page)); });
    // Browsers offer permessage-deflate on every WebSocket: in shared mode a message to the
    // room is compressed once for everyone, and idle peers keep no zlib state (with
    // WISP_DEFLATE, as meson's build defines when zlib is there; otherwise offers are declined).
    wisp::WsOptions room{max_text};
    room.deflate.mode = wisp::DeflateMode::shared;
    Chat chat;   // outlives run()
    app.ws("/_ws", chat, room);
    app.get("/sse", [](wisp::Request& req) {
        wisp::EventStream stream(req);
        stream.subscribe("clock");
        return wisp::Response(stream);
    });
    // The room's last messages, with ids: a stream that comes back with Last-Event-ID resumes.
    if (history != 0) (void)app.retain("chat", history);
    app.get("/chat/events", [](wisp::Request& req) {
        wisp::EventStream stream(req);
        stream.subscribe("chat", wisp::TopicEvents::named);
        return wisp::Response(stream);
    });
    app.post("/api/publish", [&app](wisp::Request& req) {
        if (!wisp::is_utf8(req.body())) return wisp::text("the body must be UTF-8 text\n", 400);
        wisp::publish_json(app, "chat", say("http", req.body()));
        return wisp::status(204);
    });

    // The clock ticks on the loop while anyone listens: no thread of our own.
    app.every(std::chrono::seconds(1), [&app] {
        if (app.subscriber_count("clock") != 0) app.publish_text("clock", clock_text());
    });
    // Every instance started with the same --redis is one room: what is said on one reaches
    // the others' peers and streams. Redis' news (lost, back, AUTH rejected) goes to stderr;
    // a rejected password ends the chat, as a bad URL does before it listens.
    std::atomic<bool> redis_rejected{false};
    if (!redis_url.empty()) {
        const wisp::RedisBridge redis(redis_url);
        if (auto ec = app.bridge(redis)) {
            std::fprintf(stderr, "chat: --redis: %s\n", redis.error_detail().c_str());
            return 1;
        }
        chat.instance = "." + redis.instance().substr(0, 6);
        app.on_error([&app, &redis_rejected](const wisp::Request&, const wisp::Error& e) {
            if (e.code == wisp::make_error_code(wisp::errc::redis_auth)) {
                redis_rejected = true;
                app.stop();
            }
            if (e.code == wisp::make_error_code(wisp::errc::redis_auth) ||
                e.code == wisp::make_error_code(wisp::errc::redis_connection))
                std::fprintf(stderr, "chat: %s\n", e.message.c_str());
        });
    }
    app.stop_on_signals();   // before the "listening on" line: no signal is lost after it
    const bool tls = !tls_cert.empty() || !tls_key.empty();
    if (tls) app.reload_tls_on_sighup();
    const auto p = static_cast<std::uint16_t>(port);
    if (auto ec = tls ? app.listen_tls(host, p, wisp::TlsOptions{tls_cert, tls_key})
                      : app.listen(host, p)) {
        std::fprintf(stderr, "chat: cannot listen on %s:%u: %s\n%s\n", host.c_str(), unsigned(port),
                     ec.message().c_str(), app.tls_error_detail().c_str());
        return 1;
    }
    std::printf("listening on %s://%s:%u\n", tls ? "https" : "http", host.c_str(),
                unsigned(app.port()));
    std::fflush(stdout);
    auto ec = app.run(static_cast<unsigned>(threads));
    return ec || redis_rejected ? 1 : 0;
}
