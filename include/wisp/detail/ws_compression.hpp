// SPDX-License-Identifier: MIT
// wisp/detail/ws_compression.hpp — one peer's permessage-deflate once agreed (RFC 7692): which
// messages go out compressed and how, the shared compressed frame of a publication, and
// inflating what the peer compressed.
// Owns: the agreed parameters, the compressor and decompressor a peer keeps for context
// takeover (dedicated mode), the choice between them and the loop's shared streams.
// Must not know: sockets, the session's close logic (it reports results), negotiation
// (ws_deflate.hpp). Without WISP_DEFLATE it is never created (no offer is ever accepted).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/deflate_codec.hpp>
#include <wisp/detail/send_queue.hpp>
#include <wisp/detail/topics.hpp>
#include <wisp/detail/ws_deflate.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/box.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

/// What inflating a compressed message gave.
enum class InflateOutcome : std::uint8_t { ok, too_big, corrupt, not_utf8, no_memory };

/// A peer's compression. Created by the upgrade when an offer was accepted; lives with the
/// session. Thread: the peer's loop only.
class WsCompression {
public:
    WsCompression(const DeflateParams& params, const DeflateOptions& options, DeflatePool& pool)
        : params_(params),
          response_(deflate_response(params)),
          min_size_(options.min_size),
          mem_level_(options.mem_level),
          level_(options.level),
          pool_(pool) {}

    /// The response's Sec-WebSocket-Extensions value (peer.extensions()).
    std::string_view extensions() const noexcept { return response_; }
    const DeflateParams& params() const noexcept { return params_; }

    /// Queues `payload` as one compressed frame (RSV1) on `q`. False, with nothing queued, when
    /// it goes uncompressed instead: shorter than min_size, not smaller once compressed (without
    /// context takeover, where skipping costs nothing), or zlib failed.
    bool write(SendQueue& q, Opcode op, std::string_view payload);
    /// The publication's shared compressed frame for this peer, or null when it gets the plain
    /// frame: opted out, shorter than min_size, or not smaller compressed. Compressed once per
    /// publication and window size. Peers with server context takeover (dedicated mode) never
    /// share (their compressor's window must see every message they get): null, use write().
    const SharedBuffer* shared_frame(const Publication& p);
    /// Whether this peer's publications may use shared frames (no server context takeover).
    bool shares() const noexcept { return params_.server_no_context_takeover; }
    /// Queues publication `p` compressed for this peer: its shared frame when it shares, else
    /// through write(). False, with nothing queued, when `p` goes as its plain frame.
    bool write_publication(SendQueue& q, const Publication& p);

    /// Inflates a compressed message of at most `limit` bytes (text: valid UTF-8); on ok, `out`
    /// views it until the next inflate on this loop.
    InflateOutcome inflate(std::string_view in, std::size_t limit, bool text,
                           std::string_view& out);
    /// The inflated message's hook has returned: scratch memory beyond what a loop keeps goes.
    void finished_message() noexcept;
    /// zlib state this peer holds between messages (dedicated mode only), in streams.
    int kept_streams() const noexcept;

private:
#ifdef WISP_DEFLATE
    /// Compresses `payload` with `d` into the pool's frame buffer as a whole frame (header
    /// with RSV1, then the compressed bytes); returns its view, or an empty view on failure.
    std::string_view build_frame(Deflater& d, Opcode op, std::string_view payload,
                                 bool keep_context);
    Box<Deflater> deflater_;   ///< dedicated: context kept between messages
    Box<Inflater> inflater_;   ///< dedicated: the client's context kept
#endif
    DeflateParams params_;
    std::string_view response_;
    // Read only with WISP_DEFLATE (without it nothing is ever compressed); clang's
    // -Wunused-private-field would otherwise fail a -Werror build that leaves zlib out.
    [[maybe_unused]] std::size_t min_size_;
    [[maybe_unused]] std::uint8_t mem_level_;
    [[maybe_unused]] std::uint8_t level_;
    [[maybe_unused]] DeflatePool& pool_;
};

// ---- implementation -------------------------------------------------------
inline bool WsCompression::write_publication(SendQueue& q, const Publication& p) {
    if (!shares()) return write(q, p.binary ? Opcode::binary : Opcode::text, p.payload());
    const SharedBuffer* f = shared_frame(p);
    if (f) q.write_shared(*f, 0, f->size());
    return f != nullptr;
}

