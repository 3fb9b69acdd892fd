// SPDX-License-Identifier: MIT
// Micro-benchmark: WebSocket unmasking (wisp::detail::mask) and UTF-8 validation
// (wisp::detail::is_valid_utf8) against naive byte-at-a-time loops, plus WsReader throughput.
// Single thread, no dependencies.
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/micro_ws.cpp -o micro_ws && ./micro_ws
// Each cell is the best of 7 runs of ~50 ms over the same buffer (so 16 B..64 KiB run from L1
// or L2 cache and 1 MiB mostly from L2/L3); MB/s counts input bytes, 1 MB = 1e6 B. "mixed"
// text is 50% ASCII, 20% 2-byte, 25% 3-byte, 5% 4-byte code points, pseudo-random.
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_reader.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace d = wisp::detail;

// Keeps the optimiser from hoisting or deleting the measured work: the pointed-to memory
// counts as read and written after each call.
inline void clobber(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    asm volatile("" : : "g"(p) : "memory");
#else
    static const void* volatile keep;
    keep = p;
#endif
}

volatile std::size_t sink;

// The loop everyone writes first: one byte, one key lookup.
void naive_mask(char* p, std::size_t n, const std::uint8_t key[4], std::size_t phase) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[(phase + i) & 3]);
}

