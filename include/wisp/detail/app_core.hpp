// SPDX-License-Identifier: MIT
// wisp/detail/app_core.hpp — routes, middleware and hooks shared by every I/O thread and fetch().
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/options.hpp>
#include <wisp/request.hpp>
#include <wisp/router.hpp>
#include <wisp/detail/bridge.hpp>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/handler.hpp>
#include <wisp/detail/request_line.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <wisp/detail/move_vector.hpp>
#include <wisp/detail/owned.hpp>
#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

struct WsEndpoint;   // a WebSocket route (websocket.hpp)
class Loop;

/// Everything an App knows that I/O threads read: fixed once the App listens.
struct AppCore {
    Options options;
    ParserLimits parser_limits;
    BasicRouter<HttpHandler> router;
    BasicRouter<WsEndpoint*> ws_router;
    MoveVector<Middleware> middleware;
    ErrorHook on_error;
    std::error_code setup_error;   ///< first misconfiguration, reported by listen()
    std::string setup_error_detail;
    std::atomic<bool> stopping{false};
    TopicCounts topic_counts;
    /// The running loops, or null when not running. Set by run() before its threads start
    /// and cleared after they end; a publish reads it without a lock.
    std::atomic<const PodVector<Loop*>*> live_loops{nullptr};
    /// Publishes in progress on threads that are not I/O threads (run() waits for them
    /// before the loops go away).
    std::atomic<unsigned> foreign_publishes{0};
    /// Carries publications to and from other processes (App::bridge), or null. Set before
    /// run(); every publication made here is relayed to it, none that came through it.
    std::shared_ptr<Bridge> bridge;
    /// Retained topics (App::retain), each with its ring; fixed before run(), so a publish
    /// looks it up without a lock (and not at all while it is empty).
    /// Made by the first App::retain (Lazy: otherwise no map is compiled, issue 25).
    Lazy<std::unordered_map<std::string, Box<EventLog>>> retained;

    /// Delivers `p` at once to the subscribers on the calling thread's loop (`here`, found
    /// when null and the caller runs on one) except `skip`, and posts it to every other
    /// running loop. So a publication reaches whoever is subscribed on the publisher's loop
    /// when it is made (not a peer that subscribes in the same loop turn), the publisher is
    /// skipped only there (no stale address elsewhere), and order per publisher holds.
    void publish(const std::shared_ptr<const Publication>& p, Loop* here, const void* skip);
    /// Publishes `data` on `topic`, made into a publication once: a retained topic's text
    /// with its id or on its way to the bridge that gives one (publish_retained), where
    /// `sender`, the publishing peer's id, is skipped wherever it arrives; anything else as
    /// above, skipping `skip`.
    void publish(std::string_view topic, std::string_view data, bool binary, bool compress,
                 Loop* here, const void* skip, std::string_view sender = {});
    /// A retained topic's text: true when it was taken (always, without a bridge).
    bool publish_retained(std::string_view topic, std::string_view data, bool compress,
                          EventLog& log, Loop* here, std::string_view sender);
    /// The retained topic `topic`'s ring, or null.
    EventLog* retained_log(const std::string& topic) const {
        const auto* logs = retained.peek();
        if (logs == nullptr || logs->empty()) return nullptr;
        auto it = logs->find(topic);
        return it == logs->end() ? nullptr : it->second.get();
    }

    /// One subscriber more (+1) or fewer (-1) for `topic` on the loop `here`; the bridge hears
    /// when the app-wide count leaves or reaches 0.
    void count_subscriber(const std::string& topic, long delta, Loop* here) {
        if (topic_counts.add(topic, delta) && bridge) bridge->topic_changed(topic, here);
    }

    void sync_limits() {
        parser_limits.max_header_bytes = options.limits.max_header_bytes;
        parser_limits.max_header_count = options.limits.max_header_count;
        parser_limits.max_url_bytes = options.limits.max_url_bytes;
        parser_limits.max_body_bytes = options.limits.max_body_bytes;
    }

    /// Registers an HTTP route; a mistake is kept for listen() with the routes it concerns.
    void add_route(std::string_view method, std::string_view pattern, HttpHandler h) {
        std::string clash;
        const std::string m(method.empty() ? "ANY" : method);
        if (auto ec = router.add(method, pattern, std::move(h), &clash))
            record_setup_error(ec, describe(ec, m, pattern, clash));
    }
    /// Registers a WebSocket route, the same way.
    void add_ws_route(std::string_view pattern, WsEndpoint* ep) {
        std::string clash;
        if (auto ec = ws_router.add("GET", pattern, ep, &clash))
            record_setup_error(ec, describe(ec, "WS", pattern, clash));
    }
    static std::string describe(std::error_code ec, const std::string& method,
                                std::string_view pattern, const std::string& clash) {
        std::string d = method + " " + std::string(pattern);
        if (ec == errc::duplicate_route)
            d += " clashes with " + method + " " + clash + ", registered before (same shape)";
        else d += ": " + ec.message();
        return d;
    }

