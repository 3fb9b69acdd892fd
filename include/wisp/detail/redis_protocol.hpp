// SPDX-License-Identifier: MIT
// wisp/detail/redis_protocol.hpp — the only file that includes hiredis: the Redis bridge as
// bytes in and bytes out.
// Owns: the redis:// URL, the envelope a publication crosses in (instance id, type, payload;
// a retained topic's also its Redis Stream id and publishing peer), the script that retains a
// publication, a Redis Stream's entries as replies give them, channel names, the reconnect backoff schedule, which SUBSCRIBE / UNSUBSCRIBE to send, and
// RESP through hiredis (redisFormatCommandArgv for commands, a redisReader for replies).
// Must not know: sockets, the event loop, Asio, App (redis_link.hpp does the I/O).
// Without WISP_REDIS nothing here is compiled and hiredis is not included.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>

#ifdef WISP_REDIS
#include <wisp/detail/event_log.hpp>
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

WISP_THIRD_PARTY_BEGIN
#include <hiredis/hiredis.h>
WISP_THIRD_PARTY_END

WISP_NAMESPACE_BEGIN
namespace detail {

// ---- the URL --------------------------------------------------------------------------

/// Where a Redis server is and how to log in.
struct RedisUrl {
    std::string host;
    std::uint16_t port = 6379;
    std::string user;       ///< ACL user (Redis 6+); empty: AUTH with the password alone
    std::string password;   ///< empty: no AUTH
    unsigned db = 0;        ///< SELECTed on the publishing connection (pub/sub ignores it)
};

/// Parses `redis://[[user]:password@]host[:port][/db]` (user and password may be
/// percent-encoded; an IPv6 host goes in brackets). On failure returns nothing and `why` is a
/// sentence saying what is wrong; it never repeats the password.
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why);

// ---- the envelope ---------------------------------------------------------------------
// A publication crosses Redis as one message: "wisp1", the type ('t' text, 'b' binary), the
// compress flag ('c' or 'u': SendOptions::compress), the publishing instance's id (16 hex
// digits), ':', then the payload as it was published. Only the instance id keeps an instance
// from delivering its own publication twice (it gets it back as a subscriber).

//
// A retained topic's publication (App::retain) has type 'r' (text), and after the ':' the id
// Redis gave it in the topic's stream, a space, the publishing peer's id (Peer::id, maybe
// empty), ':', then the payload. RETAIN_SCRIPT writes that middle part inside Redis.

constexpr std::size_t instance_id_size = 16;
constexpr std::size_t envelope_header_size = 5 + 1 + 1 + instance_id_size + 1;

struct Envelope {
    std::string_view instance;
    bool binary = false;
    bool compress = true;
    bool retained = false;     ///< type 'r': `id` and `sender` are set
    EventId id;                ///< the entry id in the topic's Redis Stream
    std::string_view sender;   ///< the publishing peer on `instance` ("" for the app)
    std::string_view payload;
};

/// The envelope up to its ':' for a retained publication: RETAIN_SCRIPT appends the rest.
std::string encode_retained_head(std::string_view instance, bool compress);

/// Retains a publication and publishes it, atomically, so Redis orders both alike:
/// KEYS[1] the topic's stream, KEYS[2] its channel; ARGV[1] how many entries to keep (about:
/// MAXLEN ~), ARGV[2] the envelope head, ARGV[3] the publishing peer, ARGV[4] the payload,
/// ARGV[5] the compress flag ('c' or 'u'). The stream entry holds fields f (flag) and d
/// (payload); the reply is its id.
inline constexpr const char* retain_script =
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'f', ARGV[5], 'd', "
    "ARGV[4])\n"
    "redis.call('PUBLISH', KEYS[2], ARGV[2] .. id .. ' ' .. ARGV[3] .. ':' .. ARGV[4])\n"
    "return id\n";

/// One entry of a topic's stream as XRANGE / XREVRANGE give it (views into the reply).
struct StreamEntry {
    EventId id;
    bool compress = true;
    std::string_view data;
};

/// 16 lowercase hex digits of `random`.
std::string make_instance_id(std::uint64_t random);
std::string encode_envelope(std::string_view instance, bool binary, bool compress,
                            std::string_view payload);
/// The envelope in `bytes` (views into it), or nothing when they are not one.
std::optional<Envelope> decode_envelope(std::string_view bytes);

