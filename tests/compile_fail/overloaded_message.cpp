// expect: hook `message` must be public and callable as message(wisp::Peer&, const wisp::Message&)
//         or message(wisp::Peer&, wisp::Message)
// An overload set none of whose members fits is reported, not skipped.
#include <wisp/app.hpp>
struct H {
    void message(wisp::Peer&, std::string&) {}
    void message(wisp::Peer&, int) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
