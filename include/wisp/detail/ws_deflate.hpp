// SPDX-License-Identifier: MIT
// wisp/detail/ws_deflate.hpp — permessage-deflate negotiation (RFC 7692 §5, §7.1): the client's
// Sec-WebSocket-Extensions offers in, the agreed parameters and the response value out.
// Owns: the extension-list syntax (RFC 6455 §9.1), the rules for each parameter, which offer is
// taken, the response's wording.
// Must not know: zlib (deflate_codec.hpp), sessions, sockets: header values in, verdicts out.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// What a route allows, from WsOptions::deflate.
struct DeflateConfig {
    /// Dedicated mode: keep the LZ77 window between messages in both directions unless the
    /// client's offer forbids it. Shared mode (false): a fresh window for every message both ways,
    /// so nothing is kept between messages.
    bool context_takeover = false;
    /// 9..15: our compressor's window (server_max_window_bits) and, in dedicated mode, the window
    /// asked of the client when its offer lets us choose (client_max_window_bits).
    std::uint8_t window_bits = 15;
};

/// The agreed parameters (RFC 7692 §7.1), from the server's side.
struct DeflateParams {
    bool server_no_context_takeover = false;    ///< we compress each message with a fresh window
    bool client_no_context_takeover = false;    ///< so does the client: we inflate each one fresh
    std::uint8_t server_max_window_bits = 15;   ///< our compressor's window, 9..15
    std::uint8_t client_max_window_bits = 15;   ///< the most the client's compressor uses, 8..15
    bool say_server_max_window_bits = false;    ///< written in the response
    bool say_client_max_window_bits = false;    ///< written in the response

    friend bool operator==(const DeflateParams& a, const DeflateParams& b) noexcept {
        return a.server_no_context_takeover == b.server_no_context_takeover &&
               a.client_no_context_takeover == b.client_no_context_takeover &&
               a.server_max_window_bits == b.server_max_window_bits &&
               a.client_max_window_bits == b.client_max_window_bits &&
               a.say_server_max_window_bits == b.say_server_max_window_bits &&
               a.say_client_max_window_bits == b.say_client_max_window_bits;
    }
};

/// The most bytes format_deflate_response writes.
inline constexpr std::size_t max_deflate_response_bytes = 128;

/// Reads the Sec-WebSocket-Extensions fields of one request, in the order they came (several
/// fields are one list, RFC 9110 §5.3), and takes the first permessage-deflate offer that is
/// valid and supported (RFC 7692 §5: the client lists offers in its order of preference).
/// Declined, and the next offer tried: a parameter that is unknown, repeated, missing its value
/// or with an invalid one (§7), an element that breaks the list syntax, and an offer that asks
/// for a server window of 8 bits (zlib cannot compress with a 256-byte window; §7.1.2.2 lets
/// the server decline what it does not support). Other extensions are ignored.
class DeflateNegotiator {
public:
    explicit DeflateNegotiator(DeflateConfig config) noexcept : config_(config) {}
    /// One Sec-WebSocket-Extensions field value.
    void feed(std::string_view field_value);
    /// An offer was accepted.
    bool accepted() const noexcept { return accepted_; }
    /// The agreed parameters (valid when accepted()).
    const DeflateParams& params() const noexcept { return params_; }

private:
    struct Offer {
        bool server_no_context_takeover = false;
        bool client_no_context_takeover = false;
        std::uint8_t server_max_window_bits = 0;         // 0: absent
        bool client_max_window_bits = false;             // present, with or without a value
        std::uint8_t client_max_window_bits_value = 0;   // 0: no value
    };
    /// Parses one list element at `s` (after leading separators); advances past it. Returns
    /// whether it was a valid permessage-deflate offer (then `offer` holds it).
    static bool parse_element(std::string_view& s, Offer& offer);
    bool accept(const Offer& offer);

    DeflateConfig config_;
    DeflateParams params_;
    bool accepted_ = false;
};

/// Writes the response's Sec-WebSocket-Extensions value for `p` to `out` (room for
/// max_deflate_response_bytes); returns its length. Only what RFC 7692 §7.1 lets a server say:
/// a window size only when it must (the client offered it) or when it limits the client.
std::size_t format_deflate_response(const DeflateParams& p, char* out) noexcept;
std::string format_deflate_response(const DeflateParams& p);
/// The same text, from a table shared by the whole process (so a peer keeps a view, not a
/// copy): valid for the program's life, any thread.
std::string_view deflate_response(const DeflateParams& p);

// ---- implementation -------------------------------------------------------

