// SPDX-License-Identifier: MIT
// wisp/detail/buffers.hpp — shared immutable byte blocks and the per-connection output queue.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class BlockPool;

/// A reference-counted byte block. Output queues refer to blocks instead of copying bytes, so
/// one framed publication is shared by every subscriber (zero-copy fan-out), across threads.
struct Block {
    std::atomic<std::uint32_t> refs{1};
    std::uint32_t capacity = 0;
    std::size_t size = 0;        ///< bytes written so far
    BlockPool* pool = nullptr;   ///< owner loop's pool (same-thread reuse), or null for the heap
    char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
    const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    std::size_t room() const noexcept { return capacity - size; }
};

Block* block_new(std::size_t capacity);
void block_release(Block* b) noexcept;
inline void block_retain(Block* b) noexcept { b->refs.fetch_add(1, std::memory_order_relaxed); }

/// Owning handle to an immutable shared block (a framed message ready to be queued).
class SharedBuffer {
public:
    SharedBuffer() = default;
    explicit SharedBuffer(Block* adopted) noexcept : b_(adopted) {}
    SharedBuffer(const SharedBuffer& o) noexcept : b_(o.b_) {
        if (b_) block_retain(b_);
    }
    SharedBuffer(SharedBuffer&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
    SharedBuffer& operator=(SharedBuffer o) noexcept {
        std::swap(b_, o.b_);
        return *this;
    }
    ~SharedBuffer() {
        if (b_) block_release(b_);
    }

    /// A new block holding a copy of `bytes`.
    static SharedBuffer copy_of(std::string_view bytes);
    /// A new block with `capacity` bytes to fill through data()/set_size() before sharing.
    static SharedBuffer with_capacity(std::size_t capacity);

    explicit operator bool() const noexcept { return b_ != nullptr; }
    const char* data() const noexcept { return b_->data(); }
    char* mutable_data() noexcept { return b_->data(); }
    std::size_t size() const noexcept { return b_ ? b_->size : 0; }
    void set_size(std::size_t n) noexcept { b_->size = n; }
    std::string_view view() const noexcept { return {b_->data(), b_->size}; }
    Block* get() const noexcept { return b_; }

private:
    Block* b_ = nullptr;
};

/// Free list of fixed-size blocks owned by one I/O thread, so steady-state output does not
/// allocate. Blocks from here never leave their thread.
class BlockPool {
public:
    static constexpr std::size_t block_size = 16 * 1024 - sizeof(Block);
    /// Small blocks start a turn's output: a connection that gets one short message (an
    /// event, a pong) holds 512 bytes until the write, not 16 KiB, so a broadcast to many
    /// thousands of idle connections stays small.
    static constexpr std::size_t small_size = 512 - sizeof(Block);
    explicit BlockPool(std::size_t keep = 64, std::size_t keep_small = 1024)
        : keep_(keep), keep_small_(keep_small) {
        free_.reserve(keep);
        small_free_.reserve(keep_small);
    }
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;
    ~BlockPool();
    Block* get();
    Block* get_small();
    void put(Block* b) noexcept;
    std::size_t free_blocks() const noexcept { return free_.size(); }
    std::size_t free_small_blocks() const noexcept { return small_free_.size(); }

    /// An output queue's list node (one segment), recycled through this pool so that
    /// queueing output allocates nothing in the steady state.
    struct SegNode {
        Block* block;
        std::uint32_t offset;
        std::uint32_t length;
        SegNode* next;
    };
    SegNode* get_node();
    void put_node(SegNode* n) noexcept;
    /// Takes back the `count` nodes linked from `first` to `last` at once.
    void put_nodes(SegNode* first, SegNode* last, std::size_t count) noexcept;
    std::size_t free_nodes() const noexcept { return free_node_count_; }
    /// Free nodes kept, at most: one turn of a fan-out queues a node per publication per
    /// subscriber (16 publications to 10,000 subscribers: 160,000), and nodes over the cap go
    /// to the heap and back every turn. 8 MiB of 32-byte chunks, held only after a turn that
    /// used as many.
    static constexpr std::size_t keep_nodes = 256 * 1024;

private:
    static Block* reuse(PodVector<Block*>& list) noexcept;
    PodVector<Block*> free_;
    PodVector<Block*> small_free_;
    std::size_t keep_;
    std::size_t keep_small_;
    SegNode* free_nodes_ = nullptr;
    std::size_t free_node_count_ = 0;
};

/// Bytes waiting to be written to one socket, in order: a list of (block, offset, length)
/// segments. Small writes are appended into a pooled block; shared blocks are referenced.
/// The list's nodes come from `nodes`, which every call that takes or gives back a node names
/// (the loop's pool; the heap when null), so that the many queues of a loop do not each keep
/// its address. Empty queues hold no memory.
class OutList {
public:
    OutList() = default;
    OutList(const OutList&) = delete;
    OutList& operator=(const OutList&) = delete;
    ~OutList() { clear(nullptr); }   // nodes are heap chunks: a pool's go back to the heap

