// SPDX-License-Identifier: MIT
// wisp/detail/bridge.hpp — the seam between an App's topics and other processes' topics.
// Owns: what an App tells a bridge (a publication made in this process, a topic whose local
// subscribers came or went, run() starting, stopping and ending) and how App::bridge reaches
// the bridge behind a public handle (BridgeAccess).
// Must not know: Redis or any other carrier, sockets, connections.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/event_log.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class Loop;
struct AppCore;
struct Publication;

/// Carries publications between this App and others. Publications that came through it are
/// marked (Publication::from_bridge) and never handed back to it.
class Bridge {
public:
    virtual ~Bridge() = default;
    /// A publication made in this process. Thread: any; `here` is the caller's loop (null on
    /// other threads). Called once per publication, before the local fan-out.
    virtual void relay(const std::shared_ptr<const Publication>& p, Loop* here) = 0;
    /// A text publication to a retained topic (App::retain, Publication::retained set), with
    /// the publishing peer's id in Publication::sender. True when the bridge took it: it comes
    /// back through the bridge with its id, to this process too, and is delivered then. False
    /// when it cannot now (its carrier is away): the caller delivers it as a plain publication.
    /// Thread: any, as relay().
    virtual bool relay_retained(const std::shared_ptr<const Publication>& p, Loop* here) = 0;
    /// What a stream that resumes `topic` after `after` missed: at most `count` of the newest
    /// retained publications after it, oldest first, given to `done` (with true) on the
    /// bridge's loop, once, after the bridge receives the topic's live publications (so
    /// nothing falls between the two). False, and `done` never runs, when it cannot ask now.
    /// `done` may also get false and nothing (the answer was lost). Thread: any I/O thread.
    using HistoryDone =
        std::function<void(bool ok, std::vector<std::shared_ptr<const Publication>> missed)>;
    virtual bool history(const std::string& topic, EventId after, std::size_t count,
                         HistoryDone done) = 0;
    /// The app-wide subscriber count of `topic` went from 0 to 1 or from 1 to 0. Thread: any
    /// (the count may have changed again by the time the bridge looks).
    virtual void topic_changed(const std::string& topic, Loop* here) = 0;
    /// run() starts; the bridge lives on `loop`, whose thread does not run yet.
    virtual void start(AppCore& core, Loop& loop) = 0;
    /// stop() was called; on the bridge's loop. Publications keep coming while the
    /// connections close (their close hooks publish): give up after `deadline`.
    virtual void stop(std::chrono::milliseconds deadline) = 0;
    /// run() ends: every loop's thread has returned and the loops are about to go. Releases
    /// what belongs to the loop; publishers on other threads waiting for the bridge return.
    virtual void detach() = 0;
};

/// How App::bridge opens a public bridge handle (which befriends this).
struct BridgeAccess {
    template <class B>
    static std::shared_ptr<Bridge> link(const B& b) {
        return b.link_;
    }
    /// The handle's setup error (a bad URL, a host that does not resolve) and its sentence.
    template <class B>
    static std::error_code error(const B& b, std::string& why) {
        why = b.error_detail_;
        return b.error_;
    }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
