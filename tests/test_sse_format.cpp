// SPDX-License-Identifier: MIT
// Tests for wisp/detail/sse_format.hpp: the event-stream bytes, and round trips through a
// WHATWG-conformant client parser (tests/support/sse_parse.hpp).
#include <wisp/detail/sse_format.hpp>

#include <doctest/doctest.h>

#include "support/sse_parse.hpp"

#include <climits>
#include <ostream>   // doctest prints std::error_code through it
#include <string>
#include <string_view>
#include <system_error>

using namespace std::string_view_literals;
namespace sse = wisp::detail;

namespace {

std::string event_bytes(std::string_view data, std::string_view event = {},
                        std::string_view id = {}, long long retry_ms = -1, bool has_id = false) {
    std::string out;
    const std::error_code ec = sse::format_event(out, data, event, id, retry_ms, has_id);
    REQUIRE_FALSE(ec);
    CHECK(out.size() == sse::formatted_size(data, event, id, retry_ms, has_id));
    return out;
}

std::string comment_bytes(std::string_view text) {
    std::string out;
    CHECK_FALSE(sse::format_comment(out, text));
    CHECK(out.size() == sse::formatted_comment_size(text));
    return out;
}

support::SseParser parse(std::string_view bytes) {
    support::SseParser p;
    p.feed(bytes);
    p.finish();
    return p;
}

// Every line is a known field, a comment, or the blank line that ends the stream; no CR.
bool lines_are_well_formed(std::string_view s) {
    if (s.find('\r') != std::string_view::npos) return false;
    std::size_t pos = 0;
    while (pos < s.size()) {
        const std::size_t nl = s.find('\n', pos);
        if (nl == std::string_view::npos) return false;   // unterminated line
        const std::string_view line = s.substr(pos, nl - pos);
        const bool ok = line.empty() || line[0] == ':' || line.rfind("data:", 0) == 0 ||
                        line.rfind("event: ", 0) == 0 || line.rfind("id:", 0) == 0 ||
                        line.rfind("retry: ", 0) == 0;
        if (!ok) return false;
        pos = nl + 1;
    }
    return true;
}

}   // namespace

TEST_CASE("sse_format: single-line data is one data line and a blank line") {
    CHECK(event_bytes("hello") == "data: hello\n\n");
    CHECK(event_bytes("a:b") == "data: a:b\n\n");
}

TEST_CASE("sse_format: empty data still produces an event, written as a bare data:") {
    CHECK(event_bytes("") == "data:\n\n");
    const auto p = parse(event_bytes(""));
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].data.empty());
    CHECK(p.events[0].type == "message");
}