    /// Copies `bytes` to the end of the queue (blocks from `pool`).
    void append(std::string_view bytes, BlockPool* pool, BlockPool* nodes);
    /// Reserves `n` contiguous bytes at the end of the queue and returns where to write them.
    char* reserve(std::size_t n, BlockPool* pool, BlockPool* nodes);
    /// Queues `length` bytes of `b` from `offset` by reference, taking a reference to `b`.
    void append_block(Block* b, std::size_t offset, std::size_t length, BlockPool* nodes);

    std::size_t size() const noexcept { return bytes_; }
    bool empty() const noexcept { return bytes_ == 0; }

    /// Fills up to `max` (pointer, length) pairs for a gather write; returns how many.
    template <class Fn>
    std::size_t gather(std::size_t max, Fn&& each) const;
    /// Drops the first `n` bytes after they were written.
    void consume(std::size_t n, BlockPool* nodes) noexcept;
    /// Gives every segment that still refers to `b` its own copy (from `pool`), so that `b`
    /// may be overwritten: a reply queued straight from a receive buffer that the socket did
    /// not take at once.
    void own(const Block* b, BlockPool* pool);
    /// Drops everything.
    void clear(BlockPool* nodes) noexcept;

private:
    using Node = BlockPool::SegNode;
    void push(Block* b, std::size_t offset, std::size_t length, BlockPool* nodes);
    void pop(BlockPool* nodes) noexcept;

    Node* head_ = nullptr;   ///< first segment not fully written
    Node* last_ = nullptr;
    std::size_t bytes_ = 0;   ///< bytes not yet written
    Block* tail_ = nullptr;   ///< block this queue may append into (owned, unshared)
};

/// An OutList that keeps the pool of its nodes (`node_pool`; the heap when null), for a queue
/// whose owner has no pool at hand to name in each call.
class OutQueue {
public:
    explicit OutQueue(BlockPool* node_pool = nullptr) noexcept : node_pool_(node_pool) {}
    ~OutQueue() { clear(); }

