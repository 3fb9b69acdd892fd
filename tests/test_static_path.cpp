// SPDX-License-Identifier: MIT
// Tests for wisp/detail/static_path.hpp: traversal shapes, index mapping, symlink escapes.
#include <wisp/detail/static_path.hpp>

#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using wisp::detail::PathCheck;

namespace {

PathCheck check(std::string_view raw) {
    std::string out;
    return wisp::detail::safe_relative_path(raw, out);
}

std::string relative(std::string_view raw) {
    std::string out;
    REQUIRE(wisp::detail::safe_relative_path(raw, out) == PathCheck::ok);
    return out;
}

// Every upper/lower-case spelling of the hex letters in `s` ("%2e" -> "%2e", "%2E").
std::vector<std::string> case_variants(const std::string& s) {
    std::vector<std::string> out{""};
    for (char c : s) {
        std::vector<std::string> next;
        for (const auto& prefix : out) {
            if (std::isalpha(static_cast<unsigned char>(c))) {
                next.push_back(prefix + static_cast<char>(std::tolower(c)));
                next.push_back(prefix + static_cast<char>(std::toupper(c)));
            } else {
                next.push_back(prefix + c);
            }
        }
        out = std::move(next);
    }
    return out;
}

// A fresh directory under the system temp dir, removed with its content at scope end.
struct TempDir {
    fs::path path;
    TempDir() {
        const auto tick = std::chrono::steady_clock::now().time_since_epoch().count();
        path = fs::temp_directory_path() / ("wisp_static_path_" + std::to_string(tick));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

}   // namespace

TEST_CASE("static_path: plain paths become relative paths") {
    CHECK(relative("css/site.css") == "css/site.css");
    CHECK(relative("/css/site.css") == "css/site.css");
    CHECK(relative("//css/site.css") == "css/site.css");
    CHECK(relative("a/b/c.txt") == "a/b/c.txt");
    CHECK(relative(".well-known/x") == ".well-known/x");
    CHECK(relative("a..b/c..") == "a..b/c..");
}

TEST_CASE("static_path: an empty path or a trailing slash names index.html") {
    CHECK(relative("") == "index.html");
    CHECK(relative("/") == "index.html");
    CHECK(relative("docs/") == "docs/index.html");
    CHECK(relative("/docs/api/") == "docs/api/index.html");
    CHECK(relative("docs%2F") == "docs/index.html");
}

TEST_CASE("static_path: segments are percent-decoded once") {
    CHECK(relative("my%20file.txt") == "my file.txt");
    CHECK(relative("caf%C3%A9.html") == "caf\xC3\xA9.html");
    CHECK(relative("a%2Fb.txt") == "a/b.txt");
    // Double encoding stays a literal name, which is simply not found on disk.
    CHECK(relative("%252e%252e/etc/passwd") == "%2e%2e/etc/passwd");
    CHECK(relative("%252E%252E%252Fsecret") == "%2E%2E%2Fsecret");
}

TEST_CASE("static_path: plain dot-dot traversal is forbidden") {
    CHECK(check("..") == PathCheck::not_found_or_forbidden);
    CHECK(check("../etc/passwd") == PathCheck::not_found_or_forbidden);
    CHECK(check("/../etc/passwd") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/../../etc/passwd") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/..") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/../") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/../b") == PathCheck::not_found_or_forbidden);
}

TEST_CASE("static_path: dot segments are forbidden") {
    CHECK(check(".") == PathCheck::not_found_or_forbidden);
    CHECK(check("./a") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/./b") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/.") == PathCheck::not_found_or_forbidden);
    CHECK(check("...") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/..../b") == PathCheck::not_found_or_forbidden);
    CHECK(check("%2e") == PathCheck::not_found_or_forbidden);
}

TEST_CASE("static_path: encoded dot-dot is forbidden in every case combination") {
    for (const std::string base : {"%2e%2e", ".%2e", "%2e."}) {
        for (const std::string& dots : case_variants(base)) {
            CAPTURE(dots);
            CHECK(check(dots) == PathCheck::not_found_or_forbidden);
            CHECK(check(dots + "/etc/passwd") == PathCheck::not_found_or_forbidden);
            CHECK(check("a/" + dots + "/" + dots + "/etc/passwd") ==
                  PathCheck::not_found_or_forbidden);
            CHECK(check("a/" + dots) == PathCheck::not_found_or_forbidden);
        }
    }
}

TEST_CASE("static_path: encoded separators around dot-dot are forbidden") {
    for (const std::string& sep : case_variants("%2f")) {
        CAPTURE(sep);
        CHECK(check(".." + sep + "etc/passwd") == PathCheck::not_found_or_forbidden);
        CHECK(check("a" + sep + ".." + sep + ".." + sep + "x") ==
              PathCheck::not_found_or_forbidden);
        CHECK(check("%2e%2e" + sep + "x") == PathCheck::not_found_or_forbidden);
        CHECK(check(sep + "etc/passwd") == PathCheck::not_found_or_forbidden);   // absolute
    }
}

