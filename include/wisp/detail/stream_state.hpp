// SPDX-License-Identifier: MIT
// wisp/detail/stream_state.hpp — one event stream's state, shared by its handles (EventStream)
// and, once started, by its connection's StreamSession.
// Owns: what the handles reach (push, subscribe, callbacks, headers, Last-Event-ID), events
// pushed before the head went out, chunk framing of events, the stream's end (once), its
// heartbeat clock, its topics, and resuming retained topics after its Last-Event-ID (what it
// missed first, then live events, none twice).
// Must not know: sockets or transports (bytes go to the connection's SendQueue), HTTP parsing.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/asio.hpp>
#include <wisp/detail/bridge.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/timers.hpp>
#include <wisp/detail/topics.hpp>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Shared by every EventStream copy and, once started, by the Connection. Everything but
/// `closed` is touched on the connection's I/O thread only (or, before the stream starts, on
/// the handler's thread, which is that thread).
class StreamState : public std::enable_shared_from_this<StreamState> {
public:
    StreamState(Connection* conn, const Request& req);
    ~StreamState();
    StreamState(const StreamState&) = delete;
    StreamState& operator=(const StreamState&) = delete;

    /// Queues formatted event bytes (not yet chunk-framed). I/O thread.
    SendResult write_event_bytes(std::string_view bytes);
    /// Writes now when called on the I/O thread, else posts the write there.
    static SendResult push(const std::shared_ptr<StreamState>& self, std::string bytes);
    bool on_io_thread() const;
    /// Whether one more event may be queued on the started stream; applies the backpressure
    /// policy when not. I/O thread.
    SendResult admit();
    /// Ends the stream from our side. I/O thread.
    void end();

    // ---- from the StreamSession ----
    /// The head was written: move what was pushed before into the connection.
    void started();
    void on_transport_closed();   ///< the connection is gone: on_closed, once
    void on_drained();
    void on_heartbeat();
    std::uint64_t deadline() const noexcept;
    /// On the loop's thread: delivers the publications it holds (Loop::settle) before the
    /// stream is looked at or changed.
    void settle() const;
    bool subscribe(std::string_view topic, bool named);
    bool unsubscribe(std::string_view topic);
    void deliver(const Publication& p, bool named);
    /// Queues `p` as an event, as deliver() does without asking whether it is new.
    void write_publication(const Publication& p, bool named);
    /// subscribe() to a retained topic: when the request had a Last-Event-ID that is a
    /// retained id, what this stream missed goes out first (from the ring, or asked of the
    /// bridge, while live ones wait), and from then on nothing at or before the last id given.
    void resume(const std::string& topic, EventLog& log, bool named);
    /// The bridge's answer to resume(): the missed publications, oldest first.
    void resumed(const std::string& topic, bool ok,
                 std::vector<std::shared_ptr<const Publication>> missed);
    /// The topic registry's delivery function.
    static void deliver_to(void* self, const PublicationRun& run, bool named);
    /// deliver(), out of line: deliver_to() past its common case saves no registers.
    void deliver_slow(const Publication& p, bool named);
    std::vector<std::string> topics;

    Connection* conn;   ///< null for App::fetch (events collect in `pending`)
    std::atomic<bool> closed{false};
    bool is_started = false;
    bool chunked = true;              ///< HTTP/1.1: chunked; HTTP/1.0: close-delimited
    bool has_last_event_id = false;   ///< (with the flags above: one word for the four)
    Headers headers;
    std::string last_event_id;
    std::string pending;   ///< formatted events pushed before the head went out
    std::function<void()> closed_fn;
    std::function<void()> drain_fn;
    std::shared_ptr<LoopGate> gate;   ///< the connection's loop, for other threads (null: fetch)
    /// Timers and drain waiters (EventStream::every, when_drained), made on first use.
    struct Extras {
        std::vector<std::shared_ptr<TimerState>> timers;
        std::vector<std::function<void()>> when_drained;
    };
    std::unique_ptr<Extras> extras;
    /// A retained topic this stream resumes: the last id it was given, and while the bridge
    /// looks up what it missed, the live events that came meanwhile (plain SSE bytes).
    struct Resume {
        std::string topic;
        EventId last;
        bool named = false;
        bool waiting = false;
        std::vector<std::pair<EventId, SharedBuffer>> held;
    };
    std::unique_ptr<std::vector<Resume>> resumes;   ///< made by the first resume()
    Resume* find_resume(std::string_view topic);
    std::uint64_t last_write_tick = 0;

private:
    void fire_closed();
};

