// SPDX-License-Identifier: MIT
// wisp/detail/url.hpp — percent-decoding, query strings and request-target splitting.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// The value of one hexadecimal digit (either case), or -1.
constexpr int hex_digit_value(char c) noexcept;

/// True when percent_decode would change `s`: it holds a '%', or a '+' with `plus_as_space`.
inline bool needs_decoding(std::string_view s, bool plus_as_space = false) noexcept;

/// Decodes every %XX escape (hex digits of either case) of `in` into `out`, which is
/// overwritten; with `plus_as_space` a '+' becomes ' ' (query strings), otherwise it stays.
/// Returns false on a malformed escape ('%' not followed by two hex digits); `out` then holds
/// an unspecified prefix. Never produces more bytes than `in` has. Decodes exactly once:
/// "%252e" gives "%2e".
inline bool percent_decode(std::string_view in, std::string& out, bool plus_as_space);

/// Like percent_decode, but a malformed escape is copied literally and decoding goes on, so
/// "a%zz%20" gives "a%zz ". For inputs that must not fail a request (query strings).
inline void percent_decode_lenient(std::string_view in, std::string& out, bool plus_as_space);

/// True when the strict percent-decoding of `raw` equals `decoded` ('+' stays '+'); false when
/// `raw` holds a malformed escape. Never allocates.
inline bool decoded_equals(std::string_view raw, std::string_view decoded) noexcept;

/// Calls `each(std::string name, std::string value)` for every `name=value` pair of a query
/// string (without its '?'), in order, both decoded with '+' as space. Pairs are separated by
/// '&'; a pair without '=' has an empty value; a pair whose name is empty is skipped
/// ("a&b=&=c&a=1" gives a="", b="", a="1"). Malformed escapes are kept literally: a bad query
/// never fails the request.
template <class Fn>
void parse_query(std::string_view query, Fn&& each);

/// The decoded value of the first pair named `name` (compared after decoding), or nullopt.
inline std::optional<std::string> query_value(std::string_view query, std::string_view name);

/// The forms of a request-target (RFC 9112 §3.2), told apart by their first bytes.
enum class TargetForm : std::uint8_t {
    origin,      ///< starts with '/': "/path?query"
    absolute,    ///< "scheme://authority/path?query" (§3.2.2)
    asterisk,    ///< exactly "*" (§3.2.4)
    authority,   ///< anything else: "host:port" for CONNECT (§3.2.3), or malformed
};

/// A request-target taken apart. Every view points into the target, except a path of
/// absolute-form that the target leaves empty, which is the literal "/".
struct TargetParts {
    TargetForm form = TargetForm::origin;
    std::string_view scheme;      ///< absolute-form only, as sent (compare case-insensitively)
    std::string_view authority;   ///< absolute-form only: host[:port] as sent, maybe empty
    std::string_view path;        ///< what a server routes by; still percent-encoded
    std::string_view query;       ///< after the first '?' without it; "" when none
};

/// Splits `target` by its form. A fragment ('#' on) is dropped first (clients should not send
/// one). origin-form and authority-form: `path` is everything before the first '?'.
/// absolute-form: the authority runs from "//" to the next '/' or '?', the path from there to
/// the '?'; an empty path is "/" (RFC 9110 §4.2.3: they are equivalent for http(s)).
/// asterisk-form: the path is "*", which no route matches (routes start with '/').
/// The split is syntactic only: whether the form suits the method is the parser's business.
inline TargetParts split_target(std::string_view target) noexcept;

/// split_target(target) reduced to the path and the query.
inline void split_target(std::string_view target, std::string_view& path,
                         std::string_view& query) noexcept;

// ---- implementation -------------------------------------------------------

constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

inline bool needs_decoding(std::string_view s, bool plus_as_space) noexcept {
    for (char c : s)
        if (c == '%' || (plus_as_space && c == '+')) return true;
    return false;
}

// Decodes the escape whose '%' is at in[i]; -1 when it is malformed.
inline int decode_escape_at(std::string_view in, std::size_t i) noexcept {
    if (in.size() - i < 3) return -1;
    const int hi = hex_digit_value(in[i + 1]);
    const int lo = hex_digit_value(in[i + 2]);
    if (hi < 0 || lo < 0) return -1;
    return hi * 16 + lo;
}

