// SPDX-License-Identifier: MIT
// wisp/detail/poller.hpp — how one loop learns that its sockets are ready, per backend.
// Owns: on Linux, the loop's edge-triggered epoll set (each socket joins it once, for its
// lifetime) and the references that keep a socket's owner alive while a batch of events may
// name it; elsewhere (and with WISP_NO_EPOLL) nothing, since Asio's reactor waits per socket.
// Must not know: connections, sessions or protocols. Connection sockets' backend #ifs live here
// and in socket_transport.hpp only (the loop's: reactor.hpp, acceptor.hpp, signal_watch.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/reactor.hpp>
#include <wisp/detail/transport.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#ifdef WISP_EPOLL
#include <cerrno>
#include <sys/epoll.h>
#include <unistd.h>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

class Loop;
class SocketTransport;

#ifdef WISP_EPOLL
/// The loop's side of the ready set: the epoll Reactor's own set, each wait of which hands its
/// connection sockets here.
class Poller {
public:
    explicit Poller(Loop& loop);
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;
    ~Poller();

    /// Adds `fd` (tagged with `t`) to the set for its lifetime, holding `owner` until forget().
    bool watch(int fd, SocketTransport& t, TransportOwner& owner);
    /// Takes `fd` out of the set before it closes. `owner` is let go once the current handler
    /// is done, since the batch of events being handled may still name it.
    void forget(int fd, TransportOwner& owner);
    /// The loop is ending: nothing to stop, connection sockets never keep the Reactor's run()
    /// going.
    void stop();

private:
    /// What one wait reported for connection sockets.
    void on_events(epoll_event* events, int n);
    void bury();

    Loop& loop_;
    bool graves_posted_ = false;
    PodVector<TransportOwner*> graves_, burying_;
};
#else
/// Asio's reactor waits for each socket (SocketTransport::want_read / want_write): nothing
/// per loop.
class Poller {
public:
    explicit Poller(Loop&) noexcept {}
    void stop() noexcept {}
};
#endif

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