// ---- StreamState ----------------------------------------------------------------------
inline StreamState::StreamState(Connection* c, const Request& req) : conn(c) {
    if (conn) {
        conn->retain();   // the memory, not the socket: handles may outlive the connection
        last_write_tick = conn->loop().now_tick();
        gate = conn->loop().gate;
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
    // Another thread: through the loop's gate, so a push after the app ended does nothing.
    const bool posted =
        self->gate->post([self, b = std::move(bytes)] { self->write_event_bytes(b); });
    return posted ? SendResult::sent : SendResult::closed;   // as far as is known here
}

inline SendResult StreamState::write_event_bytes(std::string_view bytes) {
    if (conn) conn->loop().settle();   // held publications first, in order
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
    if (chunked)
        write_chunk(conn->out().reserve(chunk_overhead(bytes.size()) + bytes.size()), bytes);
    else conn->out().write(bytes);
    last_write_tick = conn->loop().now_tick();
    return SendResult::sent;
}

inline SendResult StreamState::admit() {
    if (closed.load() || conn->closing()) return SendResult::closed;
    switch (conn->out().room()) {
        case SendQueue::Room::ok:
            return SendResult::sent;
        case SendQueue::Room::closed:
            return SendResult::closed;
        case SendQueue::Room::full:
            break;
    }
    if (closed.load() || conn->closing()) return SendResult::closed;
    if (conn->out().policy() == BackpressurePolicy::drop) return SendResult::dropped;
    end();
    return SendResult::closed;
}

inline void StreamState::started() {
    conn->loop().settle();   // what was held goes out as it would have before the head
    is_started = true;
    if (!pending.empty()) {
        conn->out().write(pending);
        std::string().swap(pending);
    }
    if (closed.load()) {   // ended before it started: the events, then the end
        if (chunked) conn->out().write("0\r\n\r\n");
        conn->close_after_flush();
    }
}

inline void StreamState::end() {
    settle();
    if (closed.exchange(true)) return;
    if (is_started && conn && !conn->closing()) {
        if (chunked) conn->out().write("0\r\n\r\n");
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
    if (extras) {   // an ended stream's timers never fire; its drain waiters never run
        for (const auto& t : extras->timers) {
            t->cancelled = true;
            conn->loop().stop_timer(*t);
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

inline void StreamState::on_drained() {
    if (extras && !extras->when_drained.empty() && !closed.load()) {
        auto keep = shared_from_this();
        auto waiting = std::move(extras->when_drained);
        extras->when_drained.clear();
        for (auto& fn : waiting)
            if (!closed.load()) fn();
    }
    if (!drain_fn || closed.load()) return;
    auto keep = shared_from_this();   // the callback may drop the last handle
    // Held aside while it runs: a push inside it may end the stream, which clears callbacks.
    auto fn = std::move(drain_fn);
    drain_fn = nullptr;
    fn();
    if (!closed.load() && !drain_fn) drain_fn = std::move(fn);
}

inline void StreamState::settle() const {
    if (conn != nullptr && Loop::current() == &conn->loop()) conn->loop().settle();
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

// ---- event streams ---------------------------------------------------------------
inline bool StreamState::subscribe(std::string_view topic, bool named) {
    if (closed.load() || conn == nullptr) return false;
    if (named && (topic.empty() || !is_valid_event_field(topic))) return false;
    std::string t(topic);
    if (!conn->loop().topics.add(t, TopicSub{this, &StreamState::deliver_to, named})) return false;
    conn->loop().core.count_subscriber(t, +1, &conn->loop());
    topics.push_back(t);
    if (EventLog* log = conn->loop().core.retained_log(t)) resume(t, *log, named);
    return true;
}

inline bool StreamState::unsubscribe(std::string_view topic) {
    auto it = std::find(topics.begin(), topics.end(), topic);
    if (it == topics.end()) return false;
    conn->loop().topics.remove(*it, TopicSub{this, &StreamState::deliver_to, false});
    conn->loop().core.count_subscriber(*it, -1, &conn->loop());
    if (resumes)
        if (Resume* r = find_resume(*it)) resumes->erase(resumes->begin() + (r - resumes->data()));
    topics.erase(it);
    return true;
}

inline StreamState::Resume* StreamState::find_resume(std::string_view topic) {
    for (Resume& r : *resumes)
        if (r.topic == topic) return &r;
    return nullptr;
}

inline void StreamState::resume(const std::string& topic, EventLog& log, bool named) {
    if (!has_last_event_id) return;
    const std::optional<EventId> after = EventId::parse(last_event_id);
    if (!after) return;   // not one of ours (an id the app pushed itself): live events only
    if (!resumes) resumes = std::make_unique<std::vector<Resume>>();
    resumes->push_back(Resume{topic, *after, named, false, {}});
    AppCore& core = conn->loop().core;
    if (core.bridge) {
        auto done = [w = weak_from_this(), g = gate, topic](
                        bool ok, std::vector<std::shared_ptr<const Publication>> missed) {
            g->post([w, topic, ok, missed = std::move(missed)]() mutable {
                if (auto s = w.lock()) s->resumed(topic, ok, std::move(missed));
            });
        };
        if (core.bridge->history(topic, *after, log.capacity(), std::move(done)))
            resumes->back().waiting = true;
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
    resumes->back().last = last;
    // Outside the lock: a write may end the stream, whose close hook may publish again.
    for (const auto& p : missed) {
        if (closed.load()) return;
        write_publication(*p, named);
    }
}

inline void StreamState::resumed(const std::string& topic, bool ok,
                                 std::vector<std::shared_ptr<const Publication>> missed) {
    Resume* r = resumes ? find_resume(topic) : nullptr;
    if (r == nullptr || !r->waiting || closed.load()) return;
    // Taken out first: a write may end the stream, which drops its resumes.
    auto held = std::move(r->held);
    const bool named = r->named;
    EventId last = r->last;
    r->waiting = false;
    r->held.clear();
    if (ok)
        for (const auto& p : missed) {
            if (p->id <= last) continue;
            if (closed.load()) return;
            write_publication(*p, named);
            last = p->id;
        }
    for (const auto& h : held) {
        if (h.first <= last) continue;   // in the answer already
        if (closed.load()) return;
        write_event_bytes(h.second.view());
        last = h.first;
    }
    if (Resume* again = find_resume(topic)) again->last = last;
}

inline void StreamState::deliver(const Publication& p, bool named) {
    if (closed.load() || p.binary) return;   // binary: not for SSE
    if (WISP_UNLIKELY(resumes != nullptr) && !p.id.empty())
        if (Resume* r = find_resume(p.topic)) {
            if (r->waiting) {   // the bridge looks up what came before: this waits for it
                r->held.emplace_back(p.id, p.sse(named, false));
                return;
            }
            if (p.id <= r->last) return;   // given by the replay already
            r->last = p.id;
        }
    write_publication(p, named);
}

inline void StreamState::write_publication(const Publication& p, bool named) {
    if (!is_started) {
        write_event_bytes(p.sse(named, false).view());   // kept until the head goes out
        return;
    }
    if (admit() != SendResult::sent) return;
    const SharedBuffer& b = p.sse(named, chunked);
    conn->out().write_shared(b, 0, b.size());
    last_write_tick = conn->loop().now_tick();
}

inline void StreamState::deliver_to(void* self, const PublicationRun& run, bool named) {
    StreamState& s = *static_cast<StreamState*>(self);
    // The common case, what deliver() does for each: a started stream (so it has a connection)
    // that resumes nothing, open, given text publications, below its cap before the last one
    // (so below it before each): their events as one entry.
    if (WISP_LIKELY(s.is_started && run.text() && s.resumes == nullptr && !s.closed.load() &&
                    !s.conn->closing())) {
        SendQueue& q = s.conn->out();
        const SharedBuffer& b = run.sse_events(named, s.chunked);
        if (b && q.size() + (b.size() - run.back().sse(named, s.chunked).size()) < q.cap()) {
            q.write_shared(b, 0, b.size());
            s.last_write_tick = s.conn->loop().now_tick();
            return;
        }
    }
    for (std::size_t i = 0; i < run.size(); ++i) s.deliver_slow(run[i], named);
}

WISP_NOINLINE inline void StreamState::deliver_slow(const Publication& p, bool named) {
    deliver(p, named);
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