    /// App::bridge: takes `link`, or keeps the handle's setup error `ec` (a bad URL, a host
    /// that does not resolve: `why`) for listen() and returns it.
    std::error_code attach_bridge(std::error_code ec, std::string why, std::shared_ptr<Bridge> link,
                                  bool running) {
        if (!ec && (running || bridge)) {
            ec = make_error_code(running ? errc::already_running : errc::invalid_argument);
            why =
                running ? "bridge() while the app runs" : "bridge(): the app has a bridge already";
        }
        if (ec) record_setup_error(ec, why);
        else bridge = std::move(link);
        return ec;
    }

    void record_setup_error(std::error_code ec, std::string detail) {
        if (!setup_error) {
            setup_error = ec;
            setup_error_detail = std::move(detail);
        }
    }

    /// Reports an error to the app's hook; a throwing hook is contained.
    void report(const Request& req, errc code, std::string message) const {
        if (!on_error) return;
        Error e{make_error_code(code), std::move(message)};
#ifndef WISP_NO_EXCEPTIONS
        try {
            on_error(req, e);
        } catch (...) {}
#else
        on_error(req, e);
#endif
    }

    /// Runs middleware, then the matching route. Never throws: a throwing handler yields 500
    /// and an error-hook call. For WebSocket-only paths a plain request gets 426.
    Response handle(Request& req) const {
#ifndef WISP_NO_EXCEPTIONS
        try {
            return handle_unguarded(req);
        } catch (const std::exception& ex) {
            report(req, errc::handler_exception, ex.what());
        } catch (...) {
            report(req, errc::handler_exception, "unknown exception");
        }
        return status(500);
#else
        return handle_unguarded(req);
#endif
    }

    /// The WebSocket route for this path, if any (upgrade requests try it first).
    WsEndpoint* ws_route(const Request& req, std::vector<RouteParam>& params) const {
        auto m = ws_router.match("GET", req.path(), params);
        return m.status == RouteStatus::found ? *m.target : nullptr;
    }

private:
    Response handle_unguarded(Request& req) const {
        for (const Middleware& mw : middleware)
            if (auto r = mw(req)) return std::move(*r);
        if (req.path() == "*") return server_options();
        auto m = router.match(req.method(), req.path(), RequestBuilder::params(req));
        switch (m.status) {
            case RouteStatus::found:
                return (*m.target)(req);
            case RouteStatus::bad_request:
                return status(400);
            case RouteStatus::method_not_allowed:
            case RouteStatus::not_found: {
                std::vector<RouteParam> ws_params;
                auto w = ws_router.match(req.method(), req.path(), ws_params);
                if (w.status == RouteStatus::found) {
                    // RFC 9110 §15.5.22: a WebSocket endpoint asked without the upgrade.
                    Response r = status(426);
                    r.headers.set("Upgrade", "websocket");
                    r.headers.set("Connection", "Upgrade");
                    r.headers.set("Sec-WebSocket-Version", "13");
                    return r;
                }
                if (m.status == RouteStatus::not_found &&
                    w.status != RouteStatus::method_not_allowed)
                    return status(404);
                Response r = status(405);
                r.headers.set("Allow", merge_allow(m.allow, w.allow));
                return r;
            }
        }
        return status(500);
    }

    /// OPTIONS * (RFC 9110 §9.3.7): what the server as a whole offers. Any-method routes
    /// add nothing they could not take anyway; OPTIONS itself is always there.
    Response server_options() const {
        PodVector<std::string_view> all;   // views of the routes' methods, and literals
        all.push_back("OPTIONS");
        router.for_each([&all](std::string_view m, const std::string&, const HttpHandler&) {
            if (!m.empty()) all.push_back(m);
            if (m == "GET") all.push_back("HEAD");
        });
        if (ws_router.size() != 0) {
            all.push_back("GET");
            all.push_back("HEAD");
        }
        const std::string allow = join_methods(all);
        Response r(204);
        r.headers.set("Allow", allow);
        return r;
    }

    static std::string merge_allow(const std::string& a, const std::string& b) {
        if (a.empty()) return b;
        if (b.empty()) return a;
        PodVector<std::string_view> all;   // views of a and b
        auto split = [&all](std::string_view s) {
            std::size_t i = 0;
            while (i < s.size()) {
                std::size_t j = s.find(',', i);
                if (j == std::string_view::npos) j = s.size();
                std::string_view t = s.substr(i, j - i);
                while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
                if (!t.empty()) all.push_back(t);
                i = j + 1;
            }
        };
        split(a);
        split(b);
        return join_methods(all);
    }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
