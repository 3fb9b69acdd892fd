// SPDX-License-Identifier: MIT
// wisp/detail/http_date.hpp — the Date header value (RFC 9110 §5.6.7 IMF-fixdate).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstdint>
#include <cstring>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Formats `secs` since the Unix epoch as "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters,
/// no terminator). Pure arithmetic: no locale, no gmtime (not thread-safe everywhere).
void format_http_date(std::int64_t secs, char out[29]) noexcept;

// ---- implementation -------------------------------------------------------
inline void format_http_date(std::int64_t secs, char out[29]) noexcept {
    static const char* const days = "SunMonTueWedThuFriSat";
    static const char* const months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    std::int64_t z = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    const std::int64_t sod = secs - z * 86400;
    const int wday = static_cast<int>(((z % 7) + 11) % 7);   // 1970-01-01 was a Thursday
    // Days to civil date (proleptic Gregorian), counting eras of 400 years from 0000-03-01.
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int mday = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int mon = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const std::int64_t year = yoe + era * 400 + (mon <= 2 ? 1 : 0);
    const int hh = static_cast<int>(sod / 3600), mm = static_cast<int>(sod / 60 % 60),
              ss = static_cast<int>(sod % 60);
    auto two = [](char* p, int v) {
        p[0] = static_cast<char>('0' + v / 10);
        p[1] = static_cast<char>('0' + v % 10);
    };
    std::memcpy(out, days + 3 * wday, 3);
    out[3] = ',';
    out[4] = ' ';
    two(out + 5, mday);
    out[7] = ' ';
    std::memcpy(out + 8, months + 3 * (mon - 1), 3);
    out[11] = ' ';
    const int y = static_cast<int>(year % 10000);
    out[12] = static_cast<char>('0' + y / 1000);
    out[13] = static_cast<char>('0' + y / 100 % 10);
    out[14] = static_cast<char>('0' + y / 10 % 10);
    out[15] = static_cast<char>('0' + y % 10);
    out[16] = ' ';
    two(out + 17, hh);
    out[19] = ':';
    two(out + 20, mm);
    out[22] = ':';
    two(out + 23, ss);
    std::memcpy(out + 25, " GMT", 4);
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
