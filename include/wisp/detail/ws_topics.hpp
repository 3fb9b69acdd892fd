// SPDX-License-Identifier: MIT
// wisp/detail/ws_topics.hpp — a peer's topics: subscribe, unsubscribe, and leaving them all at
// close, which the session reaches through WsTopics::leave, set here: a program whose peers
// never subscribe does not compile unsubscribing (issue 25).
// Owns: the peer's list of topics (WsTopics, in its extras). Must not know: frames, sockets.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/connection.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/ws_extras.hpp>
#include <wisp/detail/ws_session.hpp>
#include <wisp/detail/owned.hpp>
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

inline bool WsSession::subscribe(std::string_view topic) {
    if (close_reported_ || conn_.closing()) return false;
    const auto& mine = topics();
    if (std::find(mine.begin(), mine.end(), topic) != mine.end()) return false;
    const std::string key = topic_key(topic);
    if (!conn_.loop().topics.add(key, TopicSub{this, &WsSession::deliver, false})) return false;
    conn_.loop().core.count_subscriber(key, +1, &conn_.loop());
    WsExtras& x = extras();
    if (!x.topics.get()) {
        x.topics = make_owned<WsTopics>();
        x.peer_topics()->leave = [](WsSession& s) {
            while (!s.topics().empty()) s.unsubscribe(std::string(s.topics().back()));
        };
    }
    x.peer_topics()->names.emplace_back(topic);
    return true;
}

inline bool WsSession::unsubscribe(std::string_view topic) {
    if (!extras_ || !extras_->topics.get()) return false;
    std::vector<std::string>& mine = extras_->peer_topics()->names;
    auto it = std::find(mine.begin(), mine.end(), topic);
    if (it == mine.end()) return false;
    const std::string key = topic_key(*it);
    conn_.loop().topics.remove(key, TopicSub{this, &WsSession::deliver, false});
    conn_.loop().core.count_subscriber(key, -1, &conn_.loop());
    mine.erase(it);
    return true;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
