// SPDX-License-Identifier: MIT
// libFuzzer target for wisp/detail/ws_reader.hpp's WsReader. The same stream is fed one-shot,
// byte by byte, at input-chosen cuts, and (when short) split at every point: the events must
// be identical, and must equal those of a simple whole-buffer reference reader written below
// from RFC 6455 §5. Every piece is an exact-size heap copy, so ASan catches any read past it.
// Events must also satisfy the contract: text is UTF-8, messages fit the limit, control
// payloads are at most 125 bytes, close codes are valid, nothing follows a close or an error.
// Build and run (one command, wrapped here):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
//       tests/fuzz/fuzz_ws_frame.cpp -o fuzz_ws_frame && ./fuzz_ws_frame
// Input: a mode byte (bit 0: records instead of a raw stream; bits 1-2: the message limit),
// two cut bytes, then the raw stream or frame records (see from_records), which are masked
// client frames, so most of them pass the header checks and reach the payload paths.
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_reader.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)               \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

namespace {

namespace d = wisp::detail;
using d::Opcode;

struct Event {
    int kind;   // 0 message, 1 ping, 2 pong, 3 close, 4 error
    unsigned code;
    std::string payload;
    bool operator==(const Event& o) const {
        return kind == o.kind && code == o.code && payload == o.payload;
    }
};

struct Recorder {
    std::vector<Event> events;
    std::uint64_t max_message = 0;
    bool ended = false;

    void push(Event e) {
        FUZZ_CHECK(!ended);   // nothing after a close or an error
        events.push_back(std::move(e));
    }
    void on_message(Opcode op, std::string_view p) {
        FUZZ_CHECK(op == Opcode::text || op == Opcode::binary);
        FUZZ_CHECK(p.size() <= max_message);
        if (op == Opcode::text) FUZZ_CHECK(d::is_valid_utf8(p));
        push({0, static_cast<unsigned>(op), std::string(p)});
    }
    void on_ping(std::string_view p) {
        FUZZ_CHECK(p.size() <= 125);
        push({1, 0, std::string(p)});
    }
    void on_pong(std::string_view p) {
        FUZZ_CHECK(p.size() <= 125);
        push({2, 0, std::string(p)});
    }
    void on_close(std::uint16_t code, std::string_view reason) {
        FUZZ_CHECK(code == 1005 || d::is_valid_close_code(code));
        FUZZ_CHECK(reason.size() <= 123 && d::is_valid_utf8(reason));
        FUZZ_CHECK(code != 1005 || reason.empty());
        push({3, code, std::string(reason)});
        ended = true;
    }
    void on_error(wisp::errc e, std::uint16_t code, const char* why) {
        FUZZ_CHECK(why != nullptr);
        FUZZ_CHECK(code == d::close_code_for(e));
        FUZZ_CHECK((e == wisp::errc::protocol_error && code == 1002) ||
                   (e == wisp::errc::invalid_utf8 && code == 1007) ||
                   (e == wisp::errc::message_too_big && code == 1009));
        push({4, code, {}});
        ended = true;
    }
};

struct Result {
    std::vector<Event> events;
    std::size_t consumed = 0;
    bool error = false;
};

// Feeds `stream` cut at the sorted positions `cuts`, each piece an exact-size heap copy.
Result run(const std::string& stream, const std::vector<std::size_t>& cuts,
           std::uint64_t max_message) {
    d::WsReader reader(d::WsLimits{max_message});
    Recorder rec;
    rec.max_message = max_message;
    Result r;
    std::size_t from = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t to = i < cuts.size() ? cuts[i] : stream.size();
        const std::size_t n = to - from;
        char* piece = new char[n ? n : 1];
        if (n) std::memcpy(piece, stream.data() + from, n);
        const std::size_t got = reader.feed(piece, n, rec);
        FUZZ_CHECK(got <= n);
        r.consumed += got;
        if (got < n) FUZZ_CHECK(reader.done());
        if (reader.done()) {
            const std::size_t before = rec.events.size();
            FUZZ_CHECK(reader.feed(piece + got, n - got, rec) == 0);
            FUZZ_CHECK(rec.events.size() == before);
            delete[] piece;
            break;
        }
        FUZZ_CHECK(got == n);
        delete[] piece;
        from = to;
    }
    if (!rec.ended) FUZZ_CHECK(r.consumed == stream.size());
    r.error = !rec.events.empty() && rec.events.back().kind == 4;
    r.events = std::move(rec.events);
    return r;
}

