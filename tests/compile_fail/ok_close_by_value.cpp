// expect: OK
// close(Peer&, CloseInfo) by value.
#include <wisp/app.hpp>
struct H {
    void close(wisp::Peer&, wisp::CloseInfo info) { (void)info.code; }
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_close && K::close_with_info);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
