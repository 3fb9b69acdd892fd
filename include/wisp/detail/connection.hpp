// SPDX-License-Identifier: MIT
// wisp/detail/connection.hpp — one socket: reads, the write queue, timeouts, HTTP/1.1 requests.
#pragma once

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/asio.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/llhttp.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/socket_io.hpp>
#include <wisp/detail/stream_state.hpp>
#include <wisp/detail/ws_session.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

class Connection;

/// Header names must be tokens and values free of CR, LF and NUL: anything else would let a
/// handler split the response.
struct TokenTable {
    bool ok[256] = {};
    constexpr TokenTable() {
        for (int c = 33; c < 127; ++c) ok[c] = true;
        for (char c : std::string_view("\"(),/:;<=>?@[\\]{}")) ok[static_cast<unsigned char>(c)] = false;
    }
};
inline constexpr TokenTable token_table{};

inline bool valid_header_name(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!token_table.ok[static_cast<unsigned char>(c)]) return false;
    return true;
}
inline bool valid_header_value(std::string_view s) noexcept {
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

/// Fields wisp writes itself on every response; a handler's values for them are ignored.
inline bool is_framing_header(std::string_view name) noexcept {
    return iequals(name, "content-length") || iequals(name, "connection") ||
           iequals(name, "date") || iequals(name, "transfer-encoding");
}

/// Appends `headers` as "Name: value\r\n" lines to `out`, leaving out the framing fields and
/// those named in `also_skip`. Returns the first header with an invalid name or value (then
/// `out` is incomplete and must not be sent), or nullptr.
inline const Headers::value_type* append_header_lines(std::string& out, const Headers& headers,
                                                      std::initializer_list<std::string_view> also_skip) {
    for (const auto& h : headers) {
        bool skip = is_framing_header(h.first);
        for (std::string_view s : also_skip) skip = skip || iequals(h.first, s);
        if (skip) continue;
        if (!valid_header_name(h.first) || !valid_header_value(h.second)) return &h;
        out.append(h.first).append(": ").append(h.second).append("\r\n");
    }
    return nullptr;
}

/// Intrusive strong reference to a Connection (keeps its memory, not its socket, alive).
class ConnRef {
public:
    ConnRef() = default;
    explicit ConnRef(Connection* c) noexcept;
    ConnRef(const ConnRef& o) noexcept : ConnRef(o.c_) {}
    ConnRef(ConnRef&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    ConnRef& operator=(ConnRef o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~ConnRef();
    Connection* get() const noexcept { return c_; }
    Connection* operator->() const noexcept { return c_; }
    explicit operator bool() const noexcept { return c_ != nullptr; }

private:
    Connection* c_ = nullptr;
};

/// Where App::fetch waits for a deferred answer; outlives the Deferred that fills it.
struct FetchWait {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Response> result;
};

/// The state behind a Responder: an owned copy of the request and where the answer goes
/// (a connection's loop, or a waiting App::fetch). The last Responder copy to go sends 500
/// if nobody answered.
struct Deferred {
    Request request;
    ConnRef conn;
    std::shared_ptr<FetchWait> fetch;
    std::atomic<bool> answered{false};
    bool taken = false;      ///< defer() was called
    std::uint64_t seq = 0;   ///< which request of the connection this answers

    Deferred() = default;
    Deferred(const Deferred&) = delete;
    Deferred& operator=(const Deferred&) = delete;
    ~Deferred();
    bool deliver(Response&& res);
};

/// Per-connection HTTP/1.1 state; freed when the connection switches protocol.
struct HttpState {
    explicit HttpState(const ParserLimits& limits) : parser(limits) {}
    RequestParser parser;
    std::string stash;   ///< pipelined bytes read while a deferred answer is pending
    std::uint64_t seq = 0;
    std::uint64_t head_started = 0;   ///< tick when the current head began (slowloris bound)
    bool waiting = false;             ///< a deferred answer is pending
    bool pending_head = false;        ///< ...for a HEAD request
    bool pending_keep_alive = true;
    bool peer_eof = false;
};

/// One accepted socket. Lives on its loop's thread; other threads reach it only by posting.
/// Reading: waits for readiness, then reads into the loop's shared buffer and handles every
/// request that read delivered. Writing: output is queued and written once per loop turn.
/// Readiness comes from the loop's ready set on Linux (the socket is taken from Asio after
/// accept; see socket_io.hpp), from Asio's reactor elsewhere or with WISP_NO_EPOLL.
class Connection : public WheelNode {
public:
    enum class Mode : std::uint8_t { http, websocket, stream, closing, closed };

    Connection(Loop& loop, tcp_socket socket);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    void start();
    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept;
    Loop& loop() noexcept { return loop_; }
    Mode mode() const noexcept { return mode_; }
    bool is_open() const noexcept { return mode_ != Mode::closing && mode_ != Mode::closed; }
    const Address& remote_address() const noexcept { return remote_; }

    // ---- output (loop thread) ----
    void write(std::string_view bytes) {
        out_.append(bytes, &loop_.pool);
        loop_.mark_dirty(*this);
    }
    char* reserve(std::size_t n) {
        loop_.mark_dirty(*this);
        return out_.reserve(n, &loop_.pool);
    }
    void write_shared(const SharedBuffer& b, std::size_t off, std::size_t len) {
        out_.append_shared(b, off, len);
        loop_.mark_dirty(*this);
    }
    /// True when `bytes` are this connection's own input in the loop's receive buffer (an
    /// echo), which borrow() may queue without copying.
    bool can_borrow(std::string_view bytes) const noexcept {
        const char* base = loop_.recv_buffer();
        return loop_.reader == this && bytes.data() >= base &&
               bytes.data() + bytes.size() <= base + loop_.recv_size();
    }
    /// Queues `bytes` (can_borrow() holds) by reference into the receive buffer: on_readable
    /// writes them before the next read and copies what the socket did not take.
    void borrow(std::string_view bytes) {
        out_.append_block(loop_.recv_block(), static_cast<std::size_t>(bytes.data() - loop_.recv_buffer()),
                          bytes.size());
        loop_.mark_dirty(*this);
    }
    std::size_t buffered_amount() const noexcept { return out_.size(); }
    /// True when fewer than `cap` bytes wait. When more do, first offers them to the kernel
    /// (a burst within one loop turn is not a slow reader): only what the socket refuses counts.
    bool has_room(std::size_t cap) {
        if (out_.size() < cap) return true;
        if (!writing_ && is_open()) flush();
        return out_.size() < cap && is_open();
    }
    /// Writes the queue with one gather write; waits for writability if the kernel is full.
    void flush();

    // ---- lifecycle (loop thread) ----
    /// Stops reading new input; closes once the queue is written (with a lingering close).
    void close_after_flush();
    /// Closes at once; queued output is dropped.
    void terminate();
    /// Called by the loop when the app stops.
    void shutdown();
    /// Called by the loop's timer wheel when this connection's deadline passes.
    void on_timer();

    // ---- HTTP (loop thread) ----
    void complete_deferred(std::uint64_t seq, Response&& res);
    /// Number of the request being handled (matches a deferred answer to its request).
    std::uint64_t http_seq() const noexcept { return http_ ? http_->seq : 0; }

    // ---- WebSocket (loop thread) ----
    /// Recomputes this connection's deadline (after the WebSocket state changed it).
    void rearm_timer() { update_timer(); }
    /// True once the connection is closing or closed.
    bool closing() const noexcept { return close_after_flush_ || !is_open(); }

#ifdef WISP_EPOLL
    /// What the ready set reported for this socket (a mask of EPOLL* bits).
    void on_events(std::uint32_t events);
    /// Reads if input is waiting and reading is allowed (the loop's read_later list).
    void read_if_ready();
    bool read_later = false;          ///< on the loop's read-later list this turn
#endif
    bool dirty = false;               ///< on the loop's dirty list this turn
    Connection* prev_conn = nullptr;  ///< the loop's list of open connections
    Connection* next_conn = nullptr;

private:
    void start_read();
    void on_readable(const std::error_code& ec);
    void on_data(char* p, std::size_t n);
    void on_peer_eof();
    void wait_writable();
    void on_drained();
    void close_now();
    void begin_linger();
    void update_timer();
    bool can_read() const noexcept;
    IoResult read_some(char* p, std::size_t n, std::size_t& got);
    /// One gather write of the queue's head: `put` bytes of `offered`.
    IoResult write_some(std::size_t& put, std::size_t& offered);
    bool shutdown_send();
    void close_socket();

    void http_on_data(char* p, std::size_t n);
    void dispatch(Request& req);
    /// Handles a request for a WebSocket route; false when it is not an upgrade attempt.
    bool try_upgrade(Request& req, const WsEndpoint& ep, std::vector<RouteParam>& params);
    /// Writes an event stream's head and switches to streaming.
    void start_stream(std::shared_ptr<StreamState> st, bool head);
    void write_response(const Response& res, bool head, bool keep_alive);
    void write_error(int status, std::string_view extra_header = {});
    void resume_http();

    Loop& loop_;
#ifdef WISP_EPOLL
    int fd_ = -1;
#else
    tcp_socket sock_;
#endif
    OutQueue out_;
    std::unique_ptr<HttpState> http_;
    std::unique_ptr<WsSession> ws_;
    std::shared_ptr<StreamState> stream_;
    Address remote_;
    std::atomic<std::uint32_t> refs_{1};
    std::uint64_t write_progress_tick_ = 0;
    Mode mode_ = Mode::http;
    bool reading_ = false;            ///< a readiness wait is pending, or a read is running
    bool writing_ = false;            ///< a writability wait is pending
#ifdef WISP_EPOLL
    bool rd_ready_ = false;           ///< the socket became readable and was not read empty
    bool watched_ = false;            ///< in the loop's ready set
#endif
    bool close_after_flush_ = false;
};

// ---- implementation -------------------------------------------------------
inline ConnRef::ConnRef(Connection* c) noexcept : c_(c) {
    if (c_) c_->retain();
}
inline ConnRef::~ConnRef() {
    if (c_) c_->release();
}

#ifdef WISP_EPOLL
inline Connection::Connection(Loop& loop, tcp_socket sock)
    : loop_(loop), out_(&loop.pool) {
#else
inline Connection::Connection(Loop& loop, tcp_socket socket)
    : loop_(loop), sock_(std::move(socket)), out_(&loop.pool) {
    tcp_socket& sock = sock_;
#endif
    http_ = std::make_unique<HttpState>(loop_.core.parser_limits);
    std::error_code ec;
    sock.non_blocking(true, ec);
    sock.set_option(tcp::no_delay(true), ec);
    const auto ep = sock.remote_endpoint(ec);
    if (!ec) {
        const auto a = ep.address();
        if (a.is_v4()) remote_ = Address::v4(a.to_v4().to_bytes(), ep.port());
        else remote_ = Address::v6(a.to_v6().to_bytes(), ep.port());
    }
#ifdef WISP_EPOLL
    // Asio lets go of the descriptor (and of its reactor state); the loop's ready set takes
    // it in start(). On failure fd_ stays -1 and start() closes the connection.
    ec.clear();
    const int fd = sock.release(ec);
    if (!ec) fd_ = fd;
#endif
}

inline Connection::~Connection() {
#ifdef WISP_EPOLL
    if (fd_ >= 0) ::close(fd_);   // never started
#endif
}

inline void Connection::release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

inline void Connection::start() {
    loop_.add(*this);
    http_->head_started = loop_.now_tick();   // a fresh connection owes a request head
#ifdef WISP_EPOLL
    // Joining the set reports input that is already there, so no read is attempted here.
    watched_ = fd_ >= 0 && loop_.watch(*this, fd_);
    if (!watched_) {
        close_now();
        return;
    }
#endif
    update_timer();
    start_read();
}

inline bool Connection::can_read() const noexcept {
    if (mode_ == Mode::closed) return false;
    if (mode_ == Mode::closing) return true;   // lingering: read and discard until EOF
    if (close_after_flush_) return false;
    if (mode_ == Mode::http) {
        if (http_->waiting || http_->peer_eof) return false;
        // A client that pipelines without reading is not read further until it catches up.
        if (out_.size() > loop_.core.options.limits.max_queued_bytes) return false;
    } else if (mode_ == Mode::websocket) {
        // A peer that sends faster than it reads our replies is not read further until half
        // the send cap has drained, so replies to its own input never reach the cap
        // (one read adds at most a receive buffer's worth).
        if (out_.size() > loop_.core.options.limits.max_queued_bytes / 2) return false;
    }
    return true;
}

inline void Connection::start_read() {
#ifdef WISP_EPOLL
    // The set reports new input by itself; only input already reported and left unread needs
    // a read now, and it happens later this turn (start_read runs inside other handlers).
    if (!reading_ && rd_ready_ && can_read()) loop_.read_later(*this);
#else
    if (reading_ || !can_read()) return;
    reading_ = true;
    retain();
    sock_.async_wait(tcp_socket::wait_read, [this](const std::error_code& ec) {
        reading_ = false;
        on_readable(ec);
        release();
    });
#endif
}

#ifdef WISP_EPOLL
inline void Connection::on_events(std::uint32_t events) {
    if (mode_ == Mode::closed) return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) rd_ready_ = true;
    // An error or hang-up surfaces as the result of the next write or read.
    if (writing_ && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
        writing_ = false;
        flush();
    }
    read_if_ready();
}

inline void Connection::read_if_ready() {
    if (mode_ != Mode::closed && rd_ready_ && !reading_ && can_read()) on_readable({});
}
#endif

inline IoResult Connection::read_some(char* p, std::size_t n, std::size_t& got) {
#ifdef WISP_EPOLL
    const IoResult r = fd_read(fd_, p, n, got);
    // Edge-triggered: the set reports the socket again only after new input arrives, so it
    // counts as readable until a read comes back short (the kernel's queue was emptied).
    if (r == IoResult::again || (r == IoResult::done && got < n)) rd_ready_ = false;
    return r;
#else
    std::error_code ec;
    got = sock_.read_some(net::buffer(p, n), ec);
    if (!ec) return IoResult::done;
    if (ec == net::error::would_block || ec == net::error::try_again) return IoResult::again;
    return ec == net::error::eof ? IoResult::eof : IoResult::failed;
#endif
}

inline IoResult Connection::write_some(std::size_t& put, std::size_t& offered) {
    offered = 0;
    std::size_t i = 0;
#ifdef WISP_EPOLL
    std::array<iovec, 64> bufs;
    out_.gather(bufs.size(), [&](const char* p, std::size_t n) {
        bufs[i++] = iovec{const_cast<char*>(p), n};
        offered += n;
    });
    return fd_write(fd_, bufs.data(), i, put);
#else
    std::array<net::const_buffer, 64> bufs;
    out_.gather(bufs.size(), [&](const char* p, std::size_t n) {
        bufs[i++] = net::const_buffer(p, n);
        offered += n;
    });
    struct Seq {
        const net::const_buffer* b;
        const net::const_buffer* e;
        const net::const_buffer* begin() const { return b; }
        const net::const_buffer* end() const { return e; }
    } seq{bufs.data(), bufs.data() + i};
    std::error_code ec;
    put = sock_.write_some(seq, ec);
    if (!ec) return IoResult::done;
    if (ec == net::error::would_block || ec == net::error::try_again) return IoResult::again;
    return IoResult::failed;
#endif
}

inline bool Connection::shutdown_send() {
#ifdef WISP_EPOLL
    return ::shutdown(fd_, SHUT_WR) == 0;
#else
    std::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    return !ec;
#endif
}

inline void Connection::close_socket() {
#ifdef WISP_EPOLL
    if (fd_ < 0) return;
    if (watched_) loop_.forget(*this, fd_);
    watched_ = false;
    ::close(fd_);
    fd_ = -1;
#else
    std::error_code ec;
    sock_.close(ec);   // cancels pending waits; their handlers release their references
#endif
}

inline void Connection::on_readable(const std::error_code& wait_ec) {
    if (mode_ == Mode::closed) return;
    if (wait_ec) {
        if (wait_ec != net::error::operation_aborted) close_now();
        return;
    }
    Loop::TickHold hold(loop_);
    char* buf = loop_.recv_buffer();
    const std::size_t cap = loop_.recv_size();
    reading_ = true;   // what runs below (a flush, a drain hook) starts no second wait
    // A few reads per wakeup at most, so one busy peer cannot starve the others.
    for (int round = 0; round < 4 && can_read(); ++round) {
        // A WebSocket peer's read is cut to the room left under the send cap (at least half
        // of it, see can_read()), so echoing what one read brought cannot reach the cap even
        // while the kernel refuses more.
        std::size_t want = cap;
        if (mode_ == Mode::websocket)
            want = std::max<std::size_t>(
                1, std::min(cap, loop_.core.options.limits.max_queued_bytes - out_.size()));
        std::size_t n = 0;
        const IoResult r = read_some(buf, want, n);
        if (r == IoResult::again) break;
        if (r == IoResult::eof) {
            reading_ = false;
            on_peer_eof();
            return;
        }
        if (r == IoResult::failed) {
            reading_ = false;
            close_now();
            return;
        }
        if (mode_ == Mode::closing) continue;   // lingering close: discard
        loop_.reader = this;
        on_data(buf, n);
        loop_.reader = nullptr;
        // The replies to this read go out now, while their bytes are still in the cache and
        // before the next read: the queue's blocks go back to the pool at once instead of
        // piling up until the end of the turn. Output for other sockets still waits for the
        // end of the turn, so a publication reaches each subscriber in one write per turn.
        if (!out_.empty()) flush();   // (flush checks writing_ and closed itself)
        // A reply queued straight from the receive buffer (borrow()) that the socket did not
        // take gets its own copy now, before any read overwrites the buffer.
        if (loop_.recv_block()->refs.load(std::memory_order_relaxed) != 1)
            out_.own(loop_.recv_block(), &loop_.pool);
        if (n < want) break;
    }
    reading_ = false;
    if (mode_ != Mode::closed) {
        update_timer();
        start_read();
    }
}

inline void Connection::on_data(char* p, std::size_t n) {
    switch (mode_) {
    case Mode::http: http_on_data(p, n); break;
    case Mode::websocket: ws_->on_data(p, n); break;
    default: break;   // streaming: the client has nothing to say; its bytes are dropped
    }
}

inline void Connection::on_peer_eof() {
    if (mode_ == Mode::closing || mode_ == Mode::closed) {
        close_now();
        return;
    }
    if (mode_ == Mode::http) {
        // The client sent everything it will send; answer what is pending, then close.
        http_->peer_eof = true;
        if (!http_->waiting && out_.empty()) {
            close_now();
            return;
        }
        close_after_flush_ = !http_->waiting;
        if (close_after_flush_ && out_.empty()) close_now();
        return;
    }
    close_now();
}

inline void Connection::http_on_data(char* p, std::size_t n) {
    HttpState& h = *http_;
    while (n > 0 && mode_ == Mode::http && !close_after_flush_) {
        if (h.waiting || out_.size() > loop_.core.options.limits.max_queued_bytes) {
            // Keep pipelined input until the deferred answer is written, or until a client
            // that does not read its responses has drained them (bounded memory).
            h.stash.append(p, n);
            return;
        }
        const bool was_idle = !h.parser.in_message();
        const auto r = h.parser.feed(p, n);
        p += r.consumed;
        n -= r.consumed;
        if (was_idle && h.parser.in_message() && h.head_started == 0)
            h.head_started = loop_.now_tick();
        switch (r.event) {
        case RequestParser::Event::need_more:
            return;
        case RequestParser::Event::expect_continue:
            write("HTTP/1.1 100 Continue\r\n\r\n");
            h.parser.continue_body();
            continue;
        case RequestParser::Event::error: {
            const int st = h.parser.error_status();
            if (loop_.core.on_error) {
                Request empty;
                empty.set_remote_address(remote_);
                loop_.core.report(empty, h.parser.error_code(), h.parser.error_reason());
            }
            write_error(st);
            return;
        }
        case RequestParser::Event::request:
            h.head_started = 0;
            dispatch(h.parser.request());
            if (mode_ == Mode::websocket) {
                // Switched protocols: what followed the handshake in this read is frames.
                http_.reset();
                ws_->on_open();
                if (n > 0 && mode_ == Mode::websocket) ws_->on_data(p, n);
                return;
            }
            if (mode_ == Mode::stream) {   // the rest of the connection is the event stream
                http_.reset();
                return;
            }
            if (!h.waiting) h.parser.next();
            break;
        }
    }
}

inline void Connection::dispatch(Request& req) {
    HttpState& h = *http_;
    ++h.seq;
    RequestBuilder::set_connection(req, this);
    req.set_remote_address(remote_);
    const bool head = req.method() == "HEAD";
    bool keep_alive = req.keep_alive() && !loop_.stopping();
    // Only a request asking for an upgrade can be one (check_handshake's first test); the
    // others skip the WebSocket routes.
    if (loop_.core.ws_router.size() != 0 && req.header("upgrade")) {
        std::vector<RouteParam> params;
        if (const WsEndpoint* ep = loop_.core.ws_route(req, params))
            if (try_upgrade(req, *ep, params)) return;
    }
    if (h.parser.upgrade()) {
        // No protocol switch is offered on this route: answer over HTTP, then close, since
        // what follows the head would be the other protocol's bytes.
        keep_alive = false;
    }
    std::shared_ptr<Deferred> deferred;
    std::shared_ptr<StreamState> stream;
    RequestBuilder::set_deferred_slot(req, &deferred);
    RequestBuilder::set_stream_slot(req, &stream);
    Response res = loop_.core.handle(req);
    RequestBuilder::set_deferred_slot(req, nullptr);
    RequestBuilder::set_stream_slot(req, nullptr);
    if (res.kind() == ResponseKind::stream) {
        if (stream) {
            start_stream(std::move(stream), head);
            return;
        }
        loop_.core.report(req, errc::handler_exception,
                          "handler returned an EventStream not made from its request");
        res = status(500);
    } else if (stream) {
        stream->end();   // made but not returned: it never starts, and says so once
    }
    if (res.kind() == ResponseKind::deferred) {
        if (deferred) {
            // Wait for the answer (it may already be posted, if sent inside the handler);
            // later pipelined requests wait behind it.
            h.waiting = true;
            h.pending_head = head;
            h.pending_keep_alive = keep_alive;
            h.parser.next();
            return;
        }
        loop_.core.report(req, errc::handler_exception,
                          "handler returned a Responder it did not get from defer()");
        res = status(500);
    }
    if (deferred) deferred->answered.store(true);   // the returned response wins
    write_response(res, head, keep_alive);
}

inline void Connection::complete_deferred(std::uint64_t seq, Response&& res) {
    if (mode_ != Mode::http || !http_ || !http_->waiting || seq != http_->seq) return;
    HttpState& h = *http_;
    h.waiting = false;
    // The app may have begun stopping while the answer was pending: then this is the last.
    write_response(res, h.pending_head, h.pending_keep_alive && !loop_.stopping());
    resume_http();
}

inline void Connection::resume_http() {
    HttpState& h = *http_;
    if (!close_after_flush_ && !h.stash.empty()) {
        std::string input = std::move(h.stash);
        h.stash.clear();
        http_on_data(input.data(), input.size());
        if (mode_ != Mode::http) return;   // switched to WebSocket, or closed
    }
    if (h.peer_eof && !h.waiting) {
        close_after_flush_ = true;
        if (out_.empty()) begin_linger();
        return;
    }
    update_timer();
    start_read();
}

inline void Connection::write_response(const Response& res, bool head, bool keep_alive) {
    const int st = (res.status >= 100 && res.status <= 999) ? res.status : 500;
    // RFC 9110 §6.4.1: 1xx, 204 and 304 responses have no content.
    const bool no_body = st < 200 || st == 204 || st == 304;
    keep_alive = keep_alive && !close_after_flush_;
    // One pass over the handler's fields: validity, `Connection: close`, and the size of
    // those written as they are.
    std::size_t fields_size = 0;
    for (const auto& hv : res.headers) {
        if (!valid_header_name(hv.first) || !valid_header_value(hv.second)) {
            Request empty;
            loop_.core.report(empty, errc::invalid_argument,
                              "response header with an invalid name or value: " + hv.first);
            write_response(status(500), head, false);
            return;
        }
        if (is_framing_header(hv.first)) {
            if (iequals(hv.first, "connection") && iequals(hv.second, "close")) keep_alive = false;
            continue;
        }
        fields_size += hv.first.size() + 2 + hv.second.size() + 2;
    }
    const std::string_view reason = reason_phrase(st);
    const std::string_view date = loop_.date();
    char len_buf[24];
    std::size_t len_len = 0;
    {
        std::size_t v = res.body.size();
        char tmp[24];
        do {
            tmp[len_len++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v);
        for (std::size_t i = 0; i < len_len; ++i) len_buf[i] = tmp[len_len - 1 - i];
    }
    const std::string_view conn_hdr = !keep_alive ? std::string_view("Connection: close\r\n")
                                      : (http_ && http_->parser.request().http_minor() == 0)
                                          ? std::string_view("Connection: keep-alive\r\n")
                                          : std::string_view();
    const bool send_body = !no_body && !head;
    std::size_t size = 9 + 3 + 1 + reason.size() + 2 + 6 + date.size() + 2 + conn_hdr.size() + 2;
    if (!no_body) size += 16 + len_len + 2;
    size += fields_size;
    if (send_body) size += res.body.size();

    char* o = reserve(size);
    auto put = [&o](std::string_view s) {
        if (s.empty()) return;   // memcpy from a null data() is undefined even for 0 bytes
        std::memcpy(o, s.data(), s.size());
        o += s.size();
    };
    put("HTTP/1.1 ");
    *o++ = static_cast<char>('0' + st / 100);
    *o++ = static_cast<char>('0' + st / 10 % 10);
    *o++ = static_cast<char>('0' + st % 10);
    *o++ = ' ';
    put(reason);
    put("\r\nDate: ");
    put(date);
    put("\r\n");
    for (const auto& hv : res.headers) {
        if (is_framing_header(hv.first)) continue;
        put(hv.first);
        put(": ");
        put(hv.second);
        put("\r\n");
    }
    if (!no_body) {
        put("Content-Length: ");
        put({len_buf, len_len});
        put("\r\n");
    }
    put(conn_hdr);
    put("\r\n");
    if (send_body) put(res.body);
    if (!keep_alive) close_after_flush();
}

inline void Connection::write_error(int st, std::string_view extra_header) {
    Response r = status(st);
    if (!extra_header.empty()) {
        const auto colon = extra_header.find(':');
        r.headers.set(extra_header.substr(0, colon), extra_header.substr(colon + 2));
    }
    write_response(r, false, false);
}

inline void Connection::flush() {
    if (mode_ == Mode::closed) {
        out_.clear();
        return;
    }
    if (writing_) return;   // the writability wait will flush
    while (!out_.empty()) {
        std::size_t w = 0, total = 0;
        const IoResult r = write_some(w, total);
        if (r == IoResult::again) {
            wait_writable();
            return;
        }
        if (r != IoResult::done) {
            close_now();
            return;
        }
        out_.consume(w);
        write_progress_tick_ = loop_.now_tick();
        if (w < total) {   // the kernel buffer is full: wait instead of spinning
            wait_writable();
            return;
        }
    }
    on_drained();
}

inline void Connection::wait_writable() {
    if (writing_) return;
    writing_ = true;
    if (ws_) ws_->wants_drain = true;
#ifdef WISP_EPOLL
    // The socket refused bytes, so the set reports it when room appears (on_events).
    update_timer();
#else
    retain();
    update_timer();
    sock_.async_wait(tcp_socket::wait_write, [this](const std::error_code& ec) {
        writing_ = false;
        if (!ec && mode_ != Mode::closed) flush();
        else if (ec && ec != net::error::operation_aborted) close_now();
        release();
    });
#endif
}

inline void Connection::on_drained() {
    if (close_after_flush_ && mode_ != Mode::closing && mode_ != Mode::closed) {
        begin_linger();
        return;
    }
    if (mode_ == Mode::http && !http_->waiting) {
        resume_http();   // a client paused for pipelining too far ahead goes on
    } else if (mode_ == Mode::websocket) {
        update_timer();   // back from the send timeout to the idle deadline
        if (ws_->wants_drain) ws_->on_drained();
        start_read();     // if reading paused on a full queue
    } else if (mode_ == Mode::stream) {
        update_timer();
        stream_->on_drained();
    }
}

inline void Connection::close_after_flush() {
    if (mode_ == Mode::closed || mode_ == Mode::closing) return;
    close_after_flush_ = true;
    if (out_.empty() && !dirty) begin_linger();
}

inline void Connection::begin_linger() {
    // RFC 9112 §9.6: half-close, then read until the client closes (or a short deadline), so
    // unread pipelined input does not make the kernel reset the connection and destroy the
    // response before the client has read it.
    if (!shutdown_send()) {
        close_now();
        return;
    }
    mode_ = Mode::closing;
    http_.reset();
    loop_.schedule(*this, loop_.ticks_from_now(std::chrono::milliseconds(2000)));
    start_read();
}

inline void Connection::terminate() { close_now(); }

inline void Connection::close_now() {
    if (mode_ == Mode::closed) return;
    mode_ = Mode::closed;
    loop_.wheel.cancel(*this);
    out_.clear();
    http_.reset();
    close_socket();
    if (ws_ || stream_) {
        retain();   // the close hook runs before the loop lets go of this connection
        if (ws_) ws_->on_transport_closed();
        if (stream_) {
            stream_->on_transport_closed();
            stream_.reset();   // handles still hold the state; the state holds this memory
        }
        loop_.remove(*this);
        release();
        return;
    }
    loop_.remove(*this);
}

inline void Connection::update_timer() {
    using std::chrono::milliseconds;
    const Limits& lim = loop_.core.options.limits;
    if (mode_ == Mode::closed || mode_ == Mode::closing) return;
    if (writing_) {   // blocked on a reader that does not read
        std::uint64_t t = write_progress_tick_ + loop_.ticks(lim.send_timeout);
        // Our close frame waits behind what the peer does not read: ws_close_timeout still
        // bounds the connection (on_timer closes it when writing).
        if (mode_ == Mode::websocket && ws_->close_sent()) t = std::min(t, ws_->deadline());
        loop_.schedule(*this, t);
        return;
    }
    if (mode_ == Mode::http) {
        HttpState& h = *http_;
        if (h.waiting) {
            loop_.wheel.cancel(*this);
        } else if (h.head_started != 0 && !h.parser.in_body()) {
            loop_.schedule(*this, h.head_started + loop_.ticks(lim.header_timeout));
        } else if (h.parser.in_body()) {
            loop_.schedule(*this, loop_.ticks_from_now(lim.body_timeout));
        } else {
            loop_.schedule(*this, loop_.ticks_from_now(lim.keep_alive_timeout));
        }
    } else if (mode_ == Mode::websocket) {
        loop_.schedule(*this, ws_->deadline());
    } else if (mode_ == Mode::stream) {
        if (lim.sse_heartbeat.count() > 0) loop_.schedule(*this, stream_->deadline());
        else loop_.wheel.cancel(*this);
    }
}

inline void Connection::on_timer() {
    if (mode_ == Mode::closed) return;
    if (mode_ == Mode::closing || writing_) {
        close_now();
        return;
    }
    if (mode_ == Mode::websocket) {
        ws_->on_timer();
        return;
    }
    if (mode_ == Mode::stream) {
        stream_->on_heartbeat();
        return;
    }
    if (mode_ == Mode::http) {
        HttpState& h = *http_;
        if (h.parser.in_message() || (h.head_started != 0 && h.seq == 0)) {
            const bool body = h.parser.in_body();
            Request empty;
            empty.set_remote_address(remote_);
            loop_.core.report(empty, body ? errc::body_timeout : errc::header_timeout,
                              body ? "request body stalled" : "request head not complete in time");
            if (h.parser.in_message()) {
                write_error(408);
                return;
            }
            close_after_flush();   // connected but never sent a byte: just close
            return;
        }
        close_after_flush();   // idle keep-alive connection
    }
}

inline void Connection::shutdown() {
    if (mode_ == Mode::websocket) {
        ws_->on_shutdown();
        return;
    }
    if (mode_ == Mode::stream) {
        stream_->end();
        return;
    }
    if (mode_ == Mode::http) {
        HttpState& h = *http_;
        if (!h.waiting && !h.parser.in_message()) close_after_flush();
        // otherwise the in-flight response is written with Connection: close
    }
}

// ---- Loop members that need a complete Connection -------------------------------
template <class Each>
void Loop::run_batch(ConnBatch& b, Each&& each) {
    b.posted = false;   // entries enlisted while this runs get a handler of their own
    b.running.swap(b.waiting);
    for (Connection* c : b.running) {
        each(*c);
        c->release();
    }
    b.running.clear();
}

inline Loop::~Loop() {
    while (head_) head_->terminate();
#ifdef WISP_EPOLL
    // Their handlers will not run now.
    run_batch(later_, [](Connection&) {});
    bury();
#endif
    block_release(recv_);
}

#ifdef WISP_EPOLL
inline bool Loop::watch(Connection& c, int fd) {
    if (!ready_.add(fd, &c)) return false;
    c.retain();   // the set's reference
    if (!poll_armed_) arm_poll();
    return true;
}

inline void Loop::forget(Connection& c, int fd) {
    ready_.remove(fd);
    enlist(graves_, c, [this] { bury(); });   // the set's reference moves to the batch
}

inline void Loop::bury() {
    run_batch(graves_, [](Connection&) {});
}

inline void Loop::read_later(Connection& c) {
    if (c.read_later) return;
    c.read_later = true;
    c.retain();
    enlist(later_, c, [this] { run_later(); });
}

inline void Loop::run_later() {
    TickHold hold(*this);
    run_batch(later_, [](Connection& c) {
        c.read_later = false;
        c.read_if_ready();
    });
}

inline void Loop::arm_poll() {
    poll_armed_ = true;
    poll_desc_.async_wait(poll_descriptor::wait_read, [this](const std::error_code& ec) {
        poll_armed_ = false;
        if (!ec) on_poll();
    });
}

inline void Loop::on_poll() {
    TickHold hold(*this);
    epoll_event events[256];
    const int n = ready_.take(events, 256);
    // A connection closed while this batch is handled keeps its memory until bury() runs
    // (posted), so a later event in the batch that names it finds it marked closed.
    for (int i = 0; i < n; ++i) static_cast<Connection*>(events[i].data.ptr)->on_events(events[i].events);
    if (head_ != nullptr && !poll_armed_) arm_poll();
}
#endif

inline void Loop::mark_dirty(Connection& c) {
    if (c.dirty) return;
    c.dirty = true;
    c.retain();
    // Runs after the handlers already queued for this turn, so everything they produce for
    // a socket goes out in one write.
    enlist(dirty_, c, [this] { flush_all(); });
}

inline void Loop::flush_all() {
    TickHold hold(*this);
    run_batch(dirty_, [](Connection& c) {
        c.dirty = false;
        c.flush();
    });
}


inline void Loop::add(Connection& c) noexcept {
    c.retain();   // the list's reference
    c.next_conn = head_;
    c.prev_conn = nullptr;
    if (head_) head_->prev_conn = &c;
    head_ = &c;
    count_.fetch_add(1, std::memory_order_relaxed);
}

inline void Loop::remove(Connection& c) noexcept {
    if (c.prev_conn) c.prev_conn->next_conn = c.next_conn;
    else if (head_ == &c) head_ = c.next_conn;
    else return;   // not listed
    if (c.next_conn) c.next_conn->prev_conn = c.prev_conn;
    c.prev_conn = c.next_conn = nullptr;
    count_.fetch_sub(1, std::memory_order_relaxed);
    if (stopping_ && head_ == nullptr) release_work();
    c.release();
}

inline void Loop::on_tick() {
    wheel.advance(now_tick(), [](WheelNode& n) { static_cast<Connection&>(n).on_timer(); });
    if (!wheel.empty()) arm_tick();
    else ticking_ = false;
}

inline void Loop::shutdown(std::chrono::milliseconds deadline) {
    if (stopping_) return;
    stopping_ = true;
    for (Connection* c = head_; c;) {
        Connection* next = c->next_conn;
        c->shutdown();
        c = next;
    }
    if (head_ == nullptr) {
        release_work();
        return;
    }
    stop_timer_.expires_after(deadline);
    stop_timer_.async_wait([this](const std::error_code& ec) {
        if (ec) return;
        while (head_) head_->terminate();
        release_work();
    });
}

// ---- Deferred / Responder ---------------------------------------------------------
inline bool Deferred::deliver(Response&& res) {
    if (conn) {
        Connection* c = conn.get();
        const bool open = c->is_open();
        net::post(c->loop().io, [ref = conn, s = seq, r = std::move(res)]() mutable {
            ref->complete_deferred(s, std::move(r));
        });
        return open;
    }
    if (fetch) {
        {
            std::lock_guard<std::mutex> lock(fetch->mutex);
            fetch->result = std::move(res);
        }
        fetch->cv.notify_all();
    }
    return true;
}

inline Deferred::~Deferred() {
    if (!answered.exchange(true)) deliver(status(500));
}

}  // namespace detail

inline bool Responder::send(Response res) const {
    if (!d_ || d_->answered.exchange(true)) return false;
    return d_->deliver(std::move(res));
}

inline const Request& Responder::request() const { return d_->request; }

inline Responder Request::defer() {
    std::shared_ptr<detail::Deferred> d;
    if (deferred_slot_ && *deferred_slot_) d = *deferred_slot_;   // App::fetch made one
    else d = std::make_shared<detail::Deferred>();
    if (!d->taken) {
        d->taken = true;
        d->request = *this;   // an owned copy
        if (conn_) {
            d->conn = detail::ConnRef(conn_);
            d->seq = conn_->http_seq();
        }
        if (deferred_slot_) *deferred_slot_ = d;
    }
    return Responder(std::move(d));
}

WISP_NAMESPACE_END
