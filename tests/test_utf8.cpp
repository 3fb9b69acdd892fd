// SPDX-License-Identifier: MIT
// Tests for wisp/detail/utf8.hpp: every class of ill-formed sequence, the code point
// boundaries, exhaustive short sequences against a code-point-decoding oracle, and streaming
// (every split, byte by byte, fail-fast) against one-shot.
#include <wisp/detail/utf8.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace d = wisp::detail;

std::string bytes(std::initializer_list<unsigned> list) {
    std::string s;
    for (unsigned b : list) s.push_back(static_cast<char>(b));
    return s;
}

// Encodes a code point the way RFC 3629 §3 describes, without range checks (so surrogates
// and values over U+10FFFF can be produced too).
std::string encode(std::uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        s.push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return s;
}

// The oracle, written from the definition instead of from byte ranges: decode a sequence by
// its lead byte's length, then the code point must use that length minimally, not be a
// surrogate and not exceed U+10FFFF. A sequence cut by the end of input is acceptable when
// some completion is valid: try every second byte, and 0x80 for the rest (bytes after the
// second never decide validity once they are continuation bytes).
enum class Verdict { valid, incomplete, invalid };

int seq_len(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 0;
}

bool decodes_validly(const unsigned char* p, int len) {
    std::uint32_t cp = p[0] & (0xFFu >> (len + 1));
    if (len == 1) return true;
    for (int i = 1; i < len; ++i) {
        if ((p[i] & 0xC0) != 0x80) return false;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    return cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

bool completable(const unsigned char* p, int have, int len) {
    unsigned char buf[4] = {p[0], 0x80, 0x80, 0x80};
    for (int i = 1; i < have; ++i) buf[i] = p[i];
    if (have >= 2) return decodes_validly(buf, len);
    for (unsigned second = 0x80; second <= 0xBF; ++second) {
        buf[1] = static_cast<unsigned char>(second);
        if (decodes_validly(buf, len)) return true;
    }
    return false;
}

Verdict oracle(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t i = 0;
    while (i < s.size()) {
        const int len = seq_len(p[i]);
        if (len == 0) return Verdict::invalid;
        const std::size_t have = s.size() - i;
        if (have < static_cast<std::size_t>(len)) {
            // Continuation bytes present must be continuation bytes.
            for (std::size_t j = 1; j < have; ++j) {
                if ((p[i + j] & 0xC0) != 0x80) return Verdict::invalid;
            }
            return completable(p + i, static_cast<int>(have), len) ? Verdict::incomplete
                                                                   : Verdict::invalid;
        }
        if (!decodes_validly(p + i, len)) return Verdict::invalid;
        i += static_cast<std::size_t>(len);
    }
    return Verdict::valid;
}

Verdict streaming_verdict(std::string_view s) {
    d::Utf8Validator v;
    if (!v.feed(s.data(), s.size())) return Verdict::invalid;
    return v.complete() ? Verdict::valid : Verdict::incomplete;
}

// The index of the first byte after which the input can no longer be valid, or npos.
std::size_t oracle_first_bad(std::string_view s) {
    for (std::size_t i = 1; i <= s.size(); ++i) {
        if (oracle(s.substr(0, i)) == Verdict::invalid) return i - 1;
    }
    return std::string_view::npos;
}

// One-shot, every two-piece split, byte by byte, and the fail-fast position all agree.
void check_streaming(std::string_view s) {
    CAPTURE(s);
    const Verdict one_shot = streaming_verdict(s);
    CHECK(d::is_valid_utf8(s) == (one_shot == Verdict::valid));
    for (std::size_t k = 0; k <= s.size(); ++k) {
        d::Utf8Validator v;
        const bool a = v.feed(s.data(), k);
        const bool b = v.feed(s.data() + k, s.size() - k);
        const Verdict split = !b             ? Verdict::invalid
                              : v.complete() ? Verdict::valid
                                             : Verdict::incomplete;
        CHECK(split == one_shot);
        if (!a) CHECK_FALSE(b);   // once failed, stays failed
    }
    d::Utf8Validator v;
    std::size_t first_false = std::string_view::npos;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!v.feed(s.data() + i, 1) && first_false == std::string_view::npos) first_false = i;
    }
    CHECK(first_false == oracle_first_bad(s));
    CHECK(v.failed() == (one_shot == Verdict::invalid));
}

}   // namespace

TEST_CASE("utf8: code point boundaries are valid") {
    for (std::uint32_t cp : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFDu, 0xFFFFu,
                             0x10000u, 0x10FFFFu}) {
        CAPTURE(cp);
        CHECK(d::is_valid_utf8(encode(cp)));
    }
    CHECK(d::is_valid_utf8(""));
    CHECK(d::is_valid_utf8("plain ASCII"));
    CHECK(d::is_valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));   // κόσμε
    CHECK(d::is_valid_utf8(std::string_view("\0", 1)));
}

