// SPDX-License-Identifier: MIT
// wisp/detail/stream_session.hpp — one event stream (WHATWG HTML §9.2): the session of the
// connection that serves it, and what every stream keeps, however idle.
// Owns: the stream's end (once), its flags, its topics and their delivery, chunk framing of
// events, the heartbeat through the connection's timer slot, resuming retained topics after
// the Last-Event-ID (what it missed first, then live events, none twice), the response head,
// and letting go of the handles' part (StreamState) when the stream starts and nothing can
// reach it any more. Defines StreamState's members, which reach the session.
// Must not know: sockets or transports (bytes go to the connection's SendQueue), HTTP parsing.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/bridge.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/http_response.hpp>
#include <wisp/detail/http_session.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <wisp/detail/session.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/stream_state.hpp>
#include <wisp/detail/stream_topics.hpp>
#include <wisp/detail/timers.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/box.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// One event stream, and once it started, the session of its connection: the client has
/// nothing to say (its bytes are dropped, its FIN ends the stream). Made with its StreamState,
/// which owns it until the connection takes it. I/O thread, but for closed(), which handles
/// read from any thread.
class StreamSession final : public Session {
public:
    StreamSession(Connection* conn, StreamState& state, bool chunked) noexcept;

    Connection* connection() const noexcept { return conn_; }   ///< null for App::fetch
    bool closed() const noexcept { return closed_.load(); }
    bool started() const noexcept { return (flow_ & Flow::head_sent) != 0; }
    bool chunked() const noexcept { return chunked_; }
    bool on_io_thread() const { return conn_ == nullptr || Loop::current() == &conn_->loop(); }

    /// Queues formatted event bytes (not yet chunk-framed): kept until the head goes out, then
    /// written to the connection.
    SendResult write_event_bytes(std::string_view bytes);
    /// Whether one more event may be queued on the started stream; applies the backpressure
    /// policy when not.
    SendResult admit();
    /// Ends the stream from our side.
    void end();
    /// On the loop's thread: delivers the publications it holds (Loop::settle) before the
    /// stream is looked at or changed.
    void settle() const noexcept {
        if (conn_ != nullptr && Loop::current() == &conn_->loop()) conn_->loop().settle();
    }
    /// The head was written and the connection took this session: what was pushed before goes
    /// out; the state is let go when nothing can reach it any more (`state` is the exchange's
    /// reference, the only one then).
    void start(std::shared_ptr<StreamState> state);

    bool subscribe(std::string_view topic, bool named);
    bool unsubscribe(std::string_view topic);
    /// Queues `p` as an event, as deliver() does without asking whether it is new.
    void write_publication(const Publication& p, bool named);
    /// subscribe() to a retained topic: when the request had a Last-Event-ID that is a
    /// retained id, what this stream missed goes out first (from the ring, or asked of the
    /// bridge, while live ones wait), and from then on nothing at or before the last id given.
    void resume(const std::string& topic, EventLog& log, bool named);
    /// The bridge's answer to resume(): the missed publications, oldest first.
    void resumed(const std::string& topic, bool ok,
                 std::vector<std::shared_ptr<const Publication>> missed);

    // ---- Session ----
    void on_data(char*, std::size_t) override {}
    void on_peer_eof() override { conn_->terminate(); }
    inline void on_drained() override;
    inline std::uint64_t deadline() const noexcept override;
    inline void on_timer() override;   ///< the heartbeat
    void on_shutdown() override { end(); }
    /// The connection is gone: on_closed, once; the state loses the connection's reference.
    inline void on_closed() override;

private:
    /// The topic registry's delivery function.
    static void deliver_to(void* self, const PublicationRun& run, bool named);
    /// deliver_to() past its common case, out of line: the common case saves no registers.
    void deliver_slow(const Publication& p, bool named);
    void deliver(const Publication& p, bool named);
    void fire_closed();
    void note_write() noexcept { tick_ = static_cast<std::uint32_t>(conn_->loop().now_tick()); }
    /// The last write's tick, widened against the clock (exact within 2^31 ticks: 6.8 years
    /// at the default 100 ms resolution; the heartbeat writes long before).
    std::uint64_t tick() const noexcept {
        const std::uint64_t now = conn_->loop().now_tick();
        const auto d = static_cast<std::int32_t>(tick_ - static_cast<std::uint32_t>(now));
        return now + static_cast<std::uint64_t>(static_cast<std::int64_t>(d));
    }
    std::uint64_t heartbeat_due() const noexcept {
        const Loop& l = conn_->loop();
        return tick() + l.ticks(l.core.options.limits.sse_heartbeat);
    }

