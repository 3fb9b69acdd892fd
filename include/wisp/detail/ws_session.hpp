// SPDX-License-Identifier: MIT
// wisp/detail/ws_session.hpp — one WebSocket connection (RFC 6455) after the handshake: frames
// in (WsReader), messages to the handler's hooks, frames out, the closing handshake, pings and
// the idle timeout, publishing (the peer's topics: ws_topics.hpp).
// Owns: the reader, the Peer the hooks see, the kept upgrade request and per-peer state, the
// close state, the idle and close deadlines (through the connection's one timer slot), and
// where permessage-deflate applies: inflate before the message hook, deflate on the way out
// (the how is WsCompression's, ws_compression.hpp).
// Must not know: sockets or transports (bytes go to the connection's SendQueue), HTTP.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/handle.hpp>
#include <wisp/timer.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/kept_request.hpp>
#include <wisp/detail/peer_list.hpp>
#include <wisp/detail/session.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/ws_compression.hpp>
#include <wisp/detail/ws_extras.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_reader.hpp>
#include <wisp/detail/box.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// The session of a connection that speaks WebSocket. Created by the upgrade, destroyed with
/// the connection (so a Peer& stays valid through the close hook and any late call).
/// Thread: the connection's I/O thread only.
class WsSession final : public Session, public Peer {
public:
    /// A session for the upgrade `req` (whose state it shares), in one allocation.
    static Box<WsSession> make(Connection& conn, const WsEndpoint& ep, Request& req,
                               std::string_view protocol, Box<WsCompression> deflate = nullptr);
    static void operator delete(void* p) noexcept { ::operator delete(p); }

    Peer& peer() noexcept { return *this; }
    /// The upgrade request, or an empty one once it was let go (WsOptions::keep_request); made
    /// from kept() in a hook, freed when the outermost hook returns (ws_request.hpp).
    const Request& request() const noexcept;
    /// The peer's state (peer.state<T>()), made on first use unless the upgrade had some.
    StateSlot& state_slot() {
        WsExtras& x = extras();
        if (!x.state) x.state = make_box<StateSlot>();
        return *x.state;
    }
    const Address& remote_address() const noexcept { return conn_.remote_address(); }
    std::string_view client_cert_subject() const noexcept {
        const auto s = conn_.client_subject();   // the transport keeps the string alive
        return s ? std::string_view(*s) : std::string_view();
    }
    std::string_view protocol() const noexcept { return kept().protocol(); }
    /// The negotiated Sec-WebSocket-Extensions value ("" when none).
    std::string_view extensions() const noexcept {
        return compressing_ ? deflate()->extensions() : std::string_view();
    }
    /// The peer's compression, or null when none was agreed.
    const WsCompression* compression() const noexcept { return deflate(); }
    std::string url() const;
    ReadyState ready_state() const noexcept;
    Connection& connection() noexcept { return conn_; }
    /// The next peer of the route's PeerList (under its lock).
    WsSession* list_next() const noexcept { return list_next_; }
    /// The session a topic subscription is, when it is a peer's (else null).
    static WsSession* of(const TopicSub& sub) noexcept {
        return sub.deliver == &WsSession::deliver ? static_cast<WsSession*>(sub.self) : nullptr;
    }
    /// Runs fn(peer) unless the peer closed (App::for_each_subscriber).
    void visit(const std::function<void(Peer&)>& fn) {
        if (!close_reported_) conn_.in_session([&] { guarded([&] { fn(peer()); }); });
    }

    // ---- runtime (ws_runtime.hpp) ----
    PeerHandle handle();
    Timer every(std::chrono::milliseconds first, std::chrono::milliseconds interval,
                std::function<void(Peer&)> fn);
    void when_drained(std::function<void(Peer&)> fn);
    std::vector<PeerHandle> peers();
    std::string_view namespace_name() const noexcept;
    std::string_view id() const noexcept {
        return {reinterpret_cast<const char*>(this) + sizeof(WsSession), id_len_};
    }

