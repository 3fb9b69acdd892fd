// SPDX-License-Identifier: MIT
// wisp/detail/stream_session.hpp — a connection that serves an event stream (WHATWG HTML
// §9.2): its head, then the StreamState's events until the stream ends.
// Owns: the connection's side of a stream: the response head, the heartbeat through the
// connection's timer slot, and telling the shared state when the connection drains or goes.
// Must not know: sockets or transports, HTTP parsing.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/http_response.hpp>
#include <wisp/detail/http_session.hpp>
#include <wisp/detail/session.hpp>
#include <wisp/detail/stream_state.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// The session of a connection that streams events. The client has nothing to say: its bytes
/// are dropped, its FIN ends the stream.
class StreamSession final : public Session {
public:
    StreamSession(Connection& conn, std::shared_ptr<StreamState> st)
        : Session(SessionKind::stream), conn_(conn), st_(std::move(st)) {}

    void on_data(char*, std::size_t) override {}
    void on_peer_eof() override { conn_.terminate(); }
    void on_drained() override {
        conn_.rearm_timer();
        if (st_) st_->on_drained();
    }
    std::uint64_t deadline() const noexcept override {
        if (!st_ || conn_.loop().core.options.limits.sse_heartbeat.count() <= 0) return 0;
        return st_->deadline();
    }
    void on_timer() override {
        if (st_) st_->on_heartbeat();
    }
    void on_shutdown() override {
        if (st_) st_->end();
    }
    void on_closed() override {
        // Handles still hold the state, and the state holds this connection's memory: let go.
        std::shared_ptr<StreamState> st = std::move(st_);
        if (st) st->on_transport_closed();
    }

private:
    Connection& conn_;
    std::shared_ptr<StreamState> st_;
};

inline void start_stream(HttpSession& http, std::shared_ptr<StreamState> st, bool head,
                         bool keep_alive) {
    Connection& conn = http.connection();
    Loop& loop = conn.loop();
    std::string h;
    h.reserve(256);
    h.append(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\nDate: ");
    h.append(loop.date()).append("\r\n");
    if (auto* bad = append_header_lines(h, st->headers,
                                        {"content-type", "cache-control", "x-accel-buffering"})) {
        Request empty;
        loop.core.report(empty, errc::invalid_argument,
                         "event stream header with an invalid name or value: " + bad->first);
        st->end();
        http.write_response(status(500), head, false);
        return;
    }
    if (head) {
        // RFC 9110 §9.3.2: the head GET would get, and nothing after it (no event, no chunk):
        // the response ends with its head, so a request pipelined behind it is read as usual.
        h.append(st->chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n");
        if (st->chunked && !keep_alive) h.append("Connection: close\r\n");
        h.append("\r\n");
        conn.out().write(h);
        st->end();   // never started: on_closed runs, what was pushed is dropped
        if (!st->chunked || !keep_alive) conn.close_after_flush();
        return;
    }
    h.append(st->chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n");
    conn.out().write(h);
    conn.switch_session(std::make_unique<StreamSession>(conn, st));
    st->started();
    conn.rearm_timer();
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
