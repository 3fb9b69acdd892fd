// SPDX-License-Identifier: MIT
// HTTPS and wss:// over real sockets (App::listen_tls), against certificates that
// tests/tls/make_certs.py made with the openssl command for this run.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include "support/tls_client.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using support::cert;
using support::TlsClient;
using support::TlsClientOptions;
using support::TlsServer;

namespace {

void hello_routes(wisp::App& app) {
    app.get("/", [](wisp::Request&) { return wisp::text("Hello, TLS!"); });
    app.get("/whoami",
            [](wisp::Request& req) { return wisp::text(std::string(req.client_cert_subject())); });
}

struct Echo {
    void message(wisp::Peer& peer, const wisp::Message& m) { peer.send(m); }
};

/// Everything on_error saw, for checking that failures are reported with a reason.
struct ErrorLog {
    std::mutex m;
    std::vector<std::string> lines;
    void attach(wisp::App& app) {
        app.on_error([this](const wisp::Request&, const wisp::Error& e) {
            std::lock_guard<std::mutex> lock(m);
            lines.push_back(e.code.message() + ": " + e.message);
        });
    }
    bool has(std::string_view what) {
        std::lock_guard<std::mutex> lock(m);
        for (const auto& l : lines)
            if (l.find(what) != std::string::npos) return true;
        return false;
    }
};

/// Waits (bounded) until `pred` holds, checking each time the server may have acted: a small
/// request on a fresh connection is a round trip through the server's loop.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(2ms);   // polled with a deadline
    }
    return true;
}

std::string ok_body(TlsClient& c, std::string_view path = "/") {
    const std::string r = c.get(path);
    return support::status_of(r) == 200 ? support::body_of(r)
                                        : "status " + std::to_string(support::status_of(r));
}

}   // namespace

TEST_CASE("tls: an https GET is answered, with ALPN http/1.1, and keeps alive") {
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, support::server_tls());
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.alpn() == "http/1.1");
    CHECK(SSL_version(c.ssl()) == TLS1_3_VERSION);
    CHECK(ok_body(c) == "Hello, TLS!");
    CHECK(ok_body(c) == "Hello, TLS!");   // same connection
    // Pipelined requests over TLS are answered in order.
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /whoami HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(support::body_of(c.read_response()) == "Hello, TLS!");
    CHECK(support::status_of(c.read_response()) == 200);
}

TEST_CASE("tls: listen and listen_tls serve side by side in one app") {
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, support::server_tls(), /*also_plain=*/true);
    REQUIRE(s.port() != 0);
    REQUIRE(s.tls_port() != s.port());
    support::Client plain(s.port());
    plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(support::body_of(plain.read_response()) == "Hello, TLS!");
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(ok_body(c) == "Hello, TLS!");
}

TEST_CASE("tls: Request::url() says https://, peer.url() wss://; plain HTTP redirects to HTTPS") {
    wisp::App app;
    std::atomic<std::uint16_t> tls_port{0};
    // The redirect a site serving both ports wants: plain requests go to the same URL over TLS.
    app.use([&tls_port](wisp::Request& req) -> std::optional<wisp::Response> {
        if (req.is_secure()) return std::nullopt;
        std::string host(req.host());
        host = host.substr(0, host.rfind(':'));
        return wisp::redirect(
            "https://" + host + ":" + std::to_string(tls_port.load()) + std::string(req.target()),
            308);
    });
    app.get("/where", [](wisp::Request& req) { return wisp::text(req.url()); });
    std::promise<std::string> peer_url;
    struct Url {
        std::promise<std::string>* out;
        void open(wisp::Peer& p) { out->set_value(p.url()); }
    };
    Url url{&peer_url};
    app.ws("/_ws", url);
    TlsServer s(app, support::server_tls(), /*also_plain=*/true);
    tls_port = s.tls_port();
    const std::string tls_host = "localhost:" + std::to_string(s.tls_port());

    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    c.send("GET /where?a=1 HTTP/1.1\r\nHost: " + tls_host + "\r\n\r\n");
    CHECK(support::body_of(c.read_response()) == "https://" + tls_host + "/where?a=1");
    c.send("GET /_ws?room=2 HTTP/1.1\r\nHost: " + tls_host +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    auto f = peer_url.get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == "wss://" + tls_host + "/_ws?room=2");

    support::Client plain(s.port());
    plain.send("GET /where?a=1 HTTP/1.1\r\nHost: localhost:" + std::to_string(s.port()) +
               "\r\n\r\n");
    const std::string r = plain.read_response();
    CHECK(support::status_of(r) == 308);
    CHECK(support::header_of(r, "Location") == "https://" + tls_host + "/where?a=1");
}

