// SPDX-License-Identifier: MIT
// libFuzzer target for the TLS-to-session path: the real Connection, HttpSession and WsSession
// over TlsTransport over the in-memory transport (tests/support), driven by an OpenSSL client
// in memory. The server's certificate is made in-process at start-up (no key is committed).
// Input: a mode byte, then data.
//   mode 0: the data is the client's first flight, raw (garbage or mutated ClientHellos);
//   mode 1: a handshake, then the data as plaintext requests, cut into records at
//           input-chosen points (HTTP parsing behind TLS);
//   mode 2: a handshake and a WebSocket upgrade, then the data as frames (echoed), cut the
//           same way;
//   mode 3: a handshake, then the data as raw bytes after it (broken records, alerts).
// Whatever arrives, nothing may crash, leak or read out of bounds (ASan, UBSan), and the
// engine must end every connection it is asked to end.
// Build: meson setup -Dfuzz=true with CXX=clang++ (tests/fuzz/meson.build).
#include <wisp/app.hpp>

#include "../support/fake_transport.hpp"

#include <wisp/detail/tls_context.hpp>
#include <wisp/detail/tls_transport.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {

namespace d = wisp::detail;

struct Echo {
    void message(wisp::Peer& p, const wisp::Message& m) { p.send(m); }
};

/// A self-signed P-256 certificate for "localhost", as PEM text.
void make_identity(std::string& cert_pem, std::string& key_pem) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    cert_pem.assign(p, static_cast<std::size_t>(n));
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    n = BIO_get_mem_data(b, &p);
    key_pem.assign(p, static_cast<std::size_t>(n));
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);
}

struct Shared {
    std::shared_ptr<d::TlsContext> server;
    SSL_CTX* client = nullptr;
    d::WsEndpoint ws;
    Echo echo;
    Shared() {
        wisp::TlsOptions o;
        make_identity(o.cert_pem, o.key_pem);
        std::string why;
        server =
            d::TlsContext::make(o, std::make_shared<d::TicketKeys>(o.ticket_key_lifetime), why);
        if (!server) __builtin_trap();
        client = SSL_CTX_new(TLS_client_method());   // verifies nothing: the server is ours
        d::fill_endpoint(ws, echo);
    }
};
Shared& shared() {
    static Shared s;
    return s;
}

/// The client side in memory: its output goes to the wire's input, the wire's output to it.
struct Client {
    SSL* ssl;
    BIO* in;
    BIO* out;
    explicit Client(SSL_CTX* ctx)
        : ssl(SSL_new(ctx)), in(BIO_new(BIO_s_mem())), out(BIO_new(BIO_s_mem())) {
        BIO_set_mem_eof_return(in, -1);
        SSL_set_bio(ssl, in, out);
        SSL_set_connect_state(ssl);
    }
    ~Client() { SSL_free(ssl); }
    void exchange(support::FakeWire& w) {
        char buf[16384];
        int n;
        while ((n = BIO_read(out, buf, sizeof buf)) > 0)
            w.input.append(buf, static_cast<std::size_t>(n));
        const std::string s = w.take();
        if (!s.empty()) BIO_write(in, s.data(), static_cast<int>(s.size()));
    }
    void drain() {
        char buf[16384];
        std::size_t n;
        while (SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) {}
        ERR_clear_error();
    }
};

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    Shared& sh = shared();
    const unsigned mode = data[0] & 3;
    const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
    wisp::Options opts;
    opts.receive_buffer_bytes = 4096;   // small: reads end mid-record often
    {
        support::FakeEngine e(opts);
        if (e.core.router.add("GET", "/", [](wisp::Request&) { return wisp::text("ok"); }))
            __builtin_trap();
        if (e.core.ws_router.add("GET", "/_ws", &sh.ws)) __builtin_trap();
        auto wire = std::make_shared<support::FakeWire>();
        auto t = std::make_unique<d::TlsTransport>(
            *e.loop, std::make_unique<support::FakeTransport>(*e.loop, wire), sh.server);
        d::TlsTransport* tls = t.get();
        auto* conn = new d::Connection(*e.loop, std::move(t));
        conn->start(std::make_unique<d::HttpSession>(*conn));
        conn->release();
        e.run();
        auto deliver = [&] {
            for (int i = 0; i < 8 && !wire->input.empty() && !wire->closed; ++i) {
                wire->deliver();
                e.run();
            }
        };
        if (mode == 0) {
            wire->input = input;
            deliver();
        } else {
            Client c(sh.client);
            for (int i = 0; i < 16 && SSL_do_handshake(c.ssl) != 1; ++i) {
                c.exchange(*wire);
                deliver();
            }
            ERR_clear_error();
            c.exchange(*wire);
            deliver();
            c.exchange(*wire);
            if (!tls->established()) __builtin_trap();   // a clean handshake must succeed
            if (mode == 2) {
                const std::string up =
                    "GET /_ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
                std::size_t w = 0;
                SSL_write_ex(c.ssl, up.data(), up.size(), &w);
            }
            if (mode == 3) {
                c.exchange(*wire);
                wire->input += input;
                deliver();
            } else {
                // Records of input-chosen sizes: the first byte of each piece sets its length.
                std::size_t p = 0;
                while (p < input.size()) {
                    const std::size_t len = 1 + static_cast<unsigned char>(input[p]) * 8;
                    const std::size_t n = std::min(len, input.size() - p);
                    std::size_t w = 0;
                    SSL_write_ex(c.ssl, input.data() + p, n, &w);
                    p += n;
                    c.exchange(*wire);
                    deliver();
                    c.exchange(*wire);
                    c.drain();
                }
            }
            c.exchange(*wire);
            c.drain();
        }
        // The client ends its side: whatever state the connection is in, it must close.
        wire->input_ended = true;
        wire->deliver();
        e.run();
        for (int i = 0; i < 4 && !wire->closed; ++i) {
            wire->deliver();
            e.run();
        }
        if (!wire->closed && !wire->shut) __builtin_trap();
    }
    ERR_clear_error();
    return 0;
}
