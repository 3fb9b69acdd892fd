// SPDX-License-Identifier: MIT
// Micro-benchmark: SSE event formatting (wisp/detail/sse_format.hpp) against a naive
// std::ostringstream + std::getline formatter. Single thread, no dependencies.
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/micro_sse.cpp -o micro_sse && ./micro_sse
// Each row is the best of 7 runs of ~100 ms; MB/s counts payload (data) bytes, 1 MB = 1e6 B.
#include <wisp/detail/sse_format.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>

namespace {

volatile std::size_t sink;

// What a hand-written formatter typically looks like: a stream, and getline to split lines
// (which only knows LF, and drops a trailing line break).
std::string naive_format(std::string_view data, std::string_view event) {
    std::ostringstream os;
    if (!event.empty()) os << "event: " << event << '\n';
    std::istringstream lines{std::string(data)};
    std::string line;
    while (std::getline(lines, line)) os << "data: " << line << '\n';
    os << '\n';
    return os.str();
}

struct Case {
    const char* name;
    std::string data;
    std::string_view event;
};

struct Result {
    double events_per_s;
    double mb_per_s;
};

template <class F>
Result measure(const Case& c, F&& format_one) {
    using clock = std::chrono::steady_clock;
    double best = 0;
    for (int run = 0; run < 7; ++run) {
        std::size_t events = 0;
        const auto start = clock::now();
        auto now = start;
        do {
            for (int i = 0; i < 1000; ++i) format_one(c);
            events += 1000;
            now = clock::now();
        } while (now - start < std::chrono::milliseconds(100));
        const double secs = std::chrono::duration<double>(now - start).count();
        const double rate = static_cast<double>(events) / secs;
        if (rate > best) best = rate;
    }
    return {best, best * static_cast<double>(c.data.size()) / 1e6};
}

std::string lines_of(std::size_t total, std::size_t line_len) {
    std::string s;
    while (s.size() < total) {
        const std::size_t left = total - s.size();
        if (left <= line_len) {
            s.append(left, 'x');
        } else {
            s.append(line_len - 1, 'x');
            s += '\n';
        }
    }
    return s;
}

}   // namespace

int main() {
    const Case cases[] = {
        {"64 B, 1 line", std::string(64, 'm'), {}},
        {"64 B, 1 line, event", std::string(64, 'm'), "chat"},
        {"1 KiB, 16 lines", lines_of(1024, 64), {}},
    };

    std::printf("%-22s %-22s %14s %12s %9s\n", "case", "formatter", "events/s", "MB/s", "vs naive");
    for (const Case& c : cases) {
        std::string check;
        if (wisp::detail::format_event(check, c.data, c.event) ||
            check != naive_format(c.data, c.event)) {
            std::fprintf(stderr, "micro_sse: formatters disagree on \"%s\"\n", c.name);
            return 1;
        }

        std::string reused;
        const Result wisp_reused = measure(c, [&reused](const Case& k) {
            reused.clear();
            if (wisp::detail::format_event(reused, k.data, k.event)) return;
            sink = sink + reused.size() + static_cast<unsigned char>(reused[6]);
        });
        const Result wisp_fresh = measure(c, [](const Case& k) {
            std::string out;
            if (wisp::detail::format_event(out, k.data, k.event)) return;
            sink = sink + out.size() + static_cast<unsigned char>(out[6]);
        });
        const Result naive = measure(c, [](const Case& k) {
            const std::string out = naive_format(k.data, k.event);
            sink = sink + out.size() + static_cast<unsigned char>(out[6]);
        });

        const auto row = [&](const char* who, const Result& r) {
            std::printf("%-22s %-22s %14.0f %12.1f %8.1fx\n", c.name, who, r.events_per_s,
                        r.mb_per_s, r.events_per_s / naive.events_per_s);
        };
        row("wisp, reused buffer", wisp_reused);
        row("wisp, new string", wisp_fresh);
        row("naive ostringstream", naive);
    }
    return 0;
}
