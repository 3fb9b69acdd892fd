// SPDX-License-Identifier: MIT
// wisp/detail/asio.hpp — the only file that includes Asio (standalone), with its warnings scoped;
// read only where the loop runs on Asio (reactor_asio.hpp, acceptor.hpp, signal_watch.hpp,
// redis_socket.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>

// The epoll Reactor (config.hpp: WISP_EPOLL_REACTOR) needs no Asio: nothing here then, also in
// the single header.
#ifndef WISP_EPOLL_REACTOR

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE 1
#endif
#ifndef ASIO_NO_DEPRECATED
#define ASIO_NO_DEPRECATED 1
#endif
// Without exceptions (-fno-exceptions, or WISP_NO_EXCEPTIONS) Asio reports the errors it would
// throw through asio::detail::throw_exception, which the program defines: wisp's default, below,
// prints the error and aborts (wisp itself only uses Asio's error_code overloads). Define
// WISP_CUSTOM_ASIO_THROW to supply your own.
#if defined(WISP_NO_EXCEPTIONS) && !defined(ASIO_NO_EXCEPTIONS)
#define ASIO_NO_EXCEPTIONS 1
#endif
// Without RTTI (-fno-rtti) Asio must not use typeid.
#if !defined(ASIO_NO_TYPEID) && !(defined(__GXX_RTTI) || defined(__cpp_rtti) || defined(_CPPRTTI))
#define ASIO_NO_TYPEID 1
#endif

// Asio's own warnings must not reach users who build with -Wall -Wextra -Wpedantic -Werror
// (wisp's own code below keeps its warnings).
WISP_THIRD_PARTY_BEGIN

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/signal_set.hpp>
#include <asio/dispatch.hpp>

WISP_THIRD_PARTY_END

#if defined(ASIO_NO_EXCEPTIONS) && !defined(WISP_CUSTOM_ASIO_THROW)
#include <cstdio>
#include <cstdlib>
namespace asio {
namespace detail {
template <typename Exception>
void throw_exception(const Exception& e) {
    std::fprintf(stderr, "wisp: fatal error inside Asio: %s\n", e.what());
    std::abort();
}
}   // namespace detail
}   // namespace asio
#endif

WISP_NAMESPACE_BEGIN
namespace detail {
namespace net = ::asio;
using tcp = ::asio::ip::tcp;
/// Every I/O object is bound to the io_context's own executor: smaller than the any_io_executor
/// default, and no file that includes wisp instantiates any_io_executor (about a second of
/// compile time at -O0). Name socket options through net::socket_base, not tcp::socket.
using tcp_socket = ::asio::basic_stream_socket<tcp, ::asio::io_context::executor_type>;
using tcp_acceptor = ::asio::basic_socket_acceptor<tcp, ::asio::io_context::executor_type>;
using steady_timer = ::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  ::asio::wait_traits<std::chrono::steady_clock>,
                                                  ::asio::io_context::executor_type>;
using tcp_resolver = ::asio::ip::basic_resolver<tcp, ::asio::io_context::executor_type>;
using signal_set = ::asio::basic_signal_set<::asio::io_context::executor_type>;
}   // namespace detail
WISP_NAMESPACE_END
#endif   // WISP_EPOLL_REACTOR
#pragma pop_macro("WISP_IN_HEADER")
