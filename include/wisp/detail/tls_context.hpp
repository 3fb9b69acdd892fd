// SPDX-License-Identifier: MIT
// wisp/detail/tls_context.hpp — the only file that includes OpenSSL: a TLS listener's
// certificates and settings, built from TlsOptions, and their reload.
// Owns: the SSL_CTX of each certificate (the default one and one per SNI name), the secure
// defaults, certificate and key loading with errors that name the file and OpenSSL's reason,
// SNI and ALPN selection, the rotating session-ticket key, and the swap on reload.
// Must not know: transports, connections, sessions (tls_transport.hpp uses an SSL from here).
// Without WISP_TLS only the stub at the end is compiled, and OpenSSL is not included.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/tls.hpp>
#include <memory>
#include <string>
#include <system_error>

#ifdef WISP_TLS
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

WISP_THIRD_PARTY_BEGIN
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
WISP_THIRD_PARTY_END

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "wisp: WISP_TLS needs OpenSSL 3 (Debian: libssl-dev)"
#endif
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

#ifdef WISP_TLS

/// OpenSSL's reasons for the errors queued on this thread (then cleared), "; "-separated.
std::string openssl_reason();

/// The session-ticket keys of one listener: the current one and the one before it, replaced
/// lazily once the current one is older than TlsOptions::ticket_key_lifetime. Kept across
/// reloads, so a certificate renewal does not end resumable sessions.
/// Thread: any (handshakes on every I/O thread); a mutex guards the keys.
class TicketKeys {
public:
    explicit TicketKeys(std::chrono::milliseconds lifetime) : lifetime_(lifetime) {}
    /// OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb): `enc` 1 seals a
    /// new ticket with the current key; 0 opens one: 1 (current key), 2 (previous key: the
    /// client gets a fresh ticket), 0 (unknown or expired: a full handshake), -1 on failure.
    int on_ticket(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                  int enc);
    std::chrono::milliseconds lifetime() const noexcept { return lifetime_; }

private:
    struct Key {
        std::array<unsigned char, 16> name{};
        std::array<unsigned char, 32> aes{};
        std::array<unsigned char, 32> hmac{};
        std::chrono::steady_clock::time_point born;
        bool valid = false;
    };
    bool rotate_if_due();   // mutex held
    static bool fresh(Key& k);
    static bool set_mac(EVP_MAC_CTX* mac, Key& k);

    std::mutex mutex_;
    std::chrono::milliseconds lifetime_;
    Key current_, previous_;
};

/// One version of a listener's TLS settings: an SSL_CTX per certificate. Immutable once
/// made; a reload makes a new one, and connections keep the one they started with (each SSL
/// holds a reference to its SSL_CTX, each transport to this object).
class TlsContext {
public:
    /// Null with `why` set (the file, the field and OpenSSL's reason) when the options do not
    /// make a working server.
    static std::shared_ptr<TlsContext> make(const TlsOptions& options,
                                            std::shared_ptr<TicketKeys> keys, std::string& why);
    TlsContext() = default;
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    ~TlsContext();

    /// A server-side SSL for a new connection (null when OpenSSL is out of memory).
    SSL* new_ssl() const;
    std::chrono::milliseconds handshake_timeout() const noexcept { return handshake_timeout_; }
    /// Client certificates are asked for (mutual TLS).
    bool asks_client_cert() const noexcept { return asks_client_cert_; }

private:
    struct Name {
        std::string host;   ///< lower case; "*.example.com" for a wildcard
        SSL_CTX* ctx;
    };
    SSL_CTX* configure(const TlsOptions& o, std::string& why);
    SSL_CTX* find(std::string_view host) const noexcept;
    static int on_servername(SSL* ssl, int* alert, void* self);
    static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_len,
                       const unsigned char* in, unsigned int in_len, void* arg);
    static int on_ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv,
                             EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc);

    SSL_CTX* main_ = nullptr;
    std::vector<Name> names_;
    std::shared_ptr<TicketKeys> keys_;
    std::chrono::milliseconds handshake_timeout_{10'000};
    bool asks_client_cert_ = false;
};

