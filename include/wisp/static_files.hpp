// SPDX-License-Identifier: MIT
// wisp/static_files.hpp — serving files from a directory.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/mime.hpp>
#include <wisp/detail/static_path.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

WISP_NAMESPACE_BEGIN

/// How serve_file answers.
struct StaticOptions {
    /// Files larger than this, or than a std::string can hold, get 413 instead of being read
    /// into memory.
    std::uint64_t max_file_bytes = 64ull * 1024 * 1024;
    /// Sent with every file; empty for none.
    std::string cache_control = "no-cache";
};

/// Answers `req` with a file from directory `root`: the part of the path captured by the
/// route's `**` (or the whole path when the route has none) names the file, `index.html` for
/// a directory path ending in '/'. Content-Type comes from the extension. Traversal in any
/// spelling (`..`, `%2e%2e`, `..%2f`, `%5c`, absolute paths, symlinks leaving root) and missing
/// or unreadable files answer 404; a malformed %-escape 400; a non-regular file 404.
/// Usage: `app.get("/static/**", [](wisp::Request& r) { return wisp::serve_file(r, "public"); });`
Response serve_file(const Request& req, const std::filesystem::path& root,
                    const StaticOptions& options = {});

// ---- implementation -------------------------------------------------------

inline Response serve_file(const Request& req, const std::filesystem::path& root,
                           const StaticOptions& options) {
    std::string_view raw = req.path();
    for (const RouteParam& p : req.params())
        if (p.name == "_") raw = p.raw;   // `**` capture, still encoded
    std::string relative;
    switch (detail::safe_relative_path(raw, relative)) {
        case detail::PathCheck::ok:
            break;
        case detail::PathCheck::bad_request:
            return status(400);
        case detail::PathCheck::not_found_or_forbidden:
            return status(404);
    }
    const auto full = detail::resolve_under(root, relative);
    if (!full) return status(404);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*full, ec) || ec) return status(404);
    const std::uintmax_t size = std::filesystem::file_size(*full, ec);
    if (ec) return status(404);
    if (size > options.max_file_bytes) return status(413);

    Response res(200, {}, detail::mime_type(relative));
    // A file the body string cannot hold is too large whatever max_file_bytes says; with a
    // 32-bit size_t the cast below would otherwise keep only the size's low bits, and a 4 GiB
    // file would be served as its first few bytes.
    if (size > res.body.max_size()) return status(413);
    if (!options.cache_control.empty()) res.headers.set("Cache-Control", options.cache_control);
#ifdef _WIN32
    std::FILE* f = ::_wfopen(full->c_str(), L"rb");   // a narrow name is in the ANSI code page
#else
    std::FILE* f = std::fopen(full->string().c_str(), "rb");
#endif
    if (f == nullptr) return status(404);
    res.body.resize(static_cast<std::size_t>(size));
    const std::size_t got = res.body.empty() ? 0 : std::fread(&res.body[0], 1, res.body.size(), f);
    std::fclose(f);
    if (got != res.body.size()) return status(500);   // truncated while reading
    return res;
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
