// SPDX-License-Identifier: MIT
// wisp/detail/topics.hpp — the Topics module: subscribe / publish with publications framed once
// and shared by every subscriber.
// Owns: a publication's framing (one WebSocket frame, SSE events built on first need), each
// loop's subscriber lists and its fan-out walk, the inbox through which other threads' publications
// reach a loop, and the app-wide subscriber counts.
// Must not know: connections, sockets or how a subscriber queues bytes (a subscriber is an
// opaque pointer and a delivery function); the event loop (whoever owns an inbox wakes it).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/sse_format.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <wisp/detail/move_vector.hpp>
#include <wisp/detail/owned.hpp>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// The registry key of `topic` within namespace `ns` (WsOptions::namespace_of): the namespace,
/// a NUL no topic name from an app's own text is likely to hold, then the topic.
inline std::string namespaced_topic(std::string_view ns, std::string_view topic) {
    std::string key;
    key.reserve(ns.size() + 1 + topic.size());
    key.append(ns).push_back('\0');
    key.append(topic);
    return key;
}

/// One publication, framed once for every kind of subscriber and shared (immutable) by all
/// of them, on every thread: a WebSocket frame built at once, and for text the SSE events
/// (plain for HTTP/1.0, chunked for HTTP/1.1; unnamed, or named after the topic) each built
/// by the first loop that has a stream wanting it, so a topic without streams never pays.
struct Publication {
    std::string topic;
    SharedBuffer ws_frame;
    std::size_t payload_offset = 0;   ///< where the payload starts in ws_frame
    bool binary = false;              ///< binary publications reach WebSocket peers only
    bool compress = true;             ///< SendOptions::compress: false keeps it uncompressed
    bool from_bridge = false;         ///< came from another process: never sent back (bridge.hpp)
    /// A retained topic's (App::retain): on its way to a bridge that gives it an id.
    bool retained = false;
    EventId id;   ///< a retained topic's publication: its id, written in its SSE events
    /// The peer that published it (Peer::id), when its delivery is deferred (a retained topic:
    /// through every loop's inbox, or through Redis and back) and the publisher is skipped
    /// by id instead of by address. Empty otherwise.
    std::string sender;

    static std::shared_ptr<const Publication> make(std::string_view topic, std::string_view data,
                                                   bool binary, bool compress = true,
                                                   bool from_bridge = false, EventId id = {},
                                                   std::string_view sender = {},
                                                   bool retained = false);
    std::string_view payload() const noexcept { return ws_frame.view().substr(payload_offset); }
    /// The SSE event of a text publication (`event: <topic>` when `named`); any thread.
    const SharedBuffer& sse(bool named, bool chunked) const;
    /// The publication as one compressed WebSocket frame (RFC 7692) for every peer that
    /// compresses without context takeover with a window of `window_bits` (9..15): made by
    /// `make(payload())`, which returns a SharedBuffer, the first time any loop asks, so once
    /// per publication and window size. An empty buffer means "send it uncompressed". Any thread.
    template <class Make>
    const SharedBuffer& deflated(unsigned window_bits, Make&& make) const;

private:
    const SharedBuffer& make_sse(bool named, bool chunked) const;

    mutable std::atomic<bool> sse_made_[2] = {};   ///< sse_[named] is built: no call_once
    mutable std::once_flag sse_once_[2];
    mutable SharedBuffer sse_[2][2];   // [named][chunked]
    mutable std::once_flag deflate_once_[7];
    mutable SharedBuffer deflated_[7];   // [window_bits - 9]
};

/// Publications to one topic given to a subscriber together, in order: a run that a loop held
/// (LoopTopics), or a lone publication. A subscriber that takes them all at once below its cap
/// queues them as one entry: their WebSocket frames, or their SSE events, back to back in one
/// shared block, made by the first subscriber that asks (so a turn's run costs each subscriber
/// one queue entry, not one per publication); otherwise it takes them one by one as before.
/// None of them skips the subscriber it is given to (the walk sees to that).
class PublicationRun {
public:
    /// Runs up to this many bytes are copied into one block; longer ones go one by one.
    static constexpr std::size_t max_joined = 16 * 1024;

