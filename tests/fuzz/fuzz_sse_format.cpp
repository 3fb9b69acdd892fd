// SPDX-License-Identifier: MIT
// libFuzzer target for wisp/detail/sse_format.hpp. Every formatted event is read back by a
// WHATWG-conformant client parser (tests/support/sse_parse.hpp) and must give back exactly
// its data (CR and CRLF read as LF), event type, last event ID and retry; invalid fields
// must be rejected with nothing written; no output holds a CR or a line that is not a field,
// a comment or the final blank line.
// Built by meson with -Dfuzz=true (clang); see tests/fuzz/meson.build.
// Input: flags, event length, id length, 8 retry bytes, then event, id and data bytes.
#include <wisp/detail/sse_format.hpp>

#include "../support/sse_parse.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#define FUZZ_CHECK(cond)               \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

namespace {

namespace sse = wisp::detail;

bool reference_valid(std::string_view v) {
    return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// No CR anywhere; every line ends with LF and is a known field or a comment; when
// `one_event`, the only blank line is the last one.
void check_lines(std::string_view s, bool one_event) {
    FUZZ_CHECK(s.find('\r') == std::string_view::npos);
    FUZZ_CHECK(s.empty() || s.back() == '\n');
    std::size_t blank = 0, pos = 0;
    while (pos < s.size()) {
        const std::size_t nl = s.find('\n', pos);
        FUZZ_CHECK(nl != std::string_view::npos);
        const std::string_view line = s.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) {
            ++blank;
            FUZZ_CHECK(one_event && pos == s.size());
            continue;
        }
        const bool known = line[0] == ':' || line == "data:" || line.rfind("data: ", 0) == 0 ||
                           line.rfind("event: ", 0) == 0 || line == "id:" ||
                           line.rfind("id: ", 0) == 0 || line.rfind("retry: ", 0) == 0;
        FUZZ_CHECK(known);
    }
    FUZZ_CHECK(blank == (one_event ? 1u : 0u));
}

std::size_t parse_hex_line(std::string_view s, std::size_t& pos) {
    std::size_t v = 0;
    while (pos < s.size() && s[pos] != '\r') {
        const char c = s[pos++];
        FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        v = v * 16 + static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    FUZZ_CHECK(s.substr(pos, 2) == "\r\n");
    pos += 2;
    return v;
}

void check_comment(std::string_view text, const std::string& prefix) {
    std::string out = prefix;
    FUZZ_CHECK(!sse::format_comment(out, text));
    FUZZ_CHECK(out.compare(0, prefix.size(), prefix) == 0);
    const std::string_view body = std::string_view(out).substr(prefix.size());
    FUZZ_CHECK(body.size() == sse::formatted_comment_size(text));
    check_lines(body, false);

    support::SseParser p;
    p.feed(body);
    p.feed("data: after\n\n");   // comments must not disturb the next event
    p.finish();
    FUZZ_CHECK(p.events.size() == 1 && p.events[0].data == "after");
    FUZZ_CHECK(p.events[0].type == "message" && p.ignored.empty());
    const std::string lines = support::sse_normalise_breaks(text);
    std::size_t start = 0, i = 0;
    for (;; ++i) {
        const std::size_t nl = lines.find('\n', start);
        const std::string line = lines.substr(start, nl == std::string::npos ? nl : nl - start);
        FUZZ_CHECK(i < p.comments.size());
        FUZZ_CHECK(p.comments[i] == (line.empty() ? line : " " + line));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    FUZZ_CHECK(p.comments.size() == i + 1);
}

void check_event(std::string_view data, std::string_view event, std::string_view id,
                 long long retry_ms, bool has_id, const std::string& prefix) {
    const bool valid = reference_valid(event) && reference_valid(id);
    FUZZ_CHECK(sse::is_valid_event_field(event) == reference_valid(event));
    FUZZ_CHECK(sse::is_valid_event_field(id) == reference_valid(id));

    std::string out = prefix, chunk = prefix;
    const std::error_code ec = sse::format_event(out, data, event, id, retry_ms, has_id);
    const std::error_code chunk_ec =
        sse::format_event_chunk(chunk, data, event, id, retry_ms, has_id);
    if (!valid) {
        FUZZ_CHECK(ec == wisp::errc::invalid_event_field);
        FUZZ_CHECK(chunk_ec == wisp::errc::invalid_event_field);
        FUZZ_CHECK(out == prefix && chunk == prefix);
        return;
    }
    FUZZ_CHECK(!ec && !chunk_ec);
    FUZZ_CHECK(out.compare(0, prefix.size(), prefix) == 0);
    const std::string_view body = std::string_view(out).substr(prefix.size());
    FUZZ_CHECK(body.size() == sse::formatted_size(data, event, id, retry_ms, has_id));
    check_lines(body, true);

    // The chunked form is the same bytes with correct framing around them.
    FUZZ_CHECK(chunk.compare(0, prefix.size(), prefix) == 0);
    std::size_t pos = prefix.size();
    FUZZ_CHECK(parse_hex_line(chunk, pos) == body.size());
    FUZZ_CHECK(std::string_view(chunk).substr(pos, body.size()) == body);
    FUZZ_CHECK(std::string_view(chunk).substr(pos + body.size()) == "\r\n");
    FUZZ_CHECK(chunk.size() - prefix.size() == body.size() + sse::chunk_overhead(body.size()));

    // Fed in two pieces, as a socket might deliver it.
    const std::size_t split = data.size() % (body.size() + 1);
    support::SseParser p;
    p.feed(body.substr(0, split));
    p.feed(body.substr(split));
    p.finish();
    FUZZ_CHECK(p.events.size() == 1);
    FUZZ_CHECK(p.events[0].data == support::sse_normalise_breaks(data));
    FUZZ_CHECK(p.events[0].type == (event.empty() ? std::string_view("message") : event));
    FUZZ_CHECK(p.events[0].last_event_id == ((has_id || !id.empty()) ? id : std::string_view()));
    FUZZ_CHECK(p.reconnection_time == (retry_ms >= 0 ? retry_ms : -1));
    FUZZ_CHECK(p.comments.empty() && p.ignored.empty());
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 11) return 0;
    const unsigned flags = bytes[0];
    std::size_t event_len = bytes[1], id_len = bytes[2];
    std::uint64_t raw = 0;
    std::memcpy(&raw, bytes + 3, sizeof raw);
    std::string_view rest(reinterpret_cast<const char*>(bytes) + 11, size - 11);
    if (event_len > rest.size()) event_len = rest.size();
    const std::string_view event = rest.substr(0, event_len);
    rest.remove_prefix(event_len);
    if (id_len > rest.size()) id_len = rest.size();
    const std::string_view id = rest.substr(0, id_len);
    const std::string_view data = rest.substr(id_len);

    const bool has_id = (flags & 1u) != 0;
    long long retry_ms = -1;
    if (flags & 2u) std::memcpy(&retry_ms, &raw, sizeof retry_ms);   // any value, negatives too
    const std::string prefix = (flags & 4u) ? std::string("previous\r\ncontent\0", 18) : "";

    if (flags & 8u) {
        // Comments take the whole payload as their text, so any bytes become comment lines.
        check_comment(std::string_view(reinterpret_cast<const char*>(bytes) + 11, size - 11),
                      prefix);
    } else {
        check_event(data, event, id, retry_ms, has_id, prefix);
    }
    return 0;
}
