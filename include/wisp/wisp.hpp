// SPDX-License-Identifier: MIT
// wisp/wisp.hpp — umbrella: every public header, nothing else.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/options.hpp>
#include <wisp/router.hpp>
#include <wisp/request.hpp>
#include <wisp/static_files.hpp>
#include <wisp/websocket.hpp>
#include <wisp/event_stream.hpp>
#include <wisp/tls.hpp>
#include <wisp/app.hpp>
#include <wisp/redis.hpp>   // RedisBridge; works only with WISP_REDIS
#include <wisp/json.hpp>    // empty unless WISP_JSON is defined
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
