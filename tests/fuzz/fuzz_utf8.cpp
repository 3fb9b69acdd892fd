// SPDX-License-Identifier: MIT
// libFuzzer target for wisp/detail/utf8.hpp. The streaming validator is checked against a
// naive decoder that works on code points (not byte ranges): same verdict (valid, incomplete,
// invalid) one-shot, split at input-chosen points and byte by byte; feed() fails exactly at
// the first byte that makes the input impossible, and stays failed.
// Build and run (one command, wrapped here):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
//       tests/fuzz/fuzz_utf8.cpp -o fuzz_utf8 && ./fuzz_utf8
// Input: two split-point bytes, then the text.
#include <wisp/detail/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#define FUZZ_CHECK(cond)               \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

namespace {

namespace d = wisp::detail;

enum class Verdict { valid, incomplete, invalid };

int seq_len(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 0;
}

// Decodes a whole sequence of `len` bytes; valid when the code point needs exactly `len`
// bytes, is no surrogate and is at most U+10FFFF (RFC 3629 §3).
bool decodes(const unsigned char* p, int len) {
    if (len == 1) return true;
    std::uint32_t cp = p[0] & (0xFFu >> (len + 1));
    for (int i = 1; i < len; ++i) {
        if ((p[i] & 0xC0) != 0x80) return false;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    return cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

// Whether the first `have` bytes of a `len`-byte sequence can still be completed validly:
// every second byte is tried, and 0x80 for the bytes after it.
bool completable(const unsigned char* p, int have, int len) {
    unsigned char buf[4] = {p[0], 0x80, 0x80, 0x80};
    for (int i = 1; i < have; ++i) buf[i] = p[i];
    if (have >= 2) return decodes(buf, len);
    for (unsigned b = 0x80; b <= 0xBF; ++b) {
        buf[1] = static_cast<unsigned char>(b);
        if (decodes(buf, len)) return true;
    }
    return false;
}

// The verdict, and the index of the first byte after which no completion is valid.
Verdict naive(const unsigned char* p, std::size_t n, std::size_t& first_bad) {
    first_bad = n;
    std::size_t i = 0;
    while (i < n) {
        const int len = seq_len(p[i]);
        if (len == 0 || !completable(p + i, 1, len)) {
            first_bad = i;
            return Verdict::invalid;
        }
        int have = 1;
        for (; have < len && i + static_cast<std::size_t>(have) < n; ++have) {
            if (!completable(p + i, have + 1, len)) {
                first_bad = i + static_cast<std::size_t>(have);
                return Verdict::invalid;
            }
        }
        if (have < len) return Verdict::incomplete;
        i += static_cast<std::size_t>(len);
    }
    return Verdict::valid;
}

Verdict verdict_of(bool fed_ok, const d::Utf8Validator& v) {
    if (!fed_ok) return Verdict::invalid;
    return v.complete() ? Verdict::valid : Verdict::incomplete;
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t n = size - 2;
    // An exact-size copy, so ASan sees any read past the end.
    std::vector<char> text(data + 2, data + size);
    const char* p = text.data();
    const unsigned char* u = reinterpret_cast<const unsigned char*>(p);

    std::size_t first_bad = 0;
    const Verdict expect = naive(u, n, first_bad);

    d::Utf8Validator one;
    const Verdict got = verdict_of(one.feed(p, n), one);
    FUZZ_CHECK(got == expect);
    FUZZ_CHECK(d::is_valid_utf8(p, n) == (expect == Verdict::valid));
    FUZZ_CHECK(one.failed() == (expect == Verdict::invalid));

    // Three pieces at input-chosen cuts.
    const std::size_t a = n ? data[0] % (n + 1) : 0;
    const std::size_t b = a + (n - a ? data[1] % (n - a + 1) : 0);
    d::Utf8Validator split;
    const bool ok_a = split.feed(p, a);
    const bool ok_b = split.feed(p + a, b - a);
    const bool ok_c = split.feed(p + b, n - b);
    FUZZ_CHECK(verdict_of(ok_c, split) == expect);
    FUZZ_CHECK(ok_a || !ok_b);   // once failed, always failed
    FUZZ_CHECK(ok_b || !ok_c);
    FUZZ_CHECK(ok_a == (first_bad >= a));   // fail-fast at the piece holding the bad byte
    FUZZ_CHECK(ok_b == (first_bad >= b));

    // Byte by byte: feed() turns false exactly on the first impossible byte.
    d::Utf8Validator bytewise;
    for (std::size_t i = 0; i < n; ++i) {
        const bool ok = bytewise.feed(p + i, 1);
        FUZZ_CHECK(ok == (i < first_bad));
    }
    FUZZ_CHECK(verdict_of(!bytewise.failed(), bytewise) == expect);
    return 0;
}
