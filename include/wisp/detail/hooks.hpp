// SPDX-License-Identifier: MIT
// wisp/detail/hooks.hpp — compile-time detection of a WebSocket handler's hooks, and the plain
// function pointers the engine calls them through.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/peer_list.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

// Every hook is optional, and a hook that is there is never skipped: it is called, or the
// handler does not compile. So "is there" must not depend on the hook's shape. `&H::open` does:
// it is ill-formed for an overload set or a member template, which then looked absent. Instead
// the name is looked up in a class derived from both H and HookNames, which declares every
// hook name: the lookup is ambiguous exactly when H (or a base of H) declares that name too,
// whatever it names (a function, an overload set, a template, a static or data member, a type).
// That needs a class one can derive from; a final handler is refused with its own sentence
// (see Hooks::check), since for it wisp could not tell a mistyped overload set from no hook.
struct HookNames {
    int upgrade, open, message, close, error, drain;
};
template <class H>
struct HookNameProbe : std::remove_cv_t<H>, HookNames {};

template <class H>
using only_probe_upgrade = decltype(&HookNameProbe<H>::upgrade);
template <class H>
using only_probe_open = decltype(&HookNameProbe<H>::open);
template <class H>
using only_probe_message = decltype(&HookNameProbe<H>::message);
template <class H>
using only_probe_close = decltype(&HookNameProbe<H>::close);
template <class H>
using only_probe_error = decltype(&HookNameProbe<H>::error);
template <class H>
using only_probe_drain = decltype(&HookNameProbe<H>::drain);

template <template <class> class Op, class H, class = void>
struct detected : std::false_type {};
template <template <class> class Op, class H>
struct detected<Op, H, std::void_t<Op<H>>> : std::true_type {};

/// True when a class one can derive from declares a member named like the hook `OnlyProbe`
/// asks about. False for every other type, without forming HookNameProbe (a hard error there).
template <template <class> class OnlyProbe, class H,
          bool = std::is_class_v<H> && !std::is_final_v<H>>
struct declares : std::false_type {};
template <template <class> class OnlyProbe, class H>
struct declares<OnlyProbe, H, true> : std::bool_constant<!detected<OnlyProbe, H>::value> {};

// The accepted forms are calls, not member-pointer types: whatever overload resolution accepts
// with these arguments is a hook (const members, const Peer&, by-value Message / CloseInfo /
// Error, default arguments, templates, static members, callable data members). The arguments are
// what the engine passes: lvalues, the Message, CloseInfo and Error const, so a hook taking
// `Message&` or `Message&&` does not fit and is reported instead of being bound to a copy.
template <class H>
using upgrade_call = decltype(std::declval<H&>().upgrade(std::declval<Request&>()));
template <class H>
using open_call = decltype(std::declval<H&>().open(std::declval<Peer&>()));
template <class H>
using message_call =
    decltype(std::declval<H&>().message(std::declval<Peer&>(), std::declval<const Message&>()));
template <class H>
using close_info_call =
    decltype(std::declval<H&>().close(std::declval<Peer&>(), std::declval<const CloseInfo&>()));
template <class H>
using close_peer_call = decltype(std::declval<H&>().close(std::declval<Peer&>()));
template <class H>
using error_info_call =
    decltype(std::declval<H&>().error(std::declval<Peer&>(), std::declval<const Error&>()));
template <class H>
using error_peer_call = decltype(std::declval<H&>().error(std::declval<Peer&>()));
template <class H>
using drain_call = decltype(std::declval<H&>().drain(std::declval<Peer&>()));

/// What an upgrade hook's result means. Tried in this order, so a type convertible to several
/// counts as the first: Response (101 accepts with its headers, any other status rejects),
/// std::optional<Response> (nullopt accepts), Headers (accepts, adding them to the 101).
enum class UpgradeResult : unsigned char {
    not_callable,
    accept,
    response,
    optional_response,
    headers,
    invalid
};

template <class H>
constexpr UpgradeResult upgrade_result_of() {
    if constexpr (!detected<upgrade_call, H>::value) {
        return UpgradeResult::not_callable;
    } else {
        using R = upgrade_call<H>;
        if constexpr (std::is_void_v<R>) return UpgradeResult::accept;
        else if constexpr (std::is_convertible_v<R, Response>) return UpgradeResult::response;
        else if constexpr (std::is_convertible_v<R, std::optional<Response>>)
            return UpgradeResult::optional_response;
        else if constexpr (std::is_convertible_v<R, Headers>) return UpgradeResult::headers;
        else return UpgradeResult::invalid;
    }
}

