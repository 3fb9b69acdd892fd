// deliveries — fan-out load generator: 1 WebSocket publisher -> K WebSocket subscribers on a
// chat route (the anchor contract's /_chat: every message goes to every *other* peer of the topic).
// Measures deliveries/s (messages received by subscribers). Standalone: POSIX sockets + epoll,
// one thread, not linked with wisp, no third-party code. bench/README.md has the figures.
//
//   deliveries --port 9001 [--host 127.0.0.1] [--path /_chat] [--subscribers 1000] [--size 64]
//              [--window 16] [--seconds 5] [--warmup 1] [--server-pid PID[,PID...]] [--verbose]
//              [--port2 9002] [--stamp] [--rate N]
//
// Two instances (bench/redis_fanout.py): with --port2 every second subscriber connects to that
// port instead (same host); the publisher stays on --port. --stamp puts the publishing time
// (CLOCK_MONOTONIC, 16 hex digits of nanoseconds) after the sequence number of every payload, and
// each subscriber's receipt is measured against it (per delivery, not only the last one). --rate
// publishes N publications per second (still at most --window in flight) instead of as fast as
// they complete: latency below saturation.
//
// How a run goes:
//  1. K subscriber connections and one publisher connection are opened (at most 128 handshakes in
//     flight); every answer must be `101` with the right Sec-WebSocket-Accept and no extension.
//  2. Subscription barrier. The server subscribes a peer in its open hook, which may run after the
//     101 has reached us, so "all 101s received" does not mean "all subscribed". The publisher sends
//     probe messages (`p` + number), 10 ms apart at least and only once every subscriber that has
//     seen a probe has the previous one (backing off to 1 s while none has), until every subscriber
//     has received at least one. A subscriber that got probe n was subscribed when n was published,
//     so it gets every later publication, in order. Then we wait until every subscriber has received
//     the last probe sent: from there on all K are subscribed and no probe is in flight, and the data
//     sequence starts at 0.
//  3. The publisher keeps `window` publications in flight: masked text frames of exactly `size`
//     bytes, `d` + the sequence number (12 hex digits) + a fixed filler. A publication is complete
//     when all K subscribers received it; each completion publishes the next one. The first
//     `warmup` seconds are not counted, then `seconds` are measured.
//  4. Drain: no more publications; every publication sent must reach every subscriber (10 s at
//     most), then 100 ms of silence is checked for late duplicates.
//
// Subscribers parse frames incrementally (any split across reads; payloads are validated as they
// stream in, nothing is buffered but the frame header). Every subscriber must receive every sequence
// number exactly once and in order; the publisher must receive nothing. Violations are counted and
// the first ones printed; any violation, a stall (no delivery for 5 s), a close or a socket error
// makes the exit status 1. The last stdout line:
//   deliveries/s N publications/s N subscribers K size B window D seconds S errors E p50_us N p99_us N
//   client_cpu F [server_cpu F[,F...]] [delivery_p50_us N delivery_p99_us N delivery_p999_us N]
// (latency: publication sent -> received by the last subscriber; client_cpu: the share of one core
// this tool used while measuring, near 1.0 means the tool is the limit; server_cpu: the same for
// each process given by --server-pid, read from /proc (schedstat); delivery_*: with --stamp, the
// stamp in the payload -> the read that brought the delivery, over every delivery measured).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

// ---- options ------------------------------------------------------------------------------------
struct Options {
    std::string host = "127.0.0.1";
    std::string port;
    std::string path = "/_chat";
    int subscribers = 1000;
    std::size_t size = 64;
    int window = 16;
    double seconds = 5;
    double warmup = 1;
    bool verbose = false;
    std::vector<long> server_pids;   // optional: report these processes' CPU shares while measuring
    std::string port2;               // optional: every second subscriber connects here
    bool stamp = false;              // the publishing time in the payload, per-delivery latency
    double rate = 0;                 // publications per second; 0: as fast as they complete
};
Options opt;

constexpr std::size_t kHead = 13;     // 'd' or 'p', then 12 hex digits
constexpr std::size_t kStamp = 16;    // with --stamp: then 16 hex digits of CLOCK_MONOTONIC ns
std::size_t head_len = kHead;         // kHead, or kHead + kStamp with --stamp
constexpr int kMaxHandshakes = 128;   // connections in connect/handshake at once
constexpr std::uint64_t kSecond = 1000000000ull;
constexpr std::uint64_t kProbeEvery = 10 * 1000000ull;
constexpr std::uint64_t kSetupLimit = 60 * kSecond;
constexpr std::uint64_t kStallLimit = 5 * kSecond;
constexpr std::uint64_t kDrainLimit = 10 * kSecond;
constexpr std::uint64_t kLinger = 100 * 1000000ull;
constexpr int kMaxReported = 20;

std::uint64_t mono() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * kSecond + std::uint64_t(ts.tv_nsec);
}

// ---- SHA-1 and base64, for Sec-WebSocket-Accept ----------------------------------------------------
std::uint32_t rol(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

std::string sha1(const std::string& in) {
    std::uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    std::string m = in;
    const std::uint64_t bits = std::uint64_t(in.size()) * 8;
    m.push_back(char(0x80));
    while (m.size() % 64 != 56) m.push_back('\0');
    for (int i = 7; i >= 0; --i) m.push_back(char((bits >> (8 * i)) & 0xff));
    for (std::size_t off = 0; off < m.size(); off += 64) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const auto* p =
                reinterpret_cast<const unsigned char*>(m.data() + off + 4 * std::size_t(i));
            w[i] = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 |
                   std::uint32_t(p[2]) << 8 | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999u;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1u;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDCu;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6u;
            }
            const std::uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::string out;
    for (std::uint32_t v : h)
        for (int i = 3; i >= 0; --i) out.push_back(char((v >> (8 * i)) & 0xff));
    return out;
}