TEST_CASE("utf8: overlong forms are rejected") {
    CHECK_FALSE(d::is_valid_utf8(bytes({0xC0, 0x80})));               // U+0000 in 2 bytes
    CHECK_FALSE(d::is_valid_utf8(bytes({0xC1, 0xBF})));               // U+007F in 2 bytes
    CHECK_FALSE(d::is_valid_utf8(bytes({0xE0, 0x80, 0x80})));         // U+0000 in 3 bytes
    CHECK_FALSE(d::is_valid_utf8(bytes({0xE0, 0x9F, 0xBF})));         // U+07FF in 3 bytes
    CHECK_FALSE(d::is_valid_utf8(bytes({0xF0, 0x80, 0x80, 0x80})));   // U+0000 in 4 bytes
    CHECK_FALSE(d::is_valid_utf8(bytes({0xF0, 0x8F, 0xBF, 0xBF})));   // U+FFFF in 4 bytes
    CHECK_FALSE(d::is_valid_utf8(bytes({0xC0, 0xAF})));               // the classic '/'
}

TEST_CASE("utf8: surrogates are rejected, the code points around them are not") {
    for (std::uint32_t cp = 0xD800; cp <= 0xDFFF; ++cp) CHECK_FALSE(d::is_valid_utf8(encode(cp)));
    CHECK(d::is_valid_utf8(encode(0xD7FF)));
    CHECK(d::is_valid_utf8(encode(0xE000)));
    // A CESU-8 style pair is two surrogates, still rejected.
    CHECK_FALSE(d::is_valid_utf8(bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80})));
}

TEST_CASE("utf8: code points above U+10FFFF are rejected") {
    CHECK_FALSE(d::is_valid_utf8(encode(0x110000)));
    CHECK_FALSE(d::is_valid_utf8(encode(0x13FFFF)));
    CHECK_FALSE(d::is_valid_utf8(bytes({0xF4, 0x90, 0x80, 0x80})));
    CHECK_FALSE(d::is_valid_utf8(bytes({0xF5, 0x80, 0x80, 0x80})));
    CHECK_FALSE(d::is_valid_utf8(bytes({0xF7, 0xBF, 0xBF, 0xBF})));         // U+1FFFFF
    CHECK_FALSE(d::is_valid_utf8(bytes({0xF8, 0x88, 0x80, 0x80, 0x80})));   // old 5-byte form
    CHECK_FALSE(d::is_valid_utf8(bytes({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80})));
}

TEST_CASE("utf8: invalid lead bytes and lone continuations are rejected") {
    for (unsigned b : {0xC0u, 0xC1u, 0xF5u, 0xF8u, 0xFEu, 0xFFu}) {
        CAPTURE(b);
        CHECK_FALSE(d::is_valid_utf8(bytes({b})));
        d::Utf8Validator v;
        CHECK_FALSE(v.feed(bytes({b})));   // fail-fast: known bad at once
    }
    for (unsigned b = 0x80; b <= 0xBF; ++b) {
        CHECK_FALSE(d::is_valid_utf8(bytes({b})));
        CHECK_FALSE(d::is_valid_utf8(bytes({'a', b})));
        CHECK_FALSE(d::is_valid_utf8(bytes({0xC3, 0xA9, b})));
    }
}

TEST_CASE("utf8: a cut sequence is incomplete, not invalid, until the end") {
    const std::string euro = encode(0x20AC), smile = encode(0x1F600);
    for (std::size_t k = 1; k < euro.size(); ++k) {
        d::Utf8Validator v;
        CHECK(v.feed(euro.data(), k));
        CHECK_FALSE(v.complete());
        CHECK_FALSE(d::is_valid_utf8(euro.substr(0, k)));
    }
    for (std::size_t k = 1; k < smile.size(); ++k) {
        d::Utf8Validator v;
        CHECK(v.feed(smile.data(), k));
        CHECK_FALSE(v.complete());
        CHECK(v.feed(smile.data() + k, smile.size() - k));
        CHECK(v.complete());
    }
    // A sequence interrupted by a new lead or ASCII is invalid at that byte.
    d::Utf8Validator v;
    CHECK(v.feed(bytes({0xE2, 0x82})));
    CHECK_FALSE(v.feed("a"));
    CHECK(v.failed());
    CHECK_FALSE(v.feed("more"));
    v.reset();
    CHECK(v.complete());
    CHECK(v.feed("fine again"));
}