    PublicationRun(const Publication* const* items, std::size_t n) noexcept;
    std::size_t size() const noexcept { return n_; }
    const Publication& operator[](std::size_t i) const noexcept { return *items_[i]; }
    const Publication& back() const noexcept { return *items_[n_ - 1]; }
    /// No publication carries a sender to skip by id (a retained topic's).
    bool plain() const noexcept { return !any_sender_; }
    /// No publication is binary (what an event stream leaves out).
    bool text() const noexcept { return !any_binary_; }
    /// The WebSocket frames back to back (a lone publication: its own frame); empty when the
    /// run is longer than max_joined.
    const SharedBuffer& ws_frames() const;
    /// The bytes of the frames before the last: below its cap by more than this, a subscriber
    /// takes the whole run where one by one it would have taken each.
    std::size_t ws_bytes_before_last() const noexcept { return ws_before_last_; }
    /// A text run's SSE events back to back (Publication::sse); empty when too long.
    const SharedBuffer& sse_events(bool named, bool chunked) const;

private:
    /// `into` made once (`made`): each publication's `part` back to back, or left empty when
    /// they come to more than max_joined bytes.
    template <class Part>
    const SharedBuffer& joined(SharedBuffer& into, bool& made, Part part) const;

    const Publication* const* items_;
    std::size_t n_;
    std::size_t ws_before_last_ = 0;
    bool any_sender_ = false;
    bool any_binary_ = false;
    mutable bool ws_made_ = false;
    mutable bool sse_made_[2][2] = {};
    mutable SharedBuffer ws_;
    mutable SharedBuffer sse_[2][2];
};

/// A subscriber on one loop: a WebSocket peer or an event stream, as an opaque pointer and the
/// function that queues publications to it (`named`: an event stream that wants each
/// publication as an event named after the topic). One function pointer instead of a virtual
/// base keeps idle sessions free of a second vtable pointer.
struct TopicSub {
    void* self = nullptr;
    void (*deliver)(void* self, const PublicationRun& run, bool named) = nullptr;
    bool named = false;
    const void* id() const noexcept { return self; }
};

/// The subscriptions of one event loop. Thread: that loop's only; no lock.
/// A walk (for_each) may close subscribers, which then leave their topics: a removal during
/// a walk leaves a hole that the walk skips and that is swept when the outermost walk ends,
/// so the walk needs no copy of the list.
///
/// Held publications: while a hold is open (hold() .. release(), the loop opens one around a
/// read's messages and an inbox batch), consecutive publications to one topic wait and are
/// then delivered subscriber by subscriber (each subscriber given all of them in order, the
/// list walked once), not publication by publication: a subscriber's state is visited once
/// for the run, not once per publication, so a walk over more subscribers than the cache
/// holds does not miss again for each publication. The result is the same as delivering each
/// at once as long as nothing looks at or changes a subscriber in between: so everything that
/// could (a subscription change here, and through Loop::settle every send, close, queue or
/// state query of a peer or a stream) delivers what is held first. A publication to another
/// topic delivers the held run first too, so runs keep their order.
class LoopTopics {
public:
    /// Publications held at most: a run is delivered once it is this long.
    static constexpr std::size_t max_held = 64;

    /// The held runs' storage is made here, so delivering what is held allocates nothing
    /// outside the deliveries themselves.
    LoopTopics() {
        held_.reserve(max_held);
        delivering_.reserve(max_held);
        run_.reserve(max_held);
    }
    /// False when `sub` already had `topic`.
    bool add(const std::string& topic, TopicSub sub);
    /// False when `sub` did not have `topic`.
    bool remove(const std::string& topic, TopicSub sub);
    /// Subscribers of `topic` on this loop, in subscription order (nullptr when none). Outside
    /// a walk it holds no holes.
    const PodVector<TopicSub>* find(const std::string& topic) const;
    /// Calls f(sub) for each subscriber of `topic` that was there when the walk began and is
    /// still subscribed when its turn comes. f may subscribe and unsubscribe anyone.
    template <class F>
    void for_each(const std::string& topic, F&& f);
    /// Queues `p` to every subscriber of its topic except the one whose id() is `skip`.
    void fan_out(const Publication& p, const void* skip) {
        // A delivery may close its subscriber (backpressure), which then leaves its topics: the
        // walk skips it, no copy of the list needed.
        const Publication* one = &p;
        const PublicationRun run(&one, 1);
        for_each(p.topic, [&run, skip](const TopicSub& s) {
            if (s.id() != skip) s.deliver(s.self, run, s.named);
        });
    }