    // ---- Session ----
    inline void on_start() override;   ///< the open hook
    inline void on_data(char* p, std::size_t n) override;
    inline bool wants_input() const noexcept override;
    /// Cut to the room under the send cap (wants_input() leaves at least half), so echoing one
    /// read cannot reach the cap, then to where the peer's frames end (WsReader::read_budget).
    std::size_t read_budget(std::size_t cap) const noexcept override {
        const std::size_t room = std::min(cap, conn_.out().cap() - conn_.out().size());
        return reader_.read_budget(room, conn_.loop().reader_frame);
    }
    void on_peer_eof() override { conn_.terminate(); }
    inline void on_drained() override;
    inline void on_low_water() override;   ///< the drain hook
    inline std::uint64_t deadline() const noexcept override;
    std::uint64_t hard_deadline() const noexcept override { return close_timed_ ? tick() : 0; }
    inline void on_timer() override;
    inline void on_shutdown() override;   ///< close 1001
    inline void on_closed() override;     ///< the close hook, once (1006 without a close frame)

    // ---- WsReader sink ----
    void on_message(Opcode op, std::string_view payload);
    void on_compressed_message(Opcode op, std::string_view payload);   ///< inflate, then as above
    void on_ping(std::string_view payload);
    void on_pong(std::string_view) {}
    void on_close(std::uint16_t code, std::string_view reason);
    void on_error(errc e, std::uint16_t close_code, const char* why) { fail(e, close_code, why); }

    // ---- for Peer ----
    void settle() { conn_.loop().settle(); }   ///< Loop::settle: held publications go first
    SendResult send_data(Opcode op, std::string_view payload, bool compress = true);
    SendResult send_ping(std::string_view payload);
    SendResult close(std::uint16_t code, std::string_view reason);
    void terminate() { conn_.terminate(); }
    bool is_open() const noexcept;
    std::size_t buffered_amount() const noexcept { return conn_.out().size(); }
    bool subscribe(std::string_view topic);
    bool unsubscribe(std::string_view topic);
    const std::vector<std::string>& topics() const noexcept {
        static const std::vector<std::string> none;
        return extras_ && extras_->topics.get() ? extras_->peer_topics()->names : none;
    }
    SendResult publish(std::string_view topic, std::string_view data, bool binary,
                       bool compress = true);

private:
    WsSession(Connection& conn, const WsEndpoint& ep, Request& req, Box<Request> transient,
              Box<WsCompression> deflate, std::uint8_t id_len);
    /// The bytes after the session, in its allocation: the id's characters, then (aligned) the
    /// kept request.
    static std::size_t kept_offset(std::size_t id_len) noexcept {
        constexpr std::size_t a = alignof(KeptRequest);
        return sizeof(WsSession) + (id_len + a - 1) / a * a;
    }
    const KeptRequest& kept() const noexcept {
        return *std::launder(reinterpret_cast<const KeptRequest*>(
            reinterpret_cast<const char*>(this) + kept_offset(id_len_)));
    }
    /// Frees a Request made from the packed copy (the outermost hook returned).
    void trim_request() noexcept;
    WsExtras& extras() const;   ///< made on first use; trim_extras() frees it once unused
    void trim_extras() noexcept;
    WsRuntime& runtime();
    /// The peer's compression; null unless permessage-deflate was agreed.
    WsCompression* deflate() const noexcept {
        return compressing_ ? extras_->deflate.get() : nullptr;
    }
    /// Publications to one of this peer's topics (the topic registry's delivery function).
    static void deliver(void* self, const PublicationRun& run, bool named);
    /// deliver() past its common case, out of line: the common case saves no registers.
    static void deliver_slow(WsSession& s, const Publication& p);
    /// Whether one more message may be queued; applies the backpressure policy when not.
    SendResult admit();
    void write_frame(Opcode op, std::string_view payload);
    void send_close_frame(std::uint16_t code, std::string_view reason);
    /// Fails the connection: close frame with `code` (if none was sent), error hook, close hook.
    void fail(errc e, std::uint16_t code, std::string_view why);
    void report_error(errc e, std::string_view why);
    void report_close(std::uint16_t code, std::string_view reason, bool clean);
    template <class F>
    void guarded(F&& call);
    void leave_topics();
    /// The registry key of `topic`: itself, or within the peer's namespace.
    std::string topic_key(std::string_view topic) const;
    void join_list();
    void leave_list();
    /// The peer is closing for good: its timers stop, its drain waiters go (before its close
    /// hook, so what the hook does cannot come back to it).
    void let_go();

