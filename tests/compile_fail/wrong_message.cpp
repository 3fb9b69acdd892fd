// expect: hook `message` must be public and callable as message(wisp::Peer&, const wisp::Message&)
//         or message(wisp::Peer&, wisp::Message)
// A parameter no message converts to.
#include <wisp/app.hpp>
struct H {
    void message(wisp::Peer&, std::string&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
