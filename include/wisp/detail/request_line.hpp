// SPDX-License-Identifier: MIT
// wisp/detail/request_line.hpp — an HTTP/1.1 request's limits, and the shape of its
// request-line (RFC 9112 §3) judged a byte at a time, sans-IO.
// Owns: ParserLimits (the request parser's limits, with their statuses), the byte-by-byte
// grammar of a request-line and which limit a refused line passed first.
// Must not know: llhttp (llhttp.hpp parses requests and asks this when llhttp refuses a line),
// header fields, bodies, connections.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/router.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

struct ParserLimits {
    std::size_t max_header_bytes = 16 * 1024;   ///< request line + fields: 431 past it
    std::size_t max_header_count = 100;         ///< fields: 431 past it
    std::size_t max_url_bytes = 8 * 1024;       ///< request-target: 414 past it
    std::size_t max_body_bytes = 1024 * 1024;   ///< decoded body: 413 past it
};

/// The shape of a request-line (RFC 9112 §3), judged a byte at a time:
/// `token SP request-target SP "HTTP/" DIGIT "." DIGIT CRLF`, where the target is visible
/// ASCII (RFC 3986 has nothing else). RequestParser runs it over a line that llhttp refused or
/// whose version wisp refuses, so that the status it answers depends on the line's bytes alone,
/// never on how they were split into reads. It keeps counters, not the bytes.
class RequestLineCheck {
public:
    enum class Verdict : std::uint8_t {
        more,              ///< a well-formed start: the rest of the line is needed
        malformed,         ///< not a request-line
        target_too_long,   ///< the target passed ParserLimits::max_url_bytes first
        line_too_long,     ///< the line passed ParserLimits::max_header_bytes first
        well_formed,       ///< the whole line, through its CRLF
    };

    explicit RequestLineCheck(const ParserLimits& limits) noexcept
        : max_target_(limits.max_url_bytes), max_line_(limits.max_header_bytes) {}
    /// Judges `n` more bytes of the line, which starts at the method (the empty lines a
    /// request may follow, RFC 9112 §2.2, are not part of it). `used` is how many bytes it
    /// read: through the byte that decided, or all `n` for Verdict::more, the only verdict
    /// after which it may be called again.
    Verdict scan(const char* p, std::size_t n, std::size_t& used) noexcept;
    /// After Verdict::well_formed: the major version digit.
    int major() const noexcept { return major_; }
    /// After Verdict::well_formed: the method; "" when longer than 16 bytes (longer than any
    /// method llhttp knows).
    std::string_view method() const noexcept {
        return method_len_ <= sizeof method_ ? std::string_view(method_, method_len_)
                                             : std::string_view();
    }

private:
    enum class Part : std::uint8_t { method, target, version, cr, lf };
    std::size_t max_target_, max_line_;
    std::size_t line_ = 0, target_ = 0, method_len_ = 0;
    char method_[16] = {};
    Part part_ = Part::method;
    std::uint8_t version_at_ = 0;   ///< bytes of "HTTP/d.d" seen
    int major_ = -1;
};

// ---- implementation -------------------------------------------------------
inline RequestLineCheck::Verdict RequestLineCheck::scan(const char* p, std::size_t n,
                                                        std::size_t& used) noexcept {
    for (used = 0; used < n;) {
        const char c = p[used++];
        if (++line_ > max_line_) return Verdict::line_too_long;
        switch (part_) {
            case Part::method:
                if (c == ' ' && method_len_ > 0) {
                    part_ = Part::target;
                } else if (is_method_token(std::string_view(&c, 1))) {
                    if (method_len_ < sizeof method_) method_[method_len_] = c;
                    ++method_len_;
                } else {
                    return Verdict::malformed;
                }
                break;
            case Part::target:
                if (c == ' ' && target_ > 0) {
                    part_ = Part::version;
                } else if (c > ' ' && c < 0x7f) {
                    if (++target_ > max_target_) return Verdict::target_too_long;
                } else {
                    return Verdict::malformed;
                }
                break;
            case Part::version: {
                // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive.
                static constexpr char shape[] = "HTTP/0.0";
                const char want = shape[version_at_];
                if (want == '0' ? (c < '0' || c > '9') : c != want) return Verdict::malformed;
                if (version_at_ == 5) major_ = c - '0';
                if (++version_at_ == sizeof shape - 1) part_ = Part::cr;
                break;
            }
            case Part::cr:
                if (c != '\r') return Verdict::malformed;
                part_ = Part::lf;
                break;
            case Part::lf:
                return c == '\n' ? Verdict::well_formed : Verdict::malformed;
        }
    }
    return Verdict::more;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
