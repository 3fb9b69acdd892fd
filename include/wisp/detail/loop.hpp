// SPDX-License-Identifier: MIT
// wisp/detail/loop.hpp — one event loop per I/O thread: what its connections share.
#pragma once

#include <wisp/config.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/asio.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/http_date.hpp>
#include <wisp/detail/socket_io.hpp>
#include <wisp/detail/timer_wheel.hpp>
#include <wisp/detail/topics.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class Connection;

/// Connections waiting for one handler posted behind the work already queued: the flush at the
/// end of a turn, reads left for later, references to drop. The batch holds one reference to
/// each entry and releases it once the handler has visited it.
struct ConnBatch {
    std::vector<Connection*> waiting, running;
    bool posted = false;
};

/// An I/O thread's loop. Everything here is touched only from that thread, except post() and
/// the connection count. What it holds is shared by all its connections, so an idle connection
/// holds none of it:
/// - one receive buffer (connections read into it and keep only unfinished input);
/// - the dirty list: connections with output this turn, written by one gather write each at
///   the end of the turn (so replies, publications and pipelined responses coalesce);
/// - a timer wheel ticking every Options::timer_resolution for every timeout;
/// - a pool of output blocks, and the Date header of the current second.
/// Functions that need a complete Connection are defined in connection.hpp.
class Loop {
public:
    Loop(AppCore& app_core, unsigned loop_index);
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    ~Loop();

    AppCore& core;
    const unsigned index;
    BlockPool pool;          // declared before io: handlers destroyed with io release blocks
    TimerWheel wheel;
    LoopTopics topics;       ///< this loop's subscriptions (its thread only)
    net::io_context io;

    char* recv_buffer() const noexcept { return recv_->data(); }
    std::size_t recv_size() const noexcept { return recv_size_; }
    /// The receive buffer as a block, so the connection that just read may queue a reply
    /// straight from it (see Connection::on_readable, which copies what the socket did not
    /// take before the next read).
    Block* recv_block() noexcept { return recv_; }
    /// The connection whose input is in the receive buffer now, or null.
    Connection* reader = nullptr;

    /// Queues `c` for the end-of-turn flush (once per turn).
    void mark_dirty(Connection& c);
    void add(Connection& c) noexcept;
    void remove(Connection& c) noexcept;
    std::size_t connection_count() const noexcept { return count_.load(std::memory_order_relaxed); }

    /// Current tick of the wheel clock, and a deadline `d` from now in ticks (rounded up).
    /// Within a TickHold, the tick when the outermost hold began (one clock read per event
    /// handled, not one per delivery or write).
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
    std::uint64_t ticks_from_now(std::chrono::milliseconds d) const noexcept;
    /// `d` in ticks, rounded up, at least 1.
    std::uint64_t ticks(std::chrono::milliseconds d) const noexcept;
    /// Schedules `n` at absolute tick `t`, starting the tick timer if it was idle.
    void schedule(WheelNode& n, std::uint64_t t);
    /// Delivers a publication to this loop's subscribers of its topic except `skip` (the
    /// publishing peer, or nullptr); loop thread.
    void fan_out(const Publication& p, const void* skip);
    /// Queues a publication made on another thread for this loop's subscribers; any thread.
    /// The loop takes everything queued at its next turn (one wakeup per batch, not per
    /// publication) and delivers it in handlers of at most 64 publications each. With
    /// `may_wait` (the caller is not an I/O thread) waits while
    /// Limits::max_pending_publications wait already, until the loop catches up or stops.
    void enqueue(std::shared_ptr<const Publication> p, bool may_wait);
    /// No more deliveries (run() ended): queued publications are dropped, waiters return.
    void close_inbox();
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
    /// Lets io.run() return once no work remains.
    void release_work() {
        work_.reset();
        stop_timer_.cancel();
#ifdef WISP_EPOLL
        std::error_code ec;
        poll_desc_.cancel(ec);
#endif
    }
    bool stopping() const noexcept { return stopping_; }

#ifdef WISP_EPOLL
    /// Adds `c`'s socket to this loop's ready set (edge-triggered, reading and writing, for
    /// its lifetime); the set holds a reference to `c` until forget(). False if it failed.
    bool watch(Connection& c, int fd);
    /// Takes `c`'s socket out of the set before it closes. The reference goes once the
    /// current handler is done, since the batch of events being handled may still name `c`.
    void forget(Connection& c, int fd);
    /// Reads `c` again later this turn: it stopped with input left (a bounded read per
    /// wakeup), or it resumed reading while the socket was still readable.
    void read_later(Connection& c);
#endif

private:
    std::uint64_t clock_tick() const noexcept;
    void flush_all();
    void drain_inbox();
    /// Adds `c` to `b` (its reference now the batch's) and posts `run` unless already posted.
    template <class Run>
    void enlist(ConnBatch& b, Connection& c, Run&& run) {
        b.waiting.push_back(&c);
        if (b.posted) return;
        b.posted = true;
        net::post(io, std::forward<Run>(run));
    }
    /// The posted handler's part: `each` for every entry enlisted so far, then its release.
    template <class Each>
    void run_batch(ConnBatch& b, Each&& each);
    void on_tick();
    void arm_tick();

