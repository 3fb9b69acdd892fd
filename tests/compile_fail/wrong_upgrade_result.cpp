// expect: hook `upgrade` must return void, wisp::Response or std::optional<wisp::Response>
#include <wisp/app.hpp>
struct H {
    int upgrade(wisp::Request&) { return 1; }
};
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
