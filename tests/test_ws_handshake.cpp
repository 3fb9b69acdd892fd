// SPDX-License-Identifier: MIT
// Tests for wisp/detail/ws_handshake.hpp: SHA-1 against the FIPS 180 examples, base64
// against RFC 4648 §10, the RFC 6455 §1.3 accept key, token lists, and check_handshake rule
// by rule.
#include <wisp/detail/ws_handshake.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace d = wisp::detail;
using d::HandshakeResult;

std::string hex(const std::array<std::uint8_t, 20>& digest) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : digest) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string b64(std::string_view s) {
    return d::base64_encode(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

const char* result_name(HandshakeResult r) {
    switch (r) {
        case HandshakeResult::ok:
            return "ok";
        case HandshakeResult::not_upgrade:
            return "not_upgrade";
        case HandshakeResult::bad_request:
            return "bad_request";
        case HandshakeResult::version_unsupported:
            return "version_unsupported";
    }
    return "?";
}

// A request as the HTTP layer would present it: lower-case names, one value each.
struct Request {
    std::string method = "GET";
    int major = 1, minor = 1;
    std::map<std::string, std::string> headers = {
        {"host", "example.com"},         {"upgrade", "websocket"},
        {"connection", "Upgrade"},       {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
        {"sec-websocket-version", "13"},
    };
    std::vector<std::string> asked;       // names get() was called with
    std::deque<std::string_view> views;   // what get() returned pointers to (stable addresses)

    std::string check(std::string_view* key_out = nullptr) {
        const HandshakeResult r = d::check_handshake(
            method, major, minor,
            [this](std::string_view name) -> const std::string_view* {
                asked.emplace_back(name);
                auto it = headers.find(std::string(name));
                if (it == headers.end()) return nullptr;
                views.push_back(it->second);
                return &views.back();
            },
            key_out);
        return result_name(r);
    }
};

}   // namespace

TEST_CASE("ws_handshake: SHA-1 matches the FIPS 180 examples") {
    CHECK(hex(d::sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex(d::sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(hex(d::sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    CHECK(hex(d::sha1("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                      "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")) ==
          "a49b2446a02c645bf419f995b67091253a04a259");
    const std::string million(1000000, 'a');
    CHECK(hex(d::sha1(million)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("ws_handshake: streaming SHA-1 equals one-shot for every split and padding length") {
    std::string msg;
    for (int i = 0; i < 200; ++i) msg += static_cast<char>(i * 37 + 11);
    for (std::size_t len = 0; len <= msg.size(); ++len) {
        const std::string_view m(msg.data(), len);
        const auto whole = d::sha1(m);
        d::Sha1 h;
        for (std::size_t i = 0; i < len; i += 7) h.update(m.substr(i, 7));
        CHECK(h.finish() == whole);
        // finish() resets: the object can be reused.
        h.update(m);
        CHECK(h.finish() == whole);
    }
    // 55, 56, 63, 64 bytes: the padding boundaries.
    CHECK(hex(d::sha1(std::string(55, 'a'))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    CHECK(hex(d::sha1(std::string(56, 'a'))) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    CHECK(hex(d::sha1(std::string(64, 'a'))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST_CASE("ws_handshake: base64 matches RFC 4648 section 10") {
    CHECK(b64("") == "");
    CHECK(b64("f") == "Zg==");
    CHECK(b64("fo") == "Zm8=");
    CHECK(b64("foo") == "Zm9v");
    CHECK(b64("foob") == "Zm9vYg==");
    CHECK(b64("fooba") == "Zm9vYmE=");
    CHECK(b64("foobar") == "Zm9vYmFy");
    CHECK(b64("\xfb\xff\xbf") == "+/+/");
    for (std::size_t n = 0; n < 40; ++n)
        CHECK(b64(std::string(n, 'x')).size() == d::base64_encoded_size(n));
}

TEST_CASE("ws_handshake: accept key of RFC 6455 section 1.3") {
    CHECK(d::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char out[28];
    d::accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    CHECK(std::string_view(out, 28) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // Another key, its accept value computed with Python's hashlib and base64.
    CHECK(d::accept_key("x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST_CASE("ws_handshake: Sec-WebSocket-Key must be base64 of exactly 16 bytes") {
    CHECK(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZQ=="));
    CHECK(d::base64_decoded_size_is_16("AAAAAAAAAAAAAAAAAAAAAA=="));
    CHECK(d::base64_decoded_size_is_16("++++++++++++++++++++//=="));
    CHECK(d::base64_decoded_size_is_16(b64("0123456789abcdef")));
    CHECK_FALSE(d::base64_decoded_size_is_16(b64("0123456789abcde")));     // 15 bytes
    CHECK_FALSE(d::base64_decoded_size_is_16(b64("0123456789abcdefg")));   // 17 bytes
    CHECK_FALSE(d::base64_decoded_size_is_16(b64("0123456789abcdef0123")));
    CHECK_FALSE(d::base64_decoded_size_is_16(""));
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZQ="));     // 23 chars
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZQ==="));   // 25 chars
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZQAA"));    // no padding
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZ==="));    // 21 + 3 pads
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25j=Q=="));    // pad inside
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZ-=="));    // URL alphabet
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZ_=="));
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBs ZSBub25jZQ=="));
    CHECK_FALSE(d::base64_decoded_size_is_16(std::string_view("dGhlIHNhbXBsZSBub25jZ\0==", 24)));
    CHECK_FALSE(d::base64_decoded_size_is_16("dGhlIHNhbXBsZSBub25jZ\xc3=="));
}

TEST_CASE("ws_handshake: header_has_token splits on commas, trims OWS, ignores case") {
    CHECK(d::header_has_token("Upgrade", "upgrade"));
    CHECK(d::header_has_token("keep-alive, Upgrade", "upgrade"));
    CHECK(d::header_has_token("keep-alive,Upgrade", "upgrade"));
    CHECK(d::header_has_token("Upgrade, keep-alive", "upgrade"));
    CHECK(d::header_has_token(" \tUPGRADE\t ", "upgrade"));
    CHECK(d::header_has_token("a,,\t, upgrade ,", "upgrade"));
    CHECK(d::header_has_token("WebSocket", "websocket"));
    CHECK_FALSE(d::header_has_token("", "upgrade"));
    CHECK_FALSE(d::header_has_token("keep-alive", "upgrade"));
    CHECK_FALSE(d::header_has_token("upgrades", "upgrade"));
    CHECK_FALSE(d::header_has_token("no-upgrade", "upgrade"));
    CHECK_FALSE(d::header_has_token("up grade", "upgrade"));
    CHECK_FALSE(d::header_has_token("websocket/13", "websocket"));
    CHECK_FALSE(d::header_has_token("\"upgrade\"", "upgrade"));
}

TEST_CASE("ws_handshake: parse_token_list yields trimmed, non-empty elements") {
    std::vector<std::string> got;
    d::parse_token_list(" chat, superchat ,,\tv2.json\t,",
                        [&](std::string_view t) { got.emplace_back(t); });
    CHECK(got == std::vector<std::string>{"chat", "superchat", "v2.json"});
    got.clear();
    d::parse_token_list("", [&](std::string_view t) { got.emplace_back(t); });
    d::parse_token_list(" , ,", [&](std::string_view t) { got.emplace_back(t); });
    CHECK(got.empty());
    d::parse_token_list("one", [&](std::string_view t) { got.emplace_back(t); });
    CHECK(got == std::vector<std::string>{"one"});
}

TEST_CASE("ws_handshake: a valid request is ok and yields the key") {
    Request req;
    std::string_view key;
    CHECK(req.check(&key) == std::string("ok"));
    CHECK(key == "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK(d::accept_key(key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    for (const std::string& name : req.asked) {
        for (char c : name) CHECK_FALSE((c >= 'A' && c <= 'Z'));   // names asked in lower case
    }
    Request quiet;
    CHECK(quiet.check(nullptr) == std::string("ok"));   // key_out is optional
}

TEST_CASE("ws_handshake: list and case variants are accepted") {
    const std::vector<std::map<std::string, std::string>> variants = {
        {{"upgrade", "WebSocket"}},
        {{"upgrade", "WEBSOCKET"}},
        {{"upgrade", "h2c, websocket"}},
        {{"connection", "keep-alive, Upgrade"}},
        {{"connection", "keep-alive,\tupgrade"}},
        {{"connection", "UPGRADE"}},
        {{"connection", "Upgrade, HTTP2-Settings"}},
        {{"sec-websocket-version", " 13\t"}},
        {{"sec-websocket-key", " dGhlIHNhbXBsZSBub25jZQ==\t"}},
    };
    for (const auto& change : variants) {
        Request req;
        for (const auto& kv : change) req.headers[kv.first] = kv.second;
        CAPTURE(change.begin()->second);
        std::string_view key;
        CHECK(req.check(&key) == std::string("ok"));
        CHECK(key == "dGhlIHNhbXBsZSBub25jZQ==");
    }
    Request later;
    later.minor = 2;
    CHECK(later.check() == std::string("ok"));
    Request two;
    two.major = 2;
    two.minor = 0;
    CHECK(two.check() == std::string("ok"));
}

TEST_CASE("ws_handshake: no Upgrade: websocket means a plain HTTP request") {
    Request none;
    none.headers.erase("upgrade");
    CHECK(none.check() == std::string("not_upgrade"));
    Request h2c;
    h2c.headers["upgrade"] = "h2c";
    CHECK(h2c.check() == std::string("not_upgrade"));
    Request post;   // not a WebSocket attempt, so the method does not matter
    post.method = "POST";
    post.headers.erase("upgrade");
    CHECK(post.check() == std::string("not_upgrade"));
    Request empty;
    empty.headers["upgrade"] = "";
    CHECK(empty.check() == std::string("not_upgrade"));
}

TEST_CASE("ws_handshake: method, HTTP version and Connection are checked (400)") {
    for (const char* method : {"POST", "HEAD", "get", "PUT", ""}) {
        Request req;
        req.method = method;
        CHECK(req.check() == std::string("bad_request"));
    }
    Request http10;
    http10.minor = 0;
    CHECK(http10.check() == std::string("bad_request"));
    Request http09;
    http09.major = 0;
    http09.minor = 9;
    CHECK(http09.check() == std::string("bad_request"));
    Request no_conn;
    no_conn.headers.erase("connection");
    CHECK(no_conn.check() == std::string("bad_request"));
    Request keep_alive;
    keep_alive.headers["connection"] = "keep-alive";
    CHECK(keep_alive.check() == std::string("bad_request"));
    Request close;
    close.headers["connection"] = "close";
    CHECK(close.check() == std::string("bad_request"));
}

TEST_CASE("ws_handshake: bad or missing keys are rejected (400)") {
    for (const char* key :
         {"", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
          "MDEyMzQ1Njc4OWFiY2Rl",       // 15 bytes
          "MDEyMzQ1Njc4OWFiY2RlZmc=",   // 17 bytes
          "dGhlIHNhbXBsZSBub25jZQ!!", "dGhlIHNhbXBsZSBub2 5jZQ==", "dGhlIHNhbXBsZSBub25jZ-=="}) {
        CAPTURE(key);
        Request req;
        req.headers["sec-websocket-key"] = key;
        std::string_view out = "untouched";
        CHECK(req.check(&out) == std::string("bad_request"));
        CHECK(out == "untouched");
    }
    Request missing;
    missing.headers.erase("sec-websocket-key");
    CHECK(missing.check() == std::string("bad_request"));
}

TEST_CASE("ws_handshake: any version but 13 gets 426") {
    for (const char* version : {"8", "14", "12", "7", "", "13, 8", "013", "13.0", "thirteen"}) {
        CAPTURE(version);
        Request req;
        req.headers["sec-websocket-version"] = version;
        CHECK(req.check() == std::string("version_unsupported"));
    }
    Request missing;
    missing.headers.erase("sec-websocket-version");
    CHECK(missing.check() == std::string("version_unsupported"));
    // An older draft without a valid key still learns which version to speak.
    Request old;
    old.headers["sec-websocket-version"] = "8";
    old.headers.erase("sec-websocket-key");
    CHECK(old.check() == std::string("version_unsupported"));
}