std::string base64(const std::string& in) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16 |
                                std::uint32_t(std::uint8_t(in[i + 1])) << 8 |
                                std::uint8_t(in[i + 2]);
        out += tbl[v >> 18];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += tbl[v & 63];
    }
    if (i + 1 == in.size()) {
        const std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
        out += tbl[v >> 18];
        out += tbl[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const std::uint32_t v =
            std::uint32_t(std::uint8_t(in[i])) << 16 | std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out += tbl[v >> 18];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

// ---- connections ----------------------------------------------------------------------------------
enum class State { Idle, Connecting, Handshake, Open };

struct Conn {
    int id = 0;
    bool publisher = false;
    int fd = -1;
    State state = State::Idle;
    std::string out;   // bytes not yet written
    std::size_t out_off = 0;
    bool watching_out = false;   // EPOLLOUT registered
    bool dirty = false;          // in the flush list
    std::string response;        // handshake answer until its blank line

    // frame parser: header bytes, then the payload streamed
    unsigned char hdr[14] = {};
    unsigned hdr_have = 0, hdr_need = 2;
    bool in_payload = false;
    unsigned opcode = 0;   // of the current frame
    bool fin = false;
    bool masked = false;
    unsigned char mask[4] = {};
    unsigned mask_off = 0;
    std::uint64_t remaining = 0;   // payload bytes left in the current frame
    std::string control;           // control frame payload (<= 125 bytes)

    // the current data message
    bool in_message = false;
    unsigned msg_opcode = 0;
    std::uint64_t msg_len = 0;
    const char* bad = nullptr;   // first thing wrong with it
    bool head_ok = false;        // kind and number parsed
    char kind = 0;
    std::uint64_t number = 0;
    std::uint64_t stamp = 0;   // with --stamp: when it was published

    // sequence state (subscribers)
    std::uint64_t next = 0;   // next data sequence number expected
    bool probed = false;
    std::uint64_t first_probe = 0;
    std::uint64_t last_probe = 0;
    std::uint64_t received = 0;   // data messages received (valid or not)
};

enum class Phase { Connecting, Probing, Settling, Warmup, Measure, Drain, Linger };

std::vector<Conn> conns;   // subscribers 0..K-1, publisher K
Conn* pub = nullptr;
int ep = -1;
std::vector<Conn*> dirty;
addrinfo* target = nullptr;
addrinfo* target2 = nullptr;   // --port2
std::string request, request2;
std::string accept_expected;
std::string tmpl;   // the payload: bytes from kHead on are the filler
std::uint32_t rng = 0x9e3779b9u;
unsigned char rbuf[1 << 16];

Phase phase = Phase::Connecting;
std::uint64_t now = 0;
int started = 0, opened = 0, handshaking = 0;
int probed_subs = 0;
std::uint64_t probes_sent = 0, next_probe_at = 0, probe_interval = kProbeEvery;
std::uint64_t sent = 0, completed = 0;
std::vector<std::uint32_t> got;       // per window slot: subscribers that got it
std::vector<std::uint64_t> sent_at;   // per window slot: when it was published
std::uint64_t t_begin = 0, t_opened = 0, t_subscribed = 0, t_start = 0, t_measure = 0, t_end = 0;
std::uint64_t t_measured_end = 0, t_phase = 0, last_progress = 0;
std::uint64_t deliveries = 0;   // all data deliveries, warm-up included
std::uint64_t deliveries_at_measure = 0, deliveries_measured = 0, completed_at_measure = 0,
              completed_measured = 0;
std::uint64_t errors = 0;
bool drain_failed = false;
std::uint64_t lost = 0;   // publications a subscriber never got (each also counted in errors)
std::vector<std::uint64_t> latencies;
// --stamp: per-delivery latency in 1 µs buckets; the last one holds everything longer.
std::vector<std::uint32_t> delivery_us;
std::uint64_t t_read = 0;            // when the read being parsed returned (--stamp)
std::uint64_t next_publish_at = 0;   // --rate
double cpu_at_measure = 0, cpu_used = -1;
std::vector<double> server_cpu_at_measure, server_cpu_used;

// The CPU time of `pid`'s threads in seconds, to the nanosecond: the sum of the first field of
// /proc/PID/task/*/schedstat (what a thread that has exited used is gone from it: the servers
// measured keep their threads). Where schedstat is missing, utime + stime (fields 14 and 15 of
// /proc/PID/stat, in clock ticks: 10 ms steps). -1 if unreadable.
double server_cpu_seconds(long pid) {
    char path[96];
    std::snprintf(path, sizeof path, "/proc/%ld/task", pid);
    if (DIR* d = opendir(path)) {
        unsigned long long ns = 0;
        bool any = false;
        while (const dirent* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::snprintf(path, sizeof path, "/proc/%ld/task/%.20s/schedstat", pid, e->d_name);
            if (FILE* f = std::fopen(path, "r")) {
                unsigned long long t = 0;
                if (std::fscanf(f, "%llu", &t) == 1) {
                    ns += t;
                    any = true;
                }
                std::fclose(f);
            }
        }
        closedir(d);
        if (any) return double(ns) / 1e9;
    }
    std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    const bool ok = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    const char* p = ok ? std::strrchr(line, ')') : nullptr;
    if (!p) return -1;
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2)
        return -1;
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::vector<double> server_cpus() {
    std::vector<double> v;
    for (long pid : opt.server_pids) v.push_back(server_cpu_seconds(pid));
    return v;
}

double delivery_percentile_us(double q) {
    std::uint64_t total = 0;
    for (std::uint32_t n : delivery_us) total += n;
    if (total == 0) return 0;
    const auto want = std::uint64_t(q * double(total));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < delivery_us.size(); ++i) {
        seen += delivery_us[i];
        if (seen > want) return double(i);
    }
    return double(delivery_us.size() - 1);
}

double percentile_us(double q) {
    if (latencies.empty()) return 0;
    std::vector<std::uint64_t> v = latencies;
    const std::size_t k = std::min(v.size() - 1, std::size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return double(v[k]) / 1000.0;
}

void print_result() {
    const std::uint64_t end = t_measured_end ? t_measured_end : now;
    const double secs = t_measure && end > t_measure ? double(end - t_measure) / 1e9 : 0;
    const std::uint64_t d =
        t_measured_end ? deliveries_measured : deliveries - deliveries_at_measure;
    const std::uint64_t p =
        t_measured_end ? completed_measured : (t_measure ? completed - completed_at_measure : 0);
    const double cpu =
        cpu_used >= 0 ? cpu_used : (secs > 0 ? (cpu_seconds() - cpu_at_measure) / secs : 0);
    std::printf(
        "deliveries/s %.0f publications/s %.0f subscribers %d size %zu window %d seconds %.2f errors %llu "
        "p50_us %.0f p99_us %.0f client_cpu %.2f",
        secs > 0 ? double(d) / secs : 0.0, secs > 0 ? double(p) / secs : 0.0, opt.subscribers,
        opt.size, opt.window, secs, static_cast<unsigned long long>(errors), percentile_us(0.50),
        percentile_us(0.99), cpu);
    if (!opt.server_pids.empty()) {
        std::vector<double> scpu = server_cpu_used;
        if (scpu.empty()) {   // the run ended early: up to now
            const std::vector<double> at = server_cpus();
            for (std::size_t i = 0; i < at.size(); ++i)
                scpu.push_back(secs > 0 && i < server_cpu_at_measure.size() &&
                                       server_cpu_at_measure[i] >= 0 && at[i] >= 0
                                   ? (at[i] - server_cpu_at_measure[i]) / secs
                                   : -1);
        }
        for (std::size_t i = 0; i < scpu.size(); ++i)
            std::printf("%s%.3f", i ? "," : " server_cpu ", scpu[i]);
    }
    if (opt.stamp)
        std::printf(" delivery_p50_us %.0f delivery_p99_us %.0f delivery_p999_us %.0f",
                    delivery_percentile_us(0.50), delivery_percentile_us(0.99),
                    delivery_percentile_us(0.999));
    std::printf("\n");
    std::fflush(stdout);
}

[[gnu::format(printf, 1, 2)]] [[noreturn]] void fail(const char* fmt, ...) {
    std::fprintf(stderr, "deliveries: error: ");
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "\n");
    ++errors;
    print_result();
    std::exit(1);
}

[[gnu::format(printf, 2, 3)]] void violation(const Conn& c, const char* fmt, ...) {
    ++errors;
    if (errors > std::uint64_t(kMaxReported)) {
        if (errors == std::uint64_t(kMaxReported) + 1)
            std::fprintf(stderr, "deliveries: (further violations not shown)\n");
        return;
    }
    std::fprintf(stderr, "deliveries: violation: %s %d: ", c.publisher ? "publisher" : "subscriber",
                 c.id);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "\n");
}