    // Laid out for the many idle peers: the small fields first, where they fill the tail of
    // Session (its kind after the vtable pointer), the flags as bits, the id's characters after
    // the session (kept_offset()).
    std::uint8_t id_len_ = 0;
    std::uint8_t hook_depth_ = 0;   ///< nested hook calls (guarded)
    bool close_sent_ : 1;
    bool close_received_ : 1;
    bool close_reported_ : 1;
    bool ping_outstanding_ : 1;
    bool in_hook_failure_ : 1;
    bool listed_ : 1;
    bool close_timed_ : 1;   ///< tick_ is the close deadline (a close frame went out)
    bool compressing_ : 1;   ///< permessage-deflate was agreed (extras_->deflate)
    /// A tick of the loop's clock, its low 32 bits: of the last input, or once a close frame
    /// was sent (close_timed_), the close deadline. tick() widens it against the clock, exact within 2^31
    /// ticks (6.8 years at the default 100 ms resolution; deadlines and idle peers end sooner).
    std::uint32_t tick_ = 0;
    Connection& conn_;
    const WsEndpoint& ep_;
    WsReaderCore reader_;   ///< fed max_message(): the limit is the route's, not kept per peer
    mutable Box<WsExtras> extras_;     ///< null while the peer uses none of them
    WsSession* list_prev_ = nullptr;   ///< the route's PeerList
    WsSession* list_next_ = nullptr;

    std::uint64_t max_message() const noexcept;   ///< the route's, as WsReader clamps it
    void note_rx() noexcept {
        if (!close_timed_) tick_ = static_cast<std::uint32_t>(conn_.loop().now_tick());
    }
    std::uint64_t tick() const noexcept {
        const std::uint64_t now = conn_.loop().now_tick();
        const auto d = static_cast<std::int32_t>(tick_ - static_cast<std::uint32_t>(now));
        return now + static_cast<std::uint64_t>(static_cast<std::int64_t>(d));
    }
};

// ---- WsSession ----------------------------------------------------------------------
template <class F>
void WsSession::guarded(F&& call) {
    ++hook_depth_;
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
    if (--hook_depth_ == 0 && extras_) trim_request();   // no extras_: nothing to trim
}

inline void WsSession::on_start() {
    conn_.rearm_timer();
    if (ep_.namespace_of) {
        guarded([this] { runtime().ns = ep_.namespace_of(request()); });
        if (close_reported_) return;
    }
    join_list();
    if (ep_.open) guarded([this] { ep_.open(ep_.handler, peer()); });
    if (!ep_.keep_request && extras_) {
        extras_->request.reset();
        trim_extras();
    }
}

inline void WsSession::on_data(char* p, std::size_t n) {
    note_rx();
    ping_outstanding_ = false;
    // The read's publications to one topic go out together: one walk of its subscribers.
    Loop::PublicationHold hold(conn_.loop());
    if (!reader_.done()) reader_.feed(p, n, *this, max_message());
    if (reader_.idle()) reader_.release_buffers();   // idle peers hold no buffer
}

inline bool WsSession::is_open() const noexcept {
    return !close_sent_ && !close_received_ && !close_reported_ && !conn_.closing();
}

inline ReadyState WsSession::ready_state() const noexcept {
    if (close_reported_ || !conn_.is_open()) return ReadyState::closed;
    if (close_sent_ || close_received_ || conn_.closing()) return ReadyState::closing;
    return ReadyState::open;
}

inline bool WsSession::wants_input() const noexcept {
    // A peer that sends faster than it reads our replies is not read further until half the
    // send cap has drained, so replies to its own input never reach the cap (one read adds at
    // most a read budget's worth).
    return !conn_.out().over(conn_.out().cap() / 2);
}

inline void WsSession::on_message(Opcode op, std::string_view payload) {
    if (close_sent_ || close_reported_ || !ep_.message) return;   // closing: discard (§7.1.4)
    if (payload.size() >= 4096 && conn_.out().can_borrow(payload))
        conn_.loop().reader_frame = payload.size() + frame_header_size(payload.size(), true);
    const Message m(payload, op == Opcode::binary);
    guarded([&] { ep_.message(ep_.handler, peer(), m); });
}

