// SPDX-License-Identifier: MIT
// wisp/detail/send_queue.hpp — everything one connection sends, in order, and how much may wait.
// Owns: the outgoing bytes (copies, and references to shared publication frames and to the
// receive buffer), the gathered write of each loop turn, and backpressure: the cap
// (Limits::max_queued_bytes), the policy past it, the pause of reading while too much waits,
// the write-progress clock and whether a drain is owed.
// Must not know: what the bytes are (responses, frames, events) or what carries them (it
// writes to a Transport).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/options.hpp>
#include <wisp/detail/buffers.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/transport.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

WISP_NAMESPACE_BEGIN
namespace detail {

class Connection;

/// The send side of one connection. Appending marks the connection for the end-of-turn flush,
/// so everything a turn produces for a socket (replies, publications, pipelined responses)
/// goes out in one gather write.
/// A base of its Connection, which it finds without keeping its address (owner()); the
/// list's nodes come from the loop's pool.
/// Thread: the connection's loop only.
class SendQueue {
public:
    explicit SendQueue(Loop& loop) noexcept : loop_(loop) {}
    SendQueue(const SendQueue&) = delete;
    SendQueue& operator=(const SendQueue&) = delete;

    /// The connection's loop (Connection::loop()).
    Loop& loop() const noexcept { return loop_; }

    // ---- appending ----
    /// Copies `bytes` to the end of the queue.
    void write(std::string_view bytes) {
        loop_.settle();   // publications held for this turn come first (Loop::settle)
        q_.append(bytes, &loop_.pool, &loop_.pool);
        loop_.mark_dirty(owner());
    }
    /// Reserves `n` contiguous bytes at the end of the queue; the caller fills them at once.
    char* reserve(std::size_t n) {
        loop_.settle();
        loop_.mark_dirty(owner());
        return q_.reserve(n, &loop_.pool, &loop_.pool);
    }
    /// Queues `len` bytes of a shared (immutable) block by reference: a publication's frame.
    void write_shared(const SharedBuffer& b, std::size_t off, std::size_t len) {
        q_.append_block(b.get(), off, len, &loop_.pool);
        loop_.mark_dirty(owner());
    }
    /// True when `bytes` are this connection's own input in the loop's receive buffer (an
    /// echo), which borrow() may queue without copying.
    bool can_borrow(std::string_view bytes) const noexcept;
    /// Queues `bytes` (can_borrow() holds) by reference into the receive buffer; the pump
    /// writes them before its next read and keep_input_safe() copies what was not taken.
    void borrow(std::string_view bytes) {
        loop_.settle();
        q_.append_block(loop_.recv_block(),
                        static_cast<std::size_t>(bytes.data() - loop_.recv_buffer()), bytes.size(),
                        &loop_.pool);
        loop_.mark_dirty(owner());
    }
    /// Before the receive buffer is read into again: queued bytes still in it get their own
    /// copy.
    void keep_input_safe() {
        if (loop_.recv_block()->refs.load(std::memory_order_relaxed) != 1)
            q_.own(loop_.recv_block(), &loop_.pool);
    }
    /// Drops everything (the connection closed).
    void clear() noexcept { q_.clear(&loop_.pool); }

    std::size_t size() const noexcept { return q_.size(); }
    bool empty() const noexcept { return q_.empty(); }

    // ---- writing ----
    enum class Flush : std::uint8_t {
        drained,   ///< everything was written
        blocked,   ///< the transport took less than offered: wait for on_writable()
        failed,    ///< the transport is broken
    };
    /// Writes the queue with gather writes until it is empty or the transport refuses more.
    /// `T` is a Transport (the connection's socket by its own type, so its calls are direct).
    template <class T>
    Flush write_to(T& t);
    /// A write is waiting for the transport to take bytes again.
    bool blocked() const noexcept { return blocked_; }
    void set_blocked(bool b) noexcept { blocked_ = b; }
    /// When bytes last moved (for Limits::send_timeout while blocked): the stored low 32 bits
    /// widened against the loop's clock (a blocked queue times out long before 2^32 ticks).
    std::uint64_t progress_tick() const noexcept {
        const std::uint64_t now = loop_.now_tick();
        return now - static_cast<std::uint32_t>(static_cast<std::uint32_t>(now) - progress_tick_);
    }

    // ---- backpressure ----
    /// What queueing one more message may do.
    enum class Room : std::uint8_t {
        ok,       ///< queue it
        full,     ///< the cap is reached: apply the policy (see policy())
        closed,   ///< the connection closed while the queue was offered to the transport
    };
    /// Whether one more message may be queued. Below the cap it always may (so the most a
    /// connection holds is the cap plus one message). At the cap, the queue is first offered to
    /// the transport (a burst within one loop turn is not a slow reader): only what it refuses
    /// counts. A full answer marks a drain as owed.
    Room room();
    /// The policy to apply when room() says full.
    BackpressurePolicy policy() const noexcept { return loop_.core.options.backpressure; }
    /// The cap: Limits::max_queued_bytes.
    std::size_t cap() const noexcept { return loop_.core.options.limits.max_queued_bytes; }
    /// Reading pauses while more than this waits: a client that pipelines requests (`cap`) or
    /// sends WebSocket messages (half the cap, so replies to one read cannot reach the cap)
    /// faster than it reads the answers.
    bool over(std::size_t limit) const noexcept { return q_.size() > limit; }

private:
    /// The connection this queue is a base of (connection.hpp).
    Connection& owner() const noexcept;

    Loop& loop_;
    OutList q_;
    std::uint32_t progress_tick_ = 0;   ///< the loop's tick, its low 32 bits (progress_tick())
    bool blocked_ = false;

public:
    /// A send was refused or the transport blocked since the last drain: the next drain is
    /// reported (the WebSocket `drain` hook). (Declared here to share the flags' word.)
    bool drain_owed = false;
};

// ---- implementation -------------------------------------------------------
inline bool SendQueue::can_borrow(std::string_view bytes) const noexcept {
    const char* base = loop_.recv_buffer();
    return loop_.reader == &owner() && bytes.data() >= base &&
           bytes.data() + bytes.size() <= base + loop_.recv_size();
}

template <class T>
inline SendQueue::Flush SendQueue::write_to(T& t) {
    while (!q_.empty()) {
        Slice slices[64];
        std::size_t count = 0, offered = 0;
        q_.gather(64, [&](const char* p, std::size_t n) {
            slices[count++] = Slice{p, n};
            offered += n;
        });
        std::size_t put = 0;
        const IoResult r = t.write(slices, count, put);
        if (r == IoResult::again) return Flush::blocked;
        if (r != IoResult::done) return Flush::failed;
        q_.consume(put, &loop_.pool);
        progress_tick_ = static_cast<std::uint32_t>(loop_.now_tick());
        if (put < offered) return Flush::blocked;   // the kernel buffer is full: wait, never spin
    }
    return Flush::drained;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
