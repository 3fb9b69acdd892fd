// SPDX-License-Identifier: MIT
// wisp/tls.hpp — TlsOptions: the certificates and settings of an HTTPS (and wss://) listener.
// Owns: what a user configures for TLS, with its defaults and their reasons.
// Must not know: OpenSSL (it is plain data, declared with or without WISP_TLS, so code that
// names it builds either way; App::listen_tls reports errc::tls_unavailable without WISP_TLS).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <chrono>
#include <string>
#include <vector>

WISP_NAMESPACE_BEGIN

/// One more certificate of a TLS listener, sent to clients that ask for `host` by name (SNI,
/// RFC 6066 §3). Each certificate field works as in TlsOptions.
struct TlsServerName {
    /// The name it serves: "example.com", or "*.example.com" for one label more (RFC 6125
    /// §6.4.3). Compared without regard to case.
    std::string host{};
    std::string cert_file{};
    std::string key_file{};
    std::string chain_file{};
    std::string cert_pem{};
    std::string key_pem{};
    std::string chain_pem{};
};

/// The certificates and settings of an HTTPS listener (App::listen_tls).
/// A certificate comes from a file or from memory: `cert_file` (PEM: the certificate, then
/// optionally its intermediates) or `cert_pem` (the same text), and likewise the private key.
/// Files are read at listen_tls() and again at App::reload_tls(), never in between.
/// Every field has a default, so `TlsOptions{cert_file, key_file}` names only what it needs.
/// The defaults are the secure ones: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, no
/// compression, no renegotiation, ALPN "http/1.1", session tickets whose key rotates.
struct TlsOptions {
    std::string cert_file{};    ///< PEM: the server certificate, optionally followed by its chain
    std::string key_file{};     ///< PEM: its private key (unencrypted)
    std::string chain_file{};   ///< optional PEM: intermediate certificates sent after it
    std::string cert_pem{};     ///< the certificate (and chain) as PEM text, instead of cert_file
    std::string key_pem{};      ///< the key as PEM text, instead of key_file
    std::string chain_pem{};    ///< intermediates as PEM text, instead of chain_file

    /// More certificates chosen by the name the client asks for (SNI). A client that names
    /// none of them, or no name at all, gets the certificate above.
    std::vector<TlsServerName> server_names{};

    /// Mutual TLS: clients must present a certificate issued by one of these CAs (PEM, file or
    /// text); its subject is then Request::client_cert_subject() and Peer's. Empty: no client
    /// certificates are asked for.
    std::string client_ca_file{};
    std::string client_ca_pem{};
    /// With a client CA: true refuses a handshake without a client certificate; false lets
    /// such clients in with an empty subject (a certificate that is sent is still verified).
    bool require_client_cert = true;

    /// A handshake not finished by then closes the connection (slowloris on the handshake).
    std::chrono::milliseconds handshake_timeout{10'000};
    /// Session tickets (RFC 5077, RFC 8446 §4.6.1) are encrypted with a key made at random and
    /// replaced after this long; tickets under the previous key are still accepted (and
    /// renewed), older ones get a full handshake. So a stolen key opens at most two periods of
    /// sessions. 0 turns tickets (resumption) off.
    std::chrono::milliseconds ticket_key_lifetime{std::chrono::hours(12)};
    /// TLS 1.2 cipher list (OpenSSL syntax): forward-secret AEAD suites only. TLS 1.3 suites
    /// are OpenSSL's defaults, all of them AEAD.
    std::string ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
