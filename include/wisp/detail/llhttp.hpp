// SPDX-License-Identifier: MIT
// wisp/detail/llhttp.hpp — the only file that touches llhttp: a sans-IO HTTP/1.1 request parser.
// Owns: llhttp's parser, settings and callbacks, the request's head and body kept across reads,
// the checks wisp adds to llhttp's (request-line whitespace, target forms, Host, Expect,
// Transfer-Encoding in 1.0, obs-fold, limits), the status each refusal earns.
// Must not know: sockets, connections, routing, responses; the request-line grammar used to
// choose 400, 501 or 505 for a refused line is request_line.hpp's.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/error.hpp>
#include <wisp/request.hpp>
#include <wisp/detail/request_line.hpp>
#include <wisp/detail/box.hpp>
#include <wisp/detail/field_name.hpp>
#include <wisp/detail/pod_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <llhttp.h>
}

WISP_NAMESPACE_BEGIN
namespace detail {

/// True for a method of llhttp's HTTP table (RFC 9110 §9 and the registered extensions it
/// parses); the methods llhttp knows only for RTSP are not HTTP methods.
bool is_llhttp_method(std::string_view method) noexcept;

/// Bytes in, requests out. feed() stops after each complete request (and when a request with
/// `Expect: 100-continue` has its head), so the caller answers requests in order and can stop
/// between them.
/// Buffers: feed() keeps no pointer into `data` after it returns, except into the buffer a
/// complete request was returned from (Event::request), which request() may view until next():
/// the caller handles that request before it reuses the buffer. Whatever an unfinished request
/// needs (a head split over reads, a head waiting for its body after Event::expect_continue,
/// body bytes so far) is copied into the parser's own storage before feed() returns, so after
/// any other event the caller may overwrite or free the buffer at once.
/// Statuses: a request line is judged as a whole (RFC 9112 §3), whatever the reads: 505 for a
/// well-formed line whose version is not HTTP/1.x, 501 for a well-formed line whose method
/// llhttp does not know, 400 for anything else malformed, including an asterisk-form target
/// with another method than OPTIONS and an absolute-form target that is not an http(s) URI
/// with a host. HTTP/1.x with x > 1 is served as HTTP/1.1 (RFC 9110 §2.5).
class RequestParser {
public:
    enum class Event : std::uint8_t {
        need_more,         ///< everything consumed; more bytes needed
        expect_continue,   ///< head complete, body expected, client waits for 100 Continue;
                           ///< `consumed` stops at the head: feed the rest after continue_body()
        request,           ///< a complete request: request() is ready
        error,             ///< malformed or over a limit: answer error_status() and close
    };
    struct Result {
        Event event;
        std::size_t consumed;   ///< bytes of the fed buffer used up
    };

    /// `limits` is shared (one per App, not per connection) and must outlive the parser.
    explicit RequestParser(const ParserLimits& limits);
    explicit RequestParser(ParserLimits&&) = delete;   // a temporary would dangle
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    /// Parses `data`; see the class comment for what it may keep pointing to.
    Result feed(const char* data, std::size_t n);
    /// After Event::request: the request; its views are valid until next(), and those into the
    /// buffer it was returned from only while the caller leaves that buffer alone.
    Request& request() noexcept { return req_; }
    /// After Event::request: true for `Upgrade` and CONNECT requests; the parser is then done
    /// with this connection (bytes after the head belong to the new protocol).
    bool upgrade() const noexcept { return upgrade_; }
    /// After Event::expect_continue: call to go on parsing the body.
    void continue_body() noexcept;
    /// Prepares for the next request on the connection.
    void next();

    /// True between the first byte of a request and its last.
    bool in_message() const noexcept { return state_ != State::idle; }
    bool in_head() const noexcept { return state_ == State::head; }
    bool in_body() const noexcept { return state_ == State::body; }

    int error_status() const noexcept { return err_status_; }
    errc error_code() const noexcept { return err_code_; }
    const char* error_reason() const noexcept { return err_reason_; }

    /// Frees buffers kept from earlier requests (call when the connection goes idle).
    void release_memory();

private:
    enum class State : std::uint8_t { idle, head, body, done };
    struct Span {
        std::uint32_t off = 0, len = 0;
    };
    struct Field {
        Span name, value;
    };