const char* who(const Conn& c) { return c.publisher ? "publisher" : "subscriber"; }

// ---- output -----------------------------------------------------------------------------------------
void mark_dirty(Conn& c) {
    if (!c.dirty) {
        c.dirty = true;
        dirty.push_back(&c);
    }
}

void watch(Conn& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev) < 0) fail("epoll_ctl: %s", std::strerror(errno));
    c.watching_out = out;
}

void flush(Conn& c) {
    while (c.out_off < c.out.size()) {
        const ssize_t n =
            ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += std::size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c.watching_out) watch(c, true);
            return;
        }
        fail("%s %d: send: %s", who(c), c.id, n < 0 ? std::strerror(errno) : "wrote nothing");
    }
    c.out.clear();
    c.out_off = 0;
    if (c.watching_out) watch(c, false);
}

// A masked client frame.
void queue_frame(Conn& c, unsigned opcode, const char* payload, std::size_t len) {
    std::string& o = c.out;
    o.push_back(char(0x80 | opcode));
    if (len < 126) {
        o.push_back(char(0x80 | len));
    } else if (len < 65536) {
        o.push_back(char(0x80 | 126));
        o.push_back(char(len >> 8));
        o.push_back(char(len & 0xff));
    } else {
        o.push_back(char(0x80 | 127));
        for (int i = 7; i >= 0; --i) o.push_back(char((std::uint64_t(len) >> (8 * i)) & 0xff));
    }
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    unsigned char key[4] = {std::uint8_t(rng), std::uint8_t(rng >> 8), std::uint8_t(rng >> 16),
                            std::uint8_t(rng >> 24)};
    o.append(reinterpret_cast<const char*>(key), 4);
    const std::size_t at = o.size();
    o.append(payload, len);
    for (std::size_t i = 0; i < len; ++i) o[at + i] = char(o[at + i] ^ char(key[i & 3]));
    mark_dirty(c);
}

void publish(char kind, std::uint64_t number) {
    tmpl[0] = kind;
    for (std::size_t i = 0; i < 12; ++i)
        tmpl[1 + i] = "0123456789abcdef"[(number >> (4 * (11 - i))) & 15];
    if (opt.stamp) {
        const std::uint64_t t = mono();
        for (std::size_t i = 0; i < kStamp; ++i)
            tmpl[kHead + i] = "0123456789abcdef"[(t >> (4 * (kStamp - 1 - i))) & 15];
    }
    queue_frame(*pub, 1, tmpl.data(), tmpl.size());
}

void publish_data() {
    const std::size_t slot = std::size_t(sent % std::uint64_t(opt.window));
    got[slot] = 0;
    sent_at[slot] = now;
    publish('d', sent++);
}

