// SPDX-License-Identifier: MIT
// wisp/detail/reactor_epoll.hpp — the Reactor on Linux (reactor.hpp has the contract): one epoll
// set per loop, in which connection sockets stay edge-triggered for their lifetime, other
// descriptors are watched level-triggered, and an eventfd wakes the loop for work posted from
// other threads; epoll_wait sleeps until the nearest timer.
// Owns: the set, the eventfd, the queues of posted work, the armed timers.
// Must not know: connections, sessions, protocols (a connection socket's events go to the
// Poller's batch function).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#ifdef WISP_EPOLL_REACTOR
#include <wisp/detail/task.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

WISP_NAMESPACE_BEGIN
namespace detail {

class ReactorTimer;
class ReactorWatch;

/// A loop's epoll set and queues, run by one thread.
class Reactor {
public:
    /// What the loop does with the connection sockets reported by one wait (never empty).
    using SocketBatch = void (*)(void* context, epoll_event* events, int count);

    Reactor() noexcept;
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;
    ~Reactor();

    /// Runs `fn` on the loop's thread, after what was posted before it. Any thread.
    template <class F>
    void post(F&& fn) {
        if (current() == this) {
            queue_.emplace_back(std::forward<F>(fn));
            return;
        }
        bool wake = false;
        {
            std::lock_guard<std::mutex> lock(m_);
            remote_.emplace_back(std::forward<F>(fn));
            wake = !woken_.exchange(true, std::memory_order_relaxed);
        }
        if (wake) signal();
    }
    /// Runs handlers until release() was called and nothing is pending (posted work, an armed
    /// timer, a started watch). The loop's thread.
    void run();
    /// Runs what was posted and the timers due, without waiting (also after run() returned).
    void poll();
    /// run() may return once nothing is pending.
    void release() noexcept { held_ = false; }

    /// Where a wait's connection-socket events go (the Poller, once).
    void on_sockets(SocketBatch fn, void* context) noexcept {
        batch_ = fn;
        batch_context_ = context;
    }
    /// Adds a connection socket for its lifetime, edge-triggered for input and room, reported
    /// with `tag` (non-null, even) to the SocketBatch.
    bool add_socket(int fd, void* tag) noexcept {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = tag;
        return ep_ >= 0 && ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) == 0;
    }
    /// Before the socket closes (a descriptor shared with a child process would stay in the set).
    void remove_socket(int fd) noexcept {
        epoll_event ev{};
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, &ev);
    }

private:
    friend class ReactorTimer;
    friend class ReactorWatch;
    static constexpr int max_events = 256;

    static Reactor*& current() noexcept {
        static thread_local Reactor* r = nullptr;
        return r;
    }
    void signal() noexcept;
    void take_remote();
    void run_posted();
    void fire_timers();
    int timeout_ms() const;
    void wait(int timeout);
    /// Work posted from another thread counts too (the eventfd ends the wait at once).
    bool busy() const noexcept {
        return held_ || !queue_.empty() || !timers_.empty() || watches_ ||
               woken_.load(std::memory_order_relaxed);
    }
    /// A watch stopped while a wait's events are handled: its later events there are dropped.
    void drop_events(void* tag) noexcept;

    int ep_;
    int wake_;                   ///< eventfd, in the set with a null tag
    TaskList queue_, running_;   ///< the loop's thread
    std::mutex m_;
    TaskList remote_;                   ///< posted from other threads (under m_)
    std::atomic<bool> woken_{false};    ///< the eventfd was written since the loop read it
                                        ///< (changed under m_)
    PodVector<ReactorTimer*> timers_;   ///< armed, in no order (a loop has a handful)
    std::uint64_t arms_ = 0;            ///< timers armed so far: a timer armed while the due
                                        ///< ones fire waits for the next round
    std::size_t watches_ = 0;
    bool held_ = true;
    SocketBatch batch_ = nullptr;
    void* batch_context_ = nullptr;
    epoll_event* events_ = nullptr;   ///< the wait's events being handled, and how many
    int event_count_ = 0;
};

