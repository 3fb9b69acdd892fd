// SPDX-License-Identifier: MIT
// The Redis bridge without sockets (WISP_REDIS): the redis:// URL, the envelope, channel
// names, the reconnect backoff, the subscription bookkeeping, RESP through hiredis, and the
// RedisOptions defaults.
#include <doctest/doctest.h>
#include <wisp/detail/redis_protocol.hpp>
#include <wisp/redis_options.hpp>

#include <chrono>
#include <string>
#include <vector>

#ifdef WISP_REDIS
using namespace wisp::detail;
using std::chrono::milliseconds;

namespace {
std::optional<RedisUrl> url(std::string_view u, std::string* why = nullptr) {
    std::string w;
    auto r = parse_redis_url(u, w);
    if (why) *why = w;
    return r;
}
std::string why_of(std::string_view u) {
    std::string w;
    CHECK_FALSE(parse_redis_url(u, w).has_value());
    return w;
}
}   // namespace

TEST_CASE("redis url: host and port, default port 6379, no password, db 0") {
    auto u = url("redis://127.0.0.1:7000");
    REQUIRE(u);
    CHECK(u->host == "127.0.0.1");
    CHECK(u->port == 7000);
    CHECK(u->password.empty());
    CHECK(u->user.empty());
    CHECK(u->db == 0);
    auto d = url("redis://cache.internal");
    REQUIRE(d);
    CHECK(d->host == "cache.internal");
    CHECK(d->port == 6379);
}

TEST_CASE("redis url: :password@, user:password@ (percent-decoded), /db") {
    auto u = url("redis://:s3cret@localhost:6380/2");
    REQUIRE(u);
    CHECK(u->password == "s3cret");
    CHECK(u->user.empty());
    CHECK(u->host == "localhost");
    CHECK(u->port == 6380);
    CHECK(u->db == 2);
    auto a = url("redis://app:p%40ss%3Aword@10.0.0.1");
    REQUIRE(a);
    CHECK(a->user == "app");
    CHECK(a->password == "p@ss:word");
    CHECK(a->host == "10.0.0.1");
    auto at = url("redis://:a@b@h:1");   // the last '@' ends the credentials
    REQUIRE(at);
    CHECK(at->password == "a@b");
    CHECK(at->host == "h");
}

TEST_CASE("redis url: an IPv6 host in brackets") {
    auto u = url("redis://[::1]:6390");
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->port == 6390);
}

TEST_CASE("redis url: bad URLs are refused with a sentence that never repeats the password") {
    CHECK(why_of("http://localhost:6379").find("redis://") != std::string::npos);
    CHECK(why_of("").find("redis://") != std::string::npos);
    CHECK(why_of("rediss://h:1").find("TLS") != std::string::npos);
    CHECK(why_of("redis://").find("no host") != std::string::npos);
    CHECK(why_of("redis://:6379").find("no host") != std::string::npos);
    CHECK(why_of("redis://h:0").find("port") != std::string::npos);
    CHECK(why_of("redis://h:65536").find("port") != std::string::npos);
    CHECK(why_of("redis://h:").find("port") != std::string::npos);
    CHECK(why_of("redis://h:12ab").find("port") != std::string::npos);
    CHECK(why_of("redis://h:1/x").find("database") != std::string::npos);
    CHECK(why_of("redis://nocolon@h:1").find("credentials") != std::string::npos);
    CHECK(why_of("redis://:@h:1").find("empty password") != std::string::npos);
    CHECK(why_of("redis://:%zz@h:1").find("%-escape") != std::string::npos);
    CHECK(why_of("redis://[::1:1").find("']'") != std::string::npos);
    const std::string w = why_of("redis://:topsecret@h:99999");
    CHECK(w.find("topsecret") == std::string::npos);
}

