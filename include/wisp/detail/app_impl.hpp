// SPDX-License-Identifier: MIT
// wisp/detail/app_impl.hpp — App's members that run the engine: listening sockets, I/O threads,
// signals, timers, the peer registry and fetch().
// Owns: App's listeners and signal sets (incomplete in app.hpp, so that it needs no Asio).
// Must not know: any protocol (the sessions do that); the templates stay in app.hpp, which is
// all a compile-once file sees (WISP_DEF: config.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/app.hpp>
#include <wisp/error.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/acceptor.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/deferred.hpp>
#include <wisp/detail/event_stream_impl.hpp>
#include <wisp/detail/handles.hpp>
#include <wisp/detail/http_session.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/loop_impl.hpp>
#include <wisp/detail/reactor.hpp>
#include <wisp/detail/signal_watch.hpp>
#include <wisp/detail/stream_session.hpp>
#include <wisp/detail/timers.hpp>
#include <wisp/detail/tls_context.hpp>
#include <wisp/detail/tls_transport.hpp>
#include <wisp/detail/websocket_impl.hpp>
#include <wisp/detail/ws_upgrade.hpp>
#include <wisp/detail/box.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

struct App::Listener {
    explicit Listener(detail::Reactor& r) : acceptor(r), retry(r) {}
    detail::Acceptor acceptor;
    detail::ReactorTimer retry;                 ///< out of descriptors: accept again later
    std::shared_ptr<detail::TlsEndpoint> tls;   ///< HTTPS: a TLS layer per connection
    App* app = nullptr;
    detail::Loop* target = nullptr;   ///< the loop of the connection being accepted
    /// The acceptor's Done: starts the connection on `target`, then accepts the next.
    static void on_accepted(void* listener, const std::error_code& ec, detail::AcceptedSocket sock);
};

struct App::Signals : detail::SignalWatch {
    using detail::SignalWatch::SignalWatch;
};

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
WISP_DEF App::App(Options opts) : core_(detail::make_box<detail::AppCore>()) {
    core_->options = std::move(opts);
}

WISP_DEF Options& App::settings() noexcept { return core_->options; }

WISP_DEF const std::string& App::setup_error_detail() const noexcept {
    return core_->setup_error_detail;
}

WISP_DEF void App::add_route(std::string_view method, std::string_view pattern,
                             detail::HttpHandler h) {
    core_->add_route(method, pattern, std::move(h));
}

WISP_DEF void App::add_ws(std::string_view pattern, detail::Box<detail::WsEndpoint> ep,
                          WsOptions options) {
    ep->max_message_bytes = options.max_message_bytes;
    ep->keep_request = options.keep_request;
    ep->deflate = options.deflate;
    if (options.deflate.mode != DeflateMode::off &&
        (options.deflate.window_bits < 9 || options.deflate.window_bits > 15 ||
         options.deflate.mem_level < 1 || options.deflate.mem_level > 9 ||
         options.deflate.level > 9))
        core_->record_setup_error(make_error_code(errc::invalid_argument),
                                  "WS " + std::string(pattern) +
                                      ": WsOptions::deflate needs window_bits 9-15, mem_level 1-9, "
                                      "level 0-9");
    ep->pattern = std::string(pattern);
    ep->namespace_of = std::move(options.namespace_of);
    core_->add_ws_route(pattern, ep.get());
    ws_endpoints_.push_back(std::move(ep));
}

WISP_DEF void App::add_middleware(detail::Middleware m) {
    core_->middleware.push_back(std::move(m));
}

WISP_DEF void App::set_error_hook(detail::ErrorHook hook) { core_->on_error = std::move(hook); }

WISP_DEF std::error_code App::attach_bridge(std::error_code ec, std::string why,
                                            std::shared_ptr<detail::Bridge> link) {
    return core_->attach_bridge(ec, std::move(why), std::move(link), running_);
}

WISP_DEF std::error_code App::retain(std::string_view topic, std::size_t count) {
    std::error_code ec;
    if (running_) ec = make_error_code(errc::already_running);
    else if (count == 0 || topic.empty()) ec = make_error_code(errc::invalid_argument);
    if (ec) {
        core_->record_setup_error(
            ec, "retain(\"" + std::string(topic) + "\", " + std::to_string(count) + "): " +
                    (running_ ? std::string("the app runs") : "needs a topic and a count >= 1"));
        return ec;
    }
    core_->retained.get()[std::string(topic)] = detail::make_box<detail::EventLog>(count);
    return ec;
}

