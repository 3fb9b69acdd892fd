// expect: hook `upgrade` must be public and callable as upgrade(wisp::Request&)
//         or upgrade(const wisp::Request&)
// A parameter no request converts to.
#include <wisp/app.hpp>
struct H {
    bool upgrade(const std::string&) { return true; }
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
