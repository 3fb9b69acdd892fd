// SPDX-License-Identifier: MIT
// Tests for wisp/detail/url.hpp and wisp/detail/mime.hpp.
#include <wisp/detail/mime.hpp>
#include <wisp/detail/url.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wd = wisp::detail;

namespace {

std::optional<std::string> decode(std::string_view in, bool plus_as_space = false) {
    std::string out;
    if (!wd::percent_decode(in, out, plus_as_space)) return std::nullopt;
    return out;
}

std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view q) {
    std::vector<std::pair<std::string, std::string>> out;
    wd::parse_query(q, [&](std::string name, std::string value) {
        out.emplace_back(std::move(name), std::move(value));
    });
    return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

}   // namespace

TEST_CASE("url: percent_decode decodes escapes of either case") {
    CHECK(decode("") == "");
    CHECK(decode("plain") == "plain");
    CHECK(decode("a%20b") == "a b");
    CHECK(decode("%2f%2F") == "//");
    CHECK(decode("%C3%A9") == "\xC3\xA9");
    CHECK(decode("%c3%a9") == "\xC3\xA9");
    CHECK(decode("%00") == std::string(1, '\0'));
    CHECK(decode("%ff") == "\xff");
    CHECK(decode("100%25") == "100%");
}

TEST_CASE("url: percent_decode decodes once") { CHECK(decode("%252e") == "%2e"); }

TEST_CASE("url: percent_decode turns '+' into a space only when asked") {
    CHECK(decode("a+b") == "a+b");
    CHECK(decode("a+b", true) == "a b");
    CHECK(decode("a%2Bb", true) == "a+b");
}

TEST_CASE("url: percent_decode rejects malformed escapes") {
    CHECK_FALSE(decode("%"));
    CHECK_FALSE(decode("%4"));
    CHECK_FALSE(decode("%zz"));
    CHECK_FALSE(decode("%4g"));
    CHECK_FALSE(decode("%g4"));
    CHECK_FALSE(decode("abc%"));
    CHECK_FALSE(decode("abc%2"));
    CHECK_FALSE(decode("%%41"));
}

TEST_CASE("url: percent_decode never grows its input") {
    for (std::string_view in : {"%41%42", "+++", "abc", "%2", "%e2%82%ac"}) {
        std::string out;
        (void)wd::percent_decode(in, out, true);
        CHECK(out.size() <= in.size());
    }
}

TEST_CASE("url: percent_decode_lenient keeps malformed escapes literally") {
    std::string out;
    wd::percent_decode_lenient("a%zz%20b%", out, false);
    CHECK(out == "a%zz b%");
    wd::percent_decode_lenient("%4+%41", out, true);
    CHECK(out == "%4 A");
}

TEST_CASE("url: needs_decoding") {
    CHECK_FALSE(wd::needs_decoding("/plain/path"));
    CHECK(wd::needs_decoding("/a%20b"));
    CHECK_FALSE(wd::needs_decoding("a+b"));
    CHECK(wd::needs_decoding("a+b", true));
}

TEST_CASE("url: decoded_equals compares while decoding") {
    CHECK(wd::decoded_equals("caf%C3%A9", "caf\xC3\xA9"));
    CHECK(wd::decoded_equals("a%2fb", "a/b"));
    CHECK(wd::decoded_equals("", ""));
    CHECK_FALSE(wd::decoded_equals("a%2fb", "a/bc"));
    CHECK_FALSE(wd::decoded_equals("a%2fbc", "a/b"));
    CHECK_FALSE(wd::decoded_equals("a%zz", "a%zz"));
    CHECK_FALSE(wd::decoded_equals("a+b", "a b"));
}

TEST_CASE("url: parse_query handles every pair shape") {
    CHECK(query_pairs("") == Pairs{});
    CHECK(query_pairs("a=1") == Pairs{{"a", "1"}});
    CHECK(query_pairs("a&b=&=c&a=1") == Pairs{{"a", ""}, {"b", ""}, {"a", "1"}});
    CHECK(query_pairs("&&a=1&&") == Pairs{{"a", "1"}});
    CHECK(query_pairs("x=a=b") == Pairs{{"x", "a=b"}});
    CHECK(query_pairs("=") == Pairs{});
}

TEST_CASE("url: parse_query decodes names and values, '+' as space") {
    CHECK(query_pairs("q=hello+world&n%61me=%C3%A9") ==
          Pairs{{"q", "hello world"}, {"name", "\xC3\xA9"}});
    CHECK(query_pairs("plus=%2B") == Pairs{{"plus", "+"}});
    CHECK(query_pairs("amp=%26&eq=%3D") == Pairs{{"amp", "&"}, {"eq", "="}});
}

TEST_CASE("url: parse_query keeps malformed escapes literally") {
    CHECK(query_pairs("a=%zz&b=50%&c%=1") == Pairs{{"a", "%zz"}, {"b", "50%"}, {"c%", "1"}});
}

TEST_CASE("url: query_value returns the first match") {
    CHECK(wd::query_value("a=1&b=2&a=3", "a") == "1");
    CHECK(wd::query_value("a=1&b=2&a=3", "b") == "2");
    CHECK(wd::query_value("a=1", "c") == std::nullopt);
    CHECK(wd::query_value("flag&x=1", "flag") == "");
    CHECK(wd::query_value("n%61me=v+w", "name") == "v w");
    CHECK(wd::query_value("count=10", "coun") == std::nullopt);
    CHECK(wd::query_value("", "a") == std::nullopt);
}

