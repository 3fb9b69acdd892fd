// SPDX-License-Identifier: MIT
// wisp/detail/redis_link.hpp — the Redis bridge on an event loop: two non-blocking
// connections (one SUBSCRIBEs, one PUBLISHes, redis_socket.hpp) on the app's first loop.
// Owns: connecting, AUTH and SELECT, reconnecting with backoff, the publishing connection's
// queue (one write per loop turn, capped while Redis is away), handing what arrives to the
// app's fan-out, the counters and the log lines (through the app's error hook; Redis'
// refusals at most once per error_log_interval). What the link does per topic (subscriptions,
// retained topics' streams) is redis_topics.hpp's (members of the same class).
// Must not know: RESP or the envelope's layout (redis_protocol.hpp), connections and sessions.
// Without WISP_REDIS nothing here is compiled.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/redis_options.hpp>

#ifdef WISP_REDIS
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/bridge.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/reactor.hpp>
#include <wisp/detail/redis_protocol.hpp>
#include <wisp/detail/redis_socket.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// One bridge: made by RedisBridge, started by App::run on the first loop.
/// Thread: relay() and topic_changed() from any thread; everything else on the bridge's loop,
/// except stats() (any thread) and start()/detach() (run()'s thread, loops not running).
class RedisLink final : public Bridge, public std::enable_shared_from_this<RedisLink> {
public:
    /// Defined in redis_topics.hpp, beside the last of the virtual functions its vtable needs.
    inline RedisLink(RedisUrl url, RedisAddress address, RedisOptions options);

    inline void relay(const std::shared_ptr<const Publication>& p, Loop* here) override;
    inline bool relay_retained(const std::shared_ptr<const Publication>& p, Loop* here) override;
    inline bool history(const std::string& topic, EventId after, std::size_t count,
                        HistoryDone done) override;
    inline void topic_changed(const std::string& topic, Loop* here) override;
    inline void start(AppCore& core, Loop& loop) override;
    inline void stop(std::chrono::milliseconds deadline) override;
    inline void detach() override;
    RedisStats stats() const;
    const std::string& instance() const noexcept { return instance_; }

private:
    enum class State { idle, connecting, connected, waiting };
    /// One Redis connection.
    struct Conn {
        explicit Conn(const char* n) : name(n) {}
        const char* name;   ///< "subscribe" or "publish", for log lines
        Box<RedisSocket> sock;
        Box<ReactorTimer> timer;   ///< connect timeout, then the backoff wait
        Box<RespReader> reader;
        State state = State::idle;
        unsigned gen = 0;         ///< bumped when the socket goes: late handlers see they are stale
        unsigned attempt = 0;     ///< failures in a row
        bool lost_once = false;   ///< this outage is logged already
        std::string out;          ///< commands not yet handed to the socket
        /// One per command in `out`: 'a' AUTH, 's' SELECT, 'p' PUBLISH, 'r' a retained
        /// publication (EVAL), 'h' a history (XREVRANGE), 'c' any other.
        std::deque<char> out_kinds;
        std::string writing;       ///< the write in flight
        std::size_t written = 0;   ///< of `writing`, taken by the socket
        std::deque<char> expect;   ///< replies awaited, in order (publishing connection)
        bool write_busy = false;
        bool flush_posted = false;
        bool awaiting_auth = false;
        std::vector<char> rbuf;
    };

    void connect(Conn& c);
    void on_connected(Conn& c);
    void read(Conn& c);
    void on_reply(Conn& c, const redisReply& r);
    void auth_failed(const std::string& why);
    void on_message(std::string_view channel, std::string_view payload);
    void lost(Conn& c, const std::string& why);
    void retry(Conn& c);
    void close(Conn& c);
    void schedule_flush(Conn& c);
    void flush(Conn& c);
    void write_some(Conn& c);
    void append_publication(const Publication& p);
    /// Whether pub_'s queue takes about `bytes` more: not after AUTH was rejected, nor past
    /// max_pending_bytes. One check for every kind of publication.
    bool fits(std::size_t bytes) const {
        return !failed_ && pub_.out.size() + bytes <= options_.max_pending_bytes;
    }
    /// A publication refused before it was queued: counted, and reported after the outage.
    void count_drop() {
        dropped_.fetch_add(1);
        ++dropped_in_outage_;
    }
    // ---- per topic (redis_topics.hpp) ----
    /// A history asked by a resuming stream.
    struct HistoryAsk {
        std::string topic;
        EventId after;
        std::size_t count = 0;
        HistoryDone done;
    };
    void append_retained(const Publication& p);
    void ask(HistoryAsk a);
    void send_history(HistoryAsk a);
    void on_history(const redisReply& r);
    void on_subscription(std::string_view kind, const std::string& channel);
    void fail_histories(bool sent_only);
    /// Answers false to the histories waiting for `channel`'s subscription (every channel's
    /// when null): it is not coming.
    void fail_unconfirmed(const std::string* channel);
    void drain_inbox();
    void reconcile(const std::string& topic);
    void check_stopped();
    void log(errc code, std::string message) const;
    /// Logs "redis: <host> answered <what>" at most once per error_log_interval.
    void refused(std::string what);
    std::string where() const { return url_.host + ":" + std::to_string(url_.port); }
    std::shared_ptr<RedisLink> self() { return shared_from_this(); }