    // ---- held publications (see the class comment) ----
    void hold() noexcept { ++holds_; }
    /// Ends a hold. True when it was the outermost and publications are held: the caller
    /// delivers them (Loop::settle).
    bool release() noexcept { return --holds_ == 0 && !held_.empty(); }
    /// As fan_out(), or while a hold is open, later: with the publications to the same topic
    /// that follow it, at the latest when the hold ends. A publication made while held ones
    /// are being delivered (a hook run by a delivery) is delivered at once, as fan_out() would.
    void publish(const std::shared_ptr<const Publication>& p, const void* skip);
    /// Delivers what is held, now.
    void settle() {
        if (WISP_UNLIKELY(!held_.empty())) deliver_held_(*this);
    }
    bool holding() const noexcept { return !held_.empty(); }
    /// Deliveries of held publications that failed (a queue could not allocate) since the last
    /// call; each of those subscribers missed that run. The loop reports them.
    std::size_t take_failed() noexcept { return std::exchange(failed_, 0); }
    bool failed() const noexcept { return failed_ != 0; }

private:
    struct Held {
        std::shared_ptr<const Publication> p;
        const void* skip;
    };
    void sweep();
    void deliver_held();
    /// One subscriber's delivery of a held run. Held runs go out from places that cannot fail
    /// (a hold's end, a noexcept query), so an exception (out of memory) is counted, not thrown:
    /// the subscriber misses the run and the walk goes on.
    void deliver_one(const TopicSub& s, const PublicationRun& run) noexcept;

    // Node-based: lists stay put. Lazy: a program that never subscribes compiles no map.
    Lazy<std::unordered_map<std::string, PodVector<TopicSub>>> subs_;
    unsigned walking_ = 0;
    MoveVector<std::string> holes_;       // topics with holes left by removals during a walk
    MoveVector<Held> held_;               ///< one topic's run, in publication order
    MoveVector<Held> delivering_;         ///< the run being delivered (held_'s storage, swapped)
    PodVector<const Publication*> run_;   ///< delivering_'s publications
    unsigned holds_ = 0;
    bool settling_ = false;   ///< deliver_held() is walking
    /// deliver_held, set by publish() as it holds: only a program that publishes compiles the
    /// delivery of held runs (issue 25).
    void (*deliver_held_)(LoopTopics& self) = nullptr;
    std::size_t failed_ = 0;   ///< see take_failed()
};

/// App-wide subscriber counts (subscribe/unsubscribe only; publishing never takes this lock).
class TopicCounts {
public:
    /// True when the count went from 0 to more, or back to 0 (a bridge then follows it).
    bool add(const std::string& topic, long delta);
    std::size_t get(const std::string& topic) const;

private:
    mutable std::mutex m_;
    Lazy<std::unordered_map<std::string, std::size_t>> n_;   ///< made by the first add
};

/// Publications made on other threads for one loop, in order. Any thread may push; the loop's
/// thread takes them in bounded batches. The owner wakes the loop when push() says so.
class TopicInbox {
public:
    /// Queues `p`. With `may_wait` (the caller is not an I/O thread) waits first while `limit`
    /// publications wait already, until the loop catches up or the inbox closes. True when
    /// the caller must wake the loop (no drain is scheduled yet).
    bool push(std::shared_ptr<const Publication> p, bool may_wait, std::size_t limit);
    /// Waits while `limit` publications wait already, until the loop catches up or the inbox
    /// closes, without queueing anything: for a publisher that must not wait later, holding a
    /// lock (a retained topic's). The bound is then soft: others may fill the room first.
    void wait_for_room(std::size_t limit);
    /// Loop thread: calls deliver(const std::shared_ptr<const Publication>&) for at most
    /// `batch` publications in order,
    /// taking the whole inbox when the last batch is done. True when some remain (the owner
    /// schedules another drain behind the work already queued, so a backlog never holds the
    /// loop's other connections up for long).
    template <class F>
    bool drain(std::size_t batch, F&& deliver);
    /// No more deliveries: queued publications are dropped, waiters return.
    void close();

private:
    /// Under `lock` (of mutex_): waits while `limit` (at least one) publications wait already,
    /// until the loop catches up or the inbox closes.
    void wait_locked(std::unique_lock<std::mutex>& lock, std::size_t limit);

