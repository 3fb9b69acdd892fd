// SPDX-License-Identifier: MIT
// wisp/detail/redis_socket.hpp — one outgoing TCP connection of the Redis link on the loop's
// Reactor, one backend per build (config.hpp: WISP_EPOLL_REACTOR): a non-blocking socket watched
// in the epoll set (connect finished on writability, reads on readability, writes tried at once
// and then on writability), or Asio's socket. No result is given inside the call that asked
// for it; close() drops what was pending.
// Owns: the descriptor, the resolution of the host (resolve.hpp or Asio's resolver).
// Must not know: RESP, the link's states (redis_link.hpp).
// Without WISP_REDIS nothing here is compiled.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>

#ifdef WISP_REDIS
#include <wisp/detail/asio.hpp>   // empty under WISP_EPOLL_REACTOR
#include <wisp/detail/reactor.hpp>
#include <wisp/detail/resolve.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#ifdef WISP_EPOLL_REACTOR
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

#ifdef WISP_EPOLL_REACTOR
/// Where the link connects: the first address its host resolved to.
using RedisAddress = SocketAddress;
#else
using RedisAddress = tcp::endpoint;
#endif

/// Resolves `host` (blocking: the bridge is made before the loops run); empty with `why` if not.
inline std::optional<RedisAddress> resolve_redis_address(const std::string& host,
                                                         std::uint16_t port, std::string& why);

/// One connection; the link makes a new one per attempt. Loop thread only.
/// Completions: connect fn(ec); read_some and write_some fn(ec, bytes), where a read of 0
/// bytes without an error means the server closed the connection.
class RedisSocket {
public:
    explicit RedisSocket(Reactor& r);
    RedisSocket(const RedisSocket&) = delete;
    RedisSocket& operator=(const RedisSocket&) = delete;
    ~RedisSocket() { close(); }

    template <class F>
    void connect(const RedisAddress& to, F fn);
    /// At most `size` bytes into `data`, which stays valid until fn runs or close().
    template <class F>
    void read_some(char* data, std::size_t size, F fn);
    /// Some of `size` bytes from `data`, which stays valid until fn runs or close().
    template <class F>
    void write_some(const char* data, std::size_t size, F fn);
    /// Once connected: Nagle off (commands go as soon as they are written).
    void no_delay() noexcept;
    /// The pending completions never run.
    void close() noexcept;

private:
#ifdef WISP_EPOLL_REACTOR
    using Done = std::function<void(const std::error_code&, std::size_t)>;
    static std::error_code last_error() noexcept { return {errno, std::system_category()}; }
    /// Posts `fn`'s call with the result; the slot is empty after.
    void complete(Done& fn, std::error_code ec, std::size_t n);
    void on_ready();
    void try_read();
    void try_write();
    /// Watches for `events` (EPOLLIN, EPOLLOUT; none: not at all); what is pending fails if
    /// epoll refuses.
    void watch(std::uint32_t events);

    Reactor& r_;
    ReactorWatch watch_;
    int fd_ = -1;
    std::uint32_t events_ = 0;   ///< what watch_ waits for
    Done connect_, read_, write_;
    char* read_data_ = nullptr;
    std::size_t read_size_ = 0;
    const char* write_data_ = nullptr;
    std::size_t write_size_ = 0;
#else
    tcp_socket s_;
#endif
};

// ---- implementation -------------------------------------------------------
#ifdef WISP_EPOLL_REACTOR
inline std::optional<RedisAddress> resolve_redis_address(const std::string& host,
                                                         std::uint16_t port, std::string& why) {
    RedisAddress a;
    if (const ResolveError e = resolve_first(host, port, a)) {
        why = e.text();
        return std::nullopt;
    }
    return a;
}

inline RedisSocket::RedisSocket(Reactor& r) : r_(r), watch_(r) {}

template <class F>
void RedisSocket::connect(const RedisAddress& to, F fn) {
    close();
    connect_ = [fn = std::move(fn)](const std::error_code& ec, std::size_t) mutable { fn(ec); };
    fd_ = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return complete(connect_, last_error(), 0);
    const int rc = ::connect(fd_, to.get(), to.size);
    if (rc == 0) return complete(connect_, {}, 0);
    // Interrupted, the connection still goes on: either way it is done when writable.
    if (errno != EINPROGRESS && errno != EINTR) return complete(connect_, last_error(), 0);
    watch(events_ | EPOLLOUT);
}

template <class F>
void RedisSocket::read_some(char* data, std::size_t size, F fn) {
    read_ = std::move(fn);
    read_data_ = data;
    read_size_ = size;
    watch(events_ | EPOLLIN);
}

