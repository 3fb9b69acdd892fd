// SPDX-License-Identifier: MIT
// wisp/detail/ws_reader.hpp — the server's WebSocket reader (RFC 6455 §5, §6.2, §8.1): masked
// client frames in, whole messages and control frames out.
// Owns: the frame-by-frame state across reads, message reassembly and its buffers, the checks a
// stream of frames must pass (RSV bits, opcodes, fragmentation, control frames, the close body,
// max_message_bytes, UTF-8 of text as it arrives), the close code for each failure.
// Must not know: sockets, sessions, what a message means, inflating (a compressed message goes
// whole to the sink), how a frame header is written (ws_frame.hpp).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/detail/utf8.hpp>
#include <wisp/detail/ws_frame.hpp>
#include <wisp/detail/box.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

// Bytes in, events out: nothing here touches a socket, a clock or a thread. Every function may
// be called from any thread; a WsReader is used by one thread at a time.

/// Limits enforced by WsReader.
struct WsLimits {
    /// A whole data message (the sum of its fragments) over this size fails the connection
    /// with 1009 as soon as a frame header announces it, before any of the payload is buffered.
    /// A larger value than std::string::max_size() (about 1 GiB on a 32-bit size_t) acts as
    /// that size: no longer message can be reassembled.
    std::uint64_t max_message_bytes = 16u << 20;
};

/// The server side's incremental message reader: masked client frames in, whole messages and
/// control frames out, in the order they arrive (RFC 6455 §5, §6.2, §8.1).
///
/// Sink requirements (all calls happen synchronously inside feed()):
///   void on_message(Opcode op, std::string_view payload);   // op: text or binary
///   void on_ping(std::string_view payload);
///   void on_pong(std::string_view payload);
///   void on_close(std::uint16_t code, std::string_view reason);
///   void on_error(wisp::errc e, std::uint16_t close_code, const char* why);
///
/// - on_message gets a whole, reassembled message. A text message is valid UTF-8.
/// - With compression on (permessage-deflate negotiated, RFC 7692), a message whose first frame
///   has RSV1 set is compressed: it goes whole, still compressed and unchecked for UTF-8, to
///   `void on_compressed_message(Opcode op, std::string_view payload)` (same lifetime rules),
///   which the sink must then have; a sink without it sees such a message as a protocol error.
///   Its compressed size may exceed max_message_bytes by the slack deflate_size_slack() allows
///   (incompressible data grows a little); the inflated size is the sink's to limit.
///   Zero-copy: when the message is one unfragmented frame lying entirely in the buffer passed
///   to this feed(), `payload` points into that buffer (unmasked in place); otherwise it points
///   into the reader's message buffer. Either way it is valid only during the call.
/// - on_ping / on_pong get whole control payloads (<= 125 bytes), also when split across feeds
///   or interleaved between the fragments of a message; valid only during the call.
/// - on_close gets the peer's validated close: code 1005 when the payload is empty. After it
///   the reader is done: feed() consumes nothing more.
/// - on_error: `e` is errc::protocol_error (close 1002), errc::invalid_utf8 (1007) or
///   errc::message_too_big (1009); `why` is a static string for logs. After it the reader is
///   done: further feed() calls consume nothing and call nothing.
/// Leniency, deliberate: a length not written in its shortest form (§5.2 says "the minimal
/// number of bytes") is accepted; it is unambiguous, and refusing it would only break sloppy
/// clients. RSV2 and RSV3 are always a protocol error (no extension defines them here); RSV1 is
/// one too unless compression is on, and even then on control frames and continuation frames
/// (RFC 7692 §6.1: only a message's first frame says it is compressed).
/// Memory: the reader is small (no inline buffers). The message buffer grows only when a
/// message does not arrive whole in one read, is released after delivering a message whose
/// buffer exceeded 64 KiB, and on release_buffers(); a control frame split across reads uses a
/// 125-byte heap block released when the frame ends.
/// Thread: one thread at a time. A Sink must not call back into the reader during a call.
/// Exceptions: only std::bad_alloc, and whatever the Sink throws, which propagates out of
/// feed(). The reader is then left as if the event had been delivered, but the rest of that
/// buffer is unread and the count is lost, so the caller should fail the connection.
/// Limit: WsReaderCore keeps none; each feed() is given the message limit (WsLimits, as
/// clamp_limit() makes it), so a session takes it from its route and an idle peer holds 8 B
/// less. WsReader is the reader that keeps its own.
class WsReaderCore {
public:
    explicit WsReaderCore(bool compression = false) noexcept : compression_(compression) {}

