// SPDX-License-Identifier: MIT
// A raw WebSocket client for tests: builds any frame (also invalid ones) with the sans-IO
// encoder and reads the server's frames byte-exactly, with deadlines.
#pragma once

#include "net.hpp"

#include <wisp/detail/ws_frame.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace support {

struct Frame {
    unsigned opcode = 0;
    bool fin = false;
    unsigned rsv = 0;
    bool masked = false;
    std::string payload;
    /// A close frame's code (0 when its payload is empty) and reason.
    std::uint16_t close_code() const {
        return payload.size() >= 2
                   ? static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                                static_cast<unsigned char>(payload[1]))
                   : 0;
    }
    std::string close_reason() const { return payload.size() > 2 ? payload.substr(2) : ""; }
};

/// Parses one server frame at the start of `s`; the byte count, or 0 when incomplete.
inline std::size_t parse_frame(const std::string& s, Frame& f) {
    if (s.size() < 2) return 0;
    const auto b0 = static_cast<unsigned char>(s[0]), b1 = static_cast<unsigned char>(s[1]);
    f.fin = b0 & 0x80;
    f.rsv = (b0 >> 4) & 7;
    f.opcode = b0 & 0x0F;
    f.masked = b1 & 0x80;
    std::size_t pos = 2;
    std::uint64_t len = b1 & 0x7F;
    if (len == 126) {
        if (s.size() < 4) return 0;
        len = static_cast<unsigned char>(s[2]) << 8 | static_cast<unsigned char>(s[3]);
        pos = 4;
    } else if (len == 127) {
        if (s.size() < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; ++i) len = len << 8 | static_cast<unsigned char>(s[2 + i]);
        pos = 10;
    }
    if (f.masked) pos += 4;
    if (s.size() < pos + len) return 0;
    f.payload = s.substr(pos, static_cast<std::size_t>(len));
    return pos + static_cast<std::size_t>(len);
}

class WsClient {
public:
    explicit WsClient(std::uint16_t port, std::chrono::milliseconds timeout = 5000ms)
        : c_(port, timeout) {}

    static constexpr const char* sample_key = "dGhlIHNhbXBsZSBub25jZQ==";   // RFC 6455 §1.3
    static constexpr const char* sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    /// Sends an upgrade request (with `extra` header lines, each ending in \r\n) and returns
    /// the response head (and body when the upgrade is refused).
    std::string handshake(std::string_view path, std::string_view extra = {}) {
        std::string req = "GET " + std::string(path) +
                          " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: " +
                          sample_key + "\r\nSec-WebSocket-Version: 13\r\n";
        req.append(extra).append("\r\n");
        return raw_handshake(req);
    }
    std::string raw_handshake(std::string_view request) {
        c_.send(request);
        if (!c_.read_until(
                [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }))
            return {};
        auto& b = c_.buffer();
        const std::size_t end = b.find("\r\n\r\n") + 4;
        std::string head = b.substr(0, end);
        if (status_of(head) == 101) {
            b.erase(0, end);
            return head;
        }
        b.erase(0, end);   // refused: the rest is the response body
        return head + read_response_rest(head);
    }

    void send_raw(std::string_view bytes) { c_.send(bytes); }
    void send(wisp::detail::Opcode op, std::string_view payload, bool fin = true) {
        c_.send(wisp::detail::encode_client_frame(op, payload, fin, ++seed_));
    }
    void text(std::string_view s) { send(wisp::detail::Opcode::text, s); }
    void binary(std::string_view s) { send(wisp::detail::Opcode::binary, s); }
    void close(std::uint16_t code, std::string_view reason = {}) {
        std::string p;
        p += static_cast<char>(code >> 8);
        p += static_cast<char>(code & 0xFF);
        p.append(reason);
        send(wisp::detail::Opcode::close, p);
    }

    /// The next frame, or nullopt on timeout / close without one.
    std::optional<Frame> read(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        Frame f;
        std::size_t n = 0;
        c_.read_until([&](const std::string& b) { return (n = parse_frame(b, f)) != 0; }, timeout);
        if (n == 0) return std::nullopt;
        c_.buffer().erase(0, n);
        return f;
    }
    /// Reads frames until a close frame; skips pings/data. nullopt if none arrives.
    std::optional<Frame> read_close(
        std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        for (;;) {
            auto f = read(timeout);
            if (!f) return std::nullopt;
            if (f->opcode == 8) return f;
        }
    }
    bool wait_closed(std::optional<std::chrono::milliseconds> t = std::nullopt) {
        return c_.wait_closed(t);
    }
    Client& tcp() { return c_; }

private:
    std::string read_response_rest(const std::string& head) {
        const std::string cl = header_of(head, "content-length");
        if (cl.empty()) return {};
        const std::size_t want = std::stoul(cl);
        std::string body;
        c_.read_until([&](const std::string& b) { return b.size() >= want; });
        body = c_.buffer().substr(0, want);
        c_.buffer().erase(0, std::min(want, c_.buffer().size()));
        return body;
    }

    Client c_;
    std::uint32_t seed_ = 0x1234;
};

}   // namespace support