TEST_CASE("tls: certificates from PEM text, the chain from chain_pem") {
    wisp::TlsOptions o;
    o.cert_pem = support::slurp(cert("server.pem"));
    o.key_pem = support::slurp(cert("server.key"));
    o.chain_pem = support::slurp(cert("chain.pem"));
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, o);
    TlsClient c(s.tls_port());   // trusts only the root: the intermediate must come from us
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(ok_body(c) == "Hello, TLS!");
}

TEST_CASE("tls: a leaf certificate file with its chain in chain_file") {
    wisp::TlsOptions o;
    o.cert_file = cert("server.pem");
    o.key_file = cert("server.key");
    o.chain_file = cert("chain.pem");
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, o);
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(ok_body(c) == "Hello, TLS!");

    // Without the chain a client that trusts only the root refuses the server.
    wisp::TlsOptions leaf_only;
    leaf_only.cert_file = cert("server.pem");
    leaf_only.key_file = cert("server.key");
    wisp::App app2;
    hello_routes(app2);
    TlsServer s2(app2, leaf_only);
    TlsClient c2(s2.tls_port());
    CHECK_FALSE(c2.handshake());
}

TEST_CASE("tls: start-up refuses bad certificates with the file and OpenSSL's reason") {
    struct Bad {
        const char* what;
        std::string cert_file, key_file;
        std::vector<std::string> says;   // all in tls_error_detail()
    };
    const std::vector<Bad> cases = {
        {"missing certificate", cert("nope.pem"), cert("server.key"), {"nope.pem", "certificate"}},
        {"not PEM", cert("garbage.pem"), cert("server.key"), {"garbage.pem", "no PEM certificate"}},
        {"key of another certificate",
         cert("fullchain.pem"),
         cert("wrong.key"),
         {"wrong.key", "fullchain.pem", "does not fit", "mismatch"}},
        {"missing key", cert("fullchain.pem"), cert("nokey.key"), {"nokey.key", "private key"}},
        {"expired",
         cert("expired.pem"),
         cert("expired.key"),
         {"expired.pem", "expired on", "2020"}},
        {"no key at all", cert("fullchain.pem"), "", {"no private key"}},
    };
    for (const Bad& b : cases) {
        CAPTURE(b.what);
        wisp::App app;
        hello_routes(app);
        wisp::TlsOptions o;
        o.cert_file = b.cert_file;
        o.key_file = b.key_file;
        const std::error_code ec = app.listen_tls("127.0.0.1", 0, o);
        CHECK(ec == wisp::errc::tls_setup);
        const std::string detail = app.tls_error_detail();
        CAPTURE(detail);
        for (const auto& s : b.says) CHECK(detail.find(s) != std::string::npos);
        CHECK(app.tls_port() == 0);   // nothing was bound
    }
    // An unknown cipher list, and an SNI entry with a bad file, are refused the same way.
    wisp::App app;
    wisp::TlsOptions o = support::server_tls();
    o.ciphers = "NO-SUCH-CIPHER";
    CHECK(app.listen_tls("127.0.0.1", 0, o) == wisp::errc::tls_setup);
    CHECK(app.tls_error_detail().find("NO-SUCH-CIPHER") != std::string::npos);
    o = support::server_tls();
    o.server_names.push_back({"alpha.test", cert("alpha.pem"), cert("wrong.key"), "", "", "", ""});
    CHECK(app.listen_tls("127.0.0.1", 0, o) == wisp::errc::tls_setup);
    CHECK(app.tls_error_detail().find("alpha.test") != std::string::npos);
}