    static int on_message_begin(llhttp_t* p);
    static int on_method(llhttp_t* p, const char* at, std::size_t n);
    static int on_url(llhttp_t* p, const char* at, std::size_t n);
    static int on_version_complete(llhttp_t* p);
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n);
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n);
    static int on_headers_complete(llhttp_t* p);
    static int on_body(llhttp_t* p, const char* at, std::size_t n);
    static int on_message_complete(llhttp_t* p);
    static const llhttp_settings_t& settings();
    static RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

    int fail(int status, errc code, const char* reason) noexcept;
    bool extend(Span& s, const char* at, std::size_t n) noexcept;
    std::string_view view(Span s) const noexcept { return {base_ + s.off, s.len}; }
    bool head_over_limit(const char* at, std::size_t n) const noexcept {
        return static_cast<std::size_t>(at + n - base_) > limits_.max_header_bytes;
    }
    int check_line();
    int finish_head();
    void build_request();
    void keep_unfinished(const char* end);
    Result judge_line(const char* p, std::size_t n);

    llhttp_t parser_;
    const ParserLimits& limits_;
    Request req_;
    PodVector<Field> fields_;
    Span url_;
    const char* base_ = nullptr;       ///< where the current message's head starts
    const char* body_ptr_ = nullptr;   ///< contiguous body bytes (zero-copy case)
    std::size_t body_len_ = 0;
    std::size_t body_total_ = 0;
    std::string partial_;                ///< head bytes kept across reads
    std::string body_owned_;             ///< body bytes kept across reads or from chunks
    Box<RequestLineCheck> line_check_;   ///< while a refused line is read to its end
    const char* refusal_ = "";           ///< llhttp's reason for refusing that line's request
    bool body_is_owned_ = false;
    bool head_in_partial_ = false;
    bool upgrade_ = false;
    bool expect_continue_ = false;
    bool head_paused_ = false;       ///< llhttp paused at the end of a head (finish_head)
    bool head_unmeasured_ = false;   ///< a head without a body, measured when it completes
    bool version_seen_ = false;      ///< the request line had an HTTP version (not 0.9 style)
    State state_ = State::idle;
    std::uint8_t method_end_ = 0;    ///< the method: the head's first bytes, up to here
    std::uint16_t err_status_ = 0;   ///< 4xx or 5xx once refused (fits beside the flags)
    errc err_code_ = errc::bad_request;
    const char* err_reason_ = "";
};

// ---- implementation -------------------------------------------------------
inline bool is_llhttp_method(std::string_view method) noexcept {
    static constexpr std::string_view known[] = {
#define WISP_LLHTTP_METHOD_NAME_(num, name, string) #string,
        HTTP_METHOD_MAP(WISP_LLHTTP_METHOD_NAME_)
#undef WISP_LLHTTP_METHOD_NAME_
    };
    for (std::string_view m : known)
        if (m == method) return true;
    return false;
}

inline const llhttp_settings_t& RequestParser::settings() {
    static const llhttp_settings_t s = [] {
        llhttp_settings_t st;
        llhttp_settings_init(&st);
        st.on_message_begin = &RequestParser::on_message_begin;
        st.on_method = &RequestParser::on_method;
        st.on_url = &RequestParser::on_url;
        st.on_version_complete = &RequestParser::on_version_complete;
        st.on_header_field = &RequestParser::on_header_field;
        st.on_header_value = &RequestParser::on_header_value;
        st.on_headers_complete = &RequestParser::on_headers_complete;
        st.on_body = &RequestParser::on_body;
        st.on_message_complete = &RequestParser::on_message_complete;
        return st;
    }();
    return s;
}

inline RequestParser::RequestParser(const ParserLimits& limits) : limits_(limits) {
    llhttp_init(&parser_, HTTP_REQUEST, &settings());
    parser_.data = this;
    // llhttp's version check knows 0.9, 1.0, 1.1 and 2.0 only. RFC 9110 §2.5 has HTTP/1.2 served
    // as 1.1, and a major version other than 1 earns 505 only in a well-formed line, which
    // on_version_complete and feed() judge; so let every d.d through (llhttp 8 has no setter).
    parser_.lenient_flags =
        static_cast<decltype(parser_.lenient_flags)>(parser_.lenient_flags | LENIENT_VERSION);
}

inline int RequestParser::fail(int status, errc code, const char* reason) noexcept {
    if (err_status_ == 0) {
        err_status_ = static_cast<std::uint16_t>(status);
        err_code_ = code;
        err_reason_ = reason;
    }
    return -1;
}