TEST_CASE("sse_format: LF, CRLF and CR each break a data line") {
    CHECK(event_bytes("a\nb") == "data: a\ndata: b\n\n");
    CHECK(event_bytes("a\r\nb") == "data: a\ndata: b\n\n");
    CHECK(event_bytes("a\rb") == "data: a\ndata: b\n\n");
    CHECK(event_bytes("a\r\nb\rc\nd") == "data: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST_CASE("sse_format: consecutive breaks give empty data lines; LF CR is two breaks") {
    CHECK(event_bytes("a\n\nb") == "data: a\ndata:\ndata: b\n\n");
    CHECK(event_bytes("a\r\r\nb") == "data: a\ndata:\ndata: b\n\n");
    CHECK(event_bytes("a\n\rb") == "data: a\ndata:\ndata: b\n\n");
    CHECK(event_bytes("a\r\n\r\nb") == "data: a\ndata:\ndata: b\n\n");
}

TEST_CASE("sse_format: leading and trailing breaks give leading and trailing empty lines") {
    CHECK(event_bytes("\nx") == "data:\ndata: x\n\n");
    CHECK(event_bytes("x\n") == "data: x\ndata:\n\n");
    CHECK(event_bytes("x\r\n") == "data: x\ndata:\n\n");
    CHECK(event_bytes("x\r") == "data: x\ndata:\n\n");
    CHECK(event_bytes("\n") == "data:\ndata:\n\n");
    CHECK(event_bytes("\r\n") == "data:\ndata:\n\n");
    CHECK(event_bytes("\r") == "data:\ndata:\n\n");
    CHECK(event_bytes("\n\n") == "data:\ndata:\ndata:\n\n");
}

TEST_CASE("sse_format: each field alone") {
    CHECK(event_bytes("d", "tick") == "event: tick\ndata: d\n\n");
    CHECK(event_bytes("d", {}, "42") == "id: 42\ndata: d\n\n");
    CHECK(event_bytes("d", {}, {}, 1500) == "retry: 1500\ndata: d\n\n");
}

TEST_CASE("sse_format: fields come in the order event, id, retry, data") {
    CHECK(event_bytes("x\ny", "chat", "7", 3000) ==
          "event: chat\nid: 7\nretry: 3000\ndata: x\ndata: y\n\n");
}

TEST_CASE("sse_format: an empty id is written only when has_id is set, and resets the id") {
    CHECK(event_bytes("d", {}, {}, -1, false) == "data: d\n\n");
    CHECK(event_bytes("d", {}, {}, -1, true) == "id:\ndata: d\n\n");
    CHECK(event_bytes("d", {}, "5", -1, true) == "id: 5\ndata: d\n\n");

    const auto p = parse(event_bytes("one", {}, "5") + event_bytes("two") +
                         event_bytes("three", {}, {}, -1, true));
    REQUIRE(p.events.size() == 3);
    CHECK(p.events[0].last_event_id == "5");
    CHECK(p.events[1].last_event_id == "5");    // the client keeps the last id
    CHECK(p.events[2].last_event_id.empty());   // until an empty id resets it
}

TEST_CASE("sse_format: an empty event name is omitted and reads as message") {
    CHECK(event_bytes("d", "") == "data: d\n\n");
}

TEST_CASE("sse_format: retry is decimal milliseconds, 0 included, omitted when negative") {
    CHECK(event_bytes("d", {}, {}, 0) == "retry: 0\ndata: d\n\n");
    CHECK(event_bytes("d", {}, {}, 9) == "retry: 9\ndata: d\n\n");
    CHECK(event_bytes("d", {}, {}, 10) == "retry: 10\ndata: d\n\n");
    CHECK(event_bytes("d", {}, {}, 86400000) == "retry: 86400000\ndata: d\n\n");
    CHECK(event_bytes("d", {}, {}, LLONG_MAX) == "retry: 9223372036854775807\ndata: d\n\n");
    CHECK(event_bytes("d", {}, {}, -1) == "data: d\n\n");
    CHECK(event_bytes("d", {}, {}, LLONG_MIN) == "data: d\n\n");
    CHECK(parse(event_bytes("d", {}, {}, 0)).reconnection_time == 0);
    CHECK(parse(event_bytes("d", {}, {}, 86400000)).reconnection_time == 86400000);
    CHECK(parse(event_bytes("d", {}, {}, LLONG_MAX - 1)).reconnection_time == LLONG_MAX - 1);
    CHECK(parse(event_bytes("d", {}, {}, LLONG_MAX)).reconnection_time == LLONG_MAX);
}

TEST_CASE("sse_format: event or id with CR, LF or NUL is rejected and leaves out untouched") {
    const std::string_view bad[] = {"a\rb"sv, "a\nb"sv, "a\0b"sv, "\r"sv,
                                    "\n"sv,   "\0"sv,   "x\r\n"sv};
    for (const std::string_view v : bad) {
        CAPTURE(v.size());
        CHECK_FALSE(sse::is_valid_event_field(v));
        std::string out = "previous";
        const std::string before = out;
        CHECK(sse::format_event(out, "d", v) == wisp::errc::invalid_event_field);
        CHECK(out == before);
        CHECK(sse::format_event(out, "d", {}, v) == wisp::errc::invalid_event_field);
        CHECK(out == before);
        CHECK(sse::format_event(out, "d", "ok", v, 10, true) == wisp::errc::invalid_event_field);
        CHECK(out == before);
        CHECK(sse::format_event_chunk(out, "d", v) == wisp::errc::invalid_event_field);
        CHECK(out == before);
    }
    CHECK(sse::is_valid_event_field(""));
    CHECK(sse::is_valid_event_field(" spaced: \t colon \xE2\x9C\x93"));
}

TEST_CASE("sse_format: format_event appends and never clobbers earlier content") {
    std::string out = "HTTP/1.1 200 OK\r\n\r\n";
    CHECK_FALSE(sse::format_event(out, "one"));
    CHECK_FALSE(sse::format_event(out, "two\nlines", "e", "1", 5));
    CHECK(out ==
          "HTTP/1.1 200 OK\r\n\r\n"
          "data: one\n\n"
          "event: e\nid: 1\nretry: 5\ndata: two\ndata: lines\n\n");
}

TEST_CASE("sse_format: NUL inside data is written as is") {
    CHECK(event_bytes("a\0b"sv) == "data: a\0b\n\n"sv);
    const auto p = parse(event_bytes("a\0b"sv));
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].data == "a\0b"sv);
}

