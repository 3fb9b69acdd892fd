// SPDX-License-Identifier: MIT
// wisp/handle.hpp — PeerHandle and StreamHandle: weak, copyable references to a WebSocket peer or
// an event stream that work from any thread (a queue consumer, a database listener, a timer).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/send_result.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN

namespace detail {
class Connection;
class LoopGate;
class StreamState;
struct HandleAccess;
}   // namespace detail

class Peer;
class EventStream;
struct EventMessage;

/// What a handle's asynchronous work finally did, reported once: SendResult::sent (queued on the
/// peer's loop), dropped (backpressure policy), closed (the peer or the app went first) or
/// invalid.
using SendDone = std::function<void(SendResult)>;

/// A weak reference to a WebSocket peer (peer.handle()), usable from any thread.
/// Thread: every member may be called from any thread. The work is done on the peer's I/O
/// thread, later; a result returned at once says what is known at the call: SendResult::closed
/// when the peer (or the app) is known gone, invalid for arguments that could never be sent,
/// else sent ("on its way"). For the final outcome pass `done`: it runs exactly once, on the
/// peer's I/O thread, or on the calling thread when the outcome is known at once, or (when the
/// app ends before the work could run) on the thread that ends it. A thread that is not an I/O
/// thread waits while Limits::max_pending_sends sends wait for the peer's loop (I/O threads
/// never wait).
/// Lifetime: a handle keeps no socket open; after the peer closes it only answers closed.
class PeerHandle {
public:
    PeerHandle() noexcept = default;
    PeerHandle(const PeerHandle& o);
    PeerHandle(PeerHandle&& o) noexcept;
    PeerHandle& operator=(PeerHandle o) noexcept;
    ~PeerHandle();

    /// The peer's id ("" for an empty handle).
    std::string_view id() const noexcept { return id_; }
    /// False once the peer's connection has closed (true during a close handshake).
    bool is_open() const noexcept;
    /// Sends text (UTF-8, else invalid at once), as Peer::send.
    SendResult send(std::string_view text, SendDone done = {}) const;
    /// Sends a binary message.
    SendResult send_binary(std::string_view bytes, SendDone done = {}) const;
    /// Publishes to `topic` from this peer (every subscriber but it), as Peer::publish.
    SendResult publish(std::string_view topic, std::string_view text) const;
    SendResult publish_binary(std::string_view topic, std::string_view bytes) const;
    /// Starts the closing handshake, as Peer::close (invalid codes and reasons at once).
    SendResult close(std::uint16_t code = 1000, std::string_view reason = {}) const;
    /// Runs fn(peer) on the peer's I/O thread with the live Peer&; false when the peer is known
    /// gone. When it has closed by the time fn would run, fn is not run.
    bool post(std::function<void(Peer&)> fn) const;

    explicit operator bool() const noexcept { return conn_ != nullptr; }
    friend bool operator==(const PeerHandle& a, const PeerHandle& b) noexcept {
        return a.conn_ == b.conn_;
    }
    friend bool operator!=(const PeerHandle& a, const PeerHandle& b) noexcept {
        return a.conn_ != b.conn_;
    }

private:
    friend struct detail::HandleAccess;
    SendResult post_send(bool binary, std::string_view data, SendDone done) const;
    detail::Connection* conn_ = nullptr;   ///< holds its memory (a reference count), not its socket
    std::shared_ptr<detail::LoopGate> gate_;
    std::string id_;
};

/// A weak reference to an event stream (stream.handle()), usable from any thread; it does not
/// keep the stream's state alive (an EventStream does).
/// Thread: any. Pushes are done on the stream's I/O thread, later, as EventStream::push does
/// (paced by Limits::max_pending_sends, as PeerHandle's sends).
class StreamHandle {
public:
    StreamHandle() noexcept = default;
    /// False once the stream ended (or every EventStream and the connection let it go).
    bool is_open() const noexcept;
    SendResult push(std::string_view data) const;
    SendResult push(const EventMessage& message) const;
    SendResult push_comment(std::string_view text) const;
    /// Ends the stream.
    void close() const;
    /// Runs fn(stream) on the stream's I/O thread; false when the stream is known gone.
    bool post(std::function<void(EventStream&)> fn) const;

private:
    friend struct detail::HandleAccess;
    std::weak_ptr<detail::StreamState> s_;
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