    /// Reads `n` bytes of the stream, split anywhere, calling `sink` for each event completed.
    /// `data` is unmasked in place. Returns the bytes consumed: `n`, or less when a close frame
    /// or an error ended the stream (then up to the close frame's last byte, or to where the
    /// error was found). Bytes of an unfinished frame are absorbed, never left to the caller:
    /// the next feed() continues with the bytes that follow. `max_message` (clamp_limit()'s)
    /// applies from the next frame header on.
    template <class Sink>
    std::size_t feed(char* data, std::size_t n, Sink& sink, std::uint64_t max_message);

    /// WsLimits::max_message_bytes as a reader applies it: at most std::string::max_size().
    static std::uint64_t clamp_limit(std::uint64_t max_message_bytes) noexcept;
    /// Whether RSV1 may mark a compressed message (permessage-deflate was negotiated).
    void set_compression(bool on) noexcept { compression_ = on; }

    /// True between frames with no fragmented message in progress: a good time for
    /// release_buffers().
    bool idle() const noexcept;
    /// True after on_close or on_error.
    bool done() const noexcept { return state_ >= st_closed; }
    /// How much of `room` the next read should ask for, when the peer's frames lately had
    /// `frame` bytes on the wire (0: not known): up to where such frames would end, if one
    /// fits, so that a read does not end inside a frame (whose payload would then be copied
    /// together in the message buffer); otherwise all of `room`. At least 1.
    std::size_t read_budget(std::size_t room, std::size_t frame) const noexcept;

    /// Frees the buffers' capacity when they hold nothing in progress (a no-op otherwise).
    void release_buffers() noexcept;
    /// Heap bytes the reader holds now (message buffer capacity, control block), for memory
    /// accounting and tests. An empty message buffer's inline capacity is counted too.
    std::size_t buffer_capacity() const noexcept {
        return (msg_ ? msg_->capacity() : 0) + (ctl_ ? 125 : 0);
    }

private:
    struct Fault {
        errc code;
        const char* why;   // nullptr: no fault
    };
    enum : std::uint8_t { st_header, st_payload, st_closed, st_failed };

    Fault parse_header(const unsigned char* d, std::size_t n, std::size_t& pos,
                       std::uint64_t limit) noexcept;
    Fault parse_header_bytes(const unsigned char* d, std::size_t n, std::size_t& pos,
                             std::uint64_t limit) noexcept;
    Fault on_b0(unsigned char c) noexcept;
    Fault on_b1(unsigned char c) noexcept;
    Fault on_length(std::uint64_t limit) noexcept;
    void begin_payload() noexcept;
    void end_frame() noexcept;
    void append(const char* p, std::size_t n);
    void drop_buffers() noexcept;
    template <class Sink>
    void fail(Sink& sink, Fault f);
    template <class Sink>
    bool control(Sink& sink, unsigned op, std::string_view payload);
    template <class Sink>
    void deliver(Sink& sink, Opcode op, std::string_view payload);
    /// The most payload bytes the message in progress may have on the wire, under `limit`.
    std::uint64_t wire_limit(std::uint64_t limit) const noexcept;

    /// Fragments of a message that did not arrive whole: made by the first one, so that the
    /// many idle readers hold a pointer rather than a string.
    Box<std::string> msg_;
    std::unique_ptr<char[]> ctl_;   // a control payload split across reads (125 bytes)
    std::uint64_t remaining_ = 0;   // payload bytes of this frame still to come
    std::uint8_t key_[4] = {};      // this frame's masking key
    std::uint8_t state_ = st_header;
    std::uint8_t hdr_pos_ = 0;      // header bytes read so far
    std::uint8_t b0_ = 0;           // FIN, RSV1-3, opcode
    std::uint8_t b1_ = 0;           // MASK, 7-bit length
    std::uint8_t phase_ = 0;        // payload bytes read so far, mod 4
    std::uint8_t msg_op_ = 0;       // opcode of the data message in progress; 0: none
    std::uint8_t ctl_len_ = 0;      // bytes in ctl_
    bool started_ = false;          // some of this frame's payload was read by an earlier feed
    bool compression_ = false;      // RSV1 may mark a compressed message
    bool msg_compressed_ = false;   // the message in progress is compressed
    Utf8Validator utf8_;            // a text message's bytes so far
};