inline void WsSession::on_compressed_message(Opcode op, std::string_view payload) {
    WsCompression* const codec = deflate();
    if (close_sent_ || close_reported_ || !codec) return;   // closing: discard (§7.1.4)
    std::string_view inflated;
    // max_message_bytes limits the inflated size (a small compressed message may be a bomb):
    // inflation stops one byte past it.
    const std::uint64_t limit64 = max_message();
    const std::size_t limit =
        limit64 < ~std::size_t(0) ? static_cast<std::size_t>(limit64) : ~std::size_t(0) - 1;
    const InflateOutcome r = codec->inflate(payload, limit, op == Opcode::text, inflated);
    if (r != InflateOutcome::ok) codec->finished_message();   // a refused bomb's buffer goes
    switch (r) {
        case InflateOutcome::ok:
            break;
        case InflateOutcome::too_big:
            fail(errc::message_too_big, 1009, "inflated message over max_message_bytes");
            return;
        case InflateOutcome::corrupt:
            // RFC 7692 names no close code for data that does not inflate; RFC 6455 §7.4.1 gives
            // 1007 to data inconsistent with the message's type, as for broken UTF-8.
            fail(errc::invalid_compressed_data, 1007, "compressed message does not inflate");
            return;
        case InflateOutcome::not_utf8:
            fail(errc::invalid_utf8, 1007, "text message is not UTF-8");
            return;
        case InflateOutcome::no_memory:
            fail(errc::out_of_memory, 1011, "no memory for zlib to inflate a message");
            return;
    }
    on_message(op, inflated);
    codec->finished_message();
}

inline void WsSession::on_ping(std::string_view payload) {
    settle();
    if (!close_sent_ && !conn_.closing()) write_frame(Opcode::pong, payload);   // §5.5.2
}

inline void WsSession::on_close(std::uint16_t code, std::string_view reason) {
    settle();   // publications held before the close came go out before its echo
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

inline void WsSession::fail(errc e, std::uint16_t code, std::string_view why) {
    settle();
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
            ep_.error(ep_.handler, peer(), err);
        } catch (...) {   // an error hook that throws has nowhere left to report to
        }
#else
        ep_.error(ep_.handler, peer(), err);
#endif
    } else {
        conn_.loop().core.report(request(), e, err.message);
    }
}

inline void WsSession::report_close(std::uint16_t code, std::string_view reason, bool clean) {
    if (close_reported_) return;
    leave_topics();   // before the hook: what it publishes does not come back to this peer
    close_reported_ = true;
    let_go();
    if (!ep_.close) return;
    const CloseInfo info{code, reason, clean};
#ifndef WISP_NO_EXCEPTIONS
    try {
        ep_.close(ep_.handler, peer(), info);
    } catch (const std::exception& ex) {
        report_error(errc::handler_exception, ex.what());
    } catch (...) {
        report_error(errc::handler_exception, "unknown exception");
    }
#else
    ep_.close(ep_.handler, peer(), info);
#endif
    if (hook_depth_ == 0 && extras_) trim_request();
}

inline void WsSession::on_closed() {
    // No close frame came back: 1006 (§7.1.5), or the code we sent if we were closing.
    if (close_reported_) return;
    report_close(1006, {}, false);
}

inline void WsSession::on_shutdown() {
    if (close_sent_ || close_reported_) return;
    close(1001, "server shutting down");
}

