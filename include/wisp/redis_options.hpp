// SPDX-License-Identifier: MIT
// wisp/redis_options.hpp — RedisOptions and RedisStats: what a user sets and reads of the
// Redis bridge (<wisp/redis.hpp>).
// Owns: the bridge's limits and timeouts with their defaults and reasons; its counters.
// Must not know: hiredis, sockets (plain data, declared with or without WISP_REDIS).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

WISP_NAMESPACE_BEGIN

/// Settings of a RedisBridge. Every field has a default, so `RedisOptions{}` works.
struct RedisOptions {
    /// Topic `t` travels on channel `channel_prefix + t`: apps sharing one Redis stay apart by
    /// prefix, and every instance of one app must use the same.
    std::string channel_prefix = "wisp:";
    /// Reconnecting: the first retry waits about this long, each failure in a row doubles it
    /// up to reconnect_max; half of each wait is random, so instances do not return in step.
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{5'000};
    /// A connection attempt that has not connected by then fails (and is retried).
    std::chrono::milliseconds connect_timeout{2'000};
    /// Publications waiting for Redis (disconnected, or Redis slower than the app): past this
    /// many bytes of commands, more are dropped and counted (RedisStats::dropped) instead of
    /// growing memory without bound.
    std::size_t max_pending_bytes = 8 * 1024 * 1024;
    /// Errors Redis answers (a PUBLISH or subscription refused: a full Redis, an ACL that
    /// forbids it) are logged at most once per this interval; the next line says how many
    /// were not. A refusal per publication must not become a log line per publication.
    std::chrono::milliseconds error_log_interval{1'000};
};

/// What a RedisBridge has done since it was made; read with RedisBridge::stats() (any thread).
struct RedisStats {
    std::uint64_t published = 0;    ///< publications Redis acknowledged (PUBLISH replies)
    std::uint64_t received = 0;     ///< publications of other instances delivered here
    std::uint64_t dropped = 0;      ///< publications that could not cross (see RedisBridge)
    std::uint64_t reconnects = 0;   ///< connections made again after one was lost or refused
    std::uint64_t rejected = 0;     ///< messages on our channels that were not wisp envelopes
    bool connected = false;         ///< both connections (subscribe, publish) are up now
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
