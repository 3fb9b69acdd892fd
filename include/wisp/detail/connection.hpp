// SPDX-License-Identifier: MIT
// wisp/detail/connection.hpp — one accepted connection: the owner of its transport, its send
// queue, the session that speaks its protocol, and its one timer slot.
// Owns: the connection's lifetime (references), the read pump (reads into the loop's buffer,
// hands the input to the session, writes the replies before the next read), the hand-over
// from one session to the next, closing (half-close and linger, or at once), and the deadline
// of whichever session is in charge.
// Must not know: how bytes are carried (Transport) or what they mean (the sessions).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/options.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/send_queue.hpp>
#include <wisp/detail/session.hpp>
#include <wisp/detail/socket_transport.hpp>
#include <wisp/detail/timer_wheel.hpp>
#include <wisp/detail/transport.hpp>
#include <wisp/detail/box.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// One connection. Lives on its loop's thread; other threads reach it only by posting, with a
/// ConnRef keeping its memory (not its socket) alive.
class Connection final : public WheelNode, public TransportOwner, private SendQueue {
public:
    /// Over an accepted socket.
    Connection(Loop& loop, AcceptedSocket socket);
    /// Over another transport (a test's in-memory one).
    Connection(Loop& loop, Box<Transport> transport);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (layered_) delete socket_.upper();   // a layer, before the socket under it
    }

    /// The accepted socket's transport, for a layer to be built over it (TLS).
    Transport& socket() noexcept { return socket_; }
    /// Puts `layer` (built over socket()) between this connection and its socket; before
    /// start(). Null leaves the socket in charge.
    void set_layer(Box<Transport> layer) {
        if (!layer) return;
        if (layered_) delete socket_.upper();
        socket_.set_upper(*layer.release());   // the socket names it: no pointer here
        layered_ = true;
    }
    /// Joins the loop's list, starts the transport and puts `first` (the HTTP session) in
    /// charge. Closes at once when the transport cannot start.
    void start(Box<Session> first);
    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    Loop& loop() const noexcept override { return SendQueue::loop(); }
    SendQueue& out() noexcept { return *this; }
    const SendQueue& out() const noexcept { return *this; }
    const Address& remote_address() const noexcept { return transport().remote_address(); }
    /// True over TLS.
    bool is_secure() const noexcept { return transport().is_secure(); }
    /// The subject of the client's verified certificate (mutual TLS); null without one.
    std::shared_ptr<const std::string> client_subject() const {
        return transport().client_subject();
    }
    /// Open: neither lingering nor closed (a close may still be pending, see closing()).
    bool is_open() const noexcept { return state_ == State::open; }
    /// True once a close is pending or done: nothing new should be queued.
    bool closing() const noexcept { return close_after_flush_ || state_ != State::open; }
    /// True once no session takes new work (closed, lingering, or a WebSocket whose close is
    /// done); any thread (handles ask it).
    bool gone() const noexcept { return gone_.load(std::memory_order_acquire); }
    void mark_gone() noexcept { gone_.store(true, std::memory_order_release); }

    /// The session in charge.
    Session* session() const noexcept { return session_.get(); }
    /// Puts `next` in charge (HTTP hands over to a WebSocket or an event stream). The old
    /// session stays allocated until the outermost call into the session returns.
    void switch_session(Box<Session> successor) {
        loop().retired_sessions.list.push_back({this, session_.get()});
        session_.release();   // owned by retired_sessions now
        session_ = std::move(successor);
        if (depth_ == 0) free_retired();
    }
    /// Calls `f` (which reaches into the session); a session replaced meanwhile is freed
    /// once the outermost such call returns.
    template <class F>
    void in_session(F&& f) {
        ++depth_;
        f();
        if (--depth_ == 0 && !loop().retired_sessions.list.empty()) free_retired();
    }

    /// Writes the queue now (the end of the turn, or a session that needs room).
    void flush();
    /// Stops reading new input; closes once the queue is written (with a lingering close).
    void close_after_flush();
    /// Closes at once; queued output is dropped.
    void terminate() { close_now(); }
    /// The app stops: the session decides (finish, close 1001, end the stream).
    void shutdown();
    /// The loop's timer wheel reached this connection's deadline.
    void on_timer();
    /// Recomputes the deadline after the session's changed.
    void rearm_timer();
    /// A session that paused reading (wants_input() false) may read again.
    void resume_reading();
    /// The read pump runs: when it returns it rearms the timer and reads on by itself.
    bool reading() const noexcept { return in_read_; }

    // ---- TransportOwner ----
    inline void on_readable() override;
    inline void on_writable() override;
    inline void on_transport_error() override;
    void hold() noexcept override { retain(); }
    void unhold() noexcept override { release(); }
    bool& read_posted() noexcept override { return read_posted_; }

    bool dirty = false;   ///< on the loop's dirty list this turn

