// SPDX-License-Identifier: MIT
// wisp/detail/deflate_codec.hpp — zlib behind permessage-deflate (RFC 7692 §7.2): one message
// compressed to DEFLATE blocks ending in a sync flush (its 4-byte tail removed), one inflated
// with a cap on its size and its UTF-8 checked as it comes out.
// Owns: zlib's streams and their memory, the per-loop pool of streams that keep no context
// between messages, the scratch buffers, the counters of zlib calls and of zlib's live memory.
// Must not know: frames, sessions, sockets, negotiation (ws_deflate.hpp). Without WISP_DEFLATE
// it declares only an empty pool, so nothing includes zlib.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/box.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>
#ifdef WISP_DEFLATE
#include <zlib.h>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

#ifndef WISP_DEFLATE
/// Without WISP_DEFLATE nothing is ever compressed: the loop's pool is empty.
class DeflatePool {};
#else

/// Process-wide zlib counters: what tests and benchmarks count (zlib calls per publication,
/// memory held by idle connections). Relaxed atomics: a count, never a synchronisation.
struct DeflateStats {
    std::atomic<std::uint64_t> deflate_calls{0};   ///< deflate() calls
    std::atomic<std::uint64_t> inflate_calls{0};   ///< inflate() calls
    std::atomic<std::int64_t> live_bytes{0};       ///< bytes zlib has allocated and not freed
    std::atomic<std::int64_t> streams{0};          ///< zlib streams alive
};
inline DeflateStats& deflate_stats() noexcept {
    static DeflateStats s;
    return s;
}

/// A growable byte buffer that is never zero-filled (zlib writes every byte it hands back).
class ByteBuffer {
public:
    char* data() noexcept { return p_.get(); }
    std::size_t capacity() const noexcept { return cap_; }
    /// Exactly `n` bytes of room when it had less (the caller chooses how to grow), keeping
    /// the first `keep` bytes.
    void reserve(std::size_t n, std::size_t keep = 0);
    /// Frees the memory when it holds more than `most` bytes.
    void trim(std::size_t most) noexcept {
        if (cap_ > most) {
            p_.reset();
            cap_ = 0;
        }
    }

private:
    std::unique_ptr<char[]> p_;
    std::size_t cap_ = 0;
};

/// One zlib compressor for raw DEFLATE (no zlib header: RFC 7692 §7.2.1).
class Deflater {
public:
    /// `window_bits` 9..15, `mem_level` 1..9, `level` 0..9 (zlib's meanings).
    Deflater(int window_bits, int mem_level, int level) noexcept;
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    bool ok() const noexcept { return ok_; }
    bool same(int window_bits, int mem_level, int level) const noexcept {
        return window_bits == window_bits_ && mem_level == mem_level_ && level == level_;
    }
    /// Compresses `in` as one message: DEFLATE blocks ending with a sync flush whose empty
    /// stored block's 00 00 FF FF is removed (§7.2.1). The result is written to `out` from
    /// offset `at` and is `len` bytes. With `keep_context` false the window is emptied
    /// afterwards (no context takeover). False when zlib fails (then the stream is reset).
    bool compress(std::string_view in, ByteBuffer& out, std::size_t at, std::size_t& len,
                  bool keep_context);

private:
    z_stream z_{};
    int window_bits_, mem_level_, level_;
    bool ok_ = false;
};

/// One zlib decompressor for raw DEFLATE.
class Inflater {
public:
    enum class Result : std::uint8_t {
        ok,
        too_big,     ///< more than `limit` bytes: close 1009
        corrupt,     ///< not valid DEFLATE data, or a message ending inside a block: close 1007
        not_utf8,    ///< a text message whose inflated bytes are not UTF-8: close 1007
        no_memory,   ///< zlib could not allocate: close 1011
    };
    /// `window_bits` 8..15: the largest window the peer's compressor may use.
    explicit Inflater(int window_bits) noexcept;
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    bool ok() const noexcept { return ok_; }
    /// Inflates one message (§7.2.2: its payload followed by 00 00 FF FF) into `out`, `len`
    /// bytes. Stops as soon as more than `limit` bytes came out (so at most limit + 1 are ever
    /// produced and `out` never grows past that), or, for `text`, as soon as the bytes so far
    /// cannot be UTF-8. With `keep_context` the window stays for the next message (context
    /// takeover, §7.2.3); otherwise, and after any error, the stream starts afresh.
    Result inflate(std::string_view in, std::size_t limit, bool text, bool keep_context,
                   ByteBuffer& out, std::size_t& len);

private:
    Result fail(Result r) noexcept {
        inflateReset(&z_);
        return r;
    }
    /// After a final block (BFINAL, §7.2.3.4): a new stream that still sees the old window.
    void restart_keeping_window() noexcept;

    z_stream z_{};
    bool ok_ = false;
};

