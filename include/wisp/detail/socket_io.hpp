// SPDX-License-Identifier: MIT
// wisp/detail/socket_io.hpp — socket calls without Asio: their results, and on Linux the reads,
// gather writes and readiness set that connection sockets use instead of Asio's reactor.
#pragma once

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>

#ifdef WISP_EPOLL
#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

/// What a non-blocking read or write did.
enum class IoResult : std::uint8_t {
    done,     ///< moved at least one byte
    again,    ///< nothing now: the socket is not ready
    eof,      ///< (read) the peer sent everything it will send
    failed,   ///< the connection is broken
};

#ifdef WISP_EPOLL
/// Reads up to `n` bytes into `p`; `got` is set when done.
inline IoResult fd_read(int fd, char* p, std::size_t n, std::size_t& got) noexcept {
    for (;;) {
        const ssize_t r = ::recv(fd, p, n, 0);
        if (r > 0) {
            got = static_cast<std::size_t>(r);
            return IoResult::done;
        }
        if (r == 0) return IoResult::eof;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult::again : IoResult::failed;
    }
}

/// One gather write of `count` slices; `put` is set when done. Never raises SIGPIPE.
inline IoResult fd_write(int fd, const iovec* slices, std::size_t count, std::size_t& put) noexcept {
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(slices);
    m.msg_iovlen = count;
    for (;;) {
        const ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL);
        if (r >= 0) {
            put = static_cast<std::size_t>(r);
            return IoResult::done;
        }
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult::again : IoResult::failed;
    }
}

/// A loop's readiness set. Each connection socket joins it once, edge-triggered for reading and
/// writing, and stays until it closes: no system call per wait, unlike a reactor that re-arms
/// a descriptor before every wait. The set's own descriptor is waited on through Asio, so
/// timers and posted work stay Asio's.
class ReadySet {
public:
    ReadySet() noexcept : fd_(::epoll_create1(EPOLL_CLOEXEC)) {}
    ReadySet(const ReadySet&) = delete;
    ReadySet& operator=(const ReadySet&) = delete;
    /// The set's descriptor (-1 if it could not be created), owned by whoever takes it.
    int fd() const noexcept { return fd_; }
    /// Gives the set up (nobody could take its descriptor): every add() fails from now on.
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

}  // namespace detail
WISP_NAMESPACE_END
