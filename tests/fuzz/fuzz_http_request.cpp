// SPDX-License-Identifier: MIT
// libFuzzer target for the request-parsing path (llhttp glue, limits, smuggling checks).
// Invariants: never crashes or reads out of bounds (ASan), consumed <= fed, and feeding the
// input whole or split at fuzzer-chosen points gives the same requests and the same error.
#include <wisp/detail/llhttp.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Outcome {
    std::vector<std::string> requests;   // method, target, headers and body, flattened
    int error = 0;
    /// Same requests, and errors alike. Input that is both over a size limit and malformed
    /// may be reported as either (413/414/431 or 400), depending on where the reads end: llhttp
    /// reports a span (and so its size) at the end of each read, or when the span completes.
    bool operator==(const Outcome& o) const {
        if (requests != o.requests || (error == 0) != (o.error == 0)) return false;
        auto limit = [](int e) { return e == 413 || e == 414 || e == 431; };
        return error == o.error || limit(error) || limit(o.error);
    }
};

Outcome parse(const std::string& input, const std::vector<std::size_t>& cuts,
              const wisp::detail::ParserLimits& limits) {
    using Event = wisp::detail::RequestParser::Event;
    wisp::detail::RequestParser p(limits);
    Outcome out;
    std::size_t start = 0;
    for (std::size_t ci = 0; ci <= cuts.size() && out.error == 0; ++ci) {
        const std::size_t end = ci < cuts.size() ? cuts[ci] : input.size();
        if (end < start) continue;
        // A fresh buffer per read, scribbled after use: views must not outlive it.
        std::string chunk = input.substr(start, end - start);
        start = end;
        const char* d = chunk.data();
        std::size_t n = chunk.size();
        while (n > 0) {
            auto r = p.feed(d, n);
            if (r.consumed > n) __builtin_trap();
            d += r.consumed;
            n -= r.consumed;
            if (r.event == Event::need_more) {
                if (n != 0) __builtin_trap();
                break;
            }
            if (r.event == Event::error) {
                out.error = p.error_status();
                if (out.error < 400 || out.error > 505) __builtin_trap();
                break;
            }
            if (r.event == Event::expect_continue) {
                p.continue_body();
                continue;
            }
            auto& req = p.request();
            // What routing sees (path, query, host) must agree across splits too.
            std::string flat = std::string(req.method()) + ' ' + std::string(req.target()) + ' ' +
                               std::string(req.path()) + ' ' + std::string(req.query_string()) +
                               ' ' + std::string(req.host()) + ' ' +
                               std::to_string(req.http_minor()) + '\n';
            for (const auto& h : req.headers())
                flat += std::string(h.name) + ':' + std::string(h.value) + '\n';
            flat += '\n';
            flat += req.body();
            if (req.target().size() > limits.max_url_bytes) __builtin_trap();
            if (req.body().size() > limits.max_body_bytes) __builtin_trap();
            if (req.headers().size() > limits.max_header_count) __builtin_trap();
            out.requests.push_back(std::move(flat));
            const bool upgrade = p.upgrade();
            p.next();
            if (upgrade) return out;   // the rest belongs to another protocol
        }
        std::memset(&chunk[0], '#', chunk.size());
    }
    return out;
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // The first two bytes choose where to cut the rest (0 = not at all).
    const std::size_t cut_a = data[0], cut_b = static_cast<std::size_t>(data[1]) * 7;
    const std::string input(reinterpret_cast<const char*>(data + 2), size - 2);
    wisp::detail::ParserLimits limits;
    limits.max_header_bytes = 512;
    limits.max_url_bytes = 96;
    limits.max_body_bytes = 256;
    limits.max_header_count = 12;

    const Outcome whole = parse(input, {}, limits);
    std::vector<std::size_t> cuts;
    if (cut_a && cut_a < input.size()) cuts.push_back(cut_a);
    if (cut_b > cut_a && cut_b < input.size()) cuts.push_back(cut_b);
    const Outcome split = parse(input, cuts, limits);
    std::vector<std::size_t> bytes;
    for (std::size_t i = 1; i < input.size() && i < 600; ++i) bytes.push_back(i);
    const Outcome dribble = parse(input, bytes, limits);
    if (!(whole == split)) __builtin_trap();
    if (!(whole == dribble)) __builtin_trap();
    return 0;
}
