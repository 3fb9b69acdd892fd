// SPDX-License-Identifier: MIT
// Output queue, block pool, timer wheel and Date formatting: the engine's sans-IO parts.
#include <doctest/doctest.h>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/http_date.hpp>
#include <wisp/detail/timer_wheel.hpp>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

using namespace wisp::detail;

namespace {
std::string drain(OutQueue& q, std::size_t max_write) {
    std::string out;
    while (!q.empty()) {
        std::string chunk;
        q.gather(64, [&](const char* p, std::size_t n) { chunk.append(p, n); });
        const std::size_t w = std::min(max_write, chunk.size());
        out += chunk.substr(0, w);
        q.consume(w);
    }
    return out;
}
}   // namespace

TEST_CASE("out queue: small appends coalesce into one segment") {
    BlockPool pool;
    OutQueue q;
    for (int i = 0; i < 100; ++i) q.append("abc", &pool);
    std::size_t segments = q.gather(64, [](const char*, std::size_t) {});
    CHECK(segments == 1);
    CHECK(q.size() == 300);
    CHECK(drain(q, 1 << 20).size() == 300);
    CHECK(q.empty());
}

TEST_CASE("out queue: order is kept across owned and shared segments, with partial writes") {
    BlockPool pool;
    OutQueue q;
    SharedBuffer shared = SharedBuffer::copy_of("<shared>");
    std::string expect;
    for (int i = 0; i < 50; ++i) {
        const std::string s = "m" + std::to_string(i) + ";";
        q.append(s, &pool);
        expect += s;
        if (i % 7 == 0) {
            q.append_shared(shared);
            expect += "<shared>";
        }
    }
    for (std::size_t w : {std::size_t(1), std::size_t(3), std::size_t(64), std::size_t(100000)}) {
        OutQueue copy;
        copy.append(expect, &pool);
        CHECK(drain(copy, w) == expect);
    }
    CHECK(drain(q, 5) == expect);
}

TEST_CASE("out queue: a shared block is referenced, not copied, and freed after the last use") {
    SharedBuffer b = SharedBuffer::copy_of("payload");
    Block* raw = b.get();
    {
        OutQueue q1, q2;
        q1.append_shared(b);
        q2.append_shared(b);
        CHECK(raw->refs.load() == 3);
        const char* seen = nullptr;
        q1.gather(1, [&](const char* p, std::size_t) { seen = p; });
        CHECK(seen == b.data());   // the very same bytes
        q1.consume(3);
        CHECK(raw->refs.load() == 3);   // partially written: still referenced
        q1.consume(4);
        CHECK(raw->refs.load() == 2);
    }
    CHECK(raw->refs.load() == 1);
}

TEST_CASE("out queue: an emptied queue holds no memory; the pool reuses blocks") {
    BlockPool pool;
    OutQueue q;
    q.append(std::string(1000, 'x'), &pool);   // over a small block: a full block
    drain(q, 5000);
    CHECK(pool.free_blocks() == 1);
    q.append(std::string(1000, 'y'), &pool);
    CHECK(pool.free_blocks() == 0);   // the same block came back
    q.clear();
    CHECK(pool.free_blocks() == 1);
}

TEST_CASE("out queue: a short first write takes a small block, then writes grow into full ones") {
    BlockPool pool;
    OutQueue q;
    q.append(std::string(30, 'e'), &pool);   // one event to an idle stream: 512 bytes, not 16 KiB
    CHECK(q.size() == 30);
    drain(q, 1000);
    CHECK(pool.free_small_blocks() == 1);
    CHECK(pool.free_blocks() == 0);
    // Many small writes in one turn: the small block fills, then one full block takes the rest.
    std::string expect;
    for (int i = 0; i < 200; ++i) {
        const std::string m = "message " + std::to_string(i) + "\n";
        q.append(m, &pool);
        expect += m;
    }
    CHECK(pool.free_small_blocks() == 0);
    std::string got;
    q.gather(64, [&](const char* p, std::size_t n) { got.append(p, n); });
    CHECK(got == expect);
    drain(q, 100000);
    CHECK(pool.free_small_blocks() == 1);
    CHECK(pool.free_blocks() == 1);
}

