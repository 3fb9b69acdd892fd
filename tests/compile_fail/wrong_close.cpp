// expect: hook `close` must be callable as close(wisp::Peer&, const wisp::CloseInfo&)
#include <wisp/app.hpp>
struct H {
    void close(wisp::Peer&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