/// A WsReaderCore that keeps its own message limit.
class WsReader : public WsReaderCore {
public:
    explicit WsReader(WsLimits limits = {}, bool compression = false) noexcept
        : WsReaderCore(compression), max_message_(clamp_limit(limits.max_message_bytes)) {}

    /// WsReaderCore::feed() under this reader's limit.
    template <class Sink>
    std::size_t feed(char* data, std::size_t n, Sink& sink) {
        return WsReaderCore::feed(data, n, sink, max_message_);
    }
    /// Changes the limits; applies from the next frame header on.
    void set_limits(WsLimits limits) noexcept {
        max_message_ = clamp_limit(limits.max_message_bytes);
    }
    /// The message limit in force.
    std::uint64_t max_message() const noexcept { return max_message_; }

private:
    std::uint64_t max_message_;
};

/// The close code RFC 6455 §7.4.1 gives each reader error.
std::uint16_t close_code_for(errc e) noexcept;

/// How many more bytes than its inflated limit a compressed message may take on the wire: an
/// eighth, plus 1 KiB. Deflate's own worst case is 5 bytes per 64 KiB stored block, but an
/// encoder may pick fixed Huffman codes for random bytes (up to 9 bits per byte).
constexpr std::uint64_t deflate_size_slack(std::uint64_t limit) noexcept {
    return limit / 8 + 1024;
}

// ---- implementation -------------------------------------------------------

inline std::uint16_t close_code_for(errc e) noexcept {
    switch (e) {
        case errc::invalid_utf8:
            return 1007;
        case errc::message_too_big:
            return 1009;
        default:
            return 1002;
    }
}

inline bool WsReaderCore::idle() const noexcept {
    return state_ == st_header && hdr_pos_ == 0 && msg_op_ == 0;
}

inline std::size_t WsReaderCore::read_budget(std::size_t room, std::size_t frame) const noexcept {
    if (room == 0) return 1;
    // Inside a header (or after the stream ended) where the next frame ends is not known.
    if (frame == 0 || state_ > st_payload || (state_ == st_header && hdr_pos_ != 0)) return room;
    const std::uint64_t left = state_ == st_payload ? remaining_ : 0;   // of the current frame
    if (left >= room || room - left < frame) return room;
    return static_cast<std::size_t>(left + (room - left) / frame * frame);
}

inline void WsReaderCore::release_buffers() noexcept {
    if (msg_op_ == 0 || !msg_ || msg_->empty()) msg_.reset();
    if (ctl_len_ == 0 && !(state_ == st_payload && (b0_ & 0x08))) ctl_.reset();
}

inline void WsReaderCore::drop_buffers() noexcept {
    msg_.reset();
    ctl_.reset();
    ctl_len_ = 0;
}

inline std::uint64_t WsReaderCore::clamp_limit(std::uint64_t max_message_bytes) noexcept {
    // A 64-bit length announcing more than msg_ can ever hold is refused on the header (1009),
    // not accepted and buffered until an allocation fails; with a 32-bit size_t any limit
    // from 1 GiB up would otherwise let that happen.
    const std::uint64_t most = std::string().max_size();
    return max_message_bytes < most ? max_message_bytes : most;
}

