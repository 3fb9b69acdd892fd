// SPDX-License-Identifier: MIT
// wisp/detail/pod_vector.hpp — PodVector<T>: a growable array of a trivially copyable T whose
// growth, insertion and erasure are one non-template code shared by every T (and MoveVector's
// growth: move_vector.hpp).
// Owns: its elements' storage. Must not know: what the elements mean.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// The untyped part of PodVector: bytes [begin_, end_) in use, [end_, cap_) spare, as
/// std::vector keeps them. Members that need it take the element size, so one copy of each
/// serves all element types.
class PodVectorBase {
protected:
    PodVectorBase() noexcept = default;
    PodVectorBase(PodVectorBase&& other) noexcept
        : begin_(other.begin_), end_(other.end_), cap_(other.cap_) {
        other.begin_ = other.end_ = other.cap_ = nullptr;
    }
    ~PodVectorBase() { ::operator delete(begin_); }

    std::size_t used_bytes() const noexcept { return static_cast<std::size_t>(end_ - begin_); }
    std::size_t spare_bytes() const noexcept { return static_cast<std::size_t>(cap_ - end_); }
    /// Storage for at least `bytes`, what is in use kept.
    void reserve_bytes(std::size_t bytes);
    /// Room for `extra` more bytes, growing as std::vector does: to the larger of twice the
    /// size and the size plus `extra`.
    void make_room(std::size_t extra) {
        if (spare_bytes() < extra) grow(extra);
    }
    void grow(std::size_t extra);
    /// push_back's slow path: grows, then appends the `elem` bytes at `value` (which may be
    /// one of ours).
    void append_grown(const void* value, std::size_t elem);
    /// Moves the bytes from `at` on up by `n` (room must be made first).
    void open_gap(char* at, std::size_t n) noexcept;
    /// Removes the bytes [first, last).
    void close_gap(char* first, char* last) noexcept;
    void assign(const PodVectorBase& other);
    /// Moves the elements in [first, last) to `to` and destroys them (MoveVector's per-type
    /// part of growth).
    using Relocate = void (*)(char* first, char* last, char* to) noexcept;
    /// reserve_bytes and grow for elements that are not copied as bytes: moved by `relocate`.
    void reserve_moving(std::size_t bytes, Relocate relocate);
    void grow_moving(std::size_t extra, Relocate relocate);
    void swap_with(PodVectorBase& other) noexcept {
        std::swap(begin_, other.begin_);
        std::swap(end_, other.end_);
        std::swap(cap_, other.cap_);
    }
    void take(PodVectorBase& other) noexcept {
        ::operator delete(begin_);
        begin_ = other.begin_;
        end_ = other.end_;
        cap_ = other.cap_;
        other.begin_ = other.end_ = other.cap_ = nullptr;
    }

    char* begin_ = nullptr;
    char* end_ = nullptr;
    char* cap_ = nullptr;
};

/// A std::vector<T> for a trivially copyable T, in the members wisp uses: at -O0 each
/// std::vector<T> a file uses emits thirty to a hundred functions (allocator, _Vector_base,
/// relocation, iterators), a PodVector<T> the few one-line members it calls, over the
/// non-template PodVectorBase (issue 25). Iterators are plain pointers; like std::vector's,
/// they are invalidated by growth, insertion and erasure.
template <class T>
class PodVector : private PodVectorBase {
    static_assert(std::is_trivially_copyable<T>::value, "PodVector: T is copied as bytes");
    static_assert(alignof(T) <= alignof(std::max_align_t), "PodVector: operator new alignment");

public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    PodVector() noexcept = default;
    /// `n` value-initialized elements.
    explicit PodVector(std::size_t n) { resize(n); }
    PodVector(const PodVector& other) : PodVectorBase() { assign(other); }
    PodVector(PodVector&& other) noexcept = default;
    PodVector& operator=(const PodVector& other) {
        if (this != &other) assign(other);
        return *this;
    }
    PodVector& operator=(PodVector&& other) noexcept {
        if (this != &other) take(other);
        return *this;
    }
    ~PodVector() = default;

    T* data() noexcept { return reinterpret_cast<T*>(begin_); }
    const T* data() const noexcept { return reinterpret_cast<const T*>(begin_); }
    T* begin() noexcept { return data(); }
    T* end() noexcept { return reinterpret_cast<T*>(end_); }
    const T* begin() const noexcept { return data(); }
    const T* end() const noexcept { return reinterpret_cast<const T*>(end_); }
    std::size_t size() const noexcept { return used_bytes() / sizeof(T); }
    std::size_t capacity() const noexcept {
        return static_cast<std::size_t>(cap_ - begin_) / sizeof(T);
    }
    bool empty() const noexcept { return begin_ == end_; }
    T& operator[](std::size_t i) noexcept { return data()[i]; }
    const T& operator[](std::size_t i) const noexcept { return data()[i]; }
    T& front() noexcept { return *data(); }
    T& back() noexcept { return end()[-1]; }
    const T& back() const noexcept { return end()[-1]; }

