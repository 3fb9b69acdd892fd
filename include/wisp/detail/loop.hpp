// SPDX-License-Identifier: MIT
// wisp/detail/loop.hpp — one event loop per I/O thread: what its connections share.
// Owns: the Reactor and its gate (posting from other threads), the receive buffer, the
// output block pool, the zlib streams its peers share (permessage-deflate without context
// takeover), the timer wheel and the user timers on it, the end-of-turn batches (writes, reads
// left for later), the list of open connections, this loop's topic subscriptions and inbox, and
// the Date header of the current second.
// Must not know: sockets and backends (the Poller and transports), protocols (sessions).
// Members that need a complete Connection are in loop_impl.hpp.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/deflate_codec.hpp>
#include <wisp/detail/http_date.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <wisp/detail/poller.hpp>
#include <wisp/detail/reactor.hpp>
#include <wisp/detail/session.hpp>
#include <wisp/detail/timer_wheel.hpp>
#include <wisp/detail/timers.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/transport.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class Connection;

/// Owners waiting for one handler posted behind the work already queued: the flush at the end
/// of a turn, reads left for later. The batch holds (TransportOwner::hold) each entry until the
/// handler has visited it.
struct OwnerBatch {
    PodVector<TransportOwner*> waiting, running;
    bool posted = false;
};

/// The sessions a loop's connections replaced and have not freed yet (Loop::retired_sessions):
/// owned here, by plain pointers in one PodVector; what is left is deleted with the loop.
struct RetiredSessions {
    struct Entry {
        Connection* conn;
        Session* session;
    };
    PodVector<Entry> list;

    RetiredSessions() noexcept = default;
    RetiredSessions(const RetiredSessions&) = delete;
    RetiredSessions& operator=(const RetiredSessions&) = delete;
    ~RetiredSessions() {
        for (const Entry& e : list) delete e.session;
    }
};

/// An I/O thread's loop. Everything here is touched only from that thread, except enqueue()
/// and the connection count. What it holds is shared by all its connections, so an idle
/// connection holds none of it:
/// - one receive buffer (connections read into it and keep only unfinished input);
/// - the dirty list: connections with output this turn, written by one gather write each at
///   the end of the turn (so replies, publications and pipelined responses coalesce);
/// - a timer wheel ticking every Options::timer_resolution for every timeout;
/// - a pool of output blocks, and the Date header of the current second.
class Loop {
public:
    Loop(AppCore& app_core, unsigned loop_index);
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    ~Loop();

    AppCore& core;
    const unsigned index;
    BlockPool pool;        // declared before reactor: handlers destroyed with it release blocks
    DeflatePool deflate;   ///< zlib streams shared by peers that keep no context (WISP_DEFLATE)
    TimerWheel wheel;
    LoopTopics topics;   ///< this loop's subscriptions (its thread only)
    Reactor reactor;
    Poller poller;   // after reactor: waits through it
    /// Posts from other threads (handles, Responders, timers) go through here; closed when
    /// the loop ends.
    const std::shared_ptr<LoopGate> gate;

    char* recv_buffer() const noexcept { return recv_->data(); }
    std::size_t recv_size() const noexcept { return recv_size_; }
    /// The receive buffer as a block, so the connection that just read may queue a reply
    /// straight from it (SendQueue::borrow; the pump copies what the transport did not take
    /// before the next read).
    Block* recv_block() noexcept { return recv_; }
    /// The connection whose input is in the receive buffer now, or null.
    Connection* reader = nullptr;
    /// Sessions that a connection replaced during a call into it (Connection::switch_session),
    /// each freed when that connection's outermost call returns: the connections keep no slot
    /// for it.
    RetiredSessions retired_sessions;
    /// The wire size of the last large frame (4 KiB and up) the reading connection's session
    /// took whole from the receive buffer during this wakeup, 0 for none: its next read is cut
    /// where frames of that size end, so that none is split between reads and copied together.
    std::size_t reader_frame = 0;

    /// Queues `c` for the end-of-turn flush (once per turn), unless its read pump runs.
    void mark_dirty(Connection& c);
    /// mark_dirty()'s work, out of the appending functions' way.
    void enlist_dirty(Connection& c);
    /// Calls o.on_readable() later this turn (once, however often asked before it runs).
    void read_later(TransportOwner& o);
    void add(Connection& c) noexcept;
    void remove(Connection& c) noexcept;
    std::size_t connection_count() const noexcept { return count_.load(std::memory_order_relaxed); }

