// SPDX-License-Identifier: MIT
// wisp/config.hpp — version, versioned namespace and the documented WISP_* switches.
//
// Every macro a user may set or read, in one place (tests/headers/check_macros.py keeps this list
// and tools/single_header.py's PUBLIC_MACROS in step; every other WISP_* macro is internal and is
// #undef'd at the end of the single header):
//   Set before including wisp (all optional):
//     WISP_JSON               <wisp/json.hpp>'s helpers over nlohmann/json (off by default).
//     WISP_NO_EXCEPTIONS      wisp never throws or catches; set automatically under
//                             -fno-exceptions. Asio then runs with ASIO_NO_EXCEPTIONS.
//     WISP_CUSTOM_ASIO_THROW  you define asio::detail::throw_exception yourself (only read
//                             without exceptions); by default wisp's prints and aborts.
//     WISP_DEFLATE            permessage-deflate (RFC 7692) for WebSocket routes that ask for it
//                             (WsOptions::deflate): includes <zlib.h>, link with -lz (Debian:
//                             zlib1g-dev). Off by default; without it every offer is declined
//                             and nothing needs zlib. Define it alike in every translation unit.
//     WISP_NO_EPOLL           on Linux, connection sockets wait through Asio's reactor like
//                             on other systems, instead of an edge-triggered epoll set of
//                             each loop's own (the default there; it saves a system call
//                             per read and Asio's state per connection), and each loop runs
//                             on Asio's io_context instead of waiting in that set itself.
//     WISP_TLS                HTTPS and wss:// (App::listen_tls, <wisp/tls.hpp>) over
//                             OpenSSL 3, which it then includes; link -lssl -lcrypto
//                             (Debian: libssl-dev). Off by default: without it nothing
//                             includes OpenSSL and listen_tls reports errc::tls_unavailable.
//     WISP_REDIS              the Redis bridge (<wisp/redis.hpp>: RedisBridge, App::bridge)
//                             over hiredis, which it then includes; link -lhiredis (Debian:
//                             libhiredis-dev). Off by default: without it nothing includes
//                             hiredis and App::bridge reports errc::redis_unavailable.
//     WISP_COMPILE_ONCE       compile-once mode (README: "Compile time"): wisp's headers give
//                             declarations and the templates handlers need, never the engine
//                             (no Asio, no OpenSSL, no hiredis). Define it in every file of the
//                             program, alike, with the same WISP_* switches.
//     WISP_IMPLEMENTATION     in exactly one .cpp of a compile-once program, before including
//                             wisp: that file compiles the engine (and implies
//                             WISP_COMPILE_ONCE). Without either macro wisp is header-only.
//   Defined by wisp, to read:
//     WISP_VERSION_MAJOR, WISP_VERSION_MINOR, WISP_VERSION_PATCH, WISP_VERSION_STRING
//     WISP_SINGLE_HEADER      1 when compiled from the single header.
//   Asio configuration wisp sets when the user has not (kept defined, so a later Asio include
//   sees the same configuration): ASIO_STANDALONE, ASIO_NO_DEPRECATED, ASIO_NO_EXCEPTIONS
//   (without exceptions), ASIO_NO_TYPEID (without RTTI). Only where wisp uses Asio: not on
//   Linux, unless WISP_NO_EPOLL.
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

// ---- header-only or compile-once ------------------------------------------------
// Header-only (the default): every definition is inline, in every file that includes wisp.
// Compile-once: the files with WISP_COMPILE_ONCE stop at the declarations (the public headers'
// `// wisp: definitions` includes are skipped), and the one with WISP_IMPLEMENTATION also
// compiles the engine, where WISP_DEF makes the definitions that the other files call plain
// (not inline) so they are emitted there once.
#if defined(WISP_IMPLEMENTATION) && !defined(WISP_COMPILE_ONCE)
#define WISP_COMPILE_ONCE 1
#endif
#if !defined(WISP_COMPILE_ONCE) || defined(WISP_IMPLEMENTATION)
#define WISP_WITH_ENGINE 1
#endif
#ifdef WISP_IMPLEMENTATION
#define WISP_DEF
#else
#define WISP_DEF inline
#endif

