// SPDX-License-Identifier: MIT
// wisp/detail/socket_transport.hpp — the Transport over an accepted TCP socket, one backend per
// build: on Linux the socket leaves Asio after accept and joins its loop's epoll set; elsewhere
// (and with WISP_NO_EPOLL) it stays an Asio socket waited on by Asio's reactor.
// Owns: the socket, its non-blocking reads and gather writes, its readiness state, and (epoll)
// the Poller's members that touch sockets.
// Must not know: what the connection above does with the bytes. Connection sockets' backend
// #ifs live here and in poller.hpp only (the loop's: reactor.hpp, acceptor.hpp,
// signal_watch.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/acceptor.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/poller.hpp>
#include <wisp/detail/transport.hpp>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#ifdef WISP_EPOLL
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

/// An accepted TCP socket (non-blocking, TCP_NODELAY).
class SocketTransport final : public Transport {
public:
    /// An empty transport: no socket (a connection over another transport, which it names:
    /// set_upper()).
    SocketTransport() = default;
    explicit SocketTransport(AcceptedSocket socket);
    SocketTransport(const SocketTransport&) = delete;
    SocketTransport& operator=(const SocketTransport&) = delete;
    inline ~SocketTransport() override;

    inline bool start(TransportOwner& owner) override;
    inline IoResult read(char* p, std::size_t n, std::size_t& got) override;
    inline IoResult write(const Slice* slices, std::size_t count, std::size_t& put) override;
    inline void want_read() override;
    inline void want_write() override;
    inline bool may_have_input() const noexcept override;
    inline bool shutdown_send() override;
    inline void close() override;

    /// Before start(): names the transport that its connection uses above this socket (a
    /// layer, whose start() starts this one with the layer as owner) or in its place (this one
    /// stays empty and is never started). The connection keeps no pointer of its own for it.
    void set_upper(Transport& t) noexcept { upper_ = &t; }
    /// That transport, once set_upper() named one: after start() the owner as a layer
    /// (TransportOwner::as_layer), before it what set_upper() named.
    Transport* upper() const noexcept { return started_ ? owner_->as_layer() : upper_; }

#ifdef WISP_EPOLL
    /// What the ready set reported for this socket (a mask of EPOLL* bits).
    void on_events(std::uint32_t events);
#endif
private:
#ifndef WISP_EPOLL_REACTOR
    /// The constructors' common part: options, the peer's address, and (epoll) the descriptor.
    inline void adopt(tcp_socket& sock);
#endif

    union {
        TransportOwner* owner_ = nullptr;   ///< from start(); knows the loop (TransportOwner::loop)
        Transport* upper_;                  ///< before start(): set_upper()
    };
#ifdef WISP_EPOLL
    int fd_ = -1;
    bool rd_ready_ = false;     ///< became readable and was not read empty since
    bool watched_ = false;      ///< in the loop's ready set
    bool want_write_ = false;   ///< the owner waits for room (a write came back short)
    bool started_ = false;      ///< start() ran: owner_ holds the owner
#else
    /// Destroyed at close(), on the loop's thread: a connection whose memory outlives its loop
    /// (a late handle) must not reach Asio's services from its destructor.
    std::optional<tcp_socket> sock_;
    bool held_ = false;
    bool read_waiting_ = false;
    bool write_waiting_ = false;
    bool started_ = false;   ///< start() ran: owner_ holds the owner
#endif
};

// ---- implementation -------------------------------------------------------
#ifdef WISP_EPOLL
inline SocketTransport::SocketTransport(AcceptedSocket socket) : fd_(socket.release()) {
    remote_ = socket.remote();
    const int yes = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}
#else
inline SocketTransport::SocketTransport(tcp_socket socket) : sock_(std::move(socket)) {
    adopt(*sock_);
}
#endif

#ifndef WISP_EPOLL_REACTOR
inline void SocketTransport::adopt(tcp_socket& sock) {
    std::error_code ec;
    sock.non_blocking(true, ec);
    sock.set_option(tcp::no_delay(true), ec);
    const auto ep = sock.remote_endpoint(ec);
    if (!ec) {
        const auto a = ep.address();
        if (a.is_v4()) remote_ = Address::v4(a.to_v4().to_bytes(), ep.port());
        else remote_ = Address::v6(a.to_v6().to_bytes(), ep.port());
    }
}
#endif

