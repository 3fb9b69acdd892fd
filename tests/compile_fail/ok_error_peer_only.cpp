// expect: OK
// error(Peer&): an error hook that does not need the error.
#include <wisp/app.hpp>
struct H {
    void error(wisp::Peer&) {}
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_error && !K::error_with_info);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