TEST_CASE("tls: SNI chooses the certificate by host name, wildcards included") {
    wisp::TlsOptions o = support::server_tls();
    o.server_names.push_back({"alpha.test", cert("alpha.pem"), cert("alpha.key"), "", "", "", ""});
    o.server_names.push_back({"*.beta.test", cert("beta.pem"), cert("beta.key"), "", "", "", ""});
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, o);
    struct Want {
        std::string name, cn;
    };
    for (const Want& w : std::vector<Want>{{"alpha.test", "alpha.test"},
                                           {"ALPHA.test", "alpha.test"},
                                           {"www.beta.test", "*.beta.test"},
                                           {"localhost", "localhost"}}) {
        CAPTURE(w.name);
        TlsClientOptions co;
        co.server_name = w.name;
        TlsClient c(s.tls_port(), co);
        REQUIRE_MESSAGE(c.handshake(), c.error());   // verified for that name
        CHECK(c.peer_cn() == w.cn);
        CHECK(ok_body(c) == "Hello, TLS!");
    }
    // "*.beta.test" stands for one label: a deeper name and the bare name get the default.
    for (const char* name : {"a.b.beta.test", "beta.test", "unknown.test"}) {
        CAPTURE(name);
        TlsClientOptions co;
        co.server_name = name;
        co.ca_file = "";   // the default certificate does not carry these names
        TlsClient c(s.tls_port(), co);
        REQUIRE_MESSAGE(c.handshake(), c.error());
        CHECK(c.peer_cn() == "localhost");
    }
    TlsClientOptions none;
    none.server_name = "";
    none.ca_file = "";
    TlsClient c(s.tls_port(), none);
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.peer_cn() == "localhost");
}

TEST_CASE("tls: ALPN: http/1.1 is chosen from a list, a list without it is refused") {
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, support::server_tls());
    TlsClientOptions both;
    both.alpn = {"h2", "http/1.1"};
    TlsClient a(s.tls_port(), both);
    REQUIRE_MESSAGE(a.handshake(), a.error());
    CHECK(a.alpn() == "http/1.1");
    TlsClientOptions none;
    none.alpn = {};
    TlsClient b(s.tls_port(), none);
    REQUIRE_MESSAGE(b.handshake(), b.error());
    CHECK(b.alpn().empty());
    CHECK(ok_body(b) == "Hello, TLS!");
    TlsClientOptions h2;
    h2.alpn = {"h2"};
    TlsClient c(s.tls_port(), h2);
    CHECK_FALSE(c.handshake());
    CHECK(c.error().find("no application protocol") != std::string::npos);
}

TEST_CASE("tls: secure defaults: TLS 1.2 minimum, no compression, no renegotiation") {
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, support::server_tls());
    for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
        CAPTURE(v);
        TlsClientOptions old;
        old.max_version = v;
        TlsClient c(s.tls_port(), old);
        CHECK_FALSE(c.handshake());
    }
    TlsClientOptions tls12;
    tls12.max_version = TLS1_2_VERSION;
    TlsClient c(s.tls_port(), tls12);
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(SSL_version(c.ssl()) == TLS1_2_VERSION);
    CHECK(SSL_get_current_compression(c.ssl()) == nullptr);
    const std::string suite = SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl()));
    CAPTURE(suite);
    CHECK(suite.rfind("ECDHE-", 0) == 0);
    CHECK((suite.find("GCM") != std::string::npos || suite.find("CHACHA20") != std::string::npos));
    CHECK(ok_body(c) == "Hello, TLS!");
    // A client asking to renegotiate is refused (a no_renegotiation alert), or the connection
    // ends; it is never renegotiated, and the server goes on serving.
    REQUIRE(SSL_renegotiate(c.ssl()) == 1);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.read_response(2000ms);
    CHECK(SSL_renegotiate_pending(c.ssl()) == 1);   // never completed
    TlsClient d(s.tls_port());
    REQUIRE_MESSAGE(d.handshake(), d.error());
    CHECK(ok_body(d) == "Hello, TLS!");
}

