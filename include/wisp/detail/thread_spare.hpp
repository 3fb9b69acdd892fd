// SPDX-License-Identifier: MIT
// wisp/detail/thread_spare.hpp — ThreadSpare: one object per thread that other objects give
// storage back to and take it from (Headers' spare strings, BlockCache's free blocks).
// Owns: making it on a thread's first need, and not making or handing it out once it is gone.
// Must not know: what is kept in it.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>

WISP_NAMESPACE_BEGIN
namespace detail {

/// This thread's `T`, made on first need and destroyed at the thread's (or the program's) exit.
template <class T>
class ThreadSpare {
public:
    /// This thread's `T`, made now if `make`; null when it was never made and `make` is false
    /// (storage given back during exit, a static's say, must not make one that is never
    /// destroyed), once it is destroyed, and on Windows.
    static T* get(bool make) noexcept {
#ifdef _WIN32
        // mingw-w64 runs a thread_local's destructor after the thread's storage is gone (a bad
        // free at thread exit): nothing is kept on Windows.
        (void)make;
        return nullptr;
#else
        if (gone() || (!make && !made())) return nullptr;
        thread_local Holder h;
        return &h.value;
#endif
    }

private:
    struct Holder {
        T value;
        Holder() noexcept { made() = true; }
        Holder(const Holder&) = delete;
        Holder& operator=(const Holder&) = delete;
        ~Holder() { gone() = true; }   // before `value` is destroyed
    };
    static bool& gone() noexcept {
        thread_local bool g = false;   // trivially destructible: readable after ~Holder
        return g;
    }
    static bool& made() noexcept {
        thread_local bool m = false;
        return m;
    }
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