TEST_CASE("redis envelope: round trip of text and binary, with the instance id and flags") {
    const std::string id = make_instance_id(0x0123456789abcdefULL);
    CHECK(id == "0123456789abcdef");
    CHECK(make_instance_id(1) == "0000000000000001");
    const std::string text = encode_envelope(id, false, true, "hello");
    CHECK(text.size() == envelope_header_size + 5);
    auto t = decode_envelope(text);
    REQUIRE(t);
    CHECK(t->instance == id);
    CHECK_FALSE(t->binary);
    CHECK(t->compress);
    CHECK(t->payload == "hello");
    const std::string bytes("\0\xff\x01:wisp1", 9);
    const std::string b_text = encode_envelope(id, true, false, bytes);   // b's views point here
    auto b = decode_envelope(b_text);
    REQUIRE(b);
    CHECK(b->binary);
    CHECK_FALSE(b->compress);
    CHECK(b->payload == bytes);
    const std::string empty_text = encode_envelope(id, false, true, "");
    auto empty = decode_envelope(empty_text);
    REQUIRE(empty);
    CHECK(empty->payload.empty());
}

TEST_CASE("redis envelope: anything else is rejected") {
    const std::string good = encode_envelope(make_instance_id(42), false, true, "x");
    CHECK(decode_envelope(good));
    CHECK_FALSE(decode_envelope(""));
    CHECK_FALSE(decode_envelope("hello, not an envelope"));
    CHECK_FALSE(decode_envelope(good.substr(0, envelope_header_size - 1)));
    std::string bad = good;
    bad[0] = 'W';
    CHECK_FALSE(decode_envelope(bad));   // magic
    bad = good;
    bad[5] = 'x';
    CHECK_FALSE(decode_envelope(bad));   // type
    bad = good;
    bad[6] = 'x';
    CHECK_FALSE(decode_envelope(bad));   // compress flag
    bad = good;
    bad[8] = 'g';
    CHECK_FALSE(decode_envelope(bad));   // instance id not hex
    bad = good;
    bad[8] = 'A';
    CHECK_FALSE(decode_envelope(bad));   // ids are lowercase
    bad = good;
    bad[envelope_header_size - 1] = ';';
    CHECK_FALSE(decode_envelope(bad));   // separator
}

TEST_CASE("redis channels: prefix + topic, and back") {
    CHECK(channel_name("wisp:", "chat") == "wisp:chat");
    CHECK(channel_name("", "chat") == "chat");
    const std::string ns_topic("room\0chat", 9);   // a namespaced topic key holds a NUL
    CHECK(channel_name("p:", ns_topic) == std::string("p:room\0chat", 11));
    CHECK(topic_of_channel("wisp:", "wisp:chat") == std::optional<std::string_view>("chat"));
    CHECK(topic_of_channel("wisp:", "wisp:") == std::optional<std::string_view>(""));
    CHECK_FALSE(topic_of_channel("wisp:", "other:chat"));
    CHECK_FALSE(topic_of_channel("wisp:", "wis"));
}

TEST_CASE("redis backoff: doubles from min, capped at max, half of it jittered") {
    const milliseconds min(100), max(5000);
    CHECK(reconnect_delay(0, min, max, 0.0) == milliseconds(50));
    CHECK(reconnect_delay(0, min, max, 1.0) == milliseconds(100));
    CHECK(reconnect_delay(1, min, max, 1.0) == milliseconds(200));
    CHECK(reconnect_delay(2, min, max, 0.5) == milliseconds(300));   // 400: 200 + 100
    CHECK(reconnect_delay(5, min, max, 1.0) == milliseconds(3200));
    CHECK(reconnect_delay(6, min, max, 1.0) == milliseconds(5000));      // 6400 capped
    CHECK(reconnect_delay(1000, min, max, 1.0) == milliseconds(5000));   // no overflow
    CHECK(reconnect_delay(1000, min, max, 0.0) == milliseconds(2500));
    for (unsigned a = 0; a < 40; ++a)
        for (double j : {0.0, 0.3, 0.99, 1.0, -1.0, 7.0}) {
            const auto d = reconnect_delay(a, min, max, j);
            CHECK(d >= min / 2);
            CHECK(d <= max);
        }
    CHECK(reconnect_delay(3, milliseconds(0), milliseconds(0), 1.0) == milliseconds(1));
}

