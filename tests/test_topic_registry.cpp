// SPDX-License-Identifier: MIT
// The topic registry without sockets: one loop's subscriber lists (LoopTopics), the app-wide
// counts (TopicCounts) and publications framed once (Publication).
#include <doctest/doctest.h>
#include <wisp/detail/topics.hpp>

#include <new>
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

namespace {

/// Subscribers that record_held what they are given, in the order the registry gives it.
struct HeldLog {
    std::vector<std::string> log;   // "<subscriber>:<payload>"
    LoopTopics* topics = nullptr;
    int leave_at = -1;   // the subscriber that leaves every topic when given "leave"
};
HeldLog held_log;
char held_slots[8];
void record_held(void* self, const wisp::detail::PublicationRun& run, bool) {
    const int i = static_cast<int>(static_cast<char*>(self) - held_slots);
    for (std::size_t k = 0; k < run.size(); ++k) {
        const Publication& p = run[k];
        held_log.log.push_back(std::to_string(i) + ":" + std::string(p.payload()));
        if (i == held_log.leave_at && p.payload() == "leave") {
            held_log.topics->remove("a", TopicSub{self, &record_held, false});
            held_log.topics->remove("b", TopicSub{self, &record_held, false});
            return;   // closed: what follows is not for it (as a session's delivery does)
        }
    }
}
TopicSub held_sub(int i) { return TopicSub{&held_slots[i], &record_held, false}; }
std::shared_ptr<const Publication> held_pub(const char* topic, const char* text) {
    return Publication::make(topic, text, false);
}
/// What subscriber `i` was given, in order.
std::vector<std::string> held_given(int i) {
    std::vector<std::string> out;
    const std::string prefix = std::to_string(i) + ":";
    for (const std::string& e : held_log.log)
        if (e.compare(0, prefix.size(), prefix) == 0) out.push_back(e.substr(prefix.size()));
    return out;
}

/// A hold's end, as Loop::PublicationHold does it: the outermost delivers what is held.
void end_hold(LoopTopics& t) {
    if (t.release()) t.settle();
}

}   // namespace

TEST_CASE("topic registry: held publications go out together, each subscriber's in order") {
    LoopTopics t;
    held_log = HeldLog{};
    held_log.topics = &t;
    for (int i = 0; i < 3; ++i) t.add("a", held_sub(i));
    t.add("b", held_sub(1));
    t.hold();
    t.publish(held_pub("a", "1"),
              held_sub(0).id());   // held_sub(0) published it: not for held_sub(0)
    t.publish(held_pub("a", "2"), nullptr);
    CHECK(held_log.log.empty());              // held
    t.publish(held_pub("b", "3"), nullptr);   // another topic: the run to "a" goes first
    // The run to "a" was walked subscriber by subscriber, in subscription order.
    CHECK(held_log.log == std::vector<std::string>{"0:2", "1:1", "1:2", "2:1", "2:2"});
    t.publish(held_pub("a", "4"), nullptr);
    t.settle();   // what a send or a query does first (Loop::settle)
    CHECK(held_given(1) == std::vector<std::string>{"1", "2", "3", "4"});
    t.publish(held_pub("a", "5"), nullptr);
    t.add("a", held_sub(3));   // a subscription delivers what was held first: "5" is not for it
    t.publish(held_pub("a", "6"), nullptr);
    end_hold(t);
    CHECK(held_given(0) == std::vector<std::string>{"2", "4", "5", "6"});
    CHECK(held_given(1) == std::vector<std::string>{"1", "2", "3", "4", "5", "6"});
    CHECK(held_given(2) == std::vector<std::string>{"1", "2", "4", "5", "6"});
    CHECK(held_given(3) == std::vector<std::string>{"6"});
    // Without a hold, a publication goes out at once.
    held_log.log.clear();
    t.publish(held_pub("b", "7"), nullptr);
    CHECK(held_log.log == std::vector<std::string>{"1:7"});
}

