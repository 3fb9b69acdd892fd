// SPDX-License-Identifier: MIT
// wisp/json.hpp — optional helpers over nlohmann/json: send, publish and push JSON values,
// parse messages and bodies as JSON. Compiled only when WISP_JSON is defined; the core never
// depends on a JSON library.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

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

/// The JSON value type of these helpers: nlohmann's, keeping object keys in insertion order,
/// so `{{"user", u}, {"message", m}}` goes out as {"user":...,"message":...}. A nlohmann::json
/// converts to it implicitly.
using Json = nlohmann::ordered_json;

/// `value` as compact JSON text. Never throws: bytes in strings that are not UTF-8 become
/// U+FFFD, other characters stay as they are (control characters, quotes and backslashes are
/// escaped).
std::string json_text(const Json& value);

/// `text` parsed as JSON, or nullopt when it is not exactly one JSON value (never throws).
std::optional<Json> parse_json(std::string_view text);
/// A text message parsed as JSON; nullopt for binary messages and for invalid JSON.
std::optional<Json> parse_json(const Message& message);

/// Sends `value` as one text message.
SendResult send_json(Peer& peer, const Json& value);
/// Publishes `value` as text to the subscribers of `topic`, except `peer`.
void publish_json(Peer& peer, std::string_view topic, const Json& value);
/// Publishes `value` as text to every subscriber of `topic` (any thread).
void publish_json(App& app, std::string_view topic, const Json& value);
/// Pushes `value` as one event's data.
SendResult push_json(EventStream& stream, const Json& value);
/// A response with `value` as an `application/json` body.
Response json_response(const Json& value, int status = 200);

// ---- implementation -------------------------------------------------------

inline std::string json_text(const Json& value) {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

inline std::optional<Json> parse_json(std::string_view text) {
    Json v = Json::parse(text.begin(), text.end(), nullptr,
                         /*allow_exceptions=*/false);
    if (v.is_discarded()) return std::nullopt;
    return v;
}

inline std::optional<Json> parse_json(const Message& message) {
    if (message.is_binary()) return std::nullopt;
    return parse_json(message.text());
}

inline SendResult send_json(Peer& peer, const Json& value) {
    return peer.send_text(json_text(value));
}

inline void publish_json(Peer& peer, std::string_view topic, const Json& value) {
    peer.publish_text(topic, json_text(value));
}

inline void publish_json(App& app, std::string_view topic, const Json& value) {
    app.publish_text(topic, json_text(value));
}

inline SendResult push_json(EventStream& stream, const Json& value) {
    return stream.push(json_text(value));
}

inline Response json_response(const Json& value, int status) {
    return json(json_text(value), status);
}

WISP_NAMESPACE_END
#endif   // WISP_JSON
#pragma pop_macro("WISP_IN_HEADER")
