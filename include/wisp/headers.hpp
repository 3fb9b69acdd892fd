// SPDX-License-Identifier: MIT
// wisp/headers.hpp — Headers: the owned, ordered, case-insensitive header fields of a
// Response (and of a Request made for App::fetch), and iequals, the way field names compare.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
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
    // Built in place: no temporaries moved in (every response a handler makes comes here).
    list_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                       std::forward_as_tuple(value));
    return *this;
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
