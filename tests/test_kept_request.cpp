// SPDX-License-Identifier: MIT
// Tests for wisp/detail/kept_request.hpp: a request packed for a WebSocket peer reads back the
// same as the request it was packed from.
#include <wisp/detail/kept_request.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wd = wisp::detail;

namespace {

/// A packed copy of `r` in storage of its own (as the session keeps it after itself).
struct Packed {
    std::unique_ptr<std::max_align_t[]> mem;
    const wd::KeptRequest* kept = nullptr;
    std::size_t bytes = 0;
};

Packed pack(const wisp::Request* r, std::string_view protocol = {}, std::string_view url = {}) {
    Packed p;
    p.bytes = sizeof(wd::KeptRequest) + wd::KeptRequest::packed_size(r, protocol, url);
    p.mem.reset(new std::max_align_t[p.bytes / sizeof(std::max_align_t) + 1]);
    p.kept = wd::KeptRequest::pack(p.mem.get(), r, protocol, url);
    return p;
}

wisp::Request unpack(const Packed& p) {
    wisp::Request out;
    p.kept->fill(out);
    return out;
}

void check_same(const wisp::Request& a, const wisp::Request& b) {
    CHECK(a.method() == b.method());
    CHECK(a.target() == b.target());
    CHECK(a.path() == b.path());
    CHECK(a.query_string() == b.query_string());
    CHECK(a.body() == b.body());
    CHECK(a.http_major() == b.http_major());
    CHECK(a.http_minor() == b.http_minor());
    CHECK(a.keep_alive() == b.keep_alive());
    REQUIRE(a.headers().size() == b.headers().size());
    for (std::size_t i = 0; i < a.headers().size(); ++i) {
        CHECK(a.headers()[i].name == b.headers()[i].name);
        CHECK(a.headers()[i].value == b.headers()[i].value);
    }
    REQUIRE(a.params().size() == b.params().size());
    for (std::size_t i = 0; i < a.params().size(); ++i) {
        CHECK(a.params()[i].name == b.params()[i].name);
        CHECK(a.params()[i].value == b.params()[i].value);
        CHECK(a.params()[i].raw == b.params()[i].raw);
    }
}

}   // namespace

TEST_CASE("kept request: a browser-like upgrade reads back the same, smaller than a copy") {
    wisp::Headers h;
    h.add("Host", "example.com:8080")
        .add("Connection", "Upgrade")
        .add("Pragma", "no-cache")
        .add("Upgrade", "websocket")
        .add("Origin", "https://example.com")
        .add("Sec-WebSocket-Version", "13")
        .add("Accept-Encoding", "gzip, deflate, br")
        .add("Cookie", "a=1; session=xyz")
        .add("cookie", "b=2")   // a repeated name, another case
        .add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .add("X-Empty", "");
    wisp::Request r("GET", "/chat/room%201?user=al%20ice&x", h);
    auto& params = wd::RequestBuilder::params(r);
    params.push_back(wisp::RouteParam{"room", "room 1", "room%201"});
    const Packed p = pack(&r, "chat.v2");
    REQUIRE(p.kept->has_request());
    CHECK(p.kept->protocol() == "chat.v2");
    CHECK(p.kept->url().empty());
    const wisp::Request back = unpack(p);
    check_same(back, r);
    // Lookups are case-insensitive and give the first of repeated fields.
    CHECK(back.header("cookie") == "a=1; session=xyz");
    CHECK(back.header("COOKIE") == "a=1; session=xyz");
    CHECK(back.header("sec-websocket-key") == "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK(back.header("x-empty") == "");
    CHECK(!back.header("x-missing"));
    CHECK(back.host() == "example.com:8080");
    CHECK(back.url() == "http://example.com:8080/chat/room%201?user=al%20ice&x");
    CHECK(back.query("user") == "al ice");
    CHECK(back.query("x") == "");
    CHECK(back.param("room") == "room 1");
    // The strings are kept once, short lengths in a byte, the common ones as codes.
    std::size_t copied = 0;
    for (const auto& f : h) copied += f.first.size() + f.second.size();
    copied += r.method().size() + r.target().size() + 7;
    CHECK(p.bytes < copied);
}

TEST_CASE("kept request: the views point into the packed bytes, not the original") {
    wisp::Request r("POST", "/ws?q=1", wisp::Headers{{"X-A", "1"}, {"x-a", "2"}}, "body!");
    const Packed p = pack(&r);
    const wisp::Request back = unpack(p);
    const char* lo = reinterpret_cast<const char*>(p.mem.get());
    const char* hi = lo + p.bytes;
    auto inside = [&](std::string_view v) { return v.data() >= lo && v.data() + v.size() <= hi; };
    CHECK(inside(back.method()));
    CHECK(inside(back.target()));
    CHECK(inside(back.body()));
    CHECK(inside(back.headers()[1].value));
    check_same(back, r);
    r = wisp::Request();   // the original goes; the packed copy still reads the same
    CHECK(back.header("X-A") == "1");
    CHECK(back.headers()[1].value == "2");
    CHECK(back.body() == "body!");
}

TEST_CASE("kept request: long heads; lengths of one byte below 128, five from 128") {
    SUBCASE("127, 128 and 0 bytes") {
        wisp::Request r("GET", "/" + std::string(126, 't'),
                        wisp::Headers{{std::string(127, 'n'), std::string(128, 'v')}, {"E", ""}});
        const Packed p = pack(&r, std::string(128, 'p'), std::string(127, 'u'));
        check_same(unpack(p), r);
        CHECK(p.kept->protocol() == std::string(128, 'p'));
        CHECK(p.kept->url() == std::string(127, 'u'));
        // Nine lengths, two of them long; "GET" is a code.
        CHECK(p.bytes == sizeof(wd::KeptRequest) + 9 + 2 * 4 + 128 + 127 + 127 + 127 + 128 + 1);
    }
    SUBCASE("many fields near the 16 KiB head limit") {
        wisp::Headers h;
        for (int i = 0; i < 100; ++i)
            h.add("X-Field-" + std::to_string(i),
                  std::string(150, static_cast<char>('a' + i % 26)));
        wisp::Request r("GET", "/" + std::string(1000, 'p'), h);
        const Packed p = pack(&r);
        check_same(unpack(p), r);
        CHECK(unpack(p).header("x-field-99") == std::string(150, 'v'));
    }
    SUBCASE("one value of 40 KiB") {
        const std::string big(40 * 1024, 'z');
        wisp::Request r("GET", "/ws", wisp::Headers{{"Host", "h"}, {"X-Big", big}, {"X-B", "1"}});
        const Packed p = pack(&r, "proto", {});
        check_same(unpack(p), r);
        CHECK(unpack(p).header("x-big") == big);
        CHECK(p.kept->protocol() == "proto");
    }
}

TEST_CASE("kept request: without a request it keeps the subprotocol and the URL only") {
    const Packed p = pack(nullptr, "", "ws://h/x");
    CHECK(!p.kept->has_request());
    CHECK(p.kept->protocol().empty());
    CHECK(p.kept->url() == "ws://h/x");
    wisp::Request out;
    p.kept->fill(out);
    CHECK(out.method().empty());
    CHECK(out.headers().empty());
}
