// expect: hook `open` must be public and callable as open(wisp::Peer&)
// Any member named like a hook is taken as that hook; this one cannot be called.
#include <wisp/app.hpp>
struct H {
    bool open = false;
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
