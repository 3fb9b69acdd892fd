// SPDX-License-Identifier: MIT
// wisp/config.hpp — version, versioned namespace and the documented WISP_* switches.
#pragma once

// ---- version ----------------------------------------------------------------
#define WISP_VERSION_MAJOR 0
#define WISP_VERSION_MINOR 1
#define WISP_VERSION_PATCH 0
#define WISP_VERSION_STRING "0.1.0"

// ---- versioned namespace ----------------------------------------------------
// Every declaration lives in wisp::v0_1 (inline), so two vendored copies of different
// versions link into one program without colliding.
#define WISP_NAMESPACE_BEGIN \
    namespace wisp {         \
    inline namespace v0_1 {
#define WISP_NAMESPACE_END \
    }                      \
    }

// ---- exceptions ---------------------------------------------------------------
// WISP_NO_EXCEPTIONS: wisp never throws and never catches. Defined automatically when the
// compiler runs without exception support (-fno-exceptions); a user may define it too.
#if !defined(WISP_NO_EXCEPTIONS) && \
    !(defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND))
#define WISP_NO_EXCEPTIONS 1
#endif

// ---- optional JSON helpers ----------------------------------------------------
// WISP_JSON: define it (before including wisp) to get <wisp/json.hpp>'s helpers over
// nlohmann/json (Debian: nlohmann-json3-dev), which it then includes. Off by default: the
// core never needs a JSON library.

// ---- internal helpers (undefined again at the end of the single header) ---------
#if defined(__GNUC__) || defined(__clang__)
#define WISP_LIKELY(x) __builtin_expect(!!(x), 1)
#define WISP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WISP_LIKELY(x) (x)
#define WISP_UNLIKELY(x) (x)
#endif
