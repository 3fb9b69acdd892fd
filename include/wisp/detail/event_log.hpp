// SPDX-License-Identifier: MIT
// wisp/detail/event_log.hpp — retained topics (App::retain): event ids and the last N
// publications of a topic, which an event stream that comes back with Last-Event-ID gets first.
// Owns: the id of a retained publication (`<ms>-<seq>`, the shape of a Redis Stream id, so one
// process and a Redis bridge write the same ids), its parsing, the next id from the wall clock,
// one topic's ring of publications and what a reconnecting stream missed.
// Must not know: loops, connections, Redis (with a bridge the ring is a Redis Stream:
// redis_topics.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

struct Publication;

/// A retained publication's id: milliseconds of the wall clock, then a sequence number within
/// that millisecond, written `<ms>-<seq>` (a Redis Stream entry id). Ids only grow: a clock
/// that steps back keeps the last millisecond and counts on. 0-0 is no id.
struct EventId {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;

    bool empty() const noexcept { return ms == 0 && seq == 0; }
    friend bool operator==(EventId a, EventId b) noexcept { return a.ms == b.ms && a.seq == b.seq; }
    friend bool operator!=(EventId a, EventId b) noexcept { return !(a == b); }
    friend bool operator<(EventId a, EventId b) noexcept {
        return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq);
    }
    friend bool operator<=(EventId a, EventId b) noexcept { return !(b < a); }

    /// Enough for two 20-digit numbers and the dash.
    static constexpr std::size_t max_text = 41;
    /// Writes `<ms>-<seq>` at `out` (max_text bytes); returns its length.
    std::size_t write(char* out) const noexcept;
    std::string text() const;
    /// `<ms>-<seq>` or `<ms>` (seq 0), decimal digits only, each part below 2^64; nothing for
    /// anything else (a Last-Event-ID an app wrote itself, garbage).
    static std::optional<EventId> parse(std::string_view s) noexcept;
    /// The id after `last` at wall-clock time `now_ms`.
    static EventId next(EventId last, std::uint64_t now_ms) noexcept;
};

/// The wall clock in milliseconds since 1970 (what a retained id's first part counts).
std::uint64_t event_clock_ms() noexcept;

/// One retained topic in one process: its last `capacity` text publications, oldest first,
/// each with its id. Thread: any; whoever appends or reads holds lock() (the app's publish
/// keeps it while it queues the publication to every loop, so every loop sees ids in order).
class EventLog {
public:
    explicit EventLog(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
    std::size_t capacity() const noexcept { return capacity_; }
    std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(m_); }
    /// The id the next append gives. Lock held.
    EventId next_id(std::uint64_t now_ms) const noexcept { return EventId::next(last_, now_ms); }
    /// Keeps `p` (made with next_id()), dropping the oldest beyond capacity. Lock held.
    void append(std::shared_ptr<const Publication> p, EventId id);
    /// Calls f(shared publication) for each kept one whose id is after `after`, oldest first: all of
    /// them when `after` is older than the oldest kept (what fell out is lost), none when it
    /// is the newest or later. Returns the id of the last one given, or `after`. Lock held.
    template <class F>
    EventId replay(EventId after, F&& f) const;
    std::size_t size() const noexcept { return ring_.size(); }

private:
    struct Entry {
        EventId id;
        std::shared_ptr<const Publication> p;
    };
    std::size_t capacity_;
    std::mutex m_;
    std::deque<Entry> ring_;
    EventId last_;
};

// ---- implementation -------------------------------------------------------

inline std::size_t EventId::write(char* out) const noexcept {
    char* p = out;
    auto put = [&p](std::uint64_t v) {
        char tmp[20];
        std::size_t n = 0;
        do {
            tmp[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n != 0) *p++ = tmp[--n];
    };
    put(ms);
    *p++ = '-';
    put(seq);
    return static_cast<std::size_t>(p - out);
}

inline std::string EventId::text() const {
    char buf[max_text];
    return std::string(buf, write(buf));
}

inline std::optional<EventId> EventId::parse(std::string_view s) noexcept {
    auto number = [](std::string_view d, std::uint64_t& v) {
        if (d.empty() || d.size() > 20) return false;
        v = 0;
        for (char c : d) {
            if (c < '0' || c > '9') return false;
            const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
            if (v > (UINT64_MAX - digit) / 10) return false;
            v = v * 10 + digit;
        }
        return true;
    };
    EventId id;
    const std::size_t dash = s.find('-');
    if (!number(s.substr(0, dash), id.ms)) return std::nullopt;
    if (dash != std::string_view::npos && !number(s.substr(dash + 1), id.seq)) return std::nullopt;
    return id;
}

inline EventId EventId::next(EventId last, std::uint64_t now_ms) noexcept {
    if (now_ms > last.ms) return EventId{now_ms, 0};
    return EventId{last.ms, last.seq + 1};   // same millisecond, or the clock stepped back
}

inline std::uint64_t event_clock_ms() noexcept {
    // system_clock, not steady_clock: ids must keep growing across restarts and instances.
    const auto d = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

inline void EventLog::append(std::shared_ptr<const Publication> p, EventId id) {
    if (ring_.size() == capacity_) ring_.pop_front();
    ring_.push_back(Entry{id, std::move(p)});
    last_ = id;
}

template <class F>
EventId EventLog::replay(EventId after, F&& f) const {
    // Ids grow along the ring: skip to the first one after `after`.
    auto it = ring_.begin();
    while (it != ring_.end() && it->id <= after) ++it;
    EventId last = after;
    for (; it != ring_.end(); ++it) {
        f(it->p);
        last = it->id;
    }
    return last;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