inline WsReaderCore::Fault WsReaderCore::on_b0(unsigned char c) noexcept {
    b0_ = c;
    // RFC 6455 §5.2: RSV1-3 must be 0 unless an extension defines them. Only permessage-deflate
    // is supported, and it defines RSV1 alone (RFC 7692 §6).
    if (c & 0x30) return {errc::protocol_error, "reserved bit (RSV2 or RSV3) set"};
    const bool rsv1 = (c & 0x40) != 0;
    if (rsv1 && !compression_)
        return {errc::protocol_error, "reserved bit (RSV1) set without a negotiated extension"};
    const unsigned op = c & 0x0Fu;
    switch (op) {
        case 0:
            // §5.4: a continuation frame only continues a fragmented message.
            if (msg_op_ == 0) return {errc::protocol_error, "continuation frame with no message"};
            // RFC 7692 §6.1: only the first frame of a message carries the compressed bit.
            if (rsv1) return {errc::protocol_error, "RSV1 set on a continuation frame"};
            return {};
        case 1:
        case 2:
            // §5.4: the fragments of one message are not interleaved with another message.
            if (msg_op_ != 0) return {errc::protocol_error, "new message inside a fragmented one"};
            msg_op_ = static_cast<std::uint8_t>(op);
            msg_compressed_ = rsv1;
            if (msg_) msg_->clear();
            utf8_.reset();
            return {};
        case 8:
        case 9:
        case 10:
            // §5.5: control frames must not be fragmented.
            if (!(c & 0x80)) return {errc::protocol_error, "fragmented control frame"};
            // RFC 7692 §6.1: control frames are never compressed.
            if (rsv1) return {errc::protocol_error, "RSV1 set on a control frame"};
            return {};
        default:
            return {errc::protocol_error, "reserved opcode"};   // §5.2: 3-7, 11-15
    }
}

inline WsReaderCore::Fault WsReaderCore::on_b1(unsigned char c) noexcept {
    b1_ = c;
    // §5.1: the server must fail the connection on an unmasked client frame.
    if (!(c & 0x80)) return {errc::protocol_error, "client frame not masked"};
    const unsigned len7 = c & 0x7Fu;
    // §5.5: control payloads are at most 125 bytes (so never use an extended length).
    if ((b0_ & 0x08) && len7 > 125) return {errc::protocol_error, "control frame over 125 bytes"};
    remaining_ = len7 < 126 ? len7 : 0;   // then on_length() once the length is complete
    return {};
}

inline WsReaderCore::Fault WsReaderCore::on_length(std::uint64_t limit) noexcept {
    // §5.2: in the 64-bit form the most significant bit must be 0.
    if (remaining_ >> 63) return {errc::protocol_error, "64-bit length with the top bit set"};
    // Data frames: the whole message must fit. Checked on the header, before any payload
    // is read, so an announced giant is refused without buffering a byte of it.
    const std::size_t held = msg_ ? msg_->size() : 0;
    if (!(b0_ & 0x08) && (held > wire_limit(limit) || remaining_ > wire_limit(limit) - held))
        return {errc::message_too_big, "message over max_message_bytes"};
    return {};
}

// A compressed message's wire limit, out of line: asking a std::string for its max_size()
// would otherwise give the length check of every frame a stack frame to set up.
WISP_NOINLINE inline std::uint64_t deflated_wire_limit(std::uint64_t limit) noexcept {
    const std::uint64_t most = std::string().max_size();
    const std::uint64_t slack = deflate_size_slack(limit);
    return limit < most - slack ? limit + slack : most;
}

inline std::uint64_t WsReaderCore::wire_limit(std::uint64_t limit) const noexcept {
    return msg_compressed_ ? deflated_wire_limit(limit) : limit;
}

inline void WsReaderCore::begin_payload() noexcept {
    state_ = st_payload;
    hdr_pos_ = 0;
    phase_ = 0;
    started_ = false;
}

inline void WsReaderCore::end_frame() noexcept {
    state_ = st_header;
    hdr_pos_ = 0;
    started_ = false;
}

inline WsReaderCore::Fault WsReaderCore::parse_header(const unsigned char* d, std::size_t n,
                                                      std::size_t& pos,
                                                      std::uint64_t limit) noexcept {
    // The whole header is here (it is at most 14 bytes): no per-byte bookkeeping. A header split
    // between reads is rare and goes byte by byte, out of line, so that the checks of the
    // common case are made in place.
    if (hdr_pos_ != 0 || n - pos < max_frame_header_bytes)
        return parse_header_bytes(d, n, pos, limit);
    Fault f{};
    const unsigned char* h = d + pos;
    if ((f = on_b0(h[0])).why || (f = on_b1(h[1])).why) return f;
    const unsigned len7 = h[1] & 0x7Fu;
    std::size_t at = 2;
    if (len7 >= 126) {
        const std::size_t ext = len7 == 126 ? 2 : 8;
        std::uint64_t len = 0;
        for (std::size_t i = 0; i < ext; ++i) len = len << 8 | h[2 + i];
        remaining_ = len;
        at += ext;
    }
    if ((f = on_length(limit)).why) return f;
    std::memcpy(key_, h + at, 4);
    pos += at + 4;
    begin_payload();
    return f;
}