/// A one-shot timer on a Reactor.
class ReactorTimer {
public:
    explicit ReactorTimer(Reactor& r) noexcept : r_(r) {}
    ReactorTimer(const ReactorTimer&) = delete;
    ReactorTimer& operator=(const ReactorTimer&) = delete;
    ~ReactorTimer() { cancel(); }

    /// Calls `fn` once, `after` from now, unless cancelled or armed again first.
    template <class F>
    void arm(std::chrono::milliseconds after, F fn) {
        cancel();
        fn_ = Task(std::move(fn));
        due_ = std::chrono::steady_clock::now() + after;
        arm_ = ++r_.arms_;
        slot_ = r_.timers_.size();
        r_.timers_.push_back(this);
    }
    void cancel() noexcept {
        if (slot_ == none) return;
        ReactorTimer* last = r_.timers_.back();
        r_.timers_[slot_] = last;
        last->slot_ = slot_;
        r_.timers_.pop_back();
        slot_ = none;
        fn_.reset();
    }
    bool armed() const noexcept { return slot_ != none; }

private:
    friend class Reactor;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    Reactor& r_;
    Task fn_;
    std::chrono::steady_clock::time_point due_{};
    std::uint64_t arm_ = 0;
    std::size_t slot_ = none;   ///< in r_.timers_
};

/// Readability of a descriptor that is not a connection's (level-triggered).
class ReactorWatch {
public:
    explicit ReactorWatch(Reactor& r) noexcept : r_(r) {}
    ReactorWatch(const ReactorWatch&) = delete;
    ReactorWatch& operator=(const ReactorWatch&) = delete;
    ~ReactorWatch() { stop(); }

    /// Calls `fn` each time `fd` is readable (or ready for what `events` names: EPOLLIN,
    /// EPOLLOUT or both; ready() tells which), until stop(). False if epoll refused it.
    template <class F>
    bool start(int fd, F fn, std::uint32_t events = EPOLLIN) {
        stop();
        epoll_event ev{};
        ev.events = events;
        ev.data.ptr = tag();
        if (r_.ep_ < 0 || ::epoll_ctl(r_.ep_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
        fd_ = fd;
        fn_ = Task(std::move(fn));
        ++r_.watches_;
        return true;
    }
    /// No more calls; the descriptor stays open (its owner closes it).
    void stop() noexcept {
        if (fd_ < 0) return;
        epoll_event ev{};
        ::epoll_ctl(r_.ep_, EPOLL_CTL_DEL, fd_, &ev);
        fd_ = -1;
        --r_.watches_;
        r_.drop_events(tag());
        // fn_ stays: this may be its own call (an acceptor pausing); start() replaces it.
    }
    bool started() const noexcept { return fd_ >= 0; }
    /// Waits for `events` instead, from the next wait on. False if epoll refused it.
    bool change(std::uint32_t events) noexcept {
        epoll_event ev{};
        ev.events = events;
        ev.data.ptr = tag();
        return fd_ >= 0 && ::epoll_ctl(r_.ep_, EPOLL_CTL_MOD, fd_, &ev) == 0;
    }
    /// During fn's call: what the descriptor is ready for (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
    std::uint32_t ready() const noexcept { return ready_; }

private:
    friend class Reactor;
    /// Told apart from a connection's tag (a pointer to an even address) by its low bit.
    void* tag() noexcept { return reinterpret_cast<char*>(this) + 1; }

    Reactor& r_;
    int fd_ = -1;
    std::uint32_t ready_ = 0;
    Task fn_;
};

// ---- implementation -------------------------------------------------------
inline Reactor::Reactor() noexcept
    : ep_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    // Without a set, nothing is watched and connections are refused; without the eventfd,
    // posts from other threads would wait for the next event.
    if (ep_ >= 0 && (wake_ < 0 || ::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_, &ev) != 0)) {
        ::close(ep_);
        ep_ = -1;
    }
    queue_.reserve(64);
    running_.reserve(64);
}

