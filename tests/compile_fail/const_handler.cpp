// expect: hook `open` must be public and callable as open(wisp::Peer&)
// A const handler object calls its hooks as const: a non-const hook cannot be called.
#include <wisp/app.hpp>
struct H {
    void open(wisp::Peer&) {}
};
int main() {
    static const H handler{};
    wisp::App app;
    app.ws("/ws", handler);
}
