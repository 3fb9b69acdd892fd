// expect: hook `drain` must be callable as drain(wisp::Peer&)
#include <wisp/app.hpp>
struct H {
    void drain() {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