private:
    // The small fields together, after the bases (TransportOwner's vtable pointer, the wheel's
    // node, the send queue): `dirty` and these fill the queue's last word and one more (168 B
    // in all, a 176 B heap chunk; test_engine.cpp checks it).
    enum class State : std::uint8_t { open, lingering, closed };
    State state_ = State::open;
    std::uint8_t depth_ = 0;   ///< nested in_session() calls
    bool in_read_ : 1;         ///< the pump runs: start no second read
    bool close_after_flush_ : 1;
    bool layered_ : 1;           ///< the socket's upper() is in charge (TLS, or a test's)
    bool read_posted_ = false;   ///< TransportOwner::read_posted
    std::atomic<bool> gone_{false};
    std::atomic<std::uint32_t> refs_{1};

public:
    Connection* prev_conn = nullptr;   ///< the loop's list of open connections
    Connection* next_conn = nullptr;

private:
    friend class SendQueue;   // finds its connection (SendQueue::owner)

    bool can_read() const noexcept;
    void on_peer_eof();
    void on_drained();
    void wait_writable();
    void close_now();
    void begin_linger();
    void free_retired() noexcept;
    template <class T>
    void pump(T& t);

    /// The transport in charge: the socket, or the one its upper() names (owned here).
    Transport& transport() noexcept {
        if (layered_) return *socket_.upper();
        return socket_;
    }
    const Transport& transport() const noexcept {
        if (layered_) return *socket_.upper();
        return socket_;
    }
    /// Calls `f` with the transport in charge, the socket as its own (final) type so that the
    /// plain path calls it directly.
    template <class F>
    decltype(auto) with_transport(F&& f) {
        if (WISP_LIKELY(!layered_)) return f(socket_);
        return f(*socket_.upper());
    }

    SocketTransport socket_;   ///< the socket (empty over another transport)
    Box<Session> session_;
};

