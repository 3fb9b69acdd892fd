// SPDX-License-Identifier: MIT
// wisp/detail/pubsub_impl.hpp — topics for peers and streams, and the per-loop fan-out, where
// Connection, WsSession and StreamState are complete.
#pragma once

#include <wisp/config.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/event_stream_impl.hpp>
#include <wisp/detail/stream_state.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/websocket_impl.hpp>
#include <wisp/detail/ws_session.hpp>
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

inline void AppCore::publish(const std::shared_ptr<const Publication>& p, Loop* here,
                             const void* skip) {
    if (here == nullptr) here = Loop::current();
    if (here != nullptr) {
        // An I/O thread: the loops live at least as long as this call (run() is running).
        if (const std::vector<Loop*>* loops = live_loops.load(std::memory_order_acquire))
            for (Loop* l : *loops)
                if (l != here) l->enqueue(p, false);
        // Last: a delivery may close a subscriber whose close hook publishes again.
        here->fan_out(*p, skip);
        return;
    }
    // Another thread: run() may be ending; it waits for this call before the loops go away.
    foreign_publishes.fetch_add(1);
    if (const std::vector<Loop*>* loops = live_loops.load())
        for (Loop* l : *loops) l->enqueue(p, true);
    foreign_publishes.fetch_sub(1);
}

inline void Loop::fan_out(const Publication& p, const void* skip) {
    TickHold hold(*this);
    // A delivery may close its subscriber (backpressure), which then leaves its topics: the
    // walk skips it, no copy of the list needed.
    topics.for_each(p.topic, [&p, skip](const TopicSub& s) {
        if (s.id() == skip) return;
        if (s.ws) s.ws->deliver(p);
        else s.stream->deliver(p, s.named);
    });
}

// ---- WebSocket peers ----------------------------------------------------------------
inline bool WsSession::subscribe(std::string_view topic) {
    if (close_reported_ || conn_.closing()) return false;
    std::string t(topic);
    if (!conn_.loop().topics.add(t, TopicSub{this, nullptr})) return false;
    conn_.loop().core.topic_counts.add(t, +1);
    topics_.push_back(std::move(t));
    return true;
}

inline bool WsSession::unsubscribe(std::string_view topic) {
    auto it = std::find(topics_.begin(), topics_.end(), topic);
    if (it == topics_.end()) return false;
    conn_.loop().topics.remove(*it, TopicSub{this, nullptr});
    conn_.loop().core.topic_counts.add(*it, -1);
    topics_.erase(it);
    return true;
}

inline void WsSession::leave_topics() {
    while (!topics_.empty()) unsubscribe(std::string(topics_.back()));
}

inline void WsSession::publish(std::string_view topic, std::string_view data, bool binary) {
    conn_.loop().core.publish(Publication::make(topic, data, binary), &conn_.loop(), this);
}

inline void WsSession::deliver(const Publication& p) {
    // A slow subscriber pays alone: its own cap and policy, as for its direct sends.
    if (admit() == SendResult::sent) conn_.write_shared(p.ws_frame, 0, p.ws_frame.size());
}

// ---- event streams ---------------------------------------------------------------
inline bool StreamState::subscribe(std::string_view topic, bool named) {
    if (closed.load() || conn == nullptr) return false;
    if (named && (topic.empty() || !is_valid_event_field(topic))) return false;
    std::string t(topic);
    if (!conn->loop().topics.add(t, TopicSub{nullptr, this, named})) return false;
    conn->loop().core.topic_counts.add(t, +1);
    topics.push_back(std::move(t));
    return true;
}

inline bool StreamState::unsubscribe(std::string_view topic) {
    auto it = std::find(topics.begin(), topics.end(), topic);
    if (it == topics.end()) return false;
    conn->loop().topics.remove(*it, TopicSub{nullptr, this});
    conn->loop().core.topic_counts.add(*it, -1);
    topics.erase(it);
    return true;
}

inline void StreamState::deliver(const Publication& p, bool named) {
    if (closed.load() || p.binary) return;   // binary: not for SSE
    if (!is_started) {
        write_event_bytes(p.sse(named, false).view());   // kept until the head goes out
        return;
    }
    if (admit() != SendResult::sent) return;
    const SharedBuffer& b = p.sse(named, chunked);
    conn->write_shared(b, 0, b.size());
    last_write_tick = conn->loop().now_tick();
}

}  // namespace detail

inline bool Peer::subscribe(std::string_view topic) { return s_.subscribe(topic); }
inline bool Peer::unsubscribe(std::string_view topic) { return s_.unsubscribe(topic); }
inline const std::vector<std::string>& Peer::topics() const noexcept { return s_.topics(); }
inline void Peer::publish_text(std::string_view topic, std::string_view text) {
    s_.publish(topic, text, false);
}
inline void Peer::publish_binary(std::string_view topic, std::string_view bytes) {
    s_.publish(topic, bytes, true);
}
inline void Peer::publish(std::string_view topic, const Message& m) {
    s_.publish(topic, m.data(), m.is_binary());
}

inline bool EventStream::subscribe(std::string_view topic, TopicEvents events) {
    return s_->subscribe(topic, events == TopicEvents::named);
}
inline bool EventStream::unsubscribe(std::string_view topic) { return s_->unsubscribe(topic); }

WISP_NAMESPACE_END