TEST_CASE("out queue: appends larger than a block and a slow reader stay correct") {
    BlockPool pool;
    OutQueue q;
    std::string big(BlockPool::block_size * 3 + 17, 'q');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
    q.append(big, &pool);
    std::string expect = big;
    for (int i = 0; i < 200; ++i) {   // many segments written slowly: the list is compacted
        SharedBuffer s = SharedBuffer::copy_of(std::to_string(i));
        q.append_shared(s);
        expect += std::to_string(i);
    }
    CHECK(drain(q, 333) == expect);
}

TEST_CASE("timer wheel: expires in deadline order, lazily moves later deadlines") {
    TimerWheel w(8);
    WheelNode a, b, c;
    std::vector<WheelNode*> fired;
    auto fire = [&](WheelNode& n) { fired.push_back(&n); };
    w.schedule(a, 3);
    w.schedule(b, 5);
    w.schedule(c, 20);   // beyond one revolution of 8 slots
    w.advance(2, fire);
    CHECK(fired.empty());
    w.schedule(a, 6);   // later: lazy
    w.advance(5, fire);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] == &b);
    w.advance(6, fire);
    REQUIRE(fired.size() == 2);
    CHECK(fired[1] == &a);
    w.advance(19, fire);
    CHECK(fired.size() == 2);
    w.advance(20, fire);
    CHECK(fired.size() == 3);
    CHECK(w.empty());
}

TEST_CASE("timer wheel: earlier deadlines, cancel, and callbacks that touch other nodes") {
    TimerWheel w(4);
    WheelNode a, b, c;
    w.schedule(a, 10);
    w.schedule(a, 2);   // earlier: re-slotted at once
    w.schedule(b, 2);
    w.schedule(c, 2);
    CHECK(w.size() == 3);
    std::vector<WheelNode*> fired;
    w.advance(2, [&](WheelNode& n) {
        fired.push_back(&n);
        // The first node to expire cancels the two others, which share its slot and have not
        // been visited yet, and re-arms itself for the next tick.
        for (WheelNode* o : {&a, &b, &c})
            if (o != &n) w.cancel(*o);
        w.schedule(n, 3);
    });
    REQUIRE(fired.size() == 1);
    CHECK(w.size() == 1);
    WheelNode* first = fired[0];
    w.advance(3, [&](WheelNode& n) { fired.push_back(&n); });
    REQUIRE(fired.size() == 2);
    CHECK(fired[1] == first);
    CHECK(w.empty());
}

