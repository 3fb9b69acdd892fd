// SPDX-License-Identifier: MIT
// wisp/app.hpp — App: routes, middleware, listening sockets, I/O threads, fetch().
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/options.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/asio.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/deferred.hpp>
#include <wisp/detail/event_stream_impl.hpp>
#include <wisp/detail/handles.hpp>
#include <wisp/detail/http_session.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/loop_impl.hpp>
#include <wisp/detail/stream_session.hpp>
#include <wisp/detail/tls_context.hpp>
#include <wisp/detail/tls_transport.hpp>
#include <wisp/detail/websocket_impl.hpp>
#include <wisp/detail/ws_upgrade.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/tls.hpp>
#include <wisp/websocket.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

/// A web application: routes and handlers, the sockets it listens on and the I/O threads
/// that serve them.
/// Setup (routes, use, options, listen) happens before run(), on one thread. run() blocks;
/// stop() and publish() may be called from any thread.
class App {
public:
    explicit App(Options opts = {});
    App(const App&) = delete;
    App& operator=(const App&) = delete;
    ~App();

    /// Registers `handler(wisp::Request&)` for `method` and `pattern` (see BasicRouter for the
    /// pattern syntax). It may return a Response, a string (text/plain), an EventStream or a
    /// Responder. An invalid pattern is reported by listen().
    template <class F>
    App& route(std::string_view method, std::string_view pattern, F&& handler);
    template <class F>
    App& get(std::string_view p, F&& h) {
        return route("GET", p, std::forward<F>(h));
    }
    template <class F>
    App& post(std::string_view p, F&& h) {
        return route("POST", p, std::forward<F>(h));
    }
    template <class F>
    App& put(std::string_view p, F&& h) {
        return route("PUT", p, std::forward<F>(h));
    }
    template <class F>
    App& patch(std::string_view p, F&& h) {
        return route("PATCH", p, std::forward<F>(h));
    }
    template <class F>
    App& del(std::string_view p, F&& h) {
        return route("DELETE", p, std::forward<F>(h));
    }
    template <class F>
    App& head(std::string_view p, F&& h) {
        return route("HEAD", p, std::forward<F>(h));
    }
    template <class F>
    App& options(std::string_view p, F&& h) {
        return route("OPTIONS", p, std::forward<F>(h));
    }
    /// Any method.
    template <class F>
    App& any(std::string_view p, F&& h) {
        return route("", p, std::forward<F>(h));
    }

    /// A WebSocket endpoint at `pattern` served by a handler struct whose optional hooks are
    /// upgrade(Request&), open(Peer&), message(Peer&, const Message&), close(Peer&, const
    /// CloseInfo&), error(Peer&, const Error&) and drain(Peer&). The App creates one H
    /// (default-constructed) and keeps it; with run(n > 1) its hooks are called from n threads
    /// (never two at once for one peer). A plain GET on the path gets 426 unless an HTTP route
    /// shares the path.
    template <class H>
    App& ws(std::string_view pattern, WsOptions options = {});
    /// The same with a handler the caller owns; it must outlive run().
    template <class H>
    App& ws(std::string_view pattern, H& handler, WsOptions options = {});

    /// Middleware, run in order before routing (also before a WebSocket upgrade). It may
    /// return void (continue), std::optional<Response> (answer when set) or a Response.
    template <class F>
    App& use(F&& middleware);

    /// Called for errors that have no peer to report to: a throwing handler (the client gets
    /// 500), malformed requests, timeouts. Thread: the I/O thread of the connection.
    template <class F>
    App& on_error(F&& hook);

    /// The settings; change them before listen().
    Options& settings() noexcept { return core_.options; }

    /// The first setup mistake in words ("GET /u/:name clashes with GET /u/:id"), which
    /// listen() reports as an error code; "" when there is none.
    const std::string& setup_error_detail() const noexcept { return core_.setup_error_detail; }

