// SPDX-License-Identifier: MIT
// Tests for wisp/router.hpp: patterns, precedence, backtracking, 404/405, decoding.
#include <wisp/router.hpp>

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <ostream>   // doctest prints std::error_code values
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using wisp::RouteParam;
using wisp::RouteStatus;
using Router = wisp::BasicRouter<int>;

namespace {

struct Hit {
    RouteStatus status = RouteStatus::not_found;
    int target = -1;
    std::map<std::string, std::string> params;
    std::vector<std::string> order;   // capture names in the order match() gave them
    std::string allow;
    bool head_as_get = false;
};

Hit run(const Router& r, std::string_view method, std::string_view path) {
    std::vector<RouteParam> params;
    auto m = r.match(method, path, params);
    Hit h;
    h.status = m.status;
    h.target = m.target ? *m.target : -1;
    h.allow = m.allow;
    h.head_as_get = m.head_as_get;
    for (const auto& p : params) {
        h.params[std::string(p.name)] = p.value;
        h.order.emplace_back(p.name);
    }
    if (m.status != RouteStatus::found) CHECK(m.target == nullptr);
    return h;
}

void add(Router& r, std::string_view method, std::string_view pattern, int target) {
    const std::error_code ec = r.add(method, pattern, target);
    INFO(method << " " << pattern << ": " << ec.message());
    REQUIRE_FALSE(ec);
}

using Params = std::map<std::string, std::string>;

}   // namespace

TEST_CASE("router: static routes match exactly") {
    Router r;
    add(r, "GET", "/", 1);
    add(r, "GET", "/users", 2);
    add(r, "GET", "/users/list", 3);
    add(r, "GET", "/about", 4);
    CHECK(run(r, "GET", "/").target == 1);
    CHECK(run(r, "GET", "/users").target == 2);
    CHECK(run(r, "GET", "/users/list").target == 3);
    CHECK(run(r, "GET", "/about").target == 4);
    CHECK(run(r, "GET", "/user").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/users/list/x").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/Users").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "users").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "*").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/users").params.empty());
}

TEST_CASE("router: many static siblings are all found") {
    Router r;
    for (int i = 0; i < 100; ++i) add(r, "GET", "/s/k" + std::to_string(i * 7919 % 1000), i);
    for (int i = 0; i < 100; ++i)
        CHECK(run(r, "GET", "/s/k" + std::to_string(i * 7919 % 1000)).target == i);
    CHECK(run(r, "GET", "/s/k1001").status == RouteStatus::not_found);
}

TEST_CASE("router: :param captures one segment") {
    Router r;
    add(r, "GET", "/users/:id", 1);
    add(r, "GET", "/users/:id/posts/:post_id", 2);
    auto h = run(r, "GET", "/users/42");
    CHECK(h.target == 1);
    CHECK(h.params == Params{{"id", "42"}});
    h = run(r, "GET", "/users/7/posts/abc");
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"id", "7"}, {"post_id", "abc"}});
    CHECK(h.order == std::vector<std::string>{"id", "post_id"});
    CHECK(run(r, "GET", "/users").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/users/7/posts").status == RouteStatus::not_found);
}

TEST_CASE("router: :param and * never match an empty segment") {
    Router r;
    add(r, "GET", "/a/:x/b", 1);
    add(r, "GET", "/c/*/d", 2);
    CHECK(run(r, "GET", "/a//b").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/c//d").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/a/1/b").target == 1);
}

TEST_CASE("router: * captures one segment as _0, _1, ...") {
    Router r;
    add(r, "GET", "/files/*/*/raw", 1);
    add(r, "GET", "/mixed/:a/*/:b/*", 2);
    auto h = run(r, "GET", "/files/x/y/raw");
    CHECK(h.target == 1);
    CHECK(h.params == Params{{"_0", "x"}, {"_1", "y"}});
    h = run(r, "GET", "/mixed/1/2/3/4");
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"a", "1"}, {"_0", "2"}, {"b", "3"}, {"_1", "4"}});
    CHECK(h.order == std::vector<std::string>{"a", "_0", "b", "_1"});
    CHECK(run(r, "GET", "/files/x/raw").status == RouteStatus::not_found);
}