/// What wisp knows about handler type H at compile time. `has_x`: H declares a member named x.
/// When a hook fits several accepted forms (an overload set, a template, default arguments),
/// the form with the most parameters is the one called, and the only one: close(Peer&,
/// CloseInfo) before close(Peer&), error(Peer&, Error) before error(Peer&). A richer call that
/// is ambiguous (two overloads fit it equally well) counts as not fitting: then the poorer form
/// is called if it fits, else the hook is reported.
template <class H>
struct Hooks {
    static constexpr bool inspectable = std::is_class_v<H> && !std::is_final_v<H>;

    static constexpr bool has_upgrade = declares<only_probe_upgrade, H>::value;
    static constexpr bool has_open = declares<only_probe_open, H>::value;
    static constexpr bool has_message = declares<only_probe_message, H>::value;
    static constexpr bool has_close = declares<only_probe_close, H>::value;
    static constexpr bool has_error = declares<only_probe_error, H>::value;
    static constexpr bool has_drain = declares<only_probe_drain, H>::value;

    static constexpr UpgradeResult upgrade_result = upgrade_result_of<H>();
    static constexpr bool close_with_info = detected<close_info_call, H>::value;
    static constexpr bool error_with_info = detected<error_info_call, H>::value;

    static constexpr bool upgrade_ok =
        !has_upgrade || upgrade_result != UpgradeResult::not_callable;
    /// Only asked of a callable upgrade, so one mistake gets one sentence.
    static constexpr bool upgrade_result_ok = upgrade_result != UpgradeResult::invalid;
    static constexpr bool open_ok = !has_open || detected<open_call, H>::value;
    static constexpr bool message_ok = !has_message || detected<message_call, H>::value;
    static constexpr bool close_ok =
        !has_close || close_with_info || detected<close_peer_call, H>::value;
    static constexpr bool error_ok =
        !has_error || error_with_info || detected<error_peer_call, H>::value;
    static constexpr bool drain_ok = !has_drain || detected<drain_call, H>::value;

    /// H can serve a WebSocket route (no diagnostics; see check()).
    static constexpr bool all_ok = inspectable && upgrade_ok && upgrade_result_ok && open_ok &&
                                   message_ok && close_ok && error_ok && drain_ok;

    /// Fails to compile, with one sentence per mistake, unless all_ok.
    static constexpr bool check() {
        static_assert(std::is_class_v<H>,
                      "wisp: a WebSocket handler must be a struct or class whose member functions "
                      "are its hooks");
        static_assert(!std::is_class_v<H> || !std::is_final_v<H>,
                      "wisp: a WebSocket handler may not be final: wisp derives from it to see "
                      "hooks that are overloaded or templates (remove `final`)");
        static_assert(upgrade_ok,
                      "wisp: hook `upgrade` must be public and callable as "
                      "upgrade(wisp::Request&) or upgrade(const wisp::Request&)");
        static_assert(upgrade_result_ok,
                      "wisp: hook `upgrade` must return void, wisp::Response, "
                      "std::optional<wisp::Response> or wisp::Headers");
        static_assert(open_ok,
                      "wisp: hook `open` must be public and callable as "
                      "open(wisp::Peer&)");
        static_assert(message_ok,
                      "wisp: hook `message` must be public and callable as "
                      "message(wisp::Peer&, const wisp::Message&) or "
                      "message(wisp::Peer&, wisp::Message)");
        static_assert(close_ok,
                      "wisp: hook `close` must be public and callable as close(wisp::Peer&), "
                      "close(wisp::Peer&, const wisp::CloseInfo&) or "
                      "close(wisp::Peer&, wisp::CloseInfo)");
        static_assert(error_ok,
                      "wisp: hook `error` must be public and callable as error(wisp::Peer&), "
                      "error(wisp::Peer&, const wisp::Error&) or error(wisp::Peer&, wisp::Error)");
        static_assert(drain_ok,
                      "wisp: hook `drain` must be public and callable as "
                      "drain(wisp::Peer&)");
        return true;
    }
};

