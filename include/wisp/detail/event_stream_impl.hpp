// SPDX-License-Identifier: MIT
// wisp/detail/event_stream_impl.hpp — EventStream and its connection side, where Connection is
// complete.
#pragma once

#include <wisp/config.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/stream_state.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

// ---- the connection side --------------------------------------------------------------
inline void Connection::start_stream(std::shared_ptr<StreamState> st, bool head) {
    std::string h;
    h.reserve(256);
    h.append("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
             "X-Accel-Buffering: no\r\nDate: ");
    h.append(loop_.date()).append("\r\n");
    if (auto* bad = append_header_lines(h, st->headers,
                                        {"content-type", "cache-control", "x-accel-buffering"})) {
        Request empty;
        loop_.core.report(empty, errc::invalid_argument,
                          "event stream header with an invalid name or value: " + bad->first);
        st->end();
        write_response(status(500), head, false);
        return;
    }
    h.append(st->chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n");
    write(h);
    mode_ = Mode::stream;
    stream_ = st;
    st->started(head);
    update_timer();
}

// ---- StreamState ----------------------------------------------------------------------
inline StreamState::StreamState(Connection* c, const Request& req) : conn(c) {
    if (conn) {
        conn->retain();   // the memory, not the socket: handles may outlive the connection
        last_write_tick = conn->loop().now_tick();
    }
    chunked = req.http_major() > 1 || (req.http_major() == 1 && req.http_minor() >= 1);
    if (auto id = req.header("last-event-id")) {
        last_event_id = std::string(*id);
        has_last_event_id = true;
    }
}

inline StreamState::~StreamState() {
    if (conn) conn->release();
}

inline bool StreamState::on_io_thread() const {
    return conn == nullptr || Loop::current() == &conn->loop();
}

inline SendResult StreamState::push(const std::shared_ptr<StreamState>& self, std::string bytes) {
    if (self->closed.load(std::memory_order_acquire)) return SendResult::closed;
    if (self->on_io_thread()) return self->write_event_bytes(bytes);
    net::post(self->conn->loop().io, [self, b = std::move(bytes)] { self->write_event_bytes(b); });
    return SendResult::sent;   // as far as is known here
}

inline SendResult StreamState::write_event_bytes(std::string_view bytes) {
    if (closed.load(std::memory_order_relaxed)) return SendResult::closed;
    if (!is_started) {
        // Before the head goes out (or for App::fetch, which has no connection and no cap):
        // kept, framed as it will be sent.
        if (conn == nullptr) {
            pending.append(bytes);
            return SendResult::sent;
        }
        const Options& o = conn->loop().core.options;
        if (pending.size() >= o.limits.max_queued_bytes) {
            if (o.backpressure == BackpressurePolicy::drop) return SendResult::dropped;
            end();
            return SendResult::closed;
        }
        if (chunked) append_chunk(pending, bytes);
        else pending.append(bytes);
        return SendResult::sent;
    }
    const SendResult r = admit();
    if (r != SendResult::sent) return r;
    // One chunk, written straight into the output queue.
    if (chunked) write_chunk(conn->reserve(chunk_overhead(bytes.size()) + bytes.size()), bytes);
    else conn->write(bytes);
    last_write_tick = conn->loop().now_tick();
    return SendResult::sent;
}

inline SendResult StreamState::admit() {
    if (closed.load() || conn->closing()) return SendResult::closed;
    const Options& o = conn->loop().core.options;
    if (!conn->has_room(o.limits.max_queued_bytes)) {
        if (closed.load() || conn->closing()) return SendResult::closed;
        if (o.backpressure == BackpressurePolicy::drop) return SendResult::dropped;
        end();
        return SendResult::closed;
    }
    return SendResult::sent;
}

inline void StreamState::started(bool head_only) {
    is_started = true;
    if (head_only) {   // HEAD: the head alone, then done
        pending.clear();
        end();
        conn->close_after_flush();
        return;
    }
    if (!pending.empty()) {
        conn->write(pending);
        std::string().swap(pending);
    }
    if (closed.load()) {   // ended before it started: the events, then the end
        if (chunked) conn->write("0\r\n\r\n");
        conn->close_after_flush();
    }
}

inline void StreamState::end() {
    if (closed.exchange(true)) return;
    if (is_started && conn && !conn->closing()) {
        if (chunked) conn->write("0\r\n\r\n");
        conn->close_after_flush();
    }
    fire_closed();
}

inline void StreamState::on_transport_closed() {
    closed.store(true);
    fire_closed();
}

inline void StreamState::fire_closed() {
    while (!topics.empty()) unsubscribe(std::string(topics.back()));
    // Callbacks may hold handles to this state: drop them after the call, breaking cycles.
    auto fn = std::move(closed_fn);
    closed_fn = nullptr;
    drain_fn = nullptr;
    if (fn) fn();
}

inline void StreamState::on_drained() {
    if (!drain_fn || closed.load()) return;
    auto keep = shared_from_this();   // the callback may drop the last handle
    // Held aside while it runs: a push inside it may end the stream, which clears callbacks.
    auto fn = std::move(drain_fn);
    drain_fn = nullptr;
    fn();
    if (!closed.load() && !drain_fn) drain_fn = std::move(fn);
}

inline std::uint64_t StreamState::deadline() const noexcept {
    const Loop& l = conn->loop();
    return last_write_tick + l.ticks(l.core.options.limits.sse_heartbeat);
}

inline void StreamState::on_heartbeat() {
    if (closed.load()) return;
    if (conn->loop().now_tick() >= deadline()) write_event_bytes(":\n");
    conn->rearm_timer();
}

}  // namespace detail

