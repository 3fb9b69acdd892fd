// SPDX-License-Identifier: MIT
// wisp/detail/transport.hpp — the Transport seam: one connection's bytes in and out, readiness,
// half-close and close.
// Owns: the interface between a connection and whatever carries its bytes (a socket of one
// backend, a TLS layer over it, a test's in-memory fake).
// Must not know: HTTP, WebSocket, event streams, what the bytes mean, or who reads them.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

WISP_NAMESPACE_BEGIN
namespace detail {

class Loop;
class Transport;

/// What a non-blocking read or write did.
enum class IoResult : std::uint8_t {
    done,     ///< moved at least one byte
    again,    ///< nothing now: the transport is not ready
    eof,      ///< (read) the peer sent everything it will send
    failed,   ///< the connection is broken
};

/// One piece of a gather write.
struct Slice {
    const char* data;
    std::size_t size;
};

/// The side of a connection that a transport reports to. Calls come on the loop's thread.
class TransportOwner {
public:
    /// Input (or an end of input) may be waiting: read until IoResult::again.
    virtual void on_readable() = 0;
    /// The transport takes bytes again after a write came back short or IoResult::again.
    virtual void on_writable() = 0;
    /// Waiting for readiness failed: the connection is broken.
    virtual void on_transport_error() = 0;
    /// Keeps the owner's memory while a wait or a batch of events may still name it.
    virtual void hold() noexcept = 0;
    virtual void unhold() noexcept = 0;
    /// The loop the owner and its transports belong to (a socket transport asks for it: it
    /// keeps no pointer of its own).
    virtual Loop& loop() const noexcept = 0;
    /// The loop's flag: an on_readable() is posted (Loop::read_later). Each owner keeps it
    /// with its own small fields (a member here would leave a connection 7 bytes of padding).
    virtual bool& read_posted() noexcept = 0;
    /// A layer (a transport that owns the one below it, as TLS over a socket): itself as that
    /// transport, which is how a connection finds its layer through its socket. Null for
    /// anything else.
    virtual Transport* as_layer() noexcept { return nullptr; }

protected:
    ~TransportOwner() = default;
};

/// Carries one connection's bytes. A connection talks to its transport only through this, so
/// the sessions above never see a socket, a backend or (later) TLS records.
/// Readiness is edge-like: after want_read() the owner gets on_readable() once input may be
/// there (at once, posted, if it already is) and then reads until IoResult::again; after
/// want_write() it gets on_writable() once when the transport takes bytes again.
/// Lifetime: a transport holds its owner (TransportOwner::hold) whenever it may call it and
/// from start() until after close() has returned (letting go from a posted handler), as a
/// socket's pending wait or its place in a ready set does. So an owner is never freed inside a
/// call from its transport, nor inside its own close.
/// Thread: the owning loop's only.
class Transport {
public:
    virtual ~Transport() = default;

    /// Starts reporting readiness to `owner`. False when that failed (the owner closes).
    virtual bool start(TransportOwner& owner) = 0;
    /// Reads up to `n` bytes into `p`; `got` is set when done.
    virtual IoResult read(char* p, std::size_t n, std::size_t& got) = 0;
    /// One gather write of `count` slices; `put` is set when done (it may be short).
    virtual IoResult write(const Slice* slices, std::size_t count, std::size_t& put) = 0;
    /// Asks for on_readable() when input may be waiting.
    virtual void want_read() = 0;
    /// Asks for on_writable() when the transport takes bytes again.
    virtual void want_write() = 0;
    /// False when nothing can be waiting for a read now, so a read would only say `again`.
    virtual bool may_have_input() const noexcept { return true; }
    /// Sends the end of output (TCP FIN) while reading goes on. False when that failed.
    virtual bool shutdown_send() = 0;
    /// Closes at once; no readiness is reported afterwards.
    virtual void close() = 0;
    /// True when the bytes are protected (TLS): URLs say https / wss.
    virtual bool is_secure() const noexcept { return false; }
    /// A tick of the loop's clock by which the transport itself needs progress (a TLS
    /// handshake), or 0 for none. The connection's timer slot keeps it with the session's.
    virtual std::uint64_t deadline() const noexcept { return 0; }
    /// deadline() passed (the connection closes next): say why to whoever listens.
    virtual void on_deadline() {}
    /// The subject of the client's verified certificate (mutual TLS), shared with the requests
    /// that report it; null without one.
    virtual std::shared_ptr<const std::string> client_subject() const { return nullptr; }

    /// The peer's address ("" when there is none, as in tests).
    const Address& remote_address() const noexcept { return remote_; }

protected:
    Address remote_;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
