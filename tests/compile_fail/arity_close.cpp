// expect: hook `close` must be public and callable as close(wisp::Peer&),
//         close(wisp::Peer&, const wisp::CloseInfo&) or close(wisp::Peer&, wisp::CloseInfo)
// Too many parameters.
#include <wisp/app.hpp>
struct H {
    void close(wisp::Peer&, const wisp::CloseInfo&, int) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