inline bool RequestParser::extend(Span& s, const char* at, std::size_t n) noexcept {
    const auto off = static_cast<std::uint32_t>(at - base_);
    if (s.len == 0) {
        s.off = off;
        s.len = static_cast<std::uint32_t>(n);
        return true;
    }
    // Pieces of one element arrive contiguous (the head is kept in one logical buffer);
    // anything else means llhttp joined text across a line break.
    if (s.off + s.len != off) return false;
    s.len += static_cast<std::uint32_t>(n);
    return true;
}

inline int RequestParser::on_message_begin(llhttp_t* p) {
    RequestParser& r = self(p);
    r.state_ = State::head;
    return 0;
}

inline int RequestParser::on_method(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    if (r.base_ == nullptr) r.base_ = at;   // the method is the first byte of a request
    r.method_end_ = static_cast<std::uint8_t>(at + n - r.base_);   // llhttp's: 13 bytes at most
    if (r.head_over_limit(at, n)) return r.fail(431, errc::header_too_large, "header too large");
    return 0;
}

inline int RequestParser::on_url(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    r.extend(r.url_, at, n);
    if (r.url_.len > r.limits_.max_url_bytes)
        return r.fail(414, errc::url_too_long, "request target too long");
    if (r.head_over_limit(at, n)) return r.fail(431, errc::header_too_large, "header too large");
    return 0;
}

inline int RequestParser::on_version_complete(llhttp_t* p) {
    RequestParser& r = self(p);
    // Refused without a status: feed() reads the line to its end to choose 505 or 400.
    if (p->http_major != 1) return -1;
    r.version_seen_ = true;
    return r.check_line();
}

inline int RequestParser::check_line() {
    // RFC 9112 §3: one SP on each side of the target. llhttp takes runs of them, which §3 lets
    // a recipient do; wisp does not, so that a line's status never depends on its method being
    // known (unknown ones are judged by RequestLineCheck). The line up to here is in the head.
    const char* after_target = base_ + url_.off + url_.len;
    if (url_.off != method_end_ + 1u || after_target[1] == ' ')
        return fail(400, errc::bad_request, "request line with extra whitespace");
    const std::string_view target = view(url_);
    if (!target.empty() && target.front() == '/') return 0;   // origin-form: nearly all
    // RFC 9112 §3.2.4: the asterisk-form is "*" alone, and only OPTIONS may use it.
    if (!target.empty() && target.front() == '*' &&
        (target.size() != 1 || parser_.method != HTTP_OPTIONS))
        return fail(400, errc::bad_request, "asterisk-form target without OPTIONS");
    const TargetParts t = split_target(target);
    if (t.form != TargetForm::absolute || parser_.method == HTTP_CONNECT) return 0;
    // RFC 9112 §3.2.2: a server must accept the absolute-form. This server serves http(s) URIs
    // only; RFC 9110 §4.2.1 makes one with an empty host invalid, and §4.2.4 treats userinfo in
    // one as an error.
    if (!iequals(t.scheme, "http") && !iequals(t.scheme, "https"))
        return fail(400, errc::bad_request, "absolute-form target of another scheme");
    if (t.authority.empty() || t.authority.find('@') != std::string_view::npos)
        return fail(400, errc::bad_request, "absolute-form target without a valid host");
    return 0;
}

inline int RequestParser::on_header_field(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    if (r.state_ != State::head) return 0;   // trailer fields of a chunked body: dropped
    // A name goes on only across reads, contiguous in the kept head; another piece is the next
    // field's (a value and a line break at least lie between two names).
    const auto off = static_cast<std::uint32_t>(at - r.base_);
    if (r.fields_.empty() || r.fields_.back().name.off + r.fields_.back().name.len != off) {
        if (r.fields_.size() >= r.limits_.max_header_count)
            return r.fail(431, errc::header_too_large, "too many header fields");
        r.fields_.push_back(Field{{off, static_cast<std::uint32_t>(n)}, {}});
    } else {
        r.fields_.back().name.len += static_cast<std::uint32_t>(n);
    }
    if (r.head_over_limit(at, n)) return r.fail(431, errc::header_too_large, "header too large");
    // RFC 9112 §5.1: no whitespace between a field name and the colon (a smuggling vector).
    // llhttp refuses a blank in a name itself; a line starting with the colon reaches here as
    // an empty piece at the colon, the first of its field (a piece starts at a byte of input).
    if (n == 0 && r.fields_.back().name.len == 0)
        return r.fail(400, errc::bad_request, "whitespace before colon");
    return 0;
}

