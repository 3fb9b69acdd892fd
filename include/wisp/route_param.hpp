// SPDX-License-Identifier: MIT
// wisp/route_param.hpp — RouteParam and RouteStatus: what matching a route gives.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <string>
#include <string_view>

WISP_NAMESPACE_BEGIN

/// One value captured by a route pattern.
struct RouteParam {
    std::string_view name;   ///< router-owned; valid as long as the router (moves keep it valid)
    std::string value;       ///< percent-decoded ("%2F" gives '/', '+' stays '+')
    std::string_view raw;    ///< still encoded; views into the path given to match()
};

/// The outcome of BasicRouter::match.
enum class RouteStatus {
    found,                ///< `target` is set; params are filled
    not_found,            ///< no route matches the path: 404
    method_not_allowed,   ///< routes match the path, none the method: 405 with `allow`
    bad_request,          ///< the chosen route captured a segment with a malformed %-escape: 400
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