inline Reactor::~Reactor() {
    if (ep_ >= 0) ::close(ep_);
    if (wake_ >= 0) ::close(wake_);
}

inline void Reactor::signal() noexcept {
    const std::uint64_t one = 1;
    while (::write(wake_, &one, sizeof one) < 0 && errno == EINTR) {}
}

inline void Reactor::take_remote() {
    std::uint64_t n = 0;
    while (::read(wake_, &n, sizeof n) < 0 && errno == EINTR) {}
    std::lock_guard<std::mutex> lock(m_);
    woken_.store(false, std::memory_order_relaxed);
    for (Task& t : remote_) queue_.emplace_back(std::move(t));
    remote_.clear();
}

inline void Reactor::run_posted() {
    // What was posted before this turn, in order; what these post runs next turn, after the
    // wait (so I/O is not starved by work that posts itself again).
    running_.swap(queue_);
    for (Task& t : running_) {
        t();
        t.reset();
    }
    running_.clear();
}

inline void Reactor::fire_timers() {
    if (timers_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t round = arms_;
    for (;;) {
        ReactorTimer* due = nullptr;
        for (ReactorTimer* t : timers_)
            if (t->due_ <= now && t->arm_ <= round && (!due || t->due_ < due->due_)) due = t;
        if (due == nullptr) return;
        Task fn = std::move(due->fn_);
        due->cancel();   // one-shot: disarmed before it runs, so it may arm itself again
        fn();
    }
}

inline int Reactor::timeout_ms() const {
    if (!queue_.empty()) return 0;
    if (timers_.empty()) return -1;
    auto first = timers_[0]->due_;
    for (const ReactorTimer* t : timers_)
        if (t->due_ < first) first = t->due_;
    const auto left = first - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return 0;
    // Rounded up: waking before the deadline would only wait again.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : static_cast<int>(ms);
}

inline void Reactor::wait(int timeout) {
    epoll_event events[max_events];
    const int n = ep_ >= 0 ? ::epoll_wait(ep_, events, max_events, timeout) : -1;
    if (n <= 0) {
        if (n < 0 && errno != EINTR && timeout != 0) {
            // No set (or it broke): sleep as epoll_wait would have, so timers still run.
            ::usleep(timeout < 0 ? 100000u : static_cast<unsigned>(timeout) * 1000u);
        }
        return;
    }
    events_ = events;
    event_count_ = n;
    // Watched descriptors and the eventfd first; the connection sockets, moved to the front,
    // go to the Poller in one batch.
    int sockets = 0;
    for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == nullptr) {
            take_remote();
        } else if (reinterpret_cast<std::uintptr_t>(tag) & 1u) {
            auto* w = reinterpret_cast<ReactorWatch*>(static_cast<char*>(tag) - 1);
            w->ready_ = events[i].events;
            w->fn_();
        } else if (tag != &event_count_) {   // &event_count_: dropped (drop_events)
            events[sockets++] = events[i];
        }
    }
    events_ = nullptr;
    event_count_ = 0;
    if (sockets != 0 && batch_ != nullptr) batch_(batch_context_, events, sockets);
}

inline void Reactor::drop_events(void* tag) noexcept {
    for (int i = 0; i < event_count_; ++i)
        if (events_[i].data.ptr == tag) events_[i].data.ptr = &event_count_;
}

inline void Reactor::run() {
    Reactor* outer = std::exchange(current(), this);
    for (;;) {
        run_posted();
        fire_timers();
        if (!busy()) break;
        wait(timeout_ms());
    }
    current() = outer;
}

inline void Reactor::poll() {
    Reactor* outer = std::exchange(current(), this);
    take_remote();
    do {
        while (!queue_.empty()) run_posted();
        fire_timers();
    } while (!queue_.empty());
    current() = outer;
}

}   // namespace detail
WISP_NAMESPACE_END
#endif
#pragma pop_macro("WISP_IN_HEADER")
