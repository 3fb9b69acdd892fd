// SPDX-License-Identifier: MIT
// wisp/detail/handler.hpp — what App keeps of a user's HTTP handler, middleware and error hook:
// each callable wrapped once into a fixed std::function shape.
// Must not know: routing, connections (it is all a compile-once file needs to register them).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

using HttpHandler = std::function<Response(Request&)>;
using Middleware = std::function<std::optional<Response>(Request&)>;
using ErrorHook = std::function<void(const Request&, const Error&)>;

/// Converts what a handler returned into a Response.
template <class R>
Response to_response(R&& r) {
    using T = std::decay_t<R>;
    if constexpr (std::is_same_v<T, Response>) return std::forward<R>(r);
    else if constexpr (std::is_convertible_v<R, Response>) return Response(std::forward<R>(r));
    else if constexpr (std::is_convertible_v<R, std::string_view>)
        return text(std::string(std::string_view(r)));
    else
        static_assert(!sizeof(T),
                      "wisp: a handler must return wisp::Response, a string, a "
                      "wisp::EventStream or a wisp::Responder");
}

/// Wraps a user callable taking Request& into an HttpHandler.
template <class F>
HttpHandler make_handler(F&& f) {
    static_assert(std::is_invocable_v<F&, Request&>,
                  "wisp: an HTTP handler must be callable as handler(wisp::Request&)");
    using R = std::invoke_result_t<std::decay_t<F>&, Request&>;
    return [fn = std::forward<F>(f)](Request& req) mutable -> Response {
        // A Response made by the handler is the one returned (no move through to_response).
        if constexpr (std::is_same_v<R, Response>) return fn(req);
        else return to_response(fn(req));
    };
}

/// Wraps a user middleware: `void(Request&)` continues; `std::optional<Response>(Request&)`
/// answers when it returns a value; `Response(Request&)` always answers.
template <class F>
Middleware make_middleware(F&& f) {
    static_assert(std::is_invocable_v<F&, Request&>,
                  "wisp: middleware must be callable as middleware(wisp::Request&)");
    using R = std::invoke_result_t<F&, Request&>;
    return [fn = std::forward<F>(f)](Request& req) mutable -> std::optional<Response> {
        if constexpr (std::is_void_v<R>) {
            fn(req);
            return std::nullopt;
        } else if constexpr (std::is_convertible_v<R, std::optional<Response>>) {
            return fn(req);
        } else {
            return to_response(fn(req));
        }
    };
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