void fill_window() {
    const auto interval = opt.rate > 0 ? std::uint64_t(1e9 / opt.rate) : 0;
    while ((phase == Phase::Warmup || phase == Phase::Measure) &&
           sent - completed < std::uint64_t(opt.window)) {
        if (interval) {
            if (now < next_publish_at) break;
            // Behind (the window was full): catch up by at most 10 publications at once.
            next_publish_at =
                std::max(next_publish_at + interval, now > 10 * interval ? now - 10 * interval : 0);
        }
        publish_data();
    }
}

// ---- input: messages ----------------------------------------------------------------------------
void complete(std::uint64_t seq) {
    if (seq != completed)
        fail("publication %llu completed before %llu", static_cast<unsigned long long>(seq),
             static_cast<unsigned long long>(completed));
    ++completed;
    last_progress = now;
    if (phase == Phase::Measure)
        latencies.push_back(now - sent_at[std::size_t(seq % std::uint64_t(opt.window))]);
    fill_window();
}

void on_data(Conn& c, std::uint64_t seq) {
    ++c.received;
    if (phase < Phase::Warmup) {
        violation(c, "data message %llu before the run started",
                  static_cast<unsigned long long>(seq));
        return;
    }
    if (seq >= sent) {
        violation(c, "sequence number %llu was never published (%llu sent)",
                  static_cast<unsigned long long>(seq), static_cast<unsigned long long>(sent));
        return;
    }
    if (seq < c.next) {
        violation(c, "got %llu again or out of order (expected %llu)",
                  static_cast<unsigned long long>(seq), static_cast<unsigned long long>(c.next));
        return;
    }
    if (seq > c.next) {   // lost: count them as settled for this subscriber so the window moves on
        violation(c, "missed %llu message(s): expected %llu, got %llu",
                  static_cast<unsigned long long>(seq - c.next),
                  static_cast<unsigned long long>(c.next), static_cast<unsigned long long>(seq));
        for (; c.next < seq; ++c.next) {
            ++lost;
            if (++got[std::size_t(c.next % std::uint64_t(opt.window))] ==
                std::uint32_t(opt.subscribers))
                complete(c.next);
        }
    }
    c.next = seq + 1;
    ++deliveries;
    if (opt.stamp && phase == Phase::Measure) {
        const std::uint64_t us = t_read > c.stamp ? (t_read - c.stamp) / 1000 : 0;
        ++delivery_us[std::min<std::size_t>(std::size_t(us), delivery_us.size() - 1)];
    }
    last_progress = now;
    const std::size_t slot = std::size_t(seq % std::uint64_t(opt.window));
    if (++got[slot] == std::uint32_t(opt.subscribers)) complete(seq);
}

void on_probe(Conn& c, std::uint64_t n) {
    if (phase != Phase::Probing && phase != Phase::Settling) {
        violation(c, "probe %llu after the subscription barrier",
                  static_cast<unsigned long long>(n));
        return;
    }
    if (n >= probes_sent) {
        violation(c, "probe %llu was never sent", static_cast<unsigned long long>(n));
        return;
    }
    if (!c.probed) {
        c.probed = true;
        c.first_probe = n;
        ++probed_subs;
    } else if (n != c.last_probe + 1) {
        violation(c, "probe %llu after probe %llu", static_cast<unsigned long long>(n),
                  static_cast<unsigned long long>(c.last_probe));
    }
    c.last_probe = n;
}

void on_message(Conn& c) {
    if (c.msg_opcode != 1 && !c.bad) c.bad = "binary message (text was published)";
    if (c.msg_len != opt.size && !c.bad) c.bad = "wrong payload length";
    if (c.bad) {
        violation(c, "%s (opcode %u, %llu bytes)", c.bad, c.msg_opcode,
                  static_cast<unsigned long long>(c.msg_len));
        if (c.publisher || !c.head_ok) {
            if (!c.publisher) ++c.received;
            return;
        }
        // the sequence number is readable: account for it (the run already failed) so the window moves on
    }
    if (c.publisher) {
        violation(c,
                  "received a message (%c %llu): the publisher must not get its own publications",
                  c.kind, static_cast<unsigned long long>(c.number));
        return;
    }
    if (c.kind == 'd') on_data(c, c.number);
    else on_probe(c, c.number);
}

// 0-15 for '0'-'9' and 'a'-'f', 255 for anything else.
struct HexTable {
    unsigned char v[256];
    HexTable() {
        std::memset(v, 255, sizeof v);
        for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<unsigned char>(i);
        for (int i = 0; i < 6; ++i) v['a' + i] = static_cast<unsigned char>(10 + i);
    }
    unsigned operator[](unsigned char b) const { return v[b]; }
};
const HexTable hex_value;

// Payload bytes of the current data message, unmasked, at message offset c.msg_len.
void check_payload(Conn& c, const unsigned char* p, std::size_t n) {
    std::uint64_t pos = c.msg_len;
    c.msg_len += n;
    if (c.bad) return;
    std::size_t i = 0;
    if (pos == 0 && n >= head_len) {   // the whole head at once
        c.kind = char(p[0]);
        if (c.kind != 'd' && c.kind != 'p') {
            c.bad = "payload is not one of ours";
            return;
        }
        std::uint64_t number = 0;
        for (std::size_t k = 1; k < kHead; ++k) {
            const unsigned v = hex_value[p[k]];
            if (v > 15) {
                c.bad = "payload: bad sequence digits";
                return;
            }
            number = number * 16 + v;
        }
        c.number = number;
        c.head_ok = true;
        std::uint64_t stamp = 0;
        for (std::size_t k = kHead; k < head_len; ++k) {
            const unsigned v = hex_value[p[k]];
            if (v > 15) {
                c.bad = "payload: bad stamp digits";
                return;
            }
            stamp = stamp * 16 + v;
        }
        c.stamp = stamp;
        i = head_len;
        pos = head_len;
    }
    for (; i < n && pos < head_len; ++i, ++pos) {
        const unsigned char b = p[i];
        if (pos == 0) {
            if (b != 'd' && b != 'p') {
                c.bad = "payload is not one of ours";
                return;
            }
            c.kind = char(b);
            c.number = 0;
            c.stamp = 0;
        } else if (pos >= kHead) {
            const unsigned v = hex_value[b];
            if (v > 15) {
                c.bad = "payload: bad stamp digits";
                return;
            }
            c.stamp = c.stamp * 16 + v;
        } else {
            unsigned v;
            if (b >= '0' && b <= '9') v = unsigned(b - '0');
            else if (b >= 'a' && b <= 'f') v = unsigned(b - 'a' + 10);
            else {
                c.bad = "payload: bad sequence digits";
                return;
            }
            c.number = c.number * 16 + v;
            if (pos + 1 == kHead) c.head_ok = true;
        }
    }
    if (i == n) return;
    if (pos + (n - i) > opt.size) {
        c.bad = "payload longer than published";
        return;
    }
    if (std::memcmp(p + i, tmpl.data() + pos, n - i) != 0)
        c.bad = "payload bytes differ from what was published";
}