TEST_CASE("tls: mutual TLS: no certificate or an untrusted one is refused, a trusted one is seen") {
    wisp::TlsOptions o = support::server_tls();
    o.client_ca_file = cert("ca.pem");
    wisp::App app;
    hello_routes(app);
    std::promise<std::string> peer_subject;
    struct Who {
        std::promise<std::string>* out;
        void open(wisp::Peer& p) { out->set_value(std::string(p.client_cert_subject())); }
    };
    Who who{&peer_subject};
    app.ws("/who", who);
    TlsServer s(app, o);

    {   // No certificate: TLS 1.3 fails after the client's Finished, at the first read.
        TlsClient c(s.tls_port());
        const bool hs = c.handshake();
        if (hs) {
            c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(c.read_response(3000ms).empty());
            CHECK(c.closed());
        }
        CHECK((c.error().find("certificate required") != std::string::npos ||
               c.error().find("handshake failure") != std::string::npos));
    }
    {
        TlsClientOptions co;
        co.cert_file = cert("stranger.pem");
        co.key_file = cert("stranger.key");
        TlsClient c(s.tls_port(), co);
        if (c.handshake()) {
            c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(c.read_response(3000ms).empty());
        }
        CHECK(c.error().find("unknown ca") != std::string::npos);
    }
    TlsClientOptions co;
    co.cert_file = cert("client.pem");
    co.key_file = cert("client.key");
    TlsClient c(s.tls_port(), co);
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(ok_body(c, "/whoami") == "O=wisp tests,CN=alice");
    TlsClient w(s.tls_port(), co);
    REQUIRE_MESSAGE(w.handshake(), w.error());
    CHECK(w.ws_handshake("/who").rfind("HTTP/1.1 101", 0) == 0);
    auto f = peer_subject.get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == "O=wisp tests,CN=alice");

    // Optional client certificates: in without one (empty subject), verified when sent.
    wisp::TlsOptions opt = support::server_tls();
    opt.client_ca_file = cert("ca.pem");
    opt.require_client_cert = false;
    wisp::App app2;
    hello_routes(app2);
    TlsServer s2(app2, opt);
    TlsClient anon(s2.tls_port());
    REQUIRE_MESSAGE(anon.handshake(), anon.error());
    CHECK(ok_body(anon, "/whoami").empty());
    TlsClient alice(s2.tls_port(), co);
    REQUIRE_MESSAGE(alice.handshake(), alice.error());
    CHECK(ok_body(alice, "/whoami") == "O=wisp tests,CN=alice");
}

