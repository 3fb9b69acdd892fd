// SPDX-License-Identifier: MIT
// libFuzzer target for the inflate path of permessage-deflate: WsReader with compression on
// (RSV1 marks a compressed message) hands compressed messages to WsCompression::inflate, the
// session's step before the message hook (ws_compression.hpp over deflate_codec.hpp's zlib).
// Checked on every input: an inflated message never exceeds its limit and the output buffer
// never grows past limit + 1 bytes (the bomb bound); inflated text is UTF-8; whatever inflated
// is what an independent zlib inflate of the same bytes gives; and a message compressed by
// wisp's own Deflater inflates back to itself, with and without context takeover.
// Build and run: meson setup -Dfuzz=true (clang), then build/.../fuzz_ws_inflate.
// Input: a mode byte (bit 0: raw payloads instead of frames; bit 1: client context takeover;
// bits 2-3: the limit, 64 B to 1 MiB), then a frame stream, or payloads separated by "\xff\xfe".
#include <wisp/detail/deflate_codec.hpp>
#include <wisp/detail/ws_compression.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/ws_reader.hpp>

#include <zlib.h>

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

/// An independent raw inflate of `in` + 00 00 FF FF, up to `most` bytes; false on bad data.
/// `ended`: the data ended the DEFLATE stream (a final block).
bool reference_inflate(std::string_view in, std::size_t most, std::string& out, z_stream& z,
                       bool& ended) {
    ended = false;
    std::string data(in);
    data.append("\0\0\xff\xff", 4);
    z.next_in = reinterpret_cast<Bytef*>(&data[0]);
    z.avail_in = static_cast<uInt>(data.size());
    out.clear();
    char buf[4096];
    while (out.size() <= most) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        const int r = inflate(&z, Z_SYNC_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (r == Z_STREAM_END) return ended = true;
        if (r != Z_OK && r != Z_BUF_ERROR) return false;
        if (z.avail_in == 0 && z.avail_out != 0) return true;
        if (r == Z_BUF_ERROR && z.avail_out != 0) return false;
    }
    return true;
}

struct Sink {
    d::WsCompression* c = nullptr;
    d::DeflatePool* pool = nullptr;
    std::size_t limit = 0;
    bool keep = false;
    z_stream ref{};
    bool ref_in_sync = true;   // the reference saw every message wisp inflated

    void check(Opcode op, std::string_view payload) {
        std::string_view out;
        const d::InflateOutcome r = c->inflate(payload, limit, op == Opcode::text, out);
        FUZZ_CHECK(pool->inflated.capacity() <= limit + 1);
        if (r != d::InflateOutcome::ok) {
            ref_in_sync = false;   // wisp resets after an error; the session closes anyway
            return;
        }
        FUZZ_CHECK(out.size() <= limit);
        if (op == Opcode::text) FUZZ_CHECK(d::is_valid_utf8(out));
        if (ref_in_sync) {
            std::string want;
            bool ended = false;
            FUZZ_CHECK(reference_inflate(payload, limit, want, ref, ended));
            FUZZ_CHECK(want == out);
            if (!keep) inflateReset(&ref);
            else if (ended) ref_in_sync = false;   // wisp carries the window over; zlib stops
        }
        c->finished_message();
    }
    void on_compressed_message(Opcode op, std::string_view p) { check(op, p); }
    void on_message(Opcode, std::string_view p) { FUZZ_CHECK(p.size() <= limit); }
    void on_ping(std::string_view) {}
    void on_pong(std::string_view) {}
    void on_close(std::uint16_t, std::string_view) {}
    void on_error(wisp::errc, std::uint16_t, const char*) {}
};

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const unsigned mode = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    static const std::size_t limits[4] = {64, 4096, 65536, 1u << 20};

    d::DeflatePool pool;
    d::DeflateParams params;
    params.server_no_context_takeover = true;
    params.client_no_context_takeover = (mode & 2) == 0;
    wisp::DeflateOptions options;
    options.min_size = 0;
    d::WsCompression c(params, options, pool);
    Sink sink;
    sink.c = &c;
    sink.pool = &pool;
    sink.limit = limits[(mode >> 2) & 3];
    sink.keep = (mode & 2) != 0;
    FUZZ_CHECK(inflateInit2(&sink.ref, -15) == Z_OK);

    if (mode & 1) {
        std::size_t at = 0;
        while (at <= rest.size()) {
            std::size_t end = rest.find("\xff\xfe", at);
            if (end == std::string_view::npos) end = rest.size();
            sink.check(Opcode::binary, rest.substr(at, end - at));
            at = end + 2;
        }
    } else {
        std::string bytes(rest);
        d::WsReader reader(d::WsLimits{sink.limit}, true);
        reader.feed(bytes.empty() ? nullptr : &bytes[0], bytes.size(), sink);
    }
    inflateEnd(&sink.ref);

    // Round trip: wisp's compressor, then its decompressor, both ways of keeping context.
    const std::string_view plain = rest.substr(0, 8192);
    d::Deflater z(15, 8, 6);
    d::Inflater in(15);
    d::ByteBuffer packed, unpacked;
    for (int i = 0; i < 2; ++i) {
        std::size_t n = 0, m = 0;
        FUZZ_CHECK(z.compress(plain, packed, 0, n, sink.keep));
        FUZZ_CHECK(in.inflate(std::string_view(packed.data(), n), plain.size(), false, sink.keep,
                              unpacked, m) == d::Inflater::Result::ok);
        FUZZ_CHECK(std::string_view(unpacked.data(), m) == plain);
    }
    return 0;
}
