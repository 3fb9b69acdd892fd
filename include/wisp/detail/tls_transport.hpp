// SPDX-License-Identifier: MIT
// wisp/detail/tls_transport.hpp — TLS as a layer of the Transport seam: a server-side SSL over
// another transport (the connection's socket), invisible to the connection and its sessions.
// Owns: the connection's SSL and its BIO (ciphertext comes from the lower transport's reads
// and leaves through its writes; OpenSSL never sees a descriptor), the handshake and its
// deadline, the turn's plaintext sealed into records in one batch, ciphertext the socket did
// not take, close_notify, plain HTTP sent to the TLS port, the client certificate's subject.
// Must not know: what the plaintext means (HTTP, WebSocket, events) or which backend the
// lower transport uses.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/app_core.hpp>
#include <wisp/detail/loop.hpp>
#include <wisp/detail/tls_context.hpp>
#include <wisp/detail/transport.hpp>
#include <wisp/detail/box.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

WISP_NAMESPACE_BEGIN
namespace detail {

#ifdef WISP_TLS

/// Per I/O thread: the ciphertext the current SSL call produced (written to the socket before
/// the call's transport method returns) and the plaintext of small messages that share a
/// record. Shared by the thread's connections, so an idle connection holds neither.
struct TlsScratch {
    std::string cipher;
    std::string plain;
};
inline TlsScratch& tls_scratch() {
    thread_local TlsScratch s;
    return s;
}

/// TLS over `lower`. Reads: the lower transport's bytes go straight into the SSL's record
/// buffer (through a BIO of ours), and SSL_read decrypts into the caller's buffer until it is
/// full or the socket is empty. Writes: a gather write of the connection's queue becomes one
/// batch of records: a lone or large slice (a shared publication, a big echo) is sealed from
/// where it lies; small slices are copied together so that they share a record. The batch's
/// ciphertext goes to the lower transport in one write per 64 KiB; what it does not take waits
/// here (the plaintext counts as written) and goes first when the socket has room.
/// Readiness and lifetime: the lower transport reports to this layer (its TransportOwner),
/// which reports to the connection; holds are the connection's.
class TlsTransport final : public Transport, private TransportOwner {
public:
    /// Over `lower` (the connection's socket transport), which outlives this layer.
    TlsTransport(Loop& loop, Transport& lower, std::shared_ptr<const TlsContext> ctx);
    /// Over a transport this layer owns (tests: an in-memory one).
    TlsTransport(Loop& loop, Box<Transport> lower, std::shared_ptr<const TlsContext> ctx);
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;
    inline ~TlsTransport() override;

    inline bool start(TransportOwner& owner) override;
    inline IoResult read(char* p, std::size_t n, std::size_t& got) override;
    inline IoResult write(const Slice* slices, std::size_t count, std::size_t& put) override;
    inline void want_read() override;
    inline void want_write() override;
    inline bool may_have_input() const noexcept override;
    inline bool shutdown_send() override;
    inline void close() override;
    bool is_secure() const noexcept override { return true; }
    std::uint64_t deadline() const noexcept override {
        return phase_ == Phase::open ? 0 : deadline_;
    }
    inline void on_deadline() override;
    std::shared_ptr<const std::string> client_subject() const override { return subject_; }

    /// The handshake finished (tests).
    bool established() const noexcept { return phase_ == Phase::open; }
    /// Plaintext bytes copied to share a record, since start (tests: the copies that remain).
    std::size_t staged_bytes() const noexcept { return staged_total_; }
    /// SSL_write calls, since start (tests: one batch per write, not one per message).
    std::size_t seal_calls() const noexcept { return seals_; }

    /// Largest plaintext of one TLS record (RFC 8446 §5.1).
    static constexpr std::size_t record_bytes = 16384;
    /// Ciphertext handed to the lower transport at once.
    static constexpr std::size_t batch_bytes = 64 * 1024;

private:
    enum class Phase : std::uint8_t { handshake, open, plain_http, closed };

