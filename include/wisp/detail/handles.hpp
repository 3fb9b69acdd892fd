// SPDX-License-Identifier: MIT
// wisp/detail/handles.hpp — the runtime side of peers and streams: weak handles that work from
// any thread (PeerHandle, StreamHandle), per-peer timers and drain waiters, and the route's
// peer registry.
// Owns: how work from another thread reaches a peer or a stream (through its loop's gate, with
// a reference on the connection's memory, reporting `closed` when it never runs), and how a
// session joins and leaves its route's PeerList.
// Must not know: sockets, frames (WsSession sends), the registry's users (app.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/handle.hpp>
#include <wisp/timer.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <wisp/detail/stream_session.hpp>
#include <wisp/detail/stream_state.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_session.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

struct HandleAccess {
    static PeerHandle peer(Connection& conn, std::string_view id) {
        PeerHandle h;
        conn.retain();
        h.conn_ = &conn;
        h.gate_ = conn.loop().gate;
        h.id_ = std::string(id);
        return h;
    }
    static StreamHandle stream(const std::shared_ptr<StreamState>& s) {
        StreamHandle h;
        h.s_ = s;
        return h;
    }
    static EventStream event_stream(std::shared_ptr<StreamState> s) {
        return EventStream(std::move(s));
    }
    static const std::shared_ptr<StreamState>& state(const EventStream& e) noexcept { return e.s_; }
};

/// The WebSocket session of `c` (its loop's thread), or null when it has none any more.
inline WsSession* ws_session_of(Connection& c) noexcept {
    Session* s = c.session();
    if (!c.is_open() || s == nullptr || s->kind != SessionKind::websocket) return nullptr;
    return static_cast<WsSession*>(s);
}

// ---- WsSession: handles, timers, drain waiters, the registry -----------------------------
inline PeerHandle WsSession::handle() { return HandleAccess::peer(conn_, id()); }

inline Timer WsSession::every(std::chrono::milliseconds first, std::chrono::milliseconds interval,
                              std::function<void(Peer&)> fn) {
    if (close_reported_ || conn_.closing() || !fn) return Timer();
    WsRuntime& x = runtime();
    // Timers that stopped (cancelled, fired once) leave the list as new ones come.
    x.timers.erase(
        std::remove_if(x.timers.begin(), x.timers.end(),
                       [](const std::shared_ptr<TimerState>& t) { return t->over.load(); }),
        x.timers.end());
    // The timer cannot outlive the session: let_go() stops it first, on this thread.
    Timer t = start_timer_on(&conn_.loop(), conn_.loop().gate, first, interval,
                             [this, user = std::move(fn)] {
                                 if (!close_reported_) guarded([&] { user(peer()); });
                             });
    x.timers.push_back(TimerAccess::state(t));
    return t;
}

inline void WsSession::when_drained(std::function<void(Peer&)> fn) {
    if (close_reported_ || conn_.closing() || !fn) return;
    runtime().when_drained.push_back(std::move(fn));
    // Already empty: the next drain is now, posted (never inside the caller).
    if (conn_.out().empty())
        conn_.loop().reactor.post([ref = ConnRef(&conn_)] {
            if (WsSession* s = ws_session_of(*ref.get())) s->on_drained();
        });
}

inline void WsSession::join_list() {
    PeerList& list = ep_.peers;
    std::lock_guard<std::mutex> lock(list.mutex);
    list_prev_ = nullptr;
    list_next_ = list.head;
    if (list.head) list.head->list_prev_ = this;
    list.head = this;
    listed_ = true;
    list.count.fetch_add(1, std::memory_order_relaxed);
}

inline void WsSession::leave_list() {
    if (!listed_) return;
    PeerList& list = ep_.peers;
    std::lock_guard<std::mutex> lock(list.mutex);
    if (list_prev_) list_prev_->list_next_ = list_next_;
    else list.head = list_next_;
    if (list_next_) list_next_->list_prev_ = list_prev_;
    list_prev_ = list_next_ = nullptr;
    listed_ = false;
    list.count.fetch_sub(1, std::memory_order_relaxed);
}