WISP_DEF App::~App() {
    // Signal sets belong to loop 0's Reactor: they go before it (after a failed listen they
    // were never reset by run()).
    hup_ = detail::Owned();
    signals_ = detail::Owned();
    listeners_.clear();
    loops_.clear();
}

WISP_DEF detail::Loop& App::loop0() {
    if (loops_.empty()) {
        core_->sync_limits();
        loops_.push_back(detail::make_box<detail::Loop>(*core_, 0u));
    }
    return *loops_[0];
}

WISP_DEF std::error_code App::listen(std::uint16_t port) { return listen("0.0.0.0", port); }

WISP_DEF std::error_code App::listen(std::string_view host, std::uint16_t port) {
    if (core_->setup_error) return core_->setup_error;
    if (running_) return make_error_code(errc::already_running);
    if (core_->options.limits.max_queued_bytes == 0 || core_->options.receive_buffer_bytes < 1024)
        return make_error_code(errc::invalid_argument);
    auto li = detail::make_box<Listener>(loop0().reactor);
    li->app = this;
    if (auto ec = li->acceptor.open(host, port, core_->options.reuse_address,
                                    core_->options.listen_backlog))
        return ec;
    if (port_ == 0) port_ = li->acceptor.port();
    listeners_.push_back(std::move(li));
    return {};
}

WISP_DEF detail::Loop& App::pick_loop() {
    // Fewest connections first: keeps threads even when connection lifetimes differ.
    detail::Loop* best = loops_[0];
    for (auto& l : loops_)
        if (l->connection_count() < best->connection_count()) best = l;
    return *best;
}

WISP_DEF void App::accept_next(Listener& li) {
    li.target = &pick_loop();
    li.acceptor.accept(li.target->reactor, &Listener::on_accepted, &li);
}

inline void App::Listener::on_accepted(void* listener, const std::error_code& ec,
                                       detail::AcceptedSocket sock) {
    Listener& li = *static_cast<Listener*>(listener);
    App* app = li.app;
    detail::Loop& target = *li.target;
    if (app->core_->stopping) return;
    if (ec) {
        // Out of descriptors or a transient failure: wait, then accept again (never spin).
        li.retry.arm(std::chrono::milliseconds(50), [app, &li] {
            if (!app->core_->stopping) app->accept_next(li);
        });
        return;
    }
    auto start = [&target, tls = li.tls](detail::AcceptedSocket s) {
        auto* c = new detail::Connection(target, std::move(s));
        if (tls) c->set_layer(detail::make_tls_layer(target, c->socket(), *tls));
        c->start(detail::make_box<detail::HttpSession>(*c));
        c->release();   // the loop's list holds it now
    };
    if (&target == app->loops_[0]) start(std::move(sock));
    else target.reactor.post([start, s = std::move(sock)]() mutable { start(std::move(s)); });
    app->accept_next(li);
}

WISP_DEF std::error_code App::listen_tls(std::uint16_t port, TlsOptions tls) {
    return listen_tls("0.0.0.0", port, std::move(tls));
}

WISP_DEF std::error_code App::listen_tls(std::string_view host, std::uint16_t port,
                                         TlsOptions tls) {
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
    if (tls_port_ == 0) tls_port_ = li.acceptor.port();
    return {};
}

WISP_DEF std::error_code App::reload_tls() { return reload_tls_with(nullptr); }
WISP_DEF std::error_code App::reload_tls(const TlsOptions& tls) { return reload_tls_with(&tls); }