    // Laid out for the many idle streams, 56 B (one 64 B heap chunk): the small fields fill the
    // tail of Session's first word (its kind after the vtable pointer).
    std::atomic<bool> closed_{false};
    /// Whether the head went out (events go to the connection) and whether the state has
    /// resumes (deliveries ask them first), in one byte: a delivery's common case is one
    /// compare, flow_ == head_sent.
    enum Flow : std::uint8_t { head_sent = 1, resuming = 2 };
    std::uint8_t flow_ = 0;
    bool chunked_;         ///< HTTP/1.1: chunked; HTTP/1.0: close-delimited
    std::uint32_t tick_;   ///< the last write's tick, its low 32 bits (tick())
    Connection* conn_;
    /// The handles' part: null once nothing can reach the stream (an idle stream), or once the
    /// connection is gone.
    StreamState* state_;
    StreamTopics topics_;
};

// ---- StreamState, the members that reach the session ----------------------------------
/// start_stream's work (the head, the hand-over), reached through StreamState::start_fn.
void start_stream_session(HttpSession& http, std::shared_ptr<StreamState> st, bool head,
                          bool keep_alive);

inline StreamState::StreamState(Connection* c, const Request& req)
    : owned(make_box<StreamSession>(
          c, *this, req.http_major() > 1 || (req.http_major() == 1 && req.http_minor() >= 1))),
      start_fn(&start_stream_session),
      end_fn([](StreamSession& s) { s.end(); }),
      session_(owned.get()) {
    if (c) {
        c->retain();   // the memory, not the socket: handles may outlive the connection
        gate = c->loop().gate;
    }
    if (auto id = req.header("last-event-id")) {
        last_event_id = std::string(*id);
        has_last_event_id = true;
    }
}

inline StreamState::~StreamState() {
    if (Connection* c = session_->connection()) c->release();
}

inline SendResult StreamState::push(const std::shared_ptr<StreamState>& self, std::string bytes) {
    StreamSession& s = self->session();
    if (s.closed()) return SendResult::closed;
    if (s.on_io_thread()) return s.write_event_bytes(bytes);
    // Another thread: through the loop's gate, so a push after the app ended does nothing.
    const bool posted = self->gate->post_paced(
        [self, b = std::move(bytes)] { self->session().write_event_bytes(b); },
        Loop::current() == nullptr);
    return posted ? SendResult::sent : SendResult::closed;   // as far as is known here
}

inline void StreamState::on_drained() {
    const StreamSession& s = session();
    if (extras && !extras->when_drained.empty() && !s.closed()) {
        auto keep = shared_from_this();
        auto waiting = std::move(extras->when_drained);
        extras->when_drained.clear();
        for (auto& fn : waiting)
            if (!s.closed()) fn();
    }
    if (!drain_fn || s.closed()) return;
    auto keep = shared_from_this();   // the callback may drop the last handle
    // Held aside while it runs: a push inside it may end the stream, which clears callbacks.
    auto fn = std::move(drain_fn);
    drain_fn = nullptr;
    fn();
    if (!s.closed() && !drain_fn) drain_fn = std::move(fn);
}

inline void StreamState::ended() {
    if (extras) {   // an ended stream's timers never fire; its drain waiters never run
        for (const auto& t : extras->timers) {
            t->cancelled = true;
            session().connection()->loop().stop_timer(*t);
        }
        extras->timers.clear();
        extras->when_drained.clear();
    }
    // Callbacks may hold handles to this state: drop them after the call, breaking cycles.
    auto fn = std::move(closed_fn);
    closed_fn = nullptr;
    drain_fn = nullptr;
    if (fn) fn();
}

