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
#include <wisp/detail/box.hpp>
#include <wisp/detail/move_vector.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// An open-addressing hash map from string to a 32-bit value: one probe sequence, no allocation
/// on find.
class FlatStringMap {
public:
    const std::uint32_t* find(std::string_view key) const noexcept;
    void insert(std::string_view key, std::uint32_t value);   ///< `key` must not be present yet
    bool empty() const noexcept { return keys_.empty(); }

private:
    struct Slot {   // trivially copyable: growing the table copies no strings
        std::uint64_t hash;
        std::uint32_t key;   // 1 + its index in keys_; 0: the slot is free
        std::uint32_t value;
    };
    static std::uint64_t hash_of(std::string_view key) noexcept;
    void place(const Slot& slot) noexcept;
    PodVector<Slot> slots_;          // capacity a power of two, at most half full
    MoveVector<std::string> keys_;   // in insertion order
};

/// A list of methods as an Allow header gives it: sorted, each once, joined with ", ". Sorts
/// `methods` in place, by insertion (a handful of names; std::sort's machinery is a hundred
/// functions at -O0, issue 25).
std::string join_methods(PodVector<std::string_view>& methods);

/// BasicRouter without its Target type: each route's target is an object the core owns without
/// naming its type (Owned, made by BasicRouter), so insertion, matching and Allow are compiled
/// once, not once per target type. The rules are BasicRouter's.
class RouterCore {
public:
    struct Route {
        std::string method;   // "" = any method
        std::string pattern;
        PodVector<std::string_view> names;   // one per capture, into names_
        Owned target;
    };

    /// BasicRouter::add; `target` is released when the add fails.
    std::error_code add(std::string_view method, std::string_view pattern, Owned target,
                        std::string* clash);
    /// What match() found (small enough to come back in registers).
    struct Hit {
        const void* target = nullptr;   ///< found only
        RouteStatus status = RouteStatus::not_found;
        bool head_as_get = false;
    };
    /// BasicRouter::match; `allow` is set for method_not_allowed only.
    Hit match(std::string_view method, std::string_view path, std::vector<RouteParam>& params,
              std::string& allow) const;
    bool matches_path(std::string_view path) const;
    std::string allowed_methods(std::string_view path) const;
    std::size_t size() const noexcept { return routes_.size(); }
    /// The i-th route in registration order.
    const Route& route(std::size_t i) const noexcept { return routes_[i]; }

private:
    // Nodes and routes are referred to by their index in nodes_ and routes_: vectors of one
    // integer type, where pointers and unique_ptrs would instantiate a vector per type.
    using Index = std::uint32_t;
    static constexpr Index no_node = 0;   // the root, which is no node's child
    struct Node {
        // Static children, sorted by (tag, key): a lookup compares one integer per child and
        // bytes only when the tag (length, first and last byte) agrees.
        PodVector<std::uint32_t> tags;
        MoveVector<std::string> keys;   // decoded segment text
        PodVector<Index> kids;          // the child node for each key
        Index param = no_node;          // `:name`
        Index star = no_node;           // `*`
        PodVector<Index> here;          // routes ending at this node
        PodVector<Index> rest;          // `**` routes whose rest starts here
    };
    enum class SegKind : char { fixed, param, star, rest };
    // A parsed pattern: segment i is kind(i) with texts[i], its decoded static text or its
    // capture name. In a std::string and a list of strings, which the router keeps anyway,
    // where a list of a struct would be one more.
    struct Segs {
        std::string kinds;
        MoveVector<std::string> texts;
        std::size_t size() const noexcept { return kinds.size(); }
        SegKind kind(std::size_t i) const noexcept { return static_cast<SegKind>(kinds[i]); }
        bool ends_with_rest() const noexcept {
            return !kinds.empty() && kind(kinds.size() - 1) == SegKind::rest;
        }
        void push(SegKind k, std::string text) {
            kinds.push_back(static_cast<char>(k));
            texts.push_back(std::move(text));
        }
    };
    struct Search {
        std::string_view method;
        std::string_view path;   // as given, starts with '/'
        std::string_view rem;    // without the leading '/' and one trailing '/'
        std::vector<RouteParam>* params;
        const Route* found;
        bool head_as_get;
    };

