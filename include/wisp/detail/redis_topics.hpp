// SPDX-License-Identifier: MIT
// wisp/detail/redis_topics.hpp — what the Redis bridge does per topic: the subscriber
// connection's channels, and retained topics (App::retain), each a Redis Stream (key: its
// channel's name) that keeps about the last N publications.
// Owns: SUBSCRIBE / UNSUBSCRIBE following the app-wide subscriber counts and Redis'
// confirmations of them, sending a retained publication (one EVAL of retain_script: XADD and
// PUBLISH at once, so the stream's order is the channel's), asking a topic's history for a resuming stream
// (XREVRANGE, once the channel's subscription is confirmed, so nothing published meanwhile
// falls between the history and the live messages), and answering every ask exactly once.
// Must not know: event streams and their Last-Event-ID (StreamState), RESP (redis_protocol.hpp).
// Members of RedisLink (redis_link.hpp); without WISP_REDIS nothing here is compiled.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>

#ifdef WISP_REDIS
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/redis_link.hpp>
#include <wisp/detail/redis_protocol.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/utf8.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

// ---- subscriptions ----------------------------------------------------------------------

inline void RedisLink::topic_changed(const std::string& topic, Loop* here) {
    if (!active_) return;
    if (here == loop_) reconcile(topic);
    else gate_->post([s = self(), topic] { s->reconcile(topic); });
}