#ifdef WISP_EPOLL
/// One system call on a non-blocking socket (recv, send, sendmsg), made again while a signal
/// interrupts it: `n` is what it returned (done), or it would block (again), or it failed.
template <typename Call>
inline IoResult socket_call(Call call, std::size_t& n) noexcept {
    for (;;) {
        const ssize_t r = call();
        if (r >= 0) {
            n = static_cast<std::size_t>(r);
            return IoResult::done;
        }
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult::again : IoResult::failed;
    }
}
#endif

inline SocketTransport::~SocketTransport() {
#ifdef WISP_EPOLL
    if (fd_ >= 0) ::close(fd_);   // never started
#endif
}

inline bool SocketTransport::start(TransportOwner& owner) {
    owner_ = &owner;
    started_ = true;
#ifdef WISP_EPOLL
    // Joining the set reports input that is already there, so no read is attempted here.
    watched_ = fd_ >= 0 && owner.loop().poller.watch(fd_, *this, owner);
    return watched_;
#else
    owner.hold();   // until after close(); the waits hold it too
    held_ = true;
    return sock_ && sock_->is_open();
#endif
}

inline IoResult SocketTransport::read(char* p, std::size_t n, std::size_t& got) {
#ifdef WISP_EPOLL
    const IoResult res = socket_call([&] { return ::recv(fd_, p, n, 0); }, got);
    if (res == IoResult::done) {
        if (got == 0) return IoResult::eof;
        // Edge-triggered: the set reports the socket again only after new input arrives, so it
        // counts as readable until a read comes back short (the kernel's queue was emptied).
        if (got < n) rd_ready_ = false;
    } else if (res == IoResult::again) {
        rd_ready_ = false;
    }
    return res;
#else
    std::error_code ec;
    got = sock_->read_some(net::buffer(p, n), ec);
    if (!ec) return IoResult::done;
    if (ec == net::error::would_block || ec == net::error::try_again) return IoResult::again;
    return ec == net::error::eof ? IoResult::eof : IoResult::failed;
#endif
}

inline IoResult SocketTransport::write(const Slice* slices, std::size_t count, std::size_t& put) {
    std::array<
#ifdef WISP_EPOLL
        iovec,
#else
        net::const_buffer,
#endif
        64>
        bufs;
    if (count > bufs.size()) count = bufs.size();
#ifdef WISP_EPOLL
    if (count == 1) {
        // One slice (an HTTP response, say): send() spares the kernel the message header and
        // the iovec it would copy in for sendmsg().
        return socket_call(
            [&] { return ::send(fd_, slices[0].data, slices[0].size, MSG_NOSIGNAL); }, put);
    }
    // A Slice is laid out as an iovec: the gather list is copied as it is, in one go.
    static_assert(sizeof(Slice) == sizeof(iovec) &&
                  offsetof(Slice, data) == offsetof(iovec, iov_base) &&
                  offsetof(Slice, size) == offsetof(iovec, iov_len));
    std::memcpy(static_cast<void*>(bufs.data()), slices, count * sizeof(iovec));
    msghdr m{};
    m.msg_iov = bufs.data();
    m.msg_iovlen = count;
    return socket_call([&] { return ::sendmsg(fd_, &m, MSG_NOSIGNAL); }, put);   // no SIGPIPE
#else
    for (std::size_t i = 0; i < count; ++i)
        bufs[i] = net::const_buffer(slices[i].data, slices[i].size);
    struct Seq {
        const net::const_buffer* b;
        const net::const_buffer* e;
        const net::const_buffer* begin() const { return b; }
        const net::const_buffer* end() const { return e; }
    } seq{bufs.data(), bufs.data() + count};
    std::error_code ec;
    put = sock_->write_some(seq, ec);
    if (!ec) return IoResult::done;
    if (ec == net::error::would_block || ec == net::error::try_again) return IoResult::again;
    return IoResult::failed;
#endif
}

