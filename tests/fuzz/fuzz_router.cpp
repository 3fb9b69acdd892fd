// SPDX-License-Identifier: MIT
// libFuzzer target for the router and the URL helpers: random patterns, then random paths.
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
//       tests/fuzz/fuzz_router.cpp -o fuzz_router && ./fuzz_router -max_total_time=60
// Input: lines. The first byte of each line picks a method; the first line's second byte says
// how many of the following lines are patterns, the rest are request targets.
// Invariants (a violation traps): decoding never grows its input; a registered static pattern
// always matches itself; statuses agree with matches_path(); a safe relative path has no
// "..", '\\', NUL, empty segment or leading '/'.
#include <wisp/detail/static_path.hpp>
#include <wisp/detail/url.hpp>
#include <wisp/router.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

std::string_view method_for(unsigned char selector) {
    static constexpr std::string_view methods[] = {"", "GET", "POST", "HEAD", "PUT", "X-CUSTOM"};
    return methods[selector % (sizeof(methods) / sizeof(methods[0]))];
}

// A pattern without captures: every segment is static text.
bool is_static_pattern(std::string_view p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '*') return false;
        if (p[i] == ':' && i > 0 && p[i - 1] == '/') return false;
    }
    return true;
}

void fuzz_decoding(std::string_view in) {
    std::string strict, lenient;
    const bool ok = wisp::detail::percent_decode(in, strict, false);
    if (ok) check(strict.size() <= in.size());
    wisp::detail::percent_decode_lenient(in, lenient, true);
    check(lenient.size() <= in.size());
    if (ok) {
        check(wisp::detail::decoded_equals(in, strict));
        std::string plus;
        check(wisp::detail::percent_decode(in, plus, true));
        check(plus == lenient);
    }
    std::string_view path, query;
    wisp::detail::split_target(in, path, query);
    check(path.size() + query.size() <= in.size());
    wisp::detail::parse_query(query, [&](std::string name, std::string value) {
        check(!name.empty());
        check(name.size() + value.size() <= query.size());
    });
    (void)wisp::detail::query_value(query, "a");
}

void fuzz_static_path(std::string_view in) {
    std::string rel;
    if (wisp::detail::safe_relative_path(in, rel) != wisp::detail::PathCheck::ok) return;
    check(!rel.empty() && rel.front() != '/' && rel.back() != '/');
    check(rel.find('\\') == std::string::npos && rel.find('\0') == std::string::npos);
    check(rel.find(':') == std::string::npos);
    std::size_t start = 0;
    while (start <= rel.size()) {
        std::size_t end = rel.find('/', start);
        if (end == std::string::npos) end = rel.size();
        const std::string_view seg(rel.data() + start, end - start);
        check(!seg.empty() && seg != "." && seg != "..");
        start = end + 1;
    }
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string_view> lines;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (!in.empty()) {
        const std::size_t nl = in.find('\n');
        lines.push_back(in.substr(0, nl));
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    }
    if (lines.empty()) return 0;
    const std::size_t n_patterns =
        lines[0].size() > 1 ? static_cast<unsigned char>(lines[0][1]) % 16 : lines.size() / 2;

    wisp::BasicRouter<std::size_t> router;
    struct Added {
        std::string_view method;
        std::string_view pattern;
    };
    std::vector<Added> statics;
    std::size_t i = 0;
    for (; i < lines.size() && i < n_patterns; ++i) {
        std::string_view line = lines[i];
        if (line.empty()) continue;
        const std::string_view method = method_for(static_cast<unsigned char>(line[0]));
        const std::string_view pattern = line.substr(1);
        fuzz_decoding(pattern);
        if (router.add(method, pattern, i)) continue;
        if (is_static_pattern(pattern)) statics.push_back({method, pattern});
    }

    std::vector<wisp::RouteParam> params;
    for (const Added& a : statics) {
        const std::string_view method = a.method.empty() ? "GET" : a.method;
        const auto m = router.match(method, a.pattern, params);
        check(m.status == wisp::RouteStatus::found && m.target != nullptr);
        check(params.empty());
    }

    for (; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (line.empty()) continue;
        const std::string_view method = method_for(static_cast<unsigned char>(line[0]));
        const std::string_view target = line.substr(1);
        fuzz_decoding(target);
        fuzz_static_path(target);
        std::string_view path, query;
        wisp::detail::split_target(target, path, query);
        const auto m = router.match(method.empty() ? "GET" : method, path, params);
        const bool exists = router.matches_path(path);
        switch (m.status) {
            case wisp::RouteStatus::found:
                check(m.target != nullptr && *m.target < lines.size() && exists);
                for (const auto& p : params) {
                    check(!p.name.empty());
                    check(p.value.size() <= p.raw.size());
                    check(p.raw.data() >= path.data() &&
                          p.raw.data() + p.raw.size() <= path.data() + path.size());
                }
                break;
            case wisp::RouteStatus::method_not_allowed:
                check(m.target == nullptr && !m.allow.empty() && exists && params.empty());
                check(m.allow == router.allowed_methods(path));
                break;
            case wisp::RouteStatus::bad_request:
                check(m.target == nullptr && exists && params.empty());
                break;
            case wisp::RouteStatus::not_found:
                check(m.target == nullptr && !exists && params.empty() && m.allow.empty());
                break;
        }
    }
    return 0;
}