TEST_CASE("url: split_target separates path, query and fragment") {
    std::string_view path, query;
    wd::split_target("/a/b?x=1&y=2", path, query);
    CHECK(path == "/a/b");
    CHECK(query == "x=1&y=2");
    wd::split_target("/a/b", path, query);
    CHECK(path == "/a/b");
    CHECK(query.empty());
    wd::split_target("/a?", path, query);
    CHECK(path == "/a");
    CHECK(query.empty());
    wd::split_target("/a?q=1#frag", path, query);
    CHECK(path == "/a");
    CHECK(query == "q=1");
    wd::split_target("/a#frag?not=query", path, query);
    CHECK(path == "/a");
    CHECK(query.empty());
    wd::split_target("/a?x=?y", path, query);
    CHECK(path == "/a");
    CHECK(query == "x=?y");
}

TEST_CASE("url: split_target takes an absolute-form target apart") {
    // RFC 9112 §3.2.2: scheme "://" authority, then the path and query a server routes by.
    wd::TargetParts t = wd::split_target("http://example.com:8080/a/b?x=1#frag");
    CHECK(t.form == wd::TargetForm::absolute);
    CHECK(t.scheme == "http");
    CHECK(t.authority == "example.com:8080");
    CHECK(t.path == "/a/b");
    CHECK(t.query == "x=1");
    // RFC 9110 §4.2.3: an empty path is "/".
    t = wd::split_target("HTTPS://Example.com");
    CHECK(t.form == wd::TargetForm::absolute);
    CHECK(t.scheme == "HTTPS");
    CHECK(t.authority == "Example.com");
    CHECK(t.path == "/");
    CHECK(t.query.empty());
    t = wd::split_target("http://h?q=/x");
    CHECK(t.authority == "h");
    CHECK(t.path == "/");
    CHECK(t.query == "q=/x");
    t = wd::split_target("http://[::1]:80/");
    CHECK(t.authority == "[::1]:80");
    CHECK(t.path == "/");
    t = wd::split_target("http:///x");
    CHECK(t.form == wd::TargetForm::absolute);
    CHECK(t.authority.empty());
    CHECK(t.path == "/x");
    // RFC 3986 §3.1: a scheme is a letter, then letters, digits, '+', '-', '.'.
    CHECK(wd::split_target("a1+b-c.d://h/x").form == wd::TargetForm::absolute);
    CHECK(wd::split_target("1a://h/x").form == wd::TargetForm::authority);
    CHECK(wd::split_target("://h/x").form == wd::TargetForm::authority);
    // The reduced form gives the same path and query.
    std::string_view path, query;
    wd::split_target("http://h/p?q", path, query);
    CHECK(path == "/p");
    CHECK(query == "q");
}

TEST_CASE("url: split_target tells the origin, asterisk and authority forms") {
    wd::TargetParts t = wd::split_target("/http://x?y");
    CHECK(t.form == wd::TargetForm::origin);
    CHECK(t.path == "/http://x");
    CHECK(t.query == "y");
    CHECK(t.authority.empty());
    t = wd::split_target("*");
    CHECK(t.form == wd::TargetForm::asterisk);
    CHECK(t.path == "*");
    CHECK(wd::split_target("*x").form == wd::TargetForm::authority);
    t = wd::split_target("example.com:443");
    CHECK(t.form == wd::TargetForm::authority);
    CHECK(t.path == "example.com:443");
    CHECK(t.authority.empty());
}

TEST_CASE("mime: types by extension, case-insensitive") {
    using wd::mime_type;
    CHECK(mime_type("index.html") == "text/html; charset=utf-8");
    CHECK(mime_type("INDEX.HTM") == "text/html; charset=utf-8");
    CHECK(mime_type("css/site.css") == "text/css; charset=utf-8");
    CHECK(mime_type("app.js") == "text/javascript; charset=utf-8");
    CHECK(mime_type("mod.MJS") == "text/javascript; charset=utf-8");
    CHECK(mime_type("data.json") == "application/json");
    CHECK(mime_type("app.js.map") == "application/json");
    CHECK(mime_type("notes.txt") == "text/plain; charset=utf-8");
    CHECK(mime_type("logo.svg") == "image/svg+xml");
    CHECK(mime_type("a.png") == "image/png");
    CHECK(mime_type("a.jpg") == "image/jpeg");
    CHECK(mime_type("a.JPEG") == "image/jpeg");
    CHECK(mime_type("a.gif") == "image/gif");
    CHECK(mime_type("a.webp") == "image/webp");
    CHECK(mime_type("favicon.ico") == "image/x-icon");
    CHECK(mime_type("m.wasm") == "application/wasm");
    CHECK(mime_type("doc.pdf") == "application/pdf");
    CHECK(mime_type("feed.xml") == "application/xml");
    CHECK(mime_type("v.mp4") == "video/mp4");
    CHECK(mime_type("v.webm") == "video/webm");
    CHECK(mime_type("f.woff") == "font/woff");
    CHECK(mime_type("f.woff2") == "font/woff2");
    CHECK(mime_type("t.csv") == "text/csv; charset=utf-8");
    CHECK(mime_type("README.md") == "text/markdown; charset=utf-8");
}

TEST_CASE("mime: bare extensions and unknown names") {
    using wd::mime_type;
    CHECK(mime_type("css") == "text/css; charset=utf-8");
    CHECK(mime_type(".png") == "image/png");
    CHECK(mime_type("") == "application/octet-stream");
    CHECK(mime_type("archive.tar.gz") == "application/octet-stream");
    CHECK(mime_type("file.") == "application/octet-stream");
    CHECK(mime_type("dir.html/file") == "application/octet-stream");
    CHECK(mime_type("dir/html") == "application/octet-stream");
    CHECK(mime_type("a.htmlx") == "application/octet-stream");
}
