// SPDX-License-Identifier: MIT
// wisp/detail/websocket_impl.hpp — the upgrade, the WebSocket session and Peer, where
// Connection is complete.
#pragma once

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_handshake.hpp>
#include <wisp/detail/ws_session.hpp>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

inline std::uint64_t next_peer_id() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

// ---- the opening handshake (RFC 6455 §4.2) ----------------------------------------
inline bool Connection::try_upgrade(Request& req, const WsEndpoint& ep,
                                    std::vector<RouteParam>& params) {
    std::string_view key;
    std::optional<std::string_view> hv;
    int key_count = 0, version_count = 0;
    for (const Header& h : req.headers()) {
        if (iequals(h.name, "sec-websocket-key")) ++key_count;
        else if (iequals(h.name, "sec-websocket-version")) ++version_count;
    }
    auto get = [&req, &hv](std::string_view name) -> const std::string_view* {
        hv = req.header(name);
        return hv ? &*hv : nullptr;
    };
    const HandshakeResult r =
        check_handshake(req.method(), req.http_major(), req.http_minor(), get, &key);
    if (r == HandshakeResult::not_upgrade) return false;   // plain HTTP on this path
    auto reject = [this, &req](Response res) {
        write_response(res, req.method() == "HEAD", false);
    };
    if (r == HandshakeResult::bad_request || key_count != 1 || version_count > 1) {
        loop_.core.report(req, errc::bad_request, "invalid WebSocket handshake");
        reject(status(400));
        return true;
    }
    if (r == HandshakeResult::version_unsupported) {
        Response res = status(426);
        res.headers.set("Sec-WebSocket-Version", "13");
        res.headers.set("Upgrade", "websocket");
        reject(std::move(res));
        return true;
    }
    if (loop_.stopping()) {
        reject(status(503));
        return true;
    }
    req.mutable_params() = std::move(params);

    // Middleware, then the upgrade hook; either may answer instead of accepting.
    std::optional<Response> answer;
#ifndef WISP_NO_EXCEPTIONS
    try {
#endif
        for (const Middleware& mw : loop_.core.middleware) {
            answer = mw(req);
            if (answer) break;
        }
        if (!answer && ep.upgrade) answer = ep.upgrade(ep.handler, req);
#ifndef WISP_NO_EXCEPTIONS
    } catch (const std::exception& ex) {
        loop_.core.report(req, errc::handler_exception, ex.what());
        answer = status(500);
    } catch (...) {
        loop_.core.report(req, errc::handler_exception, "unknown exception");
        answer = status(500);
    }
#endif
    if (answer && answer->status != 101) {
        reject(std::move(*answer));
        return true;
    }

    // The subprotocol, if chosen, must be one the client offered (RFC 6455 §4.2.2).
    std::string protocol;
    if (answer) {
        if (auto p = answer->headers.get("sec-websocket-protocol")) protocol = std::string(*p);
    }
    if (!protocol.empty()) {
        bool offered = false;
        for (const Header& h : req.headers())
            if (iequals(h.name, "sec-websocket-protocol"))
                parse_token_list(h.value, [&](std::string_view t) { offered |= t == protocol; });
        if (!offered) {
            loop_.core.report(req, errc::invalid_argument,
                              "upgrade chose subprotocol '" + protocol + "' the client did not offer");
            reject(status(500));
            return true;
        }
    }
    // Headers the handler added must be safe to write.
    std::string extra;
    if (answer) {
        if (auto* bad = append_header_lines(extra, answer->headers, {"upgrade", "sec-websocket-accept"})) {
            loop_.core.report(req, errc::invalid_argument,
                              "upgrade response header with an invalid name or value: " + bad->first);
            reject(status(500));
            return true;
        }
    }
    char accept[28];
    accept_key(key, accept);
    std::string head;
    head.reserve(160 + extra.size());
    head.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: ");
    head.append(accept, sizeof accept).append("\r\n");
    head.append(extra).append("\r\n");
    write(head);

    const std::size_t max_message = ep.max_message_bytes ? ep.max_message_bytes
                                                          : loop_.core.options.limits.max_message_bytes;
    // The peer keeps an owned copy (and shares req's state).
    ws_ = std::make_unique<WsSession>(*this, ep, std::make_unique<Request>(req), std::move(protocol),
                                      max_message);
    mode_ = Mode::websocket;
    return true;
}

// ---- WsSession ----------------------------------------------------------------------
inline WsSession::WsSession(Connection& conn, const WsEndpoint& ep, std::unique_ptr<Request> request,
                            std::string protocol, std::size_t max_message_bytes)
    : conn_(conn),
      ep_(ep),
      reader_(WsLimits{max_message_bytes}),
      request_(std::move(request)),
      state_(RequestBuilder::state_slot(*request_)),   // a second owner of the same state
      protocol_(std::move(protocol)) {
    std::uint64_t id = next_peer_id();
    char tmp[16];
    std::uint8_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[id & 15];
        id >>= 4;
    } while (id != 0);
    for (std::uint8_t i = 0; i < n; ++i) id_[i] = tmp[n - 1 - i];
    id_len_ = n;
    last_rx_tick_ = conn.loop().now_tick();
}