    /// Binds and listens (0 = any free port; see port()). Reports route errors first
    /// (setup_error_detail() says which route).
    /// listen(port) binds every IPv4 interface (0.0.0.0); pass a host to narrow it.
    [[nodiscard]] std::error_code listen(std::uint16_t port);
    [[nodiscard]] std::error_code listen(std::string_view host, std::uint16_t port);
    /// The port the first listener is bound to (0 before listen()).
    std::uint16_t port() const noexcept { return port_; }

    /// Serves HTTPS (and wss://) on `port` with the certificates of `tls`, next to any plain
    /// listen() of the same app (serve both, or answer plain HTTP with a redirect). The
    /// certificates and keys are read now: one that cannot be read, does not fit its key or
    /// has expired returns errc::tls_setup, and tls_error_detail() names the file and OpenSSL's
    /// reason. Built without WISP_TLS: errc::tls_unavailable.
    [[nodiscard]] std::error_code listen_tls(std::uint16_t port, TlsOptions tls);
    [[nodiscard]] std::error_code listen_tls(std::string_view host, std::uint16_t port,
                                             TlsOptions tls);
    /// The port the first TLS listener is bound to (0 before listen_tls()).
    std::uint16_t tls_port() const noexcept { return tls_port_; }
    /// Certificate renewal without a restart: every TLS listener reads its certificate and key
    /// files again (or takes `tls`); handshakes from then on use them, open connections keep
    /// theirs. On failure nothing changes and tls_error_detail() says why. Thread-safe.
    [[nodiscard]] std::error_code reload_tls();
    [[nodiscard]] std::error_code reload_tls(const TlsOptions& tls);
    /// SIGHUP calls reload_tls() while the app runs (a failure goes to on_error as
    /// errc::tls_setup). Installed at once, like stop_on_signals(). No effect where there is no
    /// SIGHUP (Windows).
    App& reload_tls_on_sighup(bool enable = true);
    /// The last failed listen_tls() or reload_tls() in words: the field or file and OpenSSL's
    /// reason; "" when there is none. Thread-safe (reload_tls may run anywhere).
    std::string tls_error_detail() const;

    /// Serves on `threads` I/O threads (the caller's thread is one of them) until stop().
    [[nodiscard]] std::error_code run(unsigned threads = 1);
    /// Graceful stop: stops accepting, closes idle connections, lets in-flight responses finish
    /// (WebSocket peers get close 1001, event streams end); after Limits::shutdown_timeout the
    /// rest is closed. Thread-safe; run() then returns.
    void stop();
    /// SIGINT and SIGTERM call stop(). The handlers are installed at once, so a signal that
    /// arrives between this call and run() is not lost: run() then stops right away.
    App& stop_on_signals(bool enable = true);
    bool running() const noexcept { return running_.load(); }

    /// Runs a request through middleware and routes in-process, without a socket (H3's
    /// app.fetch). A deferred handler is waited for. HEAD answers carry no body.
    Response fetch(Request req);

    /// Publishes `text` to every subscriber of `topic` (WebSocket peers as a text message,
    /// event streams as one event). Thread-safe, callable from anywhere while running; framed
    /// once and shared by all subscribers; order is kept per publishing thread. Called on an
    /// I/O thread (a handler or hook), the subscribers on that thread have it queued before it
    /// returns (a peer subscribing afterwards does not get it); other threads' get it next.
    /// `text` must be UTF-8, checked once: else SendResult::invalid and nothing is published.
    /// `options`: SendOptions{false} keeps it uncompressed for every subscriber.
    SendResult publish_text(std::string_view topic, std::string_view text,
                            SendOptions options = {});
    /// Publishes a binary message to the WebSocket subscribers of `topic` (streams skip it).
    SendResult publish_binary(std::string_view topic, std::string_view bytes,
                              SendOptions options = {});
    /// Publishes text (anything string-like), as CrossWS's publish(topic, string).
    SendResult publish(std::string_view topic, std::string_view text, SendOptions options = {}) {
        return publish_text(topic, text, options);
    }
    /// Publishes `message` with its own type.
    SendResult publish(std::string_view topic, const Message& message, SendOptions options = {}) {
        return message.is_binary() ? publish_binary(topic, message.data(), options)
                                   : publish_text(topic, message.data(), options);
    }
    /// Subscribers of `topic` across all threads (peers and streams).
    std::size_t subscriber_count(std::string_view topic) const;

