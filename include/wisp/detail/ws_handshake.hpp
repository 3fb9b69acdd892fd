// SPDX-License-Identifier: MIT
// wisp/detail/ws_handshake.hpp — server side of the WebSocket opening handshake (RFC 6455 §4.2).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

// Bytes in, verdicts out: header values are given as views, nothing touches a socket. Every
// function may be called from any thread.

/// SHA-1 (FIPS 180-4 §6.1), streaming. Used only for Sec-WebSocket-Accept, where RFC 6455
/// §4.2.2 prescribes it; it is not used for anything that needs collision resistance.
class Sha1 {
public:
    Sha1() noexcept { reset(); }
    void reset() noexcept;
    void update(const void* data, std::size_t n) noexcept;
    void update(std::string_view s) noexcept { update(s.data(), s.size()); }
    /// The digest of everything updated since the last reset; then the object is reset.
    std::array<std::uint8_t, 20> finish() noexcept;

private:
    void block(const unsigned char* p) noexcept;

    std::uint32_t h_[5];
    std::uint64_t total_;   // bytes hashed
    unsigned char buf_[64];
    std::size_t buf_len_;
};

/// SHA-1 of `data` in one call.
std::array<std::uint8_t, 20> sha1(std::string_view data) noexcept;

/// The base64 length of `n` bytes, padding included (RFC 4648 §4).
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }
/// Writes base64 (RFC 4648 §4, standard alphabet, with padding) of [p, p + n) to `out`
/// (room for base64_encoded_size(n)); returns the length written. No terminating NUL.
std::size_t base64_encode(const std::uint8_t* p, std::size_t n, char* out) noexcept;
std::string base64_encode(const std::uint8_t* p, std::size_t n);

/// True when `key` is the base64 of exactly 16 bytes, as RFC 6455 §4.2.1 requires of
/// Sec-WebSocket-Key: 22 characters of the standard alphabet, then "==". The value of the
/// unused low bits of the 22nd character is not checked (RFC 4648 §3.5 lets a decoder accept
/// them; the key is only ever hashed back).
bool base64_decoded_size_is_16(std::string_view key) noexcept;

/// The GUID RFC 6455 §1.3 appends to the key.
inline constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Sec-WebSocket-Accept for `client_key` (RFC 6455 §4.2.2 item 5.4):
/// base64(SHA-1(key + GUID)), always 28 characters, written to `out` (no terminating NUL).
void accept_key(std::string_view client_key, char out[28]) noexcept;
std::string accept_key(std::string_view client_key);

/// True when the comma-separated list `header_value` has an element equal to `token`, ASCII
/// case-insensitively, ignoring spaces and tabs around elements (RFC 9110 §5.6.1), e.g.
/// `keep-alive, Upgrade` has "upgrade".
bool header_has_token(std::string_view header_value, std::string_view token) noexcept;

/// Calls each(std::string_view element) for every non-empty element of a comma-separated list,
/// trimmed of spaces and tabs: for Sec-WebSocket-Protocol offers (RFC 6455 §4.2.1 item 8).
template <class Fn>
void parse_token_list(std::string_view value, Fn&& each);

/// What check_handshake decided about a request.
enum class HandshakeResult {
    ok,                    ///< a valid WebSocket upgrade; answer 101
    not_upgrade,           ///< no `Upgrade: websocket`: an ordinary HTTP request
    bad_request,           ///< a broken WebSocket upgrade: answer 400
    version_unsupported,   ///< answer 426 with `Sec-WebSocket-Version: 13` (RFC 6455 §4.4)
};

