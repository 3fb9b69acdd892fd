// SPDX-License-Identifier: MIT
// wisp/detail/http_session.hpp — HTTP/1.1 on one connection (RFC 9112): parse, route, respond,
// keep-alive, pipelining in order (deferred answers hold later requests back), 100-continue,
// the request timeouts, and the hand-over to a WebSocket or an event stream.
// Owns: the request parser, pipelined input that waits behind a deferred answer, the request
// count, and the head, body and keep-alive deadlines.
// Must not know: sockets or transports (it queues bytes on the connection's SendQueue), how a
// WebSocket or an event stream runs once handed over (ws_upgrade.hpp, stream_session.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/block_cache.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/deferred.hpp>
#include <wisp/detail/http_response.hpp>
#include <wisp/detail/llhttp.hpp>
#include <wisp/detail/session.hpp>
#include <wisp/detail/stream_state.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class HttpSession;
struct WsEndpoint;

/// Handles a request for a WebSocket route (ws_upgrade.hpp): false when it is not an upgrade
/// attempt; otherwise it answered (rejected) or handed the connection to a WebSocket session.
bool try_upgrade(HttpSession& http, Request& req, const WsEndpoint& ep,
                 std::vector<RouteParam>& params);
/// Writes an event stream's head and hands the connection to it (stream_session.hpp); for
/// HEAD, the head alone, and the HTTP session goes on when `keep_alive`.
void start_stream(HttpSession& http, std::shared_ptr<StreamState> st, bool head, bool keep_alive);

/// How many freed HTTP sessions an I/O thread keeps for its next connections (BlockCache):
/// enough for the handshakes of a burst of clients (a browser opens a few, a load generator a
/// few hundred at once), at most 156 KiB a thread.
constexpr std::size_t http_sessions_kept = 256;

/// The HTTP/1.1 session a connection starts with.
class HttpSession final : public Session {
public:
    explicit HttpSession(Connection& conn)
        : Session(SessionKind::http), conn_(conn), parser_(conn.loop().core.parser_limits) {}
    /// Every connection starts with one and most drop it soon (an upgrade, a short exchange):
    /// its block goes to the next connection of the thread, not back to the heap.
    static void* operator new(std::size_t);
    static void operator delete(void* p) noexcept;

    Connection& connection() noexcept { return conn_; }
    /// Writes `res` (a HEAD answer without its body); closes after it unless `keep_alive`.
    void write_response(const Response& res, bool head, bool keep_alive);
    /// A deferred answer for request `seq` arrived (loop thread).
    void complete_deferred(std::uint64_t seq, Response&& res);

    // ---- Session ----
    void on_start() override { head_started_ = conn_.loop().now_tick(); }   // a head is owed
    inline void on_data(char* p, std::size_t n) override;
    inline bool wants_input() const noexcept override;
    inline void on_peer_eof() override;
    void on_drained() override {
        // A client paused for pipelining too far ahead goes on; while the read pump runs, it
        // rearms the timer and reads on by itself.
        if (!waiting_ && (!conn_.reading() || !stash_.empty() || peer_eof_)) resume();
    }
    inline std::uint64_t deadline() const noexcept override;
    inline void on_timer() override;
    void on_shutdown() override {
        if (!waiting_ && !parser_.in_message()) conn_.close_after_flush();
        // otherwise the in-flight response is written with Connection: close
    }
    void on_closed() override { std::string().swap(stash_); }

private:
    void dispatch(Request& req);
    void write_error(int status);
    void resume();
    void report(errc code, std::string_view why) const;

    Connection& conn_;
    RequestParser parser_;
    std::string stash_;   ///< pipelined bytes read while a deferred answer is pending
    std::uint64_t seq_ = 0;
    std::uint64_t head_started_ = 0;   ///< tick when the current head began (slowloris bound)
    bool waiting_ = false;             ///< a deferred answer is pending
    bool pending_head_ = false;        ///< ...for a HEAD request
    bool pending_keep_alive_ = true;
    bool peer_eof_ = false;
};

