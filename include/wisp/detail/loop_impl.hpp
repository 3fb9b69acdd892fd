// SPDX-License-Identifier: MIT
// wisp/detail/loop_impl.hpp — the Loop's members that walk its connections: the end-of-turn
// flush, the list of open connections, the timer wheel's expiries and the graceful stop.
// Must not know: protocols (each connection's session decides what a stop or a timeout means).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/loop.hpp>
#include <chrono>

WISP_NAMESPACE_BEGIN
namespace detail {

inline Loop::~Loop() {
    gate->close();   // nothing new from other threads; what they posted before runs below
    while (head_) head_->terminate();
    // run() has returned, so this thread is the only one left: what the closes posted (the
    // transports letting their owners go, cancelled waits) and what other threads posted
    // (answers, sends, timers) runs now, against closed connections, instead of leaking.
    reactor.poll();
    while (timers_) stop_timer(*timers_);
    // Their handlers will not run now.
    run_batch(later_, [](TransportOwner& o) { o.read_posted() = false; });
    run_batch(dirty_, [](TransportOwner& o) { static_cast<Connection&>(o).dirty = false; });
    block_release(recv_);
}

inline void Loop::mark_dirty(Connection& c) {
    // The connection whose read pump is handing it input is written by the pump itself, right
    // after the session returns: the turn's flush would find its queue empty.
    if (c.dirty || &c == reader) return;
    enlist_dirty(c);
}

WISP_NOINLINE inline void Loop::enlist_dirty(Connection& c) {
    c.dirty = true;
    // Runs after the handlers already queued for this turn, so everything they produce for
    // a socket goes out in one write.
    enlist(dirty_, c, [this] { flush_all(); });
}

inline void Loop::flush_all() {
    TickHold hold(*this);
    run_batch(dirty_, [](TransportOwner& o) {
        Connection& c = static_cast<Connection&>(o);
        c.dirty = false;
        c.flush();
    });
}

inline void Loop::add(Connection& c) noexcept {
    c.retain();   // the list's reference
    c.next_conn = head_;
    c.prev_conn = nullptr;
    if (head_) head_->prev_conn = &c;
    head_ = &c;
    count_.fetch_add(1, std::memory_order_relaxed);
}

inline void Loop::remove(Connection& c) noexcept {
    if (c.prev_conn) c.prev_conn->next_conn = c.next_conn;
    else if (head_ == &c) head_ = c.next_conn;
    else return;   // not listed
    if (c.next_conn) c.next_conn->prev_conn = c.prev_conn;
    c.prev_conn = c.next_conn = nullptr;
    count_.fetch_sub(1, std::memory_order_relaxed);
    if (stopping_ && head_ == nullptr) release_work();
    c.release();
}

inline void Loop::on_tick() {
    wheel.advance(now_tick(), [this](WheelNode& n) {
        if (n.kind == WheelNode::Kind::timer) fire_timer(static_cast<TimerState&>(n));
        else static_cast<Connection&>(n).on_timer();
    });
    if (!wheel.empty()) arm_tick();
    else ticking_ = false;
}

inline void Loop::shutdown(std::chrono::milliseconds deadline) {
    if (stopping_) return;
    stopping_ = true;
    for (Connection* c = head_; c;) {
        Connection* next = c->next_conn;
        c->shutdown();
        c = next;
    }
    if (head_ == nullptr) {
        release_work();
        return;
    }
    stop_timer_.arm(deadline, [this] {
        while (head_) head_->terminate();
        release_work();
    });
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
