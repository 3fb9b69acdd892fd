// SPDX-License-Identifier: MIT
// wisp/router.hpp — method + path pattern -> target, H3/rou3-style patterns, 404/405/Allow.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/detail/url.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

/// One value captured by a route pattern.
struct RouteParam {
    std::string_view name;   ///< router-owned; valid as long as the router (moves keep it valid)
    std::string value;       ///< percent-decoded ("%2F" gives '/', '+' stays '+')
    std::string_view raw;    ///< still encoded; views into the path given to match()
};

/// The outcome of BasicRouter::match.
enum class RouteStatus {
    found,                ///< `target` is set; params are filled
    not_found,            ///< no route matches the path: 404
    method_not_allowed,   ///< routes match the path, none the method: 405 with `allow`
    bad_request,          ///< the chosen route captured a segment with a malformed %-escape: 400
};

namespace detail {
/// An open-addressing hash map from string to V: one probe sequence, no allocation on find.
template <class V>
class FlatStringMap {
public:
    const V* find(std::string_view key) const noexcept;
    void insert(std::string_view key, V value);   ///< `key` must not be present yet
    bool empty() const noexcept { return count_ == 0; }

private:
    struct Slot {
        std::uint64_t hash = 0;
        std::string key;
        V value{};
        bool used = false;
    };
    static std::uint64_t hash_of(std::string_view key) noexcept;
    std::vector<Slot> slots_;   // capacity a power of two, at most half full
    std::size_t count_ = 0;
};
}   // namespace detail

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
    std::size_t size() const noexcept { return routes_.size(); }

    /// Calls fn(std::string_view method, std::string_view pattern, const Target&) for every
    /// route in registration order; the pattern is as given to add().
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const auto& r : routes_) fn(std::string_view(r->method), r->pattern, r->target);
    }

private:
    struct Route {
        std::string method;   // "" = any method
        std::string pattern;
        std::vector<std::string_view> names;   // one per capture, into names_
        Target target;
    };
    struct Node {
        // Static children, sorted by (tag, key): a lookup compares one integer per child and
        // bytes only when the tag (length, first and last byte) agrees.
        std::vector<std::uint32_t> tags;
        std::vector<std::pair<std::string, std::unique_ptr<Node>>> statics;
        std::unique_ptr<Node> param;      // `:name`
        std::unique_ptr<Node> star;       // `*`
        std::vector<const Route*> here;   // routes ending at this node
        std::vector<const Route*> rest;   // `**` routes whose rest starts here
    };
    enum class SegKind { fixed, param, star, rest };
    struct Seg {
        SegKind kind;
        std::string text;   // decoded static text, or the capture name
    };
    struct Search {
        std::string_view method;
        std::string_view path;   // as given, starts with '/'
        std::string_view rem;    // without the leading '/' and one trailing '/'
        std::vector<RouteParam>* params;
        const Route* found;
        bool head_as_get;
    };

    static bool parse_pattern(std::string_view pattern, std::vector<Seg>& segs);
    static std::uint32_t static_tag(std::string_view key) noexcept;
    static std::size_t static_slot(const Node& n, std::string_view key, bool& exact) noexcept;
    static const Node* static_child(const Node& n, std::string_view raw_segment) noexcept;
    static std::size_t trim_path(std::string_view path, std::string_view& rem) noexcept;
    static const Route* pick(const std::vector<const Route*>& routes, Search& s) noexcept;
    bool find(const Node& n, std::size_t pos, Search& s) const;
    void collect(const Node& n, std::size_t pos, std::string_view rem,
                 std::vector<std::string_view>& methods, bool& any_route) const;

    Node root_;
    // Fully static routes by their normalized path (segments decoded and joined by '/'), so a
    // static lookup is one hash probe. Only a shortcut: the trie holds every route too.
    detail::FlatStringMap<const Node*> static_paths_;
    std::vector<std::unique_ptr<Route>> routes_;   // registration order; owns the routes
    std::set<std::string, std::less<>> names_;     // interned capture names (stable nodes)
};

// ---- implementation -------------------------------------------------------
namespace detail {

template <class V>
std::uint64_t FlatStringMap<V>::hash_of(std::string_view key) noexcept {
    // Eight bytes per multiply: paths are short, and a byte-at-a-time hash would cost more
    // than the trie walk it saves. Not for untrusted keys of an attacker's choosing: only
    // registered routes are stored, lookups just probe.
    constexpr std::uint64_t k = 0x9e3779b97f4a7c15ull;
    std::uint64_t h = k ^ key.size();
    const char* p = key.data();
    std::size_t n = key.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    std::uint64_t tail = 0;
    for (std::size_t i = 0; i < n; ++i)
        tail |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    h = (h ^ tail) * k;
    return h ^ (h >> 29);
}

template <class V>
const V* FlatStringMap<V>::find(std::string_view key) const noexcept {
    if (count_ == 0) return nullptr;
    const std::uint64_t h = hash_of(key);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (!slot.used) return nullptr;
        if (slot.hash == h && slot.key == key) return &slot.value;
    }
}

