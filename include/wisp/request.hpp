// SPDX-License-Identifier: MIT
// wisp/request.hpp — Request: what a handler reads (the request line, fields, body, route and
// query parameters, the peer address, typed state). What it returns is in response.hpp.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/headers.hpp>
#include <wisp/response.hpp>
#include <wisp/router.hpp>
#include <wisp/detail/url.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

WISP_NAMESPACE_BEGIN

namespace detail {
struct Exchange;
struct Deferred;
class RequestBuilder;
struct ResponseAccess;

/// One address per type, without RTTI: `&type_tag<T>` identifies T in every translation unit.
template <class T>
inline constexpr char type_tag = 0;

/// Type-erased, shared state of one type (Request::state<T>).
struct StateSlot {
    const void* tag = nullptr;
    std::shared_ptr<void> ptr;
};
/// The T in `slot`, created on first use; aborts if the slot already holds another type.
template <class T>
T& state_of(StateSlot& slot);
}   // namespace detail

/// A peer's IP address and port.
class Address {
public:
    Address() = default;
    static Address v4(const std::array<std::uint8_t, 4>& bytes, std::uint16_t port);
    static Address v6(const std::array<std::uint8_t, 16>& bytes, std::uint16_t port);
    bool is_v4() const noexcept { return family_ == 4; }
    bool is_v6() const noexcept { return family_ == 6; }
    std::uint16_t port() const noexcept { return port_; }
    /// "192.0.2.1" or "2001:db8::1" (RFC 5952); "" when unknown (in-process fetch).
    std::string ip() const;
    /// "192.0.2.1:8080" or "[2001:db8::1]:8080".
    std::string to_string() const;

private:
    std::array<std::uint8_t, 16> bytes_{};
    std::uint16_t port_ = 0;
    std::uint8_t family_ = 0;
};

/// One header field of a request: views into the request's storage.
struct Header {
    std::string_view name;
    std::string_view value;
};

class Responder;

/// An HTTP request as a handler sees it.
/// Lifetime: a Request& is valid during the handler (or middleware) call only; its views point
/// into connection buffers that are reused afterwards. Copy what you keep, or call defer().
/// Thread: the connection's I/O thread.
class Request {
public:
    Request() = default;
    /// A request for App::fetch and tests: no connection behind it.
    Request(std::string_view method, std::string_view target, Headers headers = {},
            std::string body = {});
    Request(const Request& other) { *this = other; }
    Request& operator=(const Request& other);
    Request(Request&& other) noexcept { *this = std::move(other); }
    Request& operator=(Request&& other) noexcept;

    std::string_view method() const noexcept { return method_; }
    /// The request-target as sent, still percent-encoded: "/path?query", or in absolute-form
    /// "http://host:port/path?query", or "*" (OPTIONS *).
    std::string_view target() const noexcept { return target_; }
    /// The path part of the target (percent-encoded, no query), which routing matches: for an
    /// absolute-form target its path ("/" when it has none); "*" for OPTIONS *, which matches
    /// no route.
    std::string_view path() const noexcept { return path_; }
    /// The host the request is for, host[:port] as sent: the authority of an absolute-form
    /// target (RFC 9112 §3.2.2: the Host field is then ignored), else the Host field's value;
    /// "" when there is neither (HTTP/1.0).
    std::string_view host() const noexcept;
    /// The full URL the client addressed: "http://" (or "https://" over TLS) + host() + path
    /// + "?query" when there is one (percent-encoding kept, as sent). H3's getRequestURL.
    std::string url() const;
    /// True when the request came over TLS.
    bool is_secure() const noexcept { return secure_; }
    /// The query string without '?' ("" when none).
    std::string_view query_string() const noexcept { return query_; }
    /// The first value of query parameter `name`, percent-decoded ('+' is a space); nullopt
    /// when absent. The view is valid as long as the request (a value that needs decoding is
    /// decoded once, into the request). Like header() and param(): one lookup shape.
    std::optional<std::string_view> query(std::string_view name) const;
    /// Every query parameter in order, decoded.
    std::vector<std::pair<std::string, std::string>> query_params() const;

    /// A route parameter (":id", "*" as "_0", "**" as "_"), percent-decoded; nullopt when
    /// the route has no such parameter.
    std::optional<std::string_view> param(std::string_view name) const noexcept;
    const std::vector<RouteParam>& params() const noexcept { return params_; }

    /// The first value of header `name` (case-insensitive), if present.
    std::optional<std::string_view> header(std::string_view name) const noexcept;
    const std::vector<Header>& headers() const noexcept { return headers_; }

