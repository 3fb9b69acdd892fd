// expect: hook `close` must be public and callable as close(wisp::Peer&),
//         close(wisp::Peer&, const wisp::CloseInfo&) or close(wisp::Peer&, wisp::CloseInfo)
// A close code alone is not a CloseInfo.
#include <wisp/app.hpp>
struct H {
    void close(wisp::Peer&, std::uint16_t) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