/// Validates an opening handshake request (RFC 6455 §4.2.1). `get(name)` is called with a
/// lower-case field name and returns a pointer to its value, or nullptr when absent; the caller
/// folds case and decides about duplicates. A request is a WebSocket attempt iff its Upgrade
/// field lists "websocket"; then it needs method GET and HTTP/1.1 or later, a Connection field
/// listing "upgrade", Sec-WebSocket-Version exactly 13 (else version_unsupported, so a client
/// speaking another version learns which one to use even if the rest of its request differs),
/// and a Sec-WebSocket-Key of 16 base64 bytes. On ok, *key_out (if not null) is the key trimmed
/// of spaces and tabs, a view into the value get() returned, ready for accept_key().
template <class GetHeader>
HandshakeResult check_handshake(std::string_view method, int http_major, int http_minor,
                                GetHeader&& get, std::string_view* key_out);

// ---- implementation -------------------------------------------------------

inline std::uint32_t sha1_rotl(std::uint32_t x, unsigned n) noexcept {
    return (x << n) | (x >> (32 - n));
}

inline void Sha1::reset() noexcept {
    // FIPS 180-4 §5.3.1.
    h_[0] = 0x67452301u;
    h_[1] = 0xEFCDAB89u;
    h_[2] = 0x98BADCFEu;
    h_[3] = 0x10325476u;
    h_[4] = 0xC3D2E1F0u;
    total_ = 0;
    buf_len_ = 0;
}

inline void Sha1::block(const unsigned char* p) noexcept {
    // FIPS 180-4 §6.1.2: the message schedule kept as a rolling window of 16 words.
    std::uint32_t w[16];
    for (int t = 0; t < 16; ++t, p += 4) {
        w[t] = static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
               static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int t = 0; t < 80; ++t) {
        if (t >= 16) {
            const std::uint32_t x = w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15];
            w[t & 15] = sha1_rotl(x ^ w[t & 15], 1);
        }
        std::uint32_t f, k;   // §4.1.1 functions and §4.2.1 constants, by round
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        const std::uint32_t tmp = sha1_rotl(a, 5) + f + e + k + w[t & 15];
        e = d;
        d = c;
        c = sha1_rotl(b, 30);
        b = a;
        a = tmp;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
}

inline void Sha1::update(const void* data, std::size_t n) noexcept {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    total_ += n;
    if (buf_len_ != 0) {
        const std::size_t take = n < 64 - buf_len_ ? n : 64 - buf_len_;
        std::memcpy(buf_ + buf_len_, p, take);
        buf_len_ += take;
        p += take;
        n -= take;
        if (buf_len_ < 64) return;
        block(buf_);
        buf_len_ = 0;
    }
    for (; n >= 64; n -= 64, p += 64) block(p);
    if (n != 0) std::memcpy(buf_, p, n);
    buf_len_ = n;
}

inline std::array<std::uint8_t, 20> Sha1::finish() noexcept {
    // §5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then the bit length as 64-bit big-endian.
    const std::uint64_t bits = total_ * 8;
    unsigned char pad[72] = {0x80};
    const std::size_t zeros = (buf_len_ < 56 ? 56 : 120) - buf_len_;
    for (int i = 0; i < 8; ++i)
        pad[zeros + static_cast<std::size_t>(i)] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(pad, zeros + 8);
    std::array<std::uint8_t, 20> out{};
    for (std::size_t i = 0; i < 20; ++i)
        out[i] = static_cast<std::uint8_t>(h_[i / 4] >> (24 - 8 * (i % 4)));
    reset();
    return out;
}

inline std::array<std::uint8_t, 20> sha1(std::string_view data) noexcept {
    Sha1 h;
    h.update(data);
    return h.finish();
}

