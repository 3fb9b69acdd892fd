// SPDX-License-Identifier: MIT
// wisp/detail/stream_state.hpp — the part of an event stream that its handles reach
// (EventStream, StreamHandle, a stream's timers and drain waiters): made with the stream, kept
// while a handle or a callback may still use it. An idle stream that nobody holds has none,
// only its StreamSession (stream_session.hpp, which defines the members that reach it).
// Owns: the response headers, the Last-Event-ID, events pushed before the head went out, the
// on_closed / on_drain callbacks, timers and drain waiters, the retained topics being resumed,
// and the stream's session until its connection takes it.
// Must not know: sockets or transports, HTTP parsing, topic delivery.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <wisp/detail/timers.hpp>
#include <wisp/detail/box.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class Connection;
class HttpSession;
class StreamSession;

/// Shared by every EventStream copy (weakly by StreamHandles, timers and drain waiters). What
/// the stream always has (its flags, topics, connection, heartbeat clock) is its session's;
/// this adds what only a stream that is starting, or that a handle can reach, needs. Touched on
/// the connection's I/O thread only (before the stream starts, on the handler's thread, which
/// is that thread); from other threads, handles read only the session's `closed` flag and post
/// through `gate`.
class StreamState : public std::enable_shared_from_this<StreamState> {
public:
    /// A stream for `conn` (null for App::fetch) answering `req`.
    StreamState(Connection* conn, const Request& req);
    ~StreamState();
    StreamState(const StreamState&) = delete;
    StreamState& operator=(const StreamState&) = delete;

    /// The stream itself; alive as long as this state (owned until the connection takes it,
    /// then in the connection's memory, which this state keeps).
    StreamSession& session() const noexcept { return *session_; }
    /// Ends the stream from our side (StreamSession::end).
    void end() { end_fn(session()); }
    /// Pushes formatted event bytes: now when called on the I/O thread, else posted there.
    static SendResult push(const std::shared_ptr<StreamState>& self, std::string bytes);
    /// Everything queued was written: drain waiters, then on_drain. I/O thread.
    void on_drained();
    /// The stream ended: its timers stop, its drain waiters go, on_closed runs (once).
    void ended();
    /// Nothing of this state is needed once the stream streams: no callback, timer, drain
    /// waiter or resume, and no weak reference was ever made (a StreamHandle would find it).
    bool idle() const noexcept {
        return !weak_made.load(std::memory_order_relaxed) && !closed_fn && !drain_fn && !extras &&
               !resumes && pending.empty();
    }

    /// The session, until the stream starts (or for good, when it never does).
    Box<StreamSession> owned;
    /// While the stream streams and this state is needed, the connection's reference to it,
    /// held here so that the session of an idle stream, which has none, stays small.
    std::shared_ptr<StreamState> kept;
    std::shared_ptr<LoopGate> gate;   ///< the connection's loop, for other threads (null: fetch)
    Headers headers;
    std::string last_event_id;
    bool has_last_event_id = false;
    /// A StreamHandle, a timer, a drain waiter or a resume took a weak reference. Atomic for a
    /// handle() called on another thread; it orders with the stream's start only when the copy
    /// it was called on is still held then (on the I/O thread, as the rest, it always does).
    std::atomic<bool> weak_made{false};
    std::string pending;   ///< formatted events pushed before the head went out
    std::function<void()> closed_fn;
    std::function<void()> drain_fn;
    /// Timers and drain waiters (EventStream::every, when_drained), made on first use.
    struct Extras {
        std::vector<std::shared_ptr<TimerState>> timers;
        std::vector<std::function<void()>> when_drained;
    };
    Box<Extras> extras;
    /// A retained topic this stream resumes: the last id it was given, and while the bridge
    /// looks up what it missed, the live events that came meanwhile (plain SSE bytes).
    struct Resume {
        std::string topic;
        EventId last;
        bool named = false;
        bool waiting = false;
        std::vector<std::pair<EventId, SharedBuffer>> held;
    };
    Box<std::vector<Resume>> resumes;   ///< made by the first resume()
    Resume* find_resume(std::string_view topic) {
        for (Resume& r : *resumes)
            if (r.topic == topic) return &r;
        return nullptr;
    }

    /// The stream session's entry points for the HTTP session (start_stream, end()), set by the
    /// constructor: reached only through these, the stream session is compiled only by a
    /// program that makes an EventStream (issue 25).
    void (*const start_fn)(HttpSession& http, std::shared_ptr<StreamState> st, bool head,
                           bool keep_alive);
    void (*const end_fn)(StreamSession& s);

private:
    StreamSession* const session_;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