template <class V>
void FlatStringMap<V>::insert(std::string_view key, V value) {
    if ((count_ + 1) * 2 > slots_.size()) {
        std::vector<Slot> old = std::move(slots_);
        slots_ = std::vector<Slot>(old.empty() ? 16 : old.size() * 2);
        count_ = 0;
        for (Slot& slot : old)
            if (slot.used) insert(slot.key, std::move(slot.value));
    }
    const std::uint64_t h = hash_of(key);
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    while (slots_[i].used) i = (i + 1) & mask;
    slots_[i] = Slot{h, std::string(key), std::move(value), true};
    ++count_;
}

// RFC 9110 §5.6.2: token = 1*tchar.
inline bool is_method_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
            return false;
    }
    return true;
}

inline bool is_param_name(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!ok) return false;
    }
    return true;
}

// Bytes a static pattern segment may hold before decoding. Non-ASCII bytes are allowed, so a
// pattern can be written decoded (`/café`).
inline bool is_pattern_static_char(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c != 0x7f && c != '?' && c != '#' && c != '*';
}

}   // namespace detail

template <class Target>
bool BasicRouter<Target>::parse_pattern(std::string_view pattern, std::vector<Seg>& segs) {
    if (pattern.empty() || pattern.front() != '/') return false;
    std::string_view rem = pattern.substr(1);
    if (!rem.empty() && rem.back() == '/') {
        rem.remove_suffix(1);
        if (rem.empty()) return false;   // "//"
    }
    if (rem.empty()) return true;   // "/": the root, no segment
    std::size_t unnamed = 0;
    for (;;) {
        const std::size_t slash = rem.find('/');
        const std::string_view seg = rem.substr(0, slash);
        const bool last = slash == std::string_view::npos;
        if (seg.empty()) return false;
        if (!segs.empty() && segs.back().kind == SegKind::rest) return false;   // `**` not last
        if (seg == "**") {
            segs.push_back({SegKind::rest, "_"});
        } else if (seg.substr(0, 3) == "**:") {
            if (!detail::is_param_name(seg.substr(3))) return false;
            segs.push_back({SegKind::rest, std::string(seg.substr(3))});
        } else if (seg == "*") {
            segs.push_back({SegKind::star, "_" + std::to_string(unnamed++)});
        } else if (seg.front() == ':') {
            if (!detail::is_param_name(seg.substr(1))) return false;
            segs.push_back({SegKind::param, std::string(seg.substr(1))});
        } else {
            for (char c : seg)
                if (!detail::is_pattern_static_char(c)) return false;
            std::string text;
            if (!detail::percent_decode(seg, text, false)) return false;
            if (text == "." || text == "..") return false;
            segs.push_back({SegKind::fixed, std::move(text)});
        }
        if (last) break;
        rem = rem.substr(slash + 1);
    }
    // Capture names must be distinct, automatic ones included (`/:_0/*` clashes).
    for (std::size_t i = 0; i < segs.size(); ++i) {
        if (segs[i].kind == SegKind::fixed) continue;
        for (std::size_t j = i + 1; j < segs.size(); ++j)
            if (segs[j].kind != SegKind::fixed && segs[j].text == segs[i].text) return false;
    }
    return true;
}