// A straightforward byte-at-a-time validator: decode each sequence, then check the range.
bool naive_utf8(const char* data, std::size_t n) {
    const auto* s = reinterpret_cast<const unsigned char*>(data);
    std::size_t i = 0;
    while (i < n) {
        const unsigned c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        std::uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

void append_utf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Valid text of exactly `size` bytes (the tail is padded with ASCII).
std::string make_text(std::size_t size, bool mixed) {
    std::string s;
    std::uint32_t x = 2463534242u;
    auto next = [&x] {   // xorshift32
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    while (s.size() + 4 <= size) {
        const std::uint32_t r = next() % 100;
        if (!mixed || r < 50) {
            append_utf8(s, 0x20 + next() % 0x5F);
        } else if (r < 70) {
            append_utf8(s, 0x80 + next() % (0x800 - 0x80));
        } else if (r < 95) {
            std::uint32_t cp = 0x800 + next() % (0x10000 - 0x800);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x1000;
            append_utf8(s, cp);
        } else {
            append_utf8(s, 0x10000 + next() % (0x110000 - 0x10000));
        }
    }
    s.append(size - s.size(), 'a');
    return s;
}

// Best of 7 runs of ~50 ms; returns bytes per second.
template <class F>
double measure(std::size_t bytes_per_call, F&& call) {
    using clock = std::chrono::steady_clock;
    const std::size_t batch = bytes_per_call >= (64u << 10) ? 4 : (256u << 10) / bytes_per_call;
    double best = 0;
    for (int run = 0; run < 7; ++run) {
        std::size_t calls = 0;
        const auto start = clock::now();
        auto now = start;
        do {
            for (std::size_t i = 0; i < batch; ++i) call();
            calls += batch;
            now = clock::now();
        } while (now - start < std::chrono::milliseconds(50));
        const double secs = std::chrono::duration<double>(now - start).count();
        const double rate = static_cast<double>(calls * bytes_per_call) / secs;
        if (rate > best) best = rate;
    }
    return best;
}

const char* size_name(std::size_t n) {
    switch (n) {
        case 16:
            return "16 B";
        case 1024:
            return "1 KiB";
        case 64u << 10:
            return "64 KiB";
        case 1u << 20:
            return "1 MiB";
        default:
            return "?";
    }
}

void row(const char* what, const char* input, std::size_t size, double wisp, double naive) {
    std::printf("%-16s %-7s %-7s %12.0f %12.0f %8.1fx\n", what, input, size_name(size), wisp / 1e6,
                naive / 1e6, wisp / naive);
}

struct CountingSink {
    std::size_t messages = 0, bytes = 0;
    void on_message(d::Opcode, std::string_view p) {
        ++messages;
        bytes += p.size();
    }
    void on_ping(std::string_view) {}
    void on_pong(std::string_view) {}
    void on_close(std::uint16_t, std::string_view) {}
    void on_error(wisp::errc, std::uint16_t, const char*) { messages = ~std::size_t(0); }
};

// WsReader over one 64 KiB read of back-to-back frames (the shape of a pipelined echo load),
// or 4 frames when they are larger. The key is 0 so the buffer can be fed again after the
// in-place unmask; the XOR still runs.
void reader_row(const char* what, d::Opcode op, std::size_t payload_size, bool mixed) {
    const std::string payload = make_text(payload_size, mixed);
    const std::string one = d::encode_client_frame(op, payload, true, 0);
    std::string buf;
    while (buf.size() + one.size() <= (64u << 10) || buf.size() < 4 * one.size()) buf += one;
    const std::size_t frames = buf.size() / one.size();
    d::WsReader reader;
    CountingSink counter;
    if (reader.feed(&buf[0], buf.size(), counter) != buf.size() || counter.messages != frames) {
        std::fprintf(stderr, "micro_ws: reader check failed for %s\n", what);
        return;
    }
    const double bps = measure(buf.size(), [&] {
        reader.feed(&buf[0], buf.size(), counter);
        clobber(buf.data());
    });
    const double payload_share =
        static_cast<double>(payload_size) / static_cast<double>(one.size());
    std::printf("%-28s %8zu %12.0f %12.2f\n", what, one.size(), bps * payload_share / 1e6,
                bps / static_cast<double>(one.size()) / 1e6);
    sink = sink + counter.messages;
}

}   // namespace

int main() {
    const std::size_t sizes[] = {16, 1024, 64u << 10, 1u << 20};
    const std::uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};

    std::printf("%-16s %-7s %-7s %12s %12s %9s\n", "operation", "input", "size", "wisp MB/s",
                "naive MB/s", "speedup");
    for (std::size_t size : sizes) {
        std::vector<char> a(size, 'x'), b(size, 'x');
        d::mask(a.data(), size, key, 1);
        naive_mask(b.data(), size, key, 1);
        if (a != b) {
            std::fprintf(stderr, "micro_ws: mask disagrees with the naive loop\n");
            return 1;
        }
        const double wisp = measure(size, [&] {
            d::mask(a.data(), size, key, 1);
            clobber(a.data());
        });
        const double naive = measure(size, [&] {
            naive_mask(b.data(), size, key, 1);
            clobber(b.data());
        });
        row("unmask", "binary", size, wisp, naive);
    }
    for (bool mixed : {false, true}) {
        for (std::size_t size : sizes) {
            const std::string text = make_text(size, mixed);
            if (text.size() != size || !d::is_valid_utf8(text) || !naive_utf8(text.data(), size)) {
                std::fprintf(stderr, "micro_ws: test text is not valid UTF-8\n");
                return 1;
            }
            std::size_t ok = 0;
            const double wisp = measure(size, [&] {
                clobber(text.data());
                ok += d::is_valid_utf8(text.data(), size);
            });
            const double naive = measure(size, [&] {
                clobber(text.data());
                ok += naive_utf8(text.data(), size);
            });
            sink = sink + ok;
            row("utf8 validate", mixed ? "mixed" : "ASCII", size, wisp, naive);
        }
    }
    std::printf("\n%-28s %8s %12s %12s\n", "WsReader, one 64 KiB read", "frame B", "payload MB/s",
                "M msgs/s");
    reader_row("binary 16 B", d::Opcode::binary, 16, false);
    reader_row("text 16 B, ASCII", d::Opcode::text, 16, false);
    reader_row("binary 1 KiB", d::Opcode::binary, 1024, false);
    reader_row("text 1 KiB, ASCII", d::Opcode::text, 1024, false);
    reader_row("text 1 KiB, mixed", d::Opcode::text, 1024, true);
    reader_row("text 64 KiB, ASCII", d::Opcode::text, 64u << 10, false);
    return 0;
}
