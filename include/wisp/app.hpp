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
#include <wisp/event_stream.hpp>
#include <wisp/handle.hpp>
#include <wisp/timer.hpp>
#include <wisp/tls.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/bridge.hpp>
#include <wisp/detail/handler.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/owned.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/move_vector.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {
struct AppCore;
class Loop;
class LoopGate;
class TlsEndpoint;
struct TimerState;
}   // namespace detail

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
    Options& settings() noexcept;

    /// The first setup mistake in words ("GET /u/:name clashes with GET /u/:id"), which
    /// listen() reports as an error code; "" when there is none.
    const std::string& setup_error_detail() const noexcept;

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

    /// Keeps the last `count` text publications of `topic` (an app-wide topic, not one of a
    /// namespace) so that event streams can resume it. Each gets an id, sent as the `id:` of
    /// its SSE events; an event stream that subscribes to `topic` with a `Last-Event-ID`
    /// request header holding such an id (an EventSource sends the last one it saw when it
    /// reconnects) first gets the kept publications after it, in order, then live ones, none
    /// twice. In one process they are kept in memory. With a bridge (RedisBridge) they are
    /// kept in a Redis Stream whose entry ids they take, so a stream resumes on any instance;
    /// while Redis is away they go out as plain publications (no id, not kept). Delivery of a
    /// retained topic is deferred: on the publisher's loop at its next turn, with a bridge once
    /// Redis has ordered it (the publisher is still skipped). Before run(); `count` >= 1.
    /// Errors: errc::invalid_argument (count 0, empty topic), errc::already_running; listen()
    /// reports them too.
    std::error_code retain(std::string_view topic, std::size_t count);

    /// Shares this app's topics with other processes (wisp::RedisBridge, <wisp/redis.hpp>):
    /// its publications go out, theirs reach its subscribers. Before run(); one per app. A
    /// bridge with a setup error returns it, and listen() reports it too.
    template <class B>
    [[nodiscard]] std::error_code bridge(const B& b) {
        std::string why;
        const std::error_code ec = detail::BridgeAccess::error(b, why);
        return attach_bridge(ec, std::move(why), ec ? nullptr : detail::BridgeAccess::link(b));
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
    // What the templates above hand over, compiled once (detail/app_impl.hpp).
    void add_route(std::string_view method, std::string_view pattern, detail::HttpHandler h);
    void add_ws(std::string_view pattern, detail::Box<detail::WsEndpoint> ep, WsOptions options);
    void add_middleware(detail::Middleware m);
    void set_error_hook(detail::ErrorHook hook);
    std::error_code attach_bridge(std::error_code ec, std::string why,
                                  std::shared_ptr<detail::Bridge> link);

    struct Listener;   // a listening socket (detail/app_impl.hpp)
    struct Signals;    // a signal set on loop 0 (detail/app_impl.hpp)
    std::error_code reload_tls_with(const TlsOptions* tls);
    void accept_next(Listener& l);
    detail::Loop& pick_loop();
    detail::Loop& loop0();

    detail::Box<detail::AppCore> core_;              ///< routes, options, topics: what loops share
    detail::BoxVector<detail::Owned> ws_handlers_;   ///< created by ws<H>(path)
    detail::BoxVector<detail::WsEndpoint> ws_endpoints_;
    detail::BoxVector<detail::Loop> loops_;
    detail::PodVector<detail::Loop*>
        live_loops_;   ///< what core_.live_loops points to while running
    detail::BoxVector<Listener> listeners_;
    // The signal sets are Owned (deleted through a pointer) and armed and cancelled through
    // signal_work_, set by stop_on_signals() and reload_tls_on_sighup(): only a program that
    // asks for signals compiles their handling (issue 25).
    detail::Owned signals_;   ///< a Signals: SIGINT, SIGTERM: stop()
    detail::Owned hup_;       ///< a Signals: SIGHUP: reload_tls()
    void (*signal_work_)(App& app, bool arm) = nullptr;
    static void signal_work(App& app, bool arm);
    mutable std::mutex tls_mutex_;   ///< tls_endpoints_, tls_error_ (reload_tls from anywhere)
    detail::MoveVector<std::shared_ptr<detail::TlsEndpoint>> tls_endpoints_;
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
    detail::MoveVector<std::shared_ptr<detail::TimerState>> pending_timers_;   ///< before run()
    detail::MoveVector<std::function<void()>> pending_posts_;   ///< posted before run()
    std::uint16_t port_ = 0;
    bool stop_on_signals_ = false;
};

// ---- templates (the rest: detail/app_impl.hpp) ----------------------------
template <class F>
App& App::route(std::string_view method, std::string_view pattern, F&& handler) {
    add_route(method, pattern, detail::make_handler(std::forward<F>(handler)));
    return *this;
}

template <class H>
App& App::ws(std::string_view pattern, WsOptions options) {
    static_assert(std::is_default_constructible_v<H>,
                  "wisp: app.ws<H>(path) creates an H: give it a default constructor, or pass "
                  "an object with app.ws(path, handler)");
    detail::Owned h = detail::make_owned<H>();
    H& ref = *static_cast<H*>(h.get());
    ws_handlers_.push_back(detail::make_box<detail::Owned>(std::move(h)));
    return ws(pattern, ref, options);
}

template <class H>
App& App::ws(std::string_view pattern, H& handler, WsOptions options) {
    auto ep = detail::make_box<detail::WsEndpoint>();
    detail::fill_endpoint(*ep, handler);
    add_ws(pattern, std::move(ep), std::move(options));
    return *this;
}

template <class F>
App& App::use(F&& middleware) {
    add_middleware(detail::make_middleware(std::forward<F>(middleware)));
    return *this;
}

template <class F>
App& App::on_error(F&& hook) {
    set_error_hook(std::forward<F>(hook));
    return *this;
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
