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

#if defined(WISP_EPOLL) && !defined(WISP_EPOLL_REACTOR)
/// A loop's readiness set. Each connection socket joins it once, edge-triggered for reading and
/// writing, and stays until it closes: no system call per wait, unlike a reactor that re-arms
/// a descriptor before every wait (Asio 1.22's epoll_reactor::start_op does an
/// epoll_ctl(MOD) per non-speculative wait).
class ReadySet {
public:
    ReadySet() noexcept : fd_(::epoll_create1(EPOLL_CLOEXEC)) {}
    ReadySet(const ReadySet&) = delete;
    ReadySet& operator=(const ReadySet&) = delete;
    /// The set's descriptor (-1 if it could not be created).
    int fd() const noexcept { return fd_; }
    ~ReadySet() { close(); }
    /// Gives the set up: every add() fails from now on.
    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    bool add(int fd, void* tag) noexcept {
        if (fd_ < 0) return false;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = tag;
        return ::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
    }
    /// Before the socket closes (a descriptor shared with a child process would stay in the set).
    void remove(int fd) noexcept {
        epoll_event ev{};
        ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, &ev);
    }
    /// The sockets ready now, without waiting: at most `max`.
    int take(epoll_event* events, int max) noexcept {
        for (;;) {
            const int n = ::epoll_wait(fd_, events, max, 0);
            if (n >= 0) return n;
            if (errno != EINTR) return 0;
        }
    }

private:
    int fd_;
};

#endif

#ifdef WISP_EPOLL
/// The loop's side of the ready set. With the epoll Reactor the set is the Reactor's own, and
/// each wait hands its connection sockets here. Otherwise the set's own descriptor is watched
/// through Asio's reactor (which keeps timers, posted work, the acceptor and signals) and each
/// wakeup takes every ready socket without waiting (up to 256 at a time).
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
    /// Stops waiting for the set (the loop is ending). Nothing with the epoll Reactor, whose
    /// connection sockets never keep run() going.
    void stop();

private:
#ifndef WISP_EPOLL_REACTOR
    void on_poll();
#endif
    /// What one wait reported for connection sockets.
    void on_events(epoll_event* events, int n);
    void bury();

    Loop& loop_;
#ifndef WISP_EPOLL_REACTOR
    ReadySet set_;
    ReactorWatch wait_;   ///< the set's descriptor, until stop()
#endif
    bool graves_posted_ = false;
    std::vector<TransportOwner*> graves_, burying_;
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