// ---- channels -------------------------------------------------------------------------

inline std::string channel_name(std::string_view prefix, std::string_view topic) {
    std::string c;
    c.reserve(prefix.size() + topic.size());
    c.append(prefix).append(topic);
    return c;
}
/// The topic a channel carries, or nothing when it is not under `prefix`.
inline std::optional<std::string_view> topic_of_channel(std::string_view prefix,
                                                        std::string_view channel) {
    if (channel.size() < prefix.size() || channel.substr(0, prefix.size()) != prefix)
        return std::nullopt;
    return channel.substr(prefix.size());
}

// ---- reconnecting ---------------------------------------------------------------------

/// The wait before connection attempt `attempt` + 1 after `attempt` failures in a row (0: the
/// first retry): `min` doubled per failure up to `max`, then "equal jitter": half of it fixed
/// and half scaled by `jitter` (0..1, drawn at random by the caller), so instances that lost
/// Redis together do not come back in step. Never below min / 2, never above max.
std::chrono::milliseconds reconnect_delay(unsigned attempt, std::chrono::milliseconds min,
                                          std::chrono::milliseconds max, double jitter);

// ---- subscriptions --------------------------------------------------------------------

/// Which channels the subscriber connection must hold, and the commands that get it there.
/// The caller says what it wants for one channel (from the app-wide subscriber count, read
/// when it changed) and whether the connection is up; a command comes back only for a change
/// on a live connection. A new connection gets every wanted channel back (resubscribe()).
class RedisSubscriptions {
public:
    enum class Command { none, subscribe, unsubscribe };
    Command want(const std::string& channel, bool wanted, bool connected);
    /// SUBSCRIBE arguments for a new connection: every wanted channel, in batches of at most
    /// `batch` channels (each vector is one command, "SUBSCRIBE" first).
    std::vector<std::vector<std::string>> resubscribe(std::size_t batch = 256) const;
    bool wants(const std::string& channel) const { return wanted_.count(channel) != 0; }
    std::size_t size() const noexcept { return wanted_.size(); }

private:
    std::set<std::string> wanted_;
};

// ---- RESP (through hiredis) -----------------------------------------------------------

/// Appends one command, as RESP (an array of bulk strings), to `out`. False when hiredis
/// could not format it (out of memory); `out` is then unchanged.
bool append_command(std::string& out, const std::vector<std::string_view>& args);

/// The entries of an XRANGE / XREVRANGE reply, in the reply's order; nothing when the reply is
/// not one (an error, a broken entry).
std::optional<std::vector<StreamEntry>> stream_entries(const redisReply& r);

struct ReplyFree {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

/// Replies out of a byte stream: hiredis's reader.
class RespReader {
public:
    RespReader() : r_(redisReaderCreate()) {}
    ~RespReader() {
        if (r_) redisReaderFree(r_);
    }
    RespReader(const RespReader&) = delete;
    RespReader& operator=(const RespReader&) = delete;

    /// False when the reader could not take the bytes (out of memory, or broken earlier).
    bool feed(const char* data, std::size_t n) {
        return r_ && redisReaderFeed(r_, data, n) == REDIS_OK;
    }
    /// The next complete reply, or null when more bytes are needed. `broken` is set when the
    /// stream is not RESP (the connection must go).
    RedisReplyPtr next(bool& broken) {
        broken = false;
        if (!r_) {
            broken = true;
            return nullptr;
        }
        void* reply = nullptr;
        if (redisReaderGetReply(r_, &reply) != REDIS_OK) {
            broken = true;
            return nullptr;
        }
        return RedisReplyPtr(static_cast<redisReply*>(reply));
    }

private:
    redisReader* r_;
};

/// The text of a bulk, status or error reply ("" for other types).
inline std::string_view reply_text(const redisReply& r) {
    if (r.type != REDIS_REPLY_STRING && r.type != REDIS_REPLY_STATUS && r.type != REDIS_REPLY_ERROR)
        return {};
    return {r.str, r.len};
}

// ---- implementation -------------------------------------------------------

namespace redis_url_detail {
inline int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
inline bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return false;
        const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return true;
}
inline bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}   // namespace redis_url_detail