template <class Target>
std::error_code BasicRouter<Target>::add(std::string_view method, std::string_view pattern,
                                         Target target, std::string* clash) {
    if (!method.empty() && !detail::is_method_token(method)) return errc::invalid_argument;
    std::vector<Seg> segs;
    if (!parse_pattern(pattern, segs)) return errc::invalid_route;

    // Find the shape without creating nodes, so a duplicate leaves the trie as it was.
    const Node* at = &root_;
    for (const Seg& seg : segs) {
        if (!at || seg.kind == SegKind::rest) break;
        if (seg.kind == SegKind::param) {
            at = at->param.get();
        } else if (seg.kind == SegKind::star) {
            at = at->star.get();
        } else {
            bool exact = false;
            const std::size_t i = static_slot(*at, seg.text, exact);
            at = exact ? at->statics[i].second.get() : nullptr;
        }
    }
    if (at) {
        const bool is_rest = !segs.empty() && segs.back().kind == SegKind::rest;
        for (const Route* r : is_rest ? at->rest : at->here)
            if (r->method == method) {
                if (clash) *clash = r->pattern;
                return errc::duplicate_route;
            }
    }

    auto route = std::make_unique<Route>(
        Route{std::string(method), std::string(pattern), {}, std::move(target)});
    Node* node = &root_;
    for (const Seg& seg : segs) {
        if (seg.kind != SegKind::fixed) route->names.push_back(*names_.insert(seg.text).first);
        if (seg.kind == SegKind::rest) break;
        std::unique_ptr<Node>* child = nullptr;
        if (seg.kind == SegKind::param) {
            child = &node->param;
        } else if (seg.kind == SegKind::star) {
            child = &node->star;
        } else {
            bool exact = false;
            const std::size_t i = static_slot(*node, seg.text, exact);
            if (!exact) {
                const auto at_i = static_cast<std::ptrdiff_t>(i);
                node->tags.insert(node->tags.begin() + at_i, static_tag(seg.text));
                node->statics.emplace(node->statics.begin() + at_i, seg.text, nullptr);
            }
            child = &node->statics[i].second;
        }
        if (!*child) *child = std::make_unique<Node>();
        node = child->get();
    }
    const bool is_rest = !segs.empty() && segs.back().kind == SegKind::rest;
    (is_rest ? node->rest : node->here).push_back(route.get());
    // Index a fully static route, unless a segment holds a decoded '/' ("/a%2Fb" would read as
    // two segments once joined). Not the root: root_ moves with the router, other nodes do not.
    if (!is_rest && !segs.empty() && node->here.size() == 1) {
        std::string key;
        bool indexable = true;
        for (const Seg& seg : segs) {
            indexable =
                indexable && seg.kind == SegKind::fixed && seg.text.find('/') == std::string::npos;
            if (&seg != &segs.front()) key += '/';
            key += seg.text;
        }
        if (indexable) static_paths_.insert(key, node);
    }
    routes_.push_back(std::move(route));
    return {};
}

template <class Target>
std::uint32_t BasicRouter<Target>::static_tag(std::string_view key) noexcept {
    if (key.empty()) return 0;
    const auto len = static_cast<std::uint32_t>(std::min<std::size_t>(key.size(), 0xffff));
    return len << 16 | static_cast<std::uint32_t>(static_cast<unsigned char>(key.front())) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(key.back()));
}

// The index of `key` among n's static children (exact = true), or where it would be inserted.
template <class Target>
std::size_t BasicRouter<Target>::static_slot(const Node& n, std::string_view key,
                                             bool& exact) noexcept {
    const std::uint32_t tag = static_tag(key);
    std::size_t i = static_cast<std::size_t>(std::lower_bound(n.tags.begin(), n.tags.end(), tag) -
                                             n.tags.begin());
    for (; i < n.tags.size() && n.tags[i] == tag; ++i) {
        const std::string_view k = n.statics[i].first;
        if (k == key) {
            exact = true;
            return i;
        }
        if (key < k) break;
    }
    exact = false;
    return i;
}

template <class Target>
const typename BasicRouter<Target>::Node* BasicRouter<Target>::static_child(
    const Node& n, std::string_view raw) noexcept {
    if (n.statics.empty()) return nullptr;
    if (raw.find('%') == std::string_view::npos) {
        bool exact = false;
        const std::size_t i = static_slot(n, raw, exact);
        return exact ? n.statics[i].second.get() : nullptr;
    }
    // Keys are stored decoded, so an encoded segment is compared while decoding it.
    for (const auto& c : n.statics)
        if (detail::decoded_equals(raw, c.first)) return c.second.get();
    return nullptr;
}

// Returns where the first segment starts in `rem` (npos: no segment at all) and sets `rem` to
// the path without its leading '/' and one trailing '/'.
template <class Target>
std::size_t BasicRouter<Target>::trim_path(std::string_view path, std::string_view& rem) noexcept {
    rem = path.substr(1);
    if (!rem.empty() && rem.back() == '/') rem.remove_suffix(1);
    return rem.empty() ? std::string_view::npos : 0;
}

template <class Target>
const typename BasicRouter<Target>::Route* BasicRouter<Target>::pick(
    const std::vector<const Route*>& routes, Search& s) noexcept {
    const Route* get = nullptr;
    const Route* any = nullptr;
    for (const Route* r : routes) {
        if (r->method == s.method) return r;
        if (r->method.empty()) any = r;
        else if (r->method == "GET") get = r;
    }
    if (get && s.method == "HEAD") {
        s.head_as_get = true;
        return get;
    }
    return any;
}

