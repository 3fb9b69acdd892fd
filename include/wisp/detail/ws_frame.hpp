// SPDX-License-Identifier: MIT
// wisp/detail/ws_frame.hpp — WebSocket framing (RFC 6455 §5): opcodes, masking, frame headers
// and close payloads, as bytes.
// Owns: the wire form of one frame's header (opcode, FIN, RSV1, the shortest length encoding,
// the masking key), (un)masking a payload in pieces, which close codes may be sent, the layout
// of a close body.
// Must not know: a stream of frames, messages and their reassembly, limits, UTF-8 validation
// (ws_reader.hpp reads the stream), sockets, sessions.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

// Bytes in, bytes out: nothing here touches a socket, a clock or a thread. Every function may
// be called from any thread.

/// Frame opcodes (RFC 6455 §5.2). 3-7 and 11-15 are reserved and never produced.
enum class Opcode : std::uint8_t {
    continuation = 0,
    text = 1,
    binary = 2,
    close = 8,
    ping = 9,
    pong = 10,
};

/// XORs [p, p + n) in place with the masking key (RFC 6455 §5.3). `phase` is the offset of `p`
/// within the payload, so a payload can be (un)masked in pieces: mask(p, a, k, 0) followed by
/// mask(p + a, b, k, a) equals mask(p, a + b, k, 0). Any alignment, any byte order.
void mask(char* p, std::size_t n, const std::uint8_t key[4], std::size_t phase = 0) noexcept;
/// mask(), and whether every byte it wrote is ASCII (below 0x80). ASCII is UTF-8 as it is, so a
/// text payload that is needs no second pass to validate it.
bool mask_ascii(char* p, std::size_t n, const std::uint8_t key[4], std::size_t phase = 0) noexcept;

/// The most bytes encode_frame_header writes: 2 + 8 (64-bit length) + 4 (masking key).
inline constexpr std::size_t max_frame_header_bytes = 14;

/// The length encode_frame_header writes for `payload_len`: 2, 4 or 10, plus 4 when masked.
constexpr std::size_t frame_header_size(std::uint64_t payload_len, bool masked = false) noexcept {
    return (payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0);
}

/// Writes a frame header (RFC 6455 §5.2) to `out` (room for max_frame_header_bytes) and returns
/// its length: 2, 4 or 10, plus 4 when `mask_key` is given. Server frames pass no key (§5.1:
/// a server never masks); clients must. The shortest length encoding is always used.
/// `payload_len` must be below 2^63; `rsv1` marks a compressed message (RFC 7692), only on its
/// first frame.
std::size_t encode_frame_header(char* out, Opcode op, bool fin, std::uint64_t payload_len,
                                const std::uint8_t* mask_key = nullptr, bool rsv1 = false) noexcept;

/// True when `code` may appear in a close frame on the wire (RFC 6455 §7.4.1, §7.4.2 and the
/// IANA registry): 1000-1003, 1007-1014, 3000-4999. 1005, 1006 and 1015 are reserved for
/// local reporting and never sent; 1004 and 1016-2999 are unassigned or reserved.
bool is_valid_close_code(std::uint16_t code) noexcept;

/// Writes a close payload (RFC 6455 §5.5.1) to `out` (room for 125 bytes): the code in network
/// byte order, then the reason, cut to 123 bytes at a UTF-8 character boundary so the frame
/// stays a valid control frame. Returns the payload length (2 + reason bytes written).
/// The caller checks is_valid_close_code and that `reason` is UTF-8.
std::size_t encode_close_payload(char* out, std::uint16_t code, std::string_view reason) noexcept;

/// One masked client frame: header and payload, masked with a key derived from `mask_seed`.
/// For tests, fuzzers and benchmarks (a real client would draw the key from a strong RNG,
/// RFC 6455 §10.3).
std::string encode_client_frame(Opcode op, std::string_view payload, bool fin,
                                std::uint32_t mask_seed);

// ---- implementation -------------------------------------------------------

// mask() and mask_ascii(): one pass that XORs the payload and, when `Seen`, ORs together the
// bytes it wrote (their high bits say whether any was not ASCII).
template <bool Seen>
WISP_NOINLINE inline std::uint64_t mask_pass(char* p, std::size_t n, const std::uint8_t key[4],
                                             std::size_t phase) noexcept {
    std::uint64_t seen = 0;
    std::size_t i = 0;
    // Single bytes up to the next payload offset that is a multiple of 4, so the words below
    // start at key[0] and the pattern needs no rotation.
    for (; i < n && ((phase + i) & 3) != 0; ++i) {
        const unsigned char c = static_cast<unsigned char>(p[i] ^ key[(phase + i) & 3]);
        p[i] = static_cast<char>(c);
        if constexpr (Seen) seen |= c;
    }
    // The key twice: the same 8 bytes in memory order whatever the byte order, since both
    // halves are equal. memcpy is the portable unaligned access.
    std::uint32_t k32;
    std::memcpy(&k32, key, 4);
    const std::uint64_t k = static_cast<std::uint64_t>(k32) << 32 | k32;
    for (; n - i >= 32; i += 32) {
        std::uint64_t w0, w1, w2, w3;
        std::memcpy(&w0, p + i, 8);
        std::memcpy(&w1, p + i + 8, 8);
        std::memcpy(&w2, p + i + 16, 8);
        std::memcpy(&w3, p + i + 24, 8);
        w0 ^= k;
        w1 ^= k;
        w2 ^= k;
        w3 ^= k;
        std::memcpy(p + i, &w0, 8);
        std::memcpy(p + i + 8, &w1, 8);
        std::memcpy(p + i + 16, &w2, 8);
        std::memcpy(p + i + 24, &w3, 8);
        if constexpr (Seen) seen |= (w0 | w1) | (w2 | w3);
    }
    for (; n - i >= 8; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        w ^= k;
        std::memcpy(p + i, &w, 8);
        if constexpr (Seen) seen |= w;
    }
    for (std::size_t j = 0; i < n; ++i, ++j) {
        const unsigned char c = static_cast<unsigned char>(p[i] ^ key[j & 3]);
        p[i] = static_cast<char>(c);
        if constexpr (Seen) seen |= c;
    }
    return seen;
}