/// The subject of `cert` in RFC 2253 form ("CN=alice,O=Example").
std::string subject_of(X509* cert);

/// One TLS listener: its options (kept for reload), its ticket keys and its current context.
/// Thread: context() from the accepting thread, reload() from any.
class TlsEndpoint {
public:
    /// Null with `ec` and `why` set when the options do not make a working server.
    static std::shared_ptr<TlsEndpoint> make(TlsOptions options, std::error_code& ec,
                                             std::string& why);
    /// Builds a new context from the kept options (re-reading the files), or from `replace`
    /// (then kept); on failure the current context stays.
    std::error_code reload(const TlsOptions* replace, std::string& why);
    std::shared_ptr<const TlsContext> context() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return ctx_;
    }

private:
    mutable std::mutex mutex_;
    TlsOptions options_;
    std::shared_ptr<TicketKeys> keys_;
    std::shared_ptr<const TlsContext> ctx_;
};

#else   // !WISP_TLS

/// Without WISP_TLS a listener cannot be made: App::listen_tls reports errc::tls_unavailable.
class TlsEndpoint {
public:
    static std::shared_ptr<TlsEndpoint> make(const TlsOptions&, std::error_code& ec,
                                             std::string& why) {
        ec = make_error_code(errc::tls_unavailable);
        why = "wisp was built without TLS: define WISP_TLS and link OpenSSL 3 (-lssl -lcrypto)";
        return nullptr;
    }
    std::error_code reload(const TlsOptions*, std::string&) { return {}; }
};

#endif

// ---- implementation -------------------------------------------------------
#ifdef WISP_TLS

inline std::string openssl_reason() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        const char* r = ERR_reason_error_string(e);
        std::string s;
        if (r) {
            s = r;
        } else {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            s = buf;
        }
        if (out.find(s) != std::string::npos) continue;
        if (!out.empty()) out += "; ";
        out += s;
    }
    return out.empty() ? std::string("unknown error") : out;
}

inline std::string subject_of(X509* cert) {
    std::string out;
    BIO* b = BIO_new(BIO_s_mem());
    if (!b) return out;
    // RFC 2253 order and escaping, UTF-8 kept as it is.
    if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char* p = nullptr;
        const long n = BIO_get_mem_data(b, &p);
        if (n > 0 && p) out.assign(p, static_cast<std::size_t>(n));
    }
    BIO_free(b);
    return out;
}

// ---- ticket keys ----
inline bool TicketKeys::fresh(Key& k) {
    k.valid = RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) == 1 &&
              RAND_priv_bytes(k.aes.data(), static_cast<int>(k.aes.size())) == 1 &&
              RAND_priv_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) == 1;
    k.born = std::chrono::steady_clock::now();
    return k.valid;
}

inline bool TicketKeys::rotate_if_due() {
    const auto now = std::chrono::steady_clock::now();
    if (current_.valid && now - current_.born < lifetime_) return true;
    // Past two lifetimes (no handshake for a while) the current key is as stale as the
    // previous one would be: both go.
    if (current_.valid && now - current_.born < 2 * lifetime_) previous_ = current_;
    else previous_.valid = false;
    return fresh(current_);
}

inline bool TicketKeys::set_mac(EVP_MAC_CTX* mac, Key& k) {
    char digest[] = "SHA256";
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac.data(), k.hmac.size());
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(mac, params) == 1;
}

inline int TicketKeys::on_ticket(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                                 EVP_MAC_CTX* mac, int enc) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!rotate_if_due()) return -1;
    const int iv_len = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
    if (enc) {
        std::memcpy(name, current_.name.data(), current_.name.size());
        if (RAND_bytes(iv, iv_len) != 1) return -1;
        if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, current_.aes.data(), iv) != 1)
            return -1;
        return set_mac(mac, current_) ? 1 : -1;
    }
    Key* k = nullptr;
    if (std::memcmp(name, current_.name.data(), current_.name.size()) == 0) k = &current_;
    else if (previous_.valid &&
             std::memcmp(name, previous_.name.data(), previous_.name.size()) == 0)
        k = &previous_;
    if (!k) return 0;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->aes.data(), iv) != 1) return -1;
    if (!set_mac(mac, *k)) return -1;
    return k == &current_ ? 1 : 2;
}