// ---- StreamSession ----------------------------------------------------------------------
inline StreamSession::StreamSession(Connection* conn, StreamState& state, bool chunked) noexcept
    : Session(SessionKind::stream),
      chunked_(chunked),
      tick_(conn ? static_cast<std::uint32_t>(conn->loop().now_tick()) : 0),
      conn_(conn),
      state_(&state) {}

inline SendResult StreamSession::write_event_bytes(std::string_view bytes) {
    if (conn_) conn_->loop().settle();   // held publications first, in order
    if (closed_.load(std::memory_order_relaxed)) return SendResult::closed;
    if (!started()) {
        // Before the head goes out (or for App::fetch, which has no connection and no cap):
        // kept in the state (which a stream has until it starts), framed as it will be sent.
        std::string& pending = state_->pending;
        if (conn_ == nullptr) {
            pending.append(bytes);
            return SendResult::sent;
        }
        const Options& o = conn_->loop().core.options;
        if (pending.size() >= o.limits.max_queued_bytes) {
            if (o.backpressure == BackpressurePolicy::drop) return SendResult::dropped;
            end();
            return SendResult::closed;
        }
        if (chunked_) append_chunk(pending, bytes);
        else pending.append(bytes);
        return SendResult::sent;
    }
    const SendResult r = admit();
    if (r != SendResult::sent) return r;
    // One chunk, written straight into the output queue.
    if (chunked_)
        write_chunk(conn_->out().reserve(chunk_overhead(bytes.size()) + bytes.size()), bytes);
    else conn_->out().write(bytes);
    note_write();
    return SendResult::sent;
}

inline SendResult StreamSession::admit() {
    if (closed_.load() || conn_->closing()) return SendResult::closed;
    switch (conn_->out().room()) {
        case SendQueue::Room::ok:
            return SendResult::sent;
        case SendQueue::Room::closed:
            return SendResult::closed;
        case SendQueue::Room::full:
            break;
    }
    if (closed_.load() || conn_->closing()) return SendResult::closed;
    if (conn_->out().policy() == BackpressurePolicy::drop) return SendResult::dropped;
    end();
    return SendResult::closed;
}

inline void StreamSession::start(std::shared_ptr<StreamState> state) {
    conn_->loop().settle();   // what was held goes out as it would have before the head
    flow_ |= Flow::head_sent;
    if (!state->pending.empty()) {
        conn_->out().write(state->pending);
        std::string().swap(state->pending);
    }
    if (closed_.load()) {   // ended before it started: the events, then the end
        if (chunked_) conn_->out().write("0\r\n\r\n");
        conn_->close_after_flush();
    }
    // Only the exchange's reference is left, and no weak one was made: nothing can reach the
    // state again (a count of 1 seen here stays 1: only a copy or a weak reference could add
    // to it), and an idle stream keeps only this session.
    bool alone = state.use_count() == 1;
    // A count of 1 read here may come from a reference dropped on another thread after it made
    // a handle (weak_made): the drop is a release, so this fence makes that flag visible.
    if (alone) std::atomic_thread_fence(std::memory_order_acquire);
    if (alone && state->idle()) state_ = nullptr;
    else state->kept = state;   // kept for the handles until the connection goes
}

inline void StreamSession::end() {
    settle();
    if (closed_.exchange(true)) return;
    if (started() && conn_ && !conn_->closing()) {
        if (chunked_) conn_->out().write("0\r\n\r\n");
        conn_->close_after_flush();
    }
    fire_closed();
}

inline void StreamSession::on_closed() {
    closed_.store(true);
    fire_closed();
    // Handles may still hold the state, and the state holds this connection's memory: the
    // connection's reference goes (the state with it, when no handle is left).
    if (StreamState* s = std::exchange(state_, nullptr)) {
        std::shared_ptr<StreamState> let_go = std::move(s->kept);
    }
}

