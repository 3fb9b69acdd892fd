// expect: OK
// Member templates that can be called with the engine's arguments are hooks.
#include <wisp/app.hpp>
struct H {
    template <class Request>
    void upgrade(Request&) {}
    template <class Peer>
    void open(Peer&) {}
    template <class Peer, class Message>
    void message(Peer&, const Message&) {}
    template <class... Info>
    void close(wisp::Peer&, const Info&...) {}   // called with the CloseInfo (the richest form)
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_upgrade && K::upgrade_result == wisp::detail::UpgradeResult::accept);
static_assert(K::has_open && K::has_message && K::message_ok && K::close_with_info);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
