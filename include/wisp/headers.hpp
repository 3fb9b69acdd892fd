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
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

namespace detail {
struct HeadersAccess;
}

/// ASCII case-insensitive equality, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// An ordered, case-insensitive list of header fields that owns its strings.
class Headers {
public:
    using value_type = std::pair<std::string, std::string>;
    using const_iterator = std::vector<value_type>::const_iterator;
    Headers() = default;
    Headers(std::initializer_list<value_type> init)
        : list_(init), size_(static_cast<std::uint32_t>(init.size())) {}
    Headers(const Headers& o) : list_(o.begin(), o.end()), size_(o.size_), checked_(o.checked_) {}
    Headers(Headers&& o) noexcept
        : list_(std::move(o.list_)),
          size_(std::exchange(o.size_, 0)),
          checked_(std::exchange(o.checked_, 0)) {}
    Headers& operator=(const Headers& o);
    Headers& operator=(Headers&& o) noexcept;
    ~Headers() { recycle(); }

    /// Replaces every field named `name` with one field.
    Headers& set(std::string_view name, std::string_view value);
    /// Adds a field, keeping existing ones of the same name.
    Headers& add(std::string_view name, std::string_view value);
    /// The first value of `name`, if present.
    std::optional<std::string_view> get(std::string_view name) const;
    bool has(std::string_view name) const { return get(name).has_value(); }
    void remove(std::string_view name);

    const_iterator begin() const { return list_.cbegin(); }
    const_iterator end() const { return list_.cbegin() + static_cast<std::ptrdiff_t>(size_); }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

private:
    friend struct detail::HeadersAccess;
    // The fields are the first size_ entries of list_; the entries after them are storage kept
    // for the next fields, their strings overwritten in place. A list let go of is kept by its
    // thread for the next list it fills: most responses carry one or two fields (text()'s
    // Content-Type), which then cost no allocation and no string construction.
    struct Spare {
        static constexpr std::size_t max_fields = 8, max_capacity = 256;
        std::vector<value_type> list;   ///< entries whose strings are storage only
        Spare() noexcept = default;
        Spare(const Spare&) = delete;
        Spare& operator=(const Spare&) = delete;
    };
    /// This thread's spare list (none on Windows or once it is destroyed); `make` false gives
    /// none when add() never made it.
    static Spare* spare(bool make = true) noexcept { return detail::ThreadSpare<Spare>::get(make); }
    /// Makes `str`, a kept entry's string, hold `v`, within its storage when it has room.
    static void put(std::string& str, std::string_view v) {
        if (same(str, v)) return;   // often: the thread's last response's field
        str.clear();
        str.append(v.data(), v.size());
    }
    /// a == b; from 8 to 32 bytes (the usual field name or value) as overlapping eight-byte
    /// words, inline, instead of a call to memcmp.
    static bool same(std::string_view a, std::string_view b) noexcept {
        const std::size_t n = a.size();
        if (n != b.size()) return false;
        if (n < 8 || n > 32) return a == b;
        const char* p = a.data();
        const char* q = b.data();
        std::uint64_t d = word(p) ^ word(q);
        d |= word(p + n - 8) ^ word(q + n - 8);
        if (n > 16) d |= (word(p + 8) ^ word(q + 8)) | (word(p + n - 16) ^ word(q + n - 16));
        return d == 0;
    }
    static std::uint64_t word(const char* p) noexcept {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    }
    /// Drops the fields named `name` among the first `before`, keeping the others' order.
    void drop(std::string_view name, std::size_t before) noexcept;
    void recycle() noexcept;

    std::vector<value_type> list_;
    std::uint32_t size_ = 0;
    /// The first checked_ fields are known valid (a token name, a value without CR, LF or NUL):
    /// constants wisp added itself (detail::HeadersAccess), which a response need not check
    /// again. Fields are only added at the end or dropped, never changed in place.
    std::uint32_t checked_ = 0;
};

namespace detail {
/// What wisp's own code may do with a Headers beyond its public members.
struct HeadersAccess {
    /// Adds a field whose name and value wisp knows valid (a constant).
    static void add_checked(Headers& h, std::string_view name, std::string_view value) {
        const bool all_checked = h.checked_ == h.size_;
        h.add(name, value);
        if (all_checked) h.checked_ = h.size_;
    }
    /// How many of the first fields are known valid.
    static std::size_t checked(const Headers& h) noexcept { return h.checked_; }
};
}   // namespace detail

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

inline Headers& Headers::operator=(const Headers& o) {
    if (this != &o) {
        size_ = checked_ = 0;   // the entries stay as storage for o's fields
        for (const value_type& f : o) add(f.first, f.second);
        checked_ = o.checked_;
    }
    return *this;
}

inline Headers& Headers::operator=(Headers&& o) noexcept {
    if (this != &o) {
        recycle();
        list_ = std::move(o.list_);
        size_ = std::exchange(o.size_, 0);
        checked_ = std::exchange(o.checked_, 0);
    }
    return *this;
}

inline Headers& Headers::set(std::string_view name, std::string_view value) {
    // Added first, then the older fields of that name dropped: `name` and `value` may view a
    // field of this list, which stays intact until the new one holds its copy.
    const std::size_t before = size_;
    add(name, value);
    if (before != 0) drop(name, before);
    return *this;
}

inline Headers& Headers::add(std::string_view name, std::string_view value) {
    if (size_ == list_.size() && list_.capacity() == 0) {
        // Every response a handler makes comes here: the storage of a list this thread let go of.
        if (Spare* s = spare(); s != nullptr) list_.swap(s->list);
    }
    if (size_ < list_.size()) {
        // A kept entry, never one of the fields `name` or `value` may view.
        value_type& f = list_[size_];
        put(f.first, name);
        put(f.second, value);
    } else {
        list_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                           std::forward_as_tuple(value));
    }
    ++size_;
    return *this;
}

inline void Headers::drop(std::string_view name, std::size_t before) noexcept {
    std::uint32_t out = 0;
    for (std::uint32_t i = 0; i < size_; ++i) {
        if (i < before && iequals(list_[i].first, name)) {
            if (i < checked_) checked_ = i;   // the fields after it move down
            continue;
        }
        if (out != i) list_[out].swap(list_[i]);   // the dropped entry moves behind, as storage
        ++out;
    }
    size_ = out;
}

inline void Headers::recycle() noexcept {
    // Only into a Spare that add() made: a list released during exit (a static one, say) must
    // not make a thread_local that is never destroyed. What is kept is bounded: at most
    // max_fields entries, no string above max_capacity bytes.
    if (list_.capacity() == 0 || list_.capacity() > Spare::max_fields) return;
    Spare* s = spare(false);
    if (s == nullptr || s->list.capacity() != 0) return;
    for (value_type& f : list_) {
        if (f.first.capacity() > Spare::max_capacity) std::string().swap(f.first);
        if (f.second.capacity() > Spare::max_capacity) std::string().swap(f.second);
    }
    s->list.swap(list_);
}

inline std::optional<std::string_view> Headers::get(std::string_view name) const {
    for (const auto& h : *this)
        if (iequals(h.first, name)) return std::string_view(h.second);
    return std::nullopt;
}

inline void Headers::remove(std::string_view name) { drop(name, size_); }

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
