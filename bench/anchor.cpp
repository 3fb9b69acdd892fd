// anchor — wisp implementing the benchmark kit's anchor contract (../shared/bench/README.md).
// Usage: anchor PORT [--threads N] [--no-keep-request] [--tls-cert F --tls-key F]
//        [--deflate off|shared|dedicated] [--window-bits 9-15] [--mem-level 1-9] [--level 0-9]
//        [--min-size N] [--redis URL]
// Listens on 0.0.0.0:PORT, one event loop by default.
// --no-keep-request sets WsOptions::keep_request = false on both WebSocket routes (idle memory).
// --tls-cert/--tls-key serve the same routes over TLS on PORT instead (bench/tls_bench.py).
// --deflate and the options after it set WsOptions::deflate on both WebSocket routes
// (permessage-deflate; bench/deflate_load.cpp negotiates it); on exit the zlib call counts go to
// stderr as `zlib deflate_calls N inflate_calls N`.
// --redis URL bridges the app's topics through Redis (wisp::RedisBridge; needs WISP_REDIS): every
// anchor given the same URL shares /_chat and /_sse (bench/redis_fanout.py). On exit its counters
// go to stderr as `redis published N received N dropped N reconnects N rejected N`.
// Routes: GET / (plaintext), /_ws (echo), /_chat (pub/sub relay to the other peers and to every
// /_sse stream), /_sse (event stream fed by the chat).
#include "wisp.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

struct Echo {
    void message(wisp::Peer& peer, const wisp::Message& message) { peer.send(message); }
};

struct Chat {
    void open(wisp::Peer& peer) { peer.subscribe("chat"); }
    void message(wisp::Peer& peer, const wisp::Message& message) { peer.publish("chat", message); }
};

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: anchor PORT [--threads N] [--no-keep-request] "
                     "[--tls-cert F --tls-key F] [--deflate MODE] [--window-bits N] "
                     "[--mem-level N] [--level N] [--min-size N] [--redis URL]\n");
        return 2;
    }
    const auto port = static_cast<std::uint16_t>(std::strtoul(argv[1], nullptr, 10));
    unsigned threads = 1;
    wisp::WsOptions ws_options;   // --no-keep-request: WsOptions::keep_request = false (memory)
    wisp::TlsOptions tls;
    std::string redis_url;
    for (int i = 2; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else if (!std::strcmp(argv[i], "--no-keep-request")) {
            ws_options.keep_request = false;
        } else if (!std::strcmp(argv[i], "--tls-cert") && i + 1 < argc) {
            tls.cert_file = argv[++i];
        } else if (!std::strcmp(argv[i], "--tls-key") && i + 1 < argc) {
            tls.key_file = argv[++i];
        } else if (!std::strcmp(argv[i], "--deflate") && i + 1 < argc) {
            const std::string m = argv[++i];
            ws_options.deflate.mode = m == "shared"      ? wisp::DeflateMode::shared
                                      : m == "dedicated" ? wisp::DeflateMode::dedicated
                                                         : wisp::DeflateMode::off;
        } else if (!std::strcmp(argv[i], "--window-bits") && i + 1 < argc) {
            ws_options.deflate.window_bits = static_cast<std::uint8_t>(std::atoi(argv[++i]));
        } else if (!std::strcmp(argv[i], "--mem-level") && i + 1 < argc) {
            ws_options.deflate.mem_level = static_cast<std::uint8_t>(std::atoi(argv[++i]));
        } else if (!std::strcmp(argv[i], "--level") && i + 1 < argc) {
            ws_options.deflate.level = static_cast<std::uint8_t>(std::atoi(argv[++i]));
        } else if (!std::strcmp(argv[i], "--min-size") && i + 1 < argc) {
            ws_options.deflate.min_size = std::strtoul(argv[++i], nullptr, 10);
        } else if (!std::strcmp(argv[i], "--redis") && i + 1 < argc) {
            redis_url = argv[++i];
        } else {
            std::fprintf(stderr, "anchor: unknown argument %s\n", argv[i]);
            return 2;
        }
    }

    wisp::Options options;
    options.limits.keep_alive_timeout =
        std::chrono::minutes(10);   // the contract: long idle timeouts
    options.limits.ws_idle_timeout = std::chrono::minutes(10);
    wisp::App app(options);
    app.get("/", [](wisp::Request&) { return wisp::text("Hello, World!"); });
    app.ws<Echo>("/_ws", ws_options);
    app.ws<Chat>("/_chat", ws_options);
    app.get("/_sse", [](wisp::Request& req) {
        wisp::EventStream stream(req);
        stream.push_comment("connected");
        stream.subscribe("chat");
        return stream;
    });
    // Kept past run(): its counters are printed on exit.
    std::optional<wisp::RedisBridge> redis;
    if (!redis_url.empty()) {
        redis.emplace(redis_url);
        if (auto ec = app.bridge(*redis)) {
            std::fprintf(stderr, "anchor: --redis: %s\n", redis->error_detail().c_str());
            return 1;
        }
        app.on_error([](const wisp::Request&, const wisp::Error& e) {
            if (e.code == wisp::make_error_code(wisp::errc::redis_auth) ||
                e.code == wisp::make_error_code(wisp::errc::redis_connection))
                std::fprintf(stderr, "anchor: %s\n", e.message.c_str());
        });
    }
    app.stop_on_signals();   // before the "listening on" line: no signal is lost after it
    const bool secure = !tls.cert_file.empty();
    if (auto ec = secure ? app.listen_tls("0.0.0.0", port, tls) : app.listen("0.0.0.0", port)) {
        std::fprintf(stderr, "anchor: %s %s\n", ec.message().c_str(),
                     app.tls_error_detail().c_str());
        return 1;
    }
    std::printf("listening on %s://0.0.0.0:%u\n", secure ? "https" : "http", unsigned(app.port()));
    std::fflush(stdout);
    const bool failed = static_cast<bool>(app.run(threads ? threads : 1));
#ifdef WISP_DEFLATE
    const auto& z = wisp::detail::deflate_stats();
    std::fprintf(stderr, "zlib deflate_calls %llu inflate_calls %llu\n",
                 static_cast<unsigned long long>(z.deflate_calls.load()),
                 static_cast<unsigned long long>(z.inflate_calls.load()));
#endif
    if (redis) {
        const wisp::RedisStats r = redis->stats();
        std::fprintf(stderr,
                     "redis published %llu received %llu dropped %llu reconnects %llu "
                     "rejected %llu\n",
                     static_cast<unsigned long long>(r.published),
                     static_cast<unsigned long long>(r.received),
                     static_cast<unsigned long long>(r.dropped),
                     static_cast<unsigned long long>(r.reconnects),
                     static_cast<unsigned long long>(r.rejected));
    }
    return failed ? 1 : 0;
}