    /// Current tick of the wheel clock. Within a TickHold, the tick when the outermost hold
    /// began (one clock read per event handled, not one per delivery or write).
    std::uint64_t now_tick() const noexcept;
    /// Holds now_tick() still while one event (a read, a flush of the turn, a fan-out) is
    /// handled; nests.
    class TickHold {
    public:
        explicit TickHold(Loop& l) noexcept : l_(l) {
            if (l_.tick_holds_++ == 0) l_.held_tick_ = l_.clock_tick();
        }
        ~TickHold() { --l_.tick_holds_; }
        TickHold(const TickHold&) = delete;
        TickHold& operator=(const TickHold&) = delete;

    private:
        Loop& l_;
    };
    /// A deadline `d` from now, in ticks (rounded up).
    std::uint64_t ticks_from_now(std::chrono::milliseconds d) const noexcept;
    /// The first tick at which the clock is at or past `at` (what a timer due at `at` waits for).
    std::uint64_t tick_at(std::chrono::steady_clock::time_point at) const noexcept;
    /// `d` in ticks, rounded up, at least 1.
    std::uint64_t ticks(std::chrono::milliseconds d) const noexcept;
    /// Schedules `n` at absolute tick `t`, starting the tick timer if it was idle.
    void schedule(WheelNode& n, std::uint64_t t);

    // ---- user timers (this thread) ----
    /// Starts `t` (its delay, then every `every` when set); the loop keeps it until it stops.
    /// Nothing when it was cancelled meanwhile.
    void start_timer(const std::shared_ptr<TimerState>& t);
    /// Stops `t` (scheduled or not): it will not run again. Safe inside its own callback.
    void stop_timer(TimerState& t);

    /// Delivers a publication to this loop's subscribers of its topic except `skip` (the
    /// publishing peer, or nullptr); loop thread. Within a PublicationHold, later: with the
    /// publications to the same topic that follow it (LoopTopics, held publications).
    void fan_out(const std::shared_ptr<const Publication>& p, const void* skip) {
        TickHold hold(*this);
        topics.publish(p, skip);
    }
    /// Delivers the publications held (PublicationHold) now. Called first by everything that
    /// could see a difference between held publications and delivered ones: a send, close or
    /// state query of a peer or stream, a queue's append (SendQueue), a subscription change
    /// (LoopTopics), a connection's close.
    void settle() noexcept {
        if (WISP_UNLIKELY(topics.holding())) {
            TickHold hold(*this);
            topics.settle();
            if (WISP_UNLIKELY(topics.failed())) report_failed_deliveries();
        }
    }
    /// While one lives, publications made on this loop wait and go out together, a run to one
    /// topic walking its subscribers once: around a read's messages, an inbox batch.
    class PublicationHold {
    public:
        explicit PublicationHold(Loop& l) noexcept : l_(l) { l_.topics.hold(); }
        ~PublicationHold() {
            if (l_.topics.release()) l_.settle();
        }
        PublicationHold(const PublicationHold&) = delete;
        PublicationHold& operator=(const PublicationHold&) = delete;

    private:
        Loop& l_;
    };
    /// Queues a publication made on another thread for this loop's subscribers; any thread.
    /// The loop takes everything queued at its next turn (one wakeup per batch, not per
    /// publication) and delivers it in handlers of at most 64 publications each. With
    /// `may_wait` (the caller is not an I/O thread) waits while
    /// Limits::max_pending_publications wait already, until the loop catches up or stops.
    void enqueue(std::shared_ptr<const Publication> p, bool may_wait) {
        if (inbox_.push(std::move(p), may_wait, core.options.limits.max_pending_publications))
            reactor.post([this] { drain_inbox(); });
    }
    /// Waits, on a thread that is not an I/O thread, until the inbox has room (as enqueue
    /// with `may_wait` does) without queueing anything.
    void wait_for_room() { inbox_.wait_for_room(core.options.limits.max_pending_publications); }
    /// No more deliveries (run() ended): queued publications are dropped, waiters return.
    void close_inbox() { inbox_.close(); }
    /// The loop whose thread is calling, or null on other threads.
    static Loop*& current() noexcept {
        static thread_local Loop* loop = nullptr;
        return loop;
    }

    /// "Sun, 06 Nov 1994 08:49:37 GMT" for the current second (RFC 9110 §5.6.7 IMF-fixdate).
    std::string_view date();

