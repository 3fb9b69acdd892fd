// expect: OK
// upgrade(const wisp::Request&), a const member, may reject with a Response.
#include <wisp/app.hpp>
struct H {
    wisp::Response upgrade(const wisp::Request& req) const {
        return req.query("token") ? wisp::accept() : wisp::status(403);
    }
};
using K = wisp::detail::Hooks<H>;
static_assert(K::has_upgrade && K::upgrade_result == wisp::detail::UpgradeResult::response);
static_assert(wisp::is_websocket_handler_v<H>);
int main() {
    wisp::App app;
    app.ws<H>("/ws");
}
