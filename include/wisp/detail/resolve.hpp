// SPDX-License-Identifier: MIT
// wisp/detail/resolve.hpp — the first address of host:port for the epoll engine's own sockets
// (the listening one, the Redis link's): an address as written first, then a name through
// getaddrinfo (blocking: both are resolved before the loops run). Off the epoll engine, Asio's
// resolver does this.
// Owns: the lookup, the words of its errors.
// Must not know: what the address is for (listen, connect).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>

#ifdef WISP_EPOLL_REACTOR
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <netdb.h>
#include <string>
#include <sys/socket.h>

WISP_NAMESPACE_BEGIN
namespace detail {

/// One socket address, IPv4 or IPv6.
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t size = 0;
    int family() const noexcept { return storage.ss_family; }
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

/// Why a lookup failed: getaddrinfo's EAI_* code, and errno for EAI_SYSTEM.
struct ResolveError {
    int code = 0;
    int system = 0;
    explicit operator bool() const noexcept { return code != 0; }
    std::string text() const {
        return code == EAI_SYSTEM ? std::strerror(system) : ::gai_strerror(code);
    }
};

/// The first address of `host` and `port` for a TCP socket into `out`: "192.0.2.1" or "::1" as
/// written (AI_NUMERICHOST: no lookup, whatever the machine's interfaces), else a name, with
/// the address families the machine has configured (AI_ADDRCONFIG).
inline ResolveError resolve_first(const std::string& host, std::uint16_t port, SocketAddress& out) {
    const std::string service = std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc == EAI_NONAME) {
        hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
        rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    }
    ResolveError e{rc, rc == EAI_SYSTEM ? errno : 0};
    if (rc == 0 && (found == nullptr || found->ai_addrlen > sizeof out.storage))
        e.code = EAI_NONAME;
    if (!e) {
        std::memcpy(&out.storage, found->ai_addr, found->ai_addrlen);
        out.size = static_cast<socklen_t>(found->ai_addrlen);
    }
    if (found) ::freeaddrinfo(found);
    return e;
}

}   // namespace detail
WISP_NAMESPACE_END
#endif
#pragma pop_macro("WISP_IN_HEADER")
