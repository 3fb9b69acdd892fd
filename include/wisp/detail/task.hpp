// SPDX-License-Identifier: MIT
// wisp/detail/task.hpp — Task: a move-only `void()` callable, what a Reactor queues;
// TaskList: the queue.
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
    // Static member templates, not lambdas: a captureless lambda made a function pointer is
    // two functions at -O0 (its call operator and the static invoker), per callable type.
    template <class D>
    static void call_local(void* p) {
        (*static_cast<D*>(p))();
    }
    template <class D>
    static void move_local(void* from, void* to) noexcept {
        ::new (to) D(std::move(*static_cast<D*>(from)));
        static_cast<D*>(from)->~D();
    }
    template <class D>
    static void destroy_local(void* p) noexcept {
        static_cast<D*>(p)->~D();
    }
    template <class D>
    static void call_heap(void* p) {
        (**static_cast<D**>(p))();
    }
    static void move_heap(void* from, void* to) noexcept {
        *static_cast<void**>(to) = *static_cast<void**>(from);
    }
    template <class D>
    static void destroy_heap(void* p) noexcept {
        delete *static_cast<D**>(p);
    }
    template <class D>
    static constexpr Ops local_ops{&call_local<D>, &move_local<D>, &destroy_local<D>};
    template <class D>
    static constexpr Ops heap_ops{&call_heap<D>, &move_heap, &destroy_heap<D>};

    alignas(std::max_align_t) unsigned char buf_[4 * sizeof(void*)];
    const Ops* ops_ = nullptr;
};

/// A std::vector<Task> in the members a Reactor uses, and no template but emplace_back: a
/// vector of Tasks instantiates its allocator, growth and relocation, and an emplace_back with
/// its own growth path per posted callable's type (issue 25). Growth moves the Tasks (one call
/// through their ops each).
class TaskList {
public:
    TaskList() noexcept = default;
    TaskList(const TaskList&) = delete;
    TaskList& operator=(const TaskList&) = delete;
    ~TaskList() {
        clear();
        ::operator delete(begin_);
    }

    /// A Task made from `fn` in place at the end.
    template <class F>
    void emplace_back(F&& fn) {
        Task* at = room();
        ::new (static_cast<void*>(at)) Task(std::forward<F>(fn));
        end_ = at + 1;
    }
    Task* begin() noexcept { return begin_; }
    Task* end() noexcept { return end_; }
    bool empty() const noexcept { return begin_ == end_; }
    void clear() noexcept {
        for (Task* t = begin_; t != end_; ++t) t->~Task();
        end_ = begin_;
    }
    /// Storage for at least `n` Tasks.
    void reserve(std::size_t n);
    void swap(TaskList& other) noexcept {
        std::swap(begin_, other.begin_);
        std::swap(end_, other.end_);
        std::swap(cap_, other.cap_);
    }

private:
    static_assert(alignof(Task) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                  "TaskList: operator new alignment");
    Task* room() {
        if (WISP_UNLIKELY(end_ == cap_)) reserve(end_ == begin_ ? 16 : 2 * size());
        return end_;
    }
    std::size_t size() const noexcept { return static_cast<std::size_t>(end_ - begin_); }

    Task* begin_ = nullptr;
    Task* end_ = nullptr;
    Task* cap_ = nullptr;
};

// ---- implementation -------------------------------------------------------

WISP_NOINLINE inline void TaskList::reserve(std::size_t n) {
    if (n <= static_cast<std::size_t>(cap_ - begin_)) return;
    Task* fresh = static_cast<Task*>(::operator new(n * sizeof(Task)));
    Task* to = fresh;
    for (Task* t = begin_; t != end_; ++t, ++to) {
        ::new (static_cast<void*>(to)) Task(std::move(*t));
        t->~Task();
    }
    ::operator delete(begin_);
    begin_ = fresh;
    end_ = to;
    cap_ = fresh + n;
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
