// SPDX-License-Identifier: MIT
// wisp/detail/event_stream_impl.hpp — EventStream's members, forwarded to the shared
// StreamState and the stream's session.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/deferred.hpp>
#include <wisp/detail/handles.hpp>
#include <wisp/detail/timers.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/stream_session.hpp>
#include <wisp/detail/stream_state.hpp>
#include <wisp/detail/box.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

WISP_NAMESPACE_BEGIN

namespace detail {
/// A stream's timer: it runs on the stream's loop and stops when the stream ends.
inline Timer stream_timer(const std::shared_ptr<StreamState>& s, std::chrono::milliseconds first,
                          std::chrono::milliseconds interval,
                          std::function<void(EventStream&)> fn) {
    Connection* conn = s->session().connection();
    if (s->session().closed() || conn == nullptr || !fn) return Timer();
    if (!s->extras) s->extras = make_box<StreamState::Extras>();
    s->weak_made.store(true, std::memory_order_relaxed);
    auto& timers = s->extras->timers;
    timers.erase(
        std::remove_if(timers.begin(), timers.end(),
                       [](const std::shared_ptr<TimerState>& t) { return t->over.load(); }),
        timers.end());
    // The timer holds the state weakly: it stops when the stream ends (StreamState::ended), and
    // must not keep the stream's memory alive meanwhile.
    Timer t = start_timer_on(&conn->loop(), s->gate, first, interval,
                             [w = std::weak_ptr<StreamState>(s), f = std::move(fn)] {
                                 auto st = w.lock();
                                 if (!st || st->session().closed()) return;
                                 EventStream e = HandleAccess::event_stream(std::move(st));
                                 f(e);
                             });
    timers.push_back(TimerAccess::state(t));
    return t;
}
}   // namespace detail

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
// ---- EventStream ----------------------------------------------------------------------
WISP_DEF EventStream::EventStream(Request& req) {
    detail::Exchange* ex = detail::RequestBuilder::exchange(req);
    s_ = std::make_shared<detail::StreamState>(ex ? ex->conn : nullptr, req);
    if (ex) ex->stream = s_;
}

WISP_DEF SendResult EventStream::push(std::string_view data) {
    std::string bytes;
    (void)detail::format_event(bytes, data);
    return detail::StreamState::push(s_, std::move(bytes));
}

WISP_DEF SendResult EventStream::push(const EventMessage& m) {
    std::string bytes;
    if (detail::format_event(bytes, m.data, m.event,
                             m.id ? std::string_view(*m.id) : std::string_view(), m.retry_ms,
                             m.id.has_value()))
        return SendResult::invalid;
    return detail::StreamState::push(s_, std::move(bytes));
}

WISP_DEF SendResult EventStream::push_comment(std::string_view text) {
    std::string bytes;
    (void)detail::format_comment(bytes, text);
    return detail::StreamState::push(s_, std::move(bytes));
}

WISP_DEF void EventStream::close() {
    detail::StreamSession& st = s_->session();
    if (st.on_io_thread()) st.end();
    else if (!st.closed()) s_->gate->post([s = s_] { s->session().end(); });
}

WISP_DEF StreamHandle EventStream::handle() const {
    // The state can no longer be let go when the stream starts: the handle would find it gone.
    s_->weak_made.store(true, std::memory_order_relaxed);
    return detail::HandleAccess::stream(s_);
}

WISP_DEF Timer EventStream::every(std::chrono::milliseconds interval,
                                  std::function<void(EventStream&)> fn) {
    return detail::stream_timer(s_, interval, interval, std::move(fn));
}

WISP_DEF Timer EventStream::after(std::chrono::milliseconds delay,
                                  std::function<void(EventStream&)> fn) {
    return detail::stream_timer(s_, delay, std::chrono::milliseconds(0), std::move(fn));
}

WISP_DEF void EventStream::when_drained(std::function<void(EventStream&)> fn) {
    detail::StreamState& st = *s_;
    detail::Connection* conn = st.session().connection();
    if (st.session().closed() || conn == nullptr || !fn) return;
    if (!st.extras) st.extras = detail::make_box<detail::StreamState::Extras>();
    st.weak_made.store(true, std::memory_order_relaxed);
    // A weak reference: the waiter must not keep its own stream alive.
    st.extras->when_drained.push_back(
        [w = std::weak_ptr<detail::StreamState>(s_), f = std::move(fn)] {
            if (auto s = w.lock()) {
                EventStream e = detail::HandleAccess::event_stream(std::move(s));
                f(e);
            }
        });
    if (st.session().started() && conn->out().empty())
        conn->loop().reactor.post([s = s_] { s->on_drained(); });
}

WISP_DEF bool EventStream::is_open() const noexcept {
    s_->session().settle();
    return !s_->session().closed();
}
WISP_DEF Headers& EventStream::headers() noexcept { return s_->headers; }
WISP_DEF std::optional<std::string_view> EventStream::last_event_id() const noexcept {
    if (!s_->has_last_event_id) return std::nullopt;
    return std::string_view(s_->last_event_id);
}
WISP_DEF std::size_t EventStream::buffered_amount() const noexcept {
    const detail::StreamSession& st = s_->session();
    st.settle();
    return st.started() && st.connection() ? st.connection()->out().size() : s_->pending.size();
}
WISP_DEF void EventStream::on_closed(std::function<void()> fn) {
    if (s_->session().closed()) {
        if (fn) fn();   // already over: exactly once, now
        return;
    }
    s_->closed_fn = std::move(fn);
}
WISP_DEF void EventStream::on_drain(std::function<void()> fn) { s_->drain_fn = std::move(fn); }

WISP_DEF bool EventStream::subscribe(std::string_view topic, TopicEvents events) {
    return s_->session().subscribe(topic, events == TopicEvents::named);
}
WISP_DEF bool EventStream::unsubscribe(std::string_view topic) {
    return s_->session().unsubscribe(topic);
}
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