    /// Graceful stop of this loop's connections (called on this thread): idle ones close,
    /// in-flight ones finish; whatever remains after `deadline` is closed.
    void shutdown(std::chrono::milliseconds deadline);
    /// Lets reactor.run() return once no work remains: the connections are gone, so the user
    /// timers stop too (those of the app; a peer's or a stream's went with it), and none starts
    /// again.
    void release_work() {
        released_ = true;
        reactor.release();
        stop_timer_.cancel();
        poller.stop();
        while (timers_) stop_timer(*timers_);
        if (wheel.empty()) {
            tick_timer_.cancel();
            ticking_ = false;
        }
    }
    bool stopping() const noexcept { return stopping_; }

    /// Adds `o` to `b` (held by the batch now) and posts `run` unless already posted.
    template <class Run>
    void enlist(OwnerBatch& b, TransportOwner& o, Run&& run) {
        o.hold();
        b.waiting.push_back(&o);
        if (b.posted) return;
        b.posted = true;
        reactor.post(std::forward<Run>(run));
    }
    /// The posted handler's part: `each` for every entry enlisted so far, then its release.
    template <class Each>
    void run_batch(OwnerBatch& b, Each&& each) {
        b.posted = false;   // entries enlisted while this runs get a handler of their own
        b.running.swap(b.waiting);
        for (TransportOwner* o : b.running) {
            each(*o);
            o->unhold();
        }
        b.running.clear();
    }

private:
    static constexpr std::size_t inbox_batch = 64;   ///< publications delivered per handler

    std::uint64_t clock_tick() const noexcept;
    void flush_all();
    void run_later();
    /// Held deliveries that failed (LoopTopics::take_failed): reported as out_of_memory.
    void report_failed_deliveries() noexcept;
    void drain_inbox() {
        TickHold hold(*this);
        bool more = false;
        {
            PublicationHold run(*this);   // a batch's runs to one topic: one walk each
            more = inbox_.drain(inbox_batch, [this](const std::shared_ptr<const Publication>& p) {
                topics.publish(p, nullptr);
            });
        }
        if (more) reactor.post([this] { drain_inbox(); });
    }
    void on_tick();
    void arm_tick();
    void fire_timer(TimerState& t);

    Block* recv_;
    std::size_t recv_size_;
    OwnerBatch dirty_;             ///< connections with output this turn
    OwnerBatch later_;             ///< owners to read again this turn
    Connection* head_ = nullptr;   ///< intrusive list of open connections
    std::atomic<std::size_t> count_{0};
    ReactorTimer tick_timer_;
    ReactorTimer stop_timer_;
    bool ticking_ = false;
    bool stopping_ = false;
    bool released_ = false;   ///< release_work() ran: no timer starts any more
    std::chrono::steady_clock::time_point epoch_;
    std::chrono::milliseconds resolution_;
    char date_[29] = {};
    std::int64_t date_sec_ = -1;
    TopicInbox inbox_;
    TimerState* timers_ = nullptr;   ///< user timers started and not stopped
    unsigned tick_holds_ = 0;
    std::uint64_t held_tick_ = 0;
};

// ---- implementation -------------------------------------------------------
inline Loop::Loop(AppCore& app_core, unsigned loop_index)
    : core(app_core),
      index(loop_index),
      poller(*this),
      // Not make_shared: its in-place control block is forty functions at -O0 (issue 25).
      gate(std::shared_ptr<LoopGate>(
          new LoopGate(reactor, app_core.options.limits.max_pending_sends))),
      recv_(block_new(app_core.options.receive_buffer_bytes)),
      recv_size_(app_core.options.receive_buffer_bytes),
      tick_timer_(reactor),
      stop_timer_(reactor),
      epoch_(std::chrono::steady_clock::now()),
      resolution_(app_core.options.timer_resolution.count() > 0 ? app_core.options.timer_resolution
                                                                : std::chrono::milliseconds(100)) {
    dirty_.waiting.reserve(256);
    dirty_.running.reserve(256);
}

inline std::uint64_t Loop::now_tick() const noexcept {
    return tick_holds_ != 0 ? held_tick_ : clock_tick();
}

inline std::uint64_t Loop::clock_tick() const noexcept {
    const auto d = std::chrono::steady_clock::now() - epoch_;
    return static_cast<std::uint64_t>(d / resolution_) + 1;
}

inline std::uint64_t Loop::ticks(std::chrono::milliseconds d) const noexcept {
    const auto r = resolution_.count();
    return static_cast<std::uint64_t>(d.count() <= 0 ? 1 : (d.count() + r - 1) / r);
}

inline std::uint64_t Loop::ticks_from_now(std::chrono::milliseconds d) const noexcept {
    return now_tick() + ticks(d);
}