inline void WsSession::let_go() {
    conn_.mark_gone();   // handles now say closed
    leave_list();
    if (!extras_ || !extras_->runtime) return;
    WsRuntime& x = *extras_->runtime;
    for (const auto& t : x.timers) {
        t->cancelled = true;
        conn_.loop().stop_timer(*t);
    }
    x.timers.clear();
    x.when_drained.clear();
}

inline std::vector<PeerHandle> WsSession::peers() {
    settle();   // a peer closed by a held delivery has left the list
    std::vector<PeerHandle> out;
    PeerList& list = ep_.peers;
    const std::string_view ns = namespace_name();
    std::lock_guard<std::mutex> lock(list.mutex);
    out.reserve(list.count.load(std::memory_order_relaxed));
    for (WsSession* s = list.head; s; s = s->list_next_)
        if (s->namespace_name() == ns) out.push_back(HandleAccess::peer(s->conn_, s->id()));
    return out;
}

inline std::string_view WsSession::namespace_name() const noexcept {
    // Only a namespaced route's peers have one, set in on_start before they join the list, so
    // another thread walking the list reads it safely.
    if (!ep_.namespace_of || !extras_ || !extras_->runtime) return {};
    return extras_->runtime->ns;
}

/// Handles of the open peers of `ep`, across loops.
inline std::vector<PeerHandle> snapshot(const WsEndpoint& ep) {
    std::vector<PeerHandle> out;
    std::lock_guard<std::mutex> lock(ep.peers.mutex);
    out.reserve(ep.peers.count.load(std::memory_order_relaxed));
    for (WsSession* s = ep.peers.head; s; s = s->list_next())
        out.push_back(HandleAccess::peer(s->connection(), s->id()));
    return out;
}

}   // namespace detail

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
// ---- Peer -----------------------------------------------------------------------------
WISP_DEF PeerHandle Peer::handle() const { return s_().handle(); }
WISP_DEF Timer Peer::every(std::chrono::milliseconds interval, std::function<void(Peer&)> fn) {
    return s_().every(interval, interval, std::move(fn));
}
WISP_DEF Timer Peer::after(std::chrono::milliseconds delay, std::function<void(Peer&)> fn) {
    return s_().every(delay, std::chrono::milliseconds(0), std::move(fn));
}
WISP_DEF void Peer::when_drained(std::function<void(Peer&)> fn) {
    s_().when_drained(std::move(fn));
}
WISP_DEF std::vector<PeerHandle> Peer::peers() const { return s_().peers(); }
WISP_DEF std::string_view Peer::namespace_name() const noexcept { return s_().namespace_name(); }

// ---- PeerHandle -----------------------------------------------------------------------
WISP_DEF PeerHandle::PeerHandle(const PeerHandle& o) : conn_(o.conn_), gate_(o.gate_), id_(o.id_) {
    if (conn_) conn_->retain();
}
WISP_DEF PeerHandle::PeerHandle(PeerHandle&& o) noexcept
    : conn_(std::exchange(o.conn_, nullptr)), gate_(std::move(o.gate_)), id_(std::move(o.id_)) {}
WISP_DEF PeerHandle& PeerHandle::operator=(PeerHandle o) noexcept {
    std::swap(conn_, o.conn_);
    std::swap(gate_, o.gate_);
    std::swap(id_, o.id_);
    return *this;
}
WISP_DEF PeerHandle::~PeerHandle() {
    if (conn_) conn_->release();   // the last reference may free the (closed) connection here
}

WISP_DEF bool PeerHandle::is_open() const noexcept { return conn_ && !conn_->gone(); }

