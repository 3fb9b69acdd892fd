// expect: hook `upgrade` must return void, wisp::Response,
//         std::optional<wisp::Response> or wisp::Headers
// Headers are accepted, an optional of them is not (nullopt would mean nothing more
// than an empty wisp::Headers).
#include <wisp/app.hpp>
struct H {
    std::optional<wisp::Headers> upgrade(wisp::Request&) { return std::nullopt; }
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
