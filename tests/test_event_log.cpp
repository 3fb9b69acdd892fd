// SPDX-License-Identifier: MIT
// Retained topics without sockets: event ids (`<ms>-<seq>`: written, parsed, the next one from
// the clock) and one topic's ring (its bound, what a resuming stream is given).
#include <doctest/doctest.h>
#include <wisp/detail/event_log.hpp>
#include <wisp/detail/topics.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace wisp::detail;

TEST_CASE("event id: written as <ms>-<seq>, parsed back, anything else refused") {
    CHECK(EventId{1733450000123ULL, 7}.text() == "1733450000123-7");
    CHECK(EventId{0, 0}.text() == "0-0");
    CHECK(EventId{UINT64_MAX, UINT64_MAX}.text() == "18446744073709551615-18446744073709551615");
    for (const EventId id : {EventId{1, 0}, EventId{42, 3}, EventId{UINT64_MAX, UINT64_MAX}})
        CHECK(EventId::parse(id.text()) == id);
    CHECK(EventId::parse("17") == EventId{17, 0});   // a Redis id may omit its sequence
    for (const char* bad :
         {"", "-", "1-", "-1", "1-2-3", "a-1", "1-b", " 1-2", "1-2 ", "+1-2",
          "18446744073709551616-0", "1-18446744073709551616", "000000000000000000001-0", "1.5"})
        CHECK_MESSAGE(!EventId::parse(bad), bad);
}

TEST_CASE("event id: ordered by ms then seq; next() grows even when the clock steps back") {
    CHECK(EventId{1, 9} < EventId{2, 0});
    CHECK(EventId{2, 0} < EventId{2, 1});
    CHECK(EventId{2, 1} <= EventId{2, 1});
    CHECK_FALSE(EventId{2, 1} < EventId{2, 1});
    CHECK(EventId{}.empty());
    CHECK(EventId::next(EventId{}, 1000) == EventId{1000, 0});
    CHECK(EventId::next(EventId{1000, 0}, 1000) == EventId{1000, 1});   // same millisecond
    CHECK(EventId::next(EventId{1000, 1}, 1001) == EventId{1001, 0});
    CHECK(EventId::next(EventId{1000, 1}, 900) == EventId{1000, 2});   // stepped back
    CHECK(event_clock_ms() > 1'600'000'000'000ULL);                    // the wall clock, after 2020
}

namespace {
std::vector<std::string> replayed(const EventLog& log, EventId after, EventId* last = nullptr) {
    std::vector<std::string> out;
    const EventId l = log.replay(after, [&out](const std::shared_ptr<const Publication>& p) {
        out.emplace_back(p->payload());
    });
    if (last) *last = l;
    return out;
}
}   // namespace

TEST_CASE("event log: keeps the last N; replays what came after an id, oldest first") {
    EventLog log(3);
    CHECK(log.capacity() == 3);
    std::vector<EventId> ids;
    std::uint64_t now = 5000;
    for (const char* d : {"a", "b", "c", "d", "e"}) {
        auto lock = log.lock();
        const EventId id = log.next_id(now);
        now += (ids.size() % 2);   // two in the same millisecond, then the next
        log.append(Publication::make("t", d, false, true, false, id), id);
        ids.push_back(id);
    }
    CHECK(log.size() == 3);
    for (std::size_t i = 1; i < ids.size(); ++i) CHECK(ids[i - 1] < ids[i]);
    EventId last;
    CHECK(replayed(log, ids[1], &last) == std::vector<std::string>{"c", "d", "e"});
    CHECK(last == ids[4]);
    CHECK(replayed(log, ids[2]) == std::vector<std::string>{"d", "e"});
    // Older than the oldest kept: everything kept (what fell out is gone).
    CHECK(replayed(log, EventId{1, 0}) == std::vector<std::string>{"c", "d", "e"});
    // The newest, or later: nothing, and `last` stays where the stream is.
    CHECK(replayed(log, ids[4], &last).empty());
    CHECK(last == ids[4]);
    CHECK(replayed(log, EventId{ids[4].ms + 1, 0}, &last).empty());
    CHECK(last == EventId{ids[4].ms + 1, 0});
    CHECK(EventLog(0).capacity() == 1);
}

TEST_CASE("event log: a retained publication's SSE events carry its id") {
    auto p = Publication::make("news", "hi", false, true, false, EventId{17, 2});
    CHECK(p->sse(false, false).view() == "id: 17-2\ndata: hi\n\n");
    CHECK(p->sse(true, false).view() == "event: news\nid: 17-2\ndata: hi\n\n");
    CHECK(p->sse(false, true).view() == "13\r\nid: 17-2\ndata: hi\n\n\r\n");
    auto plain = Publication::make("news", "hi", false);
    CHECK(plain->sse(false, false).view() == "data: hi\n\n");
}
