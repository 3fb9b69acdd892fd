// SPDX-License-Identifier: MIT
// wisp/websocket.hpp — WebSocket peers and messages (RFC 6455), the CrossWS vocabulary.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/handle.hpp>
#include <wisp/request.hpp>
#include <wisp/send_result.hpp>
#include <wisp/timer.hpp>
#include <wisp/detail/utf8.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN

namespace detail {
class Connection;
class WsSession;
}   // namespace detail

/// True when `bytes` are well-formed UTF-8, as a text message must be (RFC 3629: no overlong
/// forms, no surrogates, nothing above U+10FFFF). For checking request bodies meant as text.
inline bool is_utf8(std::string_view bytes) noexcept { return detail::is_valid_utf8(bytes); }

/// One whole WebSocket message (fragments already joined). The bytes are valid during the
/// hook call only: copy what you keep.
class Message {
public:
    Message(std::string_view data, bool binary) noexcept : data_(data), binary_(binary) {}
    /// The payload as text; valid UTF-8 when !is_binary().
    std::string_view text() const noexcept { return data_; }
    /// The payload bytes, whatever the type.
    std::string_view data() const noexcept { return data_; }
    const unsigned char* bytes() const noexcept {
        return reinterpret_cast<const unsigned char*>(data_.data());
    }
    bool is_binary() const noexcept { return binary_; }
    bool is_text() const noexcept { return !binary_; }
    std::size_t size() const noexcept { return data_.size(); }

private:
    std::string_view data_;
    bool binary_;
};

/// Why a peer closed, as the close hook sees it.
struct CloseInfo {
    /// The close code: the peer's (1005 when its close frame had none), or ours when we
    /// failed the connection (1002, 1007, 1008, 1009, 1011, 1001), or 1006 when the TCP
    /// connection ended without a close frame.
    std::uint16_t code = 1005;
    std::string_view reason;   ///< valid during the hook call
    bool clean = false;        ///< a close frame was both sent and received
};

/// A WebSocket's state, numbered as the WHATWG WebSocket API's readyState.
enum class ReadyState : std::uint8_t {
    connecting = 0,   ///< the handshake is under way (a Peer is never seen in this state)
    open = 1,         ///< messages flow
    closing = 2,      ///< a close frame was sent or received, or a close is pending
    closed = 3,       ///< the connection is closed (also during the close hook)
};

/// How a route answers permessage-deflate offers (RFC 7692). Compression needs WISP_DEFLATE
/// (zlib); without it every offer is declined whatever the mode (`wisp::deflate_supported`).
enum class DeflateMode : std::uint8_t {
    /// Decline every offer: the default, since compression costs CPU and, in dedicated mode,
    /// memory per peer (figures in bench/README.md).
    off,
    /// No context takeover either way: each message is compressed and inflated on its own, so a
    /// peer holds no zlib state between messages (the loop's streams are shared), and a
    /// publication is compressed once for all its subscribers with the same window size.
    shared,
    /// Context takeover where the client allows it: each peer keeps its own compressor and
    /// decompressor (about 2^(window_bits+2) + 2^(mem_level+9) + 2^window_bits bytes plus 13 KiB
    /// of zlib state once it has sent and received a compressed message), so repeated content
    /// across messages compresses far better; publications are compressed per subscriber.
    dedicated,
};

/// True when wisp was built with WISP_DEFLATE (zlib), so DeflateOptions can take effect.
#ifdef WISP_DEFLATE
inline constexpr bool deflate_supported = true;
#else
inline constexpr bool deflate_supported = false;
#endif

/// permessage-deflate settings of a WebSocket route (WsOptions::deflate). Checked by app.ws():
/// a value out of range makes listen() fail with errc::invalid_argument.
struct DeflateOptions {
    DeflateMode mode = DeflateMode::off;
    /// Our compressor's LZ77 window, 2^bits bytes, 9..15 (zlib cannot make an 8-bit window; an
    /// offer that demands one is declined). Below 15 the response says server_max_window_bits.
    /// In dedicated mode it also limits the client's window when its offer lets us
    /// (client_max_window_bits), which sizes the decompressor each peer keeps.
    std::uint8_t window_bits = 15;
    /// zlib's memLevel, 1..9: the compressor's hash table, 2^(mem_level+9) bytes. Lower saves
    /// memory per peer in dedicated mode at some cost in ratio and speed.
    std::uint8_t mem_level = 8;
    /// zlib's level, 0..9 (6 is zlib's default balance of speed and ratio; 1 is fastest).
    std::uint8_t level = 6;
    /// Messages shorter than this are sent uncompressed (a small message gains little and costs
    /// a zlib call).
    std::size_t min_size = 64;
};

