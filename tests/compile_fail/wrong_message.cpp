// expect: hook `message` must be callable as message(wisp::Peer&, const wisp::Message&)
#include <wisp/app.hpp>
struct H {
    void message(wisp::Peer&, std::string&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
