// SPDX-License-Identifier: MIT
// wisp/detail/ws_extras.hpp — what a WebSocket peer holds only when it uses it, behind one
// pointer of its session: a request made for a hook, per-peer state, compression, topics,
// timers, drain waiters and a namespace.
// Owns: the layout of those parts and when the block holding them is empty.
// Must not know: how the session uses them (ws_session.hpp, ws_request.hpp, handles.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/timer.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/ws_compression.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/owned.hpp>
#include <wisp/detail/move_vector.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// What fewer peers still use (timers, drain waiters, a namespace): made on first use, kept
/// for the peer's life. A namespaced route's peers make it before they join the route's list,
/// and other threads walking the list read `ns` through it.
struct WsRuntime {
    std::string ns;   ///< the namespace ("" : the app's topics)
    MoveVector<std::shared_ptr<TimerState>> timers;
    MoveVector<std::function<void(Peer&)>> when_drained;
};

class WsSession;

/// A peer's topics, made by its first subscribe (ws_topics.hpp).
struct WsTopics {
    std::vector<std::string> names;   ///< as subscribed: peer.topics()
    /// Unsubscribes the peer from every topic (at close). Set by subscribe, so that only a
    /// program that subscribes compiles unsubscribing (issue 25).
    void (*leave)(WsSession& s) = nullptr;
};

/// The parts of a peer that many idle peers never use, so that they pay one pointer for them:
/// made by the first part, freed once it holds none (WsSession::trim_extras).
struct WsExtras {
    /// The upgrade's own until `open` returned (keep_request false), or one made from the kept
    /// request for a hook.
    Box<Request> request;
    Box<StateSlot> state;         ///< shared with the upgrade request's
    Box<WsCompression> deflate;   ///< permessage-deflate, when agreed
    /// A WsTopics, made by the first subscribe; Owned (deleted through a pointer), so that a
    /// program whose peers never subscribe does not compile the list's destruction either.
    Owned topics;
    Box<WsRuntime> runtime;

    WsTopics* peer_topics() const noexcept { return static_cast<WsTopics*>(topics.get()); }

    bool empty() const noexcept {
        return !request && !state && !deflate && !topics.get() && !runtime;
    }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