void on_control(Conn& c) {
    if (c.opcode ==
        0x9) {   // ping: answer (the contract says servers do not ping, but it is legal)
        queue_frame(c, 0xA, c.control.data(), c.control.size());
    } else if (c.opcode == 0x8) {
        unsigned code = 0;
        std::string reason;
        if (c.control.size() >= 2) {
            code = unsigned(std::uint8_t(c.control[0])) << 8 | std::uint8_t(c.control[1]);
            reason = c.control.substr(2);
        }
        fail("%s %d: the server sent a close frame (code %u%s%s)", who(c), c.id, code,
             reason.empty() ? "" : ", ", reason.c_str());
    }
    // pong: ignored
}

void frame_done(Conn& c) {
    if (c.opcode >= 0x8) {
        on_control(c);
    } else if (c.fin) {
        on_message(c);
        c.in_message = false;
    }
    c.in_payload = false;
    c.hdr_have = 0;
    c.hdr_need = 2;
}

void header_done(Conn& c) {
    const unsigned char b0 = c.hdr[0], b1 = c.hdr[1];
    c.fin = b0 & 0x80;
    c.opcode = b0 & 0x0f;
    c.masked = b1 & 0x80;
    std::uint64_t len = b1 & 0x7f;
    unsigned at = 2;
    if (len == 126) {
        len = std::uint64_t(c.hdr[2]) << 8 | c.hdr[3];
        at = 4;
    } else if (len == 127) {
        len = 0;
        for (unsigned i = 0; i < 8; ++i) len = len << 8 | c.hdr[2 + i];
        at = 10;
    }
    if (c.masked) std::memcpy(c.mask, c.hdr + at, 4);
    c.mask_off = 0;
    c.remaining = len;
    if (b0 & 0x70) violation(c, "RSV bits set (0x%02x) without an extension", b0 & 0x70);
    if (c.masked) violation(c, "the server masked a frame");
    if (c.opcode >= 0x8) {
        if (c.opcode != 0x8 && c.opcode != 0x9 && c.opcode != 0xA)
            fail("%s %d: unknown control opcode %u", who(c), c.id, c.opcode);
        if (!c.fin || len > 125) fail("%s %d: malformed control frame", who(c), c.id);
        c.control.clear();
    } else if (c.opcode == 0x0) {
        if (!c.in_message) fail("%s %d: continuation frame without a message", who(c), c.id);
    } else if (c.opcode == 0x1 || c.opcode == 0x2) {
        if (c.in_message) fail("%s %d: new message inside a fragmented one", who(c), c.id);
        c.in_message = true;
        c.msg_opcode = c.opcode;
        c.msg_len = 0;
        c.bad = nullptr;
        c.head_ok = false;
        c.kind = 0;
        c.number = 0;
    } else {
        fail("%s %d: unknown opcode %u", who(c), c.id, c.opcode);
    }
    c.in_payload = true;
    if (len == 0) frame_done(c);
}

// The expected frame header for a whole unfragmented text message of opt.size bytes, unmasked.
unsigned char expected_header[4];
std::size_t expected_header_len = 0;

// Bytes of the frame stream, split anywhere.
void feed(Conn& c, unsigned char* p, std::size_t n) {
    while (n > 0) {
        // Fast path: the whole expected frame is in the buffer and no frame or message is in progress.
        // Same checks as the general path below; it only skips the byte-at-a-time state machine.
        if (!c.in_payload && c.hdr_have == 0 && !c.in_message && expected_header_len &&
            n >= expected_header_len + opt.size &&
            std::memcmp(p, expected_header, expected_header_len) == 0) {
            c.msg_opcode = 1;
            c.msg_len = 0;
            c.bad = nullptr;
            c.head_ok = false;
            check_payload(c, p + expected_header_len, opt.size);
            on_message(c);
            p += expected_header_len + opt.size;
            n -= expected_header_len + opt.size;
            continue;
        }
        if (!c.in_payload) {
            while (n > 0 && c.hdr_have < c.hdr_need) {
                c.hdr[c.hdr_have++] = *p++;
                --n;
                if (c.hdr_have == 2) {
                    const unsigned len7 = c.hdr[1] & 0x7f;
                    c.hdr_need = 2u +
                                 (len7 == 126   ? 2u
                                  : len7 == 127 ? 8u
                                                : 0u) +
                                 ((c.hdr[1] & 0x80) ? 4u : 0u);
                }
            }
            if (c.hdr_have < c.hdr_need) return;
            header_done(c);
            continue;
        }
        const std::size_t take = std::size_t(std::min<std::uint64_t>(c.remaining, n));
        if (c.masked)
            for (std::size_t i = 0; i < take; ++i) p[i] ^= c.mask[(c.mask_off + i) & 3];
        c.mask_off = unsigned((c.mask_off + take) & 3);
        if (c.opcode >= 0x8) c.control.append(reinterpret_cast<const char*>(p), take);
        else check_payload(c, p, take);
        p += take;
        n -= take;
        c.remaining -= take;
        if (c.remaining == 0) frame_done(c);
    }
}

