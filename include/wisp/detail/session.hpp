// SPDX-License-Identifier: MIT
// wisp/detail/session.hpp — the protocol a connection speaks now: HTTP/1.1 first, then a
// WebSocket or an event stream after the HTTP session hands the connection over.
// Owns: the interface between a connection and its protocol.
// Must not know: transports, sockets, backends.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>

WISP_NAMESPACE_BEGIN
namespace detail {

enum class SessionKind : std::uint8_t { http, websocket, stream };

/// One protocol's side of a connection. The connection calls these on its loop's thread; a
/// session answers by queueing bytes (Connection::out()) and by asking the connection to close.
class Session {
public:
    explicit Session(SessionKind k) noexcept : kind(k) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    virtual ~Session() = default;

    const SessionKind kind;

    /// Called once the session is in charge (after the previous one handed over).
    virtual void on_start() {}
    /// Input; the bytes are in the loop's receive buffer, valid during the call only.
    virtual void on_data(char* p, std::size_t n) = 0;
    /// Whether to read now. False pauses reading until Connection::resume_reading().
    virtual bool wants_input() const noexcept { return true; }
    /// Most bytes to take in one read of at most `cap`.
    virtual std::size_t read_budget(std::size_t cap) const noexcept { return cap; }
    /// The peer sent its last byte (TCP FIN).
    virtual void on_peer_eof() = 0;
    /// Everything queued was written.
    virtual void on_drained() {}
    /// After backpressure (a refused send, a write the transport did not take whole), the
    /// queue fell to Limits::low_watermark or below.
    virtual void on_low_water() {}
    /// The absolute tick of the session's next deadline; 0 for none.
    virtual std::uint64_t deadline() const noexcept = 0;
    /// A deadline that holds even while writes are blocked (0 for none), such as the
    /// WebSocket close timeout: our close frame may be stuck behind what the peer never reads.
    virtual std::uint64_t hard_deadline() const noexcept { return 0; }
    /// deadline() passed.
    virtual void on_timer() = 0;
    /// The app is stopping.
    virtual void on_shutdown() = 0;
    /// The connection closed: the last call. The session stays allocated until the
    /// connection's memory goes (a Peer& stays valid through its close hook and late calls).
    virtual void on_closed() {}
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
