// SPDX-License-Identifier: MIT
// wisp/detail/static_files_impl.hpp — serve_file's body: the path checked and resolved under the
// root (static_path.hpp), the file's size, type and bytes.
// Must not know: routing (the route's `**` capture is read from the request).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/static_files.hpp>
#include <wisp/detail/mime.hpp>
#include <wisp/detail/static_path.hpp>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN

namespace detail {

inline Response serve_file_at(const Request& req, const FsPath& root,
                              const StaticOptions& options) {
    std::string_view raw = req.path();
    for (const RouteParam& p : req.params())
        if (p.name == "_") raw = p.raw;   // `**` capture, still encoded
    std::string relative;
    switch (safe_relative_path(raw, relative)) {
        case PathCheck::ok:
            break;
        case PathCheck::bad_request:
            return status(400);
        case PathCheck::not_found_or_forbidden:
            return status(404);
    }
    const auto full = resolve_under(root, relative);
    if (!full) return status(404);
    const std::optional<std::uintmax_t> file_size = regular_file_size(*full);
    if (!file_size) return status(404);
    const std::uintmax_t size = *file_size;
    if (size > options.max_file_bytes) return status(413);

    Response res(200, {}, mime_type(relative));
    // A file the body string cannot hold is too large whatever max_file_bytes says; with a
    // 32-bit size_t the cast below would otherwise keep only the size's low bits, and a 4 GiB
    // file would be served as its first few bytes.
    if (size > res.body.max_size()) return status(413);
    if (!options.cache_control.empty()) res.headers.set("Cache-Control", options.cache_control);
    std::FILE* f = open_file(*full);
    if (f == nullptr) return status(404);
    res.body.resize(static_cast<std::size_t>(size));
    const std::size_t got = res.body.empty() ? 0 : std::fread(&res.body[0], 1, res.body.size(), f);
    std::fclose(f);
    if (got != res.body.size()) return status(500);   // truncated while reading
    return res;
}

}   // namespace detail

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
WISP_DEF Response detail::serve_file_in(const Request& req, std::string_view root,
                                        const StaticOptions& options) {
    return serve_file_at(req, FsPath(root), options);
}
#ifdef _WIN32
WISP_DEF Response detail::serve_file_in(const Request& req, std::wstring_view root,
                                        const StaticOptions& options) {
    return serve_file_at(req, FsPath(root), options);
}
#endif
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