    Block* recv_;
    std::size_t recv_size_;
    ConnBatch dirty_;   ///< connections with output this turn
    Connection* head_ = nullptr;   ///< intrusive list of open connections
    std::atomic<std::size_t> count_{0};
    steady_timer tick_timer_;
    steady_timer stop_timer_;
    bool ticking_ = false;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point epoch_;
    std::chrono::milliseconds resolution_;
    char date_[29] = {};
    std::int64_t date_sec_ = -1;
    std::unique_ptr<net::executor_work_guard<net::io_context::executor_type>> work_;
    std::mutex inbox_mutex_;   ///< this loop's only: publishers to other loops never meet here
    std::condition_variable inbox_space_;
    std::vector<std::shared_ptr<const Publication>> inbox_, inbox_taken_;
    std::size_t taken_pos_ = 0;   ///< inbox_taken_[0, taken_pos_) are delivered
    static constexpr std::size_t inbox_batch = 64;   ///< publications delivered per handler
    bool inbox_posted_ = false;   ///< a drain is posted and has not taken the inbox yet
    bool inbox_closed_ = false;
    unsigned tick_holds_ = 0;
    std::uint64_t held_tick_ = 0;
#ifdef WISP_EPOLL
    void arm_poll();
    void on_poll();
    void run_later();
    void bury();
    ReadySet ready_;
    poll_descriptor poll_desc_;   ///< owns ready_'s descriptor; declared after io
    bool poll_armed_ = false;
    ConnBatch later_;    ///< to read again this turn
    ConnBatch graves_;   ///< left the set; the set's reference goes after the current handler
#endif
};

// ---- implementation -------------------------------------------------------
inline Loop::Loop(AppCore& app_core, unsigned loop_index)
    : core(app_core),
      index(loop_index),
      io(1),   // one thread runs this context: Asio may skip some locking
      recv_(block_new(app_core.options.receive_buffer_bytes)),
      recv_size_(app_core.options.receive_buffer_bytes),
      tick_timer_(io.get_executor()),
      stop_timer_(io.get_executor()),
      epoch_(std::chrono::steady_clock::now()),
      resolution_(app_core.options.timer_resolution.count() > 0
                      ? app_core.options.timer_resolution
                      : std::chrono::milliseconds(100)),
      work_(std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
          io.get_executor()))
#ifdef WISP_EPOLL
      ,
      poll_desc_(io.get_executor())
#endif
{
    dirty_.waiting.reserve(256);
    dirty_.running.reserve(256);
#ifdef WISP_EPOLL
    std::error_code ec;
    if (ready_.fd() >= 0) {
        poll_desc_.assign(ready_.fd(), ec);
        if (ec) ready_.close();   // then every watch() fails: connections are refused, not lost
    }
#endif
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

inline void Loop::schedule(WheelNode& n, std::uint64_t t) {
    wheel.schedule(n, t);
    if (!ticking_) arm_tick();
}

inline void Loop::arm_tick() {
    ticking_ = true;
    tick_timer_.expires_after(resolution_);
    tick_timer_.async_wait([this](const std::error_code& ec) {
        if (ec) {
            ticking_ = false;
            return;
        }
        on_tick();
    });
}

inline void Loop::enqueue(std::shared_ptr<const Publication> p, bool may_wait) {
    std::unique_lock<std::mutex> lock(inbox_mutex_);
    const std::size_t limit = std::max<std::size_t>(1, core.options.limits.max_pending_publications);
    if (may_wait)
        inbox_space_.wait(lock, [&] { return inbox_closed_ || inbox_.size() < limit; });
    if (inbox_closed_) return;
    inbox_.push_back(std::move(p));
    if (inbox_posted_) return;
    inbox_posted_ = true;
    lock.unlock();
    net::post(io, [this] { drain_inbox(); });
}

inline void Loop::drain_inbox() {
    TickHold hold(*this);
    if (taken_pos_ == inbox_taken_.size()) {
        inbox_taken_.clear();
        taken_pos_ = 0;
        {
            std::lock_guard<std::mutex> lock(inbox_mutex_);
            inbox_taken_.swap(inbox_);
            inbox_posted_ = false;
        }
        inbox_space_.notify_all();
    }
    // A bounded batch per handler, so a backlog (a producer far ahead, or other loops, which
    // never wait) cannot hold the loop's other connections up for long: the rest follows in
    // handlers posted behind the work already queued. What was taken is older than anything
    // still in the inbox, so order is kept.
    const std::size_t end = std::min(inbox_taken_.size(), taken_pos_ + inbox_batch);
    for (; taken_pos_ < end; ++taken_pos_) {
        fan_out(*inbox_taken_[taken_pos_], nullptr);
        inbox_taken_[taken_pos_].reset();
    }
    if (taken_pos_ < inbox_taken_.size()) net::post(io, [this] { drain_inbox(); });
}

inline void Loop::close_inbox() {
    {
        std::lock_guard<std::mutex> lock(inbox_mutex_);
        inbox_closed_ = true;
        inbox_.clear();
    }
    inbox_space_.notify_all();
}

inline std::string_view Loop::date() {
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    if (now != date_sec_) {
        date_sec_ = now;
        format_http_date(now, date_);
    }
    return {date_, sizeof date_};
}

}  // namespace detail
WISP_NAMESPACE_END