template <class Target>
bool BasicRouter<Target>::find(const Node& n, std::size_t pos, Search& s) const {
    auto& params = *s.params;
    if (pos == std::string_view::npos) {
        if ((s.found = pick(n.here, s))) return true;
        if (!n.rest.empty()) {
            params.push_back(RouteParam{{}, {}, s.path.substr(s.path.size())});
            if ((s.found = pick(n.rest, s))) return true;
            params.pop_back();
        }
        return false;
    }
    const std::size_t slash = s.rem.find('/', pos);
    const std::string_view seg = s.rem.substr(pos, slash - pos);
    const std::size_t next = slash == std::string_view::npos ? slash : slash + 1;
    if (const Node* c = static_child(n, seg))
        if (find(*c, next, s)) return true;
    if (!seg.empty()) {
        for (const Node* c : {n.param.get(), n.star.get()}) {
            if (!c) continue;
            params.push_back(RouteParam{{}, {}, seg});
            if (find(*c, next, s)) return true;
            params.pop_back();
        }
    }
    if (!n.rest.empty()) {
        params.push_back(RouteParam{{}, {}, s.path.substr(1 + pos)});
        if ((s.found = pick(n.rest, s))) return true;
        params.pop_back();
    }
    return false;
}

template <class Target>
typename BasicRouter<Target>::Match BasicRouter<Target>::match(
    std::string_view method, std::string_view path, std::vector<RouteParam>& params) const {
    params.clear();
    Match m;
    if (path.empty() || path.front() != '/') return m;
    Search s{method, path, {}, &params, nullptr, false};
    const std::size_t pos = trim_path(path, s.rem);
    // The trie walk tries static children first, so the first node it would reach is the one
    // the index gives (the root itself for `/`, which the index cannot hold); when none of its
    // routes takes the method the full walk goes on.
    const Node* first = nullptr;
    if (pos == std::string_view::npos) first = &root_;
    else if (s.rem.find('%') == std::string_view::npos)
        if (const Node* const* n = static_paths_.find(s.rem)) first = *n;
    if (first && (s.found = pick(first->here, s))) {
        m.status = RouteStatus::found;
        m.target = &s.found->target;
        m.head_as_get = s.head_as_get;
        return m;
    }
    if (find(root_, pos, s)) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            params[i].name = s.found->names[i];
            if (!detail::percent_decode(params[i].raw, params[i].value, false)) {
                params.clear();
                m.status = RouteStatus::bad_request;
                return m;
            }
        }
        m.status = RouteStatus::found;
        m.target = &s.found->target;
        m.head_as_get = s.head_as_get;
        return m;
    }
    params.clear();
    m.allow = allowed_methods(path);
    if (!m.allow.empty()) m.status = RouteStatus::method_not_allowed;
    return m;
}

template <class Target>
void BasicRouter<Target>::collect(const Node& n, std::size_t pos, std::string_view rem,
                                  std::vector<std::string_view>& methods, bool& any_route) const {
    auto take = [&](const std::vector<const Route*>& routes) {
        for (const Route* r : routes) {
            if (r->method.empty()) any_route = true;
            else methods.push_back(r->method);
        }
    };
    take(n.rest);   // `**` matches whatever remains, nothing included
    if (pos == std::string_view::npos) {
        take(n.here);
        return;
    }
    const std::size_t slash = rem.find('/', pos);
    const std::string_view seg = rem.substr(pos, slash - pos);
    const std::size_t next = slash == std::string_view::npos ? slash : slash + 1;
    if (const Node* c = static_child(n, seg)) collect(*c, next, rem, methods, any_route);
    if (!seg.empty()) {
        if (n.param) collect(*n.param, next, rem, methods, any_route);
        if (n.star) collect(*n.star, next, rem, methods, any_route);
    }
}

template <class Target>
bool BasicRouter<Target>::matches_path(std::string_view path) const {
    if (path.empty() || path.front() != '/') return false;
    std::string_view rem;
    const std::size_t pos = trim_path(path, rem);
    std::vector<std::string_view> methods;
    bool any_route = false;
    collect(root_, pos, rem, methods, any_route);
    return any_route || !methods.empty();
}

template <class Target>
std::string BasicRouter<Target>::allowed_methods(std::string_view path) const {
    if (path.empty() || path.front() != '/') return {};
    std::string_view rem;
    const std::size_t pos = trim_path(path, rem);
    std::vector<std::string_view> methods;
    bool any_route = false;
    collect(root_, pos, rem, methods, any_route);
    if (std::find(methods.begin(), methods.end(), "GET") != methods.end())
        methods.push_back("HEAD");
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
    std::string out;
    for (std::string_view m : methods) {
        if (!out.empty()) out += ", ";
        out += m;
    }
    return out;
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
