// expect: hook `open` must be public and callable as open(wisp::Peer&)
// A parameter no peer converts to.
#include <wisp/app.hpp>
struct H {
    void open(int) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