    const RedisUrl url_;
    const RedisAddress address_;
    const RedisOptions options_;
    std::string instance_;
    std::minstd_rand random_;
    AppCore* core_ = nullptr;
    Loop* loop_ = nullptr;
    std::shared_ptr<LoopGate> gate_;
    Box<TopicInbox> inbox_;   ///< publications made on other threads
    RedisSubscriptions subs_;
    Conn sub_{"subscribe"}, pub_{"publish"};
    std::atomic<bool> active_{false};   ///< between start() and detach()
    bool stopping_ = false;
    bool failed_ = false;   ///< AUTH was rejected: no more attempts
    Box<ReactorTimer> stop_timer_;
    std::chrono::steady_clock::time_point stop_deadline_;
    std::uint64_t dropped_in_outage_ = 0;
    std::chrono::steady_clock::time_point refused_at_;   ///< the last refusal logged
    std::uint64_t refused_muted_ = 0;                    ///< refusals since, not logged
    std::atomic<std::uint64_t> published_{0}, received_{0}, dropped_{0}, reconnects_{0},
        rejected_{0};
    std::atomic<bool> sub_up_{false}, pub_up_{false};
    std::set<std::string> confirmed_;   ///< channels Redis said we are subscribed to
    /// Histories waiting for their channel's subscription to be confirmed (so no publication
    /// falls between the history and the live ones), by channel.
    std::unordered_map<std::string, std::vector<HistoryAsk>> unconfirmed_;
    std::deque<HistoryAsk> asked_;   ///< one per 'h' in pub_'s out_kinds and expect, in order
};

// ---- implementation -------------------------------------------------------

inline RedisStats RedisLink::stats() const {
    RedisStats s;
    s.published = published_.load();
    s.received = received_.load();
    s.dropped = dropped_.load();
    s.reconnects = reconnects_.load();
    s.rejected = rejected_.load();
    s.connected = sub_up_.load() && pub_up_.load();
    return s;
}

inline void RedisLink::log(errc code, std::string message) const {
    if (core_) core_->report(Request(), code, std::move(message));
}

inline void RedisLink::refused(std::string what) {
    const auto now = std::chrono::steady_clock::now();
    if (refused_at_ != decltype(refused_at_)() && now - refused_at_ < options_.error_log_interval) {
        ++refused_muted_;
        return;
    }
    std::string line = "redis: " + where() + " answered " + what;
    if (refused_muted_ != 0)
        line += " (and " + std::to_string(refused_muted_) + " more refusals not logged)";
    refused_muted_ = 0;
    refused_at_ = now;
    log(errc::redis_connection, std::move(line));
}

inline void RedisLink::start(AppCore& core, Loop& loop) {
    core_ = &core;
    loop_ = &loop;
    gate_ = loop.gate;
    inbox_ = make_box<TopicInbox>();
    subs_ = RedisSubscriptions();
    stopping_ = false;
    failed_ = false;
    for (Conn* c : {&sub_, &pub_}) {
        c->timer = make_box<ReactorTimer>(loop.reactor);
        c->state = State::idle;
        c->attempt = 0;
        c->lost_once = false;
        c->rbuf.resize(64 * 1024);
    }
    stop_timer_ = make_box<ReactorTimer>(loop.reactor);
    active_ = true;
    loop.reactor.post([s = self()] {
        s->connect(s->sub_);
        s->connect(s->pub_);
    });
}

