// SPDX-License-Identifier: MIT
// wisp/detail/event_stream_impl.hpp — EventStream's members, forwarded to the shared
// StreamState.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/deferred.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/stream_state.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

WISP_NAMESPACE_BEGIN

// ---- EventStream ----------------------------------------------------------------------
inline EventStream::EventStream(Request& req) {
    detail::Exchange* ex = detail::RequestBuilder::exchange(req);
    s_ = std::make_shared<detail::StreamState>(ex ? ex->conn : nullptr, req);
    if (ex) ex->stream = s_;
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
    return s_->is_started && s_->conn ? s_->conn->out().size() : s_->pending.size();
}
inline void EventStream::on_closed(std::function<void()> fn) {
    if (s_->closed.load()) {
        if (fn) fn();   // already over: exactly once, now
        return;
    }
    s_->closed_fn = std::move(fn);
}
inline void EventStream::on_drain(std::function<void()> fn) { s_->drain_fn = std::move(fn); }

inline bool EventStream::subscribe(std::string_view topic, TopicEvents events) {
    return s_->subscribe(topic, events == TopicEvents::named);
}
inline bool EventStream::unsubscribe(std::string_view topic) { return s_->unsubscribe(topic); }

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
