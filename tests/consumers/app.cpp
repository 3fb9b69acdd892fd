// SPDX-License-Identifier: MIT
// The program every consumer path of tests/consumers/consumers.py builds: a route answered once
// in-process (App::fetch) and once over a socket on a free port (so llhttp parses a request),
// then it prints what it got and the features it was compiled with, for the script to compare
// with the installed package's.
#ifdef CONSUMER_SINGLE_HEADER
#include <wisp.hpp>
#else
#include <wisp/wisp.hpp>
#endif
// The client side is Asio's, included here: wisp's Linux engine does not include Asio.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <string>
#include <thread>

#ifdef WISP_TLS
constexpr int built_tls = 1;
#else
constexpr int built_tls = 0;
#endif
#ifdef WISP_DEFLATE
constexpr int built_deflate = 1;
#else
constexpr int built_deflate = 0;
#endif
#ifdef WISP_REDIS
constexpr int built_redis = 1;
#else
constexpr int built_redis = 0;
#endif

#ifdef CONSUMER_PARENT_WARNING
// The meson parent's own code has a warning (-Wall: unused variable); it must stay a warning.
static int parent_code_with_a_warning() {
    int unused = 0;
    return 1;
}
#endif

int main() {
#ifdef CONSUMER_PARENT_WARNING
    if (parent_code_with_a_warning() != 1) return 1;
#endif
    wisp::App app;
    app.get("/hello/:name", [](wisp::Request& req) {
        return wisp::text("hello " + std::string(req.param("name").value_or("")));
    });
    wisp::Response fetched = app.fetch(wisp::Request("GET", "/hello/fetch"));

    if (auto ec = app.listen("127.0.0.1", 0)) {
        std::printf("listen: %s\n", ec.message().c_str());
        return 1;
    }
    std::thread server([&app] { (void)app.run(); });
    asio::io_context io;
    asio::ip::tcp::socket client(io);
    std::error_code ec;
    client.connect({asio::ip::make_address("127.0.0.1"), app.port()}, ec);
    std::string request = "GET /hello/socket HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (!ec) asio::write(client, asio::buffer(request), ec);
    std::string response;
    if (!ec) asio::read(client, asio::dynamic_buffer(response), ec);   // to EOF
    app.stop();
    server.join();

    bool socket_ok = response.rfind("HTTP/1.1 200", 0) == 0 &&
                     response.find("\r\n\r\nhello socket") != std::string::npos;
    std::printf("fetch=%d:%s socket=%s tls=%d deflate=%d redis=%d\n", fetched.status,
                fetched.body.c_str(), socket_ok ? "ok" : response.substr(0, 120).c_str(), built_tls,
                built_deflate, built_redis);
    return fetched.status == 200 && socket_ok ? 0 : 1;
}
