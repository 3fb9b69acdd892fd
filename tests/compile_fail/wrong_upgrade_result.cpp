// expect: hook `upgrade` must return void, wisp::Response,
//         std::optional<wisp::Response> or wisp::Headers
// A result that says neither accept nor reject.
#include <wisp/app.hpp>
struct H {
    int upgrade(wisp::Request&) { return 1; }
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