// ---- loading certificates and keys ----
namespace tls_load {

inline std::string label(const char* what, const std::string& file) {
    return file.empty() ? std::string(what) + " (PEM text)"
                        : std::string(what) + " file '" + file + "'";
}

/// Every certificate in a PEM text or file, in order; false with `why` when there is none or
/// one cannot be read.
inline bool read_certs(const std::string& file, const std::string& pem, const char* what,
                       std::vector<X509*>& out, std::string& why) {
    BIO* b = file.empty() ? BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))
                          : BIO_new_file(file.c_str(), "r");
    if (!b) {
        why = label(what, file) + ": " + openssl_reason();
        return false;
    }
    while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) out.push_back(x);
    // The loop ends at the end of the text ("no start line"), which is no error once a
    // certificate was read.
    const unsigned long e = ERR_peek_last_error();
    const bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    BIO_free(b);
    if (out.empty() || !at_end) {
        why = label(what, file) + ": " +
              (out.empty() && at_end ? std::string("no PEM certificate in it") : openssl_reason());
        ERR_clear_error();
        for (X509* x : out) X509_free(x);
        out.clear();
        return false;
    }
    ERR_clear_error();
    return true;
}

inline std::string asn1_time(const ASN1_TIME* t) {
    std::string out;
    BIO* b = BIO_new(BIO_s_mem());
    if (!b) return out;
    if (ASN1_TIME_print(b, t) == 1) {
        char* p = nullptr;
        const long n = BIO_get_mem_data(b, &p);
        if (n > 0 && p) out.assign(p, static_cast<std::size_t>(n));
    }
    BIO_free(b);
    return out;
}

/// Loads one certificate (with its chain) and its key into `ctx`.
inline bool identity(SSL_CTX* ctx, const std::string& cert_file, const std::string& cert_pem,
                     const std::string& key_file, const std::string& key_pem,
                     const std::string& chain_file, const std::string& chain_pem,
                     std::string& why) {
    if (cert_file.empty() && cert_pem.empty()) {
        why = "no certificate: set cert_file or cert_pem";
        return false;
    }
    if (key_file.empty() && key_pem.empty()) {
        why = "no private key: set key_file or key_pem";
        return false;
    }
    const std::string cert_label = label("certificate", cert_file);
    std::vector<X509*> certs;
    if (!read_certs(cert_file, cert_pem, "certificate", certs, why)) return false;
    bool ok = SSL_CTX_use_certificate(ctx, certs[0]) == 1;
    if (!ok) why = cert_label + ": " + openssl_reason();
    for (std::size_t i = 1; i < certs.size(); ++i) {
        if (ok && SSL_CTX_add0_chain_cert(ctx, certs[i]) == 1) continue;
        X509_free(certs[i]);
    }
    X509_free(certs[0]);
    if (!ok) return false;
    if (!chain_file.empty() || !chain_pem.empty()) {
        std::vector<X509*> chain;
        if (!read_certs(chain_file, chain_pem, "chain", chain, why)) return false;
        for (X509* x : chain) {
            if (ok && SSL_CTX_add0_chain_cert(ctx, x) == 1) continue;
            if (ok) why = label("chain", chain_file) + ": " + openssl_reason();
            ok = false;
            X509_free(x);
        }
        if (!ok) return false;
    }

    const std::string key_label = label("private key", key_file);
    BIO* b = key_file.empty() ? BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()))
                              : BIO_new_file(key_file.c_str(), "r");
    EVP_PKEY* key = b ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr) : nullptr;
    if (b) BIO_free(b);
    if (!key) {
        why = key_label + ": " + openssl_reason();
        return false;
    }
    ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    if (!ok) {
        why = key_label + " does not fit " + cert_label + ": " + openssl_reason();
        return false;
    }

    // A certificate outside its validity would make every client refuse the server: say so
    // now, not on the first handshake.
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
        why = cert_label + " expired on " + asn1_time(X509_get0_notAfter(leaf));
        return false;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
        why = cert_label + " is not valid before " + asn1_time(X509_get0_notBefore(leaf));
        return false;
    }
    return true;
}

}   // namespace tls_load