    void append(std::string_view bytes, BlockPool* pool) { list_.append(bytes, pool, node_pool_); }
    char* reserve(std::size_t n, BlockPool* pool) { return list_.reserve(n, pool, node_pool_); }
    /// Queues a shared block by reference (no copy).
    void append_shared(const SharedBuffer& buf) { append_shared(buf, 0, buf.size()); }
    void append_shared(const SharedBuffer& buf, std::size_t offset, std::size_t length) {
        append_block(buf.get(), offset, length);
    }
    void append_block(Block* b, std::size_t offset, std::size_t length) {
        list_.append_block(b, offset, length, node_pool_);
    }
    std::size_t size() const noexcept { return list_.size(); }
    bool empty() const noexcept { return list_.empty(); }
    template <class Fn>
    std::size_t gather(std::size_t max, Fn&& each) const {
        return list_.gather(max, std::forward<Fn>(each));
    }
    void consume(std::size_t n) noexcept { list_.consume(n, node_pool_); }
    void own(const Block* b, BlockPool* pool) { list_.own(b, pool); }
    void clear() noexcept { list_.clear(node_pool_); }

private:
    OutList list_;
    BlockPool* node_pool_;
};

// ---- implementation -------------------------------------------------------
inline Block* block_new(std::size_t capacity) {
    void* mem = ::operator new(sizeof(Block) + capacity);
    Block* b = new (mem) Block;
    b->capacity = static_cast<std::uint32_t>(capacity);
    return b;
}

inline void block_release(Block* b) noexcept {
    if (b->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (b->pool) {
        b->pool->put(b);
        return;
    }
    b->~Block();
    ::operator delete(b);
}

inline SharedBuffer SharedBuffer::copy_of(std::string_view bytes) {
    Block* b = block_new(bytes.size());
    if (!bytes.empty()) std::memcpy(b->data(), bytes.data(), bytes.size());
    b->size = bytes.size();
    return SharedBuffer(b);
}

inline SharedBuffer SharedBuffer::with_capacity(std::size_t capacity) {
    return SharedBuffer(block_new(capacity));
}

inline BlockPool::~BlockPool() {
    for (auto* list : {&free_, &small_free_})
        for (Block* b : *list) {
            b->~Block();
            ::operator delete(b);
        }
    while (free_nodes_) delete std::exchange(free_nodes_, free_nodes_->next);
}

inline BlockPool::SegNode* BlockPool::get_node() {
    if (!free_nodes_) return new SegNode;
    --free_node_count_;
    return std::exchange(free_nodes_, free_nodes_->next);
}

inline void BlockPool::put_node(SegNode* n) noexcept {
    // Kept up to what a busy turn needs (keep_nodes); more go back.
    if (free_node_count_ >= keep_nodes) {
        delete n;
        return;
    }
    n->next = free_nodes_;
    free_nodes_ = n;
    ++free_node_count_;
}

inline void BlockPool::put_nodes(SegNode* first, SegNode* last, std::size_t count) noexcept {
    if (free_node_count_ + count > keep_nodes) {   // over what put_node() keeps: one by one
        for (SegNode* n = first;;) {
            SegNode* const next = n->next;
            const bool end = n == last;
            put_node(n);
            if (end) break;
            n = next;
        }
        return;
    }
    last->next = free_nodes_;
    free_nodes_ = first;
    free_node_count_ += count;
}

inline Block* BlockPool::reuse(PodVector<Block*>& list) noexcept {
    if (list.empty()) return nullptr;
    Block* b = list.back();
    list.pop_back();
    b->refs.store(1, std::memory_order_relaxed);
    b->size = 0;
    return b;
}

inline Block* BlockPool::get() {
    if (Block* b = reuse(free_)) return b;
    Block* b = block_new(block_size);
    b->pool = this;
    return b;
}

inline Block* BlockPool::get_small() {
    if (Block* b = reuse(small_free_)) return b;
    Block* b = block_new(small_size);
    b->pool = this;
    return b;
}

inline void BlockPool::put(Block* b) noexcept {
    // Never reallocates: capacity is reserved for keep_ (keep_small_) blocks.
    auto& list = b->capacity == small_size ? small_free_ : free_;
    if (list.size() < (b->capacity == small_size ? keep_small_ : keep_)) {
        list.push_back(b);
        return;
    }
    b->~Block();
    ::operator delete(b);
}

inline void OutList::push(Block* b, std::size_t offset, std::size_t length, BlockPool* nodes) {
    Node* n = nodes ? nodes->get_node() : new Node;
    *n = Node{b, static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(length), nullptr};
    if (last_) last_->next = n;
    else head_ = n;
    last_ = n;
    bytes_ += length;
}

inline void OutList::pop(BlockPool* nodes) noexcept {
    Node* n = head_;
    head_ = n->next;
    if (!head_) last_ = nullptr;
    if (n->block == tail_) tail_ = nullptr;
    block_release(n->block);
    if (nodes) nodes->put_node(n);
    else delete n;
}

inline char* OutList::reserve(std::size_t n, BlockPool* pool, BlockPool* nodes) {
    // Append into the tail block when it is still ours alone and has room; this keeps
    // consecutive small writes in one segment, so one loop turn becomes one write.
    if (tail_ && tail_->room() >= n && last_ && last_->block == tail_ &&
        tail_->refs.load(std::memory_order_relaxed) == 1) {
        char* out = tail_->data() + tail_->size;
        tail_->size += n;
        last_->length += static_cast<std::uint32_t>(n);
        bytes_ += n;
        return out;
    }
    Block* b;
    if (pool && n <= BlockPool::small_size && !head_) b = pool->get_small();
    else b = (pool && n <= BlockPool::block_size) ? pool->get() : block_new(n);
    b->size = n;
    push(b, 0, n, nodes);
    tail_ = b;
    return b->data();
}

inline void OutList::append(std::string_view bytes, BlockPool* pool, BlockPool* nodes) {
    if (bytes.empty()) return;
    // Large payloads are split over several segments so one block never exceeds 4 GiB.
    while (!bytes.empty()) {
        std::size_t n = bytes.size();
        if (n > (std::size_t(1) << 30)) n = std::size_t(1) << 30;
        std::memcpy(reserve(n, pool, nodes), bytes.data(), n);
        bytes.remove_prefix(n);
    }
}

inline void OutList::append_block(Block* b, std::size_t offset, std::size_t length,
                                  BlockPool* nodes) {
    if (length == 0) return;
    block_retain(b);
    push(b, offset, length, nodes);
}

template <class Fn>
std::size_t OutList::gather(std::size_t max, Fn&& each) const {
    std::size_t n = 0;
    for (const Node* s = head_; s && n < max; s = s->next, ++n)
        each(s->block->data() + s->offset, std::size_t(s->length));
    return n;
}

inline void OutList::consume(std::size_t n, BlockPool* nodes) noexcept {
    bytes_ -= n;
    // Written nodes go back at once (an idle connection holds no memory), to the pool as one
    // chain.
    Node* const first = head_;
    Node* s = first;
    Node* prev = nullptr;
    std::size_t count = 0;
    while (n > 0) {
        if (n < s->length) {
            s->offset += static_cast<std::uint32_t>(n);
            s->length -= static_cast<std::uint32_t>(n);
            break;
        }
        n -= s->length;
        if (s->block == tail_) tail_ = nullptr;
        block_release(s->block);
        prev = s;
        s = s->next;
        ++count;
    }
    if (count == 0) return;
    head_ = s;
    if (!s) last_ = nullptr;
    if (nodes) {
        nodes->put_nodes(first, prev, count);
        return;
    }
    for (Node* d = first; d != s;) delete std::exchange(d, d->next);
}

inline void OutList::own(const Block* b, BlockPool* pool) {
    for (Node* s = head_; s; s = s->next) {
        if (s->block != b) continue;
        Block* copy =
            (pool && s->length <= BlockPool::block_size) ? pool->get() : block_new(s->length);
        std::memcpy(copy->data(), b->data() + s->offset, s->length);
        copy->size = s->length;
        block_release(s->block);
        s->block = copy;
        s->offset = 0;
    }
}

inline void OutList::clear(BlockPool* nodes) noexcept {
    while (head_) pop(nodes);
    bytes_ = 0;
    tail_ = nullptr;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