TEST_CASE("sse_format: comments prefix every line and dispatch nothing") {
    CHECK(comment_bytes("keep-alive") == ": keep-alive\n");
    CHECK(comment_bytes("") == ":\n");
    CHECK(comment_bytes("a\nb") == ": a\n: b\n");
    CHECK(comment_bytes("a\r\nb\rc") == ": a\n: b\n: c\n");
    CHECK(comment_bytes("a\n\nb\n") == ": a\n:\n: b\n:\n");

    const auto p = parse(comment_bytes("x\r\ny\n") + event_bytes("after"));
    CHECK(p.comments == std::vector<std::string>{" x", " y", ""});
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].data == "after");
}

TEST_CASE("sse_format: a comment between fields does not split the event") {
    std::string out = "event: e\n";
    CHECK_FALSE(sse::format_comment(out, "mid"));
    out += "data: d\n\n";
    const auto p = parse(out);
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].type == "e");
}

TEST_CASE("sse_format: tricky data round-trips exactly through a WHATWG parser") {
    const std::string_view table[] = {
        ""sv,
        " "sv,
        "  two leading spaces"sv,
        " leading space"sv,
        "trailing space "sv,
        ":"sv,
        ": looks like a comment"sv,
        "data: nested field"sv,
        "key: value: more"sv,
        "\n"sv,
        "\r\n"sv,
        "\r"sv,
        "x\n"sv,
        "x\r\n"sv,
        "x\r"sv,
        "\nx"sv,
        "\r\nx"sv,
        "\rx"sv,
        "\n\n\n"sv,
        "\r\r"sv,
        "\r\n\r\n"sv,
        "\n\r"sv,
        "a\r\r\nb"sv,
        "mixed\rline\nbreaks\r\nhere"sv,
        "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xF0\x9F\x98\x80"sv,   // non-ASCII UTF-8
        "\xEF\xBB\xBF"
        "BOM first"sv,
        "tab\there"sv,
        "nul\0inside"sv,
        "{\"user\":\"server\",\"message\":\"hi\"}"sv,
        "id: 3\nevent: x\nretry: 1"sv,
    };
    const std::string_view events[] = {""sv, "tick"sv, " spaced"sv, "\xC3\xA9v\xC3\xA9nement"sv};
    const std::string_view ids[] = {""sv, "1"sv, " 2 "sv, "a:b"sv};

    for (const std::string_view data : table) {
        for (const std::string_view event : events) {
            for (const std::string_view id : ids) {
                for (const bool has_id : {false, true}) {
                    CAPTURE(data);
                    CAPTURE(event);
                    CAPTURE(id);
                    CAPTURE(has_id);
                    const std::string bytes = event_bytes(data, event, id, 250, has_id);
                    CHECK(lines_are_well_formed(bytes));
                    const auto p = parse(bytes);
                    REQUIRE(p.events.size() == 1);
                    CHECK(p.events[0].data == support::sse_normalise_breaks(data));
                    CHECK(p.events[0].type == (event.empty() ? "message"sv : event));
                    CHECK(p.events[0].last_event_id == id);
                    CHECK(p.reconnection_time == 250);
                    CHECK(p.ignored.empty());
                }
            }
        }
    }
}

