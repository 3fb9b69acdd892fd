// expect: OK
// An upgrade may return just wisp::Headers: the upgrade is accepted with them.
#include <wisp/app.hpp>
struct H {
    wisp::Headers upgrade(wisp::Request&) { return {{"X-Room", "lobby"}}; }
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_upgrade && K::upgrade_result == wisp::detail::UpgradeResult::headers);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