inline void RedisLink::reconcile(const std::string& topic) {
    if (!active_ || stopping_) return;
    // The count now, not the change that was reported: changes on several loops may arrive
    // here out of order, the count they leave behind cannot.
    const bool wanted = core_->topic_counts.get(topic) != 0;
    const std::string channel = channel_name(options_.channel_prefix, topic);
    const auto cmd = subs_.want(channel, wanted, sub_.state == State::connected);
    if (cmd == RedisSubscriptions::Command::none) return;
    // Not confirmed from now on: a history asked meanwhile waits for the next SUBSCRIBE.
    if (cmd == RedisSubscriptions::Command::unsubscribe) confirmed_.erase(channel);
    append_command(
        sub_.out,
        {cmd == RedisSubscriptions::Command::subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", channel});
    sub_.out_kinds.push_back('c');
    schedule_flush(sub_);
}

// ---- retained topics ----------------------------------------------------------------

inline bool RedisLink::relay_retained(const std::shared_ptr<const Publication>& p, Loop* here) {
    // Both connections up: the EVAL can go and its PUBLISH can come back here. Otherwise the
    // app delivers it locally, without an id (not kept in the stream).
    if (!active_ || !sub_up_.load() || !pub_up_.load()) return false;
    relay(p, here);   // in order with this loop's plain publications
    return true;
}

inline void RedisLink::append_retained(const Publication& p) {
    Conn& c = pub_;
    const EventLog* log = core_->retained_log(p.topic);
    const std::string key = channel_name(options_.channel_prefix, p.topic);
    const std::string_view payload = p.payload();
    if (log == nullptr || !fits(2 * key.size() + payload.size() + p.sender.size() + 512)) {
        count_drop();
        return;
    }
    const std::string keep = std::to_string(log->capacity());
    const std::string head = encode_retained_head(instance_, p.compress);
    if (!append_command(c.out, {"EVAL", retain_script, "2", key, key, keep, head, p.sender, payload,
                                p.compress ? "c" : "u"})) {
        dropped_.fetch_add(1);
        return;
    }
    c.out_kinds.push_back('r');
    schedule_flush(c);
}

inline bool RedisLink::history(const std::string& topic, EventId after, std::size_t count,
                               HistoryDone done) {
    if (!active_ || failed_ || !sub_up_.load() || !pub_up_.load()) return false;
    HistoryAsk a{topic, after, count, std::move(done)};
    if (Loop::current() == loop_) ask(std::move(a));
    else if (!gate_->post([s = self(), a = std::move(a)]() mutable { s->ask(std::move(a)); }))
        return false;
    return true;
}

inline void RedisLink::ask(HistoryAsk a) {
    if (!active_ || stopping_ || failed_ || sub_.state != State::connected ||
        pub_.state != State::connected) {
        a.done(false, {});
        return;
    }
    const std::string channel = channel_name(options_.channel_prefix, a.topic);
    if (confirmed_.count(channel) != 0) send_history(std::move(a));
    else unconfirmed_[channel].push_back(std::move(a));   // the SUBSCRIBE is on its way
}

inline void RedisLink::send_history(HistoryAsk a) {
    const std::string key = channel_name(options_.channel_prefix, a.topic);
    const std::string count = std::to_string(a.count == 0 ? 1 : a.count);
    // The newest `count` entries after `after`, newest first (XREVRANGE end start).
    if (!append_command(pub_.out, {"XREVRANGE", key, "+", "(" + a.after.text(), "COUNT", count})) {
        a.done(false, {});
        return;
    }
    pub_.out_kinds.push_back('h');
    asked_.push_back(std::move(a));
    schedule_flush(pub_);
}

inline void RedisLink::on_history(const redisReply& r) {
    if (asked_.empty()) return;
    HistoryAsk a = std::move(asked_.front());
    asked_.pop_front();
    const auto entries = stream_entries(r);
    if (!entries) {
        refused("a history (XREVRANGE) with " +
                (r.type == REDIS_REPLY_ERROR ? std::string(reply_text(r)) : "something else"));
        a.done(false, {});
        return;
    }
    std::vector<std::shared_ptr<const Publication>> missed;
    missed.reserve(entries->size());
    for (auto it = entries->rbegin(); it != entries->rend(); ++it) {   // oldest first
        if (!is_valid_utf8(it->data)) {
            rejected_.fetch_add(1);
            continue;
        }
        missed.push_back(
            Publication::make(a.topic, it->data, false, it->compress, true, it->id, {}));
    }
    a.done(true, std::move(missed));
}

inline void RedisLink::on_subscription(std::string_view kind, const std::string& channel) {
    if (kind == "subscribe") {
        confirmed_.insert(channel);
        auto it = unconfirmed_.find(channel);
        if (it == unconfirmed_.end()) return;
        auto waiting = std::move(it->second);
        unconfirmed_.erase(it);
        for (auto& a : waiting) send_history(std::move(a));
    } else if (kind == "unsubscribe") {
        confirmed_.erase(channel);
        if (subs_.wants(channel)) return;   // a SUBSCRIBE follows: they wait for it
        fail_unconfirmed(&channel);
    }
}

inline void RedisLink::fail_unconfirmed(const std::string* channel) {
    // Taken out first, so the map is not walked while an answer runs.
    std::vector<HistoryAsk> waiting;
    if (channel == nullptr) {
        for (auto& w : unconfirmed_)
            for (auto& a : w.second) waiting.push_back(std::move(a));
        unconfirmed_.clear();
    } else if (auto it = unconfirmed_.find(*channel); it != unconfirmed_.end()) {
        waiting = std::move(it->second);
        unconfirmed_.erase(it);
    }
    for (auto& a : waiting) a.done(false, {});
}

inline void RedisLink::fail_histories(bool sent_only) {
    // asked_ follows the 'h' kinds of expect (written), then of out_kinds (not yet written).
    std::size_t n = asked_.size();
    if (sent_only) {
        n = 0;
        for (char k : pub_.expect) n += k == 'h';
    }
    for (std::size_t i = 0; i < n && !asked_.empty(); ++i) {
        HistoryAsk a = std::move(asked_.front());
        asked_.pop_front();
        a.done(false, {});
    }
    if (!sent_only) fail_unconfirmed(nullptr);
}

// ---- construction ----------------------------------------------------------------------
// Here rather than in redis_link.hpp: the constructor needs the vtable, and the vtable every
// virtual function, so it comes after the last of them (each is declared inline in the class,
// so no file that merely includes wisp compiles the bridge).

inline RedisLink::RedisLink(RedisUrl url, RedisAddress address, RedisOptions options)
    : url_(std::move(url)), address_(address), options_(std::move(options)) {
    std::random_device rd;
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    const std::uint64_t r = (std::uint64_t(rd()) << 32) ^ rd() ^ std::uint64_t(now);
    instance_ = make_instance_id(r);
    random_.seed(static_cast<std::uint32_t>(r ^ (r >> 32)));
}

}   // namespace detail
WISP_NAMESPACE_END
#endif   // WISP_REDIS
#pragma pop_macro("WISP_IN_HEADER")