    // ---- TransportOwner: the lower transport reports here ----
    void on_readable() override { owner_->on_readable(); }
    inline void on_writable() override;
    void on_transport_error() override { owner_->on_transport_error(); }
    void hold() noexcept override { owner_->hold(); }
    void unhold() noexcept override { owner_->unhold(); }
    Loop& loop() const noexcept override { return loop_; }
    bool& read_posted() noexcept override { return read_posted_; }
    Transport* as_layer() noexcept override { return this; }

    // ---- the BIO ----
    static BIO_METHOD* bio_method();
    static int bio_read(BIO* b, char* p, int n);
    static int bio_write(BIO* b, const char* p, int n);
    static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);
    int pull(BIO* b, char* p, int n);

    void init();
    IoResult handshake();
    void on_established();
    bool seal(const char* p, std::size_t n);
    /// Hands the scratch ciphertext to the lower transport (behind any that waits).
    bool send_cipher();
    /// Writes ciphertext that waits; false when the lower transport failed.
    bool flush_pending();
    bool has_pending() const noexcept { return pending_off_ < pending_.size(); }
    void answer_plain_http();
    IoResult drain_plain(char* p, std::size_t n);
    void post_writable();
    void report(std::string why) const;

    Loop& loop_;
    Box<Transport> owned_lower_;
    Transport& lower_;
    std::shared_ptr<const TlsContext> ctx_;
    SSL* ssl_ = nullptr;
    TransportOwner* owner_ = nullptr;
    std::string pending_;   ///< ciphertext the lower transport did not take
    std::size_t pending_off_ = 0;
    std::shared_ptr<const std::string> subject_;
    std::uint64_t deadline_ = 0;   ///< handshake deadline (loop ticks)
    std::size_t staged_total_ = 0;
    std::size_t seals_ = 0;
    Phase phase_ = Phase::handshake;
    IoResult end_ = IoResult::done;   ///< eof or failed once input ended (sticky)
    bool buffered_ = false;           ///< the last read filled the caller's buffer: more may wait
    bool lower_eof_ = false;
    bool lower_failed_ = false;   ///< the lower transport failed (a reset)
    bool first_read_ = true;
    bool plain_http_ = false;      ///< the first bytes were not TLS but an HTTP request line
    bool write_waiting_ = false;   ///< the owner waits for on_writable()
    bool writable_posted_ = false;
    bool shut_pending_ = false;   ///< shutdown_send() once the waiting ciphertext is out
    bool read_posted_ = false;    ///< TransportOwner::read_posted (the socket's reads)
};

/// A TLS layer over `lower` with the endpoint's current certificates.
inline Box<Transport> make_tls_layer(Loop& loop, Transport& lower, const TlsEndpoint& ep) {
    return make_box<TlsTransport>(loop, lower, ep.context());
}

#else   // !WISP_TLS

inline Box<Transport> make_tls_layer(Loop&, Transport&, const TlsEndpoint&) {
    return nullptr;   // never called: no TlsEndpoint exists without WISP_TLS
}

#endif

// ---- implementation -------------------------------------------------------
#ifdef WISP_TLS

inline TlsTransport::TlsTransport(Loop& loop, Transport& lower,
                                  std::shared_ptr<const TlsContext> ctx)
    : loop_(loop), lower_(lower), ctx_(std::move(ctx)) {
    init();
}

inline TlsTransport::TlsTransport(Loop& loop, Box<Transport> lower,
                                  std::shared_ptr<const TlsContext> ctx)
    : loop_(loop), owned_lower_(std::move(lower)), lower_(*owned_lower_), ctx_(std::move(ctx)) {
    init();
}

inline void TlsTransport::init() {
    remote_ = lower_.remote_address();
    ssl_ = ctx_ ? ctx_->new_ssl() : nullptr;
    if (!ssl_) return;
    BIO* b = BIO_new(bio_method());
    if (!b) {
        SSL_free(ssl_);
        ssl_ = nullptr;
        return;
    }
    BIO_set_data(b, this);
    BIO_set_init(b, 1);
    SSL_set_bio(ssl_, b, b);   // one BIO both ways: the SSL takes its one reference
    SSL_set_accept_state(ssl_);
}

inline TlsTransport::~TlsTransport() {
    if (ssl_) SSL_free(ssl_);
}

