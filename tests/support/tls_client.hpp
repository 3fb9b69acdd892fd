// SPDX-License-Identifier: MIT
// tests/support/tls_client.hpp — a TLS client over a real socket (OpenSSL, client side) for
// the TLS tests, and the test certificates' directory. Every wait is for an event (poll) with
// a deadline; nothing sleeps. POSIX only, as the TLS suite is.
#pragma once

#include "net.hpp"
#include "ws_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace support {

/// The directory make_certs.py filled (the test's environment names it).
inline std::string cert_dir() {
    const char* d = std::getenv("WISP_TEST_CERTS");
    if (!d || !*d) fixture_failed("WISP_TEST_CERTS is not set (meson sets it for the tls suite)");
    return d;
}
inline std::string cert(std::string_view name) { return cert_dir() + "/" + std::string(name); }

/// A whole file's text.
inline std::string slurp(const std::string& file) {
    std::string out;
    if (FILE* f = std::fopen(file.c_str(), "rb")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

/// A blocking-looking TCP socket to 127.0.0.1:port, non-blocking underneath.
inline int connect_tcp(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fixture_failed("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fixture_failed("connect");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/// Waits until `fd` is readable (or writable) or the deadline passes.
inline bool wait_fd(int fd, bool for_write, std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}

struct TlsClientOptions {
    std::string ca_file = cert("ca.pem");    ///< "" verifies nothing
    std::string server_name = "localhost";   ///< SNI and the name checked; "" sends none
    std::string cert_file, key_file;         ///< a client certificate (mutual TLS)
    std::vector<std::string> alpn = {"http/1.1"};
    int max_version = 0;              ///< e.g. TLS1_1_VERSION to offer no more than that
    SSL_SESSION* session = nullptr;   ///< resume this session (not taken)
};

/// One TLS connection. handshake() says whether it was established; error() why not.
class TlsClient {
public:
    explicit TlsClient(std::uint16_t port, TlsClientOptions o = {},
                       std::chrono::milliseconds timeout = 5000ms)
        : timeout_(timeout) {
        // OpenSSL's socket BIO writes with write(2): a server that closed must not kill us.
        std::signal(SIGPIPE, SIG_IGN);
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
        if (o.max_version) {
            SSL_CTX_set_max_proto_version(ctx_, o.max_version);
            SSL_CTX_set_security_level(ctx_, 0);   // let the client offer old versions at all
            SSL_CTX_set_cipher_list(ctx_, "ALL:@SECLEVEL=0");
        }
        SSL_CTX_set_session_cache_mode(ctx_,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        if (!o.ca_file.empty()) {
            SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr);
            SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        }
        if (!o.cert_file.empty()) {
            SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str());
            SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM);
        }
        if (!o.alpn.empty()) {
            std::string wire;
            for (const auto& p : o.alpn) wire += static_cast<char>(p.size()) + p;
            SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                                    static_cast<unsigned>(wire.size()));
        }
        fd_ = connect_tcp(port);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        if (!o.server_name.empty()) {
            SSL_set_tlsext_host_name(ssl_, o.server_name.c_str());
            SSL_set1_host(ssl_, o.server_name.c_str());
        }
        if (o.session) SSL_set_session(ssl_, o.session);
    }
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;
    ~TlsClient() {
        // close_notify first: a session freed without it cannot be resumed (OpenSSL marks it).
        if (ssl_ && !closed_ && SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
        if (ctx_) SSL_CTX_free(ctx_);
        ERR_clear_error();
    }

    /// Runs the handshake; false with error() set when it fails or times out.
    bool handshake() {
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        for (;;) {
            ERR_clear_error();
            const int r = SSL_connect(ssl_);
            if (r == 1) return true;
            const int e = SSL_get_error(ssl_, r);
            if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
                wait_fd(fd_, e == SSL_ERROR_WANT_WRITE, deadline))
                continue;
            error_ = describe(e);
            return false;
        }
    }

    /// Sends all of `bytes`; false when the connection failed.
    bool send(std::string_view bytes) {
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        while (!bytes.empty()) {
            std::size_t n = 0;
            ERR_clear_error();
            const int r = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n);
            if (r == 1) {
                bytes.remove_prefix(n);
                continue;
            }
            const int e = SSL_get_error(ssl_, r);
            if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
                wait_fd(fd_, e == SSL_ERROR_WANT_WRITE, deadline))
                continue;
            error_ = describe(e);
            return false;
        }
        return true;
    }

    /// Reads into buffer() until `done(buffer)` holds, the server closes, or the deadline.
    bool read_until(const std::function<bool(const std::string&)>& done,
                    std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(timeout_);
        char tmp[16384];
        while (!done(buf_)) {
            std::size_t n = 0;
            ERR_clear_error();
            const int r = SSL_read_ex(ssl_, tmp, sizeof tmp, &n);
            if (r == 1) {
                buf_.append(tmp, n);
                continue;
            }
            const int e = SSL_get_error(ssl_, r);
            if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
                wait_fd(fd_, e == SSL_ERROR_WANT_WRITE, deadline))
                continue;
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) timed_out_ = true;
            else {
                closed_ = true;
                clean_close_ = e == SSL_ERROR_ZERO_RETURN;
                error_ = describe(e);
            }
            return false;
        }
        return true;
    }

    /// One complete HTTP response, removed from the buffer; "" on timeout or close.
    std::string read_response(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        std::size_t n = 0;
        read_until([&n](const std::string& b) { return (n = complete_response_length(b)) != 0; },
                   timeout);
        if (n == 0) return {};
        std::string r = buf_.substr(0, n);
        buf_.erase(0, n);
        return r;
    }
    /// GET `path` on this connection and its response.
    std::string get(std::string_view path, std::string_view host = "localhost") {
        send("GET " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
        return read_response();
    }
    /// An upgrade to WebSocket at `path`; the 101 head (or the refusal) is returned.
    std::string ws_handshake(std::string_view path) {
        send("GET " + std::string(path) +
             " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        std::size_t n = 0;
        read_until([&n](const std::string& b) {
            const auto e = b.find("\r\n\r\n");
            return e != std::string::npos && (n = e + 4) != 0;
        });
        std::string head = buf_.substr(0, n);
        buf_.erase(0, n);
        return head;
    }
    /// The next whole server frame; nullopt on timeout or close.
    std::optional<Frame> next_frame(
        std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        Frame f;
        std::size_t n = 0;
        if (!read_until([&](const std::string& b) { return (n = parse_frame(b, f)) != 0; },
                        timeout))
            return std::nullopt;
        buf_.erase(0, n);
        return f;
    }
    /// Waits for the server to end the connection (true) or the deadline.
    bool wait_closed(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        read_until([](const std::string&) { return false; }, timeout);
        return closed_;
    }

    std::string& buffer() { return buf_; }
    const std::string& error() const { return error_; }
    bool closed() const { return closed_; }
    bool clean_close() const { return clean_close_; }
    bool timed_out() const { return timed_out_; }
    SSL* ssl() { return ssl_; }
    int fd() const { return fd_; }
    /// The subject CN of the certificate the server sent.
    std::string peer_cn() {
        X509* c = SSL_get0_peer_certificate(ssl_);
        if (!c) return {};
        char buf[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, buf, sizeof buf);
        return buf;
    }
    /// The protocol ALPN chose ("" for none).
    std::string alpn() {
        const unsigned char* p = nullptr;
        unsigned n = 0;
        SSL_get0_alpn_selected(ssl_, &p, &n);
        return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
    }

private:
    std::string describe(int e) {
        std::string s = "SSL error " + std::to_string(e);
        while (const unsigned long x = ERR_get_error()) {
            char b[256];
            ERR_error_string_n(x, b, sizeof b);
            s += std::string(": ") + b;
        }
        return s;
    }

    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    std::chrono::milliseconds timeout_;
    std::string buf_;
    std::string error_;
    bool closed_ = false;
    bool clean_close_ = false;
    bool timed_out_ = false;
};

/// Runs an App with a TLS listener (and, with `also_plain`, a plain one first: port()) on
/// 127.0.0.1:0 in a thread for the scope's lifetime.
class TlsServer {
public:
    TlsServer(wisp::App& app, wisp::TlsOptions tls, bool also_plain = false, unsigned threads = 1)
        : app_(app) {
        if (also_plain) {
            if (auto ec = app_.listen("127.0.0.1", 0)) fixture_failed("listen: " + ec.message());
            port_ = app_.port();
        }
        if (auto ec = app_.listen_tls("127.0.0.1", 0, std::move(tls)))
            fixture_failed("listen_tls: " + ec.message() + ": " + app_.tls_error_detail());
        tls_port_ = app_.tls_port();
        thread_ = std::thread([this, threads] { (void)app_.run(threads); });
    }
    TlsServer(const TlsServer&) = delete;
    TlsServer& operator=(const TlsServer&) = delete;
    ~TlsServer() { stop(); }
    std::uint16_t tls_port() const { return tls_port_; }
    std::uint16_t port() const { return port_; }
    void stop() {
        if (!thread_.joinable()) return;
        app_.stop();
        thread_.join();
    }

private:
    wisp::App& app_;
    std::uint16_t port_ = 0, tls_port_ = 0;
    std::thread thread_;
};

/// The server certificate options most tests use: fullchain + key from files.
inline wisp::TlsOptions server_tls() {
    wisp::TlsOptions o;
    o.cert_file = cert("fullchain.pem");
    o.key_file = cert("server.key");
    return o;
}

}   // namespace support