inline constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::size_t base64_encode(const std::uint8_t* p, std::size_t n, char* out) noexcept {
    char* o = out;
    std::size_t i = 0;
    for (; n - i >= 3; i += 3) {
        const std::uint32_t v = static_cast<std::uint32_t>(p[i]) << 16 |
                                static_cast<std::uint32_t>(p[i + 1]) << 8 | p[i + 2];
        *o++ = base64_alphabet[v >> 18];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = base64_alphabet[(v >> 6) & 63];
        *o++ = base64_alphabet[v & 63];
    }
    if (n - i == 1) {
        const std::uint32_t v = static_cast<std::uint32_t>(p[i]) << 16;
        *o++ = base64_alphabet[v >> 18];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        const std::uint32_t v =
            static_cast<std::uint32_t>(p[i]) << 16 | static_cast<std::uint32_t>(p[i + 1]) << 8;
        *o++ = base64_alphabet[v >> 18];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = base64_alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    return static_cast<std::size_t>(o - out);
}

inline std::string base64_encode(const std::uint8_t* p, std::size_t n) {
    std::string out(base64_encoded_size(n), '\0');
    base64_encode(p, n, &out[0]);
    return out;
}

inline bool base64_is_alphabet(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

inline bool base64_decoded_size_is_16(std::string_view key) noexcept {
    // 16 bytes = 5 groups of 3 (20 characters) + 1 byte (2 characters and "==").
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
    for (std::size_t i = 0; i < 22; ++i) {
        if (!base64_is_alphabet(key[i])) return false;
    }
    return true;
}

inline void accept_key(std::string_view client_key, char out[28]) noexcept {
    Sha1 h;
    h.update(client_key);
    h.update(ws_guid);
    const std::array<std::uint8_t, 20> digest = h.finish();
    base64_encode(digest.data(), digest.size(), out);
}

inline std::string accept_key(std::string_view client_key) {
    std::string out(28, '\0');
    accept_key(client_key, &out[0]);
    return out;
}

inline bool ws_is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view ws_trim_ows(std::string_view s) noexcept {
    while (!s.empty() && ws_is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws_is_ows(s.back())) s.remove_suffix(1);
    return s;
}

inline char ws_ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool ws_iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ws_ascii_lower(a[i]) != ws_ascii_lower(b[i])) return false;
    }
    return true;
}

template <class Fn>
void parse_token_list(std::string_view value, Fn&& each) {
    // RFC 9110 §5.6.1: elements separated by commas with optional whitespace; empty elements
    // are allowed in the list syntax and ignored by recipients.
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        const std::string_view element = ws_trim_ows(value.substr(0, comma));
        if (!element.empty()) each(element);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
}

inline bool header_has_token(std::string_view header_value, std::string_view token) noexcept {
    bool found = false;
    parse_token_list(header_value, [&](std::string_view element) {
        if (!found && ws_iequals(element, token)) found = true;
    });
    return found;
}

template <class GetHeader>
HandshakeResult check_handshake(std::string_view method, int http_major, int http_minor,
                                GetHeader&& get, std::string_view* key_out) {
    // §4.2.1 item 4: the upgrade keyword is case-insensitive; without it this is plain HTTP.
    const std::string_view* upgrade = get(std::string_view("upgrade"));
    if (!upgrade || !header_has_token(*upgrade, "websocket")) return HandshakeResult::not_upgrade;
    // Item 1: an HTTP/1.1 or later GET (method names are case-sensitive, RFC 9110 §9.1).
    if (method != "GET") return HandshakeResult::bad_request;
    if (http_major < 1 || (http_major == 1 && http_minor < 1)) return HandshakeResult::bad_request;
    // Item 5: Connection lists "upgrade", case-insensitively.
    const std::string_view* connection = get(std::string_view("connection"));
    if (!connection || !header_has_token(*connection, "upgrade"))
        return HandshakeResult::bad_request;
    // Item 7 and §4.4: any version but 13 (or none) gets 426 naming 13.
    const std::string_view* version = get(std::string_view("sec-websocket-version"));
    if (!version || ws_trim_ows(*version) != "13") return HandshakeResult::version_unsupported;
    // Item 6: a nonce of 16 bytes, base64.
    const std::string_view* key = get(std::string_view("sec-websocket-key"));
    if (!key) return HandshakeResult::bad_request;
    const std::string_view trimmed = ws_trim_ows(*key);
    if (!base64_decoded_size_is_16(trimmed)) return HandshakeResult::bad_request;
    if (key_out) *key_out = trimmed;
    return HandshakeResult::ok;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