    /// Publishes to `topic` within namespace `ns` (WsOptions::namespace_of): only that
    /// namespace's peers receive it. Otherwise as publish_text.
    SendResult publish_to(std::string_view ns, std::string_view topic, std::string_view text);

    /// Shares this app's topics with other processes (wisp::RedisBridge, <wisp/redis.hpp>):
    /// its publications go out, theirs reach its subscribers. Before run(); one per app. A
    /// bridge with a setup error returns it, and listen() reports it too.
    template <class B>
    [[nodiscard]] std::error_code bridge(const B& b) {
        return core_.attach_bridge(b, running_);
    }

    /// Open connections across all I/O threads.
    std::size_t connection_count() const noexcept;

    // ---- runtime ----
    /// Runs `fn` every `interval` on the first I/O thread, from run() until cancelled or run()
    /// returns. Made before run(), it starts with it. See Timer for resolution and drift.
    /// Thread: any.
    Timer every(std::chrono::milliseconds interval, std::function<void()> fn);
    /// Runs `fn` once after `delay`, the same way.
    Timer after(std::chrono::milliseconds delay, std::function<void()> fn);
    /// Runs `fn` on the first I/O thread, soon; called before run(), once run() starts.
    /// False only for an empty `fn`. Thread: any.
    bool post(std::function<void()> fn);

    // ---- the peer registry (any thread) ----
    /// Handles of every open WebSocket peer of every route (CrossWS app.peers): a snapshot.
    std::vector<PeerHandle> peers() const;
    /// ... of the route registered as `pattern` with ws() ("" when there is none).
    std::vector<PeerHandle> peers(std::string_view pattern) const;
    /// Open WebSocket peers of every route, or of one.
    std::size_t peer_count() const noexcept;
    std::size_t peer_count(std::string_view pattern) const noexcept;
    /// Closes every WebSocket peer (or a route's) with `code` and `reason`, as Peer::close.
    void close_all(std::uint16_t code = 1000, std::string_view reason = {});
    void close_all(std::string_view pattern, std::uint16_t code, std::string_view reason = {});
    /// Runs fn(peer) for each WebSocket subscriber of `topic` (app-wide topics), on each
    /// subscriber's own I/O thread: one visit posted per loop. Returns the number of loops
    /// visited (0 when not running).
    std::size_t for_each_subscriber(std::string_view topic, std::function<void(Peer&)> fn);

private:
    struct Listener {
        explicit Listener(detail::net::io_context& io)
            : acceptor(io.get_executor()), retry(io.get_executor()) {}
        detail::tcp_acceptor acceptor;
        detail::steady_timer retry;
        std::shared_ptr<detail::TlsEndpoint> tls;   ///< HTTPS: a TLS layer per connection
    };
    std::error_code reload_tls_with(const TlsOptions* tls);
    void accept_next(Listener& l);
    detail::Loop& pick_loop();
    detail::Loop& loop0();