// ---- exceptions ---------------------------------------------------------------
// WISP_NO_EXCEPTIONS: wisp never throws and never catches. Defined automatically when the
// compiler runs without exception support (-fno-exceptions); a user may define it too.
#if !defined(WISP_NO_EXCEPTIONS) && \
    !(defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND))
#define WISP_NO_EXCEPTIONS 1
#endif

// ---- readiness of connection sockets -------------------------------------------
#if defined(__linux__) && !defined(WISP_NO_EPOLL)
#define WISP_EPOLL 1
#endif
// The loop itself waits in that epoll set (reactor_epoll.hpp), without Asio, the Redis link's
// sockets too (redis_socket.hpp); elsewhere it runs on Asio's io_context (reactor_asio.hpp).
#if defined(WISP_EPOLL)
#define WISP_EPOLL_REACTOR 1
#endif

// ---- optional JSON helpers ----------------------------------------------------
// WISP_JSON: define it (before including wisp) to get <wisp/json.hpp>'s helpers over
// nlohmann/json (Debian: nlohmann-json3-dev), which it then includes. Off by default: the
// core never needs a JSON library.

// ---- optional TLS -----------------------------------------------------------------
// WISP_TLS: define it (before including wisp; meson: -Dtls=enabled) for HTTPS and wss:// over
// OpenSSL 3. Only <wisp/detail/tls_context.hpp> includes OpenSSL.

// ---- where definitions come in -------------------------------------------------
// Every wisp header sets WISP_IN_HEADER while it is being read (push_macro / pop_macro around
// its text). A public header that declares what the engine defines (request.hpp, response.hpp,
// websocket.hpp, event_stream.hpp) includes <wisp/detail/engine.hpp> at its end only when
// WISP_IN_HEADER is unset there, that is, when it is the outermost wisp header of the
// translation unit: its declarations (and those of every header it includes) are complete by
// then, so each public header compiles and links on its own, and each internal one still
// compiles alone. The single header has no such lines (tools/single_header.py orders
// everything once).
// A virtual function defined after its class is declared `inline` in the class: otherwise it is
// the class's key function (Itanium C++ ABI), and every file that includes wisp would emit the
// vtable and, through it, the whole engine (tests/headers/check_key_functions.py).

// ---- internal helpers (undefined again at the end of the single header) ---------
// Around a third-party include (Asio, OpenSSL, hiredis): their own warnings must not reach
// users who build with -Wall -Wextra -Wpedantic -Werror; wisp's code keeps its warnings.
#if defined(__clang__)
#define WISP_THIRD_PARTY_BEGIN                                                     \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wall\"") \
        _Pragma("clang diagnostic ignored \"-Wextra\"")                            \
            _Pragma("clang diagnostic ignored \"-Wpedantic\"")                     \
                _Pragma("clang diagnostic ignored \"-Wshadow\"")                   \
                    _Pragma("clang diagnostic ignored \"-Wconversion\"")           \
                        _Pragma("clang diagnostic ignored \"-Wsign-conversion\"")  \
                            _Pragma("clang diagnostic ignored \"-Wunused-parameter\"")
#define WISP_THIRD_PARTY_END _Pragma("clang diagnostic pop")
#elif defined(__GNUC__)
#define WISP_THIRD_PARTY_BEGIN                                                      \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"") \
        _Pragma("GCC diagnostic ignored \"-Wshadow\"")                              \
            _Pragma("GCC diagnostic ignored \"-Wconversion\"")                      \
                _Pragma("GCC diagnostic ignored \"-Wsign-conversion\"")             \
                    _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")        \
                        _Pragma("GCC diagnostic ignored \"-Wnon-virtual-dtor\"")
#define WISP_THIRD_PARTY_END _Pragma("GCC diagnostic pop")
#else
#define WISP_THIRD_PARTY_BEGIN
#define WISP_THIRD_PARTY_END
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WISP_LIKELY(x) __builtin_expect(!!(x), 1)
#define WISP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WISP_NOINLINE __attribute__((noinline))
#else
#define WISP_LIKELY(x) (x)
#define WISP_UNLIKELY(x) (x)
#define WISP_NOINLINE
#endif