TEST_CASE("redis subscriptions: commands follow 0->1 and 1->0, and a reconnect") {
    using C = RedisSubscriptions::Command;
    RedisSubscriptions s;
    CHECK(s.want("wisp:chat", true, true) == C::subscribe);      // first local subscriber
    CHECK(s.want("wisp:chat", true, true) == C::none);           // still wanted
    CHECK(s.want("wisp:chat", false, true) == C::unsubscribe);   // the last one left
    CHECK(s.want("wisp:chat", false, true) == C::none);
    CHECK(s.size() == 0);
    // While disconnected nothing is sent, but the wish is kept for the next connection.
    CHECK(s.want("wisp:a", true, false) == C::none);
    CHECK(s.want("wisp:b", true, false) == C::none);
    CHECK(s.want("wisp:c", true, false) == C::none);
    CHECK(s.want("wisp:b", false, false) == C::none);
    CHECK(s.wants("wisp:a"));
    CHECK_FALSE(s.wants("wisp:b"));
    auto again = s.resubscribe();
    REQUIRE(again.size() == 1);
    CHECK(again[0] == std::vector<std::string>{"SUBSCRIBE", "wisp:a", "wisp:c"});
    for (int i = 0; i < 5; ++i) s.want("t" + std::to_string(i), true, true);
    auto batches = s.resubscribe(3);
    std::size_t channels = 0;
    for (auto& b : batches) {
        CHECK(b.front() == "SUBSCRIBE");
        CHECK(b.size() <= 4);
        channels += b.size() - 1;
    }
    CHECK(channels == 7);
    CHECK(RedisSubscriptions().resubscribe().empty());
}

TEST_CASE("redis resp: commands formatted by hiredis, replies read by its reader") {
    std::string out;
    REQUIRE(append_command(out, {"PUBLISH", "wisp:chat", std::string_view("a\0b", 3)}));
    static const char want[] = "*3\r\n$7\r\nPUBLISH\r\n$9\r\nwisp:chat\r\n$3\r\na\0b\r\n";
    CHECK(out == std::string(want, sizeof want - 1));
    REQUIRE(append_command(out, {"PING"}));
    CHECK(out.substr(sizeof want - 1) == "*1\r\n$4\r\nPING\r\n");

    RespReader r;
    const std::string in = "+OK\r\n:2\r\n*3\r\n$7\r\nmessage\r\n$9\r\nwisp:chat\r\n$5\r\nhel";
    REQUIRE(r.feed(in.data(), in.size()));
    bool broken = false;
    auto ok = r.next(broken);
    REQUIRE(ok);
    CHECK(ok->type == REDIS_REPLY_STATUS);
    CHECK(reply_text(*ok) == "OK");
    auto n = r.next(broken);
    REQUIRE(n);
    CHECK(n->type == REDIS_REPLY_INTEGER);
    CHECK(n->integer == 2);
    CHECK_FALSE(r.next(broken));   // the message is not complete yet
    CHECK_FALSE(broken);
    REQUIRE(r.feed("lo\r\n-WRONGPASS no\r\n", 19));
    auto m = r.next(broken);
    REQUIRE(m);
    REQUIRE(m->type == REDIS_REPLY_ARRAY);
    REQUIRE(m->elements == 3);
    CHECK(reply_text(*m->element[0]) == "message");
    CHECK(reply_text(*m->element[2]) == "hello");
    auto e = r.next(broken);
    REQUIRE(e);
    CHECK(e->type == REDIS_REPLY_ERROR);
    CHECK(reply_text(*e) == "WRONGPASS no");

    RespReader bad;
    REQUIRE(bad.feed("?what\r\n", 7));
    CHECK_FALSE(bad.next(broken));
    CHECK(broken);
}