TEST_CASE("router: ** captures the rest, zero or more segments") {
    Router r;
    add(r, "GET", "/static/**", 1);
    add(r, "GET", "/docs/**:path", 2);
    auto h = run(r, "GET", "/static/css/site.css");
    CHECK(h.target == 1);
    CHECK(h.params == Params{{"_", "css/site.css"}});
    h = run(r, "GET", "/static/a");
    CHECK(h.params == Params{{"_", "a"}});
    h = run(r, "GET", "/docs/guide/intro");
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"path", "guide/intro"}});
}

TEST_CASE("router: ** matches an empty rest") {
    Router r;
    add(r, "GET", "/static/**", 1);
    for (std::string_view path : {"/static", "/static/"}) {
        CAPTURE(path);
        auto h = run(r, "GET", path);
        CHECK(h.target == 1);
        CHECK(h.params == Params{{"_", ""}});
    }
    CHECK(run(r, "GET", "/stat").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/staticx").status == RouteStatus::not_found);
}

TEST_CASE("router: /** matches everything, root included") {
    Router r;
    add(r, "GET", "/**", 1);
    CHECK(run(r, "GET", "/").params == Params{{"_", ""}});
    CHECK(run(r, "GET", "/a/b/c").params == Params{{"_", "a/b/c"}});
    CHECK(run(r, "GET", "/a//b").params == Params{{"_", "a//b"}});
}

TEST_CASE("router: ** keeps the raw rest, trailing slash and empty segments included") {
    Router r;
    add(r, "GET", "/s/**", 1);
    std::vector<RouteParam> params;
    auto m = r.match("GET", "/s/css/", params);
    REQUIRE(m.status == RouteStatus::found);
    REQUIRE(params.size() == 1);
    CHECK(params[0].raw == "css/");
    CHECK(params[0].value == "css/");
    m = r.match("GET", "/s/a//b%2Fc", params);
    REQUIRE(params.size() == 1);
    CHECK(params[0].raw == "a//b%2Fc");
    CHECK(params[0].value == "a//b/c");
}

TEST_CASE("router: precedence per segment is static > :param > * > **") {
    Router r;
    add(r, "GET", "/p/new", 1);
    add(r, "GET", "/p/:id", 2);
    add(r, "GET", "/p/*", 3);
    add(r, "GET", "/p/**", 4);
    CHECK(run(r, "GET", "/p/new").target == 1);
    CHECK(run(r, "GET", "/p/12").target == 2);
    CHECK(run(r, "GET", "/p/12/x").target == 4);
    CHECK(run(r, "GET", "/p").target == 4);

    Router s;   // registration order does not matter
    add(s, "GET", "/p/**", 4);
    add(s, "GET", "/p/*", 3);
    add(s, "GET", "/p/:id", 2);
    add(s, "GET", "/p/new", 1);
    CHECK(run(s, "GET", "/p/new").target == 1);
    CHECK(run(s, "GET", "/p/12").target == 2);
    CHECK(run(s, "GET", "/p/12/x").target == 4);

    Router t;
    add(t, "GET", "/q/*", 3);
    add(t, "GET", "/q/**", 4);
    CHECK(run(t, "GET", "/q/x").target == 3);
    CHECK(run(t, "GET", "/q/x").params == Params{{"_0", "x"}});
}

TEST_CASE("router: a route ending here beats ** with an empty rest") {
    Router r;
    add(r, "GET", "/a/**", 2);
    add(r, "GET", "/a", 1);
    CHECK(run(r, "GET", "/a").target == 1);
    CHECK(run(r, "GET", "/a/").target == 1);
    CHECK(run(r, "GET", "/a/b").target == 2);
}

TEST_CASE("router: backtracking from a failed static branch to the param branch") {
    Router r;
    add(r, "GET", "/users/me/settings", 1);
    add(r, "GET", "/users/:id/profile", 2);
    auto h = run(r, "GET", "/users/me/profile");
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"id", "me"}});
    h = run(r, "GET", "/users/me/settings");
    CHECK(h.target == 1);
    CHECK(h.params.empty());
    CHECK(run(r, "GET", "/users/you/settings").status == RouteStatus::not_found);
}

TEST_CASE("router: backtracking through several levels and to * and **") {
    Router r;
    add(r, "GET", "/a/b/c/d", 1);
    add(r, "GET", "/a/:x/c/e", 2);
    add(r, "GET", "/a/*/:y/f", 3);
    add(r, "GET", "/a/**", 4);
    CHECK(run(r, "GET", "/a/b/c/d").target == 1);
    auto h = run(r, "GET", "/a/b/c/e");
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"x", "b"}});
    h = run(r, "GET", "/a/b/c/f");
    CHECK(h.target == 3);
    CHECK(h.params == Params{{"_0", "b"}, {"y", "c"}});
    h = run(r, "GET", "/a/b/c/g");
    CHECK(h.target == 4);
    CHECK(h.params == Params{{"_", "b/c/g"}});   // captures of failed branches are dropped
}