inline int RequestParser::on_header_value(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    if (r.state_ != State::head) return 0;
    // RFC 9112 §5.2: obs-fold (a value line starting with SP/HT) is rejected with 400. llhttp
    // folds it into the value, so detect a value piece preceded (past blanks) by a line break.
    // Nearly every value follows "name: ", which the look back would stop at (no line break).
    if (at - r.base_ < 2 || at[-1] != ' ' || at[-2] != ':') {
        const char* q = at;
        while (q > r.base_ && (q[-1] == ' ' || q[-1] == '\t')) --q;
        if (q > r.base_ && q[-1] == '\n')
            return r.fail(400, errc::bad_request, "obsolete line folding");
    }
    if (r.fields_.empty() || !r.extend(r.fields_.back().value, at, n))
        return r.fail(400, errc::bad_request, "obsolete line folding");
    if (r.head_over_limit(at, n)) return r.fail(431, errc::header_too_large, "header too large");
    return 0;
}

inline int RequestParser::on_headers_complete(llhttp_t* p) {
    RequestParser& r = self(p);
    return r.finish_head();
}

inline int RequestParser::finish_head() {
    // llhttp takes "GET /" (HTTP/0.9's simple request) as a request line; RFC 9112 §3 has none.
    if (!version_seen_) return fail(400, errc::bad_request, "request line without a version");
    bool has_te = false, expect = false;
    int hosts = 0;
    for (const Field& f : fields_) {
        const std::string_view name = view(f.name);
        if (is_field_named(name, "host")) ++hosts;
        else if (iequals(name, "transfer-encoding")) has_te = true;
        else if (is_field_named(name, "expect")) {
            if (!iequals(view(f.value), "100-continue"))
                return fail(417, errc::bad_request, "unsupported expectation");
            expect = true;
        }
    }
    // RFC 9112 §3.2: a 1.1 request carries exactly one Host (the absolute-form too).
    if (parser_.http_minor >= 1 && hosts != 1)
        return fail(400, errc::bad_request, hosts ? "several Host fields" : "missing Host");
    if (hosts > 1) return fail(400, errc::bad_request, "several Host fields");
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
    if (parser_.http_minor == 0 && has_te)
        return fail(400, errc::bad_request, "Transfer-Encoding in HTTP/1.0");
    if ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > limits_.max_body_bytes)
        return fail(413, errc::body_too_large, "body too large");
    upgrade_ = parser_.upgrade != 0 || parser_.method == HTTP_CONNECT;
    state_ = State::body;
    const bool has_body = (parser_.flags & F_CHUNKED) ||
                          ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > 0);
    expect_continue_ = expect && has_body && parser_.http_minor >= 1;
    // feed() measures the whole head (request line, fields and the empty line) against
    // max_header_bytes in one place, whatever way the input was split. A head without a body
    // (nearly all) ends its message where it ends: llhttp goes on to on_message_complete at
    // once, and feed() measures it there, in the same run. Any other head pauses here, so
    // that it is measured before its body and feed() can stop for 100-continue.
    if (!has_body && !(parser_.flags & F_TRANSFER_ENCODING)) {
        head_unmeasured_ = true;
        return 0;
    }
    head_paused_ = true;
    return HPE_PAUSED;
}

inline int RequestParser::on_body(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    r.body_total_ += n;
    if (r.body_total_ > r.limits_.max_body_bytes)
        return r.fail(413, errc::body_too_large, "body too large");
    if (r.body_is_owned_) {
        r.body_owned_.append(at, n);
    } else if (r.body_ptr_ == nullptr) {
        r.body_ptr_ = at;
        r.body_len_ = n;
    } else if (r.body_ptr_ + r.body_len_ == at) {
        r.body_len_ += n;
    } else {   // chunked: pieces are not adjacent, so join them
        r.body_owned_.assign(r.body_ptr_, r.body_len_);
        r.body_owned_.append(at, n);
        r.body_is_owned_ = true;
    }
    return 0;
}

