// expect: hook `message` must be public and callable as message(wisp::Peer&, const wisp::Message&)
//         or message(wisp::Peer&, wisp::Message)
// The message is an lvalue the hook does not own: `Message&&` cannot bind to it.
#include <wisp/app.hpp>
struct H {
    void message(wisp::Peer&, wisp::Message&&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