TEST_CASE("router: method-aware fallback to a lower-precedence branch") {
    Router r;
    add(r, "GET", "/users/me", 1);
    add(r, "POST", "/users/:id", 2);
    CHECK(run(r, "GET", "/users/me").target == 1);
    auto h = run(r, "POST", "/users/me");
    CHECK(h.status == RouteStatus::found);
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"id", "me"}});
    h = run(r, "DELETE", "/users/me");
    CHECK(h.status == RouteStatus::method_not_allowed);
    CHECK(h.allow == "GET, HEAD, POST");
}

TEST_CASE("router: method-aware fallback reaches ** too") {
    Router r;
    add(r, "GET", "/api/health", 1);
    add(r, "", "/api/**", 2);
    CHECK(run(r, "GET", "/api/health").target == 1);
    CHECK(run(r, "POST", "/api/health").target == 2);
    CHECK(run(r, "POST", "/api/health").params == Params{{"_", "health"}});
}

TEST_CASE("router: several methods on one route") {
    Router r;
    add(r, "GET", "/items", 1);
    add(r, "POST", "/items", 2);
    add(r, "PURGE", "/items", 3);   // custom tokens are fine
    CHECK(run(r, "GET", "/items").target == 1);
    CHECK(run(r, "POST", "/items").target == 2);
    CHECK(run(r, "PURGE", "/items").target == 3);
    CHECK(run(r, "get", "/items").status == RouteStatus::method_not_allowed);   // case matters
}

TEST_CASE("router: 405 lists the methods of every route matching the path") {
    Router r;
    add(r, "POST", "/things/:id", 1);
    add(r, "PUT", "/things/special", 2);
    add(r, "DELETE", "/things/*", 3);
    add(r, "PATCH", "/things/**", 4);
    add(r, "GET", "/other", 5);
    add(r, "OPTIONS", "/things/special/deeper", 6);
    auto h = run(r, "GET", "/things/special");
    CHECK(h.status == RouteStatus::method_not_allowed);
    CHECK(h.allow == "DELETE, PATCH, POST, PUT");
    CHECK(h.params.empty());
    CHECK(r.allowed_methods("/things/special") == "DELETE, PATCH, POST, PUT");
    CHECK(r.allowed_methods("/things/x/y") == "PATCH");
    CHECK(r.allowed_methods("/nothing") == "");
}

TEST_CASE("router: 405 Allow is sorted, de-duplicated, and adds HEAD for GET") {
    Router r;
    add(r, "POST", "/x/:a", 1);
    add(r, "POST", "/x/*", 2);
    add(r, "GET", "/x/y", 3);
    add(r, "GET", "/x/:a/", 4 /* duplicate of nothing: different method */);
    auto h = run(r, "PUT", "/x/y");
    CHECK(h.status == RouteStatus::method_not_allowed);
    CHECK(h.allow == "GET, HEAD, POST");
    h = run(r, "PUT", "/x/z");
    CHECK(h.allow == "GET, HEAD, POST");
}

TEST_CASE("router: 404 when no route matches the path whatever the method") {
    Router r;
    add(r, "GET", "/a", 1);
    auto h = run(r, "GET", "/b");
    CHECK(h.status == RouteStatus::not_found);
    CHECK(h.allow.empty());
    CHECK_FALSE(r.matches_path("/b"));
    CHECK(r.matches_path("/a"));
    CHECK(r.matches_path("/a/"));
}

TEST_CASE("router: HEAD falls back to GET") {
    Router r;
    add(r, "GET", "/page", 1);
    add(r, "GET", "/both", 2);
    add(r, "HEAD", "/both", 3);
    auto h = run(r, "HEAD", "/page");
    CHECK(h.status == RouteStatus::found);
    CHECK(h.target == 1);
    CHECK(h.head_as_get);
    h = run(r, "HEAD", "/both");
    CHECK(h.target == 3);
    CHECK_FALSE(h.head_as_get);
    CHECK_FALSE(run(r, "GET", "/page").head_as_get);
}