inline void RedisLink::detach() {
    active_ = false;
    if (inbox_) inbox_->close();   // publishers waiting for room return
    fail_histories(false);         // their streams' loops are gone: nothing runs
    for (Conn* c : {&sub_, &pub_}) {
        c->sock.reset();   // the loop's Reactor goes next: nothing of it may outlive it
        c->timer.reset();
        c->reader.reset();
        c->state = State::idle;
        c->write_busy = c->flush_posted = false;
        c->writing.clear();
        c->expect.clear();
    }
    stop_timer_.reset();
    sub_up_ = pub_up_ = false;
}

// ---- connecting -------------------------------------------------------------------------

inline void RedisLink::connect(Conn& c) {
    if (!active_ || stopping_ || failed_) return;
    c.sock = make_box<RedisSocket>(loop_->reactor);
    c.reader = make_box<RespReader>();
    c.state = State::connecting;
    const unsigned gen = ++c.gen;
    c.timer->arm(options_.connect_timeout, [s = self(), &c, gen] {
        if (gen != c.gen || c.state != State::connecting) return;
        s->lost(c, "no connection within connect_timeout");
    });
    c.sock->connect(address_, [s = self(), &c, gen](const std::error_code& ec) {
        if (gen != c.gen || !s->active_) return;
        if (ec) s->lost(c, ec.message());
        else s->on_connected(c);
    });
}

inline void RedisLink::on_connected(Conn& c) {
    c.timer->cancel();
    c.sock->no_delay();
    if (c.attempt != 0 || c.lost_once) {
        reconnects_.fetch_add(1);
        log(errc::redis_connection, "redis: " + std::string(c.name) + " connection to " + where() +
                                        " is back" +
                                        (&c == &pub_ && dropped_in_outage_ != 0
                                             ? "; " + std::to_string(dropped_in_outage_) +
                                                   " publications could not cross meanwhile"
                                             : std::string()));
        if (&c == &pub_) dropped_in_outage_ = 0;
    }
    c.attempt = 0;
    c.lost_once = false;
    c.state = State::connected;
    // The hello goes first, ahead of what waited: AUTH, PING, then SELECT or the subscriptions.
    std::string hello;
    std::deque<char> kinds;
    if (!url_.password.empty()) {
        if (url_.user.empty()) append_command(hello, {"AUTH", url_.password});
        else append_command(hello, {"AUTH", url_.user, url_.password});
        kinds.push_back('a');
        c.awaiting_auth = true;
    }
    // A PING, so that a server wanting a password says so now (NOAUTH), not at the first
    // publication or subscription.
    append_command(hello, {"PING"});
    kinds.push_back('c');
    if (&c == &pub_) {
        if (url_.db != 0) {
            const std::string db = std::to_string(url_.db);
            append_command(hello, {"SELECT", db});
            kinds.push_back('s');
        }
        pub_up_ = true;
    } else {
        c.out.clear();   // what was asked while away is in subs_ already
        c.out_kinds.clear();
        for (const auto& batch : subs_.resubscribe()) {
            std::vector<std::string_view> args(batch.begin(), batch.end());
            append_command(hello, args);
            kinds.push_back('c');
        }
        sub_up_ = true;
    }
    c.out.insert(0, hello);
    c.out_kinds.insert(c.out_kinds.begin(), kinds.begin(), kinds.end());
    read(c);
    flush(c);
}

inline void RedisLink::lost(Conn& c, const std::string& why) {
    const bool was_up = c.state == State::connected;
    close(c);
    if (&c == &pub_) {
        // What was written and not acknowledged may or may not have crossed: at-most-once.
        std::uint64_t n = 0;
        for (char k : c.expect) n += k == 'p' || k == 'r';
        fail_histories(true);   // the answers in flight; those not yet written go again
        c.expect.clear();
        c.writing.clear();   // `out` keeps what waited: it goes after the next hello
        dropped_.fetch_add(n);
        dropped_in_outage_ += n;
    } else {
        c.out.clear();
        c.out_kinds.clear();
        confirmed_.clear();
        fail_unconfirmed(nullptr);
    }
    if (stopping_ || failed_ || !active_) return;
    if (!c.lost_once) {
        c.lost_once = true;
        log(errc::redis_connection,
            "redis: " + std::string(c.name) + " connection to " + where() +
                (was_up ? " lost: " : " failed: ") + why +
                "; retrying with backoff (local delivery goes on; publications meanwhile "
                "are dropped beyond max_pending_bytes and counted)");
    }
    retry(c);
}