WISP_DEF SendResult PeerHandle::post_send(bool binary, std::string_view data, SendDone done) const {
    auto report = [&done](SendResult r) {
        if (done) done(r);
        return r;
    };
    if (!binary && !detail::is_valid_utf8(data)) return report(SendResult::invalid);
    if (!is_open()) return report(SendResult::closed);
    // `done` goes with the task; if the task never runs (the app ended first) it says closed.
    auto shared_done = std::make_shared<SendDone>(std::move(done));
    detail::Unrun lost([shared_done] {
        if (*shared_done) (*shared_done)(SendResult::closed);
    });
    const bool posted = gate_->post_paced(
        [ref = detail::ConnRef(conn_), binary, bytes = std::string(data), shared_done,
         lost = std::move(lost)]() mutable {
            lost.dismiss();
            SendResult r = SendResult::closed;
            if (detail::WsSession* s = detail::ws_session_of(*ref.get()))
                ref->in_session([&] {
                    r = s->send_data(binary ? detail::Opcode::binary : detail::Opcode::text, bytes);
                });
            if (*shared_done) (*shared_done)(r);
        },
        detail::Loop::current() == nullptr);
    return posted ? SendResult::sent : SendResult::closed;   // not posted: `lost` said closed
}

WISP_DEF SendResult PeerHandle::send(std::string_view text, SendDone done) const {
    return post_send(false, text, std::move(done));
}
WISP_DEF SendResult PeerHandle::send_binary(std::string_view bytes, SendDone done) const {
    return post_send(true, bytes, std::move(done));
}

WISP_DEF SendResult PeerHandle::publish(std::string_view topic, std::string_view text) const {
    if (!detail::is_valid_utf8(text)) return SendResult::invalid;
    if (!is_open()) return SendResult::closed;
    return post([t = std::string(topic), d = std::string(text)](Peer& p) { p.publish(t, d); })
               ? SendResult::sent
               : SendResult::closed;
}
WISP_DEF SendResult PeerHandle::publish_binary(std::string_view topic,
                                               std::string_view bytes) const {
    if (!is_open()) return SendResult::closed;
    return post([t = std::string(topic), d = std::string(bytes)](Peer& p) {
        p.publish_binary(t, d);
    })
               ? SendResult::sent
               : SendResult::closed;
}

WISP_DEF SendResult PeerHandle::close(std::uint16_t code, std::string_view reason) const {
    if (!detail::is_valid_close_code(code) || reason.size() > 123 || !detail::is_valid_utf8(reason))
        return SendResult::invalid;
    if (!is_open()) return SendResult::closed;
    return post([code, r = std::string(reason)](Peer& p) { p.close(code, r); })
               ? SendResult::sent
               : SendResult::closed;
}

WISP_DEF bool PeerHandle::post(std::function<void(Peer&)> fn) const {
    if (!is_open() || !fn) return false;
    return gate_->post_paced(
        [ref = detail::ConnRef(conn_), f = std::move(fn)] {
            detail::WsSession* s = detail::ws_session_of(*ref.get());
            if (s == nullptr || s->ready_state() == ReadyState::closed) return;
            ref->in_session([&] { f(s->peer()); });
        },
        detail::Loop::current() == nullptr);
}

// ---- StreamHandle ---------------------------------------------------------------------
WISP_DEF bool StreamHandle::is_open() const noexcept {
    auto s = s_.lock();
    return s && !s->session().closed();
}
WISP_DEF SendResult StreamHandle::push(std::string_view data) const {
    auto s = s_.lock();
    return s ? detail::HandleAccess::event_stream(std::move(s)).push(data) : SendResult::closed;
}
WISP_DEF SendResult StreamHandle::push(const EventMessage& message) const {
    auto s = s_.lock();
    return s ? detail::HandleAccess::event_stream(std::move(s)).push(message) : SendResult::closed;
}
WISP_DEF SendResult StreamHandle::push_comment(std::string_view text) const {
    auto s = s_.lock();
    return s ? detail::HandleAccess::event_stream(std::move(s)).push_comment(text)
             : SendResult::closed;
}
WISP_DEF void StreamHandle::close() const {
    if (auto s = s_.lock()) detail::HandleAccess::event_stream(std::move(s)).close();
}
WISP_DEF bool StreamHandle::post(std::function<void(EventStream&)> fn) const {
    auto s = s_.lock();
    if (!s || s->session().closed() || !fn || !s->gate) return false;
    return s->gate->post_paced(
        [st = std::move(s), f = std::move(fn)] {
            if (st->session().closed()) return;
            EventStream e = detail::HandleAccess::event_stream(st);
            f(e);
        },
        detail::Loop::current() == nullptr);
}
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