TEST_CASE("tls: session tickets resume; the key rotates, the previous one still opens tickets") {
    wisp::TlsOptions o = support::server_tls();
    o.ticket_key_lifetime = 400ms;   // rotation checked lazily: at 0.5 s and at 1 s below
    wisp::App app;
    hello_routes(app);
    TlsServer s(app, o);
    // Checked with TLS 1.2 and 1.3. A TLS 1.3 ticket is for one use (RFC 8446 §C.4; OpenSSL's
    // client marks it used), so each resumption below uses a ticket not used before.
    for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        CAPTURE(v);
        TlsClientOptions co;
        co.max_version = v == TLS1_2_VERSION ? v : 0;
        // Connects (resuming `resume` if set); returns the session it ends with.
        auto connect = [&](SSL_SESSION* resume, int& reused) {
            TlsClientOptions o2 = co;
            o2.session = resume;
            TlsClient c(s.tls_port(), o2);
            REQUIRE_MESSAGE(c.handshake(), c.error());
            CHECK(ok_body(c) == "Hello, TLS!");   // TLS 1.3 tickets arrive after the handshake
            reused = SSL_session_reused(c.ssl());
            return SSL_get1_session(c.ssl());
        };
        int reused = 0;
        const auto born = std::chrono::steady_clock::now();
        SSL_SESSION* a1 = connect(nullptr, reused);   // three tickets sealed with key A
        SSL_SESSION* a2 = connect(nullptr, reused);
        SSL_SESSION* a3 = connect(nullptr, reused);
        REQUIRE(a1 != nullptr);
        CHECK(SSL_SESSION_has_ticket(a1) == 1);
        SSL_SESSION* r1 = connect(a1, reused);
        CHECK(reused == 1);
        // One lifetime later key A is the previous one: still accepted, and the client gets a
        // ticket under the new key.
        std::this_thread::sleep_until(born + 500ms);   // time itself is what is waited for
        SSL_SESSION* r2 = connect(a2, reused);         // rotates the key (lazily, on use)
        CHECK(reused == 1);
        CHECK(r2 != a2);
        CHECK(SSL_SESSION_has_ticket(r2) == 1);
        // Two rotations later key A is gone: a full handshake.
        std::this_thread::sleep_until(born + 1000ms);
        SSL_SESSION* b = connect(nullptr, reused);   // rotates again
        SSL_SESSION* r3 = connect(a3, reused);
        CHECK(reused == 0);
        for (SSL_SESSION* x : {a1, a2, a3, r1, r2, b, r3}) SSL_SESSION_free(x);
    }
    // ticket_key_lifetime = 0: no tickets at all.
    wisp::TlsOptions off = support::server_tls();
    off.ticket_key_lifetime = 0ms;
    wisp::App app2;
    hello_routes(app2);
    TlsServer s2(app2, off);
    TlsClientOptions co;
    co.max_version = TLS1_2_VERSION;
    TlsClient c(s2.tls_port(), co);
    REQUIRE_MESSAGE(c.handshake(), c.error());
    SSL_SESSION* sess = SSL_get1_session(c.ssl());
    CHECK(SSL_SESSION_has_ticket(sess) == 0);
    SSL_SESSION_free(sess);
}

TEST_CASE("tls: reload_tls: new handshakes get the new certificate, open connections go on") {
    // The files are copied so that the test can replace them as a renewal would.
    const std::string dir = support::cert_dir();
    const std::string cert_file = dir + "/reload-cert.pem", key_file = dir + "/reload-key.pem";
    auto put = [](const std::string& to, const std::string& from) {
        FILE* f = std::fopen(to.c_str(), "wb");
        REQUIRE(f != nullptr);
        const std::string text = support::slurp(from);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    };
    put(cert_file, cert("fullchain.pem"));
    put(key_file, cert("server.key"));
    wisp::TlsOptions o;
    o.cert_file = cert_file;
    o.key_file = key_file;
    wisp::App app;
    hello_routes(app);
    ErrorLog log;
    log.attach(app);
    CHECK(app.reload_tls() == wisp::errc::not_listening);
    TlsServer s(app, o);
    auto org = [](TlsClient& c) {
        X509* x = SSL_get0_peer_certificate(c.ssl());
        char buf[128] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, buf, sizeof buf);
        return std::string(buf);
    };
    TlsClient before(s.tls_port());
    REQUIRE_MESSAGE(before.handshake(), before.error());
    CHECK(org(before) == "wisp tests");

    put(cert_file, cert("renewed-fullchain.pem"));
    put(key_file, cert("renewed.key"));
    REQUIRE(app.reload_tls() == std::error_code());
    TlsClient after(s.tls_port());
    REQUIRE_MESSAGE(after.handshake(), after.error());
    CHECK(org(after) == "wisp tests renewed");
    CHECK(ok_body(before) == "Hello, TLS!");   // untouched
    CHECK(ok_body(after) == "Hello, TLS!");

    // A renewal gone wrong (the key of another certificate) changes nothing.
    put(key_file, cert("wrong.key"));
    CHECK(app.reload_tls() == wisp::errc::tls_setup);
    CHECK(app.tls_error_detail().find("reload-key.pem") != std::string::npos);
    TlsClient still(s.tls_port());
    REQUIRE_MESSAGE(still.handshake(), still.error());
    CHECK(org(still) == "wisp tests renewed");

    // reload_tls(options) takes new settings (here certificates from memory).
    wisp::TlsOptions mem;
    mem.cert_pem = support::slurp(cert("fullchain.pem"));
    mem.key_pem = support::slurp(cert("server.key"));
    REQUIRE(app.reload_tls(mem) == std::error_code());
    TlsClient again(s.tls_port());
    REQUIRE_MESSAGE(again.handshake(), again.error());
    CHECK(org(again) == "wisp tests");
    CHECK(ok_body(after) == "Hello, TLS!");
    std::remove(cert_file.c_str());
    std::remove(key_file.c_str());
}