// ---- TlsContext ----
inline TlsContext::~TlsContext() {
    for (Name& n : names_) SSL_CTX_free(n.ctx);
    if (main_) SSL_CTX_free(main_);
}

inline std::shared_ptr<TlsContext> TlsContext::make(const TlsOptions& o,
                                                    std::shared_ptr<TicketKeys> keys,
                                                    std::string& why) {
    ERR_clear_error();
    auto c = std::make_shared<TlsContext>();
    c->keys_ = std::move(keys);
    c->handshake_timeout_ = o.handshake_timeout;
    c->asks_client_cert_ = !o.client_ca_file.empty() || !o.client_ca_pem.empty();
    if (o.handshake_timeout.count() <= 0) {
        why = "handshake_timeout must be positive";
        return nullptr;
    }
    c->main_ = c->configure(o, why);
    if (!c->main_) return nullptr;
    if (!tls_load::identity(c->main_, o.cert_file, o.cert_pem, o.key_file, o.key_pem, o.chain_file,
                            o.chain_pem, why))
        return nullptr;
    for (const TlsServerName& sn : o.server_names) {
        std::string host = sn.host;
        std::transform(host.begin(), host.end(), host.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (host.empty() || host.find_first_of("*", 1) != std::string::npos ||
            (host[0] == '*' && host.rfind("*.", 0) != 0)) {
            why = "server_names: '" + sn.host + "' is not a host name or *.name";
            return nullptr;
        }
        SSL_CTX* ctx = c->configure(o, why);
        if (!ctx) return nullptr;
        c->names_.push_back(Name{host, ctx});
        if (!tls_load::identity(ctx, sn.cert_file, sn.cert_pem, sn.key_file, sn.key_pem,
                                sn.chain_file, sn.chain_pem, why)) {
            why = "server_names '" + sn.host + "': " + why;
            return nullptr;
        }
    }
    if (!c->names_.empty()) {
        SSL_CTX_set_tlsext_servername_callback(c->main_, &TlsContext::on_servername);
        SSL_CTX_set_tlsext_servername_arg(c->main_, c.get());
    }
    return c;
}

inline SSL_CTX* TlsContext::configure(const TlsOptions& o, std::string& why) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        why = "SSL_CTX_new: " + openssl_reason();
        return nullptr;
    }
    // RFC 8996: nothing older than TLS 1.2. Compression (CRIME) and renegotiation (RFC 5746's
    // attacks, and a client's cheap way to make the server work) are off. An end of input
    // without close_notify is an ordinary end of input: browsers do that, and HTTP framing
    // catches truncation.
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    std::uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                         SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF;
    const bool tickets = o.ticket_key_lifetime.count() > 0;
    if (!tickets) opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    // Idle connections give their record buffers back (about 34 KiB each); read-ahead lets
    // one read take many records.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    if (SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) != 1) {
        why = "ciphers '" + o.ciphers + "': " + openssl_reason();
        SSL_CTX_free(ctx);
        return nullptr;
    }
    // Resumption is by ticket only: no per-session state on the server.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    static const unsigned char sid_ctx[] = "wisp";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (tickets) {
        SSL_CTX_set_app_data(ctx, keys_.get());
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TlsContext::on_ticket_key);
        // A ticket opens for at most two key lifetimes (the key ring enforces it); the session
        // timeout, counted by OpenSSL in whole seconds, only has to be no shorter.
        const auto ms = 2 * o.ticket_key_lifetime.count();
        SSL_CTX_set_timeout(ctx, static_cast<long>(ms / 1000 + 2));
    } else {
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_alpn_select_cb(ctx, &TlsContext::on_alpn, nullptr);

    if (asks_client_cert_) {
        std::vector<X509*> cas;
        if (!tls_load::read_certs(o.client_ca_file, o.client_ca_pem, "client CA", cas, why)) {
            SSL_CTX_free(ctx);
            return nullptr;
        }
        X509_STORE* store = SSL_CTX_get_cert_store(ctx);
        bool ok = true;
        for (X509* x : cas) {
            ok = ok && X509_STORE_add_cert(store, x) == 1 && SSL_CTX_add_client_CA(ctx, x) == 1;
            X509_free(x);
        }
        if (!ok) {
            why = tls_load::label("client CA", o.client_ca_file) + ": " + openssl_reason();
            SSL_CTX_free(ctx);
            return nullptr;
        }
        SSL_CTX_set_verify(ctx,
                           SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE |
                               (o.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           nullptr);
    }
    return ctx;
}

inline SSL* TlsContext::new_ssl() const { return SSL_new(main_); }

inline SSL_CTX* TlsContext::find(std::string_view host) const noexcept {
    auto same = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
        return true;
    };
    for (const Name& n : names_)
        if (same(host, n.host)) return n.ctx;
    // RFC 6125 §6.4.3: "*.example.com" stands for exactly one label in front.
    const std::size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return nullptr;
    const std::string_view rest = host.substr(dot);
    for (const Name& n : names_)
        if (n.host[0] == '*' && same(rest, std::string_view(n.host).substr(1))) return n.ctx;
    return nullptr;
}