/// Intrusive strong reference to a Connection (keeps its memory, not its socket, alive).
class ConnRef {
public:
    ConnRef() = default;
    explicit ConnRef(Connection* c) noexcept : c_(c) {
        if (c_) c_->retain();
    }
    ConnRef(const ConnRef& o) noexcept : ConnRef(o.c_) {}
    ConnRef(ConnRef&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    ConnRef& operator=(ConnRef o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~ConnRef() {
        if (c_) c_->release();
    }
    Connection* get() const noexcept { return c_; }
    Connection* operator->() const noexcept { return c_; }
    explicit operator bool() const noexcept { return c_ != nullptr; }

private:
    Connection* c_ = nullptr;
};

// ---- implementation -------------------------------------------------------
inline Connection::Connection(Loop& loop, AcceptedSocket socket)
    : SendQueue(loop),
      in_read_(false),
      close_after_flush_(false),
      layered_(false),
      socket_(std::move(socket)) {}

inline Connection::Connection(Loop& loop, Box<Transport> transport)
    : SendQueue(loop), in_read_(false), close_after_flush_(false), layered_(true) {
    socket_.set_upper(*transport.release());
}

inline void Connection::start(Box<Session> first) {
    session_ = std::move(first);
    loop().add(*this);
    if (!transport().start(*this)) {
        close_now();
        return;
    }
    in_session([this] { session_->on_start(); });
    if (state_ != State::open) return;
    rearm_timer();
    resume_reading();
}

inline void Connection::free_retired() noexcept {
    auto& retired = loop().retired_sessions.list;
    for (std::size_t i = retired.size(); i-- > 0;) {
        if (retired[i].conn != this) continue;
        Session* old = retired[i].session;
        retired.erase(retired.begin() + i);
        delete old;
    }
}

inline bool Connection::can_read() const noexcept {
    if (state_ == State::closed) return false;
    if (state_ == State::lingering) return true;   // read and discard until EOF
    if (close_after_flush_) return false;
    return session_->wants_input();
}

inline void Connection::resume_reading() {
    if (!in_read_ && can_read()) with_transport([](auto& t) { t.want_read(); });
}

inline void Connection::on_readable() {
    with_transport([this](auto& t) { pump(t); });
}

template <class T>
inline void Connection::pump(T& t) {
    if (state_ == State::closed || in_read_ || !can_read() || !t.may_have_input()) return;
    Loop::TickHold hold(loop());
    char* buf = loop().recv_buffer();
    const std::size_t cap = loop().recv_size();
    in_read_ = true;   // what runs below (a flush, a drain hook) starts no second read
    // The frames of this wakeup's reads show the peer's frame size (WsSession::read_budget).
    loop().reader_frame = 0;
    // A few reads per wakeup at most, so one busy peer cannot starve the others. (can_read()
    // held for the first: it was asked above.)
    int round = 0;
    do {
        const std::size_t want = state_ == State::open ? session_->read_budget(cap) : cap;
        std::size_t n = 0;
        const IoResult r = t.read(buf, want, n);
        if (r == IoResult::again) break;
        if (r == IoResult::eof) {
            in_read_ = false;
            on_peer_eof();
            return;
        }
        if (r == IoResult::failed) {
            in_read_ = false;
            close_now();
            return;
        }
        if (state_ == State::lingering) continue;   // lingering close: discard
        loop().reader = this;
        in_session([&] { session_->on_data(buf, n); });
        loop().reader = nullptr;
        // The replies to this read go out now, while their bytes are still in the cache and
        // before the next read: the queue's blocks go back to the pool at once instead of
        // piling up until the end of the turn. Output for other sockets still waits for the
        // end of the turn, so a publication reaches each subscriber in one write per turn.
        if (!out().empty()) flush();
        // A reply queued straight from the receive buffer that the transport did not take
        // gets its own copy now, before any read overwrites the buffer.
        out().keep_input_safe();
        if (n < want) break;
    } while (++round < 4 && can_read());
    in_read_ = false;
    if (state_ != State::closed) {
        rearm_timer();
        // A transport without input left asks nothing of want_read() (the set reports new
        // input by itself): the last read came back short, the usual end of a pump.
        if (t.may_have_input()) resume_reading();
    }
}

inline void Connection::on_writable() {
    if (state_ == State::closed) return;
    out().set_blocked(false);
    flush();
}

inline void Connection::on_transport_error() {
    if (state_ != State::closed) close_now();
}

inline void Connection::on_peer_eof() {
    if (state_ != State::open) {
        close_now();
        return;
    }
    in_session([this] { session_->on_peer_eof(); });
}

inline void Connection::flush() {
    if (state_ == State::closed) {
        out().clear();
        return;
    }
    if (out().blocked()) return;   // on_writable() will flush
    // Already empty (the pump wrote this read's replies before the turn's flush): the flush
    // that emptied it reported the drain.
    if (out().empty() && !close_after_flush_) return;
    const SendQueue::Flush r = with_transport([this](auto& t) { return out().write_to(t); });
    if (r == SendQueue::Flush::failed) {
        close_now();
        return;
    }
    if (out().drain_owed && out().size() <= loop().core.options.limits.low_watermark &&
        state_ == State::open && !close_after_flush_) {
        out().drain_owed = false;   // down to the low watermark after backpressure: say so once
        in_session([this] { session_->on_low_water(); });
        if (state_ == State::closed) return;
    }
    if (r == SendQueue::Flush::blocked) wait_writable();
    else on_drained();
}

inline void Connection::wait_writable() {
    if (out().blocked()) return;
    out().set_blocked(true);
    out().drain_owed = true;
    transport().want_write();
    rearm_timer();   // from the session's deadline to the send timeout
}

inline void Connection::on_drained() {
    if (state_ != State::open) return;
    if (close_after_flush_) {
        begin_linger();
        return;
    }
    in_session([this] { session_->on_drained(); });
}

inline void Connection::close_after_flush() {
    if (state_ != State::open) return;
    loop().settle();   // publications held for it go out before it closes
    close_after_flush_ = true;
    if (out().empty() && !dirty) begin_linger();
}

inline void Connection::begin_linger() {
    // RFC 9112 §9.6: half-close, then read until the client closes (or a short deadline), so
    // unread pipelined input does not make the kernel reset the connection and destroy the
    // response before the client has read it.
    if (!transport().shutdown_send()) {
        close_now();
        return;
    }
    state_ = State::lingering;
    mark_gone();
    loop().schedule(*this, loop().ticks_from_now(std::chrono::milliseconds(2000)));
    resume_reading();
}

inline void Connection::close_now() {
    if (state_ == State::closed) return;
    loop().settle();   // as delivered before the close (then dropped with the queue)
    state_ = State::closed;
    gone_.store(true, std::memory_order_release);
    loop().wheel.cancel(*this);
    out().clear();
    transport().close();
    retain();   // the close hook runs before the loop lets go of this connection
    if (session_) in_session([this] { session_->on_closed(); });
    loop().remove(*this);
    release();
}

inline void Connection::rearm_timer() {
    if (state_ != State::open) return;
    if (out().blocked()) {   // waiting on a reader that does not read
        std::uint64_t t =
            out().progress_tick() + loop().ticks(loop().core.options.limits.send_timeout);
        if (const std::uint64_t hard = session_->hard_deadline()) t = std::min(t, hard);
        loop().schedule(*this, t);
        return;
    }
    std::uint64_t d = session_->deadline();
    // The transport's own deadline (a TLS handshake) shares the slot; the earlier one wins.
    if (const std::uint64_t t = with_transport([](auto& tr) { return tr.deadline(); }))
        d = d == 0 ? t : std::min(d, t);
    if (d == 0) loop().wheel.cancel(*this);
    else loop().schedule(*this, d);
}

inline void Connection::on_timer() {
    if (state_ == State::closed) return;
    if (state_ == State::lingering || out().blocked()) {
        close_now();
        return;
    }
    const std::uint64_t t = transport().deadline();
    if (t != 0 && loop().now_tick() >= t) {
        transport().on_deadline();
        close_now();
        return;
    }
    in_session([this] { session_->on_timer(); });
}

inline void Connection::shutdown() {
    if (state_ != State::open) return;
    in_session([this] { session_->on_shutdown(); });
}

// ---- SendQueue members that reach the connection ------------------------------------------
inline Connection& SendQueue::owner() const noexcept {
    return static_cast<Connection&>(const_cast<SendQueue&>(*this));
}

inline SendQueue::Room SendQueue::room() {
    if (q_.size() < cap()) return Room::ok;
    Connection& c = owner();
    if (!blocked_ && c.is_open()) c.flush();
    if (!c.is_open()) return Room::closed;
    if (q_.size() < cap()) return Room::ok;
    drain_owed = true;
    return Room::full;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
