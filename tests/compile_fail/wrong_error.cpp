// expect: hook `error` must be public and callable as error(wisp::Peer&),
//         error(wisp::Peer&, const wisp::Error&) or error(wisp::Peer&, wisp::Error)
// The peer comes first.
#include <wisp/app.hpp>
struct H {
    void error(const wisp::Error&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