inline std::uint64_t Loop::tick_at(std::chrono::steady_clock::time_point at) const noexcept {
    // clock_tick() >= k exactly when the clock has passed epoch_ + (k - 1) ticks.
    if (at <= epoch_) return 1;
    const auto r =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(resolution_).count();
    const auto n = (at - epoch_).count();
    return static_cast<std::uint64_t>((n + r - 1) / r) + 1;
}

inline void Loop::schedule(WheelNode& n, std::uint64_t t) {
    wheel.schedule(n, t);
    if (!ticking_) arm_tick();
}

inline void Loop::arm_tick() {
    ticking_ = true;
    tick_timer_.arm(resolution_, [this] { on_tick(); });
}

inline void Loop::start_timer(const std::shared_ptr<TimerState>& t) {
    if (released_) t->over = true;   // the loop is ending
    if (t->cancelled.load() || t->self || released_) return;
    t->self = t;
    t->next_t = timers_;
    t->prev_t = nullptr;
    if (timers_) timers_->prev_t = t.get();
    timers_ = t.get();
    t->interval = t->every.count() > 0 ? ticks(t->every) : 0;
    // The delay counts from when the timer was made (or from run(), for the app's timers made
    // before it), not from when this loop got to it: timers made together keep their order
    // however long the post took.
    t->planned = tick_at(t->made + t->delay);
    schedule(*t, t->planned);
}

inline void Loop::stop_timer(TimerState& t) {
    t.over = true;
    wheel.cancel(t);
    if (!t.self) return;   // not started, or stopped already
    if (t.prev_t) t.prev_t->next_t = t.next_t;
    else timers_ = t.next_t;
    if (t.next_t) t.next_t->prev_t = t.prev_t;
    t.prev_t = t.next_t = nullptr;
    // The callback goes now (it may hold a Timer to itself: a cycle), unless it is the one
    // running; then fire_timer lets it go.
    if (!t.firing) t.fn = nullptr;
    t.self.reset();   // last: may free `t` (fire_timer holds its own reference while it runs)
}

inline void Loop::fire_timer(TimerState& t) {
    const std::shared_ptr<TimerState> keep = t.self;   // the callback may stop (and drop) it
    if (!keep) return;
    if (t.cancelled.load()) {
        stop_timer(t);
        return;
    }
    t.firing = true;
    if (t.interval == 0) t.over = true;   // a one-shot run is its last: inactive from its start
#ifndef WISP_NO_EXCEPTIONS
    try {
        if (t.fn) t.fn();
    } catch (const std::exception& ex) {
        core.report(Request(), errc::handler_exception, std::string("timer: ") + ex.what());
    } catch (...) {
        core.report(Request(), errc::handler_exception, "timer: unknown exception");
    }
#else
    if (t.fn) t.fn();
#endif
    t.firing = false;
    if (t.interval == 0 || t.cancelled.load() || !t.self) {
        if (t.self) stop_timer(t);
        else t.fn = nullptr;   // stopped from inside its own callback
        return;
    }
    // The next deadline follows the planned one, so lateness does not add up; runs the loop
    // was too busy for are skipped, not made up in a burst.
    const std::uint64_t now = now_tick();
    t.planned += t.interval;
    if (t.planned <= now) t.planned += ((now - t.planned) / t.interval + 1) * t.interval;
    schedule(t, t.planned);
}

inline void Loop::read_later(TransportOwner& o) {
    bool& posted = o.read_posted();
    if (posted) return;
    posted = true;
    enlist(later_, o, [this] { run_later(); });
}

inline void Loop::report_failed_deliveries() noexcept {
    const std::size_t n = topics.take_failed();
#ifndef WISP_NO_EXCEPTIONS
    try {
#endif
        core.report(Request(), errc::out_of_memory,
                    "publications: " + std::to_string(n) +
                        " deliveries could not be queued (out of memory); those subscribers "
                        "missed them");
#ifndef WISP_NO_EXCEPTIONS
    } catch (...) {   // nothing left to report it with
    }
#endif
}

inline void Loop::run_later() {
    TickHold hold(*this);
    run_batch(later_, [](TransportOwner& o) {
        o.read_posted() = false;
        o.on_readable();
    });
}

inline void AppCore::publish(const std::shared_ptr<const Publication>& p, Loop* here,
                             const void* skip) {
    if (here == nullptr) here = Loop::current();
    if (here != nullptr) {
        if (bridge && !p->from_bridge) bridge->relay(p, here);
        // An I/O thread: the loops live at least as long as this call (run() is running).
        if (const PodVector<Loop*>* loops = live_loops.load(std::memory_order_acquire))
            for (Loop* l : *loops)
                if (l != here) l->enqueue(p, false);
        // Last: a delivery may close a subscriber whose close hook publishes again.
        here->fan_out(p, skip);
        return;
    }
    // Another thread: run() may be ending; it waits for this call before the loops go away.
    foreign_publishes.fetch_add(1);
    if (const PodVector<Loop*>* loops = live_loops.load()) {
        if (bridge && !p->from_bridge) bridge->relay(p, nullptr);
        for (Loop* l : *loops) l->enqueue(p, true);
    }
    foreign_publishes.fetch_sub(1);
}

