// SPDX-License-Identifier: MIT
// wisp/detail/engine.hpp — every definition the public headers declare: the engine (loops,
// connections, transports, sessions) and the members of App, Request, Peer, EventStream and
// RedisBridge that reach it.
// Public headers include this at their end, from the outermost wisp header of a translation
// unit only (see WISP_IN_HEADER in config.hpp), so each of them compiles and links on its own;
// in compile-once mode only the file with WISP_IMPLEMENTATION does.
#pragma once

#include <wisp/config.hpp>
#include <wisp/detail/app_impl.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/deferred.hpp>
#include <wisp/detail/event_stream_impl.hpp>
#include <wisp/detail/handles.hpp>
#include <wisp/detail/http_session.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/loop_impl.hpp>
#include <wisp/detail/redis_impl.hpp>
#include <wisp/detail/socket_transport.hpp>
#include <wisp/detail/static_files_impl.hpp>
#include <wisp/detail/stream_session.hpp>
#include <wisp/detail/stream_state.hpp>
#include <wisp/detail/websocket_impl.hpp>
#include <wisp/detail/ws_request.hpp>
#include <wisp/detail/ws_session.hpp>
#include <wisp/detail/ws_topics.hpp>
#include <wisp/detail/ws_upgrade.hpp>
