// SPDX-License-Identifier: MIT
// tests/support/tls_fake.hpp — the TLS layer over the in-memory transport: a one-loop engine
// whose connections speak TLS to an OpenSSL client living in memory (two memory BIOs), so
// tests and the fuzzer drive handshakes and records with no socket and no thread.
#pragma once

#include "fake_transport.hpp"

#include <wisp/detail/tls_context.hpp>
#include <wisp/detail/tls_transport.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace support {

/// An OpenSSL client whose records go to / come from a FakeWire.
class MemTlsClient {
public:
    explicit MemTlsClient(SSL_CTX* ctx) {
        ssl_ = SSL_new(ctx);
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in_, -1);   // empty means "wait", not "end"
        SSL_set_bio(ssl_, in_, out_);
        SSL_set_connect_state(ssl_);
        SSL_set_tlsext_host_name(ssl_, "localhost");
    }
    MemTlsClient(const MemTlsClient&) = delete;
    MemTlsClient& operator=(const MemTlsClient&) = delete;
    ~MemTlsClient() {
        SSL_free(ssl_);
        ERR_clear_error();
    }

    /// Moves what the client wrote into the wire's input, and the wire's output (what the
    /// server wrote) into the client.
    void exchange(FakeWire& w) {
        char buf[16384];
        int n;
        while ((n = BIO_read(out_, buf, sizeof buf)) > 0)
            w.input.append(buf, static_cast<std::size_t>(n));
        const std::string from_server = w.take();
        cipher_in_ += from_server.size();
        if (!from_server.empty())
            BIO_write(in_, from_server.data(), static_cast<int>(from_server.size()));
    }
    /// One step of the handshake; true once done.
    bool step() {
        ERR_clear_error();
        return SSL_do_handshake(ssl_) == 1;
    }
    void write(std::string_view plain) {
        std::size_t w = 0;
        if (!plain.empty()) SSL_write_ex(ssl_, plain.data(), plain.size(), &w);
    }
    /// Whatever plaintext has arrived.
    std::string read() {
        std::string out;
        char buf[16384];
        std::size_t n = 0;
        ERR_clear_error();
        while (SSL_read_ex(ssl_, buf, sizeof buf, &n) == 1) out.append(buf, n);
        ERR_clear_error();
        return out;
    }
    SSL* ssl() { return ssl_; }
    std::size_t cipher_in() const { return cipher_in_; }

private:
    SSL* ssl_;
    BIO* in_;
    BIO* out_;
    std::size_t cipher_in_ = 0;
};

/// A FakeEngine whose connections are TLS: the server context from TlsOptions, a client
/// context trusting the test CA (or, for the fuzzer, none).
struct TlsFakeEngine : FakeEngine {
    std::shared_ptr<wisp::detail::TlsContext> server;
    SSL_CTX* client_ctx = nullptr;

    TlsFakeEngine(const wisp::TlsOptions& o, const std::string& ca_file, wisp::Options opts = {})
        : FakeEngine(opts) {
        std::string why;
        server = wisp::detail::TlsContext::make(
            o, std::make_shared<wisp::detail::TicketKeys>(o.ticket_key_lifetime), why);
        if (!server) fixture_failed("TlsContext: " + why);
        client_ctx = SSL_CTX_new(TLS_client_method());
        if (!ca_file.empty()) {
            SSL_CTX_load_verify_locations(client_ctx, ca_file.c_str(), nullptr);
            SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, nullptr);
        }
    }
    ~TlsFakeEngine() {
        loop.reset();   // connections first: they hold SSLs of `server`
        SSL_CTX_free(client_ctx);
    }

    struct Conn {
        std::shared_ptr<FakeWire> wire;
        wisp::detail::TlsTransport* tls;   ///< owned by the connection
        std::unique_ptr<MemTlsClient> client;
    };
    /// A TLS connection (not yet handshaken).
    Conn connect_tls() {
        Conn c;
        c.wire = std::make_shared<FakeWire>();
        auto t = std::make_unique<wisp::detail::TlsTransport>(
            *loop, std::make_unique<FakeTransport>(*loop, c.wire), server);
        c.tls = t.get();
        auto* conn = new wisp::detail::Connection(*loop, std::move(t));
        conn->start(std::make_unique<wisp::detail::HttpSession>(*conn));
        conn->release();
        c.client = std::make_unique<MemTlsClient>(client_ctx);
        run();
        return c;
    }
    /// Moves bytes both ways until nothing moves.
    void pump(Conn& c) {
        for (int i = 0; i < 64; ++i) {
            c.client->exchange(*c.wire);
            if (c.wire->input.empty()) break;
            c.wire->deliver();
            run();
        }
        c.client->exchange(*c.wire);
    }
    /// Runs the handshake to its end; false when it fails.
    bool handshake(Conn& c) {
        for (int i = 0; i < 16; ++i) {
            if (c.client->step()) {
                pump(c);
                return c.tls->established();
            }
            pump(c);
        }
        return false;
    }
};

}   // namespace support