    std::mutex mutex_;   ///< this loop's only: publishers to other loops never meet here
    std::condition_variable space_;
    MoveVector<std::shared_ptr<const Publication>> queued_, taken_;
    std::size_t taken_pos_ = 0;   ///< taken_[0, taken_pos_) are delivered
    bool posted_ = false;         ///< a drain is scheduled and has not taken the inbox yet
    bool closed_ = false;
};

// ---- implementation -------------------------------------------------------

inline std::shared_ptr<const Publication> Publication::make(std::string_view topic,
                                                            std::string_view data, bool binary,
                                                            bool compress, bool from_bridge,
                                                            EventId id, std::string_view sender,
                                                            bool retained) {
    auto p = std::make_shared<Publication>();
    p->topic = std::string(topic);
    p->binary = binary;
    p->compress = compress;
    p->from_bridge = from_bridge;
    p->retained = retained;
    p->id = id;
    p->sender = std::string(sender);
    const std::size_t n = data.size();
    const std::size_t header = frame_header_size(n);
    p->ws_frame = SharedBuffer::with_capacity(header + n);
    encode_frame_header(p->ws_frame.mutable_data(), binary ? Opcode::binary : Opcode::text, true, n,
                        nullptr);
    if (n != 0) std::memcpy(p->ws_frame.mutable_data() + header, data.data(), n);
    p->ws_frame.set_size(header + n);
    p->payload_offset = header;
    return p;
}

inline const SharedBuffer& Publication::sse(bool named, bool chunked) const {
    // Asked once per stream: after the first, an acquire load instead of a call_once.
    if (WISP_LIKELY(sse_made_[named].load(std::memory_order_acquire))) return sse_[named][chunked];
    return make_sse(named, chunked);
}

inline const SharedBuffer& Publication::make_sse(bool named, bool chunked) const {
    std::call_once(sse_once_[named], [&] {
        const std::string_view data = payload();
        const std::string_view event = named ? std::string_view(topic) : std::string_view();
        char id_text[EventId::max_text];
        const std::string_view eid(id_text, id.empty() ? 0 : id.write(id_text));
        const std::size_t size = formatted_size(data, event, eid);
        SharedBuffer plain = SharedBuffer::with_capacity(size);
        sse_write_event(plain.mutable_data(), data, event, eid, -1, false);
        plain.set_size(size);
        const std::size_t chunk = size + chunk_overhead(size);
        SharedBuffer framed = SharedBuffer::with_capacity(chunk);
        write_chunk(framed.mutable_data(), plain.view());
        framed.set_size(chunk);
        sse_[named][0] = std::move(plain);
        sse_[named][1] = std::move(framed);
        sse_made_[named].store(true, std::memory_order_release);
    });
    return sse_[named][chunked];
}

template <class Make>
const SharedBuffer& Publication::deflated(unsigned window_bits, Make&& make) const {
    const unsigned i = window_bits - 9;
    std::call_once(deflate_once_[i], [&] { deflated_[i] = make(payload()); });
    return deflated_[i];
}

inline bool LoopTopics::add(const std::string& topic, TopicSub sub) {
    settle();   // what was published before this subscription is not for it
    auto& v = subs_.get()[topic];
    for (const TopicSub& s : v)
        if (s.id() == sub.id()) return false;   // one subscription per subscriber and topic
    v.push_back(sub);
    return true;
}

