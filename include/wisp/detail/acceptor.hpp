// SPDX-License-Identifier: MIT
// wisp/detail/acceptor.hpp — a listening TCP socket: open (resolving the host), accept one
// connection at a time for a chosen loop, close. One backend per build, like the Reactor's:
// accept4 on a watched non-blocking socket with the epoll Reactor, Asio's acceptor otherwise.
// Owns: the listening socket, and what an accepted socket is before a transport takes it.
// Must not know: loops, connections, TLS (the App hands accepted sockets on).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/reactor.hpp>
#include <wisp/detail/resolve.hpp>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#ifdef WISP_EPOLL_REACTOR
#include <cerrno>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#else
#include <wisp/detail/asio.hpp>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

#ifdef WISP_EPOLL_REACTOR
/// A socket accept4 gave (non-blocking, close-on-exec) and its peer's address; closed unless a
/// transport takes it (release()).
class AcceptedSocket {
public:
    AcceptedSocket() noexcept = default;
    AcceptedSocket(int fd, const Address& remote) noexcept : fd_(fd), remote_(remote) {}
    AcceptedSocket(AcceptedSocket&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), remote_(o.remote_) {}
    AcceptedSocket& operator=(AcceptedSocket&&) = delete;
    AcceptedSocket(const AcceptedSocket&) = delete;
    ~AcceptedSocket() {
        if (fd_ >= 0) ::close(fd_);
    }
    int release() noexcept { return std::exchange(fd_, -1); }
    const Address& remote() const noexcept { return remote_; }

private:
    int fd_ = -1;
    Address remote_;
};

/// A listening socket watched by loop 0's Reactor.
class Acceptor {
public:
    /// Where a connection (or the error that stopped accepting) goes, with the `context` given
    /// to accept(): a function pointer, not a std::function (issue 25).
    using Done = void (*)(void* context, const std::error_code&, AcceptedSocket);

    explicit Acceptor(Reactor& r) noexcept : watch_(r) {}
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;
    ~Acceptor() { close(); }

    /// Binds `host` (an address, or a name: its first address) and `port`, and listens.
    inline std::error_code open(std::string_view host, std::uint16_t port, bool reuse_address,
                                int backlog);
    /// The bound port (the one chosen, after port 0).
    inline std::uint16_t port() const noexcept;
    /// Calls `done` with the next connection, or with the error that stopped accepting (out of
    /// descriptors: the caller waits, then asks again). Never after close(). `target` is the
    /// Reactor that will own the socket (the Asio backend binds it there).
    void accept(Reactor& /*target*/, Done done, void* context) {
        done_ = done;
        context_ = context;
        if (fd_ >= 0 && !watch_.started()) watch_.start(fd_, [this] { on_ready(); });
    }
    void close() noexcept {
        watch_.stop();
        done_ = nullptr;
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    inline void on_ready();

    int fd_ = -1;
    ReactorWatch watch_;
    Done done_ = nullptr;
    void* context_ = nullptr;
};
#else
/// What Asio's acceptor gives.
using AcceptedSocket = tcp_socket;

/// A listening socket on loop 0's io_context.
class Acceptor {
public:
    explicit Acceptor(Reactor& r) : io_(r.io()), a_(r.io().get_executor()) {}
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    inline std::error_code open(std::string_view host, std::uint16_t port, bool reuse_address,
                                int backlog);
    std::uint16_t port() const noexcept {
        std::error_code ec;
        return a_.local_endpoint(ec).port();
    }
    using Done = void (*)(void* context, const std::error_code&, AcceptedSocket);
    void accept(Reactor& target, Done done, void* context) {
        a_.async_accept(target.io(), [done, context](const std::error_code& ec, tcp_socket sock) {
            if (ec != net::error::operation_aborted) done(context, ec, std::move(sock));
        });
    }
    void close() noexcept {
        std::error_code ec;
        a_.close(ec);
    }

private:
    net::io_context& io_;
    tcp_acceptor a_;
};
#endif

// ---- implementation -------------------------------------------------------
#ifdef WISP_EPOLL_REACTOR
/// The address in `ss` (IPv4 or IPv6).
inline Address address_of(const sockaddr_storage& ss) noexcept {
    if (ss.ss_family == AF_INET) {
        sockaddr_in a;
        std::memcpy(&a, &ss, sizeof a);
        std::array<std::uint8_t, 4> b;
        std::memcpy(b.data(), &a.sin_addr, 4);
        return Address::v4(b, ntohs(a.sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        sockaddr_in6 a;
        std::memcpy(&a, &ss, sizeof a);
        std::array<std::uint8_t, 16> b;
        std::memcpy(b.data(), &a.sin6_addr, 16);
        return Address::v6(b, ntohs(a.sin6_port));
    }
    return {};
}

inline std::error_code Acceptor::open(std::string_view host, std::uint16_t port, bool reuse_address,
                                      int backlog) {
    close();
    SocketAddress addr;
    if (const ResolveError e = resolve_first(std::string(host), port, addr)) {
        if (e.code == EAI_SYSTEM) return {e.system, std::system_category()};
        return make_error_code(std::errc::host_unreachable);
    }
    std::error_code ec;
    const int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int yes = 1;
    if (fd < 0 ||
        (reuse_address && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0) ||
        ::bind(fd, addr.get(), addr.size) != 0 || ::listen(fd, backlog) != 0)
        ec.assign(errno, std::system_category());
    if (ec) {
        if (fd >= 0) ::close(fd);
        return ec;
    }
    fd_ = fd;
    return ec;
}

inline std::uint16_t Acceptor::port() const noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    return address_of(ss).port();
}

inline void Acceptor::on_ready() {
    // A few connections per wakeup, then the other ready descriptors get their turn (the
    // socket stays readable, so the next wait comes back here).
    for (int i = 0; i < 64 && done_ && fd_ >= 0; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int fd =
            ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            const int e = errno;
            if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;   // that one left
            if (e == EAGAIN || e == EWOULDBLOCK) return;
            // Out of descriptors or memory: the caller waits before it asks again (never spin).
            watch_.stop();
            Done d = std::exchange(done_, nullptr);
            d(context_, std::error_code(e, std::system_category()), AcceptedSocket());
            return;
        }
        Done d = std::exchange(done_, nullptr);
        d(context_, std::error_code(), AcceptedSocket(fd, address_of(ss)));   // may ask again
    }
    // Nobody asks (the app is stopping): a level-triggered watch would report it forever.
    if (!done_) watch_.stop();
}
#else
inline std::error_code Acceptor::open(std::string_view host, std::uint16_t port, bool reuse_address,
                                      int backlog) {
    std::error_code ec;
    auto addr = net::ip::make_address(std::string(host), ec);
    if (ec) {
        tcp_resolver resolver(io_);
        auto results = resolver.resolve(std::string(host), std::to_string(port), ec);
        if (ec) return ec;
        if (results.empty()) return make_error_code(std::errc::host_unreachable);
        addr = results.begin()->endpoint().address();
    }
    const tcp::endpoint ep(addr, port);
    a_.open(ep.protocol(), ec);
    if (ec) return ec;
    if (reuse_address) {
        a_.set_option(net::socket_base::reuse_address(true), ec);
        if (ec) return ec;
    }
    a_.bind(ep, ec);
    if (ec) return ec;
    a_.listen(backlog, ec);
    return ec;
}
#endif

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