    void push_back(const T& value) {
        if (WISP_UNLIKELY(end_ == cap_)) return append_grown(&value, sizeof(T));
        *end() = value;
        end_ += sizeof(T);
    }
    void pop_back() noexcept { end_ -= sizeof(T); }
    void clear() noexcept { end_ = begin_; }
    void reserve(std::size_t n) { reserve_bytes(n * sizeof(T)); }
    /// Grows with value-initialized elements, or drops the last ones.
    void resize(std::size_t n) {
        const std::size_t now = size();
        if (n > now) {
            make_room((n - now) * sizeof(T));
            for (T* p = end(); p != data() + n; ++p) ::new (static_cast<void*>(p)) T();
        }
        end_ = begin_ + n * sizeof(T);
    }
    T* insert(const T* pos, const T& value) {
        const std::size_t at = static_cast<std::size_t>(pos - data());
        const T copy = value;   // `value` may be one of ours
        make_room(sizeof(T));
        open_gap(begin_ + at * sizeof(T), sizeof(T));
        data()[at] = copy;
        return data() + at;
    }
    T* erase(const T* pos) noexcept { return erase(pos, pos + 1); }
    T* erase(const T* first, const T* last) noexcept {
        char* from = begin_ + (reinterpret_cast<const char*>(first) - begin_);
        close_gap(from, begin_ + (reinterpret_cast<const char*>(last) - begin_));
        return reinterpret_cast<T*>(from);
    }
    void swap(PodVector& other) noexcept { swap_with(other); }
};

// ---- implementation -------------------------------------------------------

WISP_NOINLINE inline void PodVectorBase::reserve_bytes(std::size_t bytes) {
    if (bytes <= static_cast<std::size_t>(cap_ - begin_)) return;
    char* fresh = static_cast<char*>(::operator new(bytes));
    const std::size_t used = used_bytes();
    if (used != 0) std::memcpy(fresh, begin_, used);
    ::operator delete(begin_);
    begin_ = fresh;
    end_ = fresh + used;
    cap_ = fresh + bytes;
}

WISP_NOINLINE inline void PodVectorBase::grow(std::size_t extra) {
    const std::size_t used = used_bytes();
    reserve_bytes(used + (used > extra ? used : extra));
}

WISP_NOINLINE inline void PodVectorBase::append_grown(const void* value, std::size_t elem) {
    // Compared as integers: `value` may be anywhere, and pointers into different objects
    // have no order in C++.
    const auto from = reinterpret_cast<std::uintptr_t>(value);
    const auto base = reinterpret_cast<std::uintptr_t>(begin_);
    const bool ours = begin_ != nullptr && from >= base && from < base + used_bytes();
    const std::size_t at = static_cast<std::size_t>(from - base);
    grow(elem);
    const void* bytes = ours ? begin_ + at : value;
    std::memcpy(end_, bytes, elem);
    end_ += elem;
}

WISP_NOINLINE inline void PodVectorBase::reserve_moving(std::size_t bytes, Relocate relocate) {
    if (bytes <= static_cast<std::size_t>(cap_ - begin_)) return;
    char* fresh = static_cast<char*>(::operator new(bytes));
    const std::size_t used = used_bytes();
    if (used != 0) relocate(begin_, end_, fresh);
    ::operator delete(begin_);
    begin_ = fresh;
    end_ = fresh + used;
    cap_ = fresh + bytes;
}

WISP_NOINLINE inline void PodVectorBase::grow_moving(std::size_t extra, Relocate relocate) {
    const std::size_t used = used_bytes();
    reserve_moving(used + (used > extra ? used : extra), relocate);
}

inline void PodVectorBase::open_gap(char* at, std::size_t n) noexcept {
    if (at != end_) std::memmove(at + n, at, static_cast<std::size_t>(end_ - at));
    end_ += n;
}

inline void PodVectorBase::close_gap(char* first, char* last) noexcept {
    if (first == last) return;
    if (last != end_) std::memmove(first, last, static_cast<std::size_t>(end_ - last));
    end_ -= last - first;
}

WISP_NOINLINE inline void PodVectorBase::assign(const PodVectorBase& other) {
    end_ = begin_;
    const std::size_t used = other.used_bytes();
    reserve_bytes(used);
    if (used != 0) std::memcpy(begin_, other.begin_, used);
    end_ = begin_ + used;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