    detail::AppCore core_;
    std::vector<std::shared_ptr<void>> ws_handlers_;   ///< created by ws<H>(path)
    std::vector<std::unique_ptr<detail::WsEndpoint>> ws_endpoints_;
    std::vector<std::unique_ptr<detail::Loop>> loops_;
    std::vector<detail::Loop*> live_loops_;   ///< what core_.live_loops points to while running
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::unique_ptr<detail::net::signal_set> signals_;
    std::unique_ptr<detail::net::signal_set> hup_;   ///< SIGHUP: reload_tls()
    mutable std::mutex tls_mutex_;   ///< tls_endpoints_, tls_error_ (reload_tls from anywhere)
    std::vector<std::shared_ptr<detail::TlsEndpoint>> tls_endpoints_;
    std::string tls_error_;
    std::uint16_t tls_port_ = 0;
    bool reload_on_hup_ = false;
    std::atomic<bool> running_{false};
    std::atomic<bool> stop_requested_{false};
    std::mutex stop_mutex_;
    std::shared_ptr<detail::LoopGate> gate0_;   ///< the first loop's, while running (stop_mutex_)
    /// App::every and App::after: on loop 0 when running, else kept for run().
    Timer app_timer(std::chrono::milliseconds delay, std::chrono::milliseconds every,
                    std::function<void()> fn);
    std::vector<std::shared_ptr<detail::TimerState>> pending_timers_;   ///< made before run()
    std::vector<std::function<void()>> pending_posts_;                  ///< posted before run()
    std::uint16_t port_ = 0;
    bool stop_on_signals_ = false;
};

// ---- implementation -------------------------------------------------------
inline App::App(Options opts) { core_.options = std::move(opts); }

inline App::~App() {
    // Signal sets belong to loop 0's io_context: they go before it (after a failed listen they
    // were never reset by run()).
    hup_.reset();
    signals_.reset();
    listeners_.clear();
    loops_.clear();
}

template <class F>
App& App::route(std::string_view method, std::string_view pattern, F&& handler) {
    core_.add_route(method, pattern, detail::make_handler(std::forward<F>(handler)));
    return *this;
}

template <class H>
App& App::ws(std::string_view pattern, WsOptions options) {
    static_assert(std::is_default_constructible_v<H>,
                  "wisp: app.ws<H>(path) creates an H: give it a default constructor, or pass "
                  "an object with app.ws(path, handler)");
    auto h = std::make_shared<H>();
    H& ref = *h;
    ws_handlers_.push_back(std::move(h));
    return ws(pattern, ref, options);
}

template <class H>
App& App::ws(std::string_view pattern, H& handler, WsOptions options) {
    auto ep = std::make_unique<detail::WsEndpoint>();
    detail::fill_endpoint(*ep, handler);
    ep->max_message_bytes = options.max_message_bytes;
    ep->keep_request = options.keep_request;
    ep->deflate = options.deflate;
    if (options.deflate.mode != DeflateMode::off &&
        (options.deflate.window_bits < 9 || options.deflate.window_bits > 15 ||
         options.deflate.mem_level < 1 || options.deflate.mem_level > 9 ||
         options.deflate.level > 9))
        core_.record_setup_error(make_error_code(errc::invalid_argument),
                                 "WS " + std::string(pattern) +
                                     ": WsOptions::deflate needs window_bits 9-15, mem_level 1-9, "
                                     "level 0-9");
    ep->pattern = std::string(pattern);
    ep->namespace_of = std::move(options.namespace_of);
    core_.add_ws_route(pattern, ep.get());
    ws_endpoints_.push_back(std::move(ep));
    return *this;
}

template <class F>
App& App::use(F&& middleware) {
    core_.middleware.push_back(detail::make_middleware(std::forward<F>(middleware)));
    return *this;
}

template <class F>
App& App::on_error(F&& hook) {
    core_.on_error = std::forward<F>(hook);
    return *this;
}

inline detail::Loop& App::loop0() {
    if (loops_.empty()) {
        core_.sync_limits();
        loops_.push_back(std::make_unique<detail::Loop>(core_, 0));
    }
    return *loops_[0];
}

inline std::error_code App::listen(std::uint16_t port) { return listen("0.0.0.0", port); }