// ---- input: handshake -----------------------------------------------------------------------------
std::string lower(std::string s) {
    for (char& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
    return s;
}

std::string trim(const std::string& s) {
    std::size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
    return s.substr(a, b - a);
}

void start_connections();

void on_handshake(Conn& c, const unsigned char* p, std::size_t n) {
    c.response.append(reinterpret_cast<const char*>(p), n);
    const std::size_t end = c.response.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (c.response.size() > 16384) fail("%s %d: handshake answer too long", who(c), c.id);
        return;
    }
    const std::string head = c.response.substr(0, end + 2);
    std::string rest = c.response.substr(end + 4);
    const std::size_t eol = head.find("\r\n");
    const std::string status = head.substr(0, eol);
    if (status.compare(0, 13, "HTTP/1.1 101 ") != 0 && status != "HTTP/1.1 101")
        fail("%s %d: expected 101, got \"%s\"", who(c), c.id, status.c_str());
    std::string accept, upgrade, extensions;
    for (std::size_t at = eol + 2; at < head.size();) {
        const std::size_t next = head.find("\r\n", at);
        const std::string line = head.substr(at, next - at);
        at = next + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string name = lower(trim(line.substr(0, colon)));
        if (name == "sec-websocket-accept") accept = trim(line.substr(colon + 1));
        else if (name == "upgrade") upgrade = lower(trim(line.substr(colon + 1)));
        else if (name == "sec-websocket-extensions") extensions = trim(line.substr(colon + 1));
    }
    if (accept != accept_expected)
        fail("%s %d: Sec-WebSocket-Accept is \"%s\", expected \"%s\"", who(c), c.id, accept.c_str(),
             accept_expected.c_str());
    if (upgrade != "websocket")
        fail("%s %d: Upgrade is \"%s\", expected websocket", who(c), c.id, upgrade.c_str());
    if (!extensions.empty())
        fail("%s %d: the server negotiated an extension none was offered for: %s", who(c), c.id,
             extensions.c_str());
    c.response.clear();
    c.response.shrink_to_fit();
    c.state = State::Open;
    ++opened;
    --handshaking;
    start_connections();
    if (!rest.empty()) feed(c, reinterpret_cast<unsigned char*>(&rest[0]), rest.size());
}

void on_readable(Conn& c) {
    for (;;) {
        const ssize_t n = ::recv(c.fd, rbuf, sizeof rbuf, 0);
        if (n > 0) {
            if (opt.stamp) t_read = mono();
            if (c.state == State::Open) feed(c, rbuf, std::size_t(n));
            else on_handshake(c, rbuf, std::size_t(n));
            if (std::size_t(n) < sizeof rbuf)
                return;   // level-triggered: epoll reports what is left
            continue;
        }
        if (n == 0)
            fail("%s %d: the server closed the connection%s", who(c), c.id,
                 c.state == State::Open ? "" : " during the handshake");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        fail("%s %d: recv: %s", who(c), c.id, std::strerror(errno));
    }
}

// ---- connecting -------------------------------------------------------------------------------------
// With --port2, odd subscribers go to the second instance.
bool on_second(const Conn& c) { return target2 && !c.publisher && c.id % 2 == 1; }

void connect_one(Conn& c) {
    const addrinfo* to = on_second(c) ? target2 : target;
    c.fd = ::socket(to->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) fail("socket: %s", std::strerror(errno));
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = &c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) < 0) fail("epoll_ctl: %s", std::strerror(errno));
    c.watching_out = true;
    c.state = State::Connecting;
    ++handshaking;
    if (::connect(c.fd, to->ai_addr, to->ai_addrlen) < 0 && errno != EINPROGRESS)
        fail("%s %d: connect: %s", who(c), c.id, std::strerror(errno));
}

void start_connections() {
    while (handshaking < kMaxHandshakes && started < int(conns.size()))
        connect_one(conns[std::size_t(started++)]);
}

void on_writable(Conn& c) {
    if (c.state == State::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) fail("%s %d: connect: %s", who(c), c.id, std::strerror(err));
        c.state = State::Handshake;
        c.out = on_second(c) ? request2 : request;
        c.out_off = 0;
    }
    flush(c);
}

// ---- main -------------------------------------------------------------------------------------------
[[noreturn]] void usage(int status) {
    std::fprintf(
        status ? stderr : stdout,
        "usage: deliveries --port N [--host 127.0.0.1] [--path /_chat] [--subscribers 1000] [--size 64]\n"
        "                  [--window 16] [--seconds 5] [--warmup 1] [--server-pid PID[,PID...]]\n"
        "                  [--port2 N] [--stamp] [--rate N] [--verbose]\n"
        "1 WebSocket publisher -> K subscribers on a chat route; prints deliveries/s (see the source).\n"
        "--size is the payload in bytes (>= %zu, >= %zu with --stamp), --window the publications in\n"
        "flight, --server-pid adds each server's CPU share while measuring (from /proc) to the\n"
        "result line, --port2 puts every second subscriber on a second port, --stamp measures\n"
        "each delivery's latency from a stamp in the payload, --rate paces the publications.\n",
        kHead, kHead + kStamp);
    std::exit(status);
}

