// SPDX-License-Identifier: MIT
// wisp/detail/ws_session.hpp — one WebSocket connection's state: reader, peer, close handshake.
#pragma once

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// What peer.request() reads once the peer let its request go: immutable, shared.
inline const Request& empty_request() {
    static const Request r;
    return r;
}

class Connection;

/// What a Connection holds once it speaks WebSocket. Created by the upgrade, destroyed with
/// the connection (so a Peer& stays valid through the close hook and any late call).
/// Thread: the connection's I/O thread only. Member functions are defined in
/// websocket_impl.hpp, where Connection is complete.
class WsSession {
public:
    WsSession(Connection& conn, const WsEndpoint& ep, std::unique_ptr<Request> request, std::string protocol,
              std::size_t max_message_bytes);
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;

    Peer& peer() noexcept { return peer_; }
    /// The kept upgrade request, or an empty one once it was let go (WsOptions::keep_request).
    const Request& request() const noexcept { return request_ ? *request_ : empty_request(); }
    StateSlot& state_slot() noexcept { return state_; }
    const Address& remote_address() const noexcept;
    std::string_view protocol() const noexcept { return protocol_; }
    std::string_view id() const noexcept { return {id_, id_len_}; }

    // ---- from the Connection ----
    void on_open();
    void on_data(char* p, std::size_t n);
    /// The TCP connection ended (EOF, reset, terminate, timeout): the close hook, once.
    void on_transport_closed();
    /// The app stops: close 1001.
    void on_shutdown();
    /// The idle/close deadline passed.
    void on_timer();
    /// The absolute tick of the next deadline.
    std::uint64_t deadline() const noexcept;
    /// Our close frame is queued or sent; deadline() is then the close deadline.
    bool close_sent() const noexcept { return close_sent_; }
    /// The send queue emptied.
    void on_drained();
    bool wants_drain = false;   ///< a send was refused or the socket blocked since the last drain

    // ---- WsReader sink ----
    void on_message(Opcode op, std::string_view payload);
    void on_ping(std::string_view payload);
    void on_pong(std::string_view payload);
    void on_close(std::uint16_t code, std::string_view reason);
    void on_error(errc e, std::uint16_t close_code, const char* why);

    // ---- for Peer ----
    SendResult send_data(Opcode op, std::string_view payload);
    SendResult send_ping(std::string_view payload);
    SendResult close(std::uint16_t code, std::string_view reason);
    void terminate();
    bool is_open() const noexcept;
    std::size_t buffered_amount() const noexcept;
    bool subscribe(std::string_view topic);
    bool unsubscribe(std::string_view topic);
    const std::vector<std::string>& topics() const noexcept { return topics_; }
    void publish(std::string_view topic, std::string_view data, bool binary);
    /// A publication for one of this peer's topics (loop thread).
    void deliver(const Publication& p);

private:
    /// Whether one more message may be queued; applies the backpressure policy when not.
    SendResult admit();
    void write_frame(Opcode op, std::string_view payload);
    void send_close_frame(std::uint16_t code, std::string_view reason);
    /// Fails the connection: close frame with `code` (if none was sent), error hook, close hook.
    void fail(errc e, std::uint16_t code, std::string_view why);
    void report_error(errc e, std::string_view why);
    void report_close(std::uint16_t code, std::string_view reason, bool clean);
    template <class F>
    void guarded(F&& call);
    void leave_topics();

    Connection& conn_;
    const WsEndpoint& ep_;
    WsReader reader_;
    std::unique_ptr<Request> request_;   ///< null once let go (WsOptions::keep_request)
    StateSlot state_;                    ///< shared with the upgrade request's
    std::string protocol_;
    Peer peer_{*this};
    std::vector<std::string> topics_;
    std::uint64_t last_rx_tick_ = 0;
    std::uint64_t close_deadline_ = 0;
    char id_[16];
    std::uint8_t id_len_ = 0;
    bool close_sent_ = false;
    bool close_received_ = false;
    bool close_reported_ = false;
    bool ping_outstanding_ = false;
    bool in_hook_failure_ = false;
};

}  // namespace detail
WISP_NAMESPACE_END