WISP_DEF std::error_code App::reload_tls_with(const TlsOptions* tls) {
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

WISP_DEF App& App::reload_tls_on_sighup(bool enable) {
    reload_on_hup_ = enable;
#ifdef SIGHUP
    if (!enable) hup_ = detail::Owned();
    else if (!hup_.get()) hup_ = detail::make_owned<Signals>(loop0().reactor, SIGHUP);
    signal_work_ = &App::signal_work;
#endif
    return *this;
}

WISP_DEF std::string App::tls_error_detail() const {
    std::lock_guard<std::mutex> lock(tls_mutex_);
    return tls_error_;
}

WISP_DEF App& App::stop_on_signals(bool enable) {
    stop_on_signals_ = enable;
    if (!enable) signals_ = detail::Owned();
    else if (!signals_.get())
        signals_ = detail::make_owned<Signals>(loop0().reactor, SIGINT, SIGTERM);
    signal_work_ = &App::signal_work;
    return *this;
}

WISP_DEF void App::signal_work(App& app, bool arm) {
    auto* stop = static_cast<Signals*>(app.signals_.get());
    auto* hup = static_cast<Signals*>(app.hup_.get());
    if (!arm) {
        if (stop) stop->cancel();
        if (hup) hup->cancel();
        return;
    }
    detail::Reactor& r = app.loops_[0]->reactor;
    if (app.stop_on_signals_) {
        if (!stop) app.signals_ = detail::make_owned<Signals>(r, SIGINT, SIGTERM);
        static_cast<Signals*>(app.signals_.get())->wait([&app](int) { app.stop(); });
    }
#ifdef SIGHUP
    if (app.reload_on_hup_) {
        if (!hup) app.hup_ = detail::make_owned<Signals>(r, SIGHUP);
        struct Rearm {
            App* app;
            void operator()(int) const {
                if (app->reload_tls()) {
                    Request none;
                    app->core_->report(none, errc::tls_setup, app->tls_error_detail());
                }
                static_cast<Signals*>(app->hup_.get())->wait(*this);
            }
        };
        static_cast<Signals*>(app.hup_.get())->wait(Rearm{&app});
    }
#endif
}

WISP_DEF std::error_code App::run(unsigned threads) {
    if (listeners_.empty()) return make_error_code(errc::not_listening);
    if (running_.exchange(true)) return make_error_code(errc::already_running);
    if (threads == 0) threads = 1;
    core_->sync_limits();
    while (loops_.size() < threads)
        loops_.push_back(
            detail::make_box<detail::Loop>(*core_, static_cast<unsigned>(loops_.size())));
    live_loops_.clear();
    for (auto& l : loops_) live_loops_.push_back(l);
    core_->live_loops.store(&live_loops_);
    if (core_->bridge) core_->bridge->start(*core_, *loops_[0]);
    for (auto& li : listeners_) accept_next(*li);
    {
        std::lock_guard<std::mutex> lock(stop_mutex_);
        gate0_ = loops_[0]->gate;
        const auto started = std::chrono::steady_clock::now();   // their delays count from here
        for (auto& t : pending_timers_) {
            t->made = started;
            t->loop = loops_[0];
            t->gate = gate0_;
            if (!gate0_->post([t] { t->loop->start_timer(t); })) t->over = true;
        }
        pending_timers_.clear();
        for (auto& fn : pending_posts_) gate0_->post(std::move(fn));
        pending_posts_.clear();
    }
    if (signal_work_) signal_work_(*this, true);
    if (stop_requested_) stop();
    detail::BoxVector<std::thread> workers;
    auto run_loop = [](detail::Loop* l) {
        detail::Loop::current() = l;
        l->reactor.run();
        detail::Loop::current() = nullptr;
    };
    for (std::size_t i = 1; i < loops_.size(); ++i)
        workers.push_back(
            detail::make_box<std::thread>([run_loop, l = loops_[i]] { run_loop(l); }));
    run_loop(loops_[0]);
    for (std::thread* t : workers) t->join();
    // Everything is closed: drop the loops (and their handlers) so a later run starts clean.
    signals_ = detail::Owned();
    hup_ = detail::Owned();
    listeners_.clear();
    {
        std::lock_guard<std::mutex> lock(tls_mutex_);
        tls_endpoints_.clear();
        tls_port_ = 0;
    }
    // Publishes from other threads now go nowhere; those already under way return (a full
    // inbox lets its waiters go) before the loops are destroyed.
    core_->live_loops.store(nullptr);
    for (auto& l : loops_) l->close_inbox();
    if (core_->bridge) core_->bridge->detach();
    while (core_->foreign_publishes.load() != 0) std::this_thread::yield();
    {
        std::lock_guard<std::mutex> lock(stop_mutex_);
        gate0_.reset();
    }
    loops_.clear();
    port_ = 0;
    core_->stopping = false;
    stop_requested_ = false;
    running_ = false;
    return {};
}

WISP_DEF void App::stop() {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_requested_ = true;
    if (!running_ || loops_.empty() || core_->stopping.exchange(true)) return;
    const auto deadline = core_->options.limits.shutdown_timeout;
    loops_[0]->reactor.post([this] {
        for (auto& li : listeners_) {
            li->acceptor.close();
            li->retry.cancel();
        }
        if (signal_work_) signal_work_(*this, false);
        if (core_->bridge) core_->bridge->stop(core_->options.limits.shutdown_timeout);
    });
    for (auto& l : loops_) {
        detail::Loop* lp = l;
        lp->reactor.post([lp, deadline] { lp->shutdown(deadline); });
    }
}

WISP_DEF SendResult App::publish_text(std::string_view topic, std::string_view text,
                                      SendOptions o) {
    if (!is_utf8(text)) return SendResult::invalid;
    core_->publish(topic, text, false, o.compress, nullptr, nullptr);
    return SendResult::sent;
}
WISP_DEF SendResult App::publish_binary(std::string_view topic, std::string_view bytes,
                                        SendOptions o) {
    core_->publish(topic, bytes, true, o.compress, nullptr, nullptr);
    return SendResult::sent;
}
WISP_DEF std::size_t App::subscriber_count(std::string_view topic) const {
    return core_->topic_counts.get(std::string(topic));
}

WISP_DEF SendResult App::publish_to(std::string_view ns, std::string_view topic,
                                    std::string_view text) {
    if (!is_utf8(text)) return SendResult::invalid;
    core_->publish(detail::namespaced_topic(ns, topic), text, false, true, nullptr, nullptr);
    return SendResult::sent;
}

WISP_DEF Timer App::every(std::chrono::milliseconds interval, std::function<void()> fn) {
    return app_timer(interval, interval, std::move(fn));
}

WISP_DEF Timer App::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    return app_timer(delay, std::chrono::milliseconds(0), std::move(fn));
}

