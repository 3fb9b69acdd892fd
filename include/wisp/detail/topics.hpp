// SPDX-License-Identifier: MIT
// wisp/detail/topics.hpp — subscribe / publish: publications framed once, shared by every
// subscriber; one registry per event loop, touched only by its thread.
#pragma once

#include <wisp/config.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class WsSession;
class StreamState;

/// One publication, framed once for every kind of subscriber and shared (immutable) by all
/// of them, on every thread: a WebSocket frame built at once, and for text the SSE events
/// (plain for HTTP/1.0, chunked for HTTP/1.1; unnamed, or named after the topic) each built
/// by the first loop that has a stream wanting it, so a topic without streams never pays.
struct Publication {
    std::string topic;
    SharedBuffer ws_frame;
    std::size_t payload_offset = 0;   ///< where the payload starts in ws_frame
    bool binary = false;              ///< binary publications reach WebSocket peers only

    static std::shared_ptr<const Publication> make(std::string_view topic, std::string_view data,
                                                   bool binary);
    std::string_view payload() const noexcept { return ws_frame.view().substr(payload_offset); }
    /// The SSE event of a text publication (`event: <topic>` when `named`); any thread.
    const SharedBuffer& sse(bool named, bool chunked) const;

private:
    mutable std::once_flag sse_once_[2];
    mutable SharedBuffer sse_[2][2];   // [named][chunked]
};

/// A subscriber on one loop: a WebSocket session or an event stream (which may want each
/// publication as an event named after the topic).
struct TopicSub {
    WsSession* ws = nullptr;
    StreamState* stream = nullptr;
    bool named = false;
    const void* id() const noexcept {
        return ws ? static_cast<const void*>(ws) : static_cast<const void*>(stream);
    }
};

/// The subscriptions of one event loop. Thread: that loop's only; no lock.
/// A walk (for_each) may close subscribers, which then leave their topics: a removal during
/// a walk leaves a hole that the walk skips and that is swept when the outermost walk ends,
/// so the walk needs no copy of the list.
class LoopTopics {
public:
    /// False when `sub` already had `topic`.
    bool add(const std::string& topic, TopicSub sub);
    /// False when `sub` did not have `topic`.
    bool remove(const std::string& topic, TopicSub sub);
    /// Subscribers of `topic` on this loop, in subscription order (nullptr when none). Outside
    /// a walk it holds no holes.
    const std::vector<TopicSub>* find(const std::string& topic) const;
    /// Calls f(sub) for each subscriber of `topic` that was there when the walk began and is
    /// still subscribed when its turn comes. f may subscribe and unsubscribe anyone.
    template <class F>
    void for_each(const std::string& topic, F&& f);

private:
    void sweep();

    std::unordered_map<std::string, std::vector<TopicSub>> subs_;   // node-based: lists stay put
    unsigned walking_ = 0;
    std::vector<std::string> holes_;   // topics with holes left by removals during a walk
};

/// App-wide subscriber counts (subscribe/unsubscribe only; publishing never takes this lock).
class TopicCounts {
public:
    void add(const std::string& topic, long delta);
    std::size_t get(const std::string& topic) const;

private:
    mutable std::mutex m_;
    std::unordered_map<std::string, std::size_t> n_;
};

// ---- implementation -------------------------------------------------------

inline std::shared_ptr<const Publication> Publication::make(std::string_view topic,
                                                            std::string_view data, bool binary) {
    auto p = std::make_shared<Publication>();
    p->topic = std::string(topic);
    p->binary = binary;
    const std::size_t n = data.size();
    const std::size_t header = frame_header_size(n);
    p->ws_frame = SharedBuffer::with_capacity(header + n);
    encode_frame_header(p->ws_frame.mutable_data(), binary ? Opcode::binary : Opcode::text, true,
                        n, nullptr);
    if (n != 0) std::memcpy(p->ws_frame.mutable_data() + header, data.data(), n);
    p->ws_frame.set_size(header + n);
    p->payload_offset = header;
    return p;
}

inline const SharedBuffer& Publication::sse(bool named, bool chunked) const {
    std::call_once(sse_once_[named], [&] {
        const std::string_view data = payload();
        const std::string_view event = named ? std::string_view(topic) : std::string_view();
        const std::size_t size = formatted_size(data, event);
        SharedBuffer plain = SharedBuffer::with_capacity(size);
        sse_write_event(plain.mutable_data(), data, event, {}, -1, false);
        plain.set_size(size);
        const std::size_t chunk = size + chunk_overhead(size);
        SharedBuffer framed = SharedBuffer::with_capacity(chunk);
        write_chunk(framed.mutable_data(), plain.view());
        framed.set_size(chunk);
        sse_[named][0] = std::move(plain);
        sse_[named][1] = std::move(framed);
    });
    return sse_[named][chunked];
}

inline bool LoopTopics::add(const std::string& topic, TopicSub sub) {
    auto& v = subs_[topic];
    for (const TopicSub& s : v)
        if (s.id() == sub.id()) return false;   // one subscription per subscriber and topic
    v.push_back(sub);
    return true;
}

inline bool LoopTopics::remove(const std::string& topic, TopicSub sub) {
    auto it = subs_.find(topic);
    if (it == subs_.end()) return false;
    auto& v = it->second;
    auto pos = std::find_if(v.begin(), v.end(), [&](const TopicSub& s) { return s.id() == sub.id(); });
    if (pos == v.end()) return false;
    if (walking_ != 0) {   // a walk may be on this list: leave a hole, sweep later
        *pos = TopicSub{};
        holes_.push_back(topic);
        return true;
    }
    v.erase(pos);   // keeps order; a topic's list is only as long as its local subscribers
    if (v.empty()) subs_.erase(it);
    return true;
}

inline const std::vector<TopicSub>* LoopTopics::find(const std::string& topic) const {
    auto it = subs_.find(topic);
    return it == subs_.end() ? nullptr : &it->second;
}

template <class F>
void LoopTopics::for_each(const std::string& topic, F&& f) {
    auto it = subs_.find(topic);
    if (it == subs_.end()) return;
    std::vector<TopicSub>& v = it->second;   // stays valid: its topic is not erased while walking
    const std::size_t n = v.size();          // who subscribes during the walk waits for the next
    ++walking_;
    for (std::size_t i = 0; i < n; ++i) {
        const TopicSub s = v[i];   // by value: f may append to v
        if (s.id() != nullptr) f(s);
    }
    if (--walking_ == 0 && !holes_.empty()) sweep();
}

inline void LoopTopics::sweep() {
    for (const std::string& topic : holes_) {
        auto it = subs_.find(topic);
        if (it == subs_.end()) continue;   // swept already (several holes in one topic)
        auto& v = it->second;
        v.erase(std::remove_if(v.begin(), v.end(), [](const TopicSub& s) { return s.id() == nullptr; }),
                v.end());
        if (v.empty()) subs_.erase(it);
    }
    holes_.clear();
}

inline void TopicCounts::add(const std::string& topic, long delta) {
    std::lock_guard<std::mutex> lock(m_);
    auto& n = n_[topic];
    n = static_cast<std::size_t>(static_cast<long>(n) + delta);
    if (n == 0) n_.erase(topic);
}

inline std::size_t TopicCounts::get(const std::string& topic) const {
    std::lock_guard<std::mutex> lock(m_);
    auto it = n_.find(topic);
    return it == n_.end() ? 0 : it->second;
}

}  // namespace detail
WISP_NAMESPACE_END