    std::string_view body() const noexcept { return body_; }
    int http_major() const noexcept { return major_; }
    /// 0 or 1: HTTP/1.x with x > 1 is served as HTTP/1.1 (RFC 9110 §2.5) and reports 1.
    int http_minor() const noexcept { return minor_; }
    /// True when the connection stays open after this response (keep-alive rules of RFC 9112).
    bool keep_alive() const noexcept { return keep_alive_; }
    const Address& remote_address() const noexcept { return remote_; }
    /// Over mutual TLS (TlsOptions::client_ca_file): the subject of the client's verified
    /// certificate, RFC 2253 form ("CN=alice,O=Example"); "" otherwise.
    std::string_view client_cert_subject() const noexcept {
        return client_subject_ ? std::string_view(*client_subject_) : std::string_view();
    }

    /// Answer later: returns a handle that sends the response from any thread. The request is
    /// copied so it stays readable through the handle; pipelined requests wait in order.
    /// The handler returns the Responder (or anything; the Responder decides). A Responder whose
    /// last copy is destroyed unanswered sends 500.
    Responder defer();

    /// Typed state for this request, default-constructed on first use and shared by copies
    /// of the request. An upgrade hook sets it; the WebSocket peer keeps it (Peer::state<T>()).
    /// One type per request: asking for another type than the first aborts (a programming
    /// error, caught at once in testing).
    template <class T>
    T& state();
    /// True when state<T>() was set, whatever its type.
    bool has_state() const noexcept { return state_.ptr != nullptr; }

    /// Copies everything the views refer to into this object, so it outlives the connection's
    /// buffers (used for deferred requests and a WebSocket peer's upgrade request).
    void own();

private:
    friend class detail::RequestBuilder;
    void set_target(std::string_view target);
    void rebase(const char* from, const char* to) noexcept;

    std::string_view method_, target_, path_, query_, body_;
    std::vector<Header> headers_;
    std::vector<RouteParam> params_;
    detail::StateSlot state_;
    std::string owned_;   ///< backing bytes when the request owns them
    /// Decoded query pairs, made by the first query() that needs decoding.
    mutable detail::Box<std::vector<std::pair<std::string, std::string>>> decoded_query_;
    Address remote_;
    std::shared_ptr<const std::string> client_subject_;   ///< the connection's, shared
    detail::Exchange* exchange_ = nullptr;   ///< the dispatch in progress (defer, EventStream)
    std::uint8_t major_ = 1, minor_ = 1;
    bool keep_alive_ = true;
    bool secure_ = false;
};

namespace detail {
/// Builds a Request over external storage (the connection's parser) without copying.
class RequestBuilder {
public:
    static void reset(Request& r) noexcept;
    static StateSlot& state_slot(Request& r) noexcept { return r.state_; }
    static void set_line(Request& r, std::string_view method, std::string_view target, int major,
                         int minor, bool keep_alive);
    static void add_header(Request& r, std::string_view name, std::string_view value) {
        r.headers_.push_back(Header{name, value});
    }
    static std::vector<Header>& headers(Request& r) noexcept { return r.headers_; }
    static void set_body(Request& r, std::string_view body) noexcept { r.body_ = body; }
    static void set_remote(Request& r, const Address& a, bool secure) noexcept {
        r.remote_ = a;
        r.secure_ = secure;
    }
    static void set_client_subject(Request& r, std::shared_ptr<const std::string> s) noexcept {
        r.client_subject_ = std::move(s);
    }
    static std::vector<RouteParam>& params(Request& r) noexcept { return r.params_; }
    /// The dispatch a handler runs in (set while it runs): where defer() and EventStream bind.
    static void set_exchange(Request& r, Exchange* e) noexcept { r.exchange_ = e; }
    static Exchange* exchange(const Request& r) noexcept { return r.exchange_; }
};
}   // namespace detail

// ---- implementation -------------------------------------------------------
inline Address Address::v4(const std::array<std::uint8_t, 4>& b, std::uint16_t port) {
    Address a;
    for (std::size_t i = 0; i < 4; ++i) a.bytes_[i] = b[i];
    a.port_ = port;
    a.family_ = 4;
    return a;
}

inline Address Address::v6(const std::array<std::uint8_t, 16>& b, std::uint16_t port) {
    Address a;
    a.bytes_ = b;
    a.port_ = port;
    a.family_ = 6;
    return a;
}