template <class F>
void WsSession::guarded(F&& call) {
#ifndef WISP_NO_EXCEPTIONS
    try {
        call();
    } catch (const std::exception& ex) {
        fail(errc::handler_exception, 1011, ex.what());
    } catch (...) {
        fail(errc::handler_exception, 1011, "unknown exception");
    }
#else
    call();
#endif
}

inline void WsSession::on_open() {
    conn_.rearm_timer();
    if (ep_.open) guarded([this] { ep_.open(ep_.handler, peer_); });
    if (!ep_.keep_request) request_.reset();
}

inline void WsSession::on_data(char* p, std::size_t n) {
    last_rx_tick_ = conn_.loop().now_tick();
    ping_outstanding_ = false;
    if (!reader_.done()) reader_.feed(p, n, *this);
    if (reader_.idle()) reader_.release_buffers();   // idle peers hold no buffer
}

inline bool WsSession::is_open() const noexcept {
    return !close_sent_ && !close_received_ && !close_reported_ && !conn_.closing();
}

inline std::size_t WsSession::buffered_amount() const noexcept { return conn_.buffered_amount(); }

inline void WsSession::on_message(Opcode op, std::string_view payload) {
    if (close_sent_ || close_reported_ || !ep_.message) return;   // closing: discard (§7.1.4)
    const Message m(payload, op == Opcode::binary);
    guarded([&] { ep_.message(ep_.handler, peer_, m); });
}

inline void WsSession::on_ping(std::string_view payload) {
    if (!close_sent_ && !conn_.closing()) write_frame(Opcode::pong, payload);   // §5.5.2
}

inline void WsSession::on_pong(std::string_view) {}

inline void WsSession::on_close(std::uint16_t code, std::string_view reason) {
    close_received_ = true;
    if (!close_sent_) {
        // §5.5.1: echo the code, then close the TCP connection (the server closes first).
        close_sent_ = true;
        if (code == 1005) write_frame(Opcode::close, {});
        else send_close_frame(code, {});
    }
    report_close(code, reason, true);
    conn_.close_after_flush();
}

inline void WsSession::on_error(errc e, std::uint16_t close_code, const char* why) {
    fail(e, close_code, why);
}

inline void WsSession::fail(errc e, std::uint16_t code, std::string_view why) {
    if (in_hook_failure_ || close_reported_) return;
    in_hook_failure_ = true;
    if (!close_sent_ && !conn_.closing()) {
        close_sent_ = true;
        // Protocol errors say why; a hook's exception text stays on the server.
        send_close_frame(code, e == errc::handler_exception ? std::string_view() : why);
    }
    report_error(e, why);
    report_close(code, why, false);
    conn_.close_after_flush();
    in_hook_failure_ = false;
}

inline void WsSession::report_error(errc e, std::string_view why) {
    const Error err{make_error_code(e), std::string(why)};
    if (ep_.error) {
#ifndef WISP_NO_EXCEPTIONS
        try {
            ep_.error(ep_.handler, peer_, err);
        } catch (...) {   // an error hook that throws has nowhere left to report to
        }
#else
        ep_.error(ep_.handler, peer_, err);
#endif
    } else {
        conn_.loop().core.report(request(), e, err.message);
    }
}

inline void WsSession::report_close(std::uint16_t code, std::string_view reason, bool clean) {
    if (close_reported_) return;
    leave_topics();   // before the hook: what it publishes does not come back to this peer
    close_reported_ = true;
    if (!ep_.close) return;
    const CloseInfo info{code, reason, clean};
#ifndef WISP_NO_EXCEPTIONS
    try {
        ep_.close(ep_.handler, peer_, info);
    } catch (const std::exception& ex) {
        report_error(errc::handler_exception, ex.what());
    } catch (...) {
        report_error(errc::handler_exception, "unknown exception");
    }
#else
    ep_.close(ep_.handler, peer_, info);
#endif
}

inline void WsSession::on_transport_closed() {
    // No close frame came back: 1006 (§7.1.5), or the code we sent if we were closing.
    if (close_reported_) return;
    report_close(1006, {}, false);
}

inline void WsSession::on_shutdown() {
    if (close_sent_ || close_reported_) return;
    close(1001, "server shutting down");
}

inline std::uint64_t WsSession::deadline() const noexcept {
    if (close_sent_) return close_deadline_;
    const auto half = conn_.loop().ticks(conn_.loop().core.options.limits.ws_idle_timeout / 2);
    return last_rx_tick_ + half * (ping_outstanding_ ? 2 : 1);
}