inline std::error_code App::listen(std::string_view host, std::uint16_t port) {
    if (core_.setup_error) return core_.setup_error;
    if (running_) return make_error_code(errc::already_running);
    if (core_.options.limits.max_queued_bytes == 0 || core_.options.receive_buffer_bytes < 1024)
        return make_error_code(errc::invalid_argument);
    detail::Loop& l0 = loop0();
    std::error_code ec;
    auto addr = detail::net::ip::make_address(std::string(host), ec);
    if (ec) {
        detail::tcp::resolver resolver(l0.io);
        auto results = resolver.resolve(std::string(host), std::to_string(port), ec);
        if (ec) return ec;
        if (results.empty()) return make_error_code(std::errc::host_unreachable);
        addr = results.begin()->endpoint().address();
    }
    auto li = std::make_unique<Listener>(l0.io);
    const detail::tcp::endpoint ep(addr, port);
    li->acceptor.open(ep.protocol(), ec);
    if (ec) return ec;
    if (core_.options.reuse_address) {
        li->acceptor.set_option(detail::tcp::acceptor::reuse_address(true), ec);
        if (ec) return ec;
    }
    li->acceptor.bind(ep, ec);
    if (ec) return ec;
    li->acceptor.listen(core_.options.listen_backlog, ec);
    if (ec) return ec;
    if (port_ == 0) port_ = li->acceptor.local_endpoint(ec).port();
    listeners_.push_back(std::move(li));
    return {};
}

inline detail::Loop& App::pick_loop() {
    // Fewest connections first: keeps threads even when connection lifetimes differ.
    detail::Loop* best = loops_[0].get();
    for (auto& l : loops_)
        if (l->connection_count() < best->connection_count()) best = l.get();
    return *best;
}

inline void App::accept_next(Listener& li) {
    detail::Loop& target = pick_loop();
    li.acceptor.async_accept(
        target.io, [this, &li, &target](const std::error_code& ec, detail::tcp_socket sock) {
            if (ec == detail::net::error::operation_aborted || core_.stopping) return;
            if (ec) {
                // Out of descriptors or a transient failure: wait, then accept again (never spin).
                li.retry.expires_after(std::chrono::milliseconds(50));
                li.retry.async_wait([this, &li](const std::error_code& e) {
                    if (!e && !core_.stopping) accept_next(li);
                });
                return;
            }
            auto start = [&target, tls = li.tls](detail::tcp_socket s) {
                auto* c = new detail::Connection(target, std::move(s));
                if (tls) c->set_layer(detail::make_tls_layer(target, c->socket(), *tls));
                c->start(std::make_unique<detail::HttpSession>(*c));
                c->release();   // the loop's list holds it now
            };
            if (&target == loops_[0].get()) start(std::move(sock));
            else
                detail::net::post(target.io,
                                  [start, s = std::move(sock)]() mutable { start(std::move(s)); });
            accept_next(li);
        });
}

inline std::error_code App::listen_tls(std::uint16_t port, TlsOptions tls) {
    return listen_tls("0.0.0.0", port, std::move(tls));
}

inline std::error_code App::listen_tls(std::string_view host, std::uint16_t port, TlsOptions tls) {
    std::error_code ec;
    std::string why;
    // The certificates first: a listener that cannot serve TLS is never bound.
    std::shared_ptr<detail::TlsEndpoint> ep = detail::TlsEndpoint::make(std::move(tls), ec, why);
    if (!ep) {
        std::lock_guard<std::mutex> lock(tls_mutex_);
        tls_error_ = "listen_tls: " + why;
        return ec;
    }
    const std::size_t before = listeners_.size();
    if ((ec = listen(host, port))) return ec;
    if (listeners_.size() != before + 1) return make_error_code(errc::invalid_argument);
    Listener& li = *listeners_.back();
    li.tls = ep;
    std::lock_guard<std::mutex> lock(tls_mutex_);
    tls_endpoints_.push_back(std::move(ep));
    if (tls_port_ == 0) tls_port_ = li.acceptor.local_endpoint(ec).port();
    return ec;
}

