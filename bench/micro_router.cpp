// SPDX-License-Identifier: MIT
// Micro-benchmark: wisp::BasicRouter lookups for 50 routes (static, :param, * and ** mixed)
// against two naive baselines that scan every route in order: split-and-compare segments, and
// std::regex. Prints ns per lookup, best of several runs, per kind of request path.
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/micro_router.cpp -o micro_router && ./micro_router
#include <wisp/router.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

struct RouteDef {
    const char* method;
    const char* pattern;
};

// Listed most specific first, so the first-match baselines pick the same route as the trie.
const RouteDef routes[] = {
    {"GET", "/"},
    {"GET", "/about"},
    {"GET", "/contact"},
    {"GET", "/login"},
    {"POST", "/login"},
    {"GET", "/logout"},
    {"GET", "/signup"},
    {"GET", "/pricing"},
    {"GET", "/status"},
    {"GET", "/favicon.ico"},
    {"GET", "/docs"},
    {"GET", "/blog"},
    {"GET", "/api/health"},
    {"GET", "/api/version"},
    {"GET", "/api/users"},
    {"POST", "/api/users"},
    {"GET", "/api/users/me"},
    {"GET", "/api/repos"},
    {"GET", "/api/orgs"},
    {"GET", "/api/search/code"},
    {"GET", "/api/search/issues"},
    {"GET", "/api/search/users"},
    {"GET", "/api/users/:id"},
    {"PUT", "/api/users/:id"},
    {"DELETE", "/api/users/:id"},
    {"GET", "/api/users/:id/repos"},
    {"GET", "/api/users/:id/followers"},
    {"GET", "/api/users/:id/following"},
    {"GET", "/api/repos/:owner/:repo"},
    {"GET", "/api/repos/:owner/:repo/issues"},
    {"POST", "/api/repos/:owner/:repo/issues"},
    {"GET", "/api/repos/:owner/:repo/issues/:number"},
    {"PATCH", "/api/repos/:owner/:repo/issues/:number"},
    {"GET", "/api/repos/:owner/:repo/pulls"},
    {"GET", "/api/repos/:owner/:repo/pulls/:number"},
    {"GET", "/api/repos/:owner/:repo/commits/:sha"},
    {"GET", "/api/orgs/:org"},
    {"GET", "/api/orgs/:org/members"},
    {"GET", "/api/orgs/:org/teams/:team"},
    {"GET", "/blog/:year/:slug"},
    {"GET", "/docs/:section/:page"},
    {"GET", "/files/*/raw"},
    {"GET", "/files/*/*/raw"},
    {"GET", "/downloads/*/latest"},
    {"GET", "/img/*/thumb"},
    {"GET", "/cdn/*"},
    {"GET", "/u/*"},
    {"GET", "/static/**"},
    {"GET", "/assets/**:path"},
    {"GET", "/api/v1/**"},
};

struct Lookup {
    const char* kind;
    const char* method;
    const char* path;
};

const Lookup lookups[] = {
    {"static", "GET", "/"},
    {"static", "GET", "/about"},
    {"static", "GET", "/api/users/me"},
    {"static", "GET", "/api/search/issues"},
    {"static", "POST", "/login"},
    {"param", "GET", "/api/users/1234"},
    {"param", "GET", "/api/repos/wisp/wisp/issues/42"},
    {"param", "PATCH", "/api/repos/wisp/wisp/issues/42"},
    {"param", "GET", "/blog/2024/hello-world"},
    {"param", "GET", "/api/orgs/acme/teams/core"},
    {"wildcard", "GET", "/files/abc/raw"},
    {"wildcard", "GET", "/static/css/site.css"},
    {"wildcard", "GET", "/assets/img/logo/large.png"},
    {"wildcard", "GET", "/api/v1/anything/at/all"},
    {"miss", "GET", "/nope/not/here"},
    {"miss", "DELETE", "/about"},
};

// ---- baseline 1: split into segments, compare with every route in order -------------------
struct NaiveRouter {
    struct Seg {
        char kind;   // 's' static, 'p' :param, '*' one segment, 'r' rest
        std::string text;
    };
    struct Route {
        std::string method;
        std::vector<Seg> segs;
        int id;
    };
    std::vector<Route> list;

    static void split(std::string_view path, std::vector<std::string_view>& out) {
        out.clear();
        path.remove_prefix(1);
        while (!path.empty()) {
            const std::size_t slash = path.find('/');
            out.push_back(path.substr(0, slash));
            if (slash == std::string_view::npos) break;
            path.remove_prefix(slash + 1);
        }
    }
    void add(std::string_view method, std::string_view pattern, int id) {
        std::vector<std::string_view> parts;
        split(pattern, parts);
        Route r{std::string(method), {}, id};
        for (std::string_view p : parts) {
            if (p == "**" || p.substr(0, 3) == "**:") r.segs.push_back({'r', std::string(p)});
            else if (p == "*") r.segs.push_back({'*', {}});
            else if (p.front() == ':') r.segs.push_back({'p', std::string(p.substr(1))});
            else r.segs.push_back({'s', std::string(p)});
        }
        list.push_back(std::move(r));
    }
    int match(std::string_view method, std::string_view path, std::vector<std::string_view>& parts,
              std::vector<std::pair<std::string_view, std::string>>& params) const {
        split(path, parts);
        for (const Route& r : list) {
            if (r.method != method) continue;
            params.clear();
            std::size_t i = 0;
            bool ok = true;
            for (const Seg& s : r.segs) {
                if (s.kind == 'r') {
                    std::string rest;
                    for (std::size_t j = i; j < parts.size(); ++j) {
                        if (j > i) rest += '/';
                        rest += parts[j];
                    }
                    params.emplace_back(s.text, std::move(rest));
                    i = parts.size();
                    break;
                }
                if (i >= parts.size()) {
                    ok = false;
                    break;
                }
                if (s.kind == 's' && parts[i] != s.text) {
                    ok = false;
                    break;
                }
                if (s.kind != 's') params.emplace_back(s.text, std::string(parts[i]));
                ++i;
            }
            if (ok && i == parts.size()) return r.id;
        }
        return -1;
    }
};