#ifdef SIGHUP
TEST_CASE("tls: reload_tls_on_sighup reloads on SIGHUP") {
    const std::string dir = support::cert_dir();
    const std::string cert_file = dir + "/hup-cert.pem", key_file = dir + "/hup-key.pem";
    auto put = [](const std::string& to, const std::string& from) {
        FILE* f = std::fopen(to.c_str(), "wb");
        REQUIRE(f != nullptr);
        const std::string text = support::slurp(from);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    };
    put(cert_file, cert("fullchain.pem"));
    put(key_file, cert("server.key"));
    wisp::TlsOptions o;
    o.cert_file = cert_file;
    o.key_file = key_file;
    wisp::App app;
    hello_routes(app);
    app.reload_tls_on_sighup();
    TlsServer s(app, o);
    put(cert_file, cert("renewed-fullchain.pem"));
    put(key_file, cert("renewed.key"));
    ::raise(SIGHUP);
    auto renewed = [&] {
        TlsClient c(s.tls_port());
        if (!c.handshake()) return false;
        char buf[128] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_get0_peer_certificate(c.ssl())),
                                  NID_organizationName, buf, sizeof buf);
        return std::string(buf) == "wisp tests renewed";
    };
    CHECK(eventually(renewed));
    std::remove(cert_file.c_str());
    std::remove(key_file.c_str());
}
#endif

TEST_CASE("tls: plain HTTP sent to the TLS port gets a plain 400 and a close") {
    wisp::App app;
    hello_routes(app);
    ErrorLog log;
    log.attach(app);
    TlsServer s(app, support::server_tls());
    support::Client plain(s.tls_port());
    plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = plain.read_response();
    CHECK(support::status_of(r) == 400);
    CHECK(support::body_of(r).find("HTTPS") != std::string::npos);
    CHECK(plain.wait_closed());
    CHECK(log.has("plain HTTP"));
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(ok_body(c) == "Hello, TLS!");
}

TEST_CASE("tls: garbage, a truncated ClientHello and a reset each close only their connection") {
    wisp::App app;
    hello_routes(app);
    ErrorLog log;
    log.attach(app);
    TlsServer s(app, support::server_tls());
    TlsClient good(s.tls_port());
    REQUIRE_MESSAGE(good.handshake(), good.error());
    {   // A handshake record of garbage: an alert, then the close.
        support::Client g(s.tls_port());
        std::string junk("\x16\x03\x01\x00\x20", 5);
        junk.append(32, '\x7f');
        g.send(junk);
        CHECK(g.wait_closed());
        CHECK(g.buffer().size() > 0);
        CHECK(g.buffer()[0] == '\x15');   // an alert record
    }
    {   // Not TLS and not HTTP either.
        support::Client g(s.tls_port());
        g.send(std::string(64, '\x01'));
        CHECK(g.wait_closed());
    }
    {   // The start of a real ClientHello, then the client's FIN.
        TlsClient t(s.tls_port());
        BIO* mem = BIO_new(BIO_s_mem());
        SSL* probe = SSL_new(SSL_get_SSL_CTX(t.ssl()));
        SSL_set_bio(probe, BIO_new(BIO_s_mem()), mem);
        SSL_set_connect_state(probe);
        SSL_do_handshake(probe);   // writes the ClientHello into the memory BIO
        char* hello = nullptr;
        const long n = BIO_get_mem_data(mem, &hello);
        REQUIRE(n > 40);
        support::Client g(s.tls_port());
        g.send(std::string(hello, static_cast<std::size_t>(n / 2)));
        ::shutdown(g.socket().native_handle(), SHUT_WR);
        CHECK(g.wait_closed());
        SSL_free(probe);
        ERR_clear_error();
    }
    CHECK(eventually([&] { return log.has("TLS handshake"); }));
    CHECK(ok_body(good) == "Hello, TLS!");
    TlsClient after(s.tls_port());
    REQUIRE_MESSAGE(after.handshake(), after.error());
    CHECK(ok_body(after) == "Hello, TLS!");
}

