// SPDX-License-Identifier: MIT
// wisp/detail/http_response.hpp — an HTTP/1.1 response as bytes (RFC 9112 §4, §6), sans-IO.
// Owns: which fields are valid to write, which wisp writes itself (framing), and the layout of
// a response head and body in one contiguous piece of output.
// Must not know: connections, keep-alive decisions (the caller passes them), routing.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Header names must be tokens (RFC 9110 §5.1) and values free of CR, LF and NUL: anything else
/// would let a handler split the response.
struct TokenTable {
    bool ok[256] = {};
    constexpr TokenTable() {
        for (int c = 33; c < 127; ++c) ok[c] = true;
        for (char c : std::string_view("\"(),/:;<=>?@[\\]{}"))
            ok[static_cast<unsigned char>(c)] = false;
    }
};
inline constexpr TokenTable token_table{};

/// "00" to "99": a number's decimal digits two at a time.
struct DigitPairs {
    char d[200] = {};
    constexpr DigitPairs() {
        for (int i = 0; i < 100; ++i) {
            d[2 * i] = static_cast<char>('0' + i / 10);
            d[2 * i + 1] = static_cast<char>('0' + i % 10);
        }
    }
};
inline constexpr DigitPairs digit_pairs{};

/// Copies `s` to `o` and returns the end of the copy. Runs of up to 32 bytes (a response's
/// field names and values, a short body) go as two overlapping fixed-size copies, inline,
/// instead of a call to memcpy for each.
inline char* put_bytes(char* o, std::string_view s) noexcept {
    const char* p = s.data();
    const std::size_t n = s.size();
    if (n >= 16 && n <= 32) {
        std::memcpy(o, p, 16);
        std::memcpy(o + n - 16, p + n - 16, 16);
    } else if (n >= 8 && n < 16) {
        std::memcpy(o, p, 8);
        std::memcpy(o + n - 8, p + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        std::memcpy(o, p, 4);
        std::memcpy(o + n - 4, p + n - 4, 4);
    } else if (n > 32) {
        std::memcpy(o, p, n);
    } else {
        for (std::size_t i = 0; i < n; ++i) o[i] = p[i];
    }
    return o + n;
}

inline bool valid_header_name(std::string_view s) noexcept {
    if (s.empty()) return false;
    const bool* ok = token_table.ok;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t n = s.size();
    bool all = true;
    for (; n >= 4; p += 4, n -= 4) all &= ok[p[0]] & ok[p[1]] & ok[p[2]] & ok[p[3]];
    for (; n > 0; ++p, --n) all &= ok[*p];
    return all;
}
inline bool valid_header_value(std::string_view s) noexcept {
    // Eight bytes at a time. CR, LF and NUL are all below 0x0e, and (x - 0x0e..) & ~x & 0x80..
    // is non-zero exactly when a byte of x is below 0x0e: a word without such a byte (nearly
    // all) is passed at once. One with some (a tab, say) is looked at closely: it holds CR, LF
    // or NUL when it, or it XOR a word of CRs or of LFs, has a zero byte.
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const char* p = s.data();
    std::size_t n = s.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (((w - ones * 0x0e) & ~w & highs) == 0) continue;
        const std::uint64_t cr = w ^ (ones * '\r'), lf = w ^ (ones * '\n');
        if (((w - ones) & ~w) & highs) return false;
        if ((((cr - ones) & ~cr) | ((lf - ones) & ~lf)) & highs) return false;
    }
    for (; n > 0; ++p, --n)
        if (*p == '\r' || *p == '\n' || *p == '\0') return false;
    return true;
}

/// Fields wisp writes itself on every response; a handler's values for them are ignored.
inline bool is_framing_header(std::string_view name) noexcept {
    return iequals(name, "content-length") || iequals(name, "connection") ||
           iequals(name, "date") || iequals(name, "transfer-encoding");
}

/// Appends `headers` as "Name: value\r\n" lines to `out`, leaving out the framing fields and
/// those named in `also_skip`. Returns the first header with an invalid name or value (then
/// `out` is incomplete and must not be sent), or nullptr.
inline const Headers::value_type* append_header_lines(
    std::string& out, const Headers& headers, std::initializer_list<std::string_view> also_skip) {
    for (const auto& h : headers) {
        bool skip = is_framing_header(h.first);
        for (std::string_view s : also_skip) skip = skip || iequals(h.first, s);
        if (skip) continue;
        if (!valid_header_name(h.first) || !valid_header_value(h.second)) return &h;
        out.append(h.first).append(": ").append(h.second).append("\r\n");
    }
    return nullptr;
}

/// A response laid out for writing: what the caller decided (keep-alive, HEAD) and what one
/// pass over the handler's fields found.
class ResponseLayout {
public:
    /// Scans `res`. `head`: a HEAD request (the body is not sent). `keep_alive`: the connection
    /// stays open unless a field says `Connection: close`. `http10`: the request was HTTP/1.0
    /// (a kept connection says so).
    ResponseLayout(const Response& res, bool head, bool keep_alive, bool http10) noexcept;