inline bool LoopTopics::remove(const std::string& topic, TopicSub sub) {
    settle();   // what was published before it left is still for it
    auto& subs = subs_.get();
    auto it = subs.find(topic);
    if (it == subs.end()) return false;
    auto& v = it->second;
    auto pos =
        std::find_if(v.begin(), v.end(), [&](const TopicSub& s) { return s.id() == sub.id(); });
    if (pos == v.end()) return false;
    if (walking_ != 0) {   // a walk may be on this list: leave a hole, sweep later
        *pos = TopicSub{};
        holes_.push_back(topic);
        return true;
    }
    v.erase(pos);   // keeps order; a topic's list is only as long as its local subscribers
    if (v.empty()) subs.erase(it);
    return true;
}

inline const PodVector<TopicSub>* LoopTopics::find(const std::string& topic) const {
    const auto* subs = subs_.peek();
    if (subs == nullptr) return nullptr;
    auto it = subs->find(topic);
    return it == subs->end() ? nullptr : &it->second;
}

template <class F>
void LoopTopics::for_each(const std::string& topic, F&& f) {
    auto& subs = subs_.get();
    auto it = subs.find(topic);
    if (it == subs.end()) return;
    PodVector<TopicSub>& v = it->second;   // stays valid: its topic is not erased while walking
    const std::size_t n = v.size();        // who subscribes during the walk waits for the next
    ++walking_;
    for (std::size_t i = 0; i < n; ++i) {
        const TopicSub s = v[i];   // by value: f may append to v
        if (s.id() != nullptr) f(s);
    }
    if (--walking_ == 0 && !holes_.empty()) sweep();
}

inline void LoopTopics::publish(const std::shared_ptr<const Publication>& p, const void* skip) {
    if (holds_ == 0 || settling_) {
        settle();
        fan_out(*p, skip);
        return;
    }
    if (!held_.empty()) {
        if (held_.front().p->topic != p->topic || held_.size() == max_held) deliver_held();
    } else if (auto& subs = subs_.get(); subs.find(p->topic) == subs.end()) {
        return;   // no subscriber here: nothing to deliver, nothing to keep in order
    }
    deliver_held_ = [](LoopTopics& self) { self.deliver_held(); };
    held_.push_back(Held{p, skip});
}

inline void LoopTopics::deliver_held() {
    // Publications made from here on (by hooks that deliveries run) are delivered at once, so
    // held_ stays empty while its former contents are walked.
    delivering_.swap(held_);
    settling_ = true;
    auto& subs = subs_.get();
    auto it = subs.find(delivering_.front().p->topic);
    if (it != subs.end()) {
        run_.clear();
        const void* skip = delivering_.front().skip;   // usually one publisher's whole run
        bool mixed = false;
        for (const Held& h : delivering_) {
            run_.push_back(h.p.get());
            mixed = mixed || h.skip != skip;
        }
        const PublicationRun run(run_.data(), run_.size());
        PodVector<TopicSub>& v = it->second;   // stays valid: not erased while walking
        const std::size_t n = v.size();
        ++walking_;
        for (std::size_t i = 0; i < n; ++i) {
            const TopicSub s = v[i];
            if (s.id() == nullptr) continue;   // a hole: it left
            bool skipped = s.id() == skip;     // the publisher
            if (WISP_UNLIKELY(mixed)) {
                skipped = false;
                for (const Held& h : delivering_) skipped = skipped || h.skip == s.id();
            } else if (skipped) {
                continue;
            }
            if (!skipped) {
                deliver_one(s, run);
                continue;
            }
            // Its own publications among others': one by one, as runs of one.
            for (std::size_t k = 0; k < run_.size() && v[i].id() != nullptr; ++k)
                if (delivering_[k].skip != s.id()) deliver_one(s, PublicationRun(&run_[k], 1));
        }
        if (--walking_ == 0 && !holes_.empty()) sweep();
    }
    settling_ = false;
    delivering_.clear();
}

inline void LoopTopics::deliver_one(const TopicSub& s, const PublicationRun& run) noexcept {
#ifndef WISP_NO_EXCEPTIONS
    try {
        s.deliver(s.self, run, s.named);
    } catch (...) {
        ++failed_;
    }
#else
    s.deliver(s.self, run, s.named);
#endif
}

