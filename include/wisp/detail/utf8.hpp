// SPDX-License-Identifier: MIT
// wisp/detail/utf8.hpp — streaming, fail-fast UTF-8 validation (RFC 3629).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Validates UTF-8 fed in pieces of any size, so a text message can be checked as its bytes
/// arrive (RFC 6455 §8.1 wants the connection failed as soon as the text is known to be
/// invalid). A code point may be split across feed() calls.
/// State: one byte; copyable; no allocation; never throws.
class Utf8Validator {
public:
    /// Validates `n` more bytes. Returns false as soon as the bytes fed since the last reset()
    /// cannot be the beginning of valid UTF-8; from then on every feed() returns false.
    /// A sequence cut at the end of `p` is not an error: it is pending (see complete()).
    bool feed(const char* p, std::size_t n) noexcept;
    bool feed(std::string_view s) noexcept { return feed(s.data(), s.size()); }

    /// True when every byte fed so far forms whole, valid code points (nothing pending).
    bool complete() const noexcept;
    /// True once invalid input has been seen.
    bool failed() const noexcept;
    /// Forgets everything fed so far.
    void reset() noexcept { state_ = 0; }

private:
    std::uint8_t state_ = 0;
};

/// True when [p, p + n) is valid UTF-8 (RFC 3629), i.e. valid and complete.
bool is_valid_utf8(const char* p, std::size_t n) noexcept;
inline bool is_valid_utf8(std::string_view s) noexcept { return is_valid_utf8(s.data(), s.size()); }

// ---- implementation -------------------------------------------------------

// A shift-based DFA. Each state is a multiple of 6 in 0..48, and utf8_dfa[byte] packs the next
// state for every current state: bits [s, s + 6) of the row hold next(s, byte). One step is
// `s = utf8_dfa[b] >> (s & 63)`, a single shift on the critical path (x86 and ARM shifts use
// the low 6 bits of the count, so the mask costs nothing); bits above the low 6 are junk that
// the next step's mask discards. The states follow the well-formed byte sequences of
// RFC 3629 §4 (the table in The Unicode Standard §3.9, D92), which is what excludes overlongs
// (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points over U+10FFFF
// (F4 90..BF, F5..FF).
inline constexpr unsigned utf8_s_accept = 0;   // between code points
inline constexpr unsigned utf8_s_reject = 6;   // absorbing
inline constexpr unsigned utf8_s_tail1 = 12;   // one more 80..BF
inline constexpr unsigned utf8_s_tail2 = 18;   // two more 80..BF
inline constexpr unsigned utf8_s_tail3 = 24;   // three more 80..BF
inline constexpr unsigned utf8_s_e0 = 30;      // after E0: A0..BF (no overlong 3-byte form)
inline constexpr unsigned utf8_s_ed = 36;      // after ED: 80..9F (no surrogates)
inline constexpr unsigned utf8_s_f0 = 42;      // after F0: 90..BF (no overlong 4-byte form)
inline constexpr unsigned utf8_s_f4 = 48;      // after F4: 80..8F (nothing over U+10FFFF)

constexpr unsigned utf8_next(unsigned state, unsigned b) noexcept {
    const bool cont = b >= 0x80 && b <= 0xBF;
    switch (state) {
        case utf8_s_accept:
            if (b < 0x80) return utf8_s_accept;
            if (b >= 0xC2 && b <= 0xDF) return utf8_s_tail1;
            if (b == 0xE0) return utf8_s_e0;
            if (b == 0xED) return utf8_s_ed;
            if (b >= 0xE1 && b <= 0xEF) return utf8_s_tail2;
            if (b == 0xF0) return utf8_s_f0;
            if (b >= 0xF1 && b <= 0xF3) return utf8_s_tail3;
            if (b == 0xF4) return utf8_s_f4;
            return utf8_s_reject;   // 80..C1 (stray continuation, overlong lead), F5..FF
        case utf8_s_tail1:
            return cont ? utf8_s_accept : utf8_s_reject;
        case utf8_s_tail2:
            return cont ? utf8_s_tail1 : utf8_s_reject;
        case utf8_s_tail3:
            return cont ? utf8_s_tail2 : utf8_s_reject;
        case utf8_s_e0:
            return b >= 0xA0 && b <= 0xBF ? utf8_s_tail1 : utf8_s_reject;
        case utf8_s_ed:
            return b >= 0x80 && b <= 0x9F ? utf8_s_tail1 : utf8_s_reject;
        case utf8_s_f0:
            return b >= 0x90 && b <= 0xBF ? utf8_s_tail2 : utf8_s_reject;
        case utf8_s_f4:
            return b >= 0x80 && b <= 0x8F ? utf8_s_tail2 : utf8_s_reject;
        default:
            return utf8_s_reject;
    }
}

constexpr std::array<std::uint64_t, 256> utf8_make_dfa() noexcept {
    std::array<std::uint64_t, 256> rows{};
    for (unsigned b = 0; b < 256; ++b) {
        std::uint64_t row = 0;
        for (unsigned s = 0; s <= utf8_s_f4; s += 6)
            row |= static_cast<std::uint64_t>(utf8_next(s, b)) << s;
        rows[b] = row;
    }
    return rows;
}

inline constexpr std::array<std::uint64_t, 256> utf8_dfa = utf8_make_dfa();

inline bool Utf8Validator::complete() const noexcept { return state_ == utf8_s_accept; }
inline bool Utf8Validator::failed() const noexcept { return state_ == utf8_s_reject; }

inline bool Utf8Validator::feed(const char* data, std::size_t n) noexcept {
    constexpr std::uint64_t high_bits = 0x8080808080808080u;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
    const unsigned char* const end = p + n;
    std::uint64_t s = state_;
    // Blocks of 16: all-ASCII blocks between code points skip the DFA (memcpy loads are the
    // portable unaligned read). Others take 16 DFA steps, then one reject test: reject is
    // absorbing, so testing per block instead of per byte changes no verdict.
    while (static_cast<std::size_t>(end - p) >= 16) {
        if ((s & 63) == utf8_s_accept) {
            std::uint64_t a, b;
            std::memcpy(&a, p, 8);
            std::memcpy(&b, p + 8, 8);
            if (((a | b) & high_bits) == 0) {
                p += 16;
                continue;
            }
        }
        for (const unsigned char* q = p; q != p + 16; q += 4) {
            s = utf8_dfa[q[0]] >> (s & 63);
            s = utf8_dfa[q[1]] >> (s & 63);
            s = utf8_dfa[q[2]] >> (s & 63);
            s = utf8_dfa[q[3]] >> (s & 63);
        }
        p += 16;
        if ((s & 63) == utf8_s_reject) {
            state_ = utf8_s_reject;
            return false;
        }
    }
    while (p != end) s = utf8_dfa[*p++] >> (s & 63);
    state_ = static_cast<std::uint8_t>(s & 63);
    return state_ != utf8_s_reject;
}

inline bool is_valid_utf8(const char* p, std::size_t n) noexcept {
    Utf8Validator v;
    return v.feed(p, n) && v.complete();
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