TEST_CASE("router: HEAD prefers a GET route to an any-method route on the same node") {
    Router r;
    add(r, "", "/x", 1);
    add(r, "GET", "/x", 2);
    auto h = run(r, "HEAD", "/x");
    CHECK(h.target == 2);
    CHECK(h.head_as_get);
    CHECK(run(r, "POST", "/x").target == 1);
}

TEST_CASE("router: HEAD without GET or HEAD routes is 405 unless an any route exists") {
    Router r;
    add(r, "POST", "/p", 1);
    auto h = run(r, "HEAD", "/p");
    CHECK(h.status == RouteStatus::method_not_allowed);
    CHECK(h.allow == "POST");
    add(r, "", "/p", 2);
    h = run(r, "HEAD", "/p");
    CHECK(h.target == 2);
    CHECK_FALSE(h.head_as_get);
}

TEST_CASE("router: any-method routes match every method; an exact method wins") {
    Router r;
    add(r, "", "/any", 1);
    add(r, "DELETE", "/any", 2);
    CHECK(run(r, "GET", "/any").target == 1);
    CHECK(run(r, "POST", "/any").target == 1);
    CHECK(run(r, "BREW", "/any").target == 1);
    CHECK(run(r, "DELETE", "/any").target == 2);
}

TEST_CASE("router: a higher-precedence any route beats an exact lower one") {
    Router r;
    add(r, "", "/u/me", 1);
    add(r, "GET", "/u/:id", 2);
    CHECK(run(r, "GET", "/u/me").target == 1);
    CHECK(run(r, "GET", "/u/you").target == 2);
}

TEST_CASE("router: params are percent-decoded") {
    Router r;
    add(r, "GET", "/u/:name", 1);
    add(r, "GET", "/w/*", 2);
    auto h = run(r, "GET", "/u/John%20Doe");
    CHECK(h.params == Params{{"name", "John Doe"}});
    h = run(r, "GET", "/u/a+b");
    CHECK(h.params == Params{{"name", "a+b"}});
    h = run(r, "GET", "/w/caf%c3%a9");
    CHECK(h.params == Params{{"_0", "caf\xC3\xA9"}});

    std::vector<RouteParam> params;
    REQUIRE(r.match("GET", "/u/x%21y", params).status == RouteStatus::found);
    CHECK(params[0].raw == "x%21y");
    CHECK(params[0].value == "x!y");
}

TEST_CASE("router: an encoded slash stays inside its segment") {
    Router r;
    add(r, "GET", "/files/:name", 1);
    add(r, "GET", "/files/:dir/:name", 2);
    auto h = run(r, "GET", "/files/a%2Fb");
    CHECK(h.target == 1);
    CHECK(h.params == Params{{"name", "a/b"}});
    h = run(r, "GET", "/files/a%2fb/c");
    CHECK(h.target == 2);
    CHECK(h.params == Params{{"dir", "a/b"}, {"name", "c"}});
}

TEST_CASE("router: a malformed escape in a captured segment is a bad request") {
    Router r;
    add(r, "GET", "/u/:id", 1);
    add(r, "GET", "/r/**", 2);
    for (std::string_view path : {"/u/%", "/u/%4", "/u/%zz", "/u/a%g1", "/r/x/%2", "/r/%"}) {
        CAPTURE(path);
        auto h = run(r, "GET", path);
        CHECK(h.status == RouteStatus::bad_request);
        CHECK(h.params.empty());
    }
}