TEST_CASE("sse_format: round trip holds when the client reads one byte at a time") {
    const std::string bytes =
        event_bytes("a\r\nb\rc\n", "e", "9") + comment_bytes("c\r\n") + event_bytes("\r");
    support::SseParser p;
    for (const char c : bytes) p.feed(std::string_view(&c, 1));
    p.finish();
    REQUIRE(p.events.size() == 2);
    CHECK(p.events[0].data == "a\nb\nc\n");
    CHECK(p.events[1].data == "\n");
    CHECK(p.events[1].last_event_id == "9");
}

TEST_CASE("sse_format: formatted_size is exact for every shape") {
    CHECK(sse::formatted_size("") == 7);
    CHECK(sse::formatted_size("abc") == 11);
    CHECK(sse::formatted_size("a\nb") == 17);
    CHECK(sse::formatted_size("a\r\nb") == 17);
    CHECK(sse::formatted_size("d", "e", "", 0, true) ==
          "event: e\nid:\nretry: 0\ndata: d\n\n"sv.size());
    CHECK(sse::formatted_comment_size("") == 2);
    CHECK(sse::formatted_comment_size("ab\ncd") == 10);
}

TEST_CASE("sse_format: a long multi-line payload keeps every line in order") {
    std::string data;
    for (int i = 0; i < 1000; ++i) {
        data += std::to_string(i);
        data += (i % 3 == 0) ? "\n" : (i % 3 == 1) ? "\r\n" : "\r";
    }
    const std::string bytes = event_bytes(data);
    const auto p = parse(bytes);
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].data == support::sse_normalise_breaks(data));
    CHECK(p.lines == 1002);   // 1000 lines + the empty last one + the blank line
}

TEST_CASE("sse_format: chunk framing writes the size in hex with CRLFs") {
    struct Row {
        std::size_t size;
        const char* hex;
    };
    const Row rows[] = {{1, "1"},     {15, "f"},      {16, "10"},     {255, "ff"},
                        {256, "100"}, {4096, "1000"}, {65535, "ffff"}};
    for (const Row& row : rows) {
        CAPTURE(row.size);
        const std::string payload(row.size, 'x');
        std::string out = "keep";
        sse::append_chunk(out, payload);
        const std::string expected = std::string("keep") + row.hex + "\r\n" + payload + "\r\n";
        CHECK(out == expected);
        CHECK(sse::chunk_overhead(row.size) == std::string(row.hex).size() + 4);
    }
}

TEST_CASE("sse_format: an empty chunk payload writes nothing, never the last-chunk") {
    std::string out = "keep";
    sse::append_chunk(out, "");
    CHECK(out == "keep");
    CHECK(sse::chunk_overhead(0) == 0);
}

TEST_CASE("sse_format: format_event_chunk equals append_chunk of format_event") {
    const std::string_view datas[] = {""sv, "x"sv, "multi\nline\r\ndata\r"sv};
    for (const std::string_view data : datas) {
        CAPTURE(data);
        std::string event = "prefix", chunk = "prefix";
        CHECK_FALSE(sse::format_event(event, data, "e", "", 100, true));
        CHECK_FALSE(sse::format_event_chunk(chunk, data, "e", "", 100, true));
        std::string expected = "prefix";
        sse::append_chunk(expected, std::string_view(event).substr(6));
        CHECK(chunk == expected);
    }
}

TEST_CASE("sse_format: a fresh buffer gets one exact reservation, not repeated doubling") {
    const std::string data(100000, 'z');
    std::string out;
    CHECK_FALSE(sse::format_event(out, data));
    CHECK(out.size() == data.size() + 8);
    CHECK(out.capacity() <= out.size() + 32);   // a standard library may round up a little
    std::string multi;
    CHECK_FALSE(sse::format_event(multi, data + "\n" + data, "e"));
    CHECK(multi.capacity() <= multi.size() + 32);
}
