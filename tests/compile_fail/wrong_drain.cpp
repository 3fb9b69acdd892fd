// expect: hook `drain` must be public and callable as drain(wisp::Peer&)
// drain is told which peer drained.
#include <wisp/app.hpp>
struct H {
    void drain() {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