TEST_CASE("router: static segments match their percent-encoded spelling") {
    Router r;
    add(r, "GET", "/caf\xC3\xA9", 1);
    add(r, "GET", "/a%20b/c", 2);   // a raw space is refused; write it encoded
    add(r, "GET", "/x%2Fy", 3);     // a pattern may use escapes: one segment "x/y"
    add(r, "GET", "/:p", 4);
    CHECK(run(r, "GET", "/caf%C3%A9").target == 1);
    CHECK(run(r, "GET", "/caf%c3%a9").target == 1);
    CHECK(run(r, "GET", "/caf\xC3\xA9").target == 1);
    CHECK(run(r, "GET", "/a%20b/c").target == 2);
    CHECK(run(r, "GET", "/x%2fy").target == 3);
    CHECK(run(r, "GET", "/x/y").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/%61").target == 4);   // "a" is not a static route here
    CHECK(run(r, "GET", "/%zz").status == RouteStatus::bad_request);
}

TEST_CASE("router: trailing slash is ignored on both sides") {
    Router r;
    add(r, "GET", "/a", 1);
    add(r, "GET", "/b/", 2);
    add(r, "GET", "/c/:id/", 3);
    CHECK(run(r, "GET", "/a").target == 1);
    CHECK(run(r, "GET", "/a/").target == 1);
    CHECK(run(r, "GET", "/b").target == 2);
    CHECK(run(r, "GET", "/b/").target == 2);
    CHECK(run(r, "GET", "/c/1").params == Params{{"id", "1"}});
    CHECK(run(r, "GET", "/c/1/").params == Params{{"id", "1"}});
    CHECK(r.add("GET", "/a/", 9) == wisp::errc::duplicate_route);
    CHECK(r.add("GET", "/b", 9) == wisp::errc::duplicate_route);
    CHECK(run(r, "GET", "/a//").status == RouteStatus::not_found);   // only one slash is dropped
}

TEST_CASE("router: consecutive slashes are an empty segment, not collapsed") {
    Router r;
    add(r, "GET", "/a/b", 1);
    add(r, "GET", "/x/**", 2);
    CHECK(run(r, "GET", "/a//b").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "//a/b").status == RouteStatus::not_found);
    CHECK(run(r, "GET", "/x//y").params == Params{{"_", "/y"}});
}

TEST_CASE("router: invalid patterns are refused") {
    Router r;
    for (std::string_view p :
         {"",      "a",        "users/:id", "//",     "/a//b",   "/:",      "/a/:",     "/:id/:id",
          "/:a-b", "/:a.json", "/**/a",     "/**/**", "/**:",    "/**:a/b", "/**:x-y",  "/a*",
          "/a**",  "/*a",      "/a?b",      "/a#b",   "/a b",    "/a\tb",   "/a\x7f",   "/%",
          "/a%zz", "/a%2",     "/.",        "/a/..",  "/%2e%2E", "/:_0/*",  "/*/:_1/*", "/:_/**"}) {
        CAPTURE(p);
        CHECK(r.add("GET", p, 1) == wisp::errc::invalid_route);
    }
    CHECK(r.size() == 0);
    CHECK(run(r, "GET", "/a").status == RouteStatus::not_found);
}

TEST_CASE("router: invalid methods are refused") {
    Router r;
    CHECK(r.add("GE T", "/a", 1) == wisp::errc::invalid_argument);
    CHECK(r.add("GET\r\n", "/a", 1) == wisp::errc::invalid_argument);
    CHECK(r.add("GET/", "/a", 1) == wisp::errc::invalid_argument);
    CHECK(r.size() == 0);
}

TEST_CASE("router: valid pattern shapes are accepted") {
    for (std::string_view p : {"/", "/a", "/a/", "/:id", "/*", "/**", "/**:rest", "/v1/a:b",
                               "/a/:id/*/**:tail", "/~user", "/@me", "/a.b.c", "/a%20b",
                               "/%2e%2e%2e", "/:_9", "/a/**/", "/-_.!$&'()+,;=@"}) {
        CAPTURE(p);
        Router r;
        CHECK_FALSE(r.add("GET", p, 1));
    }
}

TEST_CASE("router: duplicates are refused, whatever the param names") {
    Router r;
    add(r, "GET", "/users/:id", 1);
    CHECK(r.add("GET", "/users/:id", 2) == wisp::errc::duplicate_route);
    CHECK(r.add("GET", "/users/:name", 2) == wisp::errc::duplicate_route);
    CHECK(r.add("GET", "/users/:name/", 2) == wisp::errc::duplicate_route);
    add(r, "POST", "/users/:name", 3);   // another method is another route
    add(r, "GET", "/users/*", 4);        // `*` is another shape than `:id`

    add(r, "GET", "/f/**", 5);
    CHECK(r.add("GET", "/f/**:path", 6) == wisp::errc::duplicate_route);
    add(r, "", "/f/**:path", 7);
    CHECK(r.add("", "/f/**", 8) == wisp::errc::duplicate_route);

    add(r, "GET", "/caf\xC3\xA9", 9);
    CHECK(r.add("GET", "/caf%C3%A9", 10) == wisp::errc::duplicate_route);
    CHECK(r.size() == 6);
    CHECK(run(r, "GET", "/users/1").target == 1);   // the first registration stays
}