TEST_CASE("utf8: the first byte that rules out validity fails the feed") {
    // E0 9F: no 3-byte sequence starting E0 may continue 80..9F (overlong), known at byte 2.
    d::Utf8Validator v;
    CHECK(v.feed(bytes({0xE0})));
    CHECK_FALSE(v.feed(bytes({0x9F})));
    // ED A0: a surrogate, known at byte 2; F4 90: over U+10FFFF, known at byte 2.
    v.reset();
    CHECK(v.feed(bytes({0xED})));
    CHECK_FALSE(v.feed(bytes({0xA0})));
    v.reset();
    CHECK(v.feed(bytes({0xF4})));
    CHECK_FALSE(v.feed(bytes({0x90})));
    v.reset();
    CHECK(v.feed(bytes({0xF0})));
    CHECK_FALSE(v.feed(bytes({0x8F})));
}

TEST_CASE("utf8: every 1- and 2-byte input agrees with the oracle, streamed or not") {
    for (unsigned a = 0; a < 256; ++a) {
        const std::string one = bytes({a});
        CHECK(streaming_verdict(one) == oracle(one));
        for (unsigned b = 0; b < 256; ++b) {
            const std::string two = bytes({a, b});
            const Verdict expect = oracle(two);
            if (streaming_verdict(two) != expect) {
                CAPTURE(a);
                CAPTURE(b);
                CHECK(streaming_verdict(two) == expect);
            }
            d::Utf8Validator v;
            const bool first = v.feed(one);
            const bool second = v.feed(bytes({b}));
            CHECK(first == (oracle(one) != Verdict::invalid));
            CHECK(second == (expect != Verdict::invalid));
        }
    }
}

TEST_CASE("utf8: every 3- and 4-byte input over the boundary bytes agrees with the oracle") {
    const unsigned interesting[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                    0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                    0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
    std::size_t mismatches = 0;
    for (unsigned a : interesting)
        for (unsigned b : interesting)
            for (unsigned c : interesting) {
                const std::string three = bytes({a, b, c});
                if (streaming_verdict(three) != oracle(three)) ++mismatches;
                for (unsigned e : interesting) {
                    const std::string four = bytes({a, b, c, e});
                    if (streaming_verdict(four) != oracle(four)) ++mismatches;
                }
            }
    CHECK(mismatches == 0);
}

TEST_CASE("utf8: every code point in every position of a long buffer") {
    // Covers all of U+0000..U+10FFFF (and the surrogates, rejected) through the block path:
    // each code point is placed after ASCII padding so it lands at every offset mod 16.
    std::size_t wrong = 0;
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 7)) {
        const bool valid = !(cp >= 0xD800 && cp <= 0xDFFF);
        std::string s(cp % 17, 'x');
        s += encode(cp);
        s.append(20, 'y');
        if (d::is_valid_utf8(s) != valid) ++wrong;
    }
    CHECK(wrong == 0);
}

TEST_CASE("utf8: split at every byte boundary and byte by byte agrees with one-shot") {
    std::vector<std::string> inputs = {
        "",
        "hello",
        "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf0\x9f\x98\x80 and some ASCII after it",
        std::string(40, 'a') + "\xe2\x82\xac" + std::string(40, 'b'),
        std::string(33, 'a') + "\xed\xa0\x80" + std::string(10, 'b'),   // surrogate mid-block
        std::string(31, 'a') + "\xf4\x90\x80\x80",                      // > U+10FFFF
        std::string(16, 'a') + "\xc0\xaf" + std::string(16, 'a'),       // overlong
        std::string(15, 'a') + "\xe2\x82",                              // truncated at end
        "\xf0\x9f\x98",                                                 // truncated 4-byte
        std::string(20, 'z') + "\x80",                                  // lone continuation
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
        "\xf8\x88\x80\x80\x80",
        "\xef\xbf\xbf\xf4\x8f\xbf\xbf\xc2\x80\xdf\xbf\xe0\xa0\x80",
    };
    std::string multi;
    for (int i = 0; i < 10; ++i) multi += "z\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xd0\x96";
    inputs.push_back(multi);
    inputs.push_back(multi + "\xf0\x9f\x98");
    inputs.push_back(multi + "\xc2" + multi);
    for (const std::string& s : inputs) check_streaming(s);
}

TEST_CASE("utf8: the validator is one byte and copies its state") {
    CHECK(sizeof(d::Utf8Validator) == 1);
    d::Utf8Validator a;
    CHECK(a.feed(bytes({0xE2, 0x82})));
    d::Utf8Validator b = a;
    CHECK(b.feed(bytes({0xAC})));
    CHECK(b.complete());
    CHECK_FALSE(a.complete());
}
