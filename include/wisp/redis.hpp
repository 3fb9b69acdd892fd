// SPDX-License-Identifier: MIT
// wisp/redis.hpp — RedisBridge: an App's topics shared with other processes through Redis
// pub/sub (CrossWS's sync backplane, on a proven broker).
// Owns: the handle a user makes and passes to App::bridge, its setup errors, its counters.
// Must not know: hiredis and sockets (detail/redis_link.hpp); declared with or without
// WISP_REDIS, so code that names it builds either way (App::bridge then reports
// errc::redis_unavailable).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/redis_options.hpp>
#include <wisp/detail/bridge.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

WISP_NAMESPACE_BEGIN

namespace detail {
class RedisLink;
}

/// Every topic publication of the App it is given to (app.publish_*, peer.publish_*, any
/// thread, WebSocket peers and event streams alike) also goes to Redis on channel
/// `channel_prefix + topic`, and what other instances publish there reaches this App's
/// subscribers through the normal fan-out (with its type; the publishing peer is skipped only
/// on its own instance, as in one process). An instance SUBSCRIBEs to a channel only while
/// it has subscribers to the topic, and never delivers its own publication twice.
///
///     wisp::RedisBridge redis("redis://:secret@127.0.0.1:6379");
///     if (auto ec = app.bridge(redis)) return fail(redis.error_detail());
///     app.listen(3000); app.run();      // redis.stats() from any thread
///
/// Delivery is at most once, as Redis pub/sub's: what is published while Redis is away or
/// while a connection is being replaced may not cross (it is counted in
/// RedisStats::dropped and logged through App::on_error, errc::redis_connection), and a
/// subscriber instance that falls too far behind is disconnected by Redis (its
/// client-output-buffer-limit) and reconnects. Local delivery never waits for Redis.
/// Redis I/O runs on the App's first I/O thread, non-blocking, no thread of its own.
/// Errors: a bad URL or a host that does not resolve is found here (error(), and
/// App::bridge and listen() return it); Redis down at start is retried with backoff; AUTH
/// rejected goes to App::on_error as errc::redis_auth and the bridge stops (the app serves
/// on, alone).
/// Lifetime: a cheap handle; copies refer to the same bridge; it may outlive the App.
class RedisBridge {
public:
    /// `url`: `redis://[[user]:password@]host[:port][/db]` (port 6379 by default). The host
    /// is resolved now (a blocking lookup on the calling thread, before run()).
    explicit RedisBridge(std::string_view url, RedisOptions options = {});

    /// The counters so far. Thread: any.
    RedisStats stats() const;
    /// This process's id in the envelopes it publishes (16 hex digits; "" without a bridge).
    std::string instance() const;
    /// What went wrong at setup (errc::redis_url, errc::invalid_argument,
    /// errc::redis_unavailable), or nothing.
    std::error_code error() const noexcept { return error_; }
    /// The setup error in words ("redis URL: the port must be a number from 1 to 65535").
    const std::string& error_detail() const noexcept { return error_detail_; }

private:
    friend struct detail::BridgeAccess;
    std::shared_ptr<detail::RedisLink> redis_;
    std::shared_ptr<detail::Bridge> link_;   ///< redis_, for App::bridge
    std::error_code error_;
    std::string error_detail_;
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
