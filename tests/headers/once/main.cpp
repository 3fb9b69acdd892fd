// The compile-once test program (README "Compile time"): main.cpp and routes.cpp are built
// with WISP_COMPILE_ONCE and see only declarations; wisp_impl.cpp compiles the engine.
#include "wisp.hpp"
#include "routes.hpp"
#include <cstdio>
#if defined(ASIO_VERSION) || defined(OPENSSL_VERSION_NUMBER) || defined(HIREDIS_MAJOR)
#error "a compile-once file must not see Asio, OpenSSL or hiredis"
#endif

int main() {
    wisp::App app;
    add_routes(app);
    // In-process first (fetch), then over a socket until SIGTERM.
    wisp::Request req("GET", "/hello?name=once");
    if (app.fetch(std::move(req)).body != "hello, once") return 2;
    if (auto ec = app.listen("127.0.0.1", 0)) {
        std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(app.port()));
    std::fflush(stdout);
    app.stop_on_signals();
    return app.run() ? 1 : 0;
}
