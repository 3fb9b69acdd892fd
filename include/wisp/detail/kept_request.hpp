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
/// outlive it (the subprotocol, the URL), packed into `bytes()` after the object: a header of
/// counts, then one length per string (16-bit, or 32-bit when one is 32 KiB or more; a length
/// with the top bit set is a code into kept_common), then the strings' bytes in order.
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
    std::string_view protocol() const noexcept { return string_at(0); }
    std::string_view url() const noexcept { return string_at(1); }
    /// Fills `out` (a fresh Request) with views into this: valid as long as this object.
    void fill(Request& out) const;

private:
    enum : std::uint8_t { has_request_flag = 1, keep_alive_flag = 2, wide_flag = 4 };
    static constexpr std::uint32_t first_request_string = 2;
    static int common_code(std::string_view s) noexcept;
    template <class F>
    static void each_string(const Request* r, std::string_view protocol, std::string_view url,
                            F&& f);
    std::uint32_t length_at(std::uint32_t i) const noexcept;
    std::string_view string_at(std::uint32_t i) const noexcept;
    const unsigned char* lengths() const noexcept {
        return reinterpret_cast<const unsigned char*>(this + 1);
    }
    const char* text() const noexcept {
        return reinterpret_cast<const char*>(lengths()) + count_ * ((flags_ & wide_flag) ? 4 : 2);
    }

    std::uint32_t count_ = 0;     ///< strings kept
    std::uint32_t headers_ = 0;   ///< fields
    std::uint16_t params_ = 0;    ///< route parameters (a route has a few)
    std::uint8_t major_ = 1, minor_ = 1;
    std::uint8_t flags_ = 0;
};

// ---- implementation -------------------------------------------------------
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
    std::size_t count = 0, bytes = 0;
    bool wide = false;
    each_string(r, protocol, url, [&](std::string_view s) {
        ++count;
        if (common_code(s) >= 0) return;
        bytes += s.size();
        wide |= s.size() >= 0x8000;
    });
    return count * (wide ? 4 : 2) + bytes;
}

inline KeptRequest* KeptRequest::pack(void* at, const Request* r, std::string_view protocol,
                                      std::string_view url) noexcept {
    auto* k = new (at) KeptRequest;
    bool wide = false;
    each_string(r, protocol, url, [&](std::string_view s) {
        ++k->count_;
        wide |= s.size() >= 0x8000 && common_code(s) < 0;
    });
    if (r) {
        k->headers_ = static_cast<std::uint32_t>(r->headers().size());
        k->params_ = static_cast<std::uint16_t>(r->params().size());
        k->major_ = static_cast<std::uint8_t>(r->http_major());
        k->minor_ = static_cast<std::uint8_t>(r->http_minor());
        k->flags_ = has_request_flag | (r->keep_alive() ? keep_alive_flag : 0);
    }
    if (wide) k->flags_ |= wide_flag;
    auto* len = reinterpret_cast<unsigned char*>(k + 1);
    char* out = const_cast<char*>(k->text());
    each_string(r, protocol, url, [&](std::string_view s) {
        const int code = common_code(s);
        std::uint32_t v = static_cast<std::uint32_t>(s.size());
        if (code >= 0) v = static_cast<std::uint32_t>(code) | (wide ? 0x80000000u : 0x8000u);
        if (wide) {
            std::memcpy(len, &v, 4);
            len += 4;
        } else {
            const auto v16 = static_cast<std::uint16_t>(v);
            std::memcpy(len, &v16, 2);
            len += 2;
        }
        if (code < 0 && !s.empty()) {
            std::memcpy(out, s.data(), s.size());
            out += s.size();
        }
    });
    return k;
}

inline std::uint32_t KeptRequest::length_at(std::uint32_t i) const noexcept {
    if (flags_ & wide_flag) {
        std::uint32_t v;
        std::memcpy(&v, lengths() + 4 * i, 4);
        return v;
    }
    std::uint16_t v;
    std::memcpy(&v, lengths() + 2 * i, 2);
    return v & 0x8000u ? (v & 0x7fffu) | 0x80000000u : v;
}

inline std::string_view KeptRequest::string_at(std::uint32_t i) const noexcept {
    if (i >= count_) return {};
    const char* p = text();
    for (std::uint32_t j = 0;; ++j) {
        const std::uint32_t v = length_at(j);
        if (v & 0x80000000u) {
            if (j == i) return kept_common[v & 0x7fffffffu];
            continue;
        }
        if (j == i) return {p, v};
        p += v;
    }
}

inline void KeptRequest::fill(Request& out) const {
    if (!has_request()) return;
    const char* p = text();
    std::uint32_t i = first_request_string;
    for (std::uint32_t j = 0; j < i; ++j) {
        const std::uint32_t v = length_at(j);
        if (!(v & 0x80000000u)) p += v;
    }
    auto next = [&]() -> std::string_view {
        const std::uint32_t v = length_at(i++);
        if (v & 0x80000000u) return kept_common[v & 0x7fffffffu];
        const std::string_view s(p, v);
        p += v;
        return s;
    };
    const std::string_view method = next(), target = next(), body = next();
    RequestBuilder::set_line(out, method, target, major_, minor_, flags_ & keep_alive_flag);
    RequestBuilder::set_body(out, body);
    auto& headers = RequestBuilder::headers(out);
    headers.reserve(headers_);
    for (std::uint32_t h = 0; h < headers_; ++h) {
        const std::string_view name = next();
        headers.push_back(Header{name, next()});
    }
    auto& params = RequestBuilder::params(out);
    params.reserve(params_);
    for (std::uint16_t k = 0; k < params_; ++k) {
        RouteParam rp;
        rp.name = next();
        rp.value = std::string(next());
        rp.raw = next();
        params.push_back(std::move(rp));
    }
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