inline std::string Address::ip() const {
    std::string out;
    if (family_ == 4) {
        for (std::size_t i = 0; i < 4; ++i) {
            if (i) out += '.';
            out += std::to_string(bytes_[i]);
        }
        return out;
    }
    if (family_ != 6) return out;
    std::uint16_t g[8];
    for (std::size_t i = 0; i < 8; ++i)
        g[i] = static_cast<std::uint16_t>((bytes_[2 * i] << 8) | bytes_[2 * i + 1]);
    // RFC 5952 §4.2: compress the longest run (first if tied) of two or more zero groups.
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0) ++j;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (i && !(best >= 0 && i == best + best_len)) out += ':';
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned d = (g[i] >> shift) & 0xf;
            if (d || started || shift == 0) {
                out += hex[d];
                started = true;
            }
        }
    }
    return out;
}

inline std::string Address::to_string() const {
    if (family_ == 6) return "[" + ip() + "]:" + std::to_string(port_);
    if (family_ == 4) return ip() + ":" + std::to_string(port_);
    return std::string();
}

inline Request::Request(std::string_view method, std::string_view target, Headers headers,
                        std::string body) {
    // One owned buffer holds everything; views are taken after it stops growing.
    std::size_t total = method.size() + target.size() + body.size();
    for (const auto& h : headers) total += h.first.size() + h.second.size();
    owned_.reserve(total);
    auto put = [this](std::string_view s) {
        const std::size_t at = owned_.size();
        owned_.append(s.data(), s.size());
        return at;
    };
    const std::size_t m = put(method), t = put(target);
    std::vector<std::pair<std::size_t, std::size_t>> hs;
    for (const auto& h : headers) hs.emplace_back(put(h.first), put(h.second));
    const std::size_t b = put(body);
    const char* base = owned_.data();
    method_ = {base + m, method.size()};
    set_target({base + t, target.size()});
    std::size_t i = 0;
    for (const auto& h : headers) {
        headers_.push_back(
            Header{{base + hs[i].first, h.first.size()}, {base + hs[i].second, h.second.size()}});
        ++i;
    }
    body_ = {base + b, body.size()};
}

inline void Request::set_target(std::string_view target) {
    target_ = target;
    detail::split_target(target, path_, query_);
}

inline Request& Request::operator=(const Request& other) {
    if (this == &other) return *this;
    method_ = other.method_;
    target_ = other.target_;
    path_ = other.path_;
    query_ = other.query_;
    body_ = other.body_;
    headers_ = other.headers_;
    params_ = other.params_;
    state_ = other.state_;
    remote_ = other.remote_;
    client_subject_ = other.client_subject_;
    major_ = other.major_;
    minor_ = other.minor_;
    keep_alive_ = other.keep_alive_;
    secure_ = other.secure_;
    exchange_ = nullptr;   // a copy is not the request being dispatched
    owned_.clear();
    decoded_query_.reset();
    own();
    return *this;
}

inline Request& Request::operator=(Request&& other) noexcept {
    if (this == &other) return *this;
    const char* old_base = other.owned_.data();
    owned_ = std::move(other.owned_);
    decoded_query_ = std::move(other.decoded_query_);
    method_ = other.method_;
    target_ = other.target_;
    path_ = other.path_;
    query_ = other.query_;
    body_ = other.body_;
    headers_ = std::move(other.headers_);
    params_ = std::move(other.params_);
    state_ = std::move(other.state_);
    remote_ = other.remote_;
    client_subject_ = std::move(other.client_subject_);
    major_ = other.major_;
    minor_ = other.minor_;
    keep_alive_ = other.keep_alive_;
    secure_ = other.secure_;
    exchange_ = other.exchange_;
    // A moved small string changes address (SSO); re-point views that referred to it.
    if (old_base != owned_.data()) rebase(old_base, owned_.data());
    return *this;
}

inline void Request::rebase(const char* from, const char* to) noexcept {
    const std::size_t n = owned_.size();
    auto fix = [&](std::string_view& v) {
        if (v.data() >= from && v.data() + v.size() <= from + n && v.data() != nullptr)
            v = std::string_view(to + (v.data() - from), v.size());
    };
    fix(method_);
    fix(target_);
    fix(path_);
    fix(query_);
    fix(body_);
    for (auto& h : headers_) {
        fix(h.name);
        fix(h.value);
    }
}

template <class T>
T& detail::state_of(StateSlot& slot) {
    static_assert(std::is_default_constructible_v<T>,
                  "wisp: Request::state<T>() needs a default-constructible T");
    if (!slot.ptr) {
        slot.ptr = std::make_shared<T>();
        slot.tag = &detail::type_tag<T>;
    } else if (slot.tag != &detail::type_tag<T>) {
        std::fputs(
            "wisp: Request::state<T>() asked for a second type; one state type per "
            "request or peer\n",
            stderr);
        std::abort();
    }
    return *static_cast<T*>(slot.ptr.get());
}