inline void RedisLink::retry(Conn& c) {
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    const auto delay = reconnect_delay(c.attempt++, options_.reconnect_min, options_.reconnect_max,
                                       jitter(random_));
    c.state = State::waiting;
    const unsigned gen = c.gen;
    c.timer->arm(delay, [s = self(), &c, gen] {
        if (gen != c.gen || c.state != State::waiting) return;
        s->connect(c);
    });
}

inline void RedisLink::close(Conn& c) {
    ++c.gen;
    if (c.sock) c.sock->close();
    if (c.timer) c.timer->cancel();
    c.state = State::idle;
    c.write_busy = false;
    c.awaiting_auth = false;
    (&c == &pub_ ? pub_up_ : sub_up_) = false;
}

// ---- reading ----------------------------------------------------------------------------

inline void RedisLink::read(Conn& c) {
    const unsigned gen = c.gen;
    c.sock->read_some(c.rbuf.data(), c.rbuf.size(),
                      [s = self(), &c, gen](const std::error_code& ec, std::size_t n) {
                          if (gen != c.gen || !s->active_) return;
                          if (ec || n == 0) {
                              s->lost(c, ec ? ec.message() : "closed by the server");
                              return;
                          }
                          if (!c.reader->feed(c.rbuf.data(), n)) {
                              s->lost(c, "the reply reader failed");
                              return;
                          }
                          for (;;) {
                              bool broken = false;
                              RedisReplyPtr r = c.reader->next(broken);
                              if (broken) {
                                  s->lost(c, "the server does not speak RESP");
                                  return;
                              }
                              if (!r) break;
                              s->on_reply(c, *r);
                              if (gen != c.gen) return;   // the reply closed the connection
                          }
                          s->read(c);
                      });
}

inline void RedisLink::auth_failed(const std::string& why) {
    failed_ = true;
    log(errc::redis_auth, "redis: " + why + "; the bridge stops (local delivery goes on)");
    close(sub_);
    close(pub_);
}

inline void RedisLink::on_reply(Conn& c, const redisReply& r) {
    if (c.awaiting_auth) {
        c.awaiting_auth = false;
        if (&c == &pub_ && !c.expect.empty()) c.expect.pop_front();
        if (r.type == REDIS_REPLY_ERROR)
            auth_failed("AUTH rejected by " + where() + ": " + std::string(reply_text(r)));
        return;
    }
    if (r.type == REDIS_REPLY_ERROR && reply_text(r).substr(0, 6) == "NOAUTH") {
        auth_failed(where() + " wants a password (" + std::string(reply_text(r)) +
                    "): give it in the URL, redis://:password@host:port");
        return;
    }
    if (&c == &pub_) {
        const char kind = c.expect.empty() ? 'c' : c.expect.front();
        if (!c.expect.empty()) c.expect.pop_front();
        if (kind == 'h') {
            on_history(r);
        } else if (r.type == REDIS_REPLY_ERROR) {
            if (kind == 'p' || kind == 'r') dropped_.fetch_add(1);
            refused(std::string(kind == 's'   ? "SELECT"
                                : kind == 'r' ? "a retained PUBLISH (EVAL)"
                                              : "PUBLISH") +
                    " with " + std::string(reply_text(r)));
        } else if (kind == 'p' || kind == 'r') {
            published_.fetch_add(1);
        }
        check_stopped();
        return;
    }
    // The subscribing connection: ["message", channel, payload], or a (un)subscribe count.
    if (r.type == REDIS_REPLY_ERROR) {
        refused("a subscription with " + std::string(reply_text(r)));
        return;
    }
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 3) return;
    const std::string_view kind = reply_text(*r.element[0]);
    if (kind == "message") on_message(reply_text(*r.element[1]), reply_text(*r.element[2]));
    else on_subscription(kind, std::string(reply_text(*r.element[1])));
}

inline void RedisLink::on_message(std::string_view channel, std::string_view payload) {
    const auto topic = topic_of_channel(options_.channel_prefix, channel);
    const auto e = decode_envelope(payload);
    if (!topic || !e || (!e->binary && !is_valid_utf8(e->payload))) {
        rejected_.fetch_add(1);
        return;
    }
    const bool ours = e->instance == instance_;
    if (e->retained) {   // ordered by Redis: delivered here too, our own publisher skipped
        if (!ours) received_.fetch_add(1);
        core_->publish(Publication::make(*topic, e->payload, false, e->compress, true, e->id,
                                         ours ? e->sender : std::string_view()),
                       loop_, nullptr);
        return;
    }
    if (ours) return;   // our own, delivered here already
    received_.fetch_add(1);
    core_->publish(Publication::make(*topic, e->payload, e->binary, e->compress, true), loop_,
                   nullptr);
}

