// SPDX-License-Identifier: MIT
// wisp/detail/box.hpp — Box<T>: one object of type T owned by one holder, deleted with it;
// BoxVector<T>: a list of such objects.
// Owns: the pointers and their deletes. Must not know: what T is for.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// What std::unique_ptr<T> does for the engine, in a few one-line members: at -O0 every
/// unique_ptr<T> a file uses emits thirty to fifty functions (its tuple, head bases, deleter
/// and accessors), a Box<T> the handful it calls (issue 25). Move-only; a moved-from Box holds
/// nothing. Takes a std::unique_ptr<U> (tests and embedders hand the engine those).
template <class T>
class Box {
public:
    Box() noexcept = default;
    Box(std::nullptr_t) noexcept {}   // NOLINT: implicit, like unique_ptr's
    explicit Box(T* object) noexcept : object_(object) {}
    Box(Box&& other) noexcept : object_(other.release()) {}
    template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value>>
    Box(Box<U>&& other) noexcept : object_(other.release()) {}   // NOLINT: implicit
    template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value>>
    Box(std::unique_ptr<U>&& other) noexcept : object_(other.release()) {}   // NOLINT: implicit
    Box& operator=(Box&& other) noexcept {
        reset(other.release());
        return *this;
    }
    Box(const Box&) = delete;
    Box& operator=(const Box&) = delete;
    ~Box() { delete object_; }

    T* get() const noexcept { return object_; }
    T* operator->() const noexcept { return object_; }
    T& operator*() const noexcept { return *object_; }
    explicit operator bool() const noexcept { return object_ != nullptr; }
    friend bool operator==(const Box& box, std::nullptr_t) noexcept { return !box.object_; }
    friend bool operator!=(const Box& box, std::nullptr_t) noexcept {
        return box.object_ != nullptr;
    }

    /// Gives up ownership: the caller deletes what this returns.
    T* release() noexcept {
        T* object = object_;
        object_ = nullptr;
        return object;
    }
    /// Deletes the object held, if any, after taking `object` (which may be null).
    void reset(T* object = nullptr) noexcept {
        T* old = object_;
        object_ = object;
        delete old;
    }

private:
    T* object_ = nullptr;
};

/// `new T(args...)`, boxed: T() value-initializes, like std::make_unique<T>().
template <class T, class... Args>
Box<T> make_box(Args&&... args) {
    return Box<T>(new T(std::forward<Args>(args)...));
}

/// A std::vector<Box<T>> in the members wisp uses, over one PodVector<T*> (a vector of boxes
/// would instantiate a vector and its relocation per T). Elements are reached as T*; clear()
/// and the destructor delete them first to last, as std::vector destroys its elements.
template <class T>
class BoxVector {
public:
    BoxVector() noexcept = default;
    BoxVector(BoxVector&& other) noexcept = default;
    BoxVector& operator=(BoxVector&& other) noexcept {
        if (this != &other) {
            clear();
            items_ = std::move(other.items_);
        }
        return *this;
    }
    BoxVector(const BoxVector&) = delete;
    BoxVector& operator=(const BoxVector&) = delete;
    ~BoxVector() { clear(); }

    /// Takes `item`; if growing fails, `item` still deletes its object.
    void push_back(Box<T> item) {
        items_.push_back(item.get());
        item.release();
    }
    void clear() noexcept {
        for (T* item : items_) delete item;
        items_.clear();
    }
    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }
    T* operator[](std::size_t i) const noexcept { return items_[i]; }
    T* back() const noexcept { return items_.back(); }
    T* const* begin() const noexcept { return items_.begin(); }
    T* const* end() const noexcept { return items_.end(); }

private:
    PodVector<T*> items_;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