/// Per-message choices of Peer::send_* and publish_*, and App::publish_*.
struct SendOptions {
    /// false: sent uncompressed even when permessage-deflate was negotiated: data that is
    /// compressed already, or a secret in a message that also carries text an attacker chooses
    /// (compressed lengths leak how much the two have in common: CRIME, BREACH).
    bool compress = true;
};

/// Per-endpoint settings of app.ws<H>(path, options).
struct WsOptions {
    /// Largest message accepted (close 1009 beyond it); 0 uses Limits::max_message_bytes.
    std::size_t max_message_bytes = 0;
    /// false: the peer's copy of the upgrade request is freed once the `open` hook has
    /// returned; peer.request() then reads as an empty request (no method, path, headers or
    /// params), while peer.remote_address() and peer.state<T>() keep working. The request is
    /// kept packed either way (0.55 KiB per idle connection with the benchmark kit's
    /// handshake); a browser's handshake of several hundred bytes is what this saves.
    bool keep_request = true;
    /// permessage-deflate (RFC 7692): off by default. (`= {}` keeps WsOptions{n} free of
    /// -Wmissing-field-initializers.)
    DeflateOptions deflate = {};
    /// Namespaces (CrossWS 0.4), opt-in: when set, it names each peer's namespace at upgrade
    /// (the request's path, say: wisp::namespace_by_path), and the peer's topics are its
    /// namespace's only, so `/_ws/room1` and `/_ws/room2` do not share "chat". App::publish_to
    /// targets one namespace. Unset (the default), topics are the app's, shared with event
    /// streams and App::publish, as wisp has always had them.
    std::function<std::string(const Request&)> namespace_of{};
};

/// WsOptions::namespace_of that names a peer's namespace after its request's path.
inline std::string namespace_by_path(const Request& request) { return std::string(request.path()); }

/// One WebSocket connection, handed to the handler's hooks.
/// Thread: use from its hooks (the connection's I/O thread).
/// Lifetime: the object lives until the `close` hook has returned; after a close, sends are
/// no-ops that return SendResult::closed.
class Peer {
public:
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    /// Unique within the process, printable (hexadecimal), e.g. "1f".
    std::string_view id() const noexcept;
    /// Sends a text message; `text` must be UTF-8 (else SendResult::invalid, nothing sent).
    /// `options`: SendOptions{false} sends it uncompressed where permessage-deflate was agreed
    /// (the same for every send and publish below).
    SendResult send_text(std::string_view text, SendOptions options = {});
    /// Sends a binary message.
    SendResult send_binary(std::string_view bytes, SendOptions options = {});
    SendResult send_binary(const void* data, std::size_t size, SendOptions options = {}) {
        return send_binary(std::string_view(static_cast<const char*>(data), size), options);
    }
    /// Sends text: anything string-like (std::string, std::string_view, const char*), as
    /// CrossWS's peer.send(string). Binary stays explicit: send_binary, or send(Message).
    SendResult send(std::string_view text, SendOptions options = {}) {
        return send_text(text, options);
    }
    /// Sends `message` with its own type (an echo).
    SendResult send(const Message& message, SendOptions options = {});
    /// Sends a ping (payload at most 125 bytes).
    SendResult ping(std::string_view payload = {});
    /// Starts the closing handshake: sends a close frame with `code` (1000, 1001-1003,
    /// 1007-1014, 3000-4999) and `reason` (UTF-8, at most 123 bytes), then waits for the peer's
    /// close (bounded by Limits::ws_close_timeout) and closes the TCP connection.
    SendResult close(std::uint16_t code = 1000, std::string_view reason = {});
    /// Closes the TCP connection at once, without a close frame (close hook: 1006).
    void terminate();
    /// True until a close frame was sent or received, or the connection ended.
    bool is_open() const noexcept;

