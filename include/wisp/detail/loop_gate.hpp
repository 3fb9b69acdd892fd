// SPDX-License-Identifier: MIT
// wisp/detail/loop_gate.hpp — where other threads post work for one loop, for as long as the loop
// lives.
// Owns: the one lock that makes "is the loop still there, then post" atomic against the loop's
// end, so a late Responder, a handle held by a worker thread or a timer cancelled after run()
// returned never touches a freed loop.
// Must not know: connections, sessions, what the work does.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/reactor.hpp>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Shared (std::shared_ptr) by a loop and everything that may post to it from elsewhere. The
/// loop closes it before it goes; posting afterwards does nothing and says so. Work posted
/// before that but never run is destroyed with the loop: work that must report its fate does
/// it from its destructor (see Unrun).
class LoopGate {
public:
    /// `paced_limit`: Limits::max_pending_sends (0 counts as 1).
    explicit LoopGate(Reactor& r, std::size_t paced_limit = 1024) noexcept
        : r_(&r), limit_(paced_limit == 0 ? 1 : paced_limit) {}
    LoopGate(const LoopGate&) = delete;
    LoopGate& operator=(const LoopGate&) = delete;

    /// Runs `fn` on the loop's thread, later; false (and `fn` is destroyed here) when the loop
    /// is gone. Any thread.
    template <class F>
    bool post(F&& fn) {
        std::lock_guard<std::mutex> lock(m_);
        if (r_ == nullptr) return false;
        r_->post(std::forward<F>(fn));
        return true;
    }
    /// As post(), for work a handle sends from elsewhere (its bytes wait in the loop's queue):
    /// with `may_wait` (the caller is not an I/O thread) it first waits while the limit of such
    /// work waits already, until the loop runs some or ends, so that a producer faster than
    /// the loop is paced by it and the queue stays bounded. An I/O thread never waits (two
    /// loops waiting on each other would deadlock): its work is queued at once.
    template <class F>
    bool post_paced(F&& fn, bool may_wait) {
        std::unique_lock<std::mutex> lock(m_);
        if (may_wait && r_ != nullptr && paced_ >= limit_) {
            ++waiters_;
            room_.wait(lock, [this] { return r_ == nullptr || paced_ < limit_; });
            --waiters_;
        }
        if (r_ == nullptr) return false;
        ++paced_;
        r_->post([this, f = std::forward<F>(fn)]() mutable {
            ran_paced();   // the loop runs it, so it (and this gate) is alive
            f();
        });
        return true;
    }
    /// The loop is ending: nothing more is accepted, and waiting senders return. Its thread,
    /// before the Reactor goes.
    void close() noexcept {
        std::lock_guard<std::mutex> lock(m_);
        r_ = nullptr;
        if (waiters_ != 0) room_.notify_all();
    }

private:
    void ran_paced() noexcept {
        std::lock_guard<std::mutex> lock(m_);
        --paced_;
        if (waiters_ != 0) room_.notify_one();
    }

    std::mutex m_;
    std::condition_variable room_;
    Reactor* r_;
    const std::size_t limit_;
    std::size_t paced_ = 0;     ///< post_paced() work queued, not run yet
    std::size_t waiters_ = 0;   ///< senders waiting for room
};

/// Calls `lost` from its destructor unless dismissed: a task posted to a loop that must report
/// when it never runs (the loop was destroyed first).
class Unrun {
public:
    explicit Unrun(std::function<void()> lost) : lost_(std::move(lost)) {}
    Unrun(Unrun&& o) noexcept : lost_(std::exchange(o.lost_, nullptr)) {}
    Unrun(const Unrun&) = delete;
    Unrun& operator=(const Unrun&) = delete;
    Unrun& operator=(Unrun&&) = delete;
    ~Unrun() {
        if (lost_) lost_();
    }
    /// The task ran: nothing to report.
    void dismiss() noexcept { lost_ = nullptr; }

private:
    std::function<void()> lost_;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