inline void LoopTopics::sweep() {
    auto& subs = subs_.get();
    for (const std::string& topic : holes_) {
        auto it = subs.find(topic);
        if (it == subs.end()) continue;   // swept already (several holes in one topic)
        auto& v = it->second;
        v.erase(
            std::remove_if(v.begin(), v.end(), [](const TopicSub& s) { return s.id() == nullptr; }),
            v.end());
        if (v.empty()) subs.erase(it);
    }
    holes_.clear();
}

inline PublicationRun::PublicationRun(const Publication* const* items, std::size_t n) noexcept
    : items_(items), n_(n) {
    for (std::size_t i = 0; i < n; ++i) {
        any_sender_ = any_sender_ || !items[i]->sender.empty();
        any_binary_ = any_binary_ || items[i]->binary;
        if (i + 1 < n) ws_before_last_ += items[i]->ws_frame.size();
    }
}

inline const SharedBuffer& PublicationRun::ws_frames() const {
    if (n_ == 1) return items_[0]->ws_frame;
    return joined(ws_, ws_made_,
                  [](const Publication& p) -> const SharedBuffer& { return p.ws_frame; });
}

inline const SharedBuffer& PublicationRun::sse_events(bool named, bool chunked) const {
    if (n_ == 1) return items_[0]->sse(named, chunked);
    return joined(
        sse_[named][chunked], sse_made_[named][chunked],
        [&](const Publication& p) -> const SharedBuffer& { return p.sse(named, chunked); });
}

template <class Part>
const SharedBuffer& PublicationRun::joined(SharedBuffer& into, bool& made, Part part) const {
    if (made) return into;
    made = true;
    std::size_t total = 0;
    for (std::size_t i = 0; i < n_; ++i) total += part(*items_[i]).size();
    if (total > max_joined) return into;   // stays empty: one by one
    into = SharedBuffer::with_capacity(total);
    char* out = into.mutable_data();
    for (std::size_t i = 0; i < n_; ++i) {
        const SharedBuffer& b = part(*items_[i]);
        std::memcpy(out, b.data(), b.size());
        out += b.size();
    }
    into.set_size(total);
    return into;
}

inline bool TopicInbox::push(std::shared_ptr<const Publication> p, bool may_wait,
                             std::size_t limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (may_wait) wait_locked(lock, limit);
    if (closed_) return false;
    queued_.push_back(std::move(p));
    if (posted_) return false;
    posted_ = true;
    return true;
}

inline void TopicInbox::wait_for_room(std::size_t limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_locked(lock, limit);
}

inline void TopicInbox::wait_locked(std::unique_lock<std::mutex>& lock, std::size_t limit) {
    if (limit == 0) limit = 1;
    space_.wait(lock, [&] { return closed_ || queued_.size() < limit; });
}

template <class F>
bool TopicInbox::drain(std::size_t batch, F&& deliver) {
    if (taken_pos_ == taken_.size()) {
        taken_.clear();
        taken_pos_ = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            taken_.swap(queued_);
            posted_ = false;
        }
        space_.notify_all();
    }
    // What was taken is older than anything still queued, so order is kept.
    const std::size_t end = std::min(taken_.size(), taken_pos_ + batch);
    for (; taken_pos_ < end; ++taken_pos_) {
        deliver(taken_[taken_pos_]);
        taken_[taken_pos_].reset();
    }
    return taken_pos_ < taken_.size();
}

inline void TopicInbox::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        queued_.clear();
    }
    space_.notify_all();
}

inline bool TopicCounts::add(const std::string& topic, long delta) {
    std::lock_guard<std::mutex> lock(m_);
    auto& counts = n_.get();
    auto& n = counts[topic];
    const bool was_zero = n == 0;
    n = static_cast<std::size_t>(static_cast<long>(n) + delta);
    const bool is_zero = n == 0;
    if (is_zero) counts.erase(topic);   // n refers to the erased entry from here on
    return was_zero != is_zero;
}

inline std::size_t TopicCounts::get(const std::string& topic) const {
    std::lock_guard<std::mutex> lock(m_);
    const auto* counts = n_.peek();
    if (counts == nullptr) return 0;
    auto it = counts->find(topic);
    return it == counts->end() ? 0 : it->second;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
