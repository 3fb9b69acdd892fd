// SPDX-License-Identifier: MIT
// wisp/headers.hpp — Headers: the owned, ordered, case-insensitive header fields of a
// Response (and of a Request made for App::fetch), and iequals, the way field names compare.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/thread_spare.hpp>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

/// ASCII case-insensitive equality, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// An ordered, case-insensitive list of header fields that owns its strings.
class Headers {
public:
    using value_type = std::pair<std::string, std::string>;
    Headers() = default;
    Headers(std::initializer_list<value_type> init) : list_(init) {}
    Headers(const Headers&) = default;
    Headers(Headers&&) noexcept = default;
    Headers& operator=(const Headers&) = default;
    Headers& operator=(Headers&&) noexcept = default;
    ~Headers() { recycle(); }

    /// Replaces every field named `name` with one field.
    Headers& set(std::string_view name, std::string_view value);
    /// Adds a field, keeping existing ones of the same name.
    Headers& add(std::string_view name, std::string_view value);
    /// The first value of `name`, if present.
    std::optional<std::string_view> get(std::string_view name) const;
    bool has(std::string_view name) const { return get(name).has_value(); }
    void remove(std::string_view name);

    auto begin() const { return list_.begin(); }
    auto end() const { return list_.end(); }
    std::size_t size() const { return list_.size(); }
    bool empty() const { return list_.empty(); }

private:
    // The storage of lists this thread let go of, taken again by the next list it fills: most
    // responses carry one or two short fields (text()'s Content-Type), and their list and
    // out-of-line strings would otherwise cost two allocations and two frees each.
    struct Spare {
        static constexpr std::size_t max_strings = 8, max_capacity = 256, max_fields = 8;
        std::vector<value_type> list;   ///< empty, with capacity
        std::string strings[max_strings];
        std::size_t count = 0;
        Spare() noexcept = default;
        Spare(const Spare&) = delete;
        Spare& operator=(const Spare&) = delete;
    };
    /// This thread's spares (none on Windows or once they are destroyed); `make` false gives
    /// none when add() never made them.
    static Spare* spare(bool make = true) noexcept { return detail::ThreadSpare<Spare>::get(make); }
    void recycle() noexcept;

    std::vector<value_type> list_;
};

// ---- implementation -------------------------------------------------------
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x == y) continue;
        if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
    }
    return true;
}

inline Headers& Headers::set(std::string_view name, std::string_view value) {
    if (!list_.empty()) remove(name);
    return add(name, value);
}

inline Headers& Headers::add(std::string_view name, std::string_view value) {
    // Every response a handler makes comes here: storage is reused, not allocated, when this
    // thread has some to spare (short strings need none).
    Spare* s = nullptr;
    if (list_.capacity() == 0 && (s = spare()) != nullptr) list_.swap(s->list);
    if (value.size() > std::string().capacity() && (s || (s = spare()) != nullptr) &&
        s->count != 0) {
        // A spare string (empty, with room) takes the value's bytes, then becomes the value:
        // copied first, since `value` may view a field of this list, which the new one moves.
        std::string& str = s->strings[--s->count];
        str.append(value.data(), value.size());
        list_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                           std::forward_as_tuple(std::move(str)));
        return *this;
    }
    list_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                       std::forward_as_tuple(value));
    return *this;
}

inline void Headers::recycle() noexcept {
    // Only into a Spare that add() made: a list released during exit (a static one, say) must
    // not make a thread_local that is never destroyed.
    if (list_.capacity() == 0) return;
    Spare* s = spare(false);
    if (s == nullptr) return;
    const std::size_t sso = std::string().capacity();
    for (value_type& h : list_) {
        for (std::string* str : {&h.first, &h.second}) {
            if (s->count == Spare::max_strings) break;
            if (str->capacity() > sso && str->capacity() <= Spare::max_capacity) {
                str->clear();
                s->strings[s->count++] = std::move(*str);
            }
        }
    }
    if (s->list.capacity() == 0 && list_.capacity() <= Spare::max_fields) {
        list_.clear();
        s->list.swap(list_);
    }
}

inline std::optional<std::string_view> Headers::get(std::string_view name) const {
    for (const auto& h : list_)
        if (iequals(h.first, name)) return std::string_view(h.second);
    return std::nullopt;
}

inline void Headers::remove(std::string_view name) {
    for (std::size_t i = 0; i < list_.size();) {
        if (iequals(list_[i].first, name)) list_.erase(list_.begin() + static_cast<long>(i));
        else ++i;
    }
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
