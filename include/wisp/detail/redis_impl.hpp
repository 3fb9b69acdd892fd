// SPDX-License-Identifier: MIT
// wisp/detail/redis_impl.hpp — RedisBridge's members: the URL checked, the host resolved and the
// link made (detail/redis_link.hpp), or the reason why not.
// Must not know: the App (App::bridge takes the link through BridgeAccess).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/redis.hpp>
#include <wisp/redis_options.hpp>
#include <wisp/detail/bridge.hpp>
#include <wisp/detail/redis_link.hpp>
#include <wisp/detail/redis_protocol.hpp>
#include <wisp/detail/redis_socket.hpp>
#include <wisp/detail/redis_topics.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

WISP_NAMESPACE_BEGIN

#ifdef WISP_WITH_ENGINE   // what compile-once files call, defined once (config.hpp)
WISP_DEF RedisBridge::RedisBridge(std::string_view url, RedisOptions options) {
#ifdef WISP_REDIS
    std::string why;
    std::optional<detail::RedisUrl> u = detail::parse_redis_url(url, why);
    if (!u) {
        error_ = make_error_code(errc::redis_url);
        error_detail_ = why;
        return;
    }
    if (options.reconnect_min.count() <= 0 || options.reconnect_max < options.reconnect_min ||
        options.connect_timeout.count() <= 0 || options.max_pending_bytes == 0) {
        error_ = make_error_code(errc::invalid_argument);
        error_detail_ =
            "RedisOptions: reconnect_min and connect_timeout must be positive, "
            "reconnect_max at least reconnect_min, max_pending_bytes not 0";
        return;
    }
    std::optional<detail::RedisAddress> address =
        detail::resolve_redis_address(u->host, u->port, why);
    if (!address) {
        error_ = make_error_code(errc::redis_url);
        error_detail_ = "redis URL: cannot resolve host '" + u->host + "': " + why;
        return;
    }
    redis_ = std::make_shared<detail::RedisLink>(std::move(*u), *address, std::move(options));
    link_ = redis_;
#else
    (void)url;
    (void)options;
    error_ = make_error_code(errc::redis_unavailable);
    error_detail_ =
        "RedisBridge: wisp was built without WISP_REDIS (define it and link "
        "hiredis; Debian: libhiredis-dev)";
#endif
}

WISP_DEF RedisStats RedisBridge::stats() const {
#ifdef WISP_REDIS
    if (redis_) return redis_->stats();
#endif
    return {};
}

WISP_DEF std::string RedisBridge::instance() const {
#ifdef WISP_REDIS
    if (redis_) return redis_->instance();
#endif
    return {};
}
#endif   // WISP_WITH_ENGINE

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