inline int RequestParser::on_message_complete(llhttp_t* p) {
    RequestParser& r = self(p);
    r.state_ = State::done;
    return HPE_PAUSED;   // hand the request over before parsing the next one
}

inline void RequestParser::continue_body() noexcept {
    if (expect_continue_) {
        expect_continue_ = false;
        llhttp_resume(&parser_);
    }
}

// Called before feed() returns without a complete request: copies what the unfinished request
// views in the caller's buffer (bytes before `end`) into partial_ and body_owned_, because the
// caller's next read may land in that buffer.
inline void RequestParser::keep_unfinished(const char* end) {
    if (state_ == State::head && base_ != nullptr && !head_in_partial_) {
        // The head is incomplete and lives in the caller's buffer: keep it; views become
        // offsets into partial_, and later bytes are appended so pieces stay contiguous.
        partial_.assign(base_, static_cast<std::size_t>(end - base_));
        base_ = partial_.data();
        head_in_partial_ = true;
    }
    if (state_ == State::body && !body_is_owned_ && body_ptr_ != nullptr &&
        !(head_in_partial_ && body_ptr_ >= partial_.data() &&
          body_ptr_ < partial_.data() + partial_.size())) {
        body_owned_.assign(body_ptr_, body_len_);
        body_is_owned_ = true;
    }
    if (state_ == State::body && !head_in_partial_) {
        // Head complete but the body is not: keep the head (views refer to it).
        const std::size_t head_len = [&] {
            std::size_t e = url_.off + url_.len;
            for (const Field& f : fields_) {
                e = std::max<std::size_t>(e, f.name.off + f.name.len);
                e = std::max<std::size_t>(e, f.value.off + f.value.len);
            }
            return e;
        }();
        partial_.assign(base_, head_len);
        base_ = partial_.data();
        head_in_partial_ = true;
    }
}

inline RequestParser::Result RequestParser::feed(const char* data, std::size_t n) {
    if (err_status_ != 0) return {Event::error, 0};
    if (n == 0) return {Event::need_more, 0};
    if (line_check_) return judge_line(data, n);
    const char* exec = data;
    if (head_in_partial_ && state_ == State::head) {
        const std::size_t old = partial_.size();
        // Bound what a slow head can make us keep: the limit plus one read.
        if (old > limits_.max_header_bytes) {
            fail(431, errc::header_too_large, "header too large");
            return {Event::error, 0};
        }
        partial_.append(data, n);
        base_ = partial_.data();
        exec = partial_.data() + old;
    }
    llhttp_errno_t e = llhttp_execute(&parser_, exec, n);
    while (e == HPE_PAUSED && head_paused_) {
        head_paused_ = false;
        const char* end = llhttp_get_error_pos(&parser_);   // just past the head's empty line
        if (static_cast<std::size_t>(end - base_) > limits_.max_header_bytes) {
            fail(431, errc::header_too_large, "header too large");
            return {Event::error, static_cast<std::size_t>(end - exec)};
        }
        if (expect_continue_) {
            // The caller answers 100 Continue and reads the body, maybe into this very buffer.
            keep_unfinished(end);
            return {Event::expect_continue, static_cast<std::size_t>(end - exec)};
        }
        llhttp_resume(&parser_);
        e = llhttp_execute(&parser_, end, static_cast<std::size_t>(exec + n - end));
    }
    if (e == HPE_OK) {
        if (state_ == State::head && base_ != nullptr &&
            static_cast<std::size_t>(exec + n - base_) > limits_.max_header_bytes) {
            fail(431, errc::header_too_large, "header too large");
            return {Event::error, n};
        }
        keep_unfinished(exec + n);
        return {Event::need_more, n};
    }
    const std::size_t used = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - exec);
    if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && state_ == State::done) {
        if (head_unmeasured_) {   // a head without a body: its message ends with it
            head_unmeasured_ = false;
            if (static_cast<std::size_t>(exec + used - base_) > limits_.max_header_bytes) {
                state_ = State::body;   // as if it had paused at the head's end
                fail(431, errc::header_too_large, "header too large");
                return {Event::error, used};
            }
        }
        build_request();
        return {Event::request, used};
    }
    if (err_status_ == 0 && state_ == State::head) {
        // Refused in the head, for no limit of ours: whether for 400, 501 or 505 is the
        // request line's call. Its bytes so far are contiguous up to exec + n (one buffer, or
        // partial_ with this read appended); llhttp skipped the empty lines before it.
        const char* line = base_;
        if (line == nullptr) {
            line = exec;
            while (line < exec + n && (*line == '\r' || *line == '\n')) ++line;
        }
        refusal_ = llhttp_get_error_reason(&parser_);
        line_check_ = make_box<RequestLineCheck>(limits_);
        const Result r = judge_line(line, static_cast<std::size_t>(exec + n - line));
        if (r.event == Event::need_more) {
            // Only counters are kept from here on.
            std::string().swap(partial_);
            base_ = nullptr;
            head_in_partial_ = false;
            return {Event::need_more, n};
        }
        return {r.event, used};
    }
    if (err_status_ == 0) fail(400, errc::bad_request, llhttp_get_error_reason(&parser_));
    return {Event::error, used};
}

