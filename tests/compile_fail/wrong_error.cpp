// expect: hook `error` must be callable as error(wisp::Peer&, const wisp::Error&)
#include <wisp/app.hpp>
struct H {
    void error(const wisp::Error&) {}
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
