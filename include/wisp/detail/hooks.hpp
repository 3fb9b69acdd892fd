// SPDX-License-Identifier: MIT
// wisp/detail/hooks.hpp — compile-time detection of a WebSocket handler's hooks.
#pragma once

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

// A hook is "present" when `&H::name` names one non-template member function; then it must
// be callable with the documented arguments, or the static_asserts below say what is
// expected. Every hook is optional.
#define WISP_DETECT_HOOK(hook)                                                              \
    template <class H, class = void>                                                        \
    struct has_##hook##_member : std::false_type {};                                        \
    template <class H>                                                                      \
    struct has_##hook##_member<H, std::void_t<decltype(&H::hook)>> : std::true_type {};     \
    template <class H, bool Present, class... A>                                            \
    struct hook_##hook##_ok : std::true_type {};                                            \
    template <class H, class... A>                                                          \
    struct hook_##hook##_ok<H, true, A...> : std::is_invocable<decltype(&H::hook), H&, A...> {};
WISP_DETECT_HOOK(upgrade)
WISP_DETECT_HOOK(open)
WISP_DETECT_HOOK(message)
WISP_DETECT_HOOK(close)
WISP_DETECT_HOOK(error)
WISP_DETECT_HOOK(drain)
#undef WISP_DETECT_HOOK

template <class H, bool Callable>
struct upgrade_result_ok : std::true_type {};
template <class H>
struct upgrade_result_ok<H, true> {
    using R = std::invoke_result_t<decltype(&H::upgrade), H&, Request&>;
    static constexpr bool value = std::is_void_v<R> || std::is_convertible_v<R, Response> ||
                                  std::is_convertible_v<R, std::optional<Response>>;
};

template <class H>
struct Hooks {
    static constexpr bool has_upgrade = has_upgrade_member<H>::value;
    static constexpr bool has_open = has_open_member<H>::value;
    static constexpr bool has_message = has_message_member<H>::value;
    static constexpr bool has_close = has_close_member<H>::value;
    static constexpr bool has_error = has_error_member<H>::value;
    static constexpr bool has_drain = has_drain_member<H>::value;

    static constexpr bool upgrade_ok = hook_upgrade_ok<H, has_upgrade, Request&>::value;
    /// Every present hook has a usable signature (no diagnostics; see check()).
    static constexpr bool all_ok =
        upgrade_ok && upgrade_result_ok<H, has_upgrade && upgrade_ok>::value &&
        hook_open_ok<H, has_open, Peer&>::value &&
        hook_message_ok<H, has_message, Peer&, const Message&>::value &&
        hook_close_ok<H, has_close, Peer&, const CloseInfo&>::value &&
        hook_error_ok<H, has_error, Peer&, const Error&>::value &&
        hook_drain_ok<H, has_drain, Peer&>::value;

    /// Fails to compile, with one sentence per wrong hook, unless all_ok.
    static constexpr bool check() {
        static_assert(upgrade_ok,
                      "wisp: hook `upgrade` must be callable as upgrade(wisp::Request&)");
        static_assert(upgrade_result_ok<H, has_upgrade && upgrade_ok>::value,
                      "wisp: hook `upgrade` must return void, wisp::Response or "
                      "std::optional<wisp::Response>");
        static_assert(hook_open_ok<H, has_open, Peer&>::value,
                      "wisp: hook `open` must be callable as open(wisp::Peer&)");
        static_assert(hook_message_ok<H, has_message, Peer&, const Message&>::value,
                      "wisp: hook `message` must be callable as message(wisp::Peer&, const "
                      "wisp::Message&)");
        static_assert(hook_close_ok<H, has_close, Peer&, const CloseInfo&>::value,
                      "wisp: hook `close` must be callable as close(wisp::Peer&, const "
                      "wisp::CloseInfo&)");
        static_assert(hook_error_ok<H, has_error, Peer&, const Error&>::value,
                      "wisp: hook `error` must be callable as error(wisp::Peer&, const "
                      "wisp::Error&)");
        static_assert(hook_drain_ok<H, has_drain, Peer&>::value,
                      "wisp: hook `drain` must be callable as drain(wisp::Peer&)");
        return true;
    }
};

/// A WebSocket route: the handler object and one plain function per hook (null when the
/// handler has none). No virtual calls, no std::function per peer.
struct WsEndpoint {
    void* handler = nullptr;
    std::size_t max_message_bytes = 0;   ///< 0: Limits::max_message_bytes
    bool keep_request = true;            ///< WsOptions::keep_request
    /// nullopt accepts; a Response with status 101 accepts with its headers; others reject.
    std::optional<Response> (*upgrade)(void*, Request&) = nullptr;
    void (*open)(void*, Peer&) = nullptr;
    void (*message)(void*, Peer&, const Message&) = nullptr;
    void (*close)(void*, Peer&, const CloseInfo&) = nullptr;
    void (*error)(void*, Peer&, const Error&) = nullptr;
    void (*drain)(void*, Peer&) = nullptr;
};

template <class H>
void fill_hooks(WsEndpoint& ep, H& handler);

template <class H>
void fill_endpoint(WsEndpoint& ep, H& handler) {
    using K = Hooks<H>;
    static_assert(K::check());
    if constexpr (K::all_ok) fill_hooks<H>(ep, handler);
}

template <class H>
void fill_hooks(WsEndpoint& ep, H& handler) {
    using K = Hooks<H>;
    ep.handler = &handler;
    if constexpr (K::has_upgrade) {
        ep.upgrade = [](void* h, Request& req) -> std::optional<Response> {
            using R = std::invoke_result_t<decltype(&H::upgrade), H&, Request&>;
            if constexpr (std::is_void_v<R>) {
                static_cast<H*>(h)->upgrade(req);
                return std::nullopt;
            } else if constexpr (std::is_convertible_v<R, std::optional<Response>> &&
                                 !std::is_convertible_v<R, Response>) {
                return static_cast<H*>(h)->upgrade(req);
            } else {
                return Response(static_cast<H*>(h)->upgrade(req));
            }
        };
    }
    if constexpr (K::has_open)
        ep.open = [](void* h, Peer& p) { static_cast<H*>(h)->open(p); };
    if constexpr (K::has_message)
        ep.message = [](void* h, Peer& p, const Message& m) { static_cast<H*>(h)->message(p, m); };
    if constexpr (K::has_close)
        ep.close = [](void* h, Peer& p, const CloseInfo& c) { static_cast<H*>(h)->close(p, c); };
    if constexpr (K::has_error)
        ep.error = [](void* h, Peer& p, const Error& e) { static_cast<H*>(h)->error(p, e); };
    if constexpr (K::has_drain)
        ep.drain = [](void* h, Peer& p) { static_cast<H*>(h)->drain(p); };
}

}  // namespace detail
WISP_NAMESPACE_END
