// SPDX-License-Identifier: MIT
// wisp/detail/move_vector.hpp — MoveVector<T>: a growable array of a T that is moved, not
// copied as bytes, over PodVector's non-template storage and growth.
// Owns: its elements. Must not know: what the elements mean.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// A std::vector<T> for the engine's lists of non-trivial elements (strings, shared_ptrs,
/// std::functions, structs of those), in the members wisp uses: at -O0 a std::vector<T> emits
/// thirty to a hundred functions per T (allocator, _Vector_base, relocation, iterators, an
/// _M_realloc_insert per argument type), a MoveVector<T> the one-line members it calls and
/// one function that moves the elements when it grows; the growth itself is PodVectorBase's,
/// shared by every T (issue 25). Move-only. Iterators are plain pointers, invalidated by
/// growth as std::vector's are.
template <class T>
class MoveVector : private PodVectorBase {
    static_assert(std::is_nothrow_move_constructible<T>::value,
                  "MoveVector: growth moves the elements");
    static_assert(alignof(T) <= alignof(std::max_align_t), "MoveVector: operator new alignment");

public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    MoveVector() noexcept = default;
    MoveVector(MoveVector&& other) noexcept = default;
    MoveVector& operator=(MoveVector&& other) noexcept {
        if (this != &other) {
            destroy_all();
            take(other);
        }
        return *this;
    }
    MoveVector(const MoveVector&) = delete;
    MoveVector& operator=(const MoveVector&) = delete;
    ~MoveVector() { destroy_all(); }

    T* data() noexcept { return reinterpret_cast<T*>(begin_); }
    const T* data() const noexcept { return reinterpret_cast<const T*>(begin_); }
    T* begin() noexcept { return data(); }
    T* end() noexcept { return reinterpret_cast<T*>(end_); }
    const T* begin() const noexcept { return data(); }
    const T* end() const noexcept { return reinterpret_cast<const T*>(end_); }
    std::size_t size() const noexcept { return used_bytes() / sizeof(T); }
    bool empty() const noexcept { return begin_ == end_; }
    T& operator[](std::size_t i) noexcept { return data()[i]; }
    const T& operator[](std::size_t i) const noexcept { return data()[i]; }
    T& front() noexcept { return *data(); }
    const T& front() const noexcept { return *data(); }
    T& back() noexcept { return end()[-1]; }

    /// A T made from `args` at the end (which may name one of ours: it is made before growth).
    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (WISP_UNLIKELY(end_ == cap_)) return append_grown(T(std::forward<Args>(args)...));
        T* made = ::new (static_cast<void*>(end_)) T(std::forward<Args>(args)...);
        end_ += sizeof(T);
        return *made;
    }
    void push_back(T&& value) { emplace_back(std::move(value)); }
    /// Puts `value` before `pos` (appended, then swapped down into place).
    T* insert(const T* pos, T value) {
        const std::size_t at = static_cast<std::size_t>(pos - data());
        emplace_back(std::move(value));
        T* p = data() + at;
        for (T* q = end() - 1; q != p; --q) std::swap(*q, q[-1]);
        return p;
    }
    /// Removes [first, last); the elements after it move down (by move assignment).
    T* erase(T* first, T* last) noexcept {
        static_assert(std::is_nothrow_move_assignable<T>::value, "MoveVector::erase moves");
        T* out = first;
        for (T* p = last; p != end(); ++p, ++out) *out = std::move(*p);
        for (T* p = out; p != end(); ++p) p->~T();
        end_ = reinterpret_cast<char*>(out);
        return first;
    }
    void push_back(const T& value) { emplace_back(value); }
    void clear() noexcept {
        destroy_all();
        end_ = begin_;
    }
    void reserve(std::size_t n) { reserve_moving(n * sizeof(T), &relocate); }
    void swap(MoveVector& other) noexcept { swap_with(other); }

private:
    T& append_grown(T&& value) {
        grow_moving(sizeof(T), &relocate);
        T* made = ::new (static_cast<void*>(end_)) T(std::move(value));
        end_ += sizeof(T);
        return *made;
    }
    void destroy_all() noexcept {
        if constexpr (!std::is_trivially_destructible<T>::value)
            for (T* p = begin(); p != end(); ++p) p->~T();
    }
    static void relocate(char* first, char* last, char* to) noexcept {
        for (char* p = first; p != last; p += sizeof(T), to += sizeof(T)) {
            T* from = reinterpret_cast<T*>(p);
            ::new (static_cast<void*>(to)) T(std::move(*from));
            from->~T();
        }
    }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