// ---- implementation -------------------------------------------------------
using HttpSessionBlocks = BlockCache<sizeof(HttpSession), http_sessions_kept>;

// The class is final: every block is sizeof(HttpSession).
inline void* HttpSession::operator new(std::size_t) { return HttpSessionBlocks::get(); }

inline void HttpSession::operator delete(void* p) noexcept { HttpSessionBlocks::put(p); }

inline bool HttpSession::wants_input() const noexcept {
    if (waiting_ || peer_eof_) return false;
    // A client that pipelines without reading is not read further until it catches up.
    return !conn_.out().over(conn_.out().cap());
}

inline void HttpSession::report(errc code, std::string_view why) const {
    if (!conn_.loop().core.on_error) return;
    Request empty;
    RequestBuilder::set_remote(empty, conn_.remote_address(), conn_.is_secure());
    conn_.loop().core.report(empty, code, std::string(why));
}

inline void HttpSession::on_data(char* p, std::size_t n) {
    while (n > 0 && conn_.session() == this && !conn_.closing()) {
        if (waiting_ || conn_.out().over(conn_.out().cap())) {
            // Keep pipelined input until the deferred answer is written, or until a client
            // that does not read its responses has drained them (bounded memory).
            stash_.append(p, n);
            return;
        }
        const bool was_idle = !parser_.in_message();
        const auto r = parser_.feed(p, n);
        p += r.consumed;
        n -= r.consumed;
        if (was_idle && parser_.in_message() && head_started_ == 0)
            head_started_ = conn_.loop().now_tick();
        switch (r.event) {
            case RequestParser::Event::need_more:
                return;
            case RequestParser::Event::expect_continue:
                conn_.out().write("HTTP/1.1 100 Continue\r\n\r\n");
                parser_.continue_body();
                continue;
            case RequestParser::Event::error:
                report(parser_.error_code(), parser_.error_reason());
                write_error(parser_.error_status());
                return;
            case RequestParser::Event::request:
                head_started_ = 0;
                dispatch(parser_.request());
                if (conn_.session() != this) {
                    // Handed over: what followed the head in this read belongs to the new
                    // protocol (WebSocket frames; an event stream ignores its client's bytes).
                    // This session stays allocated until the connection's call returns.
                    Connection& c = conn_;
                    Session* next = c.session();
                    next->on_start();
                    if (n > 0 && c.is_open() && c.session() == next) next->on_data(p, n);
                    return;
                }
                if (!waiting_) parser_.next();
                break;
        }
    }
}

inline void HttpSession::dispatch(Request& req) {
    Loop& loop = conn_.loop();
    ++seq_;
    const bool secure = conn_.is_secure();
    RequestBuilder::set_remote(req, conn_.remote_address(), secure);
    // Only a TLS transport has a client certificate; a plain connection's requests keep the
    // null they start with, without a shared_ptr made and dropped for each.
    if (secure) RequestBuilder::set_client_subject(req, conn_.client_subject());
    const bool head = req.method() == "HEAD";
    bool keep_alive = req.keep_alive() && !loop.stopping();
    // Only a request asking for an upgrade can be one (check_handshake's first test); the
    // others skip the WebSocket routes.
    if (loop.core.ws_router.size() != 0 && req.header("upgrade")) {
        std::vector<RouteParam> params;
        if (const WsEndpoint* ep = loop.core.ws_route(req, params))
            if (try_upgrade(*this, req, *ep, params)) return;
    }
    if (parser_.upgrade()) {
        // No protocol switch is offered on this route: answer over HTTP, then close, since
        // what follows the head would be the other protocol's bytes.
        keep_alive = false;
    }
    Exchange ex;
    ex.conn = &conn_;
    ex.seq = seq_;
    RequestBuilder::set_exchange(req, &ex);
    Response res = loop.core.handle(req);
    RequestBuilder::set_exchange(req, nullptr);
    const ResponseKind answer = ResponseAccess::kind(res);
    if (answer == ResponseKind::stream) {
        if (ex.stream) {
            start_stream(*this, std::move(ex.stream), head, keep_alive);
            return;
        }
        loop.core.report(req, errc::handler_exception,
                         "handler returned an EventStream not made from its request");
        res = status(500);
    } else if (ex.stream) {
        ex.stream->end();   // made but not returned: it never starts, and says so once
    }
    if (answer == ResponseKind::deferred) {
        if (ex.deferred) {
            // Wait for the answer (it may already be posted, if sent inside the handler);
            // later pipelined requests wait behind it.
            waiting_ = true;
            pending_head_ = head;
            pending_keep_alive_ = keep_alive;
            parser_.next();
            return;
        }
        loop.core.report(req, errc::handler_exception,
                         "handler returned a Responder it did not get from defer()");
        res = status(500);
    }
    if (ex.deferred) ex.deferred->answered.store(true);   // the returned response wins
    write_response(res, head, keep_alive);
}

