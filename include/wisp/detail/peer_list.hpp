// SPDX-License-Identifier: MIT
// wisp/detail/peer_list.hpp — the peer registry of one WebSocket route: its open peers across
// every loop (app.peers(route), peer.peers(), app.peer_count, app.close_all).
// Owns: the list's lock and count. The links live in the sessions (two pointers each).
// Must not know: what a peer does; only ws_session.hpp joins and leaves.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <atomic>
#include <cstddef>
#include <mutex>

WISP_NAMESPACE_BEGIN
namespace detail {

class WsSession;

/// A list threaded through the sessions themselves, under a lock taken only when a peer opens
/// or closes and when someone asks for the list: never for a message, a send or a publication.
struct PeerList {
    std::mutex mutex;
    WsSession* head = nullptr;
    std::atomic<std::size_t> count{0};
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
