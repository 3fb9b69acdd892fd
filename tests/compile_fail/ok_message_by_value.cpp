// expect: OK
// message(Peer&, Message) by value; open(const Peer&) as a const member.
#include <wisp/app.hpp>
struct H {
    void open(const wisp::Peer&) const {}
    void message(wisp::Peer& peer, wisp::Message msg) { peer.send(msg); }
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_open && K::open_ok && K::has_message && K::message_ok);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