// ---- writing ----------------------------------------------------------------------------

inline void RedisLink::relay(const std::shared_ptr<const Publication>& p, Loop* here) {
    if (!active_) return;
    if (here == loop_) {
        append_publication(*p);
        return;
    }
    // Another loop or thread: the bridge's loop takes them in order, in batches (a thread
    // that is not an I/O thread waits while the inbox is full, as for the loops).
    if (inbox_->push(p, here == nullptr, core_->options.limits.max_pending_publications))
        loop_->reactor.post([s = self()] { s->drain_inbox(); });
}

inline void RedisLink::drain_inbox() {
    if (!active_) return;
    if (inbox_->drain(
            64, [this](const std::shared_ptr<const Publication>& p) { append_publication(*p); }))
        loop_->reactor.post([s = self()] { s->drain_inbox(); });
}

inline void RedisLink::append_publication(const Publication& p) {
    if (p.retained) {
        append_retained(p);
        return;
    }
    Conn& c = pub_;
    const std::string channel = channel_name(options_.channel_prefix, p.topic);
    const std::string_view payload = p.payload();
    if (!fits(channel.size() + payload.size() + envelope_header_size + 64)) {
        count_drop();
        return;
    }
    const std::string e = encode_envelope(instance_, p.binary, p.compress, payload);
    if (!append_command(c.out, {"PUBLISH", channel, e})) {
        dropped_.fetch_add(1);
        return;
    }
    c.out_kinds.push_back('p');
    schedule_flush(c);
}

inline void RedisLink::schedule_flush(Conn& c) {
    if (c.flush_posted || c.state != State::connected || c.write_busy) return;
    c.flush_posted = true;
    // After the handlers already queued this turn: one write carries all they publish.
    loop_->reactor.post([s = self(), &c] {
        c.flush_posted = false;
        if (s->active_) s->flush(c);
    });
}

inline void RedisLink::flush(Conn& c) {
    if (c.state != State::connected || c.write_busy || c.out.empty()) return;
    c.writing.swap(c.out);
    c.out.clear();
    if (&c == &pub_) c.expect.insert(c.expect.end(), c.out_kinds.begin(), c.out_kinds.end());
    c.out_kinds.clear();
    c.written = 0;
    c.write_busy = true;
    write_some(c);
}

inline void RedisLink::write_some(Conn& c) {
    const unsigned gen = c.gen;
    c.sock->write_some(c.writing.data() + c.written, c.writing.size() - c.written,
                       [s = self(), &c, gen](const std::error_code& ec, std::size_t n) {
                           if (gen != c.gen || !s->active_) return;
                           if (ec) {
                               c.write_busy = false;
                               s->lost(c, ec.message());
                               return;
                           }
                           c.written += n;
                           if (c.written < c.writing.size()) {
                               s->write_some(c);
                               return;
                           }
                           c.write_busy = false;
                           c.writing.clear();
                           s->flush(c);
                           s->check_stopped();
                       });
}

// ---- stopping ---------------------------------------------------------------------------

inline void RedisLink::stop(std::chrono::milliseconds deadline) {
    if (!active_ || stopping_) return;
    stopping_ = true;
    close(sub_);   // nothing more to receive
    if (pub_.state != State::connected) close(pub_);
    stop_deadline_ = std::chrono::steady_clock::now() + deadline;
    check_stopped();
}

inline void RedisLink::check_stopped() {
    if (!stopping_ || !stop_timer_ || pub_.state != State::connected) return;
    // Peers closing now publish their goodbyes: the publishing connection stays until every
    // loop's connections are gone and what they said is written, or until the deadline.
    std::size_t open = 0;
    if (const PodVector<Loop*>* loops = core_->live_loops.load())
        for (Loop* l : *loops) open += l->connection_count();
    const bool idle = open == 0 && pub_.out.empty() && !pub_.write_busy && pub_.expect.empty();
    if (idle || std::chrono::steady_clock::now() >= stop_deadline_) {
        stop_timer_->cancel();
        close(pub_);
        return;
    }
    stop_timer_->arm(std::chrono::milliseconds(20), [s = self()] {
        if (s->active_) s->check_stopped();
    });
}

}   // namespace detail
WISP_NAMESPACE_END
#endif   // WISP_REDIS
#pragma pop_macro("WISP_IN_HEADER")