inline void StreamSession::fire_closed() {
    while (!topics_.empty()) unsubscribe(topics_.back());
    if (state_) state_->ended();
}

inline void StreamSession::on_drained() {
    conn_->rearm_timer();
    if (state_) state_->on_drained();
}

inline std::uint64_t StreamSession::deadline() const noexcept {
    if (conn_->loop().core.options.limits.sse_heartbeat.count() <= 0) return 0;
    return heartbeat_due();
}

inline void StreamSession::on_timer() {
    if (closed_.load()) return;
    if (conn_->loop().now_tick() >= heartbeat_due()) write_event_bytes(":\n");
    conn_->rearm_timer();
}

// ---- topics ---------------------------------------------------------------------------
inline bool StreamSession::subscribe(std::string_view topic, bool named) {
    if (closed_.load() || conn_ == nullptr) return false;
    if (named && (topic.empty() || !is_valid_event_field(topic))) return false;
    std::string t(topic);
    Loop& loop = conn_->loop();
    if (!loop.topics.add(t, TopicSub{this, &StreamSession::deliver_to, named})) return false;
    loop.core.count_subscriber(t, +1, &loop);
    topics_.add(t);
    if (EventLog* log = loop.core.retained_log(t)) resume(t, *log, named);
    return true;
}

inline bool StreamSession::unsubscribe(std::string_view topic) {
    if (!topics_.contains(topic)) return false;
    const std::string t(topic);
    Loop& loop = conn_->loop();
    loop.topics.remove(t, TopicSub{this, &StreamSession::deliver_to, false});
    loop.core.count_subscriber(t, -1, &loop);
    if ((flow_ & Flow::resuming) != 0 && state_) {
        auto& rs = *state_->resumes;
        if (StreamState::Resume* r = state_->find_resume(t)) rs.erase(rs.begin() + (r - rs.data()));
    }
    topics_.remove(t);
    return true;
}

inline void StreamSession::resume(const std::string& topic, EventLog& log, bool named) {
    StreamState& st = *state_;   // subscribe() comes through a handle: the state is there
    if (!st.has_last_event_id) return;
    const std::optional<EventId> after = EventId::parse(st.last_event_id);
    if (!after) return;   // not one of ours (an id the app pushed itself): live events only
    if (!st.resumes) st.resumes = make_box<std::vector<StreamState::Resume>>();
    flow_ |= Flow::resuming;
    st.resumes->push_back(StreamState::Resume{topic, *after, named, false, {}});
    AppCore& core = conn_->loop().core;
    if (core.bridge) {
        st.weak_made.store(true, std::memory_order_relaxed);
        auto done = [w = st.weak_from_this(), g = st.gate, topic](
                        bool ok, std::vector<std::shared_ptr<const Publication>> missed) {
            g->post([w, topic, ok, missed = std::move(missed)]() mutable {
                if (auto s = w.lock()) s->session().resumed(topic, ok, std::move(missed));
            });
        };
        if (core.bridge->history(topic, *after, log.capacity(), std::move(done)))
            st.resumes->back().waiting = true;
        return;   // Redis away: live events only (they carry no id meanwhile)
    }
    // One process: the ring, under the lock that publishers hold while they queue to every
    // loop, so each publication is either in this copy or queued after it (and newer than
    // `last`); those queued before it and copied too are skipped by id on arrival.
    std::vector<std::shared_ptr<const Publication>> missed;
    EventId last;
    {
        auto lock = log.lock();
        last = log.replay(*after, [&missed](const std::shared_ptr<const Publication>& p) {
            missed.push_back(p);
        });
    }
    st.resumes->back().last = last;
    // Outside the lock: a write may end the stream, whose close hook may publish again.
    for (const auto& p : missed) {
        if (closed_.load()) return;
        write_publication(*p, named);
    }
}