TEST_CASE("tls: a handshake that stalls is closed at handshake_timeout; others are served") {
    wisp::TlsOptions o = support::server_tls();
    o.handshake_timeout = 300ms;
    wisp::Options opts;
    opts.timer_resolution = 20ms;
    wisp::App app(opts);
    hello_routes(app);
    ErrorLog log;
    log.attach(app);
    TlsServer s(app, o);
    const auto t0 = std::chrono::steady_clock::now();
    support::Client silent(s.tls_port());
    support::Client slow(s.tls_port());
    slow.send(std::string("\x16\x03\x01\x01", 4));   // a record header, then nothing
    TlsClient good(s.tls_port());
    REQUIRE_MESSAGE(good.handshake(), good.error());
    CHECK(silent.wait_closed(3000ms));
    CHECK(slow.wait_closed(3000ms));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 280ms);
    CHECK(took < 2500ms);
    CHECK(log.has("timed out"));
    // An established connection is not bound by the handshake deadline.
    CHECK(ok_body(good) == "Hello, TLS!");
}

TEST_CASE("tls: wss echo: text, binary, a 1 MiB message, and the closing handshake") {
    wisp::App app;
    app.ws<Echo>("/_ws");
    TlsServer s(app, support::server_tls());
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    REQUIRE(c.ws_handshake("/_ws").rfind("HTTP/1.1 101", 0) == 0);
    using wisp::detail::Opcode;
    c.send(wisp::detail::encode_client_frame(Opcode::text, "hello over tls", true, 1));
    auto f = c.next_frame();
    REQUIRE(f);
    CHECK(f->opcode == 1);
    CHECK(f->payload == "hello over tls");
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
    c.send(wisp::detail::encode_client_frame(Opcode::binary, big, true, 2));
    f = c.next_frame(10s);
    REQUIRE(f);
    CHECK(f->opcode == 2);
    CHECK(f->payload == big);
    c.send(wisp::detail::encode_client_frame(Opcode::close,
                                             std::string("\x0f\xa0"
                                                         "done",
                                                         6),
                                             true, 3));
    f = c.next_frame();
    REQUIRE(f);
    CHECK(f->opcode == 8);
    CHECK(f->close_code() == 4000);
    CHECK(c.wait_closed());
    CHECK(c.clean_close());   // close_notify before the FIN
}

