// SPDX-License-Identifier: MIT
// wisp/detail/deferred.hpp — one request's dispatch (Exchange) and the answers that come later
// (Responder): what a handler's defer() and EventStream bind to.
// Owns: the exchange a handler runs in, the owned copy of a deferred request, the
// answered-once rule, the 500 for a Responder dropped unanswered, and where a late answer goes
// (the connection's loop, or a waiting App::fetch).
// Must not know: how the HTTP session writes the answer (answer_deferred, in
// http_session.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/loop_gate.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

class StreamState;
struct Deferred;

/// Where App::fetch waits for a deferred answer; outlives the Deferred that fills it.
struct FetchWait {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Response> result;
};

/// One request being handled: set on the Request while middleware and the handler run.
/// A Responder or an EventStream made from that request binds here.
struct Exchange {
    Connection* conn = nullptr;            ///< null for App::fetch
    std::uint64_t seq = 0;                 ///< which request of the connection this is
    std::shared_ptr<FetchWait> fetch;      ///< App::fetch: where a deferred answer goes
    std::shared_ptr<Deferred> deferred;    ///< set by defer()
    std::shared_ptr<StreamState> stream;   ///< set by EventStream(request)
};

/// Hands a deferred answer to the connection's HTTP session (defined in http_session.hpp).
void answer_deferred(Connection& c, std::uint64_t seq, Response&& res);

/// The state behind a Responder: an owned copy of the request and where the answer goes. The
/// last Responder copy to go sends 500 if nobody answered.
struct Deferred {
    Request request;
    ConnRef conn;
    std::shared_ptr<LoopGate> gate;   ///< the connection's loop, while it lives
    std::shared_ptr<FetchWait> fetch;
    std::atomic<bool> answered{false};
    std::uint64_t seq = 0;   ///< which request of the connection this answers

    Deferred() = default;
    Deferred(const Deferred&) = delete;
    Deferred& operator=(const Deferred&) = delete;
    ~Deferred() {
        if (!answered.exchange(true)) deliver(status(500));
    }
    bool deliver(Response&& res);
};

// ---- implementation -------------------------------------------------------
inline bool Deferred::deliver(Response&& res) {
    if (conn) {
        // Any thread, any time: after the client left, after stop(), after run() returned
        // and the App is gone (then the gate is closed and nothing is touched).
        const bool open = !conn->gone();
        const bool posted = gate->post([ref = conn, s = seq, r = std::move(res)]() mutable {
            answer_deferred(*ref.get(), s, std::move(r));
        });
        return posted && open;
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

}   // namespace detail

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
WISP_DEF bool Responder::send(Response res) const {
    if (!d_ || d_->answered.exchange(true)) return false;
    return d_->deliver(std::move(res));
}

WISP_DEF const Request& Responder::request() const { return d_->request; }

WISP_DEF Responder Request::defer() {
    detail::Exchange* ex = exchange_;
    if (ex && ex->deferred) return Responder(ex->deferred);   // asked twice: the same one
    auto d = std::make_shared<detail::Deferred>();
    d->request = *this;   // an owned copy
    if (ex) {
        d->conn = detail::ConnRef(ex->conn);
        if (ex->conn) d->gate = ex->conn->loop().gate;
        d->seq = ex->seq;
        d->fetch = ex->fetch;
        ex->deferred = d;
    }
    return Responder(std::move(d));
}
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
