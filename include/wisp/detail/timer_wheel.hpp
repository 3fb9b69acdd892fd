// SPDX-License-Identifier: MIT
// wisp/detail/timer_wheel.hpp — coarse per-thread deadlines without a timer per connection.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Embedded in every object with a deadline (a connection has one at a time).
struct WheelNode {
    enum class Kind : std::uint8_t { connection, timer };
    explicit WheelNode(Kind k = Kind::connection) noexcept : kind(k) {}
    WheelNode* prev = nullptr;
    WheelNode* next = nullptr;
    std::uint64_t deadline = 0;   ///< in ticks; 0 = none
    std::uint32_t bucket = 0;
    bool linked = false;
    const Kind kind;   ///< what expiring means (the loop dispatches on it)
};

/// A hashed timing wheel: `buckets` slots of one tick each. A node sits in the slot of its
/// deadline (mod buckets); each tick visits one slot and expires what is due. Moving a deadline
/// later is O(1) and lazy (the node is re-slotted only when its old slot comes round), so
/// resetting an idle timer on every read costs a store.
class TimerWheel {
public:
    explicit TimerWheel(std::size_t buckets = 512) : slots_(buckets) {}
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    std::uint64_t now() const noexcept { return now_; }
    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }

    /// Sets the node's deadline to `tick` (absolute, > now()).
    void schedule(WheelNode& n, std::uint64_t tick) noexcept {
        if (tick <= now_) tick = now_ + 1;
        if (n.linked && tick >= n.deadline) {   // later (or equal): lazy move
            n.deadline = tick;
            return;
        }
        if (n.linked) unlink(n);
        n.deadline = tick;
        link(n);
    }
    void cancel(WheelNode& n) noexcept {
        if (n.linked) unlink(n);
        n.deadline = 0;
    }

    /// Advances to `tick`, calling expire(WheelNode&) for every node whose deadline has come.
    /// The callback may schedule or cancel any node, including the one it was given.
    template <class Fn>
    void advance(std::uint64_t tick, Fn&& expire) {
        while (now_ < tick) {
            ++now_;
            auto& slot = slots_[now_ % slots_.size()];
            // Detach the slot first so callbacks that re-schedule into it are not revisited.
            WheelNode* n = slot;
            slot = nullptr;
            while (n) {
                n->linked = false;
                --count_;
                WheelNode* next = n->next;
                if (next) next->prev = nullptr;
                n->prev = n->next = nullptr;
                pending_ = next;
                if (n->deadline <= now_) {
                    n->deadline = 0;
                    expire(*n);
                } else {
                    link(*n);   // lazily moved deadline: put it where it belongs now
                }
                n = pending_;
            }
            pending_ = nullptr;
        }
    }

private:
    void link(WheelNode& n) noexcept {
        const std::size_t i = static_cast<std::size_t>(n.deadline % slots_.size());
        n.bucket = static_cast<std::uint32_t>(i);
        n.prev = nullptr;
        n.next = slots_[i];
        if (n.next) n.next->prev = &n;
        slots_[i] = &n;
        n.linked = true;
        ++count_;
    }
    void unlink(WheelNode& n) noexcept {
        if (pending_ == &n) pending_ = n.next;   // removing the node advance() visits next
        if (n.prev) n.prev->next = n.next;
        else if (slots_[n.bucket] == &n) slots_[n.bucket] = n.next;
        if (n.next) n.next->prev = n.prev;
        n.prev = n.next = nullptr;
        n.linked = false;
        --count_;
    }

    PodVector<WheelNode*> slots_;
    std::uint64_t now_ = 0;
    std::size_t count_ = 0;
    WheelNode* pending_ = nullptr;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
