// SPDX-License-Identifier: MIT
// wisp/json.hpp — optional helpers over nlohmann/json: send, publish and push JSON values,
// parse messages and bodies as JSON. Compiled only when WISP_JSON is defined; the core never
// depends on a JSON library.
#pragma once

#include <wisp/config.hpp>

#if defined(WISP_JSON)
#include <wisp/app.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN

/// `value` as compact JSON text. Never throws: bytes in strings that are not UTF-8 become
/// U+FFFD, other characters stay as they are (control characters, quotes and backslashes are
/// escaped).
std::string to_json(const nlohmann::json& value);

/// `text` parsed as JSON, or nullopt when it is not exactly one JSON value (never throws).
std::optional<nlohmann::json> parse_json(std::string_view text);
/// A text message parsed as JSON; nullopt for binary messages and for invalid JSON.
std::optional<nlohmann::json> parse_json(const Message& message);

/// Sends `value` as one text message.
SendResult send_json(Peer& peer, const nlohmann::json& value);
/// Publishes `value` as text to the subscribers of `topic`, except `peer`.
void publish_json(Peer& peer, std::string_view topic, const nlohmann::json& value);
/// Publishes `value` as text to every subscriber of `topic` (any thread).
void publish_json(App& app, std::string_view topic, const nlohmann::json& value);
/// Pushes `value` as one event's data.
SendResult push_json(EventStream& stream, const nlohmann::json& value);
/// A response with `value` as an `application/json` body.
Response json_response(const nlohmann::json& value, int status = 200);

// ---- implementation -------------------------------------------------------

inline std::string to_json(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::optional<nlohmann::json> parse_json(std::string_view text) {
    nlohmann::json v = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                             /*allow_exceptions=*/false);
    if (v.is_discarded()) return std::nullopt;
    return v;
}

inline std::optional<nlohmann::json> parse_json(const Message& message) {
    if (message.is_binary()) return std::nullopt;
    return parse_json(message.text());
}

inline SendResult send_json(Peer& peer, const nlohmann::json& value) {
    return peer.send_text(to_json(value));
}

inline void publish_json(Peer& peer, std::string_view topic, const nlohmann::json& value) {
    peer.publish_text(topic, to_json(value));
}

inline void publish_json(App& app, std::string_view topic, const nlohmann::json& value) {
    app.publish_text(topic, to_json(value));
}

inline SendResult push_json(EventStream& stream, const nlohmann::json& value) {
    return stream.push(to_json(value));
}

inline Response json_response(const nlohmann::json& value, int status) {
    return json(to_json(value), status);
}

WISP_NAMESPACE_END
#endif  // WISP_JSON
