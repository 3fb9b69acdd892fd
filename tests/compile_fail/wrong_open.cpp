// expect: hook `open` must be callable as open(wisp::Peer&)
#include <wisp/app.hpp>
struct H {
    void open(int) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