    /// The first field with an invalid name or value (answer 500 instead), or nullptr.
    const Headers::value_type* invalid() const noexcept { return invalid_; }
    bool keep_alive() const noexcept { return keep_alive_; }
    /// Bytes write() produces.
    std::size_t size() const noexcept;
    /// Writes the response to `o` (room for size() bytes); `date` is the IMF-fixdate now
    /// (always 29 characters: format_http_date).
    void write(char* o, std::string_view date) const noexcept;

private:
    const Response& res_;
    const Headers::value_type* invalid_ = nullptr;
    std::string_view reason_;
    std::string_view connection_;
    std::size_t fields_size_ = 0;
    std::size_t len_len_ = 1;   ///< digits of the body's length
    int status_;
    bool no_body_;
    bool send_body_;
    bool keep_alive_;
    bool has_framing_ = false;   ///< a handler's field is one wisp writes itself (skipped)
};

// ---- implementation -------------------------------------------------------
inline ResponseLayout::ResponseLayout(const Response& res, bool head, bool keep_alive,
                                      bool http10) noexcept
    : res_(res), status_((res.status >= 100 && res.status <= 999) ? res.status : 500) {
    // RFC 9110 §6.4.1: 1xx, 204 and 304 responses have no content.
    no_body_ = status_ < 200 || status_ == 204 || status_ == 304;
    send_body_ = !no_body_ && !head;
    // One pass over the handler's fields: validity (but for the constants wisp added itself,
    // known valid), `Connection: close`, and the size of those written as they are.
    std::size_t known_valid = HeadersAccess::checked(res.headers);
    for (const auto& hv : res.headers) {
        if (known_valid != 0) {
            --known_valid;
        } else if (!valid_header_name(hv.first) || !valid_header_value(hv.second)) {
            invalid_ = &hv;
            return;
        }
        if (is_framing_header(hv.first)) {
            if (iequals(hv.first, "connection") && iequals(hv.second, "close")) keep_alive = false;
            has_framing_ = true;
            continue;
        }
        fields_size_ += hv.first.size() + 2 + hv.second.size() + 2;
    }
    keep_alive_ = keep_alive;
    reason_ = status_ == 200 ? std::string_view("OK") : reason_phrase(status_);
    connection_ = !keep_alive ? std::string_view("Connection: close\r\n")
                  : http10    ? std::string_view("Connection: keep-alive\r\n")
                              : std::string_view();
    // How many decimal digits the body's length takes (at most 20): write() puts them in place.
    const std::size_t v = res.body.size();
    for (std::size_t p = 10; v >= p && len_len_ < 20; p *= 10) ++len_len_;
}

inline std::size_t ResponseLayout::size() const noexcept {
    // "HTTP/1.1 " status SP reason CRLF "Date: " date CRLF fields connection CRLF
    std::size_t n = 9 + 3 + 1 + reason_.size() + 2 + 6 + 29 + 2 + connection_.size() + 2;
    if (!no_body_) n += 16 + len_len_ + 2;   // "Content-Length: " digits CRLF
    n += fields_size_;
    if (send_body_) n += res_.body.size();
    return n;
}

inline void ResponseLayout::write(char* o, std::string_view date) const noexcept {
    auto put = [&o](std::string_view s) { o = put_bytes(o, s); };
    if (status_ == 200) {   // most answers: the status line is a constant
        put("HTTP/1.1 200 OK\r\nDate: ");
    } else {
        put("HTTP/1.1 ");
        const int hundreds = status_ / 100;
        *o++ = static_cast<char>('0' + hundreds);
        std::memcpy(o, digit_pairs.d + 2 * (status_ - 100 * hundreds), 2);
        o += 2;
        *o++ = ' ';
        put(reason_);
        put("\r\nDate: ");
    }
    // A fixed size, which size() counts too: copied without a call.
    std::memcpy(o, date.data(), 29);
    o += 29;
    put("\r\n");
    for (const auto& hv : res_.headers) {
        if (has_framing_ && is_framing_header(hv.first)) continue;
        put(hv.first);
        put(": ");
        put(hv.second);
        put("\r\n");
    }
    if (!no_body_) {
        put("Content-Length: ");
        // The digits straight into place, from the last, two at a time.
        std::size_t v = res_.body.size();
        char* d = o + len_len_;
        for (; v >= 100; v /= 100) {
            d -= 2;
            std::memcpy(d, digit_pairs.d + 2 * (v % 100), 2);
        }
        if (v >= 10) std::memcpy(d - 2, digit_pairs.d + 2 * v, 2);
        else d[-1] = static_cast<char>('0' + v);
        o += len_len_;
        put("\r\n");
    }
    put(connection_);
    put("\r\n");
    if (send_body_) put(res_.body);
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
