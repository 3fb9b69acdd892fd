// SPDX-License-Identifier: MIT
// wisp/detail/block_cache.hpp — freed blocks of one size that a thread keeps for its next
// objects of that size.
// Owns: the per-thread free list, its bound, and giving the blocks back at the thread's exit.
// Must not know: what the objects are.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/thread_spare.hpp>
#include <cstddef>
#include <new>

WISP_NAMESPACE_BEGIN
namespace detail {

/// False under AddressSanitizer: every block then goes back to the heap, so that a use of a
/// freed object is still reported.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool block_cache_enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool block_cache_enabled = false;
#else
inline constexpr bool block_cache_enabled = true;
#endif
#else
inline constexpr bool block_cache_enabled = true;
#endif

/// Blocks of `Size` bytes freed on a thread, kept (at most `Max`) for the next allocation of
/// that size on the same thread. For objects that many connections make and then free in a
/// burst: glibc would split the freed chunks for the next connections' smaller objects and keep
/// the remainders, so the resident memory of many long-lived connections stays above their
/// live heap. Past `Max` a block goes back to the heap. Only a thread that took a block keeps
/// any (another thread's frees, such as a handle's last reference, go to the heap); its blocks
/// go back to the heap when it exits.
template <std::size_t Size, std::size_t Max>
class BlockCache {
    static_assert(Size >= sizeof(void*), "a free block holds the next one's address");

public:
    static void* get() {
        if (List* l = list(true); l != nullptr && l->head != nullptr) {
            Free* f = l->head;
            l->head = f->next;
            --l->count;
            f->~Free();
            return f;
        }
        return ::operator new(Size);
    }
    static void put(void* p) noexcept {
        List* l = list(false);
        if (l == nullptr || l->count == Max) {
            ::operator delete(p);
            return;
        }
        l->head = new (p) Free{l->head};
        ++l->count;
    }

private:
    struct Free {
        Free* next;
    };
    struct List {
        Free* head = nullptr;
        std::size_t count = 0;
        List() noexcept = default;
        List(const List&) = delete;
        List& operator=(const List&) = delete;
        ~List() {
            while (head != nullptr) {
                Free* f = head;
                head = f->next;
                ::operator delete(static_cast<void*>(f));
            }
        }
    };
    /// This thread's list (none under ASan, on Windows, or once this thread's is destroyed);
    /// none to a put() on a thread that never took a block.
    static List* list(bool make) noexcept {
        if (!block_cache_enabled) return nullptr;
        return ThreadSpare<List>::get(make);
    }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
