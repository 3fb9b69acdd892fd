// SPDX-License-Identifier: MIT
// wisp/detail/kept_request.hpp — a request kept for a WebSocket peer's whole life, packed.
// Owns: the packed form (every string of the request once, lengths in 16 bits where they fit,
// common field names and values as one-byte codes) and turning it back into a Request whose
// views point into it.
// Must not know: connections, sessions, sockets (the session decides where the bytes live and
// how long a Request made from them is kept).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/router.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Strings of an upgrade request common enough to be kept as a code: an exact byte match
/// only, so the request reads back the same whatever the case the client used.
inline constexpr std::string_view kept_common[] = {"Host",
                                                   "host",
                                                   "Upgrade",
                                                   "upgrade",
                                                   "Connection",
                                                   "connection",
                                                   "Sec-WebSocket-Key",
                                                   "sec-websocket-key",
                                                   "Sec-WebSocket-Version",
                                                   "sec-websocket-version",
                                                   "Sec-WebSocket-Extensions",
                                                   "sec-websocket-extensions",
                                                   "Sec-WebSocket-Protocol",
                                                   "sec-websocket-protocol",
                                                   "Origin",
                                                   "origin",
                                                   "User-Agent",
                                                   "user-agent",
                                                   "Cookie",
                                                   "cookie",
                                                   "Pragma",
                                                   "pragma",
                                                   "Cache-Control",
                                                   "cache-control",
                                                   "Accept-Encoding",
                                                   "accept-encoding",
                                                   "Accept-Language",
                                                   "accept-language",
                                                   "websocket",
                                                   "13",
                                                   "no-cache",
                                                   "gzip, deflate, br",
                                                   "gzip, deflate, br, zstd",
                                                   "permessage-deflate; client_max_window_bits",
                                                   "GET",
                                                   "HTTP/1.1"};

/// One request (method, target, fields, body, route parameters) and the peer's strings that
/// outlive it (the subprotocol, the URL), packed after the object: a header of counts, then
/// one length per string (a byte below 0x80 is a length; 0x80 + i is kept_common[i]; 0xC0
/// is followed by a 32-bit length), then the strings' bytes in order.
/// The address, TLS and state come from the connection and the session, not from here.
class KeptRequest {
public:
    /// Bytes needed after the object for `r` (null: no request) and the two strings.
    static std::size_t packed_size(const Request* r, std::string_view protocol,
                                   std::string_view url) noexcept;
    /// Packs into `at`, which has packed_size() bytes after a KeptRequest's room.
    static KeptRequest* pack(void* at, const Request* r, std::string_view protocol,
                             std::string_view url) noexcept;

    bool has_request() const noexcept { return flags_ & has_request_flag; }
    std::string_view protocol() const noexcept;
    std::string_view url() const noexcept;
    /// Fills `out` (a fresh Request) with views into this: valid as long as this object.
    void fill(Request& out) const;

private:
    enum : std::uint8_t { has_request_flag = 1, keep_alive_flag = 2 };
    enum : unsigned char { code_mark = 0x80, long_mark = 0xC0 };
    static int common_code(std::string_view s) noexcept;
    template <class F>
    static void each_string(const Request* r, std::string_view protocol, std::string_view url,
                            F&& f);
    /// Walks the strings in order: next() gives each one.
    struct Cursor {
        const unsigned char* len;
        const char* text;
        std::string_view next() noexcept;
    };
    Cursor begin() const noexcept;

    // Where the strings start is not kept: the lengths before them are walked (the count of
    // strings follows from the counts below), so an idle peer's allocation is 4 B smaller.
    std::uint32_t headers_ = 0;     ///< fields
    std::uint16_t params_ = 0;      ///< route parameters (a route has a few)
    std::uint8_t version_ = 0x11;   ///< HTTP major << 4 | minor (1.0 or 1.1)
    std::uint8_t flags_ = 0;
};

// ---- implementation -------------------------------------------------------
static_assert(sizeof kept_common / sizeof kept_common[0] <= 0x40,
              "wisp: a code is one byte from 0x80 to 0xBF");

inline int KeptRequest::common_code(std::string_view s) noexcept {
    for (std::size_t i = 0; i < sizeof kept_common / sizeof kept_common[0]; ++i)
        if (kept_common[i].size() == s.size() && kept_common[i] == s) return static_cast<int>(i);
    return -1;
}

