// SPDX-License-Identifier: MIT
// wisp/options.hpp — every limit and timeout of an App, with its default and its reason.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>

WISP_NAMESPACE_BEGIN

/// What a send does when its peer or stream still has Limits::max_queued_bytes or more queued
/// after offering them to the socket (so a burst within one loop turn is not a slow reader; a
/// queue below the cap takes one more message of any size).
enum class BackpressurePolicy : std::uint8_t {
    close,   ///< close the peer (WebSocket 1008) or end the stream; the default
    drop,    ///< drop the message and report SendResult::dropped; the connection stays
};

/// Limits. Exceeding one gives its own answer (status or close code) and errc; each has a test.
struct Limits {
    std::size_t max_header_bytes = 16 * 1024;           ///< request line + fields: 431
    std::size_t max_header_count = 100;                 ///< number of fields: 431
    std::size_t max_url_bytes = 8 * 1024;               ///< request-target: 414
    std::size_t max_body_bytes = 1024 * 1024;           ///< request body (decoded): 413
    std::size_t max_message_bytes = 16 * 1024 * 1024;   ///< WebSocket message: close 1009
    std::size_t max_queued_bytes = 1024 * 1024;         ///< unsent bytes per connection: policy
    /// The WebSocket `drain` hook runs when a peer's queue, after a refused send or a write the
    /// socket did not take whole, falls to this many bytes or fewer (µWebSockets' low
    /// watermark); 0: only once it is empty.
    std::size_t low_watermark = 64 * 1024;
    std::chrono::milliseconds header_timeout{10'000};       ///< whole request head (slowloris): 408
    std::chrono::milliseconds body_timeout{10'000};         ///< no body bytes for this long: 408
    std::chrono::milliseconds keep_alive_timeout{15'000};   ///< idle HTTP connection: closed
    std::chrono::milliseconds ws_idle_timeout{120'000};     ///< WebSocket: ping at half, close
    std::chrono::milliseconds ws_close_timeout{5'000};      ///< our close frame unanswered: closed
    std::chrono::milliseconds sse_heartbeat{15'000};        ///< comment on idle streams; 0 disables
    std::chrono::milliseconds send_timeout{30'000};   ///< no write progress for this long: closed
    std::chrono::milliseconds shutdown_timeout{5'000};   ///< stop(): then close what remains
    /// Publications waiting for one event loop (made on another thread, not yet delivered by
    /// it). App::publish_* from a thread that is not an I/O thread waits while this many wait
    /// (so a fast producer is paced by the slowest loop, and memory stays bounded); an I/O
    /// thread never waits (two loops waiting on each other would deadlock). 0 counts as 1.
    std::size_t max_pending_publications = 1024;
    /// The same for sends to one event loop through handles from elsewhere (PeerHandle's send,
    /// publish, close and post; StreamHandle's push and post; EventStream::push off its
    /// thread): a thread that is not an I/O thread waits while this many wait to run, so a
    /// producer faster than the loop cannot grow its queue without end. 0 counts as 1.
    std::size_t max_pending_sends = 1024;
};

/// App-wide settings, fixed once the App listens.
struct Options {
    Limits limits;
    BackpressurePolicy backpressure = BackpressurePolicy::close;
    std::size_t receive_buffer_bytes = 256 * 1024;     ///< one per I/O thread, not per connection
    std::chrono::milliseconds timer_resolution{100};   ///< granularity of every timeout above
    int listen_backlog = 1024;
    bool reuse_address = true;   ///< SO_REUSEADDR on listening sockets
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
