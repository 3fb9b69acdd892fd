// SPDX-License-Identifier: MIT
// The second translation unit of the link test (see tu_a.cpp).
#include <wisp/wisp.hpp>

#include <string>

std::string answer_from_b() {
    wisp::App app;
    app.get("/b", [](wisp::Request&) { return wisp::text("b"); });
    return app.fetch(wisp::Request("GET", "/b")).body;
}