    static bool parse_pattern(std::string_view pattern, Segs& segs);
    static std::uint32_t static_tag(std::string_view key) noexcept;
    static std::size_t static_slot(const Node& n, std::string_view key, bool& exact) noexcept;
    const Node* static_child(const Node& n, std::string_view raw_segment) const noexcept;
    static std::size_t trim_path(std::string_view path, std::string_view& rem) noexcept;
    const Route* pick(const PodVector<Index>& routes, Search& s) const noexcept;
    bool find(const Node& n, std::size_t pos, Search& s) const;
    void collect(const Node& n, std::size_t pos, std::string_view rem,
                 PodVector<std::string_view>& methods, bool& any_route) const;

    MoveVector<Node> nodes_;   // the trie; [0] is the root (none before the first add)
    // Fully static routes by their normalized path (segments decoded and joined by '/'), so a
    // static lookup is one hash probe. Only a shortcut: the trie holds every route too.
    FlatStringMap static_paths_;
    MoveVector<Route> routes_;   // registration order
    /// `name`, kept once in names_ for the routes' views (each name stays where it is).
    std::string_view intern(std::string_view name);
    BoxVector<std::string> names_;   // interned capture names
    FlatStringMap name_index_;       // name -> its index in names_
};

// ---- implementation -------------------------------------------------------

inline std::uint64_t FlatStringMap::hash_of(std::string_view key) noexcept {
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

inline const std::uint32_t* FlatStringMap::find(std::string_view key) const noexcept {
    if (keys_.empty()) return nullptr;
    const std::uint64_t h = hash_of(key);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.key == 0) return nullptr;
        if (slot.hash == h && keys_[slot.key - 1] == key) return &slot.value;
    }
}

inline void FlatStringMap::insert(std::string_view key, std::uint32_t value) {
    if ((keys_.size() + 1) * 2 > slots_.size()) {
        PodVector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
        old.swap(slots_);
        for (const Slot& slot : old)
            if (slot.key != 0) place(slot);
    }
    keys_.push_back(std::string(key));
    place(Slot{hash_of(key), static_cast<std::uint32_t>(keys_.size()), value});
}

inline void FlatStringMap::place(const Slot& slot) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(slot.hash) & mask;
    while (slots_[i].key != 0) i = (i + 1) & mask;
    slots_[i] = slot;
}

// a == b for method tokens, which are short: GET and PUT, POST and HEAD are compared with a
// constant size, inline, where a == b would call memcmp once per request.
inline bool same_token(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    switch (a.size()) {
        case 3:
            return std::memcmp(a.data(), b.data(), 3) == 0;
        case 4:
            return std::memcmp(a.data(), b.data(), 4) == 0;
        default:
            return a == b;
    }
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

inline bool RouterCore::parse_pattern(std::string_view pattern, Segs& segs) {
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
        if (segs.ends_with_rest()) return false;   // `**` not last
        if (seg == "**") {
            segs.push(SegKind::rest, "_");
        } else if (seg.substr(0, 3) == "**:") {
            if (!is_param_name(seg.substr(3))) return false;
            segs.push(SegKind::rest, std::string(seg.substr(3)));
        } else if (seg == "*") {
            segs.push(SegKind::star, "_" + std::to_string(unnamed++));
        } else if (seg.front() == ':') {
            if (!is_param_name(seg.substr(1))) return false;
            segs.push(SegKind::param, std::string(seg.substr(1)));
        } else {
            for (char c : seg)
                if (!is_pattern_static_char(c)) return false;
            std::string text;
            if (!percent_decode(seg, text, false)) return false;
            if (text == "." || text == "..") return false;
            segs.push(SegKind::fixed, std::move(text));
        }
        if (last) break;
        rem = rem.substr(slash + 1);
    }
    // Capture names must be distinct, automatic ones included (`/:_0/*` clashes).
    for (std::size_t i = 0; i < segs.size(); ++i) {
        if (segs.kind(i) == SegKind::fixed) continue;
        for (std::size_t j = i + 1; j < segs.size(); ++j)
            if (segs.kind(j) != SegKind::fixed && segs.texts[j] == segs.texts[i]) return false;
    }
    return true;
}

inline std::string_view RouterCore::intern(std::string_view name) {
    if (const std::uint32_t* i = name_index_.find(name)) return *names_[*i];
    names_.push_back(make_box<std::string>(name));
    name_index_.insert(name, static_cast<std::uint32_t>(names_.size() - 1));
    return *names_.back();
}