inline void SocketTransport::want_read() {
#ifdef WISP_EPOLL
    // The set reports new input by itself; only input already reported and left unread needs
    // a read now, and it happens later this turn (want_read runs inside other handlers).
    if (rd_ready_ && fd_ >= 0) owner_->loop().read_later(*owner_);
#else
    if (read_waiting_ || !sock_ || !sock_->is_open()) return;
    read_waiting_ = true;
    owner_->hold();
    sock_->async_wait(tcp_socket::wait_read, [this](const std::error_code& ec) {
        read_waiting_ = false;
        if (!ec) owner_->on_readable();
        else if (ec != net::error::operation_aborted) owner_->on_transport_error();
        owner_->unhold();
    });
#endif
}

inline void SocketTransport::want_write() {
#ifdef WISP_EPOLL
    // The socket refused bytes, so the set reports it when room appears (on_events).
    want_write_ = true;
#else
    if (write_waiting_ || !sock_ || !sock_->is_open()) return;
    write_waiting_ = true;
    owner_->hold();
    sock_->async_wait(tcp_socket::wait_write, [this](const std::error_code& ec) {
        write_waiting_ = false;
        if (!ec) owner_->on_writable();
        else if (ec != net::error::operation_aborted) owner_->on_transport_error();
        owner_->unhold();
    });
#endif
}

inline bool SocketTransport::may_have_input() const noexcept {
#ifdef WISP_EPOLL
    return rd_ready_;
#else
    return true;
#endif
}

inline bool SocketTransport::shutdown_send() {
#ifdef WISP_EPOLL
    return fd_ >= 0 && ::shutdown(fd_, SHUT_WR) == 0;
#else
    std::error_code ec;
    if (!sock_) return false;
    sock_->shutdown(net::socket_base::shutdown_send, ec);
    return !ec;
#endif
}

inline void SocketTransport::close() {
#ifdef WISP_EPOLL
    if (fd_ < 0) return;
    if (watched_) owner_->loop().poller.forget(fd_, *owner_);
    watched_ = false;
    want_write_ = false;
    ::close(fd_);
    fd_ = -1;
#else
    if (!sock_) return;
    std::error_code ec;
    sock_->close(ec);   // cancels pending waits; their handlers let the owner go
    auto ex = sock_->get_executor();
    sock_.reset();
    if (held_) {
        held_ = false;
        TransportOwner* o = owner_;
        net::post(ex, [o] { o->unhold(); });
    }
#endif
}

#ifdef WISP_EPOLL
inline void SocketTransport::on_events(std::uint32_t events) {
    if (fd_ < 0) return;   // closed while this batch of events was being handled
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) rd_ready_ = true;
    // An error or hang-up surfaces as the result of the next write or read.
    if (want_write_ && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
        want_write_ = false;
        owner_->on_writable();
    }
    if (rd_ready_ && fd_ >= 0) owner_->on_readable();
}

// ---- Poller -----------------------------------------------------------------------
inline Poller::Poller(Loop& loop) : loop_(loop) {
    loop.reactor.on_sockets([](void* self, epoll_event* events,
                               int n) { static_cast<Poller*>(self)->on_events(events, n); },
                            this);
}

inline Poller::~Poller() { bury(); }

inline bool Poller::watch(int fd, SocketTransport& t, TransportOwner& owner) {
    if (!loop_.reactor.add_socket(fd, &t)) return false;
    owner.hold();   // the set's reference
    return true;
}

inline void Poller::stop() {}

inline void Poller::forget(int fd, TransportOwner& owner) {
    loop_.reactor.remove_socket(fd);
    graves_.push_back(&owner);   // the set's reference goes after the current handler
    if (graves_posted_) return;
    graves_posted_ = true;
    loop_.reactor.post([this] { bury(); });
}

inline void Poller::bury() {
    graves_posted_ = false;
    burying_.swap(graves_);
    for (TransportOwner* o : burying_) o->unhold();
    burying_.clear();
}

inline void Poller::on_events(epoll_event* events, int n) {
    Loop::TickHold hold(loop_);
    // A socket closed while this batch is handled keeps its owner's memory until bury() runs
    // (posted), so a later event in the batch that names it finds it closed.
    for (int i = 0; i < n; ++i)
        static_cast<SocketTransport*>(events[i].data.ptr)->on_events(events[i].events);
}
#endif

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