inline std::error_code App::reload_tls() { return reload_tls_with(nullptr); }
inline std::error_code App::reload_tls(const TlsOptions& tls) { return reload_tls_with(&tls); }

inline std::error_code App::reload_tls_with(const TlsOptions* tls) {
    std::lock_guard<std::mutex> lock(tls_mutex_);
    if (tls_endpoints_.empty()) {
        tls_error_ = "reload_tls: no TLS listener (listen_tls first)";
        return make_error_code(errc::not_listening);
    }
    for (auto& ep : tls_endpoints_) {
        std::string why;
        if (auto ec = ep->reload(tls, why)) {
            tls_error_ = "reload_tls: " + why;
            return ec;
        }
    }
    return {};
}

inline App& App::reload_tls_on_sighup(bool enable) {
    reload_on_hup_ = enable;
#ifdef SIGHUP
    if (!enable) hup_.reset();
    else if (!hup_) hup_ = std::make_unique<detail::net::signal_set>(loop0().io, SIGHUP);
#endif
    return *this;
}

inline std::string App::tls_error_detail() const {
    std::lock_guard<std::mutex> lock(tls_mutex_);
    return tls_error_;
}

inline App& App::stop_on_signals(bool enable) {
    stop_on_signals_ = enable;
    if (!enable) signals_.reset();
    else if (!signals_)
        signals_ = std::make_unique<detail::net::signal_set>(loop0().io, SIGINT, SIGTERM);
    return *this;
}

inline std::error_code App::run(unsigned threads) {
    if (listeners_.empty()) return make_error_code(errc::not_listening);
    if (running_.exchange(true)) return make_error_code(errc::already_running);
    if (threads == 0) threads = 1;
    core_.sync_limits();
    while (loops_.size() < threads)
        loops_.push_back(
            std::make_unique<detail::Loop>(core_, static_cast<unsigned>(loops_.size())));
    live_loops_.clear();
    for (auto& l : loops_) live_loops_.push_back(l.get());
    core_.live_loops.store(&live_loops_);
    if (core_.bridge) core_.bridge->start(core_, *loops_[0]);
    for (auto& li : listeners_) accept_next(*li);
    {
        std::lock_guard<std::mutex> lock(stop_mutex_);
        gate0_ = loops_[0]->gate;
        const auto started = std::chrono::steady_clock::now();   // their delays count from here
        for (auto& t : pending_timers_) {
            t->made = started;
            t->loop = loops_[0].get();
            t->gate = gate0_;
            if (!gate0_->post([t] { t->loop->start_timer(t); })) t->over = true;
        }
        pending_timers_.clear();
        for (auto& fn : pending_posts_) gate0_->post(std::move(fn));
        pending_posts_.clear();
    }
    if (stop_on_signals_) {
        if (!signals_)
            signals_ = std::make_unique<detail::net::signal_set>(loops_[0]->io, SIGINT, SIGTERM);
        signals_->async_wait([this](const std::error_code& ec, int) {
            if (!ec) stop();
        });
    }
#ifdef SIGHUP
    if (reload_on_hup_) {
        if (!hup_) hup_ = std::make_unique<detail::net::signal_set>(loops_[0]->io, SIGHUP);
        struct Rearm {
            App* app;
            void operator()(const std::error_code& ec, int) const {
                if (ec) return;
                if (app->reload_tls()) {
                    Request none;
                    app->core_.report(none, errc::tls_setup, app->tls_error_detail());
                }
                app->hup_->async_wait(*this);
            }
        };
        hup_->async_wait(Rearm{this});
    }
#endif
    if (stop_requested_) stop();
    std::vector<std::thread> workers;
    auto run_loop = [](detail::Loop* l) {
        detail::Loop::current() = l;
        l->io.run();
        detail::Loop::current() = nullptr;
    };
    for (std::size_t i = 1; i < loops_.size(); ++i)
        workers.emplace_back([run_loop, l = loops_[i].get()] { run_loop(l); });
    run_loop(loops_[0].get());
    for (auto& t : workers) t.join();
    // Everything is closed: drop the loops (and their handlers) so a later run starts clean.
    signals_.reset();
    hup_.reset();
    listeners_.clear();
    {
        std::lock_guard<std::mutex> lock(tls_mutex_);
        tls_endpoints_.clear();
        tls_port_ = 0;
    }
    // Publishes from other threads now go nowhere; those already under way return (a full
    // inbox lets its waiters go) before the loops are destroyed.
    core_.live_loops.store(nullptr);
    for (auto& l : loops_) l->close_inbox();
    if (core_.bridge) core_.bridge->detach();
    while (core_.foreign_publishes.load() != 0) std::this_thread::yield();
    {
        std::lock_guard<std::mutex> lock(stop_mutex_);
        gate0_.reset();
    }
    loops_.clear();
    port_ = 0;
    core_.stopping = false;
    stop_requested_ = false;
    running_ = false;
    return {};
}

