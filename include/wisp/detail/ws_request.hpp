// SPDX-License-Identifier: MIT
// wisp/detail/ws_request.hpp — the upgrade request a WebSocket peer keeps.
// Owns: the session's one allocation with the peer's id and the packed request after it
// (WsSession::make: the request and the subprotocol; with WsOptions::keep_request false, the
// subprotocol and the URL, and the request whole until `open` returned), the session's
// construction, and the Request a hook reads, made from the
// packed copy (WsSession::request; freed when the outermost hook returns, WsSession::guarded),
// and the peer's extras block (ws_extras.hpp), made on first use and freed once unused.
// Must not know: sockets, frames.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/hooks.hpp>
#include <wisp/detail/kept_request.hpp>
#include <wisp/detail/ws_compression.hpp>
#include <wisp/detail/ws_session.hpp>
#include <wisp/detail/box.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// What peer.request() reads once the peer let its request go: immutable, shared.
inline const Request& empty_request() {
    static const Request r;
    return r;
}

/// The URL a WebSocket was opened at: the upgrade request's, with http -> ws, https -> wss.
inline std::string ws_url(const Request& upgrade) {
    std::string u = upgrade.url();
    u.replace(0, 4, "ws");
    return u;
}

inline Box<WsSession> WsSession::make(Connection& conn, const WsEndpoint& ep, Request& req,
                                      std::string_view protocol, Box<WsCompression> deflate) {
    // Kept: the request packed, or (keep_request false) the URL, with the request whole until
    // `open` has returned.
    Box<Request> transient;
    std::string url;
    if (!ep.keep_request) {
        transient = make_box<Request>(req);
        url = ws_url(req);
    }
    // The peer's id: the next number, in hex, stored after the session.
    char id[16];
    std::uint8_t id_len = 0;
    for (std::uint64_t n = next_peer_id(); n != 0 || id_len == 0; n >>= 4)
        id[id_len++] = "0123456789abcdef"[n & 15];
    std::reverse(id, id + id_len);
    const Request* packed = ep.keep_request ? &req : nullptr;
    const std::size_t kept_at = kept_offset(id_len);
    const std::size_t extra = sizeof(KeptRequest) + KeptRequest::packed_size(packed, protocol, url);
    char* mem = static_cast<char*>(::operator new(kept_at + extra));
    std::memcpy(mem + sizeof(WsSession), id, id_len);
    KeptRequest::pack(mem + kept_at, packed, protocol, url);
    return Box<WsSession>(
        new (mem) WsSession(conn, ep, req, std::move(transient), std::move(deflate), id_len));
}

inline WsSession::WsSession(Connection& conn, const WsEndpoint& ep, Request& req,
                            Box<Request> transient, Box<WsCompression> deflate, std::uint8_t id_len)
    : Session(SessionKind::websocket),
      id_len_(id_len),
      close_sent_(false),
      close_received_(false),
      close_reported_(false),
      ping_outstanding_(false),
      in_hook_failure_(false),
      listed_(false),
      close_timed_(false),
      compressing_(deflate != nullptr),
      conn_(conn),
      ep_(ep),
      reader_(deflate != nullptr) {
    if (transient) extras().request = std::move(transient);
    if (deflate) extras().deflate = std::move(deflate);
    const StateSlot& slot = RequestBuilder::state_slot(req);
    if (slot.tag || slot.ptr) extras().state = make_box<StateSlot>(slot);   // a 2nd owner
    note_rx();
}

// The limit the upgrade used to give the reader, now read where it lives (WsOptions, else
// Limits): both are fixed once the App listens, so every read sees the value the upgrade saw.
inline std::uint64_t WsSession::max_message() const noexcept {
    const std::size_t m = ep_.max_message_bytes;
    return WsReaderCore::clamp_limit(m ? m : conn_.loop().core.options.limits.max_message_bytes);
}

inline void WsSession::trim_request() noexcept {
    if (extras_ && extras_->request && kept().has_request()) extras_->request.reset();
    trim_extras();
}

inline WsExtras& WsSession::extras() const {
    if (!extras_) extras_ = make_box<WsExtras>();
    return *extras_;
}

inline void WsSession::trim_extras() noexcept {
    if (extras_ && extras_->empty()) extras_.reset();
}

inline WsRuntime& WsSession::runtime() {
    WsExtras& x = extras();
    if (!x.runtime) x.runtime = make_box<WsRuntime>();
    return *x.runtime;
}

inline std::string WsSession::url() const {
    if (!kept().url().empty()) return std::string(kept().url());
    return ws_url(request());
}

inline const Request& WsSession::request() const noexcept {
    if (!extras_ || !extras_->request) {
        if (!kept().has_request()) return empty_request();
        Box<Request>& made = extras().request;
        made = make_box<Request>();
        kept().fill(*made);
        RequestBuilder::set_remote(*made, conn_.remote_address(), conn_.is_secure());
        RequestBuilder::set_client_subject(*made, conn_.client_subject());
    }
    Request& r = *extras_->request;
    StateSlot& slot = RequestBuilder::state_slot(r);
    const Box<StateSlot>& state = extras_->state;
    if (state && slot.ptr != state->ptr) slot = *state;   // peer.state<T>() made since
    return r;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