TEST_CASE("http date: IMF-fixdate for known instants") {
    char buf[29];
    auto fmt = [&](std::int64_t s) {
        format_http_date(s, buf);
        return std::string(buf, 29);
    };
    CHECK(fmt(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(fmt(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");   // RFC 9110's example
    CHECK(fmt(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(fmt(1767225599) == "Wed, 31 Dec 2025 23:59:59 GMT");
    CHECK(fmt(4102444800) == "Fri, 01 Jan 2100 00:00:00 GMT");
}

TEST_CASE("out queue: list nodes come from the pool and go back to it as segments are written") {
    BlockPool pool;
    OutQueue q(&pool);
    SharedBuffer shared = SharedBuffer::copy_of("publication");
    for (int i = 0; i < 10; ++i) q.append_shared(shared);   // ten segments, ten nodes
    CHECK(pool.free_nodes() == 0);
    CHECK(drain(q, 7) == [] {
        std::string s;
        for (int i = 0; i < 10; ++i) s += "publication";
        return s;
    }());
    CHECK(pool.free_nodes() == 10);   // every written segment's node is back
    // The steady state reuses them: a second turn takes nodes from the pool, not the heap.
    for (int i = 0; i < 10; ++i) q.append_shared(shared);
    CHECK(pool.free_nodes() == 0);
    q.clear();
    CHECK(pool.free_nodes() == 10);
    CHECK(q.empty());
    q.append("x", &pool);   // an owned block, then dropped: the queue holds nothing after
    CHECK(pool.free_nodes() == 9);
    CHECK(drain(q, 1) == "x");
    CHECK(pool.free_nodes() == 10);
    CHECK(pool.free_small_blocks() == 1);
}

TEST_CASE("out queue: a turn of fan-out to 10,000 subscribers keeps its nodes in the pool") {
    // 16 publications queued to each of 10,000 subscribers in one loop turn: 160,000 segments.
    // Every node must come back to the pool, or the next turn takes them from the heap again
    // (what made a delivery cost twice as much at 10,000 subscribers as at 1,000).
    BlockPool pool;
    SharedBuffer frame = SharedBuffer::copy_of("publication");
    std::deque<OutQueue> queues;
    for (int i = 0; i < 10000; ++i) queues.emplace_back(&pool);
    for (int turn = 0; turn < 2; ++turn) {
        for (int p = 0; p < 16; ++p)
            for (OutQueue& q : queues) q.append_shared(frame);
        CHECK(pool.free_nodes() == 0);   // the second turn took every node from the pool
        std::size_t written = 0;
        for (OutQueue& q : queues) written += drain(q, 1 << 20).size();
        CHECK(written == 10000u * 16 * 11);
        CHECK(pool.free_nodes() == 160000);
    }
    CHECK(BlockPool::keep_nodes >= 160000);
}

TEST_CASE("out queue: one consume gives every written node back at once, within the pool's cap") {
    BlockPool pool;
    OutQueue q(&pool);
    SharedBuffer shared = SharedBuffer::copy_of("abcd");
    for (int i = 0; i < 5; ++i) q.append_shared(shared);
    CHECK(shared.get()->refs.load() == 6);
    q.consume(10);   // two whole segments and half of the third
    CHECK(pool.free_nodes() == 2);
    CHECK(shared.get()->refs.load() == 4);
    CHECK(q.size() == 10);
    CHECK(drain(q, 64) == "cdabcdabcd");
    CHECK(shared.get()->refs.load() == 1);
    CHECK(pool.free_nodes() == 5);
    // More written nodes than the pool keeps (keep_nodes): the rest go back to the heap.
    for (std::size_t i = 0; i < BlockPool::keep_nodes + 100; ++i) q.append_shared(shared);
    CHECK(pool.free_nodes() == 0);
    q.consume(q.size());
    CHECK(q.empty());
    CHECK(pool.free_nodes() == BlockPool::keep_nodes);
    CHECK(shared.get()->refs.load() == 1);
    q.append("tail", &pool);   // the queue still works after an empty consume of everything
    CHECK(drain(q, 2) == "tail");
}

TEST_CASE("out queue: own() copies what still refers to a block, in place and in order") {
    BlockPool pool;
    OutQueue q(&pool);
    SharedBuffer recv = SharedBuffer::copy_of(std::string(40000, 'r'));   // a receive buffer
    SharedBuffer other = SharedBuffer::copy_of("other");
    q.append("head", &pool);
    q.append_shared(recv, 100, 30000);   // larger than a pooled block
    q.append_shared(other);
    q.append_shared(recv, 0, 10);
    std::string before;
    q.gather(64, [&](const char* p, std::size_t n) { before.append(p, n); });
    q.consume(10);   // the head and part of the first borrowed segment were written
    before.erase(0, 10);
    CHECK(recv.get()->refs.load() == 3);
    q.own(recv.get(), &pool);
    CHECK(recv.get()->refs.load() == 1);                  // the queue no longer refers to it
    CHECK(other.get()->refs.load() == 2);                 // other blocks are left as they are
    std::memset(recv.mutable_data(), 'x', recv.size());   // the receive buffer is reused
    CHECK(drain(q, 4096) == before);
}