inline BIO_METHOD* TlsTransport::bio_method() {
    static BIO_METHOD* const m = [] {
        BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wisp transport");
        if (bm) {
            BIO_meth_set_read(bm, &TlsTransport::bio_read);
            BIO_meth_set_write(bm, &TlsTransport::bio_write);
            BIO_meth_set_ctrl(bm, &TlsTransport::bio_ctrl);
        }
        return bm;
    }();
    return m;
}

inline int TlsTransport::bio_read(BIO* b, char* p, int n) {
    BIO_clear_retry_flags(b);
    return static_cast<TlsTransport*>(BIO_get_data(b))->pull(b, p, n);
}

inline int TlsTransport::bio_write(BIO* b, const char* p, int n) {
    BIO_clear_retry_flags(b);
    // Ciphertext collects here until the SSL call returns; the transport method that made it
    // writes it then, one write for the whole batch.
    tls_scratch().cipher.append(p, static_cast<std::size_t>(n));
    return n;
}

inline long TlsTransport::bio_ctrl(BIO*, int cmd, long, void*) {
    // OpenSSL flushes after each handshake flight: the scratch is written by the caller.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

inline int TlsTransport::pull(BIO* b, char* p, int n) {
    std::size_t got = 0;
    switch (lower_.read(p, static_cast<std::size_t>(n), got)) {
        case IoResult::done:
            if (first_read_) {
                first_read_ = false;
                // RFC 8446 §5.1: a TLS connection starts with a handshake record (type 22). An
                // upper-case letter is the method of a plain HTTP request sent to this port.
                if (p[0] >= 'A' && p[0] <= 'Z') {
                    plain_http_ = true;
                    return -1;
                }
            }
            return static_cast<int>(got);
        case IoResult::again:
            BIO_set_retry_read(b);
            return -1;
        case IoResult::eof:
            lower_eof_ = true;
            return 0;
        case IoResult::failed:
            lower_failed_ = true;
            break;
    }
    return -1;
}

inline bool TlsTransport::start(TransportOwner& owner) {
    owner_ = &owner;
    deadline_ =
        loop_.ticks_from_now(ctx_ ? ctx_->handshake_timeout() : std::chrono::milliseconds(1));
    // The lower transport holds this layer as its owner, which is to say the connection.
    const bool ok = lower_.start(*this);
    return ok && ssl_ != nullptr;
}

inline IoResult TlsTransport::read(char* p, std::size_t n, std::size_t& got) {
    got = 0;
    if (end_ != IoResult::done) return end_;
    if (phase_ == Phase::closed) return IoResult::failed;
    if (phase_ == Phase::plain_http) return drain_plain(p, n);
    if (phase_ == Phase::handshake) {
        const IoResult r = handshake();
        if (r != IoResult::done) return r;
    }
    // Fill the caller's buffer: SSL_read gives one record at a time.
    buffered_ = false;
    while (got < n) {
        std::size_t k = 0;
        const int ok = SSL_read_ex(ssl_, p + got, n - got, &k);
        if (ok == 1) {
            got += k;
            continue;
        }
        const int e = SSL_get_error(ssl_, ok);
        if (e == SSL_ERROR_WANT_READ) break;
        // The peer's close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) its FIN without one.
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && lower_eof_)) {
            end_ = IoResult::eof;
        } else {
            end_ = IoResult::failed;
            if (e == SSL_ERROR_SSL) report("TLS record: " + openssl_reason());
        }
        ERR_clear_error();
        break;
    }
    if (got == n) buffered_ = true;
    // Reading may have made records to send (alerts, a key update).
    if (!send_cipher()) end_ = IoResult::failed;
    if (got > 0) return IoResult::done;
    return end_ != IoResult::done ? end_ : IoResult::again;
}

inline IoResult TlsTransport::handshake() {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
        if (!send_cipher()) return end_ = IoResult::failed;
        on_established();
        return IoResult::done;
    }
    if (plain_http_) {
        ERR_clear_error();
        tls_scratch().cipher.clear();   // an alert the client would not read
        answer_plain_http();
        return IoResult::again;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
        if (!send_cipher()) return end_ = IoResult::failed;
        return IoResult::again;
    }
    // A refused handshake: OpenSSL's alert goes out, then the connection closes.
    std::string why = lower_eof_      ? std::string("the client closed during the TLS handshake")
                      : lower_failed_ ? std::string("the connection broke during the TLS handshake")
                                      : "TLS handshake: " + openssl_reason();
    ERR_clear_error();
    if (send_cipher() && !has_pending()) lower_.shutdown_send();
    report(std::move(why));
    return end_ = IoResult::failed;
}