inline void WsSession::on_timer() {
    const std::uint64_t now = conn_.loop().now_tick();
    if (now < deadline()) {
        conn_.rearm_timer();
        return;
    }
    if (close_sent_) {   // our close frame was not answered in time
        conn_.terminate();
        return;
    }
    if (!ping_outstanding_) {   // half the idle time passed: ask for a sign of life
        ping_outstanding_ = true;
        write_frame(Opcode::ping, {});
        conn_.rearm_timer();
        return;
    }
    report_error(errc::idle_timeout, "no data and no pong within Limits::ws_idle_timeout");
    conn_.terminate();
}

inline void WsSession::on_drained() {
    wants_drain = false;
    if (ep_.drain && !close_reported_) guarded([this] { ep_.drain(ep_.handler, peer_); });
}

inline void WsSession::write_frame(Opcode op, std::string_view payload) {
    const std::size_t n = payload.size();
    const std::size_t header = frame_header_size(n);   // server frames: no mask
    // A large payload that is this peer's own input (an echo) is queued from the receive
    // buffer, not copied; small ones are cheaper to copy next to their header.
    if (n >= 4096 && conn_.can_borrow(payload)) {
        encode_frame_header(conn_.reserve(header), op, true, n, nullptr);
        conn_.borrow(payload);
        return;
    }
    char* out = conn_.reserve(header + n);
    encode_frame_header(out, op, true, n, nullptr);
    if (n != 0) std::memcpy(out + header, payload.data(), n);
}

inline void WsSession::send_close_frame(std::uint16_t code, std::string_view reason) {
    char payload[125];
    const std::size_t n = encode_close_payload(payload, code, reason);
    write_frame(Opcode::close, std::string_view(payload, n));
    close_deadline_ = conn_.loop().ticks_from_now(conn_.loop().core.options.limits.ws_close_timeout);
    conn_.rearm_timer();
}

inline SendResult WsSession::admit() {
    if (close_sent_ || close_reported_ || conn_.closing()) return SendResult::closed;
    const std::size_t cap = conn_.loop().core.options.limits.max_queued_bytes;
    // Refused once the queue is full: a queue below the cap takes one more message of any
    // size, so the most a peer holds is the cap plus one message.
    if (!conn_.has_room(cap)) {
        if (close_reported_ || conn_.closing()) return SendResult::closed;
        wants_drain = true;
        if (conn_.loop().core.options.backpressure == BackpressurePolicy::drop)
            return SendResult::dropped;
        fail(errc::backpressure, 1008, "send queue over Limits::max_queued_bytes");
        return SendResult::closed;
    }
    return SendResult::sent;
}

inline SendResult WsSession::send_data(Opcode op, std::string_view payload) {
    const SendResult r = admit();
    if (r == SendResult::sent) write_frame(op, payload);
    return r;
}

inline SendResult WsSession::send_ping(std::string_view payload) {
    if (payload.size() > 125) return SendResult::invalid;
    if (close_sent_ || close_reported_ || conn_.closing()) return SendResult::closed;
    write_frame(Opcode::ping, payload);
    return SendResult::sent;
}

inline SendResult WsSession::close(std::uint16_t code, std::string_view reason) {
    if (!is_valid_close_code(code) || reason.size() > 123 || !is_valid_utf8(reason))
        return SendResult::invalid;
    if (close_sent_ || close_reported_ || conn_.closing()) return SendResult::closed;
    close_sent_ = true;
    send_close_frame(code, reason);   // then wait for the peer's close (on_close)
    return SendResult::sent;
}

inline void WsSession::terminate() { conn_.terminate(); }

}  // namespace detail

// ---- Peer ---------------------------------------------------------------------------
inline std::string_view Peer::id() const noexcept { return s_.id(); }
inline SendResult Peer::send_text(std::string_view text) {
    if (!detail::is_valid_utf8(text)) return SendResult::invalid;
    return s_.send_data(detail::Opcode::text, text);
}
inline SendResult Peer::send_binary(std::string_view bytes) {
    return s_.send_data(detail::Opcode::binary, bytes);
}
inline SendResult Peer::send(const Message& m) {
    return s_.send_data(m.is_binary() ? detail::Opcode::binary : detail::Opcode::text, m.data());
}
inline SendResult Peer::ping(std::string_view payload) { return s_.send_ping(payload); }
inline SendResult Peer::close(std::uint16_t code, std::string_view reason) {
    return s_.close(code, reason);
}
inline void Peer::terminate() { s_.terminate(); }
inline bool Peer::is_open() const noexcept { return s_.is_open(); }
inline const Request& Peer::request() const noexcept { return s_.request(); }
inline const Address& Peer::remote_address() const noexcept { return s_.remote_address(); }
inline detail::StateSlot& Peer::state_slot() noexcept { return s_.state_slot(); }
inline const Address& detail::WsSession::remote_address() const noexcept { return conn_.remote_address(); }
inline std::string_view Peer::protocol() const noexcept { return s_.protocol(); }
inline std::size_t Peer::buffered_amount() const noexcept { return s_.buffered_amount(); }

WISP_NAMESPACE_END