/// A WebSocket route: the handler object and one plain function per hook (null when the
/// handler has none). No virtual calls, no std::function per peer.
struct WsEndpoint {
    void* handler = nullptr;
    std::size_t max_message_bytes = 0;                         ///< 0: Limits::max_message_bytes
    bool keep_request = true;                                  ///< WsOptions::keep_request
    DeflateOptions deflate;                                    ///< WsOptions::deflate
    std::string pattern;                                       ///< as given to App::ws
    std::function<std::string(const Request&)> namespace_of;   ///< WsOptions::namespace_of
    mutable PeerList peers;   ///< the route's open peers, across loops
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
    // Without this guard a wrong hook would add the compiler's own errors to the sentence.
    if constexpr (K::all_ok) fill_hooks<H>(ep, handler);
}

// Each pointer adapts the one form the hook fits to the engine's fixed signature. What a hook
// other than upgrade returns is discarded (a cast to void, so [[nodiscard]] types stay quiet).
template <class H>
void fill_hooks(WsEndpoint& ep, H& handler) {
    using K = Hooks<H>;
    // A const handler keeps its constness in every call: the casts below restore H exactly.
    ep.handler = const_cast<std::remove_cv_t<H>*>(&handler);
    if constexpr (K::has_upgrade) {
        ep.upgrade = [](void* h, Request& req) -> std::optional<Response> {
            H& self = *static_cast<H*>(h);
            if constexpr (K::upgrade_result == UpgradeResult::accept) {
                self.upgrade(req);
                return std::nullopt;
            } else if constexpr (K::upgrade_result == UpgradeResult::response) {
                return Response(self.upgrade(req));
            } else if constexpr (K::upgrade_result == UpgradeResult::optional_response) {
                return std::optional<Response>(self.upgrade(req));
            } else {
                // CrossWS's upgrade may return just headers: accept, with them on the 101.
                Response accepted(101);
                accepted.headers = Headers(self.upgrade(req));
                return accepted;
            }
        };
    }
    if constexpr (K::has_open)
        ep.open = [](void* h, Peer& p) { static_cast<void>(static_cast<H*>(h)->open(p)); };
    if constexpr (K::has_message) {
        ep.message = [](void* h, Peer& p, const Message& m) {
            static_cast<void>(static_cast<H*>(h)->message(p, m));
        };
    }
    if constexpr (K::has_close && K::close_with_info) {
        ep.close = [](void* h, Peer& p, const CloseInfo& c) {
            static_cast<void>(static_cast<H*>(h)->close(p, c));
        };
    } else if constexpr (K::has_close) {
        ep.close = [](void* h, Peer& p, const CloseInfo&) {
            static_cast<void>(static_cast<H*>(h)->close(p));
        };
    }
    if constexpr (K::has_error && K::error_with_info) {
        ep.error = [](void* h, Peer& p, const Error& e) {
            static_cast<void>(static_cast<H*>(h)->error(p, e));
        };
    } else if constexpr (K::has_error) {
        ep.error = [](void* h, Peer& p, const Error&) {
            static_cast<void>(static_cast<H*>(h)->error(p));
        };
    }
    if constexpr (K::has_drain)
        ep.drain = [](void* h, Peer& p) { static_cast<void>(static_cast<H*>(h)->drain(p)); };
}

}   // namespace detail

/// True when `T` can serve app.ws<T>(path): a struct or class, not final, whose every member
/// named like a hook is public and fits one of the accepted forms (const members, `const
/// wisp::Peer&` parameters, templates and overload sets are fine):
///   upgrade(wisp::Request&) or upgrade(const wisp::Request&), returning void, wisp::Response,
///       std::optional<wisp::Response> or wisp::Headers (accept with these headers)
///   open(wisp::Peer&)
///   message(wisp::Peer&, const wisp::Message&) or message(wisp::Peer&, wisp::Message)
///   close(wisp::Peer&), close(wisp::Peer&, const wisp::CloseInfo&) or
///       close(wisp::Peer&, wisp::CloseInfo)
///   error(wisp::Peer&), error(wisp::Peer&, const wisp::Error&) or
///       error(wisp::Peer&, wisp::Error)
///   drain(wisp::Peer&)
/// When a hook fits several forms, the one with the most parameters is called. app.ws<T>
/// refuses a T for which this is false, with a sentence naming the hook and these forms.
/// `T` must be a complete type.
template <class T>
struct is_websocket_handler : std::bool_constant<detail::Hooks<T>::all_ok> {};
template <class T>
inline constexpr bool is_websocket_handler_v = is_websocket_handler<T>::value;

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