inline void AppCore::publish(std::string_view topic, std::string_view data, bool binary,
                             bool compress, Loop* here, const void* skip, std::string_view sender) {
    if (here == nullptr) here = Loop::current();
    if (retained.peek() != nullptr && !binary)
        if (EventLog* log = retained_log(std::string(topic))) {
            if (publish_retained(topic, data, compress, *log, here, sender)) return;
            // With a bridge whose Redis is away: a plain publication (no id, not retained).
        }
    publish(Publication::make(topic, data, binary, compress), here, skip);
}

inline bool AppCore::publish_retained(std::string_view topic, std::string_view data, bool compress,
                                      EventLog& log, Loop* here, std::string_view sender) {
    if (bridge) {
        // Redis orders it and gives its id (a Redis Stream's); it comes back to this instance
        // through the bridge like another instance's, and is delivered then.
        return bridge->relay_retained(
            Publication::make(topic, data, false, compress, false, {}, sender, true), here);
    }
    // One process: the id and the ring here. The lock is kept while the publication is queued
    // to every loop (the publisher's own too, so its delivery waits for the loop's next turn),
    // so each loop's inbox holds the topic's publications in id order, and a stream that
    // replays the ring (StreamSession::resume) under the same lock sees each one either there
    // or after it, never missed between the two.
    const bool io_thread = here != nullptr;
    if (!io_thread) foreign_publishes.fetch_add(1);
    const PodVector<Loop*>* loops = live_loops.load(std::memory_order_acquire);
    // A thread that is not an I/O thread is paced before it takes the lock, never while it
    // holds it: a loop whose handler waits for the lock could not drain what it waits for.
    if (!io_thread && loops != nullptr)
        for (Loop* l : *loops) l->wait_for_room();
    {
        auto lock = log.lock();
        const EventId id = log.next_id(event_clock_ms());
        auto q = Publication::make(topic, data, false, compress, false, id, sender);
        log.append(q, id);
        if (loops != nullptr)
            for (Loop* l : *loops) l->enqueue(q, false);
    }
    if (!io_thread) foreign_publishes.fetch_sub(1);
    return true;
}

inline std::string_view Loop::date() {
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    if (now != date_sec_) {
        date_sec_ = now;
        format_http_date(now, date_);
    }
    return {date_, sizeof date_};
}

/// A timer on `loop` running `fn` after `delay`, then every `every` (0: once). Started at once
/// on the loop's own thread, else posted there (inactive at once if the loop is gone).
/// `gate` is the loop's gate, which a caller on another thread holds (the loop may be ending).
inline std::shared_ptr<TimerState> make_timer_state(std::chrono::milliseconds delay,
                                                    std::chrono::milliseconds every,
                                                    std::function<void()> fn) {
    auto s = std::make_shared<TimerState>();
    s->fn = std::move(fn);
    s->delay = delay;
    s->every = every;
    s->made = std::chrono::steady_clock::now();
    return s;
}

inline Timer start_timer_on(Loop* loop, std::shared_ptr<LoopGate> gate,
                            std::chrono::milliseconds delay, std::chrono::milliseconds every,
                            std::function<void()> fn) {
    auto s = make_timer_state(delay, every, std::move(fn));
    s->loop = loop;
    s->gate = std::move(gate);
    if (loop != nullptr && Loop::current() == loop) loop->start_timer(s);
    else if (!s->gate || !s->gate->post([s] { s->loop->start_timer(s); })) s->over = true;
    return TimerAccess::wrap(std::move(s));
}

}   // namespace detail

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
WISP_DEF void Timer::cancel() const {
    if (!s_ || s_->cancelled.exchange(true)) return;
    s_->over = true;
    if (s_->loop != nullptr && detail::Loop::current() == s_->loop) {
        s_->loop->stop_timer(*s_);
        return;
    }
    // Another thread: the loop stops it (a run under way there finishes first); after run()
    // returned the gate is closed and the loop has let every timer go already.
    if (s_->gate) s_->gate->post([s = s_] { s->loop->stop_timer(*s); });
}

WISP_DEF bool Timer::active() const noexcept { return s_ && !s_->over.load(); }
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
