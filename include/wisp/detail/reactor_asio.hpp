// SPDX-License-Identifier: MIT
// wisp/detail/reactor_asio.hpp — the Reactor over Asio's io_context (reactor.hpp has the
// contract): every system but Linux, and Linux with WISP_NO_EPOLL.
// Owns: the loop's io_context and the guard that keeps it running until release().
// Must not know: connections, sessions, protocols.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#ifndef WISP_EPOLL_REACTOR
#include <wisp/detail/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <system_error>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// A loop's io_context, run by one thread.
class Reactor {
public:
    Reactor()
        : io_(1),   // one thread runs this context: Asio may skip some locking
          work_(io_.get_executor()) {}
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    /// Runs `fn` on the loop's thread, after what was posted before it. Any thread.
    template <class F>
    void post(F&& fn) {
        net::post(io_, std::forward<F>(fn));
    }
    /// Runs handlers until release() was called and nothing is pending. The loop's thread.
    void run() { io_.run(); }
    /// Runs what is ready now, without waiting (also after run() returned).
    void poll() {
        io_.restart();
        io_.poll();
    }
    /// run() may return once nothing is pending.
    void release() noexcept { work_.reset(); }
    /// The io_context, for Asio's own sockets (the Redis link's, redis_socket.hpp).
    net::io_context& io() noexcept { return io_; }

private:
    net::io_context io_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
};

/// A one-shot timer on a Reactor.
class ReactorTimer {
public:
    explicit ReactorTimer(Reactor& r) : t_(r.io().get_executor()) {}
    ReactorTimer(const ReactorTimer&) = delete;
    ReactorTimer& operator=(const ReactorTimer&) = delete;

    /// Calls `fn` once, `after` from now, unless cancelled or armed again first.
    template <class F>
    void arm(std::chrono::milliseconds after, F fn) {
        const std::uint64_t gen = ++gen_;
        armed_ = true;
        t_.expires_after(after);
        // A wait that completed before cancel() or a new arm() may already be queued: the
        // generation tells it that it is stale.
        t_.async_wait([this, gen, fn = std::move(fn)](const std::error_code& ec) mutable {
            if (ec || gen != gen_) return;
            armed_ = false;
            fn();
        });
    }
    void cancel() noexcept {
        ++gen_;
        armed_ = false;
        t_.cancel();
    }
    bool armed() const noexcept { return armed_; }

private:
    steady_timer t_;
    std::uint64_t gen_ = 0;
    bool armed_ = false;
};

}   // namespace detail
WISP_NAMESPACE_END
#endif
#pragma pop_macro("WISP_IN_HEADER")
