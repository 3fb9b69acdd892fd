// SPDX-License-Identifier: MIT
// wisp/detail/router_core.hpp — the router's work, one class for every target type: the trie of
// pattern segments, adding a route and its checks, matching with backtracking, captures, Allow.
// BasicRouter<Target> (router.hpp) only adds the types, so each file compiles this once however
// many target types it routes to. Knows nothing of HTTP beyond method tokens and paths.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/route_param.hpp>
#include <wisp/detail/owned.hpp>
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

/// BasicRouter without its Target type: each route's target is an object the core owns without
/// naming its type (Owned, made by BasicRouter), so insertion, matching and Allow are compiled
/// once, not once per target type. The rules are BasicRouter's.
class RouterCore {
public:
    struct Route {
        std::string method;   // "" = any method
        std::string pattern;
        std::vector<std::string_view> names;   // one per capture, into names_
        Owned target;
    };

    /// BasicRouter::add; `target` is released when the add fails.
    std::error_code add(std::string_view method, std::string_view pattern, Owned target,
                        std::string* clash);
    /// BasicRouter::match, its result in `target`, `allow` and `head_as_get` (left as they
    /// were unless set: the caller passes them fresh).
    RouteStatus match(std::string_view method, std::string_view path,
                      std::vector<RouteParam>& params, const void*& target, std::string& allow,
                      bool& head_as_get) const;
    bool matches_path(std::string_view path) const;
    std::string allowed_methods(std::string_view path) const;
    std::size_t size() const noexcept { return routes_.size(); }
    /// The i-th route in registration order.
    const Route& route(std::size_t i) const noexcept { return *routes_[i]; }

private:
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
    FlatStringMap<const Node*> static_paths_;
    std::vector<std::unique_ptr<Route>> routes_;   // registration order; owns the routes
    std::set<std::string, std::less<>> names_;     // interned capture names (stable nodes)
};

// ---- implementation -------------------------------------------------------

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

inline bool RouterCore::parse_pattern(std::string_view pattern, std::vector<Seg>& segs) {
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
            if (!is_param_name(seg.substr(3))) return false;
            segs.push_back({SegKind::rest, std::string(seg.substr(3))});
        } else if (seg == "*") {
            segs.push_back({SegKind::star, "_" + std::to_string(unnamed++)});
        } else if (seg.front() == ':') {
            if (!is_param_name(seg.substr(1))) return false;
            segs.push_back({SegKind::param, std::string(seg.substr(1))});
        } else {
            for (char c : seg)
                if (!is_pattern_static_char(c)) return false;
            std::string text;
            if (!percent_decode(seg, text, false)) return false;
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

inline std::error_code RouterCore::add(std::string_view method, std::string_view pattern,
                                       Owned target, std::string* clash) {
    if (!method.empty() && !is_method_token(method)) return errc::invalid_argument;
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

inline std::uint32_t RouterCore::static_tag(std::string_view key) noexcept {
    if (key.empty()) return 0;
    const auto len = static_cast<std::uint32_t>(std::min<std::size_t>(key.size(), 0xffff));
    return len << 16 | static_cast<std::uint32_t>(static_cast<unsigned char>(key.front())) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(key.back()));
}

// The index of `key` among n's static children (exact = true), or where it would be inserted.
inline std::size_t RouterCore::static_slot(const Node& n, std::string_view key,
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

inline const RouterCore::Node* RouterCore::static_child(const Node& n,
                                                        std::string_view raw) noexcept {
    if (n.statics.empty()) return nullptr;
    if (raw.find('%') == std::string_view::npos) {
        bool exact = false;
        const std::size_t i = static_slot(n, raw, exact);
        return exact ? n.statics[i].second.get() : nullptr;
    }
    // Keys are stored decoded, so an encoded segment is compared while decoding it.
    for (const auto& c : n.statics)
        if (decoded_equals(raw, c.first)) return c.second.get();
    return nullptr;
}

// Returns where the first segment starts in `rem` (npos: no segment at all) and sets `rem` to
// the path without its leading '/' and one trailing '/'.
inline std::size_t RouterCore::trim_path(std::string_view path, std::string_view& rem) noexcept {
    rem = path.substr(1);
    if (!rem.empty() && rem.back() == '/') rem.remove_suffix(1);
    return rem.empty() ? std::string_view::npos : 0;
}

inline const RouterCore::Route* RouterCore::pick(const std::vector<const Route*>& routes,
                                                 Search& s) noexcept {
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

inline bool RouterCore::find(const Node& n, std::size_t pos, Search& s) const {
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

inline RouteStatus RouterCore::match(std::string_view method, std::string_view path,
                                     std::vector<RouteParam>& params, const void*& target,
                                     std::string& allow, bool& head_as_get) const {
    params.clear();
    if (path.empty() || path.front() != '/') return RouteStatus::not_found;
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
        target = s.found->target.get();
        head_as_get = s.head_as_get;
        return RouteStatus::found;
    }
    if (find(root_, pos, s)) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            params[i].name = s.found->names[i];
            if (!percent_decode(params[i].raw, params[i].value, false)) {
                params.clear();
                return RouteStatus::bad_request;
            }
        }
        target = s.found->target.get();
        head_as_get = s.head_as_get;
        return RouteStatus::found;
    }
    params.clear();
    allow = allowed_methods(path);
    return allow.empty() ? RouteStatus::not_found : RouteStatus::method_not_allowed;
}

inline void RouterCore::collect(const Node& n, std::size_t pos, std::string_view rem,
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

inline bool RouterCore::matches_path(std::string_view path) const {
    if (path.empty() || path.front() != '/') return false;
    std::string_view rem;
    const std::size_t pos = trim_path(path, rem);
    std::vector<std::string_view> methods;
    bool any_route = false;
    collect(root_, pos, rem, methods, any_route);
    return any_route || !methods.empty();
}

inline std::string RouterCore::allowed_methods(std::string_view path) const {
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

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
