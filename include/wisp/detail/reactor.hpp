// SPDX-License-Identifier: MIT
// wisp/detail/reactor.hpp — what one loop's thread waits on: posted work, timers, descriptors.
// Owns: the choice of backend (config.hpp: WISP_EPOLL_REACTOR). Each backend file defines the
// same three types:
//   Reactor       post(fn) from any thread; run() on the loop's thread until release() was
//                 called and nothing is pending; poll() runs what is ready now, without waiting
//                 (the loop's destructor, in-memory tests).
//   ReactorTimer  one-shot: arm(delay, fn) replaces an earlier arm; cancel() means fn never
//                 runs. Loop thread only; armed, it keeps run() running.
//   ReactorWatch  (POSIX) calls fn each time a descriptor that is not a connection's (a
//                 listening socket, the signal pipe, the epoll set itself) is readable, until
//                 stop(). Loop thread only; started, it keeps run() running. The epoll one
//                 also waits for writability (start's events, change(), ready()): the Redis
//                 link's sockets (redis_socket.hpp).
// Must not know: connections, sessions, protocols.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
// Each backend file is empty unless chosen (the single header has both).
#include <wisp/detail/reactor_asio.hpp>
#include <wisp/detail/reactor_epoll.hpp>

#pragma pop_macro("WISP_IN_HEADER")
