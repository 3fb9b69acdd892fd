// SPDX-License-Identifier: MIT
// wisp/detail/timers.hpp — user timers on a loop's timer wheel: app.after / app.every and the
// per-peer and per-stream ones, behind wisp::Timer.
// Owns: a timer's state (callback, interval, cancellation from any thread) and the rule that a
// scheduled timer is kept alive by its loop until it stops.
// Must not know: peers or streams (their timers are plain callbacks the owners cancel when they
// close), sockets.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/timer.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <wisp/detail/timer_wheel.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

WISP_NAMESPACE_BEGIN
namespace detail {

class Loop;

/// One timer. Everything but the two flags is touched on its loop's thread only (or before the
/// handle is shared).
struct TimerState : WheelNode {
    TimerState() noexcept : WheelNode(Kind::timer) {}

    std::function<void()> fn;
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds every{0};             ///< 0: runs once
    std::chrono::steady_clock::time_point made{};   ///< the first delay counts from here
    std::atomic<bool> cancelled{false};
    std::atomic<bool> over{false};   ///< will not run again
    Loop* loop = nullptr;            ///< set before sharing; compared off its thread, never used
    std::shared_ptr<LoopGate> gate;
    // ---- the loop's ----
    std::shared_ptr<TimerState> self;   ///< the loop's reference while it is scheduled
    std::uint64_t planned = 0;          ///< the tick it is due at
    std::uint64_t interval = 0;         ///< `every` in ticks
    bool firing = false;
    TimerState* prev_t = nullptr;   ///< the loop's list of live timers
    TimerState* next_t = nullptr;
};

/// Makes Timers; the loops and owners start and stop them.
struct TimerAccess {
    static Timer wrap(std::shared_ptr<TimerState> s) {
        Timer t;
        t.s_ = std::move(s);
        return t;
    }
    static const std::shared_ptr<TimerState>& state(const Timer& t) noexcept { return t.s_; }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
