// SPDX-License-Identifier: MIT
// wisp/static_files.hpp — serving files from a directory.
// Owns: serve_file's contract and options. Must not know: <filesystem> (the engine's
// detail/static_files_impl.hpp reads the files, so a compile-once file never parses it).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

WISP_NAMESPACE_BEGIN

/// How serve_file answers.
struct StaticOptions {
    /// Files larger than this, or than a std::string can hold, get 413 instead of being read
    /// into memory.
    std::uint64_t max_file_bytes = 64ull * 1024 * 1024;
    /// Sent with every file; empty for none.
    std::string cache_control = "no-cache";
};

namespace detail {
/// serve_file with the root directory's name as the system spells it (narrow; on Windows
/// also wide, std::filesystem::path's native form there).
Response serve_file_in(const Request& req, std::string_view root, const StaticOptions& options);
#ifdef _WIN32
Response serve_file_in(const Request& req, std::wstring_view root, const StaticOptions& options);
#endif
}   // namespace detail

/// Answers `req` with a file from directory `root`: the part of the path captured by the
/// route's `**` (or the whole path when the route has none) names the file, `index.html` for
/// a directory path ending in '/'. Content-Type comes from the extension. Traversal in any
/// spelling (`..`, `%2e%2e`, `..%2f`, `%5c`, absolute paths, symlinks leaving root) and missing
/// or unreadable files answer 404; a malformed %-escape 400; a non-regular file 404.
/// Usage: `app.get("/static/**", [](wisp::Request& r) { return wisp::serve_file(r, "public"); });`
/// `root` is a string (a literal, std::string, std::string_view) or a std::filesystem::path.
template <class Root>
Response serve_file(const Request& req, const Root& root, const StaticOptions& options = {}) {
    if constexpr (std::is_convertible_v<const Root&, std::string_view>)
        return detail::serve_file_in(req, std::string_view(root), options);
    else return detail::serve_file_in(req, root.native(), options);   // a std::filesystem::path
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
