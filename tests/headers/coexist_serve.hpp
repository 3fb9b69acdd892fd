// SPDX-License-Identifier: MIT
// Included by both coexist translation units after their own copy of wisp: serves GET /v over a
// real socket on port 0 and returns the response's Content-Type and body, space-separated. Internal linkage (anonymous namespace),
// so each translation unit gets its own, bound to its own wisp.
#pragma once

// The client side uses Asio itself (wisp's epoll engine on Linux does not include it).
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <string>
#include <thread>

namespace {

inline std::string serve_version_once() {
    wisp::App app;
    app.get("/v", [](wisp::Request&) { return wisp::text(WISP_VERSION_STRING); });
    if (app.listen("127.0.0.1", 0)) return "listen failed";
    std::thread loop([&app] { (void)app.run(); });
    std::string reply;
    {
        asio::io_context io;
        asio::ip::tcp::socket sock(io);
        asio::error_code ec;
        sock.connect({asio::ip::make_address("127.0.0.1", ec), app.port()}, ec);
        const std::string req = "GET /v HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        if (!ec) asio::write(sock, asio::buffer(req), ec);
        if (!ec) asio::read(sock, asio::dynamic_buffer(reply), ec);   // to EOF
    }
    app.stop();
    loop.join();
    std::string lower = reply;
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    const auto type = lower.find("\r\ncontent-type: ");
    const auto type_end = type == std::string::npos ? type : reply.find("\r\n", type + 2);
    const auto body = reply.find("\r\n\r\n");
    if (type_end == std::string::npos || body == std::string::npos) return "no response: " + reply;
    return reply.substr(type + 16, type_end - type - 16) + " " + reply.substr(body + 4);
}

}   // namespace
