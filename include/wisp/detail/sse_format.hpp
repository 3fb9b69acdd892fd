// SPDX-License-Identifier: MIT
// wisp/detail/sse_format.hpp — Server-Sent Events wire format: events and comments in, bytes out.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

WISP_NAMESPACE_BEGIN

namespace detail {

// The event stream format is WHATWG HTML §9.2.5; every choice below is made so that a client
// running the §9.2.6 interpretation algorithm rebuilds exactly what was passed in (with CR and
// CRLF in data normalised to LF). These functions never touch a socket, throw only what
// std::string throws when it cannot grow, and may be called from any thread.

/// True when `v` may be the value of an `event` or `id` field: it holds no CR, LF or NUL.
bool is_valid_event_field(std::string_view v) noexcept;

/// Appends one event to `out` (never clears it): `event:`, `id:`, `retry:`, then one `data:`
/// line per line of `data`, then a blank line. CR, LF and CRLF in `data` each break a line; a
/// trailing break gives a final empty `data:` line, and empty `data` still dispatches an event.
/// `event` is omitted when empty; `id` is written when non-empty or when `has_id` is true (an
/// empty `id:` resets the client's last event ID); `retry_ms` is omitted when negative.
/// Errors: errc::invalid_event_field when `event` or `id` holds CR, LF or NUL; `out` is then
/// left exactly as it was (also when allocating throws).
/// Lifetime: the views must not point into `out`.
[[nodiscard]] std::error_code format_event(std::string& out, std::string_view data,
                                           std::string_view event = {}, std::string_view id = {},
                                           long long retry_ms = -1, bool has_id = false);

/// The exact number of bytes format_event appends for the same arguments, when it succeeds.
std::size_t formatted_size(std::string_view data, std::string_view event = {},
                           std::string_view id = {}, long long retry_ms = -1,
                           bool has_id = false) noexcept;

/// Appends `text` as comment lines (`: line`; an empty line gives `:`), splitting at CR, LF and
/// CRLF, and no blank line, so no event is dispatched. Used for heartbeats.
/// Errors: none today (any bytes may be a comment); the code is for symmetry with format_event.
std::error_code format_comment(std::string& out, std::string_view text);

/// The exact number of bytes format_comment appends for `text`.
std::size_t formatted_comment_size(std::string_view text) noexcept;

/// Appends `payload` as one HTTP/1.1 chunk (RFC 9112 §7.1): "<hex size>\r\n" payload "\r\n".
/// An empty payload appends nothing: a zero-size chunk is the last-chunk that ends the body.
void append_chunk(std::string& out, std::string_view payload);

/// The exact number of bytes append_chunk adds around a payload of `payload_size` bytes.
std::size_t chunk_overhead(std::size_t payload_size) noexcept;

/// append_chunk into memory the caller reserved (payload.size() + chunk_overhead(...) bytes),
/// e.g. an output queue; returns the end of what it wrote.
char* write_chunk(char* dst, std::string_view payload) noexcept;

/// format_event, wrapped as one HTTP/1.1 chunk, with a single allocation at most: the bytes
/// are those of append_chunk(out, <what format_event would append>). Same errors and guarantee.
[[nodiscard]] std::error_code format_event_chunk(std::string& out, std::string_view data,
                                                 std::string_view event = {},
                                                 std::string_view id = {}, long long retry_ms = -1,
                                                 bool has_id = false);

// ---- implementation -------------------------------------------------------

// memchr, or `end` when `c` is absent (memchr on an empty range may get a null pointer).
inline const char* sse_find(const char* p, const char* end, char c) noexcept {
    if (p == end) return end;
    const void* hit = std::memchr(p, c, static_cast<std::size_t>(end - p));
    return hit ? static_cast<const char*>(hit) : end;
}

// Calls f(begin, size) for every line of `text`. WHATWG HTML §9.2.5: a line ends at CRLF, LF
// or CR, and CRLF is one break. The text after the last break is a line too, even when empty, so ""
// is one empty line and "a\n" is "a" then "". Two cached memchr scans keep it linear.
template <class F>
void sse_for_each_line(std::string_view text, F&& f) {
    const char* p = text.data();
    const char* const end = p + text.size();
    const char* lf = sse_find(p, end, '\n');
    const char* cr = sse_find(p, end, '\r');
    for (;;) {
        const char* brk = lf < cr ? lf : cr;
        f(p, static_cast<std::size_t>(brk - p));
        if (brk == end) return;
        p = brk + 1;
        if (*brk == '\r' && p != end && *p == '\n') ++p;
        if (lf < p) lf = sse_find(p, end, '\n');
        if (cr < p) cr = sse_find(p, end, '\r');
    }
}

// Writers fill memory that sse_reserve_tail sized exactly: one capacity check per call
// instead of one per append, which is most of the cost on many short lines.
inline char* sse_put(char* dst, const char* src, std::size_t n) noexcept {
    if (n != 0) std::memcpy(dst, src, n);
    return dst + n;
}

// The size of `text` written as prefixed lines: "<prefix> line\n", or "<prefix>\n" for an
// empty line (no trailing space); the prefix ends with the colon ("data:" or ":").
inline std::size_t sse_lines_size(std::string_view text, std::size_t prefix_len) noexcept {
    std::size_t size = 0;
    sse_for_each_line(
        text, [&](const char*, std::size_t n) { size += prefix_len + 1 + (n == 0 ? 0 : n + 1); });
    return size;
}

inline char* sse_write_lines(char* dst, std::string_view text, std::string_view prefix) noexcept {
    sse_for_each_line(text, [&](const char* line, std::size_t n) {
        dst = sse_put(dst, prefix.data(), prefix.size());
        if (n != 0) {
            *dst++ = ' ';
            dst = sse_put(dst, line, n);
        }
        *dst++ = '\n';
    });
    return dst;
}

// "field: value\n", or "field:\n" for an empty value (the client reads both as the value).
inline std::size_t sse_field_size(std::size_t name_len, std::size_t value_len) noexcept {
    return name_len + 2 + (value_len ? value_len + 1 : 0);
}

inline char* sse_write_field(char* dst, std::string_view name, std::string_view value) noexcept {
    dst = sse_put(dst, name.data(), name.size());
    *dst++ = ':';
    if (!value.empty()) {
        *dst++ = ' ';
        dst = sse_put(dst, value.data(), value.size());
    }
    *dst++ = '\n';
    return dst;
}

inline std::size_t sse_decimal_digits(unsigned long long v) noexcept {
    std::size_t n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}

// Writes the event; the fields are valid and formatted_size bytes are there.
inline char* sse_write_event(char* dst, std::string_view data, std::string_view event,
                             std::string_view id, long long retry_ms, bool has_id) noexcept {
    if (!event.empty()) dst = sse_write_field(dst, "event", event);
    if (has_id || !id.empty()) dst = sse_write_field(dst, "id", id);
    if (retry_ms >= 0) {
        dst = sse_put(dst, "retry: ", 7);
        dst = std::to_chars(dst, dst + 20, retry_ms).ptr;   // 19 digits at most
        *dst++ = '\n';
    }
    dst = sse_write_lines(dst, data, "data:");
    *dst++ = '\n';   // the blank line dispatches the event
    return dst;
}

inline std::size_t sse_hex_digits(std::size_t v) noexcept {
    std::size_t n = 1;
    while (v >= 16) {
        v >>= 4;
        ++n;
    }
    return n;
}

// "<hex size>\r\n", lower-case hex without leading zeros (RFC 9112 §7.1 chunk-size).
inline char* sse_write_chunk_size(char* dst, std::size_t size) noexcept {
    char* p = dst + sse_hex_digits(size);
    char* const after = p;
    do {
        *--p = "0123456789abcdef"[size & 0xf];
        size >>= 4;
    } while (size != 0);
    after[0] = '\r';
    after[1] = '\n';
    return after + 2;
}

// Grows `out` by `extra` bytes, to be overwritten, and returns where they start; at most one
// allocation. Growth stays geometric: an exact reserve on every call would reallocate each
// time on standard libraries whose reserve does not round up. If this throws, `out` is as
// it was.
inline char* sse_reserve_tail(std::string& out, std::size_t extra) {
    const std::size_t old = out.size();
    const std::size_t need = old + extra;
    if (need > out.capacity()) {
        const std::size_t twice = out.capacity() * 2;
        out.reserve(need > twice ? need : twice);
    }
    out.resize(need);
    return &out[old];
}

inline bool is_valid_event_field(std::string_view v) noexcept {
    for (const char c : v) {
        if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

inline std::size_t formatted_size(std::string_view data, std::string_view event,
                                  std::string_view id, long long retry_ms, bool has_id) noexcept {
    std::size_t size = sse_lines_size(data, 5) + 1;
    if (!event.empty()) size += sse_field_size(5, event.size());
    if (has_id || !id.empty()) size += sse_field_size(2, id.size());
    if (retry_ms >= 0) size += 8 + sse_decimal_digits(static_cast<unsigned long long>(retry_ms));
    return size;
}

inline std::error_code format_event(std::string& out, std::string_view data, std::string_view event,
                                    std::string_view id, long long retry_ms, bool has_id) {
    // Fast path for fan-out of one-line messages: two memchr scans, one reserve, one copy.
    const char* const end = data.data() + data.size();
    if (WISP_LIKELY(event.empty() && id.empty() && !has_id && retry_ms < 0 &&
                    sse_find(data.data(), end, '\n') == end &&
                    sse_find(data.data(), end, '\r') == end)) {
        if (data.empty()) {
            out.append("data:\n\n", 7);
            return {};
        }
        char* dst = sse_reserve_tail(out, data.size() + 8);
        dst = sse_put(dst, "data: ", 6);
        dst = sse_put(dst, data.data(), data.size());
        sse_put(dst, "\n\n", 2);
        return {};
    }
    if (!is_valid_event_field(event) || !is_valid_event_field(id))
        return make_error_code(errc::invalid_event_field);
    char* dst = sse_reserve_tail(out, formatted_size(data, event, id, retry_ms, has_id));
    sse_write_event(dst, data, event, id, retry_ms, has_id);
    return {};
}

inline std::size_t formatted_comment_size(std::string_view text) noexcept {
    return sse_lines_size(text, 1);
}

inline std::error_code format_comment(std::string& out, std::string_view text) {
    sse_write_lines(sse_reserve_tail(out, formatted_comment_size(text)), text, ":");
    return {};
}

inline std::size_t chunk_overhead(std::size_t payload_size) noexcept {
    return payload_size == 0 ? 0 : sse_hex_digits(payload_size) + 4;
}

inline char* write_chunk(char* dst, std::string_view payload) noexcept {
    if (payload.empty()) return dst;
    dst = sse_write_chunk_size(dst, payload.size());
    dst = sse_put(dst, payload.data(), payload.size());
    return sse_put(dst, "\r\n", 2);
}

inline void append_chunk(std::string& out, std::string_view payload) {
    if (payload.empty()) return;
    write_chunk(sse_reserve_tail(out, payload.size() + chunk_overhead(payload.size())), payload);
}

inline std::error_code format_event_chunk(std::string& out, std::string_view data,
                                          std::string_view event, std::string_view id,
                                          long long retry_ms, bool has_id) {
    if (!is_valid_event_field(event) || !is_valid_event_field(id))
        return make_error_code(errc::invalid_event_field);
    const std::size_t size = formatted_size(data, event, id, retry_ms, has_id);
    char* dst = sse_reserve_tail(out, size + chunk_overhead(size));
    dst = sse_write_chunk_size(dst, size);
    dst = sse_write_event(dst, data, event, id, retry_ms, has_id);
    sse_put(dst, "\r\n", 2);
    return {};
}

}   // namespace detail

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