TEST_CASE("topic registry: a subscriber that leaves during a held run gets nothing more of it") {
    LoopTopics t;
    held_log = HeldLog{};
    held_log.topics = &t;
    held_log.leave_at = 1;
    for (int i = 0; i < 3; ++i) t.add("a", held_sub(i));
    t.add("b", held_sub(1));
    t.hold();
    t.publish(held_pub("a", "1"), nullptr);
    t.publish(held_pub("a", "leave"), nullptr);   // held_sub(1) is closed by this delivery
    t.publish(held_pub("a", "3"), nullptr);
    end_hold(t);
    CHECK(held_given(0) == std::vector<std::string>{"1", "leave", "3"});
    CHECK(held_given(1) == std::vector<std::string>{"1", "leave"});
    CHECK(held_given(2) == std::vector<std::string>{"1", "leave", "3"});
    CHECK(t.find("b") == nullptr);   // swept after the walk
    CHECK(ids(t, "a") == std::vector<const void*>{held_sub(0).id(), held_sub(2).id()});
}

TEST_CASE("topic registry: a held run is delivered once it reaches max_held") {
    LoopTopics t;
    held_log = HeldLog{};
    t.add("a", held_sub(0));
    t.hold();
    for (std::size_t i = 0; i < LoopTopics::max_held; ++i) t.publish(held_pub("a", "x"), nullptr);
    CHECK(held_log.log.empty());
    t.publish(held_pub("a", "y"), nullptr);   // the 65th: the first 64 go
    CHECK(held_log.log.size() == LoopTopics::max_held);
    end_hold(t);
    CHECK(held_log.log.size() == LoopTopics::max_held + 1);
    CHECK(held_log.log.back() == "0:y");
    // A publication to a topic nobody here follows is not held at all.
    t.hold();
    t.publish(held_pub("none", "z"), nullptr);
    CHECK_FALSE(t.holding());
    end_hold(t);
}

#ifndef WISP_NO_EXCEPTIONS
namespace {
/// A subscriber whose queue cannot allocate: its delivery throws, as SendQueue would.
void out_of_memory(void*, const wisp::detail::PublicationRun&, bool) { throw std::bad_alloc(); }
}   // namespace

TEST_CASE("topic registry: a held delivery that cannot allocate is counted, the walk goes on") {
    LoopTopics t;
    held_log = HeldLog{};
    char failing = 0;
    t.add("a", held_sub(0));
    t.add("a", TopicSub{&failing, &out_of_memory, false});
    t.add("a", held_sub(2));
    t.hold();
    t.publish(held_pub("a", "1"), nullptr);
    t.publish(held_pub("a", "2"), nullptr);
    // The hold's end (a destructor) and settle() (noexcept queries) must not throw.
    CHECK_NOTHROW(end_hold(t));
    CHECK(held_given(0) == std::vector<std::string>{"1", "2"});
    CHECK(held_given(2) == std::vector<std::string>{"1", "2"});   // after the failing one
    CHECK(t.take_failed() == 1);   // one run, one subscriber: the loop reports it
    CHECK(t.take_failed() == 0);
    CHECK_FALSE(t.holding());
    // Not held, a publication's failure reaches its publisher, as before the holds.
    CHECK_THROWS_AS(t.publish(held_pub("a", "3"), nullptr), std::bad_alloc);
}
#endif

TEST_CASE("publication run: frames and events joined once, as the publications' own bytes") {
    auto a = Publication::make("t", "one", false);
    auto b = Publication::make("t", "two\nlines", false);
    const Publication* items[] = {a.get(), b.get()};
    const wisp::detail::PublicationRun run(items, 2);
    CHECK(run.size() == 2);
    CHECK(run.plain());
    CHECK(run.text());
    CHECK(run.ws_bytes_before_last() == a->ws_frame.size());
    CHECK(run.ws_frames().view() ==
          std::string(a->ws_frame.view()) + std::string(b->ws_frame.view()));
    CHECK(run.ws_frames().get() == run.ws_frames().get());   // made once
    for (bool named : {false, true})
        for (bool chunked : {false, true})
            CHECK(run.sse_events(named, chunked).view() ==
                  std::string(a->sse(named, chunked).view()) +
                      std::string(b->sse(named, chunked).view()));
    // A lone publication is its own frame; a run past max_joined is not joined.
    const wisp::detail::PublicationRun lone(items, 1);
    CHECK(lone.ws_frames().get() == a->ws_frame.get());
    CHECK(lone.ws_bytes_before_last() == 0);
    auto big =
        Publication::make("t", std::string(wisp::detail::PublicationRun::max_joined, 'x'), true);
    const Publication* two[] = {a.get(), big.get()};
    const wisp::detail::PublicationRun long_run(two, 2);
    CHECK_FALSE(long_run.text());
    CHECK_FALSE(long_run.ws_frames());
}