inline void StreamSession::resumed(const std::string& topic, bool ok,
                                   std::vector<std::shared_ptr<const Publication>> missed) {
    StreamState* st = state_;
    StreamState::Resume* r = st && st->resumes ? st->find_resume(topic) : nullptr;
    if (r == nullptr || !r->waiting || closed_.load()) return;
    // Taken out first: a write may end the stream, which drops its resumes.
    auto held = std::move(r->held);
    const bool named = r->named;
    EventId last = r->last;
    r->waiting = false;
    r->held.clear();
    if (ok)
        for (const auto& p : missed) {
            if (p->id <= last) continue;
            if (closed_.load()) return;
            write_publication(*p, named);
            last = p->id;
        }
    for (const auto& h : held) {
        if (h.first <= last) continue;   // in the answer already
        if (closed_.load()) return;
        write_event_bytes(h.second.view());
        last = h.first;
    }
    if (StreamState::Resume* again = state_ ? state_->find_resume(topic) : nullptr)
        again->last = last;
}

inline void StreamSession::deliver(const Publication& p, bool named) {
    if (closed_.load() || p.binary) return;   // binary: not for SSE
    if (WISP_UNLIKELY((flow_ & Flow::resuming) != 0) && state_ && !p.id.empty())
        if (StreamState::Resume* r = state_->find_resume(p.topic)) {
            if (r->waiting) {   // the bridge looks up what came before: this waits for it
                r->held.emplace_back(p.id, p.sse(named, false));
                return;
            }
            if (p.id <= r->last) return;   // given by the replay already
            r->last = p.id;
        }
    write_publication(p, named);
}

inline void StreamSession::write_publication(const Publication& p, bool named) {
    if (!started()) {
        write_event_bytes(p.sse(named, false).view());   // kept until the head goes out
        return;
    }
    if (admit() != SendResult::sent) return;
    const SharedBuffer& b = p.sse(named, chunked_);
    conn_->out().write_shared(b, 0, b.size());
    note_write();
}

inline void StreamSession::deliver_to(void* self, const PublicationRun& run, bool named) {
    StreamSession& s = *static_cast<StreamSession*>(self);
    // The common case, what deliver() does for each: a started stream (so it has a connection)
    // that resumes nothing, open, given text publications, below its cap before the last one
    // (so below it before each): their events as one entry.
    if (WISP_LIKELY(s.flow_ == Flow::head_sent && run.text() && !s.closed_.load() &&
                    !s.conn_->closing())) {
        SendQueue& q = s.conn_->out();
        const SharedBuffer& b = run.sse_events(named, s.chunked_);
        if (b && q.size() + (b.size() - run.back().sse(named, s.chunked_).size()) < q.cap()) {
            q.write_shared(b, 0, b.size());
            s.note_write();
            return;
        }
    }
    for (std::size_t i = 0; i < run.size(); ++i) s.deliver_slow(run[i], named);
}

WISP_NOINLINE inline void StreamSession::deliver_slow(const Publication& p, bool named) {
    deliver(p, named);
}

// ---- the head ---------------------------------------------------------------------------
inline void start_stream(HttpSession& http, std::shared_ptr<StreamState> st, bool head,
                         bool keep_alive) {
    const auto start = st->start_fn;
    start(http, std::move(st), head, keep_alive);
}

inline void start_stream_session(HttpSession& http, std::shared_ptr<StreamState> st, bool head,
                                 bool keep_alive) {
    Connection& conn = http.connection();
    Loop& loop = conn.loop();
    StreamSession& s = st->session();
    const bool chunked = s.chunked();
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
        s.end();
        http.write_response(status(500), head, false);
        return;
    }
    if (head) {
        // RFC 9110 §9.3.2: the head GET would get, and nothing after it (no event, no chunk):
        // the response ends with its head, so a request pipelined behind it is read as usual.
        h.append(chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n");
        if (chunked && !keep_alive) h.append("Connection: close\r\n");
        h.append("\r\n");
        conn.out().write(h);
        s.end();   // never started: on_closed runs, what was pushed is dropped
        if (!chunked || !keep_alive) conn.close_after_flush();
        return;
    }
    h.append(chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n");
    conn.out().write(h);
    conn.switch_session(std::move(st->owned));
    s.start(std::move(st));
    conn.rearm_timer();
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
