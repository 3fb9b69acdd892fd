// SPDX-License-Identifier: MIT
// A TLS test server for the real clients (curl, Python ssl + websockets, Node ws): echo's
// routes over HTTPS, and the TLS options a test needs on the command line.
//   tls_server --port 0 --cert F --key F [--chain F] [--client-ca F [--optional-client-cert]]
//              [--sni HOST,CERT,KEY]... [--handshake-timeout MS] [--threads N]
// Routes: GET / (Hello, World!), GET /whoami (the client certificate's subject), /_ws (echo;
// a text message "whoami" is answered with the subject), GET /sse?count=N (N events, then the
// end). SIGHUP reloads the certificate files. Prints `listening on https://127.0.0.1:PORT`.
#include <wisp/app.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

// Run as `tls_server`: support_servers.cpp calls run().
namespace wisp_test::tls_server {

namespace {

struct Echo {
    void message(wisp::Peer& peer, const wisp::Message& m) {
        if (m.is_text() && m.text() == "whoami") peer.send_text(peer.client_cert_subject());
        else peer.send(m);
    }
};

}   // namespace

int run(int argc, char** argv) {
    unsigned long port = 0, threads = 1;
    wisp::TlsOptions tls;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : "";
        if (a == "--port") port = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--threads") threads = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--cert") tls.cert_file = argv[++i];
        else if (a == "--key") tls.key_file = argv[++i];
        else if (a == "--chain") tls.chain_file = argv[++i];
        else if (a == "--client-ca") tls.client_ca_file = argv[++i];
        else if (a == "--optional-client-cert") tls.require_client_cert = false;
        else if (a == "--handshake-timeout")
            tls.handshake_timeout = std::chrono::milliseconds(std::strtoul(argv[++i], nullptr, 10));
        else if (a == "--sni") {
            const std::string s = v;
            ++i;
            const auto c1 = s.find(','), c2 = s.find(',', c1 + 1);
            if (c1 == std::string::npos || c2 == std::string::npos) return 2;
            tls.server_names.push_back(wisp::TlsServerName{
                s.substr(0, c1), s.substr(c1 + 1, c2 - c1 - 1), s.substr(c2 + 1)});
        } else {
            std::fprintf(stderr, "tls_server: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    wisp::App app;
    app.get("/", [](wisp::Request&) { return wisp::text("Hello, World!"); });
    app.get("/whoami",
            [](wisp::Request& req) { return wisp::text(std::string(req.client_cert_subject())); });
    app.ws<Echo>("/_ws", wisp::WsOptions{16 * 1024 * 1024});
    app.get("/sse", [](wisp::Request& req) {
        const unsigned long n =
            std::strtoul(std::string(req.query("count").value_or("0")).c_str(), nullptr, 10);
        wisp::EventStream s(req);
        for (unsigned long i = 1; i <= n; ++i)
            s.push(wisp::EventMessage{std::to_string(i), {}, std::to_string(i)});
        s.close();
        return wisp::Response(s);
    });
    app.on_error([](const wisp::Request&, const wisp::Error& e) {
        std::fprintf(stderr, "tls_server: %s: %s\n", e.code.message().c_str(), e.message.c_str());
    });
    app.stop_on_signals();
    app.reload_tls_on_sighup();
    if (auto ec = app.listen_tls("127.0.0.1", static_cast<std::uint16_t>(port), tls)) {
        std::fprintf(stderr, "tls_server: %s: %s\n", ec.message().c_str(),
                     app.tls_error_detail().c_str());
        return 1;
    }
    std::printf("listening on https://127.0.0.1:%u\n", unsigned(app.tls_port()));
    std::fflush(stdout);
    return app.run(static_cast<unsigned>(threads ? threads : 1)) ? 1 : 0;
}

}   // namespace wisp_test::tls_server