TEST_CASE("router: a refused add leaves the router unchanged") {
    Router r;
    add(r, "GET", "/a/:x", 1);
    CHECK(r.add("GET", "/a/:y", 2) == wisp::errc::duplicate_route);
    CHECK(r.add("GET", "/b/c/:d/:d", 2) == wisp::errc::invalid_route);
    CHECK(run(r, "GET", "/b/c/1/2").status == RouteStatus::not_found);
    CHECK(r.allowed_methods("/b/c/1/2") == "");
    CHECK(run(r, "GET", "/a/1").params == Params{{"x", "1"}});
}

TEST_CASE("router: param names stay valid after many adds and a move") {
    Router r;
    add(r, "GET", "/first/:a_rather_long_parameter_name_beyond_sso/:id", 0);
    std::vector<RouteParam> params;
    REQUIRE(r.match("GET", "/first/x/y", params).status == RouteStatus::found);
    const std::string_view long_name = params[0].name;
    const std::string_view short_name = params[1].name;
    for (int i = 1; i < 2000; ++i)
        add(r, "GET", "/r" + std::to_string(i) + "/:p" + std::to_string(i) + "/:id", i);
    add(r, "GET", "/", 2000);
    add(r, "GET", "/static/path", 2001);
    Router moved = std::move(r);
    CHECK(run(moved, "GET", "/").target == 2000);
    CHECK(run(moved, "GET", "/static/path").target == 2001);
    CHECK(run(moved, "HEAD", "/static/path/").head_as_get);
    Router assigned;
    assigned = std::move(moved);
    CHECK(run(assigned, "GET", "/").target == 2000);
    CHECK(run(assigned, "GET", "/static/path").target == 2001);
    moved = std::move(assigned);
    CHECK(long_name == "a_rather_long_parameter_name_beyond_sso");
    CHECK(short_name == "id");
    std::vector<RouteParam> again;
    REQUIRE(moved.match("GET", "/first/x/y", again).status == RouteStatus::found);
    CHECK(again[0].name.data() == long_name.data());
    CHECK(again[1].name.data() == short_name.data());
    REQUIRE(moved.match("GET", "/r1999/v/w", again).status == RouteStatus::found);
    CHECK(again[0].name == "p1999");
    CHECK(*moved.match("GET", "/r1999/v/w", again).target == 1999);
}

TEST_CASE("router: a moved router works after the original is destroyed") {
    auto original = std::make_unique<Router>();
    add(*original, "GET", "/", 1);
    add(*original, "GET", "/a/b", 2);
    add(*original, "GET", "/p/:x", 3);
    Router moved = std::move(*original);
    original.reset();
    CHECK(run(moved, "GET", "/").target == 1);
    CHECK(run(moved, "HEAD", "/").head_as_get);
    CHECK(run(moved, "GET", "/a/b").target == 2);
    CHECK(run(moved, "GET", "/p/1").params == Params{{"x", "1"}});
    CHECK(run(moved, "POST", "/").allow == "GET, HEAD");
}

TEST_CASE("router: match clears params left from a previous call") {
    Router r;
    add(r, "GET", "/a/:x", 1);
    add(r, "GET", "/b", 2);
    std::vector<RouteParam> params;
    r.match("GET", "/a/1", params);
    CHECK(params.size() == 1);
    r.match("GET", "/b", params);
    CHECK(params.empty());
    r.match("GET", "/a/1", params);
    r.match("GET", "/nothing", params);
    CHECK(params.empty());
}

TEST_CASE("router: targets may be move-only and keep their address") {
    wisp::BasicRouter<std::unique_ptr<std::string>> r;
    REQUIRE_FALSE(r.add("GET", "/a", std::make_unique<std::string>("a")));
    std::vector<RouteParam> params;
    const auto* first = r.match("GET", "/a", params).target;
    REQUIRE(first);
    for (int i = 0; i < 500; ++i)
        REQUIRE_FALSE(r.add("GET", "/n" + std::to_string(i), std::make_unique<std::string>()));
    CHECK(r.match("GET", "/a", params).target == first);
    CHECK(**first == "a");
}

TEST_CASE("router: for_each lists routes in registration order") {
    Router r;
    add(r, "GET", "/b/", 1);
    add(r, "", "/a/:id", 2);
    std::vector<std::string> seen;
    r.for_each([&](std::string_view method, std::string_view pattern, const int& target) {
        seen.push_back(std::string(method) + " " + std::string(pattern) + " " +
                       std::to_string(target));
    });
    CHECK(seen == std::vector<std::string>{"GET /b/ 1", " /a/:id 2"});
}
