// SPDX-License-Identifier: MIT
// wisp/detail/ws_upgrade.hpp — the WebSocket opening handshake on an HTTP request (RFC 6455
// §4.2): validate, run middleware and the upgrade hook, answer 101 or reject, hand over.
// Owns: the server's half of the handshake (key, version, subprotocol choice, the headers a
// handler may add, whether permessage-deflate is agreed: the rules are ws_deflate.hpp's).
// Must not know: frames or the WebSocket session's workings (ws_session.hpp), sockets.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/http_response.hpp>
#include <wisp/detail/http_session.hpp>
#include <wisp/detail/ws_compression.hpp>
#include <wisp/detail/ws_deflate.hpp>
#include <wisp/detail/ws_handshake.hpp>
#include <wisp/detail/ws_request.hpp>
#include <wisp/detail/ws_session.hpp>
#include <wisp/detail/box.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

// ---- the opening handshake (RFC 6455 §4.2) ----------------------------------------
inline bool try_upgrade(HttpSession& http, Request& req, const WsEndpoint& ep,
                        std::vector<RouteParam>& params) {
    Connection& conn = http.connection();
    Loop& loop = conn.loop();
    std::string_view key;
    std::optional<std::string_view> hv;
    int key_count = 0, version_count = 0;
    for (const Header& h : req.headers()) {
        if (iequals(h.name, "sec-websocket-key")) ++key_count;
        else if (iequals(h.name, "sec-websocket-version")) ++version_count;
    }
    auto get = [&req, &hv](std::string_view name) -> const std::string_view* {
        hv = req.header(name);
        return hv ? &*hv : nullptr;
    };
    const HandshakeResult r =
        check_handshake(req.method(), req.http_major(), req.http_minor(), get, &key);
    if (r == HandshakeResult::not_upgrade) return false;   // plain HTTP on this path
    auto reject = [&http, &req](Response res) {
        http.write_response(res, req.method() == "HEAD", false);
    };
    if (r == HandshakeResult::bad_request || key_count != 1 || version_count > 1) {
        loop.core.report(req, errc::bad_request, "invalid WebSocket handshake");
        reject(status(400));
        return true;
    }
    if (r == HandshakeResult::version_unsupported) {
        Response res = status(426);
        res.headers.set("Sec-WebSocket-Version", "13");
        res.headers.set("Upgrade", "websocket");
        reject(std::move(res));
        return true;
    }
    if (loop.stopping()) {
        reject(status(503));
        return true;
    }
    RequestBuilder::params(req) = std::move(params);

    // Middleware, then the upgrade hook; either may answer instead of accepting.
    std::optional<Response> answer;
#ifndef WISP_NO_EXCEPTIONS
    try {
#endif
        for (const Middleware& mw : loop.core.middleware) {
            answer = mw(req);
            if (answer) break;
        }
        if (!answer && ep.upgrade) answer = ep.upgrade(ep.handler, req);
#ifndef WISP_NO_EXCEPTIONS
    } catch (const std::exception& ex) {
        loop.core.report(req, errc::handler_exception, ex.what());
        answer = status(500);
    } catch (...) {
        loop.core.report(req, errc::handler_exception, "unknown exception");
        answer = status(500);
    }
#endif
    if (answer && answer->status != 101) {
        reject(std::move(*answer));
        return true;
    }

    // The subprotocol, if chosen, must be one the client offered (RFC 6455 §4.2.2).
    std::string protocol;
    if (answer) {
        if (auto p = answer->headers.get("sec-websocket-protocol")) protocol = std::string(*p);
    }
    if (!protocol.empty()) {
        bool offered = false;
        for (const Header& h : req.headers())
            if (iequals(h.name, "sec-websocket-protocol"))
                parse_token_list(h.value, [&](std::string_view t) { offered |= t == protocol; });
        if (!offered) {
            loop.core.report(
                req, errc::invalid_argument,
                "upgrade chose subprotocol '" + protocol + "' the client did not offer");
            reject(status(500));
            return true;
        }
    }
    // Headers the handler added must be safe to write. A route that negotiates compression
    // owns Sec-WebSocket-Extensions: a handler's own would promise what the session cannot do.
    const bool deflate_route = deflate_supported && ep.deflate.mode != DeflateMode::off;
    const std::string_view owned = deflate_route ? "sec-websocket-extensions" : "upgrade";
    std::string extra;
    if (answer) {
        if (auto* bad = append_header_lines(extra, answer->headers,
                                            {"upgrade", "sec-websocket-accept", owned})) {
            loop.core.report(
                req, errc::invalid_argument,
                "upgrade response header with an invalid name or value: " + bad->first);
            reject(status(500));
            return true;
        }
    }
    // permessage-deflate (RFC 7692 §5): the first acceptable offer, over every field.
    Box<WsCompression> deflate;
    if (deflate_route) {
        DeflateNegotiator n(
            DeflateConfig{ep.deflate.mode == DeflateMode::dedicated, ep.deflate.window_bits});
        for (const Header& h : req.headers())
            if (iequals(h.name, "sec-websocket-extensions")) n.feed(h.value);
        if (n.accepted()) {
            deflate = make_box<WsCompression>(n.params(), ep.deflate, loop.deflate);
            extra.append("Sec-WebSocket-Extensions: ").append(deflate->extensions()).append("\r\n");
        }
    }
    char accept[28];
    accept_key(key, accept);
    std::string head;
    head.reserve(160 + extra.size());
    head.append(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ");
    head.append(accept, sizeof accept).append("\r\n");
    head.append(extra).append("\r\n");
    conn.out().write(head);

    // The peer keeps a packed copy (and shares req's state); the session starts (the open hook)
    // once the HTTP session has let go.
    conn.switch_session(WsSession::make(conn, ep, req, protocol, std::move(deflate)));
    return true;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