WISP_NOINLINE inline WsReaderCore::Fault WsReaderCore::parse_header_bytes(
    const unsigned char* d, std::size_t n, std::size_t& pos, std::uint64_t limit) noexcept {
    Fault f{};
    while (pos < n) {
        const unsigned char c = d[pos++];
        const unsigned at = hdr_pos_++;
        if (at == 0) {
            if ((f = on_b0(c)).why) return f;
            continue;
        }
        if (at == 1) {
            if ((f = on_b1(c)).why || ((c & 0x7Fu) < 126 && (f = on_length(limit)).why)) return f;
            continue;
        }
        const unsigned len7 = b1_ & 0x7Fu;
        const unsigned ext = len7 == 127 ? 8 : len7 == 126 ? 2 : 0;
        if (at < 2 + ext) {
            remaining_ = remaining_ << 8 | c;
            if (at == 1 + ext && (f = on_length(limit)).why) return f;
            continue;
        }
        key_[at - 2 - ext] = c;
        if (at == 5 + ext) {
            begin_payload();
            return f;
        }
    }
    return f;
}

inline void WsReaderCore::append(const char* p, std::size_t n) {
    if (!msg_) msg_ = make_box<std::string>();
    const std::size_t need = msg_->size() + n;
    if (need > msg_->capacity()) {
        // Room for the rest of this frame too (capped, since the peer may never send it), and
        // at least double, so a message arriving in many small reads is copied O(1) times.
        constexpr std::uint64_t ahead_cap = 1u << 20;
        std::size_t want =
            need + static_cast<std::size_t>(remaining_ < ahead_cap ? remaining_ : ahead_cap);
        if (want < 2 * msg_->capacity()) want = 2 * msg_->capacity();
        msg_->reserve(want);
    }
    msg_->append(p, n);
}

template <class Sink>
void WsReaderCore::fail(Sink& sink, Fault f) {
    state_ = st_failed;
    drop_buffers();
    sink.on_error(f.code, close_code_for(f.code), f.why);
}

// Delivers a whole control payload; false when the stream ended (close or error).
template <class Sink>
bool WsReaderCore::control(Sink& sink, unsigned op, std::string_view payload) {
    if (op == 9) {
        sink.on_ping(payload);
        return true;
    }
    if (op == 10) {
        sink.on_pong(payload);
        return true;
    }
    // §5.5.1: an optional body of a 2-byte code, then a UTF-8 reason; no body reads as 1005
    // (§7.1.5). §7.4.1: codes that may not be sent are a protocol error when received.
    std::uint16_t code = 1005;
    std::string_view reason;
    if (payload.size() == 1) {
        fail(sink, Fault{errc::protocol_error, "close payload of 1 byte"});
        return false;
    }
    if (payload.size() >= 2) {
        code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                          static_cast<unsigned char>(payload[1]));
        if (!is_valid_close_code(code)) {
            fail(sink, Fault{errc::protocol_error, "invalid close code"});
            return false;
        }
        reason = payload.substr(2);
        if (!is_valid_utf8(reason)) {
            fail(sink, Fault{errc::invalid_utf8, "close reason is not UTF-8"});
            return false;
        }
    }
    state_ = st_closed;
    sink.on_close(code, reason);
    return false;
}

template <class S, class = void>
struct has_on_compressed_message : std::false_type {};
template <class S>
struct has_on_compressed_message<S, std::void_t<decltype(std::declval<S&>().on_compressed_message(
                                        Opcode::text, std::string_view()))>> : std::true_type {};

template <class Sink>
void WsReaderCore::deliver(Sink& sink, Opcode op, std::string_view payload) {
    if (!msg_compressed_) {
        sink.on_message(op, payload);
        return;
    }
    msg_compressed_ = false;
    if constexpr (has_on_compressed_message<Sink>::value) {
        sink.on_compressed_message(op, payload);
    } else {
        fail(sink, Fault{errc::protocol_error, "compressed message and no way to inflate it"});
    }
}

