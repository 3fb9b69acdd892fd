// SPDX-License-Identifier: MIT
// wisp/router.hpp — method + path pattern -> target, H3/rou3-style patterns, 404/405/Allow.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/route_param.hpp>
#include <wisp/detail/owned.hpp>
#include <wisp/detail/router_core.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

/// Maps (method, path) to a Target, the way H3 (rou3) does.
///
/// Patterns start with '/' and are split at '/' into segments:
///   `users`     static text, compared with the percent-decoded request segment, so `/café`
///               matches `/caf%C3%A9`; a pattern may itself use %-escapes (`/a%2Fb` is one
///               segment "a/b"). Not allowed: '?', '#', '*', spaces and control characters,
///               "." and "..", and empty segments (`/a//b`).
///   `:id`       one non-empty segment, captured as `id` (names: letters, digits, '_').
///   `*`         one non-empty segment, captured as "_0", "_1", ... in order.
///   `**`        the rest of the path, zero or more segments, captured as "_"; last only.
///   `**:name`   the rest, captured as `name`.
/// A trailing slash is ignored on both sides: `/a/` and `/a` are one route and both paths
/// match it. Consecutive slashes in a path are not collapsed: `/a//b` has an empty segment,
/// which only `**` can match. An encoded slash (%2F) never splits a segment. The rest
/// captured by `**` is the raw remainder (trailing slash included), then decoded.
///
/// Precedence, per segment: static > `:param` > `*` > `**`, with backtracking: when a branch
/// fails deeper down (or reaches routes none of which accepts the method) the next one is
/// tried. At one node a route for the exact method wins, then (for HEAD) a GET route
/// (`head_as_get`), then an any-method route.
///
/// Thread: add() before serving; match() is const and safe from many threads at once.
/// Cost: a trie walk; matching a static route allocates nothing, captures allocate only for
/// values longer than the small-string buffer (reuse the params vector).
template <class Target>
class BasicRouter {
public:
    struct Match {
        RouteStatus status = RouteStatus::not_found;
        const Target* target = nullptr;   ///< found only; valid as long as the router
        std::string allow;                ///< method_not_allowed only: "GET, HEAD, POST"
        bool head_as_get = false;         ///< a HEAD request answered by a GET route
    };

    BasicRouter() = default;
    BasicRouter(BasicRouter&&) = default;
    BasicRouter& operator=(BasicRouter&&) = default;
    BasicRouter(const BasicRouter&) = delete;
    BasicRouter& operator=(const BasicRouter&) = delete;

    /// Registers `target` for `method` and `pattern`.
    /// `method`: an HTTP method token ("GET", "POST", custom tokens too; case-sensitive, as in
    /// RFC 9110 §9.1), or "" for any method.
    /// Errors: errc::invalid_route for a pattern that cannot be parsed; errc::duplicate_route
    /// when the same method (or "" twice) already has a pattern of the same shape (`/u/:id` and
    /// `/u/:name/` are the same shape); errc::invalid_argument for a method that is not a token.
    /// A failed add() leaves the router unchanged. On duplicate_route, `clash` (when given)
    /// receives the pattern already registered.
    [[nodiscard]] std::error_code add(std::string_view method, std::string_view pattern,
                                      Target target, std::string* clash = nullptr);

    /// Finds the route for `method` and `path` (still %-encoded, without the query).
    /// `params` is cleared, then holds the captures in pattern order when status is found.
    Match match(std::string_view method, std::string_view path,
                std::vector<RouteParam>& params) const;

    /// True when some route, of any method, matches `path`.
    bool matches_path(std::string_view path) const;

    /// The sorted, de-duplicated methods of every route matching `path`, joined by ", ", with
    /// HEAD added when GET is there; any-method routes add nothing. "" when none.
    std::string allowed_methods(std::string_view path) const;

    /// Number of registered routes.
    std::size_t size() const noexcept { return core_.size(); }

    /// Calls fn(std::string_view method, std::string_view pattern, const Target&) for every
    /// route in registration order; the pattern is as given to add().
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (std::size_t i = 0; i < core_.size(); ++i) {
            const auto& r = core_.route(i);
            fn(std::string_view(r.method), r.pattern, *static_cast<const Target*>(r.target.get()));
        }
    }

private:
    // The work is RouterCore's, compiled once for all target types; each target lives in its
    // own allocation, so its address stays put as routes are added.
    detail::RouterCore core_;
};

// ---- implementation -------------------------------------------------------
template <class Target>
std::error_code BasicRouter<Target>::add(std::string_view method, std::string_view pattern,
                                         Target target, std::string* clash) {
    return core_.add(method, pattern, detail::make_owned<Target>(std::move(target)), clash);
}

template <class Target>
typename BasicRouter<Target>::Match BasicRouter<Target>::match(
    std::string_view method, std::string_view path, std::vector<RouteParam>& params) const {
    Match m;
    const detail::RouterCore::Hit hit = core_.match(method, path, params, m.allow);
    m.status = hit.status;
    m.target = static_cast<const Target*>(hit.target);
    m.head_as_get = hit.head_as_get;
    return m;
}

template <class Target>
bool BasicRouter<Target>::matches_path(std::string_view path) const {
    return core_.matches_path(path);
}

template <class Target>
std::string BasicRouter<Target>::allowed_methods(std::string_view path) const {
    return core_.allowed_methods(path);
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
