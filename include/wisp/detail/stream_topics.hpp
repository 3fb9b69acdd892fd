// SPDX-License-Identifier: MIT
// wisp/detail/stream_topics.hpp — the names of the topics one event stream subscribed to, in
// 24 bytes: one name of up to 22 characters inline (an idle stream on one topic allocates
// nothing for it), more names, or a longer one, in a vector on the heap.
// Owns: the names, for leaving the topics when the stream ends.
// Must not know: the topic registry, publications, connections.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/box.hpp>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

/// A small set of topic names, in the order they were added.
class StreamTopics {
public:
    StreamTopics() noexcept { bytes_[tag_at] = 0; }
    ~StreamTopics() { delete many(); }
    StreamTopics(const StreamTopics&) = delete;
    StreamTopics& operator=(const StreamTopics&) = delete;

    bool empty() const noexcept { return tag() == 0; }
    bool contains(std::string_view topic) const noexcept;
    /// Adds `topic`, which is not there yet.
    void add(std::string_view topic);
    /// False when `topic` was not there.
    bool remove(std::string_view topic) noexcept;
    /// The newest name (not empty()), copied: removing it would end its storage.
    std::string back() const;

private:
    static constexpr std::size_t tag_at = 23;               ///< the last byte says what it holds
    static constexpr std::size_t inline_max = tag_at - 1;   ///< 22: `tag` is length + 1 <= 23
    static constexpr std::uint8_t many_tag = 0xff;          ///< the first bytes are a vector*

    std::uint8_t tag() const noexcept { return static_cast<std::uint8_t>(bytes_[tag_at]); }
    /// The one inline name (tag() in 1..23).
    std::string_view one() const noexcept { return {bytes_, static_cast<std::size_t>(tag() - 1)}; }
    /// The names on the heap, or null while they are inline (or none).
    std::vector<std::string>* many() const noexcept {
        if (tag() != many_tag) return nullptr;
        std::vector<std::string>* v;
        std::memcpy(&v, bytes_, sizeof v);
        return v;
    }
    void set_many(std::vector<std::string>* v) noexcept {
        std::memcpy(bytes_, &v, sizeof v);
        bytes_[tag_at] = static_cast<char>(many_tag);
    }

    // No union: the bytes hold either the name's characters or a pointer put there by memcpy.
    alignas(void*) char bytes_[24];
};

// ---- implementation -------------------------------------------------------
inline bool StreamTopics::contains(std::string_view topic) const noexcept {
    if (const auto* v = many()) return std::find(v->begin(), v->end(), topic) != v->end();
    return tag() != 0 && one() == topic;
}

inline void StreamTopics::add(std::string_view topic) {
    if (tag() == 0 && topic.size() <= inline_max) {
        if (!topic.empty()) std::memcpy(bytes_, topic.data(), topic.size());
        bytes_[tag_at] = static_cast<char>(topic.size() + 1);
        return;
    }
    if (auto* v = many()) {
        v->emplace_back(topic);
        return;
    }
    // Built before it replaces the inline name, so a failed allocation changes nothing.
    auto v = make_box<std::vector<std::string>>();
    v->reserve(2);
    if (tag() != 0) v->emplace_back(one());
    v->emplace_back(topic);
    set_many(v.release());
}

inline bool StreamTopics::remove(std::string_view topic) noexcept {
    if (auto* v = many()) {
        auto it = std::find(v->begin(), v->end(), topic);
        if (it == v->end()) return false;
        v->erase(it);
        if (v->empty()) {
            delete v;
            bytes_[tag_at] = 0;
        }
        return true;
    }
    if (tag() == 0 || one() != topic) return false;
    bytes_[tag_at] = 0;
    return true;
}

inline std::string StreamTopics::back() const {
    if (const auto* v = many()) return v->back();
    return std::string(one());
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
