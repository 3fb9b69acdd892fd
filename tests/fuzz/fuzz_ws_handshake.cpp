// SPDX-License-Identifier: MIT
// libFuzzer target for the WebSocket opening-handshake checks (wisp/detail/ws_handshake.hpp).
// Input: NUL-separated method, version digit pair, and header values for upgrade, connection,
// sec-websocket-version, sec-websocket-key and sec-websocket-protocol (absent when missing).
// Invariants: never crashes; `ok` implies a key of 24 base64 characters ending in "==",
// Upgrade listing "websocket", Connection listing "upgrade", version "13", method GET and
// HTTP/1.1+; the token-list parser yields only trimmed, non-empty elements without commas.
#include <wisp/detail/ws_handshake.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)               \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

namespace d = wisp::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::array<std::string_view, 8> part{};
    std::array<bool, 8> present{};
    for (std::size_t i = 0; i < part.size(); ++i) {
        const std::size_t z = in.find('\0');
        part[i] = in.substr(0, z);
        present[i] = !in.empty() || z != std::string_view::npos;
        if (z == std::string_view::npos) {
            in = {};
        } else {
            in.remove_prefix(z + 1);
        }
    }
    const std::string_view method = part[0];
    const int major = part[1].empty() ? 1 : part[1][0] % 4;
    const int minor = part[1].size() < 2 ? 1 : part[1][1] % 4;
    const char* names[] = {"upgrade", "connection", "sec-websocket-version", "sec-websocket-key",
                           "sec-websocket-protocol"};
    auto get = [&](std::string_view name) -> const std::string_view* {
        for (std::size_t i = 0; i < 5; ++i)
            if (name == names[i]) return present[2 + i] ? &part[2 + i] : nullptr;
        return nullptr;
    };
    std::string_view key;
    const auto r = d::check_handshake(method, major, minor, get, &key);
    if (r == d::HandshakeResult::ok) {
        FUZZ_CHECK(method == "GET");
        FUZZ_CHECK(major > 1 || (major == 1 && minor >= 1));
        FUZZ_CHECK(d::header_has_token(part[2], "websocket"));
        FUZZ_CHECK(d::header_has_token(part[3], "upgrade"));
        FUZZ_CHECK(key.size() == 24 && key.substr(22) == "==");
        char accept[28];
        d::accept_key(key, accept);
        for (char c : accept) FUZZ_CHECK(c != '\0');
    }
    d::parse_token_list(part[6], [](std::string_view t) {
        FUZZ_CHECK(!t.empty());
        FUZZ_CHECK(t.find(',') == std::string_view::npos);
        FUZZ_CHECK(t.front() != ' ' && t.front() != '\t' && t.back() != ' ' && t.back() != '\t');
    });
    return 0;
}
