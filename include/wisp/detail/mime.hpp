// SPDX-License-Identifier: MIT
// wisp/detail/mime.hpp — Content-Type by file extension, for static files.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// The Content-Type for a file name, a path or a bare extension ("site.css", "a/b.CSS", ".css"
/// and "css" all give "text/css; charset=utf-8"); the extension is compared case-insensitively.
/// A path whose last segment has no '.' has no extension. Unknown: application/octet-stream.
/// Lifetime: the result views a static string.
inline std::string_view mime_type(std::string_view path_or_extension) noexcept;

// ---- implementation -------------------------------------------------------

struct MimeEntry {
    std::string_view extension;   // lower case
    std::string_view type;
};

inline constexpr MimeEntry mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},   // RFC 9239
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},   // RFC 8259: always UTF-8, no charset
    {"map", "application/json"},    // source maps are JSON
    {"txt", "text/plain; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
};

inline bool mime_extension_equals(std::string_view ext, std::string_view lower) noexcept {
    if (ext.size() != lower.size()) return false;
    for (std::size_t i = 0; i < ext.size(); ++i) {
        char c = ext[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

inline std::string_view mime_type(std::string_view path_or_extension) noexcept {
    std::string_view ext = path_or_extension;
    const std::size_t slash = ext.find_last_of("/\\");
    const std::size_t dot = ext.rfind('.');
    if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash))
        ext = ext.substr(dot + 1);
    else if (slash != std::string_view::npos) ext = {};
    for (const MimeEntry& e : mime_table)
        if (mime_extension_equals(ext, e.extension)) return e.type;
    return "application/octet-stream";
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