inline void HttpSession::write_response(const Response& res, bool head, bool keep_alive) {
    const ResponseLayout layout(res, head, keep_alive && !conn_.closing(),
                                parser_.request().http_minor() == 0);
    if (const auto* bad = layout.invalid()) {
        report(errc::invalid_argument,
               "response header with an invalid name or value: " + bad->first);
        write_response(status(500), head, false);
        return;
    }
    layout.write(conn_.out().reserve(layout.size()), conn_.loop().date());
    if (!layout.keep_alive()) conn_.close_after_flush();
}

inline void HttpSession::write_error(int st) { write_response(status(st), false, false); }

inline void HttpSession::complete_deferred(std::uint64_t seq, Response&& res) {
    if (!conn_.is_open() || conn_.session() != this || !waiting_ || seq != seq_) return;
    waiting_ = false;
    // The app may have begun stopping while the answer was pending: then this is the last.
    write_response(res, pending_head_, pending_keep_alive_ && !conn_.loop().stopping());
    resume();
}

inline void HttpSession::resume() {
    if (!conn_.closing() && !stash_.empty()) {
        std::string input = std::move(stash_);
        stash_.clear();
        on_data(input.data(), input.size());
        if (conn_.session() != this || !conn_.is_open()) return;   // handed over, or closed
    }
    if (peer_eof_ && !waiting_) {
        conn_.close_after_flush();
        return;
    }
    conn_.rearm_timer();
    conn_.resume_reading();
}

inline void HttpSession::on_peer_eof() {
    // The client sent everything it will send; answer what is pending, then close.
    peer_eof_ = true;
    if (!waiting_ && conn_.out().empty()) {
        conn_.terminate();
        return;
    }
    if (!waiting_) conn_.close_after_flush();
}

inline std::uint64_t HttpSession::deadline() const noexcept {
    const Loop& loop = conn_.loop();
    const Limits& lim = loop.core.options.limits;
    if (waiting_) return 0;
    if (head_started_ != 0 && !parser_.in_body())
        return head_started_ + loop.ticks(lim.header_timeout);
    if (parser_.in_body()) return loop.ticks_from_now(lim.body_timeout);
    return loop.ticks_from_now(lim.keep_alive_timeout);
}

inline void HttpSession::on_timer() {
    if (parser_.in_message() || (head_started_ != 0 && seq_ == 0)) {
        const bool body = parser_.in_body();
        report(body ? errc::body_timeout : errc::header_timeout,
               body ? "request body stalled" : "request head not complete in time");
        if (parser_.in_message()) {
            write_error(408);
            return;
        }
        conn_.close_after_flush();   // connected but never sent a byte: just close
        return;
    }
    conn_.close_after_flush();   // idle keep-alive connection
}

inline void answer_deferred(Connection& c, std::uint64_t seq, Response&& res) {
    c.in_session([&] {
        Session* s = c.session();
        if (s != nullptr && s->kind == SessionKind::http)
            static_cast<HttpSession*>(s)->complete_deferred(seq, std::move(res));
    });
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