inline std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why) {
    using namespace redis_url_detail;
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, 9) == "rediss://") {
        why = "redis URL: rediss:// (TLS) is not supported; use redis://host:port";
        return std::nullopt;
    }
    if (url.size() < scheme.size() || url.substr(0, scheme.size()) != scheme) {
        why = "redis URL must look like redis://[:password@]host[:port][/db]";
        return std::nullopt;
    }
    std::string_view rest = url.substr(scheme.size());
    RedisUrl u;
    // The credentials end at the last '@' before the path: a password may hold '@'.
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    std::string_view hostport = authority;
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view cred = authority.substr(0, at);
        hostport = authority.substr(at + 1);
        const std::size_t colon = cred.find(':');
        if (colon == std::string_view::npos) {
            why = "redis URL: the credentials must be user:password@ or :password@";
            return std::nullopt;
        }
        if (!percent_decode(cred.substr(0, colon), u.user) ||
            !percent_decode(cred.substr(colon + 1), u.password)) {
            why = "redis URL: a bad %-escape in the user or password";
            return std::nullopt;
        }
        if (u.password.empty()) {
            why = "redis URL: an empty password (leave out the '@' part for no AUTH)";
            return std::nullopt;
        }
    }
    std::string_view port;
    if (!hostport.empty() && hostport.front() == '[') {   // [IPv6]:port
        const std::size_t close = hostport.find(']');
        if (close == std::string_view::npos) {
            why = "redis URL: an IPv6 host needs its closing ']'";
            return std::nullopt;
        }
        u.host = std::string(hostport.substr(1, close - 1));
        const std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                why = "redis URL: expected ':port' after the IPv6 host";
                return std::nullopt;
            }
            port = after.substr(1);
            if (port.empty()) port = "?";
        }
    } else {
        const std::size_t colon = hostport.rfind(':');
        u.host = std::string(hostport.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = hostport.substr(colon + 1);
            if (port.empty()) port = "?";
        }
    }
    if (u.host.empty()) {
        why = "redis URL has no host (redis://host:port)";
        return std::nullopt;
    }
    if (!port.empty()) {
        unsigned long p = 0;
        if (!all_digits(port) || port.size() > 5 || (p = std::stoul(std::string(port))) == 0 ||
            p > 65535) {
            why = "redis URL: the port must be a number from 1 to 65535";
            return std::nullopt;
        }
        u.port = static_cast<std::uint16_t>(p);
    }
    if (!path.empty()) {
        if (!all_digits(path) || path.size() > 5 || std::stoul(std::string(path)) > 65535) {
            why = "redis URL: the database after '/' must be a number (redis://host:port/0)";
            return std::nullopt;
        }
        u.db = static_cast<unsigned>(std::stoul(std::string(path)));
    }
    why.clear();
    return u;
}

inline std::string make_instance_id(std::uint64_t random) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string id(instance_id_size, '0');
    for (std::size_t i = 0; i < instance_id_size; ++i)
        id[instance_id_size - 1 - i] = digits[(random >> (4 * i)) & 0xf];
    return id;
}

inline std::string encode_envelope(std::string_view instance, bool binary, bool compress,
                                   std::string_view payload) {
    std::string e;
    e.reserve(envelope_header_size + payload.size());
    e.append("wisp1");
    e.push_back(binary ? 'b' : 't');
    e.push_back(compress ? 'c' : 'u');
    e.append(instance.substr(0, instance_id_size));
    e.append(instance_id_size - std::min(instance.size(), instance_id_size), '0');
    e.push_back(':');
    e.append(payload);
    return e;
}

inline std::string encode_retained_head(std::string_view instance, bool compress) {
    std::string e = encode_envelope(instance, false, compress, {});
    e[5] = 'r';
    return e;
}