WISP_DEF Timer App::app_timer(std::chrono::milliseconds delay, std::chrono::milliseconds every,
                              std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (!gate0_) {   // not running: it starts with run(), which sets its start
        auto s = detail::make_timer_state(delay, every, std::move(fn));
        pending_timers_.push_back(s);
        return detail::TimerAccess::wrap(std::move(s));
    }
    return detail::start_timer_on(loops_[0], gate0_, delay, every, std::move(fn));
}

WISP_DEF bool App::post(std::function<void()> fn) {
    if (!fn) return false;
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (gate0_ && gate0_->post(fn)) return true;
    pending_posts_.push_back(std::move(fn));   // not running: when run() starts
    return true;
}

WISP_DEF std::vector<PeerHandle> App::peers() const {
    std::vector<PeerHandle> out;
    for (const auto& ep : ws_endpoints_) {
        auto some = detail::snapshot(*ep);
        for (auto& h : some) out.push_back(std::move(h));
    }
    return out;
}

WISP_DEF std::vector<PeerHandle> App::peers(std::string_view pattern) const {
    for (const auto& ep : ws_endpoints_)
        if (ep->pattern == pattern) return detail::snapshot(*ep);
    return {};
}

WISP_DEF std::size_t App::peer_count() const noexcept {
    std::size_t n = 0;
    for (const auto& ep : ws_endpoints_) n += ep->peers.count.load(std::memory_order_relaxed);
    return n;
}

WISP_DEF std::size_t App::peer_count(std::string_view pattern) const noexcept {
    for (const auto& ep : ws_endpoints_)
        if (ep->pattern == pattern) return ep->peers.count.load(std::memory_order_relaxed);
    return 0;
}

WISP_DEF void App::close_all(std::uint16_t code, std::string_view reason) {
    for (const PeerHandle& h : peers()) (void)h.close(code, reason);
}

WISP_DEF void App::close_all(std::string_view pattern, std::uint16_t code,
                             std::string_view reason) {
    for (const PeerHandle& h : peers(pattern)) (void)h.close(code, reason);
}

WISP_DEF std::size_t App::for_each_subscriber(std::string_view topic,
                                              std::function<void(Peer&)> fn) {
    if (!fn) return 0;
    const detail::PodVector<detail::Loop*>* loops =
        core_->live_loops.load(std::memory_order_acquire);
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

WISP_DEF std::size_t App::connection_count() const noexcept {
    std::size_t n = 0;
    for (const auto& l : loops_) n += l->connection_count();
    return n;
}

WISP_DEF Response App::fetch(Request req) {
    core_->sync_limits();
    detail::Exchange ex;
    ex.fetch = std::make_shared<detail::FetchWait>();
    detail::RequestBuilder::set_exchange(req, &ex);
    const bool head = req.method() == "HEAD";
    Response res = core_->handle(req);
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
            core_->report(req, errc::handler_exception,
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
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