TEST_CASE("redis retained: the envelope RETAIN_SCRIPT completes, and the stream's entries") {
    const std::string head = encode_retained_head("00000000000000ab", false);
    CHECK(head == "wisp1ru00000000000000ab:");
    // What the script publishes: head .. id .. ' ' .. sender .. ':' .. payload.
    const std::string msg = head + "1733450000123-4 1f:a: b";
    auto e = decode_envelope(msg);
    REQUIRE(e);
    CHECK(e->retained);
    CHECK_FALSE(e->binary);
    CHECK_FALSE(e->compress);
    CHECK(e->instance == "00000000000000ab");
    CHECK(e->id == EventId{1733450000123ULL, 4});
    CHECK(e->sender == "1f");
    CHECK(e->payload == "a: b");                  // a ':' in the payload stays in it
    const std::string by_app = head + "9-0 :x";   // published by the app: no sender
    auto app = decode_envelope(by_app);
    REQUIRE(app);
    CHECK(app->sender.empty());
    CHECK(app->payload == "x");
    for (const std::string& bad :
         {head + "9-0", head + "9-0 x", head + "x-0 a:b", head + "0-0 a:b", head + " a:b"})
        CHECK_MESSAGE(!decode_envelope(bad), bad);
    // A plain envelope has no id.
    const std::string plain_bytes = encode_envelope("00000000000000ab", false, true, "9-0 a:b");
    auto plain = decode_envelope(plain_bytes);
    REQUIRE(plain);
    CHECK_FALSE(plain->retained);
    CHECK(plain->payload == "9-0 a:b");

    // XREVRANGE's reply: [[id, [field, value, ...]], ...]
    RespReader r;
    const std::string in =
        "*2\r\n"
        "*2\r\n$3\r\n5-1\r\n*4\r\n$1\r\nf\r\n$1\r\nu\r\n$1\r\nd\r\n$2\r\nhi\r\n"
        "*2\r\n$3\r\n5-0\r\n*4\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\nd\r\n$0\r\n\r\n"
        "*0\r\n-WRONGTYPE no\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nc\r\n";
    REQUIRE(r.feed(in.data(), in.size()));
    bool broken = false;
    auto two = r.next(broken);
    REQUIRE(two);
    auto entries = stream_entries(*two);
    REQUIRE(entries);
    REQUIRE(entries->size() == 2);
    CHECK((*entries)[0].id == EventId{5, 1});
    CHECK_FALSE((*entries)[0].compress);
    CHECK((*entries)[0].data == "hi");
    CHECK((*entries)[1].id == EventId{5, 0});
    CHECK((*entries)[1].compress);
    CHECK((*entries)[1].data.empty());
    auto empty = r.next(broken);
    REQUIRE(empty);
    REQUIRE(stream_entries(*empty));
    CHECK(stream_entries(*empty)->empty());
    auto error = r.next(broken);
    REQUIRE(error);
    CHECK_FALSE(stream_entries(*error));
    auto no_data = r.next(broken);   // an entry without its payload field: not ours
    REQUIRE(no_data);
    CHECK_FALSE(stream_entries(*no_data));
}
#endif   // WISP_REDIS

TEST_CASE("redis options: the defaults") {
    const wisp::RedisOptions o;
    CHECK(o.channel_prefix == "wisp:");
    CHECK(o.reconnect_min == std::chrono::milliseconds(100));
    CHECK(o.reconnect_max == std::chrono::milliseconds(5000));
    CHECK(o.connect_timeout == std::chrono::milliseconds(2000));
    CHECK(o.max_pending_bytes == 8u * 1024 * 1024);
    CHECK(o.error_log_interval == std::chrono::milliseconds(1000));
    const wisp::RedisStats s;
    CHECK(s.published == 0);
    CHECK_FALSE(s.connected);
}
