// SPDX-License-Identifier: MIT
// wisp/response.hpp — Response (what a handler returns), its shorthands (text, html, json,
// redirect, status), reason_phrase, and the Responder through which a deferred handler answers.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/headers.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

WISP_NAMESPACE_BEGIN

class Request;
namespace detail {
struct Deferred;
struct ResponseAccess;
}   // namespace detail

/// The reason phrase of a status code ("Not Found"); "Unknown" for unregistered codes.
std::string_view reason_phrase(int status) noexcept;

namespace detail {
enum class ResponseKind : std::uint8_t { normal, deferred, stream };
}

/// An HTTP response: status, headers and body. Content-Length, Date and Connection are
/// written by wisp and ignored if set here.
class Response {
public:
    Response() = default;
    explicit Response(int status_code, std::string body_text = {},
                      std::string_view content_type = {})
        : status(status_code), body(std::move(body_text)) {
        if (!content_type.empty()) headers.add("Content-Type", content_type);   // the only one
    }

    int status = 200;
    Headers headers;
    std::string body;

private:
    friend struct detail::ResponseAccess;
    struct MovedBody {};
    Response(MovedBody, int status_code, std::string&& body_text) noexcept
        : status(status_code), body(std::move(body_text)) {}
    detail::ResponseKind kind_ = detail::ResponseKind::normal;
};

namespace detail {
/// What a Response is beyond its fields: a marker for an answer that comes through a Responder
/// or an EventStream.
struct ResponseAccess {
    static ResponseKind kind(const Response& r) noexcept { return r.kind_; }
    /// A response whose body is moved in once (a short body is copied at each move).
    static Response with_body(int status, std::string&& body) noexcept {
        return Response(Response::MovedBody{}, status, std::move(body));
    }
    static Response marker(ResponseKind k) {
        Response r;
        r.kind_ = k;
        return r;
    }
};
}   // namespace detail

/// 200 text/plain; charset=utf-8.
Response text(std::string body, int status = 200);
/// 200 text/html; charset=utf-8.
Response html(std::string body, int status = 200);
/// 200 application/json with `body` already serialised (see wisp/json.hpp for values).
Response json(std::string body, int status = 200);
/// A redirect (302 by default; 301, 303, 307, 308 accepted) to `location`.
Response redirect(std::string_view location, int status = 302);
/// An empty response with `status` and, for errors, its reason phrase as a text body.
Response status(int status);

/// The handle a deferred handler answers through. Copyable; any copy may send, once.
/// Thread: send() may be called from any thread; the response is written on the connection's
/// I/O thread. If the connection is gone, send() returns false and the response is dropped.
class Responder {
public:
    Responder() = default;
    explicit Responder(std::shared_ptr<detail::Deferred> d) : d_(std::move(d)) {}
    /// Sends the response; false when already answered or the connection has closed.
    bool send(Response res) const;
    /// The request being answered (an owned copy).
    const Request& request() const;
    operator Response() const {   // NOLINT: a marker
        return detail::ResponseAccess::marker(detail::ResponseKind::deferred);
    }

private:
    std::shared_ptr<detail::Deferred> d_;
};

// ---- implementation -------------------------------------------------------
inline std::string_view reason_phrase(int s) noexcept {
    switch (s) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 102:
            return "Processing";
        case 103:
            return "Early Hints";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 203:
            return "Non-Authoritative Information";
        case 204:
            return "No Content";
        case 205:
            return "Reset Content";
        case 206:
            return "Partial Content";
        case 207:
            return "Multi-Status";
        case 208:
            return "Already Reported";
        case 226:
            return "IM Used";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 305:
            return "Use Proxy";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 407:
            return "Proxy Authentication Required";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Range Not Satisfiable";
        case 417:
            return "Expectation Failed";
        case 418:
            return "I'm a teapot";
        case 421:
            return "Misdirected Request";
        case 422:
            return "Unprocessable Content";
        case 423:
            return "Locked";
        case 424:
            return "Failed Dependency";
        case 425:
            return "Too Early";
        case 426:
            return "Upgrade Required";
        case 428:
            return "Precondition Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 451:
            return "Unavailable For Legal Reasons";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        case 506:
            return "Variant Also Negotiates";
        case 507:
            return "Insufficient Storage";
        case 508:
            return "Loop Detected";
        case 510:
            return "Not Extended";
        case 511:
            return "Network Authentication Required";
        default:
            return "Unknown";
    }
}

namespace detail {
/// Response(status, body, type) with `body` moved once, not through a parameter of its own
/// (a short body is copied at each move): the shorthands' hot path.
inline Response typed_response(int status, std::string& body, std::string_view type) {
    Response r = ResponseAccess::with_body(status, std::move(body));
    HeadersAccess::add_checked(r.headers, "Content-Type", type);   // `type` is a constant
    return r;
}
}   // namespace detail

inline Response text(std::string body, int status) {
    return detail::typed_response(status, body, "text/plain; charset=utf-8");
}

inline Response html(std::string body, int status) {
    return detail::typed_response(status, body, "text/html; charset=utf-8");
}

inline Response json(std::string body, int status) {
    return detail::typed_response(status, body, "application/json");
}

inline Response redirect(std::string_view location, int status) {
    Response r(status);
    r.headers.set("Location", location);
    return r;
}

inline Response status(int code) {
    if (code >= 400) return text(std::string(reason_phrase(code)) + "\n", code);
    return Response(code);
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