inline void App::stop() {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_requested_ = true;
    if (!running_ || loops_.empty() || core_.stopping.exchange(true)) return;
    const auto deadline = core_.options.limits.shutdown_timeout;
    detail::net::post(loops_[0]->io, [this] {
        for (auto& li : listeners_) {
            std::error_code ec;
            li->acceptor.close(ec);
            li->retry.cancel();
        }
        if (signals_) {
            std::error_code ec;
            signals_->cancel(ec);
        }
        if (hup_) {
            std::error_code ec;
            hup_->cancel(ec);
        }
        if (core_.bridge) core_.bridge->stop(core_.options.limits.shutdown_timeout);
    });
    for (auto& l : loops_) {
        detail::Loop* lp = l.get();
        detail::net::post(lp->io, [lp, deadline] { lp->shutdown(deadline); });
    }
}

inline SendResult App::publish_text(std::string_view topic, std::string_view text, SendOptions o) {
    if (!is_utf8(text)) return SendResult::invalid;
    core_.publish(detail::Publication::make(topic, text, false, o.compress), nullptr, nullptr);
    return SendResult::sent;
}
inline SendResult App::publish_binary(std::string_view topic, std::string_view bytes,
                                      SendOptions o) {
    core_.publish(detail::Publication::make(topic, bytes, true, o.compress), nullptr, nullptr);
    return SendResult::sent;
}
inline std::size_t App::subscriber_count(std::string_view topic) const {
    return core_.topic_counts.get(std::string(topic));
}

inline SendResult App::publish_to(std::string_view ns, std::string_view topic,
                                  std::string_view text) {
    if (!is_utf8(text)) return SendResult::invalid;
    core_.publish(detail::Publication::make(detail::namespaced_topic(ns, topic), text, false),
                  nullptr, nullptr);
    return SendResult::sent;
}

inline Timer App::every(std::chrono::milliseconds interval, std::function<void()> fn) {
    return app_timer(interval, interval, std::move(fn));
}

inline Timer App::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    return app_timer(delay, std::chrono::milliseconds(0), std::move(fn));
}

inline Timer App::app_timer(std::chrono::milliseconds delay, std::chrono::milliseconds every,
                            std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (!gate0_) {   // not running: it starts with run(), which sets its start
        auto s = detail::make_timer_state(delay, every, std::move(fn));
        pending_timers_.push_back(s);
        return detail::TimerAccess::wrap(std::move(s));
    }
    return detail::start_timer_on(loops_[0].get(), gate0_, delay, every, std::move(fn));
}

inline bool App::post(std::function<void()> fn) {
    if (!fn) return false;
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (gate0_ && gate0_->post(fn)) return true;
    pending_posts_.push_back(std::move(fn));   // not running: when run() starts
    return true;
}

