// expect: a WebSocket handler may not be final: wisp derives from it to see hooks that are
//         overloaded or templates (remove `final`)
// wisp cannot look inside a final class for overload sets and templates, so it says so.
#include <wisp/app.hpp>
struct H final {
    void open(wisp::Peer&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
