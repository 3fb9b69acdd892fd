// expect: OK
// Overload sets: the members that fit are used, the richest form when several do.
#include <wisp/app.hpp>
#include <functional>
#include <string>
struct H {
    void message(wisp::Peer&, std::string&) {}   // never fits, never called
    void message(wisp::Peer&, const wisp::Message&) {}
    void close(wisp::Peer&) {}
    void close(wisp::Peer&, const wisp::CloseInfo&) {}   // the one called
    void error(wisp::Peer&) const {}
    void error(wisp::Peer&, const wisp::Error&) const {}   // the one called
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_message && K::message_ok);
static_assert(K::has_close && K::close_with_info && K::has_error && K::error_with_info);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
