// SPDX-License-Identifier: MIT
// wisp/event_stream.hpp — Server-Sent Events responses (WHATWG HTML §9.2), H3's createEventStream.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/handle.hpp>
#include <wisp/request.hpp>
#include <wisp/send_result.hpp>
#include <wisp/timer.hpp>
#include <wisp/websocket.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN

namespace detail {
class StreamState;
}

/// One server-sent event. Fields that are not set are not written.
struct EventMessage {
    std::string data;                ///< CR, LF and CRLF split it into several `data:` lines
    std::string event;               ///< `event:` type; omitted when empty
    std::optional<std::string> id;   ///< `id:`; an empty id resets the client's last event ID
    long long retry_ms = -1;         ///< `retry:` reconnection time; omitted when negative
};

/// How an event stream receives the publications of a topic it subscribed to.
enum class TopicEvents {
    unnamed,   ///< `data:` only: the browser's EventSource.onmessage fires
    named,     ///< `event: <topic>` and `data:`: addEventListener(topic) fires
};

/// A `text/event-stream` response bound to one request. Create it in a route handler and
/// return it: the head (200, Content-Type: text/event-stream, Cache-Control: no-cache,
/// X-Accel-Buffering: no, chunked on HTTP/1.1, close-delimited on HTTP/1.0, plus headers())
/// goes out when the handler returns; events pushed before that wait for it.
/// Thread: push, push_comment and close may be called from any thread (they are posted to the
/// stream's I/O thread; the result then says SendResult::sent or closed as known at the call).
/// on_closed / on_drain callbacks run on the I/O thread.
/// Lifetime: a cheap handle; copies refer to the same stream; it may outlive the request.
class EventStream {
public:
    explicit EventStream(Request& req);

    /// One event with `data` (empty data still makes an event).
    SendResult push(std::string_view data);
    /// One event with the fields that are set; an `id` or `event` holding CR, LF or NUL is
    /// refused with SendResult::invalid and nothing is written.
    SendResult push(const EventMessage& message);
    /// A comment (`: text`), which clients ignore; keeps proxies from cutting idle streams.
    SendResult push_comment(std::string_view text);
    /// Ends the stream (the last chunk, then the connection closes); on_closed runs.
    void close();
    /// True until the stream ended (close(), client gone, server stopping).
    bool is_open() const noexcept;

    /// Response headers to add; effective before the handler returns.
    Headers& headers() noexcept;
    /// The `Last-Event-ID` request header, for resuming after a reconnect.
    std::optional<std::string_view> last_event_id() const noexcept;
    /// Bytes queued and not yet written (I/O thread).
    std::size_t buffered_amount() const noexcept;

    /// Receives every text publication to `topic` as one event (`data:` lines; with
    /// TopicEvents::named also `event: <topic>`, for addEventListener(topic) in a browser).
    /// Binary publications are skipped. Call it on the stream's I/O thread (in the handler, or
    /// from on_drain/on_closed callbacks). False when already subscribed, when the stream has
    /// ended, or (named) when `topic` cannot be an event name (empty, or holding CR, LF, NUL).
    bool subscribe(std::string_view topic, TopicEvents events = TopicEvents::unnamed);
    bool unsubscribe(std::string_view topic);

    /// Called once when the stream ends, whatever ended it. Set it before returning.
    void on_closed(std::function<void()> fn);
    /// Called on the I/O thread each time everything queued has been written: push more here
    /// to stream as fast as the client reads with bounded memory.
    void on_drain(std::function<void()> fn);

    // ---- runtime ----
    /// A weak handle for other threads: it does not keep the stream's state alive.
    StreamHandle handle() const;
    /// Runs fn(stream) every `interval` on the stream's I/O thread until cancelled or the
    /// stream ends (an ended stream's timer never fires). See Timer for resolution and drift.
    /// Inactive for a stream that has no connection (App::fetch). Call it on the I/O thread.
    Timer every(std::chrono::milliseconds interval, std::function<void(EventStream&)> fn);
    /// Runs fn(stream) once after `delay`, unless the stream ended first.
    Timer after(std::chrono::milliseconds delay, std::function<void(EventStream&)> fn);
    /// Runs fn(stream) once when everything queued has been written: posted at once when the
    /// queue is empty already. Not run when the stream ends first. I/O thread.
    void when_drained(std::function<void(EventStream&)> fn);

    /// Returning the stream from a handler starts it.
    operator Response() const {   // NOLINT: a marker
        return detail::ResponseAccess::marker(detail::ResponseKind::stream);
    }

private:
    friend struct detail::HandleAccess;
    explicit EventStream(std::shared_ptr<detail::StreamState> s) noexcept : s_(std::move(s)) {}
    std::shared_ptr<detail::StreamState> s_;
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