// ---- baseline 2: one std::regex per route, tried in order ----------------------------------
struct RegexRouter {
    struct Route {
        std::string method;
        std::regex re;
        int id;
    };
    std::vector<Route> list;

    void add(std::string_view method, std::string_view pattern, int id) {
        std::string re;
        std::size_t pos = 1;
        if (pattern == "/") re = "/";
        while (pos < pattern.size() + 1 && pattern != "/") {
            std::size_t slash = pattern.find('/', pos);
            if (slash == std::string_view::npos) slash = pattern.size();
            const std::string_view seg = pattern.substr(pos, slash - pos);
            if (seg == "**" || seg.substr(0, 3) == "**:") re += "(?:/(.*))?";
            else if (seg == "*" || seg.front() == ':') re += "/([^/]+)";
            else {
                re += '/';
                for (char c : seg) {
                    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos)
                        re += '\\';
                    re += c;
                }
            }
            pos = slash + 1;
        }
        list.push_back({std::string(method), std::regex(re, std::regex::optimize), id});
    }
    int match(std::string_view method, std::string_view path, std::cmatch& m) const {
        for (const Route& r : list) {
            if (r.method != method) continue;
            if (std::regex_match(path.data(), path.data() + path.size(), m, r.re)) return r.id;
        }
        return -1;
    }
};

template <class Fn>
double ns_per_op(const std::vector<const Lookup*>& set, Fn&& fn, long iterations) {
    double best = 1e300;
    for (int run = 0; run < 5; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        long sink = 0;
        for (long i = 0; i < iterations; ++i)
            for (const Lookup* l : set) sink += fn(*l);
        const auto t1 = std::chrono::steady_clock::now();
        const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
        best = std::min(best, ns / static_cast<double>(iterations * static_cast<long>(set.size())));
        if (sink == 42) std::puts("");   // keep the work observable
    }
    return best;
}

}   // namespace

int main() {
    wisp::BasicRouter<int> wisp_router;
    NaiveRouter naive;
    RegexRouter regex;
    int id = 0;
    for (const RouteDef& r : routes) {
        if (wisp_router.add(r.method, r.pattern, id)) {
            std::fprintf(stderr, "cannot add %s %s\n", r.method, r.pattern);
            return 1;
        }
        naive.add(r.method, r.pattern, id);
        regex.add(r.method, r.pattern, id);
        ++id;
    }

    // The three must agree on what each lookup finds (misses: -1).
    std::vector<wisp::RouteParam> params;
    std::vector<std::string_view> parts;
    std::vector<std::pair<std::string_view, std::string>> naive_params;
    std::cmatch cm;
    for (const Lookup& l : lookups) {
        const auto m = wisp_router.match(l.method, l.path, params);
        const int a = m.target ? *m.target : -1;
        const int b = naive.match(l.method, l.path, parts, naive_params);
        const int c = regex.match(l.method, l.path, cm);
        if (a != b || a != c) {
            std::fprintf(stderr, "disagree on %s %s: %d %d %d\n", l.method, l.path, a, b, c);
            return 1;
        }
    }

    std::printf("router lookup, %zu routes, ns/op (best of 5)\n", sizeof(routes) / sizeof(*routes));
    std::printf("%-10s %10s %14s %12s\n", "paths", "wisp trie", "naive split", "std::regex");
    for (const char* kind : {"static", "param", "wildcard", "miss", "all"}) {
        std::vector<const Lookup*> set;
        for (const Lookup& l : lookups)
            if (std::string_view(kind) == "all" || std::string_view(kind) == l.kind)
                set.push_back(&l);
        const double t_wisp = ns_per_op(
            set,
            [&](const Lookup& l) {
                const auto m = wisp_router.match(l.method, l.path, params);
                return m.target ? *m.target : static_cast<int>(m.status);
            },
            200000);
        const double t_naive = ns_per_op(
            set,
            [&](const Lookup& l) { return naive.match(l.method, l.path, parts, naive_params); },
            100000);
        const double t_regex = ns_per_op(
            set, [&](const Lookup& l) { return regex.match(l.method, l.path, cm); }, 2000);
        std::printf("%-10s %10.1f %14.1f %12.1f\n", kind, t_wisp, t_naive, t_regex);
    }
    return 0;
}