inline std::error_code RouterCore::add(std::string_view method, std::string_view pattern,
                                       Owned target, std::string* clash) {
    if (!method.empty() && !is_method_token(method)) return errc::invalid_argument;
    Segs segs;
    if (!parse_pattern(pattern, segs)) return errc::invalid_route;

    // Find the shape without creating nodes, so a duplicate leaves the trie as it was.
    if (nodes_.empty()) nodes_.emplace_back();
    const Node* at = &nodes_[0];
    for (std::size_t k = 0; k < segs.size(); ++k) {
        const SegKind kind = segs.kind(k);
        const std::string& text = segs.texts[k];
        if (!at || kind == SegKind::rest) break;
        Index next = no_node;
        if (kind == SegKind::param) {
            next = at->param;
        } else if (kind == SegKind::star) {
            next = at->star;
        } else {
            bool exact = false;
            const std::size_t i = static_slot(*at, text, exact);
            if (exact) next = at->kids[i];
        }
        at = next == no_node ? nullptr : &nodes_[next];
    }
    if (at) {
        const bool is_rest = segs.ends_with_rest();
        for (Index r : is_rest ? at->rest : at->here)
            if (routes_[r].method == method) {
                if (clash) *clash = routes_[r].pattern;
                return errc::duplicate_route;
            }
    }

    Route route{std::string(method), std::string(pattern), {}, std::move(target)};
    Index node = 0;
    for (std::size_t k = 0; k < segs.size(); ++k) {
        const SegKind kind = segs.kind(k);
        const std::string& text = segs.texts[k];
        if (kind != SegKind::fixed) route.names.push_back(intern(text));
        if (kind == SegKind::rest) break;
        std::size_t i = 0;   // a static child's place among the node's keys
        Index child = no_node;
        if (kind == SegKind::param) {
            child = nodes_[node].param;
        } else if (kind == SegKind::star) {
            child = nodes_[node].star;
        } else {
            Node& n = nodes_[node];
            bool exact = false;
            i = static_slot(n, text, exact);
            if (!exact) {
                const auto at_i = static_cast<std::ptrdiff_t>(i);
                n.tags.insert(n.tags.begin() + at_i, static_tag(text));
                n.keys.insert(n.keys.begin() + at_i, text);
                n.kids.insert(n.kids.begin() + at_i, no_node);
            }
            child = n.kids[i];
        }
        if (child == no_node) {
            child = static_cast<Index>(nodes_.size());
            nodes_.emplace_back();   // may move every node: take ours again
            Node& n = nodes_[node];
            (kind == SegKind::param ? n.param : kind == SegKind::star ? n.star : n.kids[i]) = child;
        }
        node = child;
    }
    const bool is_rest = segs.ends_with_rest();
    const auto route_index = static_cast<Index>(routes_.size());
    Node& last = nodes_[node];
    (is_rest ? last.rest : last.here).push_back(route_index);
    // Index a fully static route, unless a segment holds a decoded '/' ("/a%2Fb" would read as
    // two segments once joined).
    if (!is_rest && segs.size() != 0 && last.here.size() == 1) {
        std::string key;
        bool indexable = true;
        for (std::size_t k = 0; k < segs.size(); ++k) {
            const std::string& text = segs.texts[k];
            indexable =
                indexable && segs.kind(k) == SegKind::fixed && text.find('/') == std::string::npos;
            if (k != 0) key += '/';
            key += text;
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
        const std::string_view k = n.keys[i];
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
                                                        std::string_view raw) const noexcept {
    if (n.keys.empty()) return nullptr;
    if (raw.find('%') == std::string_view::npos) {
        bool exact = false;
        const std::size_t i = static_slot(n, raw, exact);
        return exact ? &nodes_[n.kids[i]] : nullptr;
    }
    // Keys are stored decoded, so an encoded segment is compared while decoding it.
    for (std::size_t i = 0; i < n.keys.size(); ++i)
        if (decoded_equals(raw, n.keys[i])) return &nodes_[n.kids[i]];
    return nullptr;
}

// Returns where the first segment starts in `rem` (npos: no segment at all) and sets `rem` to
// the path without its leading '/' and one trailing '/'. `path` starts with '/' (every caller
// checked), so no bounds check: substr() is a call for its exception.
inline std::size_t RouterCore::trim_path(std::string_view path, std::string_view& rem) noexcept {
    rem = std::string_view(path.data() + 1, path.size() - 1);
    if (!rem.empty() && rem.back() == '/') rem.remove_suffix(1);
    return rem.empty() ? std::string_view::npos : 0;
}

inline const RouterCore::Route* RouterCore::pick(const PodVector<Index>& routes,
                                                 Search& s) const noexcept {
    const Route* get = nullptr;
    const Route* any = nullptr;
    for (Index i : routes) {
        const Route* r = &routes_[i];
        if (same_token(r->method, s.method)) return r;
        if (r->method.empty()) any = r;
        else if (same_token(r->method, "GET")) get = r;
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
        for (Index c : {n.param, n.star}) {
            if (c == no_node) continue;
            params.push_back(RouteParam{{}, {}, seg});
            if (find(nodes_[c], next, s)) return true;
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

inline RouterCore::Hit RouterCore::match(std::string_view method, std::string_view path,
                                         std::vector<RouteParam>& params,
                                         std::string& allow) const {
    params.clear();
    if (path.empty() || path.front() != '/' || nodes_.empty()) return {};
    Search s{method, path, {}, &params, nullptr, false};
    const std::size_t pos = trim_path(path, s.rem);
    // The trie walk tries static children first, so the first node it would reach is the one
    // the index gives (the root itself for `/`, which the index cannot hold); when none of its
    // routes takes the method the full walk goes on.
    const Node* first = nullptr;
    if (pos == std::string_view::npos) first = &nodes_[0];
    else if (s.rem.find('%') == std::string_view::npos)
        if (const Index* n = static_paths_.find(s.rem)) first = &nodes_[*n];
    if (first && (s.found = pick(first->here, s))) {
        return {s.found->target.get(), RouteStatus::found, s.head_as_get};
    }
    if (find(nodes_[0], pos, s)) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            params[i].name = s.found->names[i];
            if (!percent_decode(params[i].raw, params[i].value, false)) {
                params.clear();
                return {nullptr, RouteStatus::bad_request, false};
            }
        }
        return {s.found->target.get(), RouteStatus::found, s.head_as_get};
    }
    params.clear();
    allow = allowed_methods(path);
    if (allow.empty()) return {};
    return {nullptr, RouteStatus::method_not_allowed, false};
}

inline void RouterCore::collect(const Node& n, std::size_t pos, std::string_view rem,
                                PodVector<std::string_view>& methods, bool& any_route) const {
    auto take = [&](const PodVector<Index>& routes) {
        for (Index i : routes) {
            const Route& r = routes_[i];
            if (r.method.empty()) any_route = true;
            else methods.push_back(r.method);
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
        if (n.param != no_node) collect(nodes_[n.param], next, rem, methods, any_route);
        if (n.star != no_node) collect(nodes_[n.star], next, rem, methods, any_route);
    }
}

inline bool RouterCore::matches_path(std::string_view path) const {
    if (path.empty() || path.front() != '/' || nodes_.empty()) return false;
    std::string_view rem;
    const std::size_t pos = trim_path(path, rem);
    PodVector<std::string_view> methods;
    bool any_route = false;
    collect(nodes_[0], pos, rem, methods, any_route);
    return any_route || !methods.empty();
}

inline std::string RouterCore::allowed_methods(std::string_view path) const {
    if (path.empty() || path.front() != '/' || nodes_.empty()) return {};
    std::string_view rem;
    const std::size_t pos = trim_path(path, rem);
    PodVector<std::string_view> methods;
    bool any_route = false;
    collect(nodes_[0], pos, rem, methods, any_route);
    for (std::string_view m : methods)
        if (m == "GET") {
            methods.push_back("HEAD");
            break;
        }
    return join_methods(methods);
}

inline std::string join_methods(PodVector<std::string_view>& methods) {
    std::string_view* m = methods.data();
    const std::size_t n = methods.size();
    for (std::size_t i = 1; i < n; ++i)
        for (std::size_t j = i; j > 0 && m[j] < m[j - 1]; --j) std::swap(m[j], m[j - 1]);
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0 && m[i] == m[i - 1]) continue;
        if (!out.empty()) out += ", ";
        out += m[i];
    }
    return out;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