inline bool ext_is_tchar(char c) noexcept {
    // RFC 9110 §5.6.2: token characters.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

inline void ext_skip_ows(std::string_view& s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

inline std::string_view ext_take_token(std::string_view& s) noexcept {
    std::size_t n = 0;
    while (n < s.size() && ext_is_tchar(s[n])) ++n;
    const std::string_view t = s.substr(0, n);
    s.remove_prefix(n);
    return t;
}

inline bool ext_iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

/// Skips the rest of a broken element up to its list's next comma outside a quoted string.
inline void ext_skip_element(std::string_view& s) noexcept {
    bool quoted = false;
    while (!s.empty()) {
        const char c = s.front();
        if (quoted && c == '\\' && s.size() >= 2) {
            s.remove_prefix(2);
            continue;
        }
        if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) return;
        s.remove_prefix(1);
    }
}

/// A window-bits value: a decimal 8..15 without leading zeros (RFC 7692 §7.1.2.1, §7.1.2.2).
inline std::uint8_t ext_window_bits(std::string_view v) noexcept {
    if (v.size() == 1 && v[0] == '8') return 8;
    if (v.size() == 1 && v[0] == '9') return 9;
    if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return static_cast<std::uint8_t>(10 + (v[1] - '0'));
    return 0;
}

inline bool DeflateNegotiator::parse_element(std::string_view& s, Offer& offer) {
    const std::string_view name = ext_take_token(s);
    bool valid = !name.empty();
    const bool deflate = ext_iequals(name, "permessage-deflate");
    bool seen[4] = {false, false, false, false};
    for (;;) {
        ext_skip_ows(s);
        if (!valid || s.empty() || s.front() == ',') break;
        if (s.front() != ';') {
            valid = false;
            break;
        }
        s.remove_prefix(1);
        ext_skip_ows(s);
        const std::string_view param = ext_take_token(s);
        if (param.empty()) {
            valid = false;
            break;
        }
        ext_skip_ows(s);
        bool has_value = false;
        char value_buf[8];
        std::size_t value_len = 0;
        bool value_ok = true;   // short enough to be one of ours
        if (!s.empty() && s.front() == '=') {
            has_value = true;
            s.remove_prefix(1);
            ext_skip_ows(s);
            if (!s.empty() && s.front() == '"') {
                // RFC 6455 §9.1: a quoted value must be a token once unescaped (RFC 9110 §5.6.4).
                s.remove_prefix(1);
                bool closed = false;
                while (!s.empty()) {
                    char c = s.front();
                    s.remove_prefix(1);
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\') {
                        if (s.empty()) break;
                        c = s.front();
                        s.remove_prefix(1);
                    }
                    if (!ext_is_tchar(c)) value_ok = valid = false;
                    if (value_len < sizeof value_buf) value_buf[value_len++] = c;
                    else value_ok = false;
                }
                if (!closed || value_len == 0) valid = false;
            } else {
                const std::string_view t = ext_take_token(s);
                if (t.empty()) valid = false;
                if (t.size() <= sizeof value_buf) {
                    for (char c : t) value_buf[value_len++] = c;
                } else {
                    value_ok = false;
                }
            }
            if (!valid) break;
        }
        if (!deflate) continue;   // another extension's parameters: only the syntax matters
        const std::string_view value(value_buf, value_ok ? value_len : 0);
        int which = -1;
        if (param == "server_no_context_takeover") which = 0;
        else if (param == "client_no_context_takeover") which = 1;
        else if (param == "server_max_window_bits") which = 2;
        else if (param == "client_max_window_bits") which = 3;
        // §7: an unknown or repeated parameter declines the offer.
        if (which < 0 || seen[which]) {
            valid = false;
            continue;   // keep reading, to find where the element ends
        }
        seen[which] = true;
        switch (which) {
            case 0:   // §7.1.1.1: no value
                if (has_value) valid = false;
                offer.server_no_context_takeover = true;
                break;
            case 1:   // §7.1.1.2: no value
                if (has_value) valid = false;
                offer.client_no_context_takeover = true;
                break;
            case 2:   // §7.1.2.2: a value is required
                offer.server_max_window_bits = has_value ? ext_window_bits(value) : 0;
                if (offer.server_max_window_bits == 0) valid = false;
                break;
            default:   // §7.1.2.1: the value is optional
                offer.client_max_window_bits = true;
                if (has_value) {
                    offer.client_max_window_bits_value = ext_window_bits(value);
                    if (offer.client_max_window_bits_value == 0) valid = false;
                }
                break;
        }
    }
    if (!s.empty() && s.front() != ',') {
        valid = false;
        ext_skip_element(s);
    }
    return valid && deflate;
}

