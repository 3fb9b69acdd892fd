// SPDX-License-Identifier: MIT
// tests/support/net.hpp — a server fixture on port 0 and a raw TCP client with deadlines.
// Nothing here sleeps: every wait is for an event, bounded by a deadline.
#pragma once

#include <wisp/app.hpp>
#include <wisp/detail/asio.hpp>   // wisp's Asio configuration, where wisp uses Asio
// The client side is Asio's everywhere (on Linux wisp itself may not include it).
#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE 1
#endif
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace support {

using namespace std::chrono_literals;
namespace net = ::asio;
using tcp = ::asio::ip::tcp;

/// A fixture that cannot be set up ends the test: thrown, or without exceptions printed and aborted.
[[noreturn]] inline void fixture_failed(const std::string& what) {
#if defined(WISP_NO_EXCEPTIONS)
    std::fprintf(stderr, "test fixture failed: %s\n", what.c_str());
    std::abort();
#else
    throw std::runtime_error(what);
#endif
}

/// Runs an App on 127.0.0.1:<ephemeral> in a background thread for the scope's lifetime.
class Server {
public:
    explicit Server(wisp::App& app, unsigned threads = 1) : app_(app) {
        auto ec = app_.listen("127.0.0.1", 0);
        if (ec) fixture_failed("listen: " + ec.message());
        port_ = app_.port();
        thread_ = std::thread([this, threads] { run_result_ = app_.run(threads); });
        // run() may not have started its loops yet; stop() before that is remembered.
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { stop(); }

    std::uint16_t port() const { return port_; }
    void stop() {
        if (!thread_.joinable()) return;
        app_.stop();
        thread_.join();
    }
    std::error_code run_result() const { return run_result_; }

private:
    wisp::App& app_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::error_code run_result_;
};

/// A blocking TCP client whose reads take a deadline. Used to speak raw bytes to a server.
class Client {
public:
    explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = 5000ms)
        : sock_(io_), timeout_(timeout) {
        std::error_code ec;
        sock_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
        if (ec) fixture_failed("connect: " + ec.message());
        sock_.set_option(tcp::no_delay(true), ec);
    }

    void send(std::string_view bytes) {
        std::error_code ec;
        net::write(sock_, net::buffer(bytes.data(), bytes.size()), ec);
        last_error_ = ec;
    }

    /// Reads until `done(buffer)` says so, the peer closes, or the deadline passes.
    /// Returns true if `done` was satisfied.
    bool read_until(const std::function<bool(const std::string&)>& done,
                    std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        if (done(buf_)) return true;
        const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(timeout_);
        char tmp[65536];
        bool ok = false, finished = false;
        std::function<void()> start = [&] {
            sock_.async_read_some(net::buffer(tmp), [&](const std::error_code& ec, std::size_t n) {
                if (ec) {
                    // A cancelled read (our own deadline) is not the server closing.
                    if (ec != net::error::operation_aborted) closed_ = true;
                    finished = true;
                    return;
                }
                buf_.append(tmp, n);
                if (done(buf_)) {
                    ok = true;
                    finished = true;
                    return;
                }
                start();
            });
        };
        start();
        io_.restart();
        while (!finished && std::chrono::steady_clock::now() < deadline)
            io_.run_one_until(deadline);
        if (!finished) {
            sock_.cancel();
            io_.restart();
            io_.run();   // let the cancelled read complete
            timed_out_ = true;
        }
        return ok;
    }

    /// Reads one complete HTTP response (head + Content-Length body, or chunked, or until
    /// close when neither). Returns it and removes it from the buffer; "" on timeout.
    std::string read_response(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    /// Waits until the server closes the connection (true) or the deadline passes.
    bool wait_closed(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        read_until([](const std::string&) { return false; }, timeout);
        return closed_;
    }

    std::string& buffer() { return buf_; }
    /// The error of the last send (a reset peer: broken pipe / connection reset).
    std::error_code last_error() const { return last_error_; }
    bool closed() const { return closed_; }
    bool timed_out() const { return timed_out_; }
    tcp::socket& socket() { return sock_; }

private:
    net::io_context io_;
    tcp::socket sock_;
    std::chrono::milliseconds timeout_;
    std::string buf_;
    std::error_code last_error_;
    bool closed_ = false;
    bool timed_out_ = false;
};

/// Length of the first complete HTTP response at the start of `s`, or 0 if incomplete.
/// `head_only`: a response to HEAD (Content-Length describes a body that is not sent).
inline std::size_t complete_response_length(const std::string& s, bool head_only = false,
                                            bool until_close = false) {
    const auto he = s.find("\r\n\r\n");
    if (he == std::string::npos) return 0;
    const std::size_t body_start = he + 4;
    std::string head = s.substr(0, he);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const int status = std::atoi(s.c_str() + 9);
    if (head_only || status / 100 == 1 || status == 204 || status == 304) return body_start;
    const auto cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos) {
        const std::size_t n = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
        return s.size() >= body_start + n ? body_start + n : 0;
    }
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
        std::size_t p = body_start;
        for (;;) {
            const auto le = s.find("\r\n", p);
            if (le == std::string::npos) return 0;
            const std::size_t n = std::strtoul(s.c_str() + p, nullptr, 16);
            if (n == 0) {
                const auto end = s.find("\r\n\r\n", le);   // trailers end
                if (le == p + 1 && s.compare(le, 4, "\r\n\r\n") == 0) return le + 4;
                return end == std::string::npos ? 0 : end + 4;
            }
            p = le + 2 + n + 2;
            if (p > s.size()) return 0;
        }
    }
    return until_close ? 0 : body_start;
}

inline std::string Client::read_response(std::optional<std::chrono::milliseconds> timeout) {
    std::size_t n = 0;
    read_until([&n](const std::string& b) { return (n = complete_response_length(b)) != 0; },
               timeout);
    if (n == 0) return {};
    std::string r = buf_.substr(0, n);
    buf_.erase(0, n);
    return r;
}

/// Status code of a response ("HTTP/1.1 404 ..." -> 404), or 0.
inline int status_of(const std::string& response) {
    if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
    return std::atoi(response.c_str() + 9);
}

/// Body of a Content-Length response.
inline std::string body_of(const std::string& response) {
    const auto he = response.find("\r\n\r\n");
    return he == std::string::npos ? std::string() : response.substr(he + 4);
}

/// The value of header `name` in a response head (case-insensitive), or "".
inline std::string header_of(const std::string& response, std::string_view name) {
    const auto he = response.find("\r\n\r\n");
    std::size_t p = response.find("\r\n");
    while (p != std::string::npos && p < he) {
        const std::size_t le = response.find("\r\n", p + 2);
        const std::string line = response.substr(p + 2, le - p - 2);
        const auto colon = line.find(':');
        if (colon != std::string::npos && wisp::iequals(line.substr(0, colon), name)) {
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            return v;
        }
        p = le;
    }
    return {};
}

}   // namespace support
