// expect: hook `open` must be public and callable as open(wisp::Peer&)
// A member template that cannot be called with a wisp::Peer& is reported, not skipped.
#include <wisp/app.hpp>
struct H {
    template <class T>
    void open(T*) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