template <class Sink>
std::size_t WsReaderCore::feed(char* data, std::size_t n, Sink& sink, std::uint64_t max_message) {
    std::size_t pos = 0;
    for (;;) {
        if (state_ == st_header) {
            const Fault f =
                parse_header(reinterpret_cast<const unsigned char*>(data), n, pos, max_message);
            if (WISP_UNLIKELY(f.why != nullptr)) {
                fail(sink, f);
                return pos;
            }
            if (state_ == st_header) return n;   // the header continues in the next read
        } else if (state_ != st_payload) {
            return pos;   // closed or failed
        }

        const std::size_t left = n - pos;
        const std::size_t avail = remaining_ < left ? static_cast<std::size_t>(remaining_) : left;
        char* const p = data + pos;
        const unsigned op = b0_ & 0x0Fu;
        const bool whole = !started_ && avail == remaining_;   // the frame's payload is all here

        if (op & 0x08) {   // control frame
            if (whole) {
                mask(p, avail, key_);
                pos += avail;
                end_frame();
                if (control(sink, op, std::string_view(p, avail))) continue;
                drop_buffers();
                return pos;
            }
            if (!ctl_) ctl_.reset(new char[125]);
            mask(p, avail, key_, phase_);
            if (avail != 0) std::memcpy(ctl_.get() + ctl_len_, p, avail);
            ctl_len_ = static_cast<std::uint8_t>(ctl_len_ + avail);
            phase_ = static_cast<std::uint8_t>((phase_ + avail) & 3);
            remaining_ -= avail;
            pos += avail;
            started_ = true;
            if (remaining_ != 0) return n;
            const std::size_t len = ctl_len_;
            ctl_len_ = 0;
            end_frame();
            const bool go_on = control(sink, op, std::string_view(ctl_.get(), len));
            // Split control frames are rare: keep no 125-byte block on an idle connection.
            ctl_.reset();
            if (go_on) continue;
            drop_buffers();
            return pos;
        }

        // A compressed message's UTF-8 is checked once inflated, by the sink.
        const bool text = msg_op_ == static_cast<std::uint8_t>(Opcode::text) && !msg_compressed_;
        const bool fin = (b0_ & 0x80) != 0;
        if (whole && fin && op != 0) {
            // §5.4: FIN set and a non-zero opcode is an unfragmented message; it lies entirely
            // in this buffer, so it is delivered in place. Text that unmasks to ASCII is UTF-8
            // without a second pass over it.
            bool ascii = false;
            if (text) ascii = mask_ascii(p, avail, key_);
            else mask(p, avail, key_);
            pos += avail;
            end_frame();
            msg_op_ = 0;
            if (text && !ascii && !is_valid_utf8(p, avail)) {
                fail(sink, Fault{errc::invalid_utf8, "text message is not UTF-8"});
                return pos;
            }
            deliver(sink, static_cast<Opcode>(op), std::string_view(p, avail));
            if (state_ >= st_closed) return pos;
            continue;
        }
        bool ascii = false;
        if (text) ascii = mask_ascii(p, avail, key_, phase_);
        else mask(p, avail, key_, phase_);
        phase_ = static_cast<std::uint8_t>((phase_ + avail) & 3);
        remaining_ -= avail;
        pos += avail;
        started_ = true;
        // §8.1: fail as soon as the text is known to be invalid, not at the message's end.
        // ASCII between code points leaves the validator where it was.
        if (text && !(ascii && utf8_.complete()) && !utf8_.feed(p, avail)) {
            fail(sink, Fault{errc::invalid_utf8, "text message is not UTF-8"});
            return pos;
        }
        append(p, avail);
        if (remaining_ != 0) return n;
        end_frame();
        if (!fin) continue;
        if (text && !utf8_.complete()) {
            fail(sink, Fault{errc::invalid_utf8, "text message ends inside a UTF-8 sequence"});
            return pos;
        }
        const Opcode mop = static_cast<Opcode>(msg_op_);
        msg_op_ = 0;
        deliver(sink, mop, msg_ ? std::string_view(*msg_) : std::string_view());
        if (state_ >= st_closed) return pos;
        if (msg_) msg_->clear();
        if (msg_ && msg_->capacity() > (64u << 10)) msg_.reset();
    }
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