inline void TlsTransport::on_established() {
    phase_ = Phase::open;
    deadline_ = 0;
    if (ctx_->asks_client_cert()) {
        X509* cert = SSL_get0_peer_certificate(ssl_);
        if (cert && SSL_get_verify_result(ssl_) == X509_V_OK)
            subject_ = std::make_shared<const std::string>(subject_of(cert));
    }
    if (write_waiting_) post_writable();
}

inline IoResult TlsTransport::write(const Slice* s, std::size_t count, std::size_t& put) {
    put = 0;
    if (phase_ == Phase::handshake) return IoResult::again;   // on_writable once established
    if (phase_ != Phase::open || end_ == IoResult::failed) return IoResult::failed;
    if (!flush_pending()) return IoResult::failed;
    if (has_pending()) return IoResult::again;
    TlsScratch& sc = tls_scratch();
    if (sc.plain.size() < record_bytes) sc.plain.resize(record_bytes);
    char* stage = &sc.plain[0];
    std::size_t staged = 0;
    bool ok = true;
    for (std::size_t i = 0; ok && i < count && !has_pending(); ++i) {
        const char* d = s[i].data;
        std::size_t len = s[i].size;
        while (ok && len > 0) {
            if (sc.cipher.size() >= batch_bytes) {
                // A full batch goes to the socket before more is sealed; one it does not take
                // ends this write (the rest of the queue waits, still plaintext, in the
                // connection's queue).
                ok = send_cipher();
                if (!ok || has_pending()) break;
            }
            if (staged == 0 && (len >= record_bytes || i + 1 == count)) {
                // Alone at the end of the batch, or a record or more: sealed from the caller's
                // memory (a shared publication stays shared: no copy of it is made here).
                const std::size_t k = std::min(len, batch_bytes);
                ok = seal(d, k);
                d += k;
                len -= k;
                put += k;
                continue;
            }
            const std::size_t k = std::min(len, record_bytes - staged);
            std::memcpy(stage + staged, d, k);
            staged += k;
            staged_total_ += k;
            d += k;
            len -= k;
            put += k;
            if (staged == record_bytes) {
                ok = seal(stage, staged);
                staged = 0;
            }
        }
        if (has_pending()) break;
    }
    if (ok && staged > 0) ok = seal(stage, staged);
    if (!ok || !send_cipher()) {
        sc.cipher.clear();
        end_ = IoResult::failed;
        return IoResult::failed;
    }
    return IoResult::done;
}

inline bool TlsTransport::seal(const char* p, std::size_t n) {
    ++seals_;
    std::size_t w = 0;
    // The BIO takes every byte, so SSL_write completes (no partial writes to resume).
    if (SSL_write_ex(ssl_, p, n, &w) == 1 && w == n) return true;
    report("TLS write: " + openssl_reason());
    return false;
}

inline bool TlsTransport::send_cipher() {
    std::string& c = tls_scratch().cipher;
    if (c.empty()) return true;
    if (phase_ == Phase::closed) {
        c.clear();
        return false;
    }
    if (has_pending()) {   // order: behind what already waits
        pending_.append(c);
        c.clear();
        return true;
    }
    std::size_t put = 0;
    const Slice sl{c.data(), c.size()};
    const IoResult r = lower_.write(&sl, 1, put);
    if (r == IoResult::failed) {
        c.clear();
        return false;
    }
    if (r == IoResult::again) put = 0;
    if (put < c.size()) {
        pending_.assign(c.data() + put, c.size() - put);
        pending_off_ = 0;
        lower_.want_write();
    }
    c.clear();
    return true;
}