void parse_args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") usage(0);
        if (a == "--verbose" || a == "-v") {
            opt.verbose = true;
            continue;
        }
        if (a == "--stamp") {
            opt.stamp = true;
            continue;
        }
        if (i + 1 >= argc) usage(2);
        const char* v = argv[++i];
        char* end = nullptr;
        if (a == "--port") opt.port = v;
        else if (a == "--host") opt.host = v;
        else if (a == "--path") opt.path = v;
        else if (a == "--subscribers") opt.subscribers = int(std::strtol(v, &end, 10));
        else if (a == "--size") opt.size = std::size_t(std::strtoull(v, &end, 10));
        else if (a == "--window") opt.window = int(std::strtol(v, &end, 10));
        else if (a == "--seconds") opt.seconds = std::strtod(v, &end);
        else if (a == "--warmup") opt.warmup = std::strtod(v, &end);
        else if (a == "--server-pid") {
            for (const char* at = v;; at = end + 1) {
                opt.server_pids.push_back(std::strtol(at, &end, 10));
                if (*end != ',') break;
            }
        } else if (a == "--port2") opt.port2 = v;
        else if (a == "--rate") opt.rate = std::strtod(v, &end);
        else usage(2);
        if (end && *end) usage(2);
    }
    if (opt.stamp) head_len = kHead + kStamp;
    if (opt.port.empty() || opt.subscribers < 1 || opt.window < 1 || opt.size < head_len ||
        opt.seconds <= 0 || opt.warmup < 0 || opt.rate < 0)
        usage(2);
}

void dump_laggards() {
    int shown = 0, behind = 0;
    for (int i = 0; i < opt.subscribers; ++i) {
        const Conn& c = conns[std::size_t(i)];
        if (c.next >= sent) continue;
        ++behind;
        if (shown++ < 10)
            std::fprintf(
                stderr, "deliveries:   subscriber %d expects %llu (received %llu of %llu)\n", i,
                static_cast<unsigned long long>(c.next),
                static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(sent));
    }
    std::fprintf(stderr, "deliveries:   %d of %d subscribers are behind\n", behind,
                 opt.subscribers);
}

}   // namespace

