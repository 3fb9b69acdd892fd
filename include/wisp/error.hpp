// SPDX-License-Identifier: MIT
// wisp/error.hpp — wisp's error codes (errc + category) and the Error passed to error hooks.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <string>
#include <system_error>

WISP_NAMESPACE_BEGIN

/// Every failure wisp reports. Setup calls return them as std::error_code; I/O and protocol
/// failures reach the `error` hook of a handler as an Error.
enum class errc {
    // setup and API misuse
    invalid_route = 1,   ///< a route pattern that cannot be parsed
    duplicate_route,     ///< the same method and pattern registered twice
    invalid_argument,    ///< an option or argument out of its range
    not_listening,       ///< run() without a successful listen()
    already_running,     ///< listen()/run() while the app runs
    // HTTP
    bad_request,             ///< malformed request: 400
    header_too_large,        ///< header block over Limits::max_header_bytes: 431
    url_too_long,            ///< request target over Limits::max_url_bytes: 414
    body_too_large,          ///< body over Limits::max_body_bytes: 413
    version_not_supported,   ///< not HTTP/1.0 or HTTP/1.1: 505
    header_timeout,          ///< request head not complete within Limits::header_timeout
    body_timeout,            ///< request body stalled for Limits::body_timeout
    idle_timeout,            ///< connection idle past its timeout
    handler_exception,       ///< a user handler or hook threw
    already_answered,        ///< a deferred response answered twice, or after the connection ended
    // WebSocket (RFC 6455)
    protocol_error,         ///< violation of RFC 6455 framing: close 1002
    invalid_utf8,           ///< text or close reason that is not UTF-8: close 1007
    message_too_big,        ///< message over Limits::max_message_bytes: close 1009
    invalid_close_code,     ///< a close code that may not be sent
    invalid_close_reason,   ///< close reason over 123 bytes or not UTF-8
    // queues and lifetime
    backpressure,          ///< queued bytes over Limits::max_queued_bytes
    closed,                ///< the peer or stream has closed; nothing was sent
    invalid_event_field,   ///< SSE id/event with CR, LF or NUL
    shutting_down,         ///< the server is stopping
    // TLS (App::listen_tls)
    tls_unavailable,   ///< built without WISP_TLS
    tls_setup,         ///< a certificate, key or TLS setting that does not work
    tls_error,         ///< a failed TLS handshake or record (the connection closes)
    // permessage-deflate (RFC 7692); last, so the values above keep their numbers
    invalid_compressed_data,   ///< a compressed message that does not inflate: close 1007
    out_of_memory,             ///< zlib could not allocate its state: close 1011
    // the Redis bridge (<wisp/redis.hpp>); last, so the values above keep their numbers
    redis_unavailable,   ///< built without WISP_REDIS
    redis_url,           ///< a redis:// URL that does not parse, or a host that does not resolve
    redis_auth,          ///< Redis rejected AUTH (the bridge stops; local delivery goes on)
    redis_connection,    ///< a Redis connection failed or was lost; publications were dropped
};

/// The category of wisp::errc values ("wisp").
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// What an `error` hook receives: the code, and a sentence for logs.
struct Error {
    std::error_code code;
    std::string message;   ///< human-readable detail (may be empty)
};

// ---- implementation -------------------------------------------------------
namespace detail {
class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "wisp"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::invalid_route:
                return "invalid route pattern";
            case errc::duplicate_route:
                return "route already registered";
            case errc::invalid_argument:
                return "invalid argument";
            case errc::not_listening:
                return "not listening";
            case errc::already_running:
                return "already running";
            case errc::bad_request:
                return "bad request";
            case errc::header_too_large:
                return "request header fields too large";
            case errc::url_too_long:
                return "URI too long";
            case errc::body_too_large:
                return "content too large";
            case errc::version_not_supported:
                return "HTTP version not supported";
            case errc::header_timeout:
                return "request header timeout";
            case errc::body_timeout:
                return "request body timeout";
            case errc::idle_timeout:
                return "idle timeout";
            case errc::handler_exception:
                return "handler threw an exception";
            case errc::already_answered:
                return "already answered";
            case errc::protocol_error:
                return "WebSocket protocol error";
            case errc::invalid_utf8:
                return "invalid UTF-8";
            case errc::message_too_big:
                return "message too big";
            case errc::invalid_close_code:
                return "invalid close code";
            case errc::invalid_close_reason:
                return "invalid close reason";
            case errc::backpressure:
                return "send queue limit reached";
            case errc::closed:
                return "closed";
            case errc::invalid_event_field:
                return "SSE field contains CR, LF or NUL";
            case errc::shutting_down:
                return "server shutting down";
            case errc::tls_unavailable:
                return "built without TLS (WISP_TLS)";
            case errc::tls_setup:
                return "TLS setup failed";
            case errc::tls_error:
                return "TLS handshake or record failed";
            case errc::invalid_compressed_data:
                return "invalid compressed data";
            case errc::out_of_memory:
                return "out of memory";
            case errc::redis_unavailable:
                return "built without the Redis bridge (WISP_REDIS)";
            case errc::redis_url:
                return "bad Redis URL";
            case errc::redis_auth:
                return "Redis rejected AUTH";
            case errc::redis_connection:
                return "Redis connection failed";
        }
        return "unknown wisp error";
    }
};
}   // namespace detail

inline const std::error_category& error_category() noexcept {
    static const detail::error_category_impl instance;
    return instance;
}

WISP_NAMESPACE_END

namespace std {
template <>
struct is_error_code_enum<wisp::errc> : true_type {};
}   // namespace std
#pragma pop_macro("WISP_IN_HEADER")