TEST_CASE("tls: a publication reaches every TLS subscriber; a reset mid-record closes one") {
    struct Room {
        std::atomic<int>* opened;
        std::promise<std::uint16_t>* reset_close;
        void open(wisp::Peer& p) {
            p.subscribe("room");
            ++*opened;
        }
        void message(wisp::Peer& p, const wisp::Message& m) { p.publish("room", m); }
        void close(wisp::Peer& p, const wisp::CloseInfo& info) {
            if (p.request().path() == "/_room/resetter") reset_close->set_value(info.code);
        }
    };
    std::atomic<int> opened{0};
    std::promise<std::uint16_t> reset_close;
    Room room{&opened, &reset_close};
    wisp::App app;
    app.ws("/_room/:who", room);
    TlsServer s(app, support::server_tls(), false, 2);
    std::vector<std::unique_ptr<TlsClient>> subs;
    for (int i = 0; i < 20; ++i) {
        subs.push_back(std::make_unique<TlsClient>(s.tls_port()));
        REQUIRE_MESSAGE(subs.back()->handshake(), subs.back()->error());
        REQUIRE(subs.back()->ws_handshake("/_room/sub").rfind("HTTP/1.1 101", 0) == 0);
    }
    TlsClient resetter(s.tls_port());
    REQUIRE_MESSAGE(resetter.handshake(), resetter.error());
    REQUIRE(resetter.ws_handshake("/_room/resetter").rfind("HTTP/1.1 101", 0) == 0);
    REQUIRE(eventually([&] { return opened.load() == 21; }));
    using wisp::detail::Opcode;
    // Half a record of a frame, then a reset (SO_LINGER 0).
    std::string frame =
        wisp::detail::encode_client_frame(Opcode::text, std::string(3000, 'r'), true, 5);
    {
        BIO* mem = BIO_new(BIO_s_mem());
        BIO* keep = SSL_get_wbio(resetter.ssl());
        BIO_up_ref(keep);
        SSL_set0_wbio(resetter.ssl(), mem);
        std::size_t w = 0;
        REQUIRE(SSL_write_ex(resetter.ssl(), frame.data(), frame.size(), &w) == 1);
        char* rec = nullptr;
        const long n = BIO_get_mem_data(mem, &rec);
        REQUIRE(n > 100);
        const std::string half(rec, static_cast<std::size_t>(n / 2));
        ::send(resetter.fd(), half.data(), half.size(), 0);
        linger lg{1, 0};
        ::setsockopt(resetter.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::shutdown(resetter.fd(), SHUT_RDWR);
        SSL_set0_wbio(resetter.ssl(), keep);
    }
    auto rc = reset_close.get_future();
    REQUIRE(rc.wait_for(5s) == std::future_status::ready);
    CHECK(rc.get() == 1006);
    // The others go on: one publishes, every other one gets it once.
    subs[0]->send(wisp::detail::encode_client_frame(Opcode::text, "to all", true, 9));
    for (std::size_t i = 1; i < subs.size(); ++i) {
        CAPTURE(i);
        auto f = subs[i]->next_frame();
        REQUIRE(f);
        CHECK(f->payload == "to all");
    }
}

TEST_CASE("tls: an event stream over https") {
    wisp::App app;
    app.get("/sse", [](wisp::Request& req) {
        wisp::EventStream s(req);
        for (int i = 1; i <= 3; ++i)
            s.push(wisp::EventMessage{std::to_string(i), "", std::to_string(i)});
        s.close();
        return wisp::Response(s);
    });
    TlsServer s(app, support::server_tls());
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    c.send("GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.read_until(
        [](const std::string& b) { return b.find("data: 3\n\n") != std::string::npos; }));
    CHECK(c.buffer().find("text/event-stream") != std::string::npos);
    CHECK(c.buffer().find("id: 1\ndata: 1\n\n") != std::string::npos);
}

TEST_CASE("tls: graceful stop sends close 1001 to wss peers over TLS") {
    wisp::App app;
    app.ws<Echo>("/_ws");
    TlsServer s(app, support::server_tls());
    TlsClient c(s.tls_port());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    REQUIRE(c.ws_handshake("/_ws").rfind("HTTP/1.1 101", 0) == 0);
    std::thread stopper([&] { s.stop(); });
    auto f = c.next_frame();
    REQUIRE(f);
    CHECK(f->opcode == 8);
    CHECK(f->close_code() == 1001);
    using wisp::detail::Opcode;
    c.send(wisp::detail::encode_client_frame(Opcode::close, std::string("\x03\xe9", 2), true, 4));
    CHECK(c.wait_closed());
    stopper.join();
}
