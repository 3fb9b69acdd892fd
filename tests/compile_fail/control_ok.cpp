// expect: OK
// The control: every hook with its documented signature compiles (so the others fail for
// the reason they name, not for a broken harness).
#include <wisp/app.hpp>
struct H {
    std::optional<wisp::Response> upgrade(wisp::Request&) { return std::nullopt; }
    void open(wisp::Peer&) {}
    void message(wisp::Peer&, const wisp::Message&) {}
    void close(wisp::Peer&, const wisp::CloseInfo&) {}
    void error(wisp::Peer&, const wisp::Error&) {}
    void drain(wisp::Peer&) {}
};
static_assert(wisp::is_websocket_handler_v<H>);
struct Empty {};
static_assert(wisp::is_websocket_handler_v<Empty>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
    app.ws<Empty>("/empty");
}
