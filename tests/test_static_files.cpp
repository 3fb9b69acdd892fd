// SPDX-License-Identifier: MIT
// serve_file: content types, index.html, and every traversal spelling answering 404 — through
// App::fetch and once over a real socket (raw bytes, so no client normalises the path).
#include <doctest/doctest.h>
#include <wisp/app.hpp>
#include <wisp/static_files.hpp>

#include "support/net.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Tree {
    fs::path base = fs::temp_directory_path() / ("wisp-static-" + std::to_string(::getpid()));
    fs::path root = base / "public";
    bool escape_linked = true;   ///< public/escape -> base, a symlink out of the root
    Tree() {
        fs::remove_all(base);
        fs::create_directories(root / "css");
        fs::create_directories(root / "docs");
        write(root / "index.html", "<h1>home</h1>");
        write(root / "css" / "site.css", "body{}");
        write(root / "docs" / "index.html", "<p>docs</p>");
        write(root / fs::u8path("caf\xC3\xA9 menu.txt"), "menu");   // UTF-8, as URLs are
        write(root / "data.bin", std::string("\0\1\2\3", 4));
        write(root / "noext", "x");
        write(base / "secret.txt", "SECRET");   // beside root, never served
#ifdef _WIN32
        // MinGW's libstdc++ cannot create symlinks (ENOSYS): "escape" is then just missing.
        std::error_code ec;
        fs::create_directory_symlink(base, root / "escape", ec);
        escape_linked = !ec;
#else
        fs::create_directory_symlink(base, root / "escape");
#endif
    }
    ~Tree() { fs::remove_all(base); }
    static void write(const fs::path& p, const std::string& s) {
        std::ofstream(p, std::ios::binary) << s;
    }
};

wisp::App& make_app(wisp::App& app, const fs::path& root) {
    app.get("/static/**", [root](wisp::Request& r) { return wisp::serve_file(r, root); });
    app.get("/small/**", [root](wisp::Request& r) {
        wisp::StaticOptions o;
        o.max_file_bytes = 5;
        return wisp::serve_file(r, root, o);
    });
    return app;
}

}   // namespace

TEST_CASE("serve_file: files, content types, index.html, HEAD") {
    Tree t;
    wisp::App app;
    make_app(app, t.root);
    auto r = app.fetch(wisp::Request("GET", "/static/css/site.css"));
    CHECK(r.status == 200);
    CHECK(r.body == "body{}");
    CHECK(r.headers.get("content-type").value_or("") == "text/css; charset=utf-8");
    r = app.fetch(wisp::Request("GET", "/static/"));
    CHECK(r.body == "<h1>home</h1>");
    CHECK(r.headers.get("content-type").value_or("").substr(0, 9) == "text/html");
    r = app.fetch(wisp::Request("GET", "/static/docs/"));
    CHECK(r.body == "<p>docs</p>");
    r = app.fetch(wisp::Request("GET", "/static/caf%C3%A9%20menu.txt"));
    CHECK(r.status == 200);
    CHECK(r.body == "menu");
    r = app.fetch(wisp::Request("GET", "/static/data.bin"));
    CHECK(r.body == std::string("\0\1\2\3", 4));
    r = app.fetch(wisp::Request("GET", "/static/noext"));
    CHECK(r.headers.get("content-type").value_or("") == "application/octet-stream");
    r = app.fetch(wisp::Request("HEAD", "/static/css/site.css"));
    CHECK(r.status == 200);
    // A directory without its trailing slash and a missing file are 404, never a listing.
    CHECK(app.fetch(wisp::Request("GET", "/static/docs")).status == 404);
    CHECK(app.fetch(wisp::Request("GET", "/static/missing.txt")).status == 404);
    // Over the size cap: 413, nothing read.
    CHECK(app.fetch(wisp::Request("GET", "/small/css/site.css")).status == 413);
    CHECK(app.fetch(wisp::Request("GET", "/small/noext")).status == 200);
}

TEST_CASE("serve_file: traversal in every spelling is 404, malformed escapes 400") {
    Tree t;
    if (!t.escape_linked) MESSAGE("symlinks unavailable here: /static/escape/ is a missing path");
    wisp::App app;
    make_app(app, t.root);
    const char* attacks[] = {
        "/static/../secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/.%2e/secret.txt",
        "/static/css/../../secret.txt",
        "/static/css/%2e%2e/%2e%2e/secret.txt",
        "/static/..%5csecret.txt",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/escape/secret.txt",
        "/static/./index.html",
        "/static/css/..",
        "/static/c:%5cwindows",
        "/static/index.html%00.txt",
        "/static/%252e%252e/secret.txt",
    };
    for (const char* a : attacks) {
        CAPTURE(a);
        const auto r = app.fetch(wisp::Request("GET", a));
        CHECK(r.status == 404);
        CHECK(r.body.find("SECRET") == std::string::npos);
    }
    CHECK(app.fetch(wisp::Request("GET", "/static/%zz")).status == 400);
    CHECK(app.fetch(wisp::Request("GET", "/static/%2")).status == 400);
}

TEST_CASE("serve_file: raw traversal bytes over a real socket") {
    Tree t;
    wisp::App app;
    make_app(app, t.root);
    support::Server server(app);
    for (const char* target :
         {"/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2f..%2fsecret.txt"}) {
        CAPTURE(target);
        support::Client c(server.port());
        c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
        const std::string res = c.read_response();
        CHECK(support::status_of(res) == 404);
        CHECK(res.find("SECRET") == std::string::npos);
    }
    support::Client c(server.port());
    c.send("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string res = c.read_response();
    CHECK(support::status_of(res) == 200);
    CHECK(support::body_of(res) == "body{}");
}
