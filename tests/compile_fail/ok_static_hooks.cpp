// expect: OK
// Hooks need not be member functions: static members and callable data members work.
#include <wisp/app.hpp>
#include <functional>
#include <string>
struct H {
    static void open(wisp::Peer&) {}
    static wisp::Headers upgrade(wisp::Request&) { return {}; }
    std::function<void(wisp::Peer&, const wisp::Message&)> message = [](wisp::Peer&,
                                                                        const wisp::Message&) {};
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_open && K::open_ok && K::has_message && K::message_ok);
static_assert(K::upgrade_result == wisp::detail::UpgradeResult::headers);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
