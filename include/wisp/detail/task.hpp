// SPDX-License-Identifier: MIT
// wisp/detail/task.hpp — Task: a move-only `void()` callable, what a Reactor queues.
// Owns: the callable, in place when it is small (a loop's own posts capture a pointer or two),
// else on the heap.
// Must not know: who runs it, or when.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Like std::function<void()>, but movable only, so posted work may own what cannot be copied
/// (a Response, an Unrun). Callables of up to four pointers are kept inside.
class Task {
public:
    Task() noexcept = default;
    template <class F, class D = std::decay_t<F>,
              class = std::enable_if_t<!std::is_same<D, Task>::value>>
    Task(F&& f) {   // NOLINT: implicit, like std::function
        if constexpr (sizeof(D) <= sizeof(buf_) && alignof(D) <= alignof(std::max_align_t) &&
                      std::is_nothrow_move_constructible<D>::value) {
            ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
            ops_ = &local_ops<D>;
        } else {
            *reinterpret_cast<D**>(buf_) = new D(std::forward<F>(f));
            ops_ = &heap_ops<D>;
        }
    }
    Task(Task&& o) noexcept : ops_(o.ops_) {
        if (ops_) ops_->move(o.buf_, buf_);
        o.ops_ = nullptr;
    }
    Task& operator=(Task&& o) noexcept {
        if (this != &o) {
            reset();
            ops_ = o.ops_;
            if (ops_) ops_->move(o.buf_, buf_);
            o.ops_ = nullptr;
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }
    void operator()() { ops_->call(buf_); }
    void reset() noexcept {
        if (ops_) ops_->destroy(buf_);
        ops_ = nullptr;
    }

private:
    struct Ops {
        void (*call)(void*);
        void (*move)(void* from, void* to) noexcept;   ///< and destroys `from`
        void (*destroy)(void*) noexcept;
    };
    template <class D>
    static constexpr Ops local_ops{
        [](void* p) { (*static_cast<D*>(p))(); },
        [](void* from, void* to) noexcept {
            ::new (to) D(std::move(*static_cast<D*>(from)));
            static_cast<D*>(from)->~D();
        },
        [](void* p) noexcept { static_cast<D*>(p)->~D(); },
    };
    template <class D>
    static constexpr Ops heap_ops{
        [](void* p) { (**static_cast<D**>(p))(); },
        [](void* from, void* to) noexcept { *static_cast<D**>(to) = *static_cast<D**>(from); },
        [](void* p) noexcept { delete *static_cast<D**>(p); },
    };

    alignas(std::max_align_t) unsigned char buf_[4 * sizeof(void*)];
    const Ops* ops_ = nullptr;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
