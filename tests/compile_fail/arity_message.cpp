// expect: hook `message` must be public and callable as message(wisp::Peer&, const wisp::Message&)
//         or message(wisp::Peer&, wisp::Message)
// Too few parameters: message always receives the message.
#include <wisp/app.hpp>
struct H {
    void message(wisp::Peer&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