TEST_CASE("static_path: backslashes are forbidden, raw or encoded") {
    CHECK(check("..\\etc\\passwd") == PathCheck::not_found_or_forbidden);
    CHECK(check("a\\b") == PathCheck::not_found_or_forbidden);
    CHECK(check("..%5cetc") == PathCheck::not_found_or_forbidden);
    CHECK(check("..%5Cetc") == PathCheck::not_found_or_forbidden);
    CHECK(check("%5c%5cserver%5cshare") == PathCheck::not_found_or_forbidden);
}

TEST_CASE("static_path: NUL and control bytes are forbidden") {
    CHECK(check("index.html%00.png") == PathCheck::not_found_or_forbidden);
    CHECK(check(std::string_view("a\0b", 3)) == PathCheck::not_found_or_forbidden);
    CHECK(check("a%0Ab") == PathCheck::not_found_or_forbidden);
    CHECK(check("a%7f") == PathCheck::not_found_or_forbidden);
}

TEST_CASE("static_path: drive and stream forms are forbidden") {
    CHECK(check("C:/Windows/win.ini") == PathCheck::not_found_or_forbidden);
    CHECK(check("c%3A/x") == PathCheck::not_found_or_forbidden);
    CHECK(check("file.txt:stream") == PathCheck::not_found_or_forbidden);
}

TEST_CASE("static_path: empty interior segments are forbidden, not collapsed") {
    CHECK(check("a//b") == PathCheck::not_found_or_forbidden);
    CHECK(check("a/%2Fb") == PathCheck::not_found_or_forbidden);
    CHECK(check("docs//") == PathCheck::not_found_or_forbidden);
}

TEST_CASE("static_path: malformed escapes are a bad request") {
    CHECK(check("%") == PathCheck::bad_request);
    CHECK(check("a%2") == PathCheck::bad_request);
    CHECK(check("%zz/x") == PathCheck::bad_request);
}

TEST_CASE("static_path: path_is_under compares whole elements") {
    using wisp::detail::path_is_under;
    CHECK(path_is_under("/srv/www/a.txt", "/srv/www"));
    CHECK(path_is_under("/srv/www/a.txt", "/srv/www/"));
    CHECK(path_is_under("/srv/www", "/srv/www"));
    CHECK_FALSE(path_is_under("/srv/www2/a.txt", "/srv/www"));
    CHECK_FALSE(path_is_under("/srv", "/srv/www"));
    CHECK_FALSE(path_is_under("/etc/passwd", "/srv/www"));
}

TEST_CASE("static_path: resolve_under joins inside the root") {
    TempDir tmp;
    fs::create_directories(tmp.path / "css");
    touch(tmp.path / "css" / "site.css");
    const auto root = fs::canonical(tmp.path);

    auto p = wisp::detail::resolve_under(tmp.path, "css/site.css");
    REQUIRE(p);
    CHECK(*p == root / "css" / "site.css");

    auto missing = wisp::detail::resolve_under(tmp.path, "css/missing.css");   // not checked
    REQUIRE(missing);
    CHECK(*missing == root / "css" / "missing.css");
}

TEST_CASE("static_path: resolve_under refuses paths that leave the root") {
    TempDir tmp;
    fs::create_directories(tmp.path / "www");
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "www", "../secret.txt"));
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "www", "a/../../secret.txt"));
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "www", "/etc/passwd"));
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "no-such-root", "index.html"));
}

TEST_CASE("static_path: resolve_under refuses a symlink escaping the root") {
    TempDir tmp;
    fs::create_directories(tmp.path / "www");
    fs::create_directories(tmp.path / "secret");
    touch(tmp.path / "secret" / "key.pem");
    touch(tmp.path / "www" / "ok.txt");
    std::error_code ec;
    fs::create_directory_symlink(tmp.path / "secret", tmp.path / "www" / "escape", ec);
    fs::create_symlink(tmp.path / "secret" / "key.pem", tmp.path / "www" / "key.pem", ec);
    fs::create_symlink(tmp.path / "www" / "ok.txt", tmp.path / "www" / "inside.txt", ec);
    if (ec) {
        MESSAGE("symlinks unavailable here: " << ec.message());
        return;
    }
    std::string rel;
    REQUIRE(wisp::detail::safe_relative_path("escape/key.pem", rel) == PathCheck::ok);
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "www", rel));
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "www", "key.pem"));
    CHECK_FALSE(wisp::detail::resolve_under(tmp.path / "www", "escape/missing"));

    auto inside = wisp::detail::resolve_under(tmp.path / "www", "inside.txt");
    REQUIRE(inside);
    CHECK(*inside == fs::canonical(tmp.path / "www" / "ok.txt"));
}

TEST_CASE("static_path: a root given through a symlink still works") {
    TempDir tmp;
    fs::create_directories(tmp.path / "real");
    touch(tmp.path / "real" / "index.html");
    std::error_code ec;
    fs::create_directory_symlink(tmp.path / "real", tmp.path / "link", ec);
    if (ec) return;
    auto p = wisp::detail::resolve_under(tmp.path / "link", "index.html");
    REQUIRE(p);
    CHECK(*p == fs::canonical(tmp.path / "real" / "index.html"));
}