// ---- EventStream ----------------------------------------------------------------------
inline EventStream::EventStream(Request& req)
    : s_(std::make_shared<detail::StreamState>(req.connection(), req)) {
    if (auto* slot = detail::RequestBuilder::stream_slot(req)) *slot = s_;
}

inline SendResult EventStream::push(std::string_view data) {
    std::string bytes;
    (void)detail::format_event(bytes, data);
    return detail::StreamState::push(s_, std::move(bytes));
}

inline SendResult EventStream::push(const EventMessage& m) {
    std::string bytes;
    if (detail::format_event(bytes, m.data, m.event, m.id ? std::string_view(*m.id) : std::string_view(),
                             m.retry_ms, m.id.has_value()))
        return SendResult::invalid;
    return detail::StreamState::push(s_, std::move(bytes));
}

inline SendResult EventStream::push_comment(std::string_view text) {
    std::string bytes;
    (void)detail::format_comment(bytes, text);
    return detail::StreamState::push(s_, std::move(bytes));
}

inline void EventStream::close() {
    if (s_->on_io_thread()) s_->end();
    else if (!s_->closed.load()) detail::net::post(s_->conn->loop().io, [s = s_] { s->end(); });
}

inline bool EventStream::is_open() const noexcept { return !s_->closed.load(); }
inline Headers& EventStream::headers() noexcept { return s_->headers; }
inline std::optional<std::string_view> EventStream::last_event_id() const noexcept {
    if (!s_->has_last_event_id) return std::nullopt;
    return std::string_view(s_->last_event_id);
}
inline std::size_t EventStream::buffered_amount() const noexcept {
    return s_->is_started && s_->conn ? s_->conn->buffered_amount() : s_->pending.size();
}
inline void EventStream::on_closed(std::function<void()> fn) {
    if (s_->closed.load()) {
        if (fn) fn();   // already over: exactly once, now
        return;
    }
    s_->closed_fn = std::move(fn);
}
inline void EventStream::on_drain(std::function<void()> fn) { s_->drain_fn = std::move(fn); }

WISP_NAMESPACE_END