inline RequestParser::Result RequestParser::judge_line(const char* p, std::size_t n) {
    std::size_t used = 0;
    switch (line_check_->scan(p, n, used)) {
        case RequestLineCheck::Verdict::more:
            return {Event::need_more, n};
        case RequestLineCheck::Verdict::malformed:
            fail(400, errc::bad_request, "malformed request line");
            break;
        case RequestLineCheck::Verdict::target_too_long:
            fail(414, errc::url_too_long, "request target too long");
            break;
        case RequestLineCheck::Verdict::line_too_long:
            fail(431, errc::header_too_large, "header too large");
            break;
        case RequestLineCheck::Verdict::well_formed:
            // RFC 9110 §15.6.6: 505 refuses the major version; §15.6.2: 501 a method the server
            // does not implement. The version goes first: what a method means depends on it.
            if (line_check_->major() != 1)
                fail(505, errc::version_not_supported, "HTTP version not supported");
            else if (!is_llhttp_method(line_check_->method()))
                fail(501, errc::bad_request, "method not implemented");
            else   // a sound line: llhttp refused something else, in the target or after the line
                fail(400, errc::bad_request, refusal_);
            break;
    }
    line_check_.reset();
    return {Event::error, used};
}

inline void RequestParser::build_request() {
    RequestBuilder::reset(req_);
    // llhttp_should_keep_alive() for a request (llhttp_message_needs_eof() is false for one),
    // without the two calls: 1.1 unless `Connection: close`, 1.0 with `Connection: keep-alive`.
    const bool keep_alive = parser_.http_major > 0 && parser_.http_minor > 0
                                ? !(parser_.flags & F_CONNECTION_CLOSE)
                                : (parser_.flags & F_CONNECTION_KEEP_ALIVE) != 0;
    // RFC 9110 §2.5: HTTP/1.x with x > 1 is served as the highest 1.x known, 1.1.
    RequestBuilder::set_line(req_, view(Span{0, method_end_}), view(url_), parser_.http_major,
                             parser_.http_minor > 1 ? 1 : parser_.http_minor, keep_alive);
    for (const Field& f : fields_) {
        // RFC 9110 §5.5: a field value excludes trailing whitespace (llhttp strips leading).
        std::string_view v = view(f.value);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        RequestBuilder::add_header(req_, view(f.name), v);
    }
    if (body_is_owned_) RequestBuilder::set_body(req_, body_owned_);
    else if (body_ptr_) RequestBuilder::set_body(req_, {body_ptr_, body_len_});
}

inline void RequestParser::next() {
    if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
    fields_.clear();
    url_ = Span{};
    method_end_ = 0;
    base_ = nullptr;
    body_ptr_ = nullptr;
    body_len_ = body_total_ = 0;
    body_is_owned_ = head_in_partial_ = upgrade_ = expect_continue_ = head_paused_ =
        head_unmeasured_ = false;
    version_seen_ = false;
    line_check_.reset();
    refusal_ = "";
    partial_.clear();
    body_owned_.clear();
    state_ = State::idle;
    // req_ is left as it is: its views may dangle from here on (request() is for after
    // Event::request only), and build_request() resets it before filling it.
    // Large one-off buffers are not kept for the rest of a keep-alive connection.
    if (partial_.capacity() > 4096 || body_owned_.capacity() > 4096) release_memory();
}

inline void RequestParser::release_memory() {
    if (state_ != State::idle) return;
    std::string().swap(partial_);
    std::string().swap(body_owned_);
    PodVector<Field>().swap(fields_);
}

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
