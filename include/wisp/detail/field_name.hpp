// SPDX-License-Identifier: MIT
// wisp/detail/field_name.hpp — a header field's name against one of the few names wisp's own
// checks look for (Host, Expect), four bytes at a time, sans-IO.
// Owns: that comparison. Must not know: parsers, requests, which names matter and why.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// iequals(name, word) for a `word` of 4 to 8 lowercase letters (RFC 9110 §5.1: field names
/// compare case-insensitively), as two overlapping four-byte compares: a byte ORed with 0x20
/// is a given lowercase letter only when it is that letter in either case. A call with a
/// literal costs a few instructions where the byte loop of iequals costs some thirty.
inline bool is_field_named(std::string_view name, std::string_view word) noexcept {
    const std::size_t n = word.size();
    if (name.size() != n) return false;
    std::uint32_t a, b, x, y;
    std::memcpy(&a, name.data(), 4);
    std::memcpy(&b, name.data() + n - 4, 4);
    std::memcpy(&x, word.data(), 4);
    std::memcpy(&y, word.data() + n - 4, 4);
    return ((a | 0x20202020u) == x) & ((b | 0x20202020u) == y);
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