template <class F>
void RedisSocket::write_some(const char* data, std::size_t size, F fn) {
    write_ = std::move(fn);
    write_data_ = data;
    write_size_ = size;
    if (fd_ >= 0 && !connect_) try_write();   // the socket usually has room: no wait for it
    if (write_) watch(events_ | EPOLLOUT);
}

inline void RedisSocket::no_delay() noexcept {
    const int yes = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}

inline void RedisSocket::close() noexcept {
    watch_.stop();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    events_ = 0;
    connect_ = nullptr;
    read_ = nullptr;
    write_ = nullptr;
}

inline void RedisSocket::complete(Done& fn, std::error_code ec, std::size_t n) {
    r_.post([fn = std::move(fn), ec, n]() mutable { fn(ec, n); });
    fn = nullptr;
}

inline void RedisSocket::on_ready() {
    const std::uint32_t ready = watch_.ready();
    const bool failed = (ready & (EPOLLERR | EPOLLHUP)) != 0;
    // Level-triggered: a readiness nobody waits for would end every wait, so it is not watched
    // any more once seen (kept while taken: the link reads again right after each read).
    std::uint32_t idle = 0;
    if ((ready & EPOLLIN) && !read_) idle |= EPOLLIN;
    if ((ready & EPOLLOUT) && !write_ && !connect_) idle |= EPOLLOUT;
    if (failed && !read_ && !write_ && !connect_) idle = EPOLLIN | EPOLLOUT;
    if (connect_) {
        if ((ready & EPOLLOUT) || failed) {
            int err = 0;
            socklen_t size = sizeof err;
            if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &size) != 0) err = errno;
            // Now, not posted: a request that came in the same wait (the watches go first) finds
            // the link up, as when Asio ran the connect's handler. This may close the socket.
            Done fn = std::move(connect_);
            connect_ = nullptr;
            fn(err ? std::error_code(err, std::system_category()) : std::error_code(), 0);
        }
        return;   // the connection's other readiness is for the next wait
    } else {
        if (write_ && ((ready & EPOLLOUT) || failed)) try_write();
        if (read_ && ((ready & EPOLLIN) || failed)) try_read();
    }
    if (idle != 0) watch(events_ & ~idle);
}

inline void RedisSocket::try_read() {
    ssize_t n;
    do {
        n = ::recv(fd_, read_data_, read_size_, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) complete(read_, last_error(), 0);
    else complete(read_, {}, static_cast<std::size_t>(n));
}

inline void RedisSocket::try_write() {
    ssize_t n;
    do {
        n = ::send(fd_, write_data_, write_size_, MSG_NOSIGNAL);   // no SIGPIPE
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) complete(write_, last_error(), 0);
    else complete(write_, {}, static_cast<std::size_t>(n));
}

inline void RedisSocket::watch(std::uint32_t events) {
    if (fd_ < 0 || events == events_) return;
    bool ok = true;
    if (events == 0) watch_.stop();
    else if (!watch_.started())
        ok = watch_.start(
            fd_, [this] { on_ready(); }, events);
    else ok = watch_.change(events);
    if (ok) {
        events_ = events;
        return;
    }
    const std::error_code ec = last_error();
    for (Done* d : {&connect_, &read_, &write_})
        if (*d) complete(*d, ec, 0);
}
#else
inline std::optional<RedisAddress> resolve_redis_address(const std::string& host,
                                                         std::uint16_t port, std::string& why) {
    std::error_code ec;
    net::io_context io(1);
    tcp_resolver resolver(io);
    auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) {
        why = ec ? ec.message() : std::string("no address");
        return std::nullopt;
    }
    return found.begin()->endpoint();
}

inline RedisSocket::RedisSocket(Reactor& r) : s_(r.io().get_executor()) {}

template <class F>
void RedisSocket::connect(const RedisAddress& to, F fn) {
    s_.async_connect(to, std::move(fn));
}

template <class F>
void RedisSocket::read_some(char* data, std::size_t size, F fn) {
    s_.async_read_some(net::buffer(data, size),
                       [fn = std::move(fn)](const std::error_code& ec, std::size_t n) mutable {
                           if (ec == net::error::eof) fn(std::error_code(), 0);
                           else fn(ec, n);
                       });
}

template <class F>
void RedisSocket::write_some(const char* data, std::size_t size, F fn) {
    s_.async_write_some(net::buffer(data, size), std::move(fn));
}

inline void RedisSocket::no_delay() noexcept {
    std::error_code ignored;
    s_.set_option(tcp::no_delay(true), ignored);
}

inline void RedisSocket::close() noexcept {
    std::error_code ignored;
    s_.close(ignored);
}
#endif

}   // namespace detail
WISP_NAMESPACE_END
#endif   // WISP_REDIS
#pragma pop_macro("WISP_IN_HEADER")
