// SPDX-License-Identifier: MIT
// Built without WISP_TLS (the cross builds, -Dtls=disabled): TLS is a setup error with a
// sentence, not a missing symbol, and nothing includes OpenSSL.
#include <doctest/doctest.h>
#include <wisp/app.hpp>

#include <ostream>   // doctest prints a std::error_code through operator<<

#ifndef WISP_TLS
#ifdef OPENSSL_VERSION_NUMBER
#error "without WISP_TLS, wisp must not include OpenSSL"
#endif

TEST_CASE("tls: without WISP_TLS, listen_tls reports tls_unavailable and binds nothing") {
    wisp::App app;
    wisp::TlsOptions o;
    o.cert_file = "cert.pem";
    o.key_file = "key.pem";
    CHECK(app.listen_tls("127.0.0.1", 0, o) == wisp::errc::tls_unavailable);
    CHECK(app.tls_error_detail().find("WISP_TLS") != std::string::npos);
    CHECK(app.tls_port() == 0);
    CHECK(app.reload_tls() == wisp::errc::not_listening);
}
#endif