inline bool percent_decode(std::string_view in, std::string& out, bool plus_as_space) {
    out.clear();
    if (!needs_decoding(in, plus_as_space)) {
        out.assign(in.data(), in.size());
        return true;
    }
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            const int v = decode_escape_at(in, i);
            if (v < 0) return false;
            out.push_back(static_cast<char>(static_cast<unsigned char>(v)));
            i += 2;
        } else if (plus_as_space && c == '+') {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

inline void percent_decode_lenient(std::string_view in, std::string& out, bool plus_as_space) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        const int v = c == '%' ? decode_escape_at(in, i) : -1;
        if (v >= 0) {
            out.push_back(static_cast<char>(static_cast<unsigned char>(v)));
            i += 2;
        } else {
            out.push_back(plus_as_space && c == '+' ? ' ' : c);
        }
    }
}

inline bool decoded_equals(std::string_view raw, std::string_view decoded) noexcept {
    std::size_t j = 0;
    for (std::size_t i = 0; i < raw.size(); ++i, ++j) {
        char c = raw[i];
        if (c == '%') {
            const int v = decode_escape_at(raw, i);
            if (v < 0) return false;
            c = static_cast<char>(static_cast<unsigned char>(v));
            i += 2;
        }
        if (j >= decoded.size() || decoded[j] != c) return false;
    }
    return j == decoded.size();
}

template <class Fn>
void parse_query(std::string_view query, Fn&& each) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string_view raw_name = pair.substr(0, eq);
        if (raw_name.empty()) continue;
        std::string name, value;
        percent_decode_lenient(raw_name, name, true);
        if (eq != std::string_view::npos) percent_decode_lenient(pair.substr(eq + 1), value, true);
        each(std::move(name), std::move(value));
    }
}

inline std::optional<std::string> query_value(std::string_view query, std::string_view name) {
    std::string decoded_name;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string_view raw_name = pair.substr(0, eq);
        if (raw_name.empty()) continue;
        if (needs_decoding(raw_name, true)) {
            percent_decode_lenient(raw_name, decoded_name, true);
            if (decoded_name != name) continue;
        } else if (raw_name != name) {
            continue;
        }
        std::string value;
        if (eq != std::string_view::npos) percent_decode_lenient(pair.substr(eq + 1), value, true);
        return value;
    }
    return std::nullopt;
}

// The length of the scheme that starts `s` when "://" follows it, else 0.
// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
inline std::size_t scheme_length(std::string_view s) noexcept {
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (s.empty() || !alpha(s[0])) return 0;
    std::size_t i = 1;
    while (i < s.size() && (alpha(s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
                            s[i] == '-' || s[i] == '.'))
        ++i;
    return s.compare(i, 3, "://") == 0 ? i : 0;
}

inline TargetParts split_target(std::string_view target) noexcept {
    TargetParts t;
    const std::size_t hash = target.find('#');
    if (hash != std::string_view::npos) target = std::string_view(target.data(), hash);
    std::string_view rest = target;
    if (target == "*") {
        t.form = TargetForm::asterisk;
    } else if (!target.empty() && target.front() != '/') {
        const std::size_t scheme = scheme_length(target);
        if (scheme == 0) {
            t.form = TargetForm::authority;
        } else {
            t.form = TargetForm::absolute;
            t.scheme = target.substr(0, scheme);
            rest = target.substr(scheme + 3);
            const std::size_t end = rest.find_first_of("/?");
            t.authority = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
        }
    }
    // Split without substr: its range check is never needed here, and it keeps the compiler
    // from inlining this into the request path (issue 25).
    const std::size_t q = rest.find('?');
    if (q == std::string_view::npos) {
        t.path = rest;
    } else {
        t.path = std::string_view(rest.data(), q);
        t.query = std::string_view(rest.data() + q + 1, rest.size() - q - 1);
    }
    if (t.form == TargetForm::absolute && t.path.empty()) t.path = "/";
    return t;
}

inline void split_target(std::string_view target, std::string_view& path,
                         std::string_view& query) noexcept {
    if (!target.empty() && target.front() == '/') {
        // The origin-form (nearly every request): one pass to the first '?' or '#' instead of
        // a search for each; the same parts as the general case below.
        const char* p = target.data();
        const std::size_t n = target.size();
        std::size_t i = 1;
        while (i < n && p[i] != '?' && p[i] != '#') ++i;
        path = std::string_view(p, i);
        query = std::string_view();
        if (i < n && p[i] == '?') {
            std::size_t e = i + 1;
            while (e < n && p[e] != '#') ++e;
            query = std::string_view(p + i + 1, e - i - 1);
        }
        return;
    }
    const TargetParts t = split_target(target);
    path = t.path;
    query = t.query;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
