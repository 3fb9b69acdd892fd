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

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
// ---- Peer ---------------------------------------------------------------------------
// What sends, closes or looks at what a delivery may change first delivers the publications
// the loop holds (Loop::settle), so holding them is never seen.
WISP_DEF std::string_view Peer::id() const noexcept { return s_().id(); }
WISP_DEF SendResult Peer::send_text(std::string_view text, SendOptions o) {
    if (!detail::is_valid_utf8(text)) return SendResult::invalid;
    s_().settle();
    return s_().send_data(detail::Opcode::text, text, o.compress);
}
WISP_DEF SendResult Peer::send_binary(std::string_view bytes, SendOptions o) {
    s_().settle();
    return s_().send_data(detail::Opcode::binary, bytes, o.compress);
}
WISP_DEF SendResult Peer::send(const Message& m, SendOptions o) {
    s_().settle();
    return s_().send_data(m.is_binary() ? detail::Opcode::binary : detail::Opcode::text, m.data(),
                          o.compress);
}
WISP_DEF SendResult Peer::ping(std::string_view payload) {
    s_().settle();
    return s_().send_ping(payload);
}
WISP_DEF SendResult Peer::close(std::uint16_t code, std::string_view reason) {
    s_().settle();
    return s_().close(code, reason);
}
WISP_DEF void Peer::terminate() {
    s_().settle();
    s_().terminate();
}
WISP_DEF bool Peer::is_open() const noexcept {
    s_().settle();
    return s_().is_open();
}
WISP_DEF const Request& Peer::request() const noexcept { return s_().request(); }
WISP_DEF const Address& Peer::remote_address() const noexcept { return s_().remote_address(); }
WISP_DEF std::string_view Peer::client_cert_subject() const noexcept {
    return s_().client_cert_subject();
}
WISP_DEF detail::StateSlot& Peer::state_slot() { return s_().state_slot(); }
WISP_DEF std::string_view Peer::protocol() const noexcept { return s_().protocol(); }
WISP_DEF std::string_view Peer::extensions() const noexcept { return s_().extensions(); }
WISP_DEF std::string Peer::url() const { return s_().url(); }
WISP_DEF ReadyState Peer::ready_state() const noexcept {
    s_().settle();
    return s_().ready_state();
}
WISP_DEF std::size_t Peer::buffered_amount() const noexcept {
    s_().settle();
    return s_().buffered_amount();
}

WISP_DEF bool Peer::subscribe(std::string_view topic) { return s_().subscribe(topic); }
WISP_DEF bool Peer::unsubscribe(std::string_view topic) { return s_().unsubscribe(topic); }
WISP_DEF const std::vector<std::string>& Peer::topics() const noexcept {
    s_().settle();
    return s_().topics();
}
WISP_DEF SendResult Peer::publish_text(std::string_view topic, std::string_view text,
                                       SendOptions o) {
    return s_().publish(topic, text, false, o.compress);
}
WISP_DEF SendResult Peer::publish_binary(std::string_view topic, std::string_view bytes,
                                         SendOptions o) {
    return s_().publish(topic, bytes, true, o.compress);
}
WISP_DEF SendResult Peer::publish(std::string_view topic, const Message& m, SendOptions o) {
    return s_().publish(topic, m.data(), m.is_binary(), o.compress);
}
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