inline bool DeflateNegotiator::accept(const Offer& o) {
    DeflateParams p;
    // §7.1.1.1: an offered server_no_context_takeover must be in the response; the server may
    // add it unasked. §7.1.1.2: the server may likewise impose client_no_context_takeover.
    p.server_no_context_takeover = o.server_no_context_takeover || !config_.context_takeover;
    p.client_no_context_takeover = o.client_no_context_takeover || !config_.context_takeover;
    // §7.1.2.2: an offered server_max_window_bits is answered with the same or a smaller value;
    // the server may also limit itself unasked.
    std::uint8_t w = config_.window_bits;
    if (o.server_max_window_bits != 0) {
        if (o.server_max_window_bits < w) w = o.server_max_window_bits;
        p.say_server_max_window_bits = true;
    }
    if (w < 9) return false;   // zlib's deflate makes no 8-bit window: decline, try the next
    if (w < 15) p.say_server_max_window_bits = true;
    p.server_max_window_bits = w;
    // §7.1.2.1: client_max_window_bits may appear in the response only when offered. We limit
    // the client only where it saves memory: an inflate window kept between messages.
    if (o.client_max_window_bits) {
        const std::uint8_t offered =
            o.client_max_window_bits_value != 0 ? o.client_max_window_bits_value : 15;
        p.client_max_window_bits = offered;
        if (!p.client_no_context_takeover && config_.window_bits < offered) {
            p.client_max_window_bits = config_.window_bits;
            p.say_client_max_window_bits = true;
        }
    }
    params_ = p;
    accepted_ = true;
    return true;
}

inline void DeflateNegotiator::feed(std::string_view s) {
    while (!accepted_) {
        while (!s.empty() && (s.front() == ',' || s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);   // RFC 9110 §5.6.1: empty list elements are ignored
        if (s.empty()) return;
        Offer offer;
        if (parse_element(s, offer)) accept(offer);
    }
}

inline std::size_t format_deflate_response(const DeflateParams& p, char* out) noexcept {
    std::size_t n = 0;
    auto put = [&](std::string_view s) {
        for (char c : s) out[n++] = c;
    };
    auto bits = [&](std::uint8_t b) {
        if (b >= 10) out[n++] = '1';
        out[n++] = static_cast<char>('0' + b % 10);
    };
    put("permessage-deflate");
    if (p.server_no_context_takeover) put("; server_no_context_takeover");
    if (p.client_no_context_takeover) put("; client_no_context_takeover");
    if (p.say_server_max_window_bits) {
        put("; server_max_window_bits=");
        bits(p.server_max_window_bits);
    }
    if (p.say_client_max_window_bits) {
        put("; client_max_window_bits=");
        bits(p.client_max_window_bits);
    }
    return n;
}

inline std::string format_deflate_response(const DeflateParams& p) {
    char buf[max_deflate_response_bytes];
    return std::string(buf, format_deflate_response(p, buf));
}

inline std::string_view deflate_response(const DeflateParams& p) {
    // Every response there can be: two flags, a server window said (9..15) or not, a client
    // window said (8..15) or not: 2 * 2 * 8 * 9 texts, made once.
    struct Table {
        std::string text[2 * 2 * 8 * 9];
        Table() {
            for (std::size_t i = 0; i < 2 * 2 * 8 * 9; ++i) {
                DeflateParams q;
                const std::size_t c = i % 9, s = i / 9 % 8;
                q.client_no_context_takeover = (i / 72) % 2 != 0;
                q.server_no_context_takeover = i / 144 != 0;
                q.say_server_max_window_bits = s != 0;
                q.server_max_window_bits = static_cast<std::uint8_t>(s != 0 ? s + 8 : 15);
                q.say_client_max_window_bits = c != 0;
                q.client_max_window_bits = static_cast<std::uint8_t>(c != 0 ? c + 7 : 15);
                text[i] = format_deflate_response(q);
            }
        }
    };
    static const Table table;
    const std::size_t s = p.say_server_max_window_bits ? p.server_max_window_bits - 8u : 0u;
    const std::size_t c = p.say_client_max_window_bits ? p.client_max_window_bits - 7u : 0u;
    const std::size_t i =
        ((p.server_no_context_takeover ? 2u : 0u) + (p.client_no_context_takeover ? 1u : 0u)) *
            72u +
        s * 9u + c;
    return table.text[i];
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
