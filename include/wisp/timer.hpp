// SPDX-License-Identifier: MIT
// wisp/timer.hpp — Timer: the handle of a callback that runs after a delay or every interval, on
// an event loop (app.after / app.every, peer.after / peer.every, stream.after / stream.every).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <memory>

WISP_NAMESPACE_BEGIN

namespace detail {
struct TimerState;
struct TimerAccess;
}   // namespace detail

/// A scheduled callback. Copies refer to the same timer; dropping every copy does not cancel it.
/// Resolution: the loop's timer wheel (Options::timer_resolution, 100 ms by default): a delay
/// or an interval is rounded up to whole ticks, and a callback runs at the first tick at or after
/// its deadline (so up to one tick late, more if the loop is busy). The first delay counts from
/// the call that made the timer (for the app's timers made before run(), from run()), whichever
/// thread made it, so timers made together fire in deadline order. Drift: a repeating timer's
/// next deadline is its previous deadline plus the interval, not "now" plus the interval, so
/// lateness does not add up; when the loop falls a whole interval behind, the missed runs are
/// skipped, not run in a burst.
/// Thread: the callback runs on its loop's thread (app timers: the first I/O thread; a peer's or
/// a stream's: its connection's). cancel() and active() may be called from any thread.
class Timer {
public:
    Timer() = default;
    /// Stops it: the callback does not run again (a run under way finishes). Safe from any
    /// thread, from inside the callback, twice, and after App::run() returned.
    void cancel() const;
    /// True until cancelled, until a one-shot timer's run begins (so false inside that run and
    /// for anyone its callback tells), or until its owner (peer, stream, the running app) went.
    bool active() const noexcept;

private:
    friend struct detail::TimerAccess;
    std::shared_ptr<detail::TimerState> s_;
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