int main(int argc, char** argv) {
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    const rlim_t need = rlim_t(opt.subscribers) + 64;
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < need)
            fail("RLIMIT_NOFILE is %llu, %d subscribers need %llu",
                 static_cast<unsigned long long>(rl.rlim_cur), opt.subscribers,
                 static_cast<unsigned long long>(need));
    }

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (const int rc = getaddrinfo(opt.host.c_str(), opt.port.c_str(), &hints, &target))
        fail("%s:%s: %s", opt.host.c_str(), opt.port.c_str(), gai_strerror(rc));
    if (!opt.port2.empty())
        if (const int rc = getaddrinfo(opt.host.c_str(), opt.port2.c_str(), &hints, &target2))
            fail("%s:%s: %s", opt.host.c_str(), opt.port2.c_str(), gai_strerror(rc));

    std::random_device rd;
    std::string key_raw;
    for (int i = 0; i < 16; ++i) key_raw.push_back(char(rd() & 0xff));
    rng = rd() | 1u;
    const std::string key = base64(key_raw);
    accept_expected = base64(sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    request = "GET " + opt.path + " HTTP/1.1\r\nHost: " + opt.host + ":" + opt.port +
              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
              "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    request2 = "GET " + opt.path + " HTTP/1.1\r\nHost: " + opt.host + ":" + opt.port2 +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
               "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (opt.stamp) delivery_us.assign(1u << 20, 0);
    if (opt.size < 126) {
        expected_header[0] = 0x81;
        expected_header[1] = static_cast<unsigned char>(opt.size);
        expected_header_len = 2;
    } else if (opt.size < 65536) {
        expected_header[0] = 0x81;
        expected_header[1] = 126;
        expected_header[2] = static_cast<unsigned char>(opt.size >> 8);
        expected_header[3] = static_cast<unsigned char>(opt.size & 0xff);
        expected_header_len = 4;
    }
    tmpl.assign(opt.size, 'x');
    for (std::size_t i = head_len; i < opt.size; ++i) tmpl[i] = char('a' + (i * 7) % 26);
    got.assign(std::size_t(opt.window), 0);
    sent_at.assign(std::size_t(opt.window), 0);

    conns.resize(std::size_t(opt.subscribers) + 1);
    for (std::size_t i = 0; i < conns.size(); ++i) conns[i].id = int(i);
    pub = &conns.back();
    pub->publisher = true;
    pub->id = 0;

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1: %s", std::strerror(errno));
    now = t_begin = mono();
    start_connections();

    std::vector<epoll_event> events(1024);
    std::uint64_t next_report = 0, reported = 0;
    for (;;) {
        const bool pacing = opt.rate > 0 && (phase == Phase::Warmup || phase == Phase::Measure);
        const int timeout = phase == Phase::Probing || phase == Phase::Settling ? 2
                            : pacing                                            ? 1
                                                                                : 50;
        const int n = epoll_wait(ep, events.data(), int(events.size()), timeout);
        if (n < 0 && errno != EINTR) fail("epoll_wait: %s", std::strerror(errno));
        now = mono();
        for (int i = 0; i < n; ++i) {
            Conn& c = *static_cast<Conn*>(events[std::size_t(i)].data.ptr);
            const std::uint32_t e = events[std::size_t(i)].events;
            if (c.state == State::Connecting) {   // connected, or the connect failed
                on_writable(c);
                continue;
            }
            if (e & EPOLLIN) on_readable(c);
            if (e & EPOLLOUT) on_writable(c);
            else if ((e & (EPOLLERR | EPOLLHUP)) && !(e & EPOLLIN))
                fail("%s %d: socket error or hangup", who(c), c.id);
        }
        for (std::size_t i = 0; i < dirty.size(); ++i) {   // flush() may not add to the list
            dirty[i]->dirty = false;
            flush(*dirty[i]);
        }
        dirty.clear();

        switch (phase) {
            case Phase::Connecting:
                if (now - t_begin > kSetupLimit)
                    fail("setup: %d of %zu connections open after 60 s", opened, conns.size());
                if (opened == int(conns.size())) {
                    phase = Phase::Probing;
                    t_opened = now;
                }
                break;
            case Phase::Probing:
                if (now - t_begin > kSetupLimit)
                    fail("setup: %d of %d subscribers received a probe after %llu probes",
                         probed_subs, opt.subscribers,
                         static_cast<unsigned long long>(probes_sent));
                if (probed_subs == opt.subscribers) {
                    phase = Phase::Settling;
                } else if (now >= next_probe_at) {
                    // At most one probe in flight to the subscribers known to be in: the next one goes out
                    // when all of them have the last one. While nobody has seen one, back off (10 ms, 20 ms,
                    // ... 1 s) so that a slow server is not buried under probes.
                    bool caught_up = true;
                    for (int i = 0; i < opt.subscribers && caught_up; ++i) {
                        const Conn& s = conns[std::size_t(i)];
                        caught_up = !s.probed || s.last_probe + 1 == probes_sent;
                    }
                    if (caught_up) {
                        publish('p', probes_sent++);
                        flush(*pub);
                        if (probed_subs == 0 && probes_sent > 1)
                            probe_interval = std::min(probe_interval * 2, kSecond);
                        next_probe_at = now + probe_interval;
                    }
                }
                break;
            case Phase::Settling: {
                if (now - t_begin > kSetupLimit) fail("setup: probes still in flight after 60 s");
                bool settled = true;
                for (int i = 0; i < opt.subscribers && settled; ++i)
                    settled = conns[std::size_t(i)].last_probe + 1 == probes_sent;
                if (!settled) break;
                t_subscribed = now;
                if (opt.verbose) {
                    int late =
                        0;   // subscribed after their 101 reached us and the first probe went out
                    for (int i = 0; i < opt.subscribers; ++i)
                        late += conns[std::size_t(i)].first_probe > 0;
                    std::fprintf(
                        stderr,
                        "deliveries: %zu connections open in %.3f s, all subscribed %.3f s later (%llu probes; "
                        "%d subscribers missed the first)\n",
                        conns.size(), double(t_opened - t_begin) / 1e9,
                        double(t_subscribed - t_opened) / 1e9,
                        static_cast<unsigned long long>(probes_sent), late);
                }
                phase = Phase::Warmup;
                t_start = last_progress = next_report = now;
                t_measure = now + std::uint64_t(opt.warmup * 1e9);
                next_publish_at = now;
                fill_window();
                flush(*pub);
                break;
            }
            case Phase::Warmup:
            case Phase::Measure:
                if (pacing) {
                    fill_window();
                    flush(*pub);
                }
                if (phase == Phase::Warmup && now >= t_measure) {
                    phase = Phase::Measure;
                    t_measure = now;
                    t_end = now + std::uint64_t(opt.seconds * 1e9);
                    deliveries_at_measure = deliveries;
                    completed_at_measure = completed;
                    cpu_at_measure = cpu_seconds();
                    server_cpu_at_measure = server_cpus();
                }
                if (phase == Phase::Measure && now >= t_end) {
                    t_measured_end = now;
                    deliveries_measured = deliveries - deliveries_at_measure;
                    completed_measured = completed - completed_at_measure;
                    cpu_used = (cpu_seconds() - cpu_at_measure) / (double(now - t_measure) / 1e9);
                    const std::vector<double> at = server_cpus();
                    for (std::size_t i = 0; i < at.size(); ++i)
                        server_cpu_used.push_back(server_cpu_at_measure[i] >= 0 && at[i] >= 0
                                                      ? (at[i] - server_cpu_at_measure[i]) /
                                                            (double(now - t_measure) / 1e9)
                                                      : -1);
                    phase = Phase::Drain;
                    t_phase = now;
                }
                break;
            case Phase::Drain:
                if (completed == sent) {
                    phase = Phase::Linger;
                    t_phase = now;
                } else if (now - t_phase > kDrainLimit) {
                    std::fprintf(
                        stderr,
                        "deliveries: error: %llu publication(s) still undelivered 10 s after the run\n",
                        static_cast<unsigned long long>(sent - completed));
                    dump_laggards();
                    ++errors;
                    drain_failed = true;
                    phase = Phase::Linger;
                    t_phase = now - kLinger;
                }
                break;
            case Phase::Linger:
                break;
        }
        if (phase >= Phase::Warmup && phase <= Phase::Measure &&
            now - last_progress > kStallLimit) {
            std::fprintf(
                stderr,
                "deliveries: error: stalled: no delivery for 5 s; publication %llu reached %u of %d subscribers\n",
                static_cast<unsigned long long>(completed),
                got[std::size_t(completed % std::uint64_t(opt.window))], opt.subscribers);
            dump_laggards();
            fail("stalled");
        }
        if (opt.verbose && phase >= Phase::Warmup && phase <= Phase::Measure &&
            now >= next_report) {
            if (reported || deliveries)
                std::fprintf(stderr, "deliveries: [%s] %.1f s: %llu deliveries (+%llu)\n",
                             phase == Phase::Warmup ? "warmup" : "measure",
                             double(now - t_start) / 1e9,
                             static_cast<unsigned long long>(deliveries),
                             static_cast<unsigned long long>(deliveries - reported));
            reported = deliveries;
            next_report = now + kSecond;
        }
        if (phase == Phase::Linger && now - t_phase >= kLinger) break;
    }
    for (int i = 0; i < opt.subscribers && !drain_failed; ++i) {
        const Conn& c = conns[std::size_t(i)];
        if (c.next != sent && errors < std::uint64_t(kMaxReported))
            violation(c, "received up to %llu of %llu publications",
                      static_cast<unsigned long long>(c.next),
                      static_cast<unsigned long long>(sent));
        else if (c.next != sent) ++errors;
    }
    if (lost)
        std::fprintf(stderr, "deliveries: error: %llu deliveries lost\n",
                     static_cast<unsigned long long>(lost));
    print_result();
    return errors ? 1 : 0;
}
