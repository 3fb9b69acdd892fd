// SPDX-License-Identifier: MIT
// Two vendored copies of different wisp versions in one program: this translation unit uses the
// single header (wisp::v0_1), coexist_other.cpp a copy claiming 0.99.0 (wisp::v0_99). Each
// serves a request over a real socket and answers with its own version and its own wisp::text
// Content-Type: had the linker merged the copies' inline functions (built at -O0, so they are
// called, not inlined), one copy would answer for the other. check_symbols.py then checks
// that every wisp symbol of the program sits in a versioned namespace.
#include "wisp.hpp"
#include "coexist_serve.hpp"

#include <cstdio>
#include <string>
#include <type_traits>

static_assert(std::is_same_v<wisp::App, wisp::v0_1::App>, "wisp 0.1 lives in wisp::v0_1");

std::string other_version_serve();   // coexist_other.cpp

int main() {
    const std::string mine = serve_version_once();
    const std::string other = other_version_serve();
    if (mine != "text/plain; charset=utf-8 0.1.0" ||
        other != "text/plain; charset=utf-8; wisp=0.99 0.99.0") {
        std::printf("not ok: this copy answered '%s', the other '%s'\n", mine.c_str(),
                    other.c_str());
        return 1;
    }
    std::printf("wisp %s and wisp %s coexist\n", mine.c_str(), other.c_str());
    return 0;
}
