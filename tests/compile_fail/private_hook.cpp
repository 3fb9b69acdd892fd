// expect: hook `open` must be public and callable as open(wisp::Peer&)
// A private hook cannot be called by wisp; it is reported, not skipped.
#include <wisp/app.hpp>
struct H {
private:
    void open(wisp::Peer&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
