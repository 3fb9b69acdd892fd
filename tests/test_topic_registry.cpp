// SPDX-License-Identifier: MIT
// The topic registry without sockets: one loop's subscriber lists (LoopTopics), the app-wide
// counts (TopicCounts) and publications framed once (Publication).
#include <doctest/doctest.h>
#include <wisp/detail/topics.hpp>

#include <string>
#include <thread>
#include <vector>

using wisp::detail::LoopTopics;
using wisp::detail::Publication;
using wisp::detail::TopicCounts;
using wisp::detail::TopicSub;

namespace {

// Distinct subscriber identities; the registry never dereferences them nor calls their
// delivery function.
TopicSub ws(int i) {
    static char slots[64];
    return TopicSub{&slots[i], nullptr, false};
}
TopicSub stream(int i, bool named = false) {
    static char slots[64];
    return TopicSub{&slots[i], nullptr, named};
}

std::vector<const void*> ids(const LoopTopics& t, const std::string& topic) {
    std::vector<const void*> out;
    if (const auto* v = t.find(topic))
        for (const TopicSub& s : *v) out.push_back(s.id());
    return out;
}

}   // namespace

TEST_CASE("topic registry: subscribers are kept once each, in subscription order") {
    LoopTopics t;
    CHECK(t.find("chat") == nullptr);
    CHECK(t.add("chat", ws(0)));
    CHECK(t.add("chat", stream(1)));
    CHECK(t.add("chat", ws(2)));
    CHECK_FALSE(t.add("chat", ws(0)));   // already there
    CHECK(t.add("news", ws(0)));         // another topic is another subscription
    CHECK(ids(t, "chat") == std::vector<const void*>{ws(0).id(), stream(1).id(), ws(2).id()});
    CHECK(ids(t, "news") == std::vector<const void*>{ws(0).id()});
}

TEST_CASE("topic registry: removal keeps the others' order and drops empty topics") {
    LoopTopics t;
    for (int i = 0; i < 5; ++i) t.add("chat", ws(i));
    CHECK(t.remove("chat", ws(2)));
    CHECK_FALSE(t.remove("chat", ws(2)));       // not twice
    CHECK_FALSE(t.remove("chat", stream(9)));   // never subscribed
    CHECK_FALSE(t.remove("none", ws(0)));       // unknown topic
    CHECK(ids(t, "chat") ==
          std::vector<const void*>{ws(0).id(), ws(1).id(), ws(3).id(), ws(4).id()});
    CHECK(t.add("chat", ws(2)));   // back in, now last
    CHECK(ids(t, "chat").back() == ws(2).id());
    for (int i = 0; i < 5; ++i) CHECK(t.remove("chat", ws(i)));
    CHECK(t.find("chat") == nullptr);   // nothing left behind for a topic nobody holds
}

TEST_CASE("topic registry: a stream's subscription remembers whether its events are named") {
    LoopTopics t;
    t.add("chat", stream(3, true));
    t.add("chat", stream(4, false));
    const auto* v = t.find("chat");
    REQUIRE(v);
    CHECK((*v)[0].named);
    CHECK_FALSE((*v)[1].named);
}

TEST_CASE("topic registry: app-wide counts go up and down and forget empty topics") {
    TopicCounts c;
    CHECK(c.get("chat") == 0);
    c.add("chat", +1);
    c.add("chat", +1);
    c.add("news", +1);
    CHECK(c.get("chat") == 2);
    c.add("chat", -1);
    c.add("chat", -1);
    CHECK(c.get("chat") == 0);
    CHECK(c.get("news") == 1);
}

TEST_CASE("topic registry: counts from several threads add up") {
    TopicCounts c;
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&c] {
            for (int i = 0; i < 10000; ++i) {
                c.add("chat", +1);
                if (i % 2) c.add("chat", -1);
            }
        });
    for (auto& th : threads) th.join();
    CHECK(c.get("chat") == 4 * 5000);
}

TEST_CASE("publication: framed once for WebSocket; SSE forms built once on demand, any thread") {
    auto p = Publication::make("chat", "a\nb", false);
    CHECK(p->ws_frame.view() == std::string_view("\x81\x03"
                                                 "a\nb",
                                                 5));
    CHECK(p->payload() == "a\nb");
    std::vector<const char*> seen(4);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&, k] { seen[k] = p->sse(true, true).data(); });
    for (auto& th : threads) th.join();
    for (const char* s : seen) CHECK(s == seen[0]);   // one block, whoever asked first
    CHECK(p->sse(true, false).view() == "event: chat\ndata: a\ndata: b\n\n");
    CHECK(p->sse(false, false).view() == "data: a\ndata: b\n\n");
    CHECK(p->sse(false, true).view() == "11\r\ndata: a\ndata: b\n\n\r\n");

    auto big = Publication::make("t", std::string(70000, 'x'), true);
    CHECK(big->binary);
    CHECK(big->ws_frame.size() == 70000 + 10);   // 127 + 64-bit length
    CHECK(static_cast<unsigned char>(big->ws_frame.data()[0]) == 0x82);
    CHECK(big->payload().size() == 70000);
}

TEST_CASE("topic registry: a walk survives its subscribers leaving and arriving") {
    LoopTopics t;
    for (int i = 0; i < 6; ++i) t.add("chat", ws(i));
    t.add("news", ws(1));
    std::vector<const void*> seen;
    t.for_each("chat", [&](const TopicSub& s) {
        seen.push_back(s.id());
        if (s.id() == ws(1).id()) {   // ws(1) is closed by its delivery: it leaves everything
            CHECK(t.remove("chat", ws(1)));
            CHECK(t.remove("news", ws(1)));
            CHECK(t.remove("chat", ws(3)));   // and takes a later one with it
            CHECK_FALSE(t.remove("chat", ws(3)));
            CHECK(t.add("chat", ws(9)));   // a newcomer waits for the next publication
            CHECK(t.add("chat", ws(3)));   // back, at the end
        }
    });
    CHECK(seen ==
          std::vector<const void*>{ws(0).id(), ws(1).id(), ws(2).id(), ws(4).id(), ws(5).id()});
    // After the walk the holes are gone and the order is the subscription order.
    CHECK(ids(t, "chat") == std::vector<const void*>{ws(0).id(), ws(2).id(), ws(4).id(), ws(5).id(),
                                                     ws(9).id(), ws(3).id()});
    CHECK(t.find("news") == nullptr);
}

TEST_CASE("topic registry: the last subscriber leaving during a walk removes the topic after it") {
    LoopTopics t;
    t.add("chat", ws(0));
    int calls = 0;
    t.for_each("chat", [&](const TopicSub& s) {
        ++calls;
        CHECK(t.remove("chat", s));
        t.for_each("chat", [&](const TopicSub&) { ++calls; });   // nested: sees the hole, skips it
        CHECK(t.find("chat") != nullptr);                        // still there, with its hole
    });
    CHECK(calls == 1);
    CHECK(t.find("chat") == nullptr);
    t.for_each("none", [&](const TopicSub&) { ++calls; });
    CHECK(calls == 1);
}