template <class F>
void KeptRequest::each_string(const Request* r, std::string_view protocol, std::string_view url,
                              F&& f) {
    f(protocol);
    f(url);
    if (!r) return;
    f(r->method());
    f(r->target());
    f(r->body());
    for (const Header& h : r->headers()) {
        f(h.name);
        f(h.value);
    }
    for (const RouteParam& p : r->params()) {
        f(p.name);
        f(std::string_view(p.value));
        f(p.raw);
    }
}

inline std::size_t KeptRequest::packed_size(const Request* r, std::string_view protocol,
                                            std::string_view url) noexcept {
    std::size_t bytes = 0;
    each_string(r, protocol, url, [&](std::string_view s) {
        if (common_code(s) >= 0) bytes += 1;
        else bytes += (s.size() < code_mark ? 1 : 5) + s.size();
    });
    return bytes;
}

inline KeptRequest* KeptRequest::pack(void* at, const Request* r, std::string_view protocol,
                                      std::string_view url) noexcept {
    auto* k = new (at) KeptRequest;
    std::size_t lengths = 0;
    if (r) {
        k->headers_ = static_cast<std::uint32_t>(r->headers().size());
        k->params_ = static_cast<std::uint16_t>(r->params().size());
        k->version_ =
            static_cast<std::uint8_t>((r->http_major() & 15) << 4 | (r->http_minor() & 15));
        k->flags_ = has_request_flag | (r->keep_alive() ? keep_alive_flag : 0);
    }
    each_string(r, protocol, url, [&](std::string_view s) {
        lengths += common_code(s) >= 0 ? 1 : s.size() < code_mark ? 1 : 5;
    });
    auto* len = reinterpret_cast<unsigned char*>(k + 1);
    char* out = reinterpret_cast<char*>(len) + lengths;
    each_string(r, protocol, url, [&](std::string_view s) {
        const int code = common_code(s);
        if (code >= 0) {
            *len++ = static_cast<unsigned char>(code_mark + code);
            return;
        }
        if (s.size() < code_mark) {
            *len++ = static_cast<unsigned char>(s.size());
        } else {
            const auto n = static_cast<std::uint32_t>(s.size());
            *len++ = long_mark;
            std::memcpy(len, &n, 4);
            len += 4;
        }
        if (!s.empty()) std::memcpy(out, s.data(), s.size());
        out += s.size();
    });
    return k;
}

inline KeptRequest::Cursor KeptRequest::begin() const noexcept {
    const auto* len = reinterpret_cast<const unsigned char*>(this + 1);
    // The subprotocol and the URL, then the method, target, body, each field's name and value
    // and each parameter's name, value and raw value (each_string()).
    std::size_t strings = 2;
    if (has_request()) strings += 3 + 2 * std::size_t(headers_) + 3 * std::size_t(params_);
    const unsigned char* text = len;
    for (std::size_t i = 0; i < strings; ++i) text += *text == long_mark ? 5 : 1;
    return Cursor{len, reinterpret_cast<const char*>(text)};
}

inline std::string_view KeptRequest::Cursor::next() noexcept {
    const unsigned char b = *len++;
    if (b >= code_mark && b < long_mark) return kept_common[b - code_mark];
    std::uint32_t n = b;
    if (b == long_mark) {
        std::memcpy(&n, len, 4);
        len += 4;
    }
    const std::string_view s(text, n);
    text += n;
    return s;
}

inline std::string_view KeptRequest::protocol() const noexcept { return begin().next(); }

inline std::string_view KeptRequest::url() const noexcept {
    Cursor c = begin();
    c.next();
    return c.next();
}

inline void KeptRequest::fill(Request& out) const {
    if (!has_request()) return;
    Cursor c = begin();
    c.next();   // the subprotocol
    c.next();   // the URL
    const std::string_view method = c.next(), target = c.next(), body = c.next();
    RequestBuilder::set_line(out, method, target, version_ >> 4, version_ & 15,
                             flags_ & keep_alive_flag);
    RequestBuilder::set_body(out, body);
    auto& headers = RequestBuilder::headers(out);
    headers.reserve(headers_);
    for (std::uint32_t h = 0; h < headers_; ++h) {
        const std::string_view name = c.next();
        headers.push_back(Header{name, c.next()});
    }
    auto& params = RequestBuilder::params(out);
    params.reserve(params_);
    for (std::uint16_t k = 0; k < params_; ++k) {
        RouteParam rp;
        rp.name = c.next();
        rp.value = std::string(c.next());
        rp.raw = c.next();
        params.push_back(std::move(rp));
    }
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
