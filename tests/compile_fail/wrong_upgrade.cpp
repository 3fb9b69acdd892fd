// expect: hook `upgrade` must be callable as upgrade(wisp::Request&)
#include <wisp/app.hpp>
struct H {
    bool upgrade(const std::string&) { return true; }
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