inline std::uint64_t WsSession::deadline() const noexcept {
    if (close_sent_) return close_timed_ ? tick() : 0;
    const auto half = conn_.loop().ticks(conn_.loop().core.options.limits.ws_idle_timeout / 2);
    return tick() + half * (ping_outstanding_ ? 2 : 1);
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

inline void WsSession::on_low_water() {
    if (ep_.drain && !close_reported_) guarded([this] { ep_.drain(ep_.handler, peer()); });
}

inline void WsSession::on_drained() {
    // The read pump, when it runs, rearms the timer and reads on when it returns.
    const bool pump = conn_.reading();
    if (!pump) conn_.rearm_timer();   // back from the send timeout to the idle deadline
    if (extras_ && extras_->runtime && !extras_->runtime->when_drained.empty() &&
        !close_reported_) {
        auto waiting = std::move(extras_->runtime->when_drained);
        extras_->runtime->when_drained.clear();
        for (auto& fn : waiting) {
            if (close_reported_) break;
            guarded([&] { fn(peer()); });
        }
    }
    if (!pump) conn_.resume_reading();   // if reading paused on a full queue
}

inline void WsSession::write_frame(Opcode op, std::string_view payload) {
    const std::size_t n = payload.size();
    const std::size_t header = frame_header_size(n);   // server frames: no mask
    // A large payload that is this peer's own input (an echo) is queued from the receive
    // buffer, not copied; small ones are cheaper to copy next to their header.
    SendQueue& q = conn_.out();
    if (n >= 4096 && q.can_borrow(payload)) {
        encode_frame_header(q.reserve(header), op, true, n, nullptr);
        q.borrow(payload);
        return;
    }
    char* out = q.reserve(header + n);
    encode_frame_header(out, op, true, n, nullptr);
    if (n != 0) std::memcpy(out + header, payload.data(), n);
}

inline void WsSession::send_close_frame(std::uint16_t code, std::string_view reason) {
    char payload[125];
    const std::size_t n = encode_close_payload(payload, code, reason);
    write_frame(Opcode::close, std::string_view(payload, n));
    tick_ = static_cast<std::uint32_t>(
        conn_.loop().ticks_from_now(conn_.loop().core.options.limits.ws_close_timeout));
    close_timed_ = true;
    conn_.rearm_timer();
}

inline SendResult WsSession::admit() {
    if (close_sent_ || close_reported_ || conn_.closing()) return SendResult::closed;
    // A slow peer pays alone: its own cap and policy (SendQueue::room decides).
    switch (conn_.out().room()) {
        case SendQueue::Room::ok:
            return SendResult::sent;
        case SendQueue::Room::closed:
            return SendResult::closed;
        case SendQueue::Room::full:
            break;
    }
    if (close_reported_ || conn_.closing()) return SendResult::closed;
    if (conn_.out().policy() == BackpressurePolicy::drop) return SendResult::dropped;
    fail(errc::backpressure, 1008, "send queue over Limits::max_queued_bytes");
    return SendResult::closed;
}

inline SendResult WsSession::send_data(Opcode op, std::string_view payload, bool compress) {
    const SendResult r = admit();
    if (r != SendResult::sent) return r;
    if (!(compress && compressing_ && deflate()->write(conn_.out(), op, payload)))
        write_frame(op, payload);
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

// ---- topics -------------------------------------------------------------------------
inline std::string WsSession::topic_key(std::string_view topic) const {
    const std::string_view ns = namespace_name();
    if (ns.empty()) return std::string(topic);
    return namespaced_topic(ns, topic);   // App::publish_to makes the same key
}

inline void WsSession::leave_topics() {
    if (extras_ && extras_->topics.get()) extras_->peer_topics()->leave(*this);
}

inline SendResult WsSession::publish(std::string_view topic, std::string_view data, bool binary,
                                     bool compress) {
    // Once per publication, never per subscriber: one bad byte would close every browser.
    if (!binary && !is_valid_utf8(data)) return SendResult::invalid;
    // An un-namespaced peer publishes under the topic itself: no key is made.
    AppCore& core = conn_.loop().core;
    if (namespace_name().empty())
        core.publish(topic, data, binary, compress, &conn_.loop(), this, id());
    else core.publish(topic_key(topic), data, binary, compress, &conn_.loop(), this, id());
    return SendResult::sent;
}

inline void WsSession::deliver(void* self, const PublicationRun& run, bool) {
    WsSession& s = *static_cast<WsSession*>(self);
    SendQueue& q = s.conn_.out();
    // The common case, as deliver_slow() would do each: made on this loop, an open peer without
    // compression, below its cap before the last one (so below it before each): one entry.
    if (WISP_LIKELY(run.plain() && !s.compressing_ && !s.close_sent_ && !s.close_reported_ &&
                    !s.conn_.closing() && q.size() + run.ws_bytes_before_last() < q.cap()))
        if (const SharedBuffer& f = run.ws_frames()) return q.write_shared(f, 0, f.size());
    for (std::size_t i = 0; i < run.size(); ++i) deliver_slow(s, run[i]);
}

WISP_NOINLINE inline void WsSession::deliver_slow(WsSession& s, const Publication& p) {
    // A deferred delivery (a retained topic) skips its publisher here, by id.
    if (WISP_UNLIKELY(!p.sender.empty()) && p.sender == s.id()) return;
    // A slow subscriber pays alone: its own cap and policy, as for its direct sends.
    if (s.admit() != SendResult::sent) return;
    // Without context takeover every peer with the same window shares one compressed frame.
    if (!(s.compressing_ && p.compress && s.deflate()->write_publication(s.conn_.out(), p)))
        s.conn_.out().write_shared(p.ws_frame, 0, p.ws_frame.size());
}

}   // namespace detail

inline detail::WsSession& Peer::s_() const noexcept {
    return static_cast<detail::WsSession&>(const_cast<Peer&>(*this));
}
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