#ifdef WISP_DEFLATE
inline std::string_view WsCompression::build_frame(Deflater& d, Opcode op, std::string_view payload,
                                                   bool keep_context) {
    // The compressed bytes go right after room for the longest header, which is then written
    // just before them: the frame is contiguous without moving the payload.
    constexpr std::size_t at = 10;
    std::size_t n = 0;
    if (!d.compress(payload, pool_.frame, at, n, keep_context)) return {};
    const std::size_t header = frame_header_size(n);
    char* start = pool_.frame.data() + at - header;
    encode_frame_header(start, op, true, n, nullptr, true);   // RSV1: compressed (§6)
    return std::string_view(start, header + n);
}

inline bool WsCompression::write(SendQueue& q, Opcode op, std::string_view payload) {
    if (payload.size() < min_size_) return false;
    std::string_view frame;
    if (params_.server_no_context_takeover) {
        Deflater* d = pool_.deflater(params_.server_max_window_bits, mem_level_, level_);
        if (!d) return false;
        frame = build_frame(*d, op, payload, false);
        // Without context nothing depends on this message having been compressed: send the
        // smaller form.
        if (frame.empty() || frame.size() >= payload.size() + frame_header_size(payload.size()))
            return false;
    } else {
        if (!deflater_) {
            deflater_ = make_box<Deflater>(params_.server_max_window_bits, mem_level_, level_);
            if (!deflater_->ok()) {
                deflater_.reset();
                return false;
            }
        }
        // With context takeover the peer's window must see every byte our compressor saw, so
        // what was compressed is sent compressed, larger or not.
        frame = build_frame(*deflater_, op, payload, true);
        if (frame.empty()) return false;   // zlib failed and reset: the next message starts fresh
    }
    std::memcpy(q.reserve(frame.size()), frame.data(), frame.size());
    pool_.frame.trim(DeflatePool::keep_bytes);
    return true;
}

inline const SharedBuffer* WsCompression::shared_frame(const Publication& p) {
    if (!p.compress || p.payload().size() < min_size_ || !shares()) return nullptr;
    const Opcode op = p.binary ? Opcode::binary : Opcode::text;
    const unsigned bits = params_.server_max_window_bits;
    const SharedBuffer& f = p.deflated(bits, [&](std::string_view payload) {
        Deflater* d = pool_.deflater(static_cast<int>(bits), mem_level_, level_);
        if (!d) return SharedBuffer();
        const std::string_view frame = build_frame(*d, op, payload, false);
        if (frame.empty() || frame.size() >= p.ws_frame.size()) return SharedBuffer();
        SharedBuffer b = SharedBuffer::copy_of(frame);
        pool_.frame.trim(DeflatePool::keep_bytes);
        return b;
    });
    return f ? &f : nullptr;
}

inline InflateOutcome WsCompression::inflate(std::string_view in, std::size_t limit, bool text,
                                             std::string_view& out) {
    Inflater* inf = nullptr;
    const bool keep = !params_.client_no_context_takeover;
    if (keep) {
        if (!inflater_) {
            inflater_ = make_box<Inflater>(params_.client_max_window_bits);
            if (!inflater_->ok()) {
                inflater_.reset();
                return InflateOutcome::no_memory;
            }
        }
        inf = inflater_.get();
    } else {
        inf = pool_.inflater();
        if (!inf) return InflateOutcome::no_memory;
    }
    std::size_t n = 0;
    switch (inf->inflate(in, limit, text, keep, pool_.inflated, n)) {
        case Inflater::Result::ok:
            break;
        case Inflater::Result::too_big:
            return InflateOutcome::too_big;
        case Inflater::Result::corrupt:
            return InflateOutcome::corrupt;
        case Inflater::Result::not_utf8:
            return InflateOutcome::not_utf8;
        case Inflater::Result::no_memory:
            return InflateOutcome::no_memory;
    }
    out = std::string_view(pool_.inflated.data(), n);
    return InflateOutcome::ok;
}

inline void WsCompression::finished_message() noexcept {
    pool_.inflated.trim(DeflatePool::keep_bytes);
}

inline int WsCompression::kept_streams() const noexcept {
    return (deflater_ ? 1 : 0) + (inflater_ ? 1 : 0);
}
#else
inline bool WsCompression::write(SendQueue&, Opcode, std::string_view) { return false; }
inline const SharedBuffer* WsCompression::shared_frame(const Publication&) { return nullptr; }
inline InflateOutcome WsCompression::inflate(std::string_view, std::size_t, bool,
                                             std::string_view&) {
    return InflateOutcome::corrupt;
}
inline void WsCompression::finished_message() noexcept {}
inline int WsCompression::kept_streams() const noexcept { return 0; }
#endif

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