template <class T>
T& Request::state() {
    return detail::state_of<T>(state_);
}

inline void Request::own() {
    // Copy every viewed byte into one fresh buffer, then re-point the views at it.
    std::size_t total = method_.size() + target_.size() + body_.size();
    for (const auto& h : headers_) total += h.name.size() + h.value.size();
    std::string buf;
    buf.reserve(total);
    auto move_in = [&buf](std::string_view& v) {
        const std::size_t at = buf.size();
        buf.append(v.data(), v.size());
        return at;
    };
    const std::size_t m = move_in(method_), t = move_in(target_), b = move_in(body_);
    detail::PodVector<std::size_t> offs;
    offs.reserve(headers_.size() * 2);
    for (auto& h : headers_) {
        offs.push_back(move_in(h.name));
        offs.push_back(move_in(h.value));
    }
    owned_ = std::move(buf);
    const char* base = owned_.data();
    method_ = {base + m, method_.size()};
    target_ = {base + t, target_.size()};
    detail::split_target(target_, path_, query_);
    body_ = {base + b, body_.size()};
    for (std::size_t i = 0; i < headers_.size(); ++i) {
        headers_[i].name = {base + offs[2 * i], headers_[i].name.size()};
        headers_[i].value = {base + offs[2 * i + 1], headers_[i].value.size()};
    }
}

inline std::optional<std::string_view> Request::query(std::string_view name) const {
    if (!detail::needs_decoding(query_, true)) {
        // Nothing is encoded: the value is a view into the query string itself.
        std::string_view rest = query_;
        while (!rest.empty()) {
            const std::size_t amp = rest.find('&');
            const std::string_view pair = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
            const std::size_t eq = pair.find('=');
            if (pair.substr(0, eq) == name && !name.empty())
                return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        }
        return std::nullopt;
    }
    if (!decoded_query_) {
        decoded_query_ = detail::make_box<std::vector<std::pair<std::string, std::string>>>();
        auto& list = *decoded_query_;
        detail::parse_query(query_, [&list](std::string k, std::string v) {
            list.emplace_back(std::move(k), std::move(v));
        });
    }
    for (const auto& kv : *decoded_query_)
        if (kv.first == name) return std::string_view(kv.second);
    return std::nullopt;
}

inline std::vector<std::pair<std::string, std::string>> Request::query_params() const {
    std::vector<std::pair<std::string, std::string>> out;
    detail::parse_query(query_, [&out](std::string k, std::string v) {
        out.emplace_back(std::move(k), std::move(v));
    });
    return out;
}

inline std::optional<std::string_view> Request::param(std::string_view name) const noexcept {
    for (const auto& p : params_)
        if (p.name == name) return std::string_view(p.value);
    return std::nullopt;
}

inline std::string_view Request::host() const noexcept {
    const detail::TargetParts t = detail::split_target(target_);
    if (t.form == detail::TargetForm::absolute) return t.authority;
    return header("host").value_or(std::string_view());
}

inline std::string Request::url() const {
    std::string u = secure_ ? "https://" : "http://";
    u.append(host());
    if (target_ == "*") return u;   // OPTIONS *: the server itself
    u.append(path_);
    if (!query_.empty()) u.append("?").append(query_);
    return u;
}

inline std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
    for (const auto& h : headers_)
        if (iequals(h.name, name)) return h.value;
    return std::nullopt;
}

inline void detail::RequestBuilder::reset(Request& r) noexcept {
    r.method_ = r.target_ = r.path_ = r.query_ = r.body_ = {};
    r.headers_.clear();
    r.params_.clear();
    r.owned_.clear();
    r.exchange_ = nullptr;
    // A connection's parser reuses one Request: nothing a handler made of the last request
    // (typed state, decoded query pairs) may show through in the next.
    if (r.state_.ptr) r.state_ = StateSlot{};
    if (r.decoded_query_) r.decoded_query_.reset();
}

inline void detail::RequestBuilder::set_line(Request& r, std::string_view method,
                                             std::string_view target, int major, int minor,
                                             bool keep_alive) {
    r.method_ = method;
    r.set_target(target);
    r.major_ = static_cast<std::uint8_t>(major);
    r.minor_ = static_cast<std::uint8_t>(minor);
    r.keep_alive_ = keep_alive;
}

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
#if !defined(WISP_IN_HEADER) && defined(WISP_WITH_ENGINE)   // wisp: definitions
#include <wisp/detail/engine.hpp>                           // wisp: definitions
#endif                                                      // wisp: definitions
