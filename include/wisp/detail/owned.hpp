// SPDX-License-Identifier: MIT
// wisp/detail/owned.hpp — Owned: one object owned through a void* and the function that deletes
// it, for holders that must not be templates (a route's target, a ws<H> handler); Lazy<T>: a T
// made on first use, owned so.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

/// Owns one object of a type its holder does not name. What std::unique_ptr<void, Drop> or a
/// std::shared_ptr<void> would do, in a few plain functions: those instantiate thirty to forty
/// templates per file at -O0, and make_shared<T> as many again for every T (issue 25).
/// Move-only; a moved-from Owned holds nothing.
class Owned {
public:
    using Drop = void (*)(void*) noexcept;

    Owned() noexcept = default;
    Owned(void* object, Drop drop) noexcept : object_(object), drop_(drop) {}
    Owned(Owned&& other) noexcept : object_(other.object_), drop_(other.drop_) {
        other.object_ = nullptr;
    }
    Owned& operator=(Owned&& other) noexcept {
        if (this != &other) {
            reset();
            object_ = other.object_;
            drop_ = other.drop_;
            other.object_ = nullptr;
        }
        return *this;
    }
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    ~Owned() { reset(); }

    void* get() const noexcept { return object_; }

private:
    void reset() noexcept {
        if (object_) drop_(object_);
        object_ = nullptr;
    }

    void* object_ = nullptr;
    Drop drop_ = nullptr;
};

/// The Drop of an Owned made by make_owned<T>.
template <class T>
void delete_owned(void* object) noexcept {
    delete static_cast<T*>(object);
}

/// `new T(args...)`, owned: T() value-initializes, like std::make_shared<T>().
template <class T, class... Args>
Owned make_owned(Args&&... args) {
    return Owned(new T(std::forward<Args>(args)...), &delete_owned<T>);
}

/// A T made on first use, owned through an Owned: only get() names T's construction and
/// destruction, so a holder whose T only some programs use (a map of topics) does not compile
/// them in the others (issue 25).
template <class T>
class Lazy {
public:
    /// The T, made now if nothing made it yet.
    T& get() {
        if (WISP_UNLIKELY(!held_.get())) held_ = make_owned<T>();
        return *static_cast<T*>(held_.get());
    }
    /// The T, or null while nothing made it.
    const T* peek() const noexcept { return static_cast<const T*>(held_.get()); }

private:
    Owned held_;
};

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