inline std::optional<Envelope> decode_envelope(std::string_view bytes) {
    if (bytes.size() < envelope_header_size || bytes.substr(0, 5) != "wisp1") return std::nullopt;
    Envelope e;
    if (bytes[5] != 't' && bytes[5] != 'b' && bytes[5] != 'r') return std::nullopt;
    if (bytes[6] != 'c' && bytes[6] != 'u') return std::nullopt;
    e.binary = bytes[5] == 'b';
    e.retained = bytes[5] == 'r';
    e.compress = bytes[6] == 'c';
    e.instance = bytes.substr(7, instance_id_size);
    for (char c : e.instance)
        if (redis_url_detail::hex_digit(c) < 0 || (c >= 'A' && c <= 'F')) return std::nullopt;
    if (bytes[envelope_header_size - 1] != ':') return std::nullopt;
    e.payload = bytes.substr(envelope_header_size);
    if (e.retained) {   // "<id> <sender>:<payload>"
        const std::size_t space = e.payload.find(' ');
        const std::size_t colon = e.payload.find(':', space == std::string_view::npos ? 0 : space);
        if (space == std::string_view::npos || colon == std::string_view::npos) return std::nullopt;
        const auto id = EventId::parse(e.payload.substr(0, space));
        if (!id || id->empty()) return std::nullopt;
        e.id = *id;
        e.sender = e.payload.substr(space + 1, colon - space - 1);
        e.payload = e.payload.substr(colon + 1);
    }
    return e;
}

inline std::optional<std::vector<StreamEntry>> stream_entries(const redisReply& r) {
    if (r.type != REDIS_REPLY_ARRAY) return std::nullopt;
    std::vector<StreamEntry> out;
    out.reserve(r.elements);
    for (std::size_t i = 0; i < r.elements; ++i) {
        const redisReply& e = *r.element[i];   // [id, [field, value, ...]]
        if (e.type != REDIS_REPLY_ARRAY || e.elements != 2 ||
            e.element[0]->type != REDIS_REPLY_STRING || e.element[1]->type != REDIS_REPLY_ARRAY)
            return std::nullopt;
        StreamEntry entry;
        const auto id = EventId::parse(std::string_view(e.element[0]->str, e.element[0]->len));
        if (!id) return std::nullopt;
        entry.id = *id;
        const redisReply& fields = *e.element[1];
        bool has_data = false;
        for (std::size_t f = 0; f + 1 < fields.elements; f += 2) {
            const redisReply& k = *fields.element[f];
            const redisReply& v = *fields.element[f + 1];
            if (k.type != REDIS_REPLY_STRING || v.type != REDIS_REPLY_STRING) return std::nullopt;
            const std::string_view key(k.str, k.len), value(v.str, v.len);
            if (key == "d") {
                entry.data = value;
                has_data = true;
            } else if (key == "f") {
                entry.compress = value != "u";
            }
        }
        if (!has_data) return std::nullopt;
        out.push_back(entry);
    }
    return out;
}

inline std::chrono::milliseconds reconnect_delay(unsigned attempt, std::chrono::milliseconds min,
                                                 std::chrono::milliseconds max, double jitter) {
    if (min.count() < 1) min = std::chrono::milliseconds(1);
    if (max < min) max = min;
    long long base = min.count();
    for (unsigned i = 0; i < attempt && base < max.count(); ++i) base *= 2;
    if (base > max.count()) base = max.count();
    if (!(jitter >= 0.0)) jitter = 0.0;   // also NaN
    if (jitter > 1.0) jitter = 1.0;
    const long long half = base / 2;
    const auto jittered = static_cast<long long>(jitter * static_cast<double>(half));
    return std::chrono::milliseconds(base - half + jittered);
}

inline RedisSubscriptions::Command RedisSubscriptions::want(const std::string& channel, bool wanted,
                                                            bool connected) {
    const bool had = wanted_.count(channel) != 0;
    if (had == wanted) return Command::none;
    if (wanted) wanted_.insert(channel);
    else wanted_.erase(channel);
    if (!connected) return Command::none;   // resubscribe() catches up on the next connection
    return wanted ? Command::subscribe : Command::unsubscribe;
}

inline std::vector<std::vector<std::string>> RedisSubscriptions::resubscribe(
    std::size_t batch) const {
    std::vector<std::vector<std::string>> out;
    if (batch == 0) batch = 1;
    for (const std::string& c : wanted_) {
        if (out.empty() || out.back().size() > batch) out.push_back({"SUBSCRIBE"});
        out.back().push_back(c);
    }
    return out;
}

inline bool append_command(std::string& out, const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (std::string_view a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    char* cmd = nullptr;
    const int n =
        redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (n < 0 || cmd == nullptr) return false;
    out.append(cmd, static_cast<std::size_t>(n));
    redisFreeCommand(cmd);
    return true;
}

}   // namespace detail
WISP_NAMESPACE_END
#endif   // WISP_REDIS
#pragma pop_macro("WISP_IN_HEADER")
