// SPDX-License-Identifier: MIT
// Two translation units include all of wisp and link into one program: a function defined in a
// header without `inline` (or a non-inline variable) is then defined twice and the link fails.
#include <wisp/wisp.hpp>

#include <cstdio>
#include <string>

std::string answer_from_b();   // tu_b.cpp

int main() {
    wisp::App app;
    app.get("/a", [](wisp::Request&) { return wisp::text("a"); });
    const wisp::Response r = app.fetch(wisp::Request("GET", "/a"));
    const std::string b = answer_from_b();
    if (r.status != 200 || r.body != "a" || b != "b") {
        std::printf("not ok: a=%d '%s', b='%s'\n", r.status, r.body.c_str(), b.c_str());
        return 1;
    }
    std::printf("both translation units run wisp\n");
    return 0;
}
