// expect: hook `close` must be public and callable as close(wisp::Peer&),
//         close(wisp::Peer&, const wisp::CloseInfo&) or close(wisp::Peer&, wisp::CloseInfo)
// Wrong constness: the CloseInfo is passed const.
#include <wisp/app.hpp>
struct H {
    void close(wisp::Peer&, wisp::CloseInfo&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
