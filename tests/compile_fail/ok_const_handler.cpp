// expect: OK
// A const handler object: its hooks are const members, called on the const object.
#include <wisp/app.hpp>
struct H {
    void open(wisp::Peer&) const {}
    void close(wisp::Peer&, const wisp::CloseInfo&) const {}
};
static_assert(wisp::is_websocket_handler_v<const H>);
int main() {
    static const H handler{};
    wisp::App app;
    app.ws("/ws", handler);
}