// A payload of at most 16 bytes that starts at key[0] (most chat and echo messages): straight
// code inline in the reader, up to two words, then 4, 2 and 1 bytes (each piece starts at a
// multiple of 4, or of 2 for the last byte, in the key's pattern).
template <bool Seen>
inline std::uint64_t mask_short(char* p, std::size_t n, const std::uint8_t key[4]) noexcept {
    std::uint32_t k32;
    std::memcpy(&k32, key, 4);
    std::uint64_t seen = 0;
    if (n >= 8) {
        const std::uint64_t k = static_cast<std::uint64_t>(k32) << 32 | k32;
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        w ^= k;
        std::memcpy(p, &w, 8);
        if constexpr (Seen) seen = w;
        if (n == 16) {
            std::memcpy(&w, p + 8, 8);
            w ^= k;
            std::memcpy(p + 8, &w, 8);
            if constexpr (Seen) seen |= w;
            return seen;
        }
    }
    std::size_t i = n & 8;
    if (n & 4) {
        std::uint32_t w;
        std::memcpy(&w, p + i, 4);
        w ^= k32;
        std::memcpy(p + i, &w, 4);
        if constexpr (Seen) seen |= w;
        i += 4;
    }
    if (n & 2) {
        std::uint16_t w, k16;
        std::memcpy(&w, p + i, 2);
        std::memcpy(&k16, key, 2);
        w = static_cast<std::uint16_t>(w ^ k16);
        std::memcpy(p + i, &w, 2);
        if constexpr (Seen) seen |= w;
        i += 2;
    }
    if (n & 1) {
        const unsigned char c = static_cast<unsigned char>(p[i] ^ key[i & 3]);
        p[i] = static_cast<char>(c);
        if constexpr (Seen) seen |= c;
    }
    return seen;
}

inline void mask(char* p, std::size_t n, const std::uint8_t key[4], std::size_t phase) noexcept {
    if (n <= 16 && (phase & 3) == 0) mask_short<false>(p, n, key);
    else mask_pass<false>(p, n, key, phase);
}

inline bool mask_ascii(char* p, std::size_t n, const std::uint8_t key[4],
                       std::size_t phase) noexcept {
    const std::uint64_t seen = n <= 16 && (phase & 3) == 0 ? mask_short<true>(p, n, key)
                                                           : mask_pass<true>(p, n, key, phase);
    return (seen & 0x8080808080808080u) == 0;
}

inline std::size_t encode_frame_header(char* out, Opcode op, bool fin, std::uint64_t payload_len,
                                       const std::uint8_t* mask_key, bool rsv1) noexcept {
    unsigned char* h = reinterpret_cast<unsigned char*>(out);
    h[0] = static_cast<unsigned char>((fin ? 0x80u : 0u) | (rsv1 ? 0x40u : 0u) |
                                      static_cast<unsigned>(op));
    const unsigned char masked = mask_key ? 0x80 : 0;
    std::size_t len;
    if (payload_len < 126) {
        h[1] = static_cast<unsigned char>(masked | payload_len);
        len = 2;
    } else if (payload_len <= 0xFFFF) {
        h[1] = static_cast<unsigned char>(masked | 126);
        h[2] = static_cast<unsigned char>(payload_len >> 8);
        h[3] = static_cast<unsigned char>(payload_len);
        len = 4;
    } else {
        h[1] = static_cast<unsigned char>(masked | 127);
        for (int i = 0; i < 8; ++i)
            h[2 + i] = static_cast<unsigned char>(payload_len >> (56 - 8 * i));
        len = 10;
    }
    if (mask_key) {
        std::memcpy(h + len, mask_key, 4);
        len += 4;
    }
    return len;
}

inline bool is_valid_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

inline std::size_t encode_close_payload(char* out, std::uint16_t code,
                                        std::string_view reason) noexcept {
    std::size_t n = reason.size();
    if (n > 123) {
        n = 123;
        // Back up over continuation bytes so no code point is cut in two.
        while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    }
    out[0] = static_cast<char>(code >> 8);
    out[1] = static_cast<char>(code & 0xFF);
    if (n != 0) std::memcpy(out + 2, reason.data(), n);
    return 2 + n;
}

inline std::string encode_client_frame(Opcode op, std::string_view payload, bool fin,
                                       std::uint32_t mask_seed) {
    const std::uint8_t key[4] = {
        static_cast<std::uint8_t>(mask_seed), static_cast<std::uint8_t>(mask_seed >> 8),
        static_cast<std::uint8_t>(mask_seed >> 16), static_cast<std::uint8_t>(mask_seed >> 24)};
    char header[max_frame_header_bytes];
    const std::size_t hlen = encode_frame_header(header, op, fin, payload.size(), key);
    std::string out;
    out.reserve(hlen + payload.size());
    out.append(header, hlen);
    out.append(payload.data(), payload.size());
    mask(&out[hlen], payload.size(), key);
    return out;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