/// The streams and scratch buffers one event loop shares among its connections, so that
/// connections that keep no compression context between messages hold no zlib state at all.
/// Thread: its loop's only.
class DeflatePool {
public:
    /// A compressor with these settings, used for one message at a time and left with an empty
    /// window (null when zlib cannot allocate one).
    Deflater* deflater(int window_bits, int mem_level, int level);
    /// A decompressor with a 15-bit window (any peer's), for one message at a time.
    Inflater* inflater();
    /// Where inflated messages go: a message's bytes stay valid until the next inflate on this
    /// loop. Trimmed after a message larger than keep_bytes.
    ByteBuffer inflated;
    /// Where compressed frames are built before they are queued.
    ByteBuffer frame;
    /// Scratch memory kept between messages (more is freed after each message).
    static constexpr std::size_t keep_bytes = 256 * 1024;

private:
    std::vector<Box<Deflater>> deflaters_;
    Box<Inflater> inflater_;
};

// ---- implementation -------------------------------------------------------

// zlib's memory goes through these, so its live bytes can be counted (a size word precedes
// each block; 16 bytes keep the block's alignment).
inline voidpf deflate_zalloc(voidpf, uInt items, uInt size) {
    const std::size_t n = static_cast<std::size_t>(items) * size;
    void* p = std::malloc(n + 16);
    if (!p) return Z_NULL;
    std::memcpy(p, &n, sizeof n);
    deflate_stats().live_bytes.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
    return static_cast<char*>(p) + 16;
}

inline void deflate_zfree(voidpf, voidpf address) {
    if (!address) return;
    char* p = static_cast<char*>(address) - 16;
    std::size_t n;
    std::memcpy(&n, p, sizeof n);
    deflate_stats().live_bytes.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
    std::free(p);
}

inline void ByteBuffer::reserve(std::size_t n, std::size_t keep) {
    if (n <= cap_) return;
    const std::size_t c = n;
    std::unique_ptr<char[]> q(new char[c]);
    if (keep > cap_) keep = cap_;   // nothing was there to keep
    if (keep != 0) std::memcpy(q.get(), p_.get(), keep);
    p_ = std::move(q);
    cap_ = c;
}

inline Deflater::Deflater(int window_bits, int mem_level, int level) noexcept
    : window_bits_(window_bits), mem_level_(mem_level), level_(level) {
    z_.zalloc = deflate_zalloc;
    z_.zfree = deflate_zfree;
    // A negative window means raw DEFLATE: no zlib header or checksum (§7.2.1).
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) == Z_OK;
    if (ok_) deflate_stats().streams.fetch_add(1, std::memory_order_relaxed);
}

inline Deflater::~Deflater() {
    if (!ok_) return;
    deflateEnd(&z_);
    deflate_stats().streams.fetch_sub(1, std::memory_order_relaxed);
}

inline bool Deflater::compress(std::string_view in, ByteBuffer& out, std::size_t at,
                               std::size_t& len, bool keep_context) {
    if (!ok_) return false;
    if (in.empty()) {
        // §7.2.3.6: an empty message is one empty stored block, 0x00 once its tail is off. zlib
        // would make nothing at all after an earlier flush (a flush with nothing new is refused).
        out.reserve(at + 1, at);
        out.data()[at] = '\0';
        len = 1;
        return true;
    }
    // Room for the whole result at once, so one deflate() call is the rule: deflateBound is for
    // a finished stream; a sync flush adds at most an empty stored block and a partial byte.
    const std::size_t bound = deflateBound(&z_, static_cast<uLong>(in.size())) + 16;
    out.reserve(at + bound, at);
    std::size_t produced = 0;
    const char* next = in.data();
    std::size_t left = in.size();
    for (;;) {
        // zlib counts in uInt (32 bits): a larger message goes in pieces.
        const uInt take = left > 0x40000000u ? 0x40000000u : static_cast<uInt>(left);
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next));
        z_.avail_in = take;
        const std::size_t room = out.capacity() - at - produced;
        const uInt give = room > 0x40000000u ? 0x40000000u : static_cast<uInt>(room);
        z_.next_out = reinterpret_cast<Bytef*>(out.data() + at + produced);
        z_.avail_out = give;
        const int flush = take == left ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        const int r = ::deflate(&z_, flush);
        deflate_stats().deflate_calls.fetch_add(1, std::memory_order_relaxed);
        if (r != Z_OK && r != Z_BUF_ERROR) {
            deflateReset(&z_);
            return false;
        }
        const std::size_t consumed = take - z_.avail_in;
        next += consumed;
        left -= consumed;
        produced += give - z_.avail_out;
        if (left == 0 && flush == Z_SYNC_FLUSH && z_.avail_in == 0 && z_.avail_out != 0) break;
        if (z_.avail_out == 0) out.reserve(at + produced + bound / 2 + 64, at + produced);
    }
    // The flush ends in an empty stored block, 00 00 FF FF: the wire leaves it out.
    const auto* end = reinterpret_cast<const unsigned char*>(out.data() + at + produced);
    if (produced < 4 || end[-4] != 0 || end[-3] != 0 || end[-2] != 0xFF || end[-1] != 0xFF) {
        deflateReset(&z_);
        return false;
    }
    len = produced - 4;
    if (!keep_context) deflateReset(&z_);
    return true;
}

