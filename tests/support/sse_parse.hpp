// SPDX-License-Identifier: MIT
// tests/support/sse_parse.hpp — a client-side event-stream parser for tests and fuzzers, and
// the chunked-body decoding that reads a stream's events off a raw socket.
//
// Follows WHATWG HTML §9.2.6 "Interpreting an event stream" step by step, written from the
// spec text and independent of wisp's formatter, so a round trip through it checks the
// formatter against the spec rather than against itself. It works on bytes: it strips a
// leading UTF-8 BOM like the spec's UTF-8 decode, but does not replace invalid UTF-8 with
// U+FFFD (a browser would, on both the sent and the received side of a comparison).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace support {

/// One dispatched MessageEvent, as a browser's EventSource would deliver it.
struct SseEvent {
    std::string type;   ///< "message" when no event field was given
    std::string data;
    std::string last_event_id;   ///< the source's last event ID string at dispatch
};

/// Feed it bytes in any split; it collects what an EventSource would observe.
class SseParser {
public:
    void feed(std::string_view bytes) {
        for (const char c : bytes) {
            if (skip_lf_) {
                skip_lf_ = false;
                if (c == '\n') continue;   // the LF of a CRLF pair
            }
            if (c == '\r' || c == '\n') {
                skip_lf_ = c == '\r';
                process_line(pending_);
                pending_.clear();
            } else {
                pending_ += c;
            }
        }
    }

    /// End of stream: "any pending data must be discarded" — an unterminated line and an
    /// event without its blank line are dropped.
    void finish() {
        pending_.clear();
        data_.clear();
        type_.clear();
    }

    std::vector<SseEvent> events;
    std::vector<std::string> comments;   ///< each comment line's text after the ':'
    std::vector<std::string> ignored;    ///< lines naming no known field (never from wisp)
    std::string last_event_id;           ///< the EventSource's last event ID string
    long long reconnection_time = -1;    ///< set by a valid retry field; -1 until then
    std::size_t lines = 0;               ///< lines processed, blank ones included

private:
    void process_line(std::string_view line) {
        ++lines;
        if (first_line_) {
            first_line_ = false;
            if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
        }
        if (line.empty()) {
            dispatch();
            return;
        }
        if (line.front() == ':') {
            comments.emplace_back(line.substr(1));
            return;
        }
        const std::size_t colon = line.find(':');
        std::string_view name = line, value;
        if (colon != std::string_view::npos) {
            name = line.substr(0, colon);
            value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        }
        process_field(name, value, line);
    }

    void process_field(std::string_view name, std::string_view value, std::string_view line) {
        if (name == "event") {
            type_.assign(value.data(), value.size());
        } else if (name == "data") {
            data_.append(value.data(), value.size());
            data_ += '\n';
        } else if (name == "id") {
            if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
        } else if (name == "retry") {
            constexpr long long max = 9223372036854775807LL;   // saturate past it
            bool digits = !value.empty();
            long long ms = 0;
            for (const char c : value) {
                if (c < '0' || c > '9') {
                    digits = false;
                    break;
                }
                const int d = c - '0';
                ms = ms > (max - d) / 10 ? max : ms * 10 + d;
            }
            if (digits) reconnection_time = ms;
        } else {
            ignored.emplace_back(line);
        }
    }

    void dispatch() {
        last_event_id = id_buffer_;   // the buffer is not reset: ids persist across events
        if (data_.empty()) {
            type_.clear();
            return;
        }
        if (data_.back() == '\n') data_.pop_back();
        events.push_back(
            SseEvent{type_.empty() ? std::string("message") : type_, data_, last_event_id});
        data_.clear();
        type_.clear();
    }

    std::string pending_, data_, type_, id_buffer_;
    bool skip_lf_ = false;
    bool first_line_ = true;
};

/// Decodes a chunked body prefix (RFC 9112 §7.1): the payload bytes of its complete chunks,
/// and in `ended` whether the last-chunk was seen.
inline std::string sse_dechunk(const std::string& body, bool* ended = nullptr) {
    std::string out;
    std::size_t p = 0;
    if (ended) *ended = false;
    for (;;) {
        const std::size_t le = body.find("\r\n", p);
        if (le == std::string::npos) break;
        const std::size_t n = std::stoul(body.substr(p, le - p), nullptr, 16);
        if (n == 0) {
            if (ended) *ended = body.compare(le, 4, "\r\n\r\n") == 0;
            break;
        }
        if (body.size() < le + 2 + n + 2) break;
        out.append(body, le + 2, n);
        p = le + 2 + n + 2;
    }
    return out;
}

/// The events of a chunked event-stream body's complete chunks so far.
inline SseParser sse_parse_chunked(const std::string& body) {
    SseParser p;
    p.feed(sse_dechunk(body));
    return p;
}

/// `s` with CRLF and lone CR replaced by LF: what a client reads back from formatted data.
inline std::string sse_normalise_breaks(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

}   // namespace support