// The reference: reads the whole stream at once, in the most direct way. The checks run in
// the order the bytes arrive (a check fires once the bytes it needs are present), which is
// what makes a streaming reader's events independent of how the stream is cut.
Result reference(std::string s, std::uint64_t max_message) {
    Result r;
    const std::size_t n = s.size();
    auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    auto error = [&](unsigned code) {
        r.events.push_back({4, code, {}});
        r.error = true;
        return r;
    };
    std::size_t pos = 0;
    unsigned msg_op = 0;
    std::string msg;
    for (;;) {
        if (pos >= n) return r;
        const unsigned b0 = at(pos);
        const unsigned op = b0 & 15;
        const bool fin = b0 & 0x80;
        const bool control = op >= 8;
        if (b0 & 0x70) return error(1002);
        if (op == 0 && msg_op == 0) return error(1002);
        if ((op == 1 || op == 2) && msg_op != 0) return error(1002);
        if ((op >= 3 && op <= 7) || op >= 11) return error(1002);
        if (control && !fin) return error(1002);
        if (op == 1 || op == 2) {
            msg_op = op;
            msg.clear();
        }
        if (pos + 1 >= n) return r;
        const unsigned b1 = at(pos + 1);
        if (!(b1 & 0x80)) return error(1002);
        const unsigned len7 = b1 & 0x7F;
        if (control && len7 > 125) return error(1002);
        const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        if (pos + 2 + ext > n) return r;
        std::uint64_t len = len7 < 126 ? len7 : 0;
        for (std::size_t i = 0; i < ext; ++i) len = len << 8 | at(pos + 2 + i);
        if (len >> 63) return error(1002);
        if (!control && len > max_message - msg.size()) return error(1009);
        if (pos + 2 + ext + 4 > n) return r;
        unsigned char key[4];
        for (std::size_t i = 0; i < 4; ++i) key[i] = at(pos + 2 + ext + i);
        const std::size_t start = pos + 2 + ext + 4;
        const std::size_t avail = len < n - start ? static_cast<std::size_t>(len) : n - start;
        std::string payload = s.substr(start, avail);
        for (std::size_t i = 0; i < avail; ++i)
            payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
        if (control) {
            if (avail < len) return r;
            if (op == 9) r.events.push_back({1, 0, payload});
            if (op == 10) r.events.push_back({2, 0, payload});
            if (op == 8) {
                if (payload.size() == 1) return error(1002);
                unsigned code = 1005;
                if (payload.size() >= 2) {
                    code = at(start) ^ key[0];
                    code = code << 8 | (at(start + 1) ^ key[1]);
                    if (!d::is_valid_close_code(static_cast<std::uint16_t>(code)))
                        return error(1002);
                    if (!d::is_valid_utf8(payload.substr(2))) return error(1007);
                }
                r.events.push_back({3, code, payload.size() >= 2 ? payload.substr(2) : ""});
                r.consumed = start + avail;
                return r;
            }
        } else {
            msg += payload;
            if (msg_op == 1) {
                d::Utf8Validator v;
                if (!v.feed(msg)) return error(1007);
                if (avail == len && fin && !v.complete()) return error(1007);
            }
            if (avail < len) return r;
            if (fin) {
                r.events.push_back({0, msg_op, msg});
                msg_op = 0;
                msg.clear();
            }
        }
        pos = start + static_cast<std::size_t>(len);
    }
}

// Builds a stream from frame records [b0][switches][length][payload]. b0's RSV bits are kept
// only when switch bit 0 is set; bit 1 repeats the payload 3 times, bit 2 600 times (to reach
// the 16- and 64-bit length forms); bit 3 clears the MASK bit. Payloads are masked with a key
// derived from the record.
std::string from_records(const std::uint8_t* p, std::size_t n) {
    std::string out;
    std::size_t i = 0;
    while (n - i >= 3) {
        const unsigned switches = p[i + 1];
        const unsigned b0 = (switches & 1) ? p[i] : p[i] & 0x8Fu;
        std::size_t len = p[i + 2];
        i += 3;
        if (len > n - i) len = n - i;
        std::string payload(reinterpret_cast<const char*>(p + i), len);
        i += len;
        const std::size_t reps = (switches & 4) ? 600 : (switches & 2) ? 3 : 1;
        if (reps > 1 && out.size() < (256u << 10)) {
            std::string big;
            for (std::size_t k = 0; k < reps; ++k) big += payload;
            payload = big;
        }
        const std::uint32_t seed = static_cast<std::uint32_t>(len * 0x9E3779B1u ^ switches);
        std::string f =
            d::encode_client_frame(static_cast<Opcode>(b0 & 15), payload, (b0 & 0x80) != 0, seed);
        f[0] = static_cast<char>(b0);
        if (switches & 8) f[1] = static_cast<char>(f[1] & 0x7F);
        out += f;
    }
    return out;
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const unsigned mode = data[0];
    static const std::uint64_t limits[4] = {16u << 20, 0, 100, 1000};
    const std::uint64_t max_message = limits[(mode >> 1) & 3];
    const std::string stream = (mode & 1)
                                   ? from_records(data + 3, size - 3)
                                   : std::string(reinterpret_cast<const char*>(data + 3), size - 3);
    const std::size_t n = stream.size();

    const Result expect = reference(stream, max_message);
    const Result whole = run(stream, {}, max_message);
    FUZZ_CHECK(whole.events == expect.events);
    if (!expect.error && !expect.events.empty() && expect.events.back().kind == 3)
        FUZZ_CHECK(whole.consumed == expect.consumed);

    auto same = [&](const Result& r) {
        FUZZ_CHECK(r.events == whole.events);
        if (!whole.error) FUZZ_CHECK(r.consumed == whole.consumed);
    };

    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < n; ++i) cuts.push_back(i);
    same(run(stream, cuts, max_message));   // byte by byte

    const std::size_t a = n ? data[1] % (n + 1) : 0;
    const std::size_t b = a + (n - a ? data[2] % (n - a + 1) : 0);
    same(run(stream, {a, b}, max_message));
    same(run(stream, {a}, max_message));
    if (n <= 200) {
        for (std::size_t k = 0; k <= n; ++k) same(run(stream, {k}, max_message));
    }
    return 0;
}
