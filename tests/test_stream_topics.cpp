// SPDX-License-Identifier: MIT
// The topic names an event stream keeps (StreamTopics): one short name inline, more or longer
// ones on the heap, in the order they came.
#include <doctest/doctest.h>
#include <wisp/detail/stream_topics.hpp>

#include <string>

using wisp::detail::StreamTopics;

TEST_CASE("stream topics: 24 bytes; one name of up to 22 characters, then the heap") {
    CHECK(sizeof(StreamTopics) == 24);
    for (std::size_t n : {0, 1, 4, 21, 22, 23, 40}) {
        CAPTURE(n);
        const std::string name(n, 'x');
        StreamTopics t;
        CHECK(t.empty());
        CHECK_FALSE(t.contains(name));
        t.add(name);
        CHECK_FALSE(t.empty());
        CHECK(t.contains(name));
        CHECK_FALSE(t.contains(name + "y"));
        CHECK(t.back() == name);
        CHECK_FALSE(t.remove(name + "y"));
        CHECK(t.remove(name));
        CHECK(t.empty());
        CHECK_FALSE(t.remove(name));
        t.add(name);   // and again after it was empty
        CHECK(t.back() == name);
    }
}

TEST_CASE("stream topics: several names keep their order; removing any leaves the others") {
    StreamTopics t;
    t.add("chat");
    t.add("a-topic-name-longer-than-twenty-two");
    t.add("");
    t.add("news");
    CHECK(t.back() == "news");
    CHECK(t.contains("chat"));
    CHECK(t.contains(""));
    CHECK(t.remove("a-topic-name-longer-than-twenty-two"));
    CHECK_FALSE(t.contains("a-topic-name-longer-than-twenty-two"));
    CHECK(t.remove("news"));
    CHECK(t.back() == "");
    CHECK(t.remove(""));
    CHECK(t.back() == "chat");
    CHECK(t.remove("chat"));
    CHECK(t.empty());
    // Emptied one by one from the back, as a stream leaves its topics when it ends.
    for (const char* n : {"one", "two", "three"}) t.add(n);
    std::string left;
    while (!t.empty()) {
        const std::string b = t.back();
        left += b + " ";
        CHECK(t.remove(b));
    }
    CHECK(left == "three two one ");
}
