// SPDX-License-Identifier: MIT
// wisp/detail/websocket_impl.hpp — Peer's members, forwarded to its WebSocket session.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_session.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN

// ---- Peer ---------------------------------------------------------------------------
inline std::string_view Peer::id() const noexcept { return s_.id(); }
inline SendResult Peer::send_text(std::string_view text, SendOptions o) {
    if (!detail::is_valid_utf8(text)) return SendResult::invalid;
    return s_.send_data(detail::Opcode::text, text, o.compress);
}
inline SendResult Peer::send_binary(std::string_view bytes, SendOptions o) {
    return s_.send_data(detail::Opcode::binary, bytes, o.compress);
}
inline SendResult Peer::send(const Message& m, SendOptions o) {
    return s_.send_data(m.is_binary() ? detail::Opcode::binary : detail::Opcode::text, m.data(),
                        o.compress);
}
inline SendResult Peer::ping(std::string_view payload) { return s_.send_ping(payload); }
inline SendResult Peer::close(std::uint16_t code, std::string_view reason) {
    return s_.close(code, reason);
}
inline void Peer::terminate() { s_.terminate(); }
inline bool Peer::is_open() const noexcept { return s_.is_open(); }
inline const Request& Peer::request() const noexcept { return s_.request(); }
inline const Address& Peer::remote_address() const noexcept { return s_.remote_address(); }
inline std::string_view Peer::client_cert_subject() const noexcept {
    return s_.client_cert_subject();
}
inline detail::StateSlot& Peer::state_slot() noexcept { return s_.state_slot(); }
inline std::string_view Peer::protocol() const noexcept { return s_.protocol(); }
inline std::string_view Peer::extensions() const noexcept { return s_.extensions(); }
inline std::string Peer::url() const { return s_.url(); }
inline ReadyState Peer::ready_state() const noexcept { return s_.ready_state(); }
inline std::size_t Peer::buffered_amount() const noexcept { return s_.buffered_amount(); }

inline bool Peer::subscribe(std::string_view topic) { return s_.subscribe(topic); }
inline bool Peer::unsubscribe(std::string_view topic) { return s_.unsubscribe(topic); }
inline const std::vector<std::string>& Peer::topics() const noexcept { return s_.topics(); }
inline SendResult Peer::publish_text(std::string_view topic, std::string_view text, SendOptions o) {
    return s_.publish(topic, text, false, o.compress);
}
inline SendResult Peer::publish_binary(std::string_view topic, std::string_view bytes,
                                       SendOptions o) {
    return s_.publish(topic, bytes, true, o.compress);
}
inline SendResult Peer::publish(std::string_view topic, const Message& m, SendOptions o) {
    return s_.publish(topic, m.data(), m.is_binary(), o.compress);
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
