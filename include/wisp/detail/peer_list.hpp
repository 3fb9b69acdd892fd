// SPDX-License-Identifier: MIT
// wisp/detail/peer_list.hpp — the peer registry of one WebSocket route: its open peers across
// every loop (app.peers(route), peer.peers(), app.peer_count, app.close_all).
// Owns: the list's lock and count, and the counter peers' ids come from. The links live in the
// sessions (two pointers each).
// Must not know: what a peer does; only ws_session.hpp joins and leaves.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

WISP_NAMESPACE_BEGIN
namespace detail {

class WsSession;

/// The number a new peer's id is written from (in hex): unique in the process, never 0.
inline std::uint64_t next_peer_id() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

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