inline bool TlsTransport::flush_pending() {
    while (has_pending()) {
        const Slice sl{pending_.data() + pending_off_, pending_.size() - pending_off_};
        std::size_t put = 0;
        const IoResult r = lower_.write(&sl, 1, put);
        if (r == IoResult::failed) return false;
        if (r == IoResult::again || put == 0) {
            lower_.want_write();
            return true;
        }
        pending_off_ += put;
        if (put < sl.size) {
            lower_.want_write();
            return true;
        }
    }
    if (!pending_.empty()) {
        std::string().swap(pending_);   // an idle connection holds no ciphertext buffer
        pending_off_ = 0;
    }
    if (shut_pending_) {
        shut_pending_ = false;
        return lower_.shutdown_send();
    }
    return true;
}

inline void TlsTransport::on_writable() {
    if (phase_ == Phase::closed) return;
    if (!flush_pending()) {
        owner_->on_transport_error();
        return;
    }
    if (has_pending()) return;   // the lower transport reports again
    if (write_waiting_) {
        write_waiting_ = false;
        owner_->on_writable();
    }
}

inline void TlsTransport::want_read() {
    if (phase_ == Phase::closed) return;
    // Records read ahead, or an end already seen, wait in this layer: the socket would not
    // report them.
    if (buffered_ || end_ != IoResult::done) loop_.read_later(*owner_);
    else lower_.want_read();
}

inline void TlsTransport::want_write() {
    write_waiting_ = true;
    if (has_pending()) lower_.want_write();   // on_writable() passes it on once drained
    else if (phase_ == Phase::open) post_writable();
    // In the handshake: on_established() reports.
}

inline void TlsTransport::post_writable() {
    if (writable_posted_) return;
    writable_posted_ = true;
    owner_->hold();
    loop_.reactor.post([this] {
        writable_posted_ = false;
        TransportOwner* o = owner_;
        if (write_waiting_ && phase_ == Phase::open) {
            write_waiting_ = false;
            o->on_writable();
        }
        o->unhold();
    });
}

inline bool TlsTransport::may_have_input() const noexcept {
    return buffered_ || end_ != IoResult::done || lower_.may_have_input();
}

inline bool TlsTransport::shutdown_send() {
    if (phase_ == Phase::closed) return false;
    if (phase_ != Phase::open || end_ == IoResult::failed) return lower_.shutdown_send();
    // RFC 8446 §6.1: close_notify before the FIN; the peer's is not waited for here (the
    // connection reads on until the peer ends).
    SSL_shutdown(ssl_);
    ERR_clear_error();
    if (!send_cipher()) return false;
    if (has_pending()) {
        shut_pending_ = true;
        return true;
    }
    return lower_.shutdown_send();
}

inline void TlsTransport::close() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    std::string().swap(pending_);
    pending_off_ = 0;
    lower_.close();
}

inline void TlsTransport::answer_plain_http() {
    phase_ = Phase::plain_http;
    report("plain HTTP sent to the TLS port");   // before the answer: the client may be quick
    static constexpr char reply[] =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n"
        "Connection: close\r\n\r\nThis port speaks HTTPS: use https:// or wss://";
    static_assert(sizeof "This port speaks HTTPS: use https:// or wss://" - 1 == 46,
                  "Content-Length");
    const Slice sl{reply, sizeof reply - 1};
    std::size_t put = 0;
    // A fresh socket takes a few hundred bytes whole; if not, the client gets less.
    lower_.write(&sl, 1, put);
    lower_.shutdown_send();
}

inline IoResult TlsTransport::drain_plain(char* p, std::size_t n) {
    // Read and drop the rest of the request until the client closes (the handshake deadline
    // bounds this), so that closing does not reset the connection before it read the answer.
    for (;;) {
        std::size_t got = 0;
        const IoResult r = lower_.read(p, n, got);
        if (r == IoResult::done) continue;
        if (r == IoResult::eof || r == IoResult::failed) end_ = r;
        return r;
    }
}

inline void TlsTransport::on_deadline() {
    if (phase_ == Phase::handshake) report("TLS handshake timed out");
}

inline void TlsTransport::report(std::string why) const {
    const AppCore& core = loop_.core;
    if (!core.on_error) return;
    Request r;
    RequestBuilder::set_remote(r, remote_, true);
    core.report(r, errc::tls_error, std::move(why));
}

#endif   // WISP_TLS

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
