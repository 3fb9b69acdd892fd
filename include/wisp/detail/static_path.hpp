// SPDX-License-Identifier: MIT
// wisp/detail/static_path.hpp — safe resolution of a request path under a root directory.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/url.hpp>
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

WISP_NAMESPACE_BEGIN
namespace detail {

enum class PathCheck {
    ok,                       ///< out_relative holds a safe relative path
    not_found_or_forbidden,   ///< a traversal or otherwise unsafe shape: answer 404
    bad_request,              ///< a malformed %-escape: answer 400
};

/// Turns the %-encoded request path that follows a static route's prefix into a relative file
/// path, deciding safety on the string alone (no filesystem access).
/// Leading '/' are dropped; the rest is decoded exactly once ("%252e" stays the name "%2e"),
/// then split at '/' (decoded ones too: "..%2f" is ".." then a separator). Forbidden (the
/// caller answers 404, never saying why): a segment made only of dots ("." "..", "..."), an
/// empty segment ("a//b"), a '\\', a ':' (drive letters, NTFS streams), NUL or any other
/// control byte, and a path that is still absolute after decoding ("%2Fetc"). An empty path,
/// or one ending in '/', names `index.html` in that directory. Returns e.g. "css/site.css".
inline PathCheck safe_relative_path(std::string_view raw_request_path, std::string& out_relative);

/// Joins `relative` (a safe_relative_path result, UTF-8) to `root` and returns the joined path
/// after weakly_canonical, or nullopt when it is not under canonical(root) (a symlink that
/// escapes the root, a ".." slipped in) or the filesystem reports an error (e.g. no root).
/// The file itself need not exist. A symlink changed after this check is not caught.
inline std::optional<std::filesystem::path> resolve_under(const std::filesystem::path& root,
                                                          std::string_view relative);

/// True when `path` equals `root` or lies below it, comparing whole path elements
/// ("/srv/www2" is not under "/srv/www"). Lexical: both should be canonical.
inline bool path_is_under(const std::filesystem::path& path, const std::filesystem::path& root);

// ---- implementation -------------------------------------------------------

inline PathCheck safe_relative_path(std::string_view raw, std::string& out) {
    out.clear();
    while (!raw.empty() && raw.front() == '/') raw.remove_prefix(1);
    if (!percent_decode(raw, out, false)) return PathCheck::bad_request;
    if (!out.empty() && out.front() == '/') return PathCheck::not_found_or_forbidden;
    for (char ch : out) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || ch == '\\' || ch == ':')
            return PathCheck::not_found_or_forbidden;
    }
    // Every segment but a final empty one (the directory's index) must be a plain name.
    std::size_t start = 0;
    while (start < out.size()) {
        std::size_t end = out.find('/', start);
        if (end == std::string::npos) end = out.size();
        const std::string_view seg(out.data() + start, end - start);
        if (seg.empty() || seg.find_first_not_of('.') == std::string_view::npos)
            return PathCheck::not_found_or_forbidden;
        start = end + 1;
    }
    if (out.empty() || out.back() == '/') out += "index.html";
    return PathCheck::ok;
}

inline bool path_is_under(const std::filesystem::path& path, const std::filesystem::path& root) {
    auto p = path.begin();
    for (auto r = root.begin(); r != root.end(); ++r, ++p) {
        // A trailing separator of root shows up as an empty final element.
        if (r->empty() && std::next(r) == root.end()) return true;
        if (p == path.end() || *p != *r) return false;
    }
    return true;
}

inline std::optional<std::filesystem::path> resolve_under(const std::filesystem::path& root,
                                                          std::string_view relative) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (ec) return std::nullopt;
#if defined(_WIN32) && defined(__cpp_char8_t)
    const fs::path rel(std::u8string(relative.begin(), relative.end()));
#elif defined(_WIN32)
    const fs::path rel = fs::u8path(relative.begin(), relative.end());
#else
    const fs::path rel{std::string(relative)};   // POSIX paths are bytes
#endif
    if (rel.has_root_name() || rel.has_root_directory()) return std::nullopt;
    fs::path full = fs::weakly_canonical(base / rel, ec);
    if (ec || !path_is_under(full, base)) return std::nullopt;
    return full;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