inline Inflater::Inflater(int window_bits) noexcept {
    z_.zalloc = deflate_zalloc;
    z_.zfree = deflate_zfree;
    ok_ = inflateInit2(&z_, -window_bits) == Z_OK;
    if (ok_) deflate_stats().streams.fetch_add(1, std::memory_order_relaxed);
}

inline Inflater::~Inflater() {
    if (!ok_) return;
    inflateEnd(&z_);
    deflate_stats().streams.fetch_sub(1, std::memory_order_relaxed);
}

inline void Inflater::restart_keeping_window() noexcept {
    unsigned char window[1u << 15];
    uInt n = 0;
    const bool have = inflateGetDictionary(&z_, window, &n) == Z_OK;
    inflateReset(&z_);
    if (have && n != 0) inflateSetDictionary(&z_, window, n);
}

inline Inflater::Result Inflater::inflate(std::string_view in, std::size_t limit, bool text,
                                          bool keep_context, ByteBuffer& out, std::size_t& len) {
    if (!ok_) return Result::no_memory;
    static const unsigned char tail[4] = {0x00, 0x00, 0xFF, 0xFF};
    // The most the output may ever hold: one byte past the limit says "too big".
    const std::size_t most = limit < ~std::size_t(0) ? limit + 1 : limit;
    Utf8Validator utf8;
    len = 0;
    bool ended = false;   // a final block (BFINAL) ended the DEFLATE stream
    for (int part = 0; part < 2 && !ended; ++part) {
        const unsigned char* next =
            part == 0 ? reinterpret_cast<const unsigned char*>(in.data()) : tail;
        std::size_t left = part == 0 ? in.size() : sizeof tail;
        for (;;) {
            if (len == out.capacity()) {
                if (len >= most) return fail(Result::too_big);
                // Grow with the output, never past the limit: a bomb costs at most limit + 1.
                std::size_t want = len * 2;
                if (want < 16384) want = 16384;
                if (want < in.size() * 4 && part == 0) want = in.size() * 4;
                out.reserve(want < most ? want : most, len);
            }
            const std::size_t room = (out.capacity() < most ? out.capacity() : most) - len;
            const uInt take = left > 0x40000000u ? 0x40000000u : static_cast<uInt>(left);
            const uInt give = room > 0x40000000u ? 0x40000000u : static_cast<uInt>(room);
            z_.next_in = const_cast<Bytef*>(next);
            z_.avail_in = take;
            z_.next_out = reinterpret_cast<Bytef*>(out.data() + len);
            z_.avail_out = give;
            const int r = ::inflate(&z_, Z_SYNC_FLUSH);
            deflate_stats().inflate_calls.fetch_add(1, std::memory_order_relaxed);
            const std::size_t produced = give - z_.avail_out;
            next += take - z_.avail_in;
            left -= take - z_.avail_in;
            // RFC 6455 §8.1: text that cannot be UTF-8 fails at once, before inflating more.
            if (text && produced != 0 && !utf8.feed(out.data() + len, produced))
                return fail(Result::not_utf8);
            len += produced;
            if (len > limit) return fail(Result::too_big);
            if (r == Z_STREAM_END) {
                // A final block ends the stream; only (part of) the appended tail may follow it.
                if (part == 0 && left != 0) return fail(Result::corrupt);
                ended = true;
                break;
            }
            if (r == Z_MEM_ERROR) return fail(Result::no_memory);
            if (r != Z_OK && r != Z_BUF_ERROR) return fail(Result::corrupt);
            if (left == 0 && z_.avail_out != 0) break;   // all input used, all output out
            if (r == Z_BUF_ERROR && z_.avail_out != 0) return fail(Result::corrupt);
        }
    }
    // After the tail the stream must sit between blocks (zlib's data_type bit 7): otherwise the
    // message ended inside a block (§7.2.2 gives no other way to end one).
    if (!ended && (z_.data_type & 128) == 0) return fail(Result::corrupt);
    if (text && !utf8.complete()) return fail(Result::not_utf8);
    if (!keep_context) inflateReset(&z_);
    else if (ended) restart_keeping_window();
    return Result::ok;
}

inline Deflater* DeflatePool::deflater(int window_bits, int mem_level, int level) {
    for (auto& d : deflaters_)
        if (d->same(window_bits, mem_level, level)) return d.get();
    auto d = make_box<Deflater>(window_bits, mem_level, level);
    if (!d->ok()) return nullptr;
    deflaters_.push_back(std::move(d));
    return deflaters_.back().get();
}

inline Inflater* DeflatePool::inflater() {
    if (!inflater_) {
        auto i = make_box<Inflater>(15);
        if (!i->ok()) return nullptr;
        inflater_ = std::move(i);
    }
    return inflater_.get();
}

#endif   // WISP_DEFLATE

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