inline int TlsContext::on_servername(SSL* ssl, int*, void* self) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;   // no name: the default certificate
    if (SSL_CTX* ctx = static_cast<const TlsContext*>(self)->find(name)) SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK;
}

inline int TlsContext::on_alpn(SSL*, const unsigned char** out, unsigned char* out_len,
                               const unsigned char* in, unsigned int in_len, void*) {
    // RFC 7301 §3.1: the client's list is length-prefixed names. wisp speaks HTTP/1.1 only.
    for (unsigned int i = 0; i < in_len;) {
        const unsigned int n = in[i];
        if (i + 1 + n > in_len) break;
        if (n == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *out_len = 8;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    // §3.2: a client that offers protocols, none of them ours, gets no_application_protocol.
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

inline int TlsContext::on_ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv,
                                     EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
    auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    return keys ? keys->on_ticket(name, iv, cipher, mac, enc) : -1;
}

// ---- TlsEndpoint ----
inline std::shared_ptr<TlsEndpoint> TlsEndpoint::make(TlsOptions options, std::error_code& ec,
                                                      std::string& why) {
    auto e = std::make_shared<TlsEndpoint>();
    e->keys_ = std::make_shared<TicketKeys>(options.ticket_key_lifetime);
    e->ctx_ = TlsContext::make(options, e->keys_, why);
    if (!e->ctx_) {
        ec = make_error_code(errc::tls_setup);
        return nullptr;
    }
    e->options_ = std::move(options);
    return e;
}

inline std::error_code TlsEndpoint::reload(const TlsOptions* replace, std::string& why) {
    TlsOptions o;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        o = replace ? *replace : options_;
    }
    // The ticket keys stay unless their lifetime changed.
    std::shared_ptr<TicketKeys> keys = keys_;
    if (o.ticket_key_lifetime != keys->lifetime())
        keys = std::make_shared<TicketKeys>(o.ticket_key_lifetime);
    auto ctx = TlsContext::make(o, keys, why);
    if (!ctx) return make_error_code(errc::tls_setup);
    std::lock_guard<std::mutex> lock(mutex_);
    ctx_ = std::move(ctx);
    keys_ = std::move(keys);
    if (replace) options_ = std::move(o);
    return {};
}

#endif   // WISP_TLS

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