    /// The upgrade request: path, params, query, headers, as the upgrade hook read them. An
    /// empty request after `open` when the route's WsOptions::keep_request is false.
    /// Lifetime: the Request& (and views from it) until the current hook returns: the peer
    /// keeps the request packed and makes a Request of it again in each hook that asks.
    const Request& request() const noexcept;
    const Address& remote_address() const noexcept;
    /// Over mutual TLS: the subject of the client's verified certificate (as
    /// Request::client_cert_subject()); "" otherwise. Kept without the request.
    std::string_view client_cert_subject() const noexcept;
    /// The subprotocol chosen at upgrade ("" when none). (CrossWS's Node adapter reports the
    /// client's offer instead; wisp reports what was negotiated.)
    std::string_view protocol() const noexcept;
    /// The negotiated `Sec-WebSocket-Extensions` value ("" when none), e.g.
    /// "permessage-deflate; server_no_context_takeover; client_no_context_takeover".
    std::string_view extensions() const noexcept;
    /// The URL the client addressed: "ws://" ("wss://" over TLS) + host + path + "?query".
    /// Kept when WsOptions::keep_request is false.
    std::string url() const;
    /// The state, numbered as WHATWG's readyState (1 open, 2 closing, 3 closed).
    ReadyState ready_state() const noexcept;
    /// Bytes queued for this peer and not yet written to the socket.
    std::size_t buffered_amount() const noexcept;
    /// Subscribes to `topic` (false when already subscribed or closed). A closed peer leaves
    /// all its topics before its close hook runs.
    bool subscribe(std::string_view topic);
    /// Leaves `topic` (false when not subscribed).
    bool unsubscribe(std::string_view topic);
    /// The topics this peer is subscribed to, in subscription order.
    const std::vector<std::string>& topics() const noexcept;
    /// Publishes to every subscriber of `topic` on every thread except this peer, framed once
    /// (and, for subscribers that agreed on permessage-deflate without context takeover,
    /// compressed once per window size).
    /// Text must be UTF-8, checked once per publication: else SendResult::invalid and nothing
    /// is published. Otherwise SendResult::sent (each subscriber's own backpressure applies).
    SendResult publish_text(std::string_view topic, std::string_view text,
                            SendOptions options = {});
    SendResult publish_binary(std::string_view topic, std::string_view bytes,
                              SendOptions options = {});
    /// Publishes text (anything string-like), as CrossWS's peer.publish(topic, string).
    SendResult publish(std::string_view topic, std::string_view text, SendOptions options = {}) {
        return publish_text(topic, text, options);
    }
    /// Publishes `message` with its own type.
    SendResult publish(std::string_view topic, const Message& message, SendOptions options = {});

    /// Typed per-peer state, the same object as the upgrade request's state<T>().
    template <class T>
    T& state() {
        return detail::state_of<T>(state_slot());
    }

    // ---- runtime ----
    /// A weak handle for other threads (PeerHandle): send, publish, close, post.
    PeerHandle handle() const;
    /// Runs fn(peer) every `interval` on the peer's I/O thread until cancelled or the peer
    /// closes (a closed peer's timer never fires). See Timer for resolution and drift.
    Timer every(std::chrono::milliseconds interval, std::function<void(Peer&)> fn);
    /// Runs fn(peer) once after `delay`, unless the peer closed first.
    Timer after(std::chrono::milliseconds delay, std::function<void(Peer&)> fn);
    /// Runs fn(peer) once when everything queued for the peer has been written (CrossWS's
    /// waitForDrain): posted at once when the queue is empty already. Not run when the peer
    /// closes first.
    void when_drained(std::function<void(Peer&)> fn);
    /// Handles of every open peer of this peer's route (itself included), across threads: a
    /// snapshot (CrossWS's peer.peers). With namespaces: of its namespace.
    std::vector<PeerHandle> peers() const;
    /// The peer's namespace ("" when its route has none, see WsOptions::namespace_of).
    std::string_view namespace_name() const noexcept;

private:
    friend class detail::WsSession;
    Peer() noexcept = default;
    detail::StateSlot& state_slot();   // may allocate the slot (first use)
    /// The session this peer is (a base of it, holding nothing).
    detail::WsSession& s_() const noexcept;
};

/// The peer's id, as CrossWS's String(peer).
inline std::string to_string(const Peer& peer) { return std::string(peer.id()); }
/// Writes the peer's id to an output stream.
template <class Stream>
auto operator<<(Stream& os, const Peer& peer) -> decltype(os << std::string_view()) {
    return os << peer.id();
}

/// A response that accepts an upgrade (101), optionally choosing `protocol` from the client's
/// Sec-WebSocket-Protocol offer. Add headers to it before returning it from `upgrade`.
Response accept(std::string_view protocol = {});

// ---- implementation -------------------------------------------------------

inline Response accept(std::string_view protocol) {
    Response r(101);
    if (!protocol.empty()) r.headers.set("Sec-WebSocket-Protocol", protocol);
    return r;
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
