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
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#ifdef _WIN32
#include <filesystem>   // wide names; POSIX paths are bytes, resolved with realpath
#include <iterator>
#include <system_error>
#else
#include <cerrno>
#include <stdlib.h>   // realpath
#include <sys/stat.h>
#endif

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

#ifdef _WIN32
using FsPath = std::filesystem::path;   ///< a file's name as the system spells it: wide here
#else
using FsPath = std::string;   ///< POSIX paths are bytes
#endif

/// Joins `relative` (a safe_relative_path result, UTF-8) to `root` and returns the joined path
/// after weakly_canonical, or nullopt when it is not under canonical(root) (a symlink that
/// escapes the root, a ".." slipped in) or the filesystem reports an error (e.g. no root).
/// The file itself need not exist. A symlink changed after this check is not caught.
inline std::optional<FsPath> resolve_under(const FsPath& root, std::string_view relative);

/// True when `path` equals `root` or lies below it, comparing whole path elements
/// ("/srv/www2" is not under "/srv/www"). Lexical: both should be canonical.
#ifdef _WIN32
inline bool path_is_under(const FsPath& path, const FsPath& root);
#else
inline bool path_is_under(std::string_view path, std::string_view root);
#endif

/// The size of the regular file `path` names (symlinks followed), or nullopt when it is
/// missing, not a regular file, or the system reports an error.
inline std::optional<std::uintmax_t> regular_file_size(const FsPath& path);

/// `path` opened for reading bytes, or nullptr.
inline std::FILE* open_file(const FsPath& path);

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

#ifdef _WIN32
inline bool path_is_under(const FsPath& path, const FsPath& root) {
    auto p = path.begin();
    for (auto r = root.begin(); r != root.end(); ++r, ++p) {
        // A trailing separator of root shows up as an empty final element.
        if (r->empty() && std::next(r) == root.end()) return true;
        if (p == path.end() || *p != *r) return false;
    }
    return true;
}

inline std::optional<FsPath> resolve_under(const FsPath& root, std::string_view relative) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (ec) return std::nullopt;
#ifdef __cpp_char8_t
    const fs::path rel(std::u8string(relative.begin(), relative.end()));
#else
    const fs::path rel = fs::u8path(relative.begin(), relative.end());
#endif
    if (rel.has_root_name() || rel.has_root_directory()) return std::nullopt;
    fs::path full = fs::weakly_canonical(base / rel, ec);
    if (ec || !path_is_under(full, base)) return std::nullopt;
    return full;
}

inline std::optional<std::uintmax_t> regular_file_size(const FsPath& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec) || ec) return std::nullopt;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return std::nullopt;
    return size;
}

inline std::FILE* open_file(const FsPath& path) {
    return ::_wfopen(path.c_str(), L"rb");   // a narrow name is in the ANSI code page
}
#else
/// The elements of a POSIX path as std::filesystem::path iterates them: "/" first when the
/// path is absolute, repeated separators as one, "" for a trailing separator.
class PathElements {
public:
    explicit PathElements(std::string_view path) : path_(path) {}
    bool next(std::string_view& out) {
        const std::size_t n = path_.size();
        if (i_ > n) return false;
        if (i_ == 0 && n != 0 && path_[0] == '/') {
            out = std::string_view(path_.data(), 1);
            i_ = skip_separators(0);
            if (i_ == n) i_ = n + 1;
            return true;
        }
        if (i_ == n) {   // past the separators that ended the path, or an empty path
            i_ = n + 1;
            if (n == 0) return false;
            out = std::string_view();
            return true;
        }
        std::size_t end = path_.find('/', i_);
        if (end == std::string_view::npos) end = n;
        out = path_.substr(i_, end - i_);
        i_ = end == n ? n + 1 : skip_separators(end);
        return true;
    }

private:
    std::size_t skip_separators(std::size_t i) const {
        while (i < path_.size() && path_[i] == '/') ++i;
        return i;
    }
    std::string_view path_;
    std::size_t i_ = 0;
};

inline bool path_is_under(std::string_view path, std::string_view root) {
    PathElements p(path), r(root);
    std::string_view pe, re;
    bool more = r.next(re);
    while (more) {
        const std::string_view element = re;
        more = r.next(re);
        // A trailing separator of root shows up as an empty final element.
        if (element.empty() && !more) return true;
        if (!p.next(pe) || pe != element) return false;
    }
    return true;
}

/// realpath(3): `path` with every symlink, "." and ".." resolved, or nullopt.
inline std::optional<std::string> real_path(const std::string& path) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return std::nullopt;
    std::string out(resolved);
    ::free(resolved);
    return out;
}

inline std::optional<FsPath> resolve_under(const FsPath& root, std::string_view relative) {
    const std::optional<std::string> base = real_path(root);
    if (!base) return std::nullopt;
    if (!relative.empty() && relative.front() == '/') return std::nullopt;
    // std::filesystem::weakly_canonical(base / relative): the longest leading part that exists
    // made canonical, the rest appended, then normalized lexically.
    std::string joined = *base;
    if (joined.back() != '/') joined += '/';
    joined.append(relative.data(), relative.size());
    std::string existing;   // the leading elements that exist, as written
    PathElements elements(joined);
    std::string_view element;
    bool more = elements.next(element);
    for (; more; more = elements.next(element)) {
        std::string candidate = existing;
        if (!candidate.empty() && candidate.back() != '/') candidate += '/';
        candidate.append(element.data(), element.size());
        struct stat st;
        if (::stat(candidate.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) break;
            return std::nullopt;
        }
        existing.swap(candidate);
    }
    std::optional<std::string> full = real_path(existing);
    if (!full) return std::nullopt;
    // Normalize what did not exist: "." dropped, ".." takes back one element (none at "/"),
    // a separator kept at the end when the last element was "", "." or "..".
    bool trailing = false;
    for (; more; more = elements.next(element)) {
        trailing = element.empty() || element == "." || element == "..";
        if (element == "..") {
            const std::size_t slash = full->rfind('/');
            full->resize(slash == 0 ? 1 : slash);
        } else if (!trailing) {
            if (full->back() != '/') *full += '/';
            full->append(element.data(), element.size());
        }
    }
    if (trailing && full->back() != '/') *full += '/';
    if (!path_is_under(*full, *base)) return std::nullopt;
    return full;
}

inline std::optional<std::uintmax_t> regular_file_size(const FsPath& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return static_cast<std::uintmax_t>(st.st_size);
}

inline std::FILE* open_file(const FsPath& path) { return std::fopen(path.c_str(), "rb"); }
#endif
}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