inline std::vector<PeerHandle> App::peers() const {
    std::vector<PeerHandle> out;
    for (const auto& ep : ws_endpoints_) {
        auto some = detail::snapshot(*ep);
        for (auto& h : some) out.push_back(std::move(h));
    }
    return out;
}

inline std::vector<PeerHandle> App::peers(std::string_view pattern) const {
    for (const auto& ep : ws_endpoints_)
        if (ep->pattern == pattern) return detail::snapshot(*ep);
    return {};
}

inline std::size_t App::peer_count() const noexcept {
    std::size_t n = 0;
    for (const auto& ep : ws_endpoints_) n += ep->peers.count.load(std::memory_order_relaxed);
    return n;
}

inline std::size_t App::peer_count(std::string_view pattern) const noexcept {
    for (const auto& ep : ws_endpoints_)
        if (ep->pattern == pattern) return ep->peers.count.load(std::memory_order_relaxed);
    return 0;
}

inline void App::close_all(std::uint16_t code, std::string_view reason) {
    for (const PeerHandle& h : peers()) (void)h.close(code, reason);
}

inline void App::close_all(std::string_view pattern, std::uint16_t code, std::string_view reason) {
    for (const PeerHandle& h : peers(pattern)) (void)h.close(code, reason);
}

inline std::size_t App::for_each_subscriber(std::string_view topic, std::function<void(Peer&)> fn) {
    if (!fn) return 0;
    const std::vector<detail::Loop*>* loops = core_.live_loops.load(std::memory_order_acquire);
    if (loops == nullptr) return 0;
    auto shared = std::make_shared<std::function<void(Peer&)>>(std::move(fn));
    std::size_t n = 0;
    for (detail::Loop* l : *loops)
        n += l->gate->post([l, t = std::string(topic), shared] {
            l->topics.for_each(t, [&](const detail::TopicSub& sub) {
                if (detail::WsSession* s = detail::WsSession::of(sub)) s->visit(*shared);
            });
        });
    return n;
}

inline std::size_t App::connection_count() const noexcept {
    std::size_t n = 0;
    for (const auto& l : loops_) n += l->connection_count();
    return n;
}

inline Response App::fetch(Request req) {
    core_.sync_limits();
    detail::Exchange ex;
    ex.fetch = std::make_shared<detail::FetchWait>();
    detail::RequestBuilder::set_exchange(req, &ex);
    const bool head = req.method() == "HEAD";
    Response res = core_.handle(req);
    detail::RequestBuilder::set_exchange(req, nullptr);
    const detail::ResponseKind kind = detail::ResponseAccess::kind(res);
    if (ex.stream) {
        // In-process there is no connection to stream to: the events pushed while the
        // handler ran are the body, and the stream ends (on_closed runs) here.
        if (kind == detail::ResponseKind::stream) {
            Response r(200, std::move(ex.stream->pending), "text/event-stream");
            r.headers.set("Cache-Control", "no-cache");
            for (const auto& h : ex.stream->headers) r.headers.set(h.first, h.second);
            res = std::move(r);
        }
        ex.stream->end();
    }
    const bool taken = ex.deferred != nullptr;
    // Not deferred (or the returned response wins): later answers are refused.
    if (taken && kind != detail::ResponseKind::deferred) ex.deferred->answered = true;
    ex.deferred.reset();   // a dropped Responder now answers 500
    if (kind == detail::ResponseKind::deferred) {
        if (!taken) {
            core_.report(req, errc::handler_exception,
                         "handler returned a Responder it did not get from defer()");
            res = status(500);
        } else {
            std::unique_lock<std::mutex> lock(ex.fetch->mutex);
            ex.fetch->cv.wait(lock, [&] { return ex.fetch->result.has_value(); });
            res = std::move(*ex.fetch->result);
        }
    }
    if (head) res.body.clear();
    return res;
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
