// expect: hook `message` must be public and callable as message(wisp::Peer&, const wisp::Message&)
//         or message(wisp::Peer&, wisp::Message)
// Wrong constness: the message is passed const, so `Message&` cannot bind to it.
#include <wisp/app.hpp>
struct H {
    void message(wisp::Peer&, wisp::Message&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
