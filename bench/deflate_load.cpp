// deflate_load — load generator for permessage-deflate (RFC 7692), which the kit's wsload does
// not negotiate. One thread, POSIX sockets + epoll + zlib; not linked with wisp.
//
//   deflate_load fanout --port P [--subscribers 1000] [--window 16] [--deflate] ...
//   deflate_load echo   --port P [--connections 100] [--window 16] [--deflate] [--level 1] ...
//   deflate_load idle   --port P --steps 1000,10000 [--deflate] [--touch] [--path /_ws]
//   common: [--host 127.0.0.1] [--seconds 5] [--warmup 1] [--size 1024] [--server-pid PID]
//
// Messages are `size`-byte JSON (default 1 KiB), compressible the way chat and feed JSON is:
// repeated keys, varying numbers, a sequence number first.
// fanout: K subscribers and one publisher on /_chat (every message goes to every other peer).
//   With --deflate the subscribers offer "permessage-deflate; client_max_window_bits" (what
//   browsers send); the publisher never compresses, so the server's zlib work per publication
//   is the compression alone. The publisher keeps `window` publications in flight; one is done
//   when all K have it. Subscribers tell probes (short, never compressed) from data; subscriber
//   0 inflates and checks every data message, the others count frames and bytes.
// echo: C connections each keep `window` messages in flight on /_ws. With --deflate each offers
//   "permessage-deflate; client_max_window_bits" and compresses what it sends with its own
//   zlib stream (context takeover, level --level, 1 by default so the client stays cheap);
//   connection 0 inflates and checks every reply.
// idle: opens connections in steps (with --touch each sends one message and reads the reply,
//   which makes dedicated peers allocate their zlib state), prints `ready N` after each step
//   and waits for a line on stdin before the next; holds them open until stdin closes.
// Last stdout line of fanout/echo:
//   msgs/s N bytes_per_msg B payload_bytes_per_msg B seconds S client_cpu F [server_cpu F]
//   published N
// (msgs: deliveries for fanout, replies for echo; bytes: wire bytes the clients read per message,
// frame headers included; published: all publications or messages sent, warm-up included).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
    std::string mode, host = "127.0.0.1", port, path;
    int subscribers = 1000, connections = 100, window = 16, level = 1;
    double seconds = 5, warmup = 1;
    std::size_t size = 1024;
    bool deflate = false, touch = false;
    long server_pid = 0;
    std::vector<int> steps;
} opt;

[[noreturn]] void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fprintf(stderr, "deflate_load: ");
    std::vfprintf(stderr, fmt, ap);
    std::fprintf(stderr, "\n");
    va_end(ap);
    std::exit(1);
}

std::uint64_t pow10(std::size_t i) {
    std::uint64_t v = 1;
    while (i--) v *= 10;
    return v;
}

double mono() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}
double cpu_self() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
double cpu_server() {
    if (!opt.server_pid) return -1;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%ld/stat", opt.server_pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    const bool ok = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    const char* p = ok ? std::strrchr(line, ')') : nullptr;
    unsigned long long u = 0, s = 0;
    if (!p ||
        std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &u, &s) != 2)
        return -1;
    return double(u + s) / double(sysconf(_SC_CLK_TCK));
}

/// 64 JSON messages of exactly opt.size bytes, with varying ids and prices; message `seq` is
/// template seq % 64 with its 12-digit sequence number written in (so making one is a copy).
std::vector<std::string> templates;
constexpr std::size_t seq_at = 7, seq_digits = 12;   // {"seq":000000000000,...

void make_templates() {
    for (unsigned t = 0; t < 64; ++t) {
        std::string s = "{\"seq\":000000000000,\"type\":\"update\",\"items\":[";
        for (unsigned i = 0; s.size() + 80 < opt.size; ++i) {
            if (i) s += ',';
            s += "{\"id\":" + std::to_string(t * 16 + i) + ",\"name\":\"item-" + std::to_string(i) +
                 "\",\"price\":" + std::to_string((t + i * 7) % 100) + ".25}";
        }
        s += "],\"pad\":\"";
        while (s.size() + 2 < opt.size) s += 'x';
        s += "\"}";
        if (s.size() != opt.size) s.resize(opt.size, ' ');
        templates.push_back(s);
    }
}

const std::string& message(std::uint64_t seq) {
    std::string& s = templates[seq % 64];
    for (std::size_t i = 0; i < seq_digits; ++i)
        s[seq_at + seq_digits - 1 - i] = char('0' + (seq / pow10(i)) % 10);
    return s;
}

struct Conn {
    int fd = -1, id = 0;
    bool open = false, publisher = false, deflate = false;
    std::string pending, out;   // pending: an unfinished frame from the last read
    std::size_t out_off = 0;
    bool want_out = false;
    std::uint64_t data = 0;    // data messages received
    std::uint64_t sent = 0;    // echo: messages sent
    bool reset_def = false;    // the server said client_no_context_takeover
    int probes = 0;            // fanout: probes seen
    bool last_probe = false;   // fanout: the final probe seen
    z_stream def{}, inf{};
};

std::vector<Conn> conns;
int ep = -1;
unsigned rng = 0x12345678u;
double t_measure = 0, t_end = 0, cpu0 = 0, scpu0 = 0;
bool measuring = false, done_measuring = false;
std::uint64_t msgs_measured = 0, bytes_measured = 0, payload_measured = 0, published = 0;
std::uint64_t pub_sent = 0, pub_done = 0;
std::vector<std::uint32_t> got;   // fanout: subscribers that have each in-flight publication

void watch(Conn& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out;
}

void flush(Conn& c) {
    while (c.out_off < c.out.size()) {
        const ssize_t n =
            ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += std::size_t(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!c.want_out) watch(c, true);
            return;
        }
        die("send: %s", std::strerror(errno));
    }
    c.out.clear();
    c.out_off = 0;
    if (c.want_out) watch(c, false);
}

void queue_frame(Conn& c, unsigned op, std::string_view payload, bool rsv1) {
    std::string& o = c.out;
    const std::size_t n = payload.size();
    o.push_back(char(0x80 | (rsv1 ? 0x40 : 0) | op));
    if (n < 126) {
        o.push_back(char(0x80 | n));
    } else if (n < 65536) {
        o.push_back(char(0x80 | 126));
        o.push_back(char(n >> 8));
        o.push_back(char(n & 0xff));
    } else {
        o.push_back(char(0x80 | 127));
        for (int i = 7; i >= 0; --i) o.push_back(char((std::uint64_t(n) >> (8 * i)) & 0xff));
    }
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    const unsigned char key[4] = {std::uint8_t(rng), std::uint8_t(rng >> 8),
                                  std::uint8_t(rng >> 16), std::uint8_t(rng >> 24)};
    o.append(reinterpret_cast<const char*>(key), 4);
    const std::size_t at = o.size();
    o += payload;
    for (std::size_t i = 0; i < n; ++i) o[at + i] = char(o[at + i] ^ char(key[i & 3]));
}

std::string compress(Conn& c, std::string_view m) {
    std::string out(deflateBound(&c.def, uLong(m.size())) + 16, '\0');
    c.def.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(m.data()));
    c.def.avail_in = uInt(m.size());
    c.def.next_out = reinterpret_cast<Bytef*>(&out[0]);
    c.def.avail_out = uInt(out.size());
    if (deflate(&c.def, Z_SYNC_FLUSH) != Z_OK) die("deflate");
    out.resize(out.size() - c.def.avail_out - 4);   // §7.2.1: the 00 00 FF FF tail
    if (c.reset_def) deflateReset(&c.def);
    return out;
}

std::string inflate_msg(Conn& c, std::string_view p) {
    std::string in = std::string(p) + std::string("\0\0\xff\xff", 4), out(1 << 16, '\0');
    c.inf.next_in = reinterpret_cast<Bytef*>(&in[0]);
    c.inf.avail_in = uInt(in.size());
    c.inf.next_out = reinterpret_cast<Bytef*>(&out[0]);
    c.inf.avail_out = uInt(out.size());
    const int r = inflate(&c.inf, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_STREAM_END) die("conn %d: inflate failed (%d)", c.id, r);
    out.resize(out.size() - c.inf.avail_out);
    return out;
}

void send_message(Conn& c, const std::string& m) {
    if (c.deflate) queue_frame(c, 1, compress(c, m), true);
    else queue_frame(c, 1, m, false);
    flush(c);
}

void start_measuring_if_due() {
    if (!measuring && !done_measuring && mono() >= t_measure) {
        measuring = true;
        cpu0 = cpu_self();
        scpu0 = cpu_server();
    }
}

void on_data_message(Conn& c, std::string_view payload, bool rsv1, std::size_t wire) {
    if (measuring) {
        ++msgs_measured;
        bytes_measured += wire;
        payload_measured += payload.size();
    }
    const std::uint64_t seq = c.data++;
    if (c.id == 0) {   // the checking connection
        const std::string m = rsv1 ? inflate_msg(c, payload) : std::string(payload);
        if (m != message(seq))
            die("conn 0: message %llu is not what was sent (%zu bytes: %.40s)",
                static_cast<unsigned long long>(seq), m.size(), m.c_str());
    }
    if (opt.mode == "fanout") {
        if (++got[seq % std::uint64_t(opt.window)] == std::uint32_t(opt.subscribers)) {
            got[seq % std::uint64_t(opt.window)] = 0;
            ++pub_done;
            start_measuring_if_due();
            if (!done_measuring) {
                send_message(conns.back(), message(pub_sent++));
                ++published;
            }
        }
    } else if (opt.mode == "echo") {
        start_measuring_if_due();
        if (!done_measuring) {
            send_message(c, message(c.sent++));
            ++published;
        }
    }
}

std::uint64_t probes_seen = 0, last_seen = 0;   // fanout: subscribers that saw a/the last probe

/// Handles the whole frames in [data, data + n); returns the bytes used (the rest is an
/// unfinished frame).
std::size_t on_input(Conn& c, const char* data, std::size_t n) {
    std::size_t off = 0;
    for (;;) {
        const std::size_t avail = n - off;
        if (avail < 2) break;
        const auto* h = reinterpret_cast<const unsigned char*>(data + off);
        std::uint64_t len = h[1] & 0x7f;
        std::size_t hl = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = std::uint64_t(h[2]) << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (avail < hl + len) break;
        const unsigned op = h[0] & 0x0f;
        const bool rsv1 = (h[0] & 0x40) != 0;
        const std::string_view payload(data + off + hl, std::size_t(len));
        off += hl + std::size_t(len);
        if (!(h[0] & 0x80)) die("conn %d: fragmented frame (not expected here)", c.id);
        if (op == 8) die("conn %d: the server closed (%zu bytes)", c.id, payload.size());
        if (op == 9) {
            queue_frame(c, 10, payload, false);
            flush(c);
            continue;
        }
        if (op >= 8) continue;
        if (rsv1 && !c.deflate) die("conn %d: RSV1 without negotiation", c.id);
        if (opt.mode == "fanout" && !rsv1 && !payload.empty() && payload[0] == 'p') {
            if (payload == "p-last") {
                if (!c.last_probe) ++last_seen;
                c.last_probe = true;
            } else if (c.probes++ == 0) {
                ++probes_seen;
            }
            continue;
        }
        on_data_message(c, payload, rsv1, hl + std::size_t(len));
    }
    return off;
}

addrinfo* target = nullptr;

void connect_one(Conn& c, const std::string& path, bool offer) {
    c.fd = ::socket(target->ai_family, SOCK_STREAM, 0);
    if (c.fd < 0) die("socket: %s", std::strerror(errno));
    if (::connect(c.fd, target->ai_addr, target->ai_addrlen) != 0)
        die("connect: %s", std::strerror(errno));
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: " + opt.host +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (offer) req += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    req += "\r\n";
    if (::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size()))
        die("send handshake");
}

/// Blocking read of the 101; then the socket turns non-blocking and joins the epoll set.
void finish_handshake(Conn& c, bool offered) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0) die("conn %d: handshake: %s", c.id, n == 0 ? "closed" : std::strerror(errno));
        head.append(buf, std::size_t(n));
    }
    const std::size_t end = head.find("\r\n\r\n") + 4;
    if (head.rfind("HTTP/1.1 101", 0) != 0) die("conn %d: not 101: %.60s", c.id, head.c_str());
    c.pending = head.substr(end);
    const bool agreed = head.find("permessage-deflate") != std::string::npos;
    if (offered && !agreed) die("conn %d: permessage-deflate was not agreed", c.id);
    c.deflate = agreed;
    if (agreed) {
        // Our compressor keeps its window unless the answer forbids it; our decompressor always
        // can (a message made without context decodes with any window behind it).
        deflateInit2(&c.def, opt.level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        inflateInit2(&c.inf, -15);
        c.reset_def = head.find("client_no_context_takeover") != std::string::npos;
    }
    c.open = true;
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll_ctl: %s", std::strerror(errno));
}

/// Opens connections [from, to) on `path` (at most 256 handshakes in flight).
void open_range(int from, int to, const std::string& path, bool offer, bool publisher = false) {
    for (int i = from; i < to; i += 256) {
        const int end = i + 256 < to ? i + 256 : to;
        for (int k = i; k < end; ++k) {
            conns[std::size_t(k)].id = k;
            conns[std::size_t(k)].publisher = publisher;
            connect_one(conns[std::size_t(k)], path, offer);
        }
        for (int k = i; k < end; ++k) finish_handshake(conns[std::size_t(k)], offer);
    }
}

char rbuf[1 << 18];

void read_ready(Conn& c) {
    for (;;) {
        // Frames are handled where they were read; only an unfinished one is kept (copied).
        std::size_t have = c.pending.size();
        if (have > sizeof rbuf / 2) die("conn %d: a frame over 128 KiB", c.id);
        std::memcpy(rbuf, c.pending.data(), have);
        const ssize_t n = ::recv(c.fd, rbuf + have, sizeof rbuf - have, 0);
        if (n > 0) {
            have += std::size_t(n);
            const std::size_t used = on_input(c, rbuf, have);
            c.pending.assign(rbuf + used, have - used);
            if (std::size_t(n) < sizeof rbuf - c.pending.size() - 1) break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        die("conn %d: recv: %s", c.id, n == 0 ? "closed by the server" : std::strerror(errno));
    }
}

/// Runs the loop until `until()` or `deadline` (then dies naming `what`).
template <class F>
void run_until(F&& until, double deadline, const char* what) {
    epoll_event evs[256];
    while (!until()) {
        if (mono() > deadline) die("timed out: %s", what);
        const int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; ++i) {
            Conn& c = *static_cast<Conn*>(evs[i].data.ptr);
            if (evs[i].events & EPOLLOUT) flush(c);
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_ready(c);
        }
    }
}

void report() {
    const double secs = t_end - t_measure;
    const double cpu = (cpu_self() - cpu0) / secs;
    std::printf(
        "msgs/s %.0f bytes_per_msg %.1f payload_bytes_per_msg %.1f seconds %.2f client_cpu %.2f",
        double(msgs_measured) / secs,
        double(bytes_measured) / double(msgs_measured ? msgs_measured : 1),
        double(payload_measured) / double(msgs_measured ? msgs_measured : 1), secs, cpu);
    if (opt.server_pid) std::printf(" server_cpu %.2f", (cpu_server() - scpu0) / secs);
    std::printf(" published %llu\n", static_cast<unsigned long long>(published));
    std::fflush(stdout);
}

void measure_phase() {
    t_measure = mono() + opt.warmup;
    const double stop = t_measure + opt.seconds;
    run_until(
        [&] {
            if (measuring && mono() >= stop) {
                measuring = false;
                done_measuring = true;
                t_end = mono();
                return true;
            }
            return false;
        },
        stop + 30, "the measurement (stalled?)");
    report();
}

void fanout() {
    if (opt.path.empty()) opt.path = "/_chat";
    conns.resize(std::size_t(opt.subscribers) + 1);
    got.assign(std::size_t(opt.window), 0);
    open_range(0, opt.subscribers, opt.path, opt.deflate);
    open_range(opt.subscribers, opt.subscribers + 1, opt.path, false, true);
    Conn& pub = conns.back();
    // Subscription barrier: probes ("p", short, so never compressed) every 20 ms until every
    // subscriber has seen one (so all are subscribed), then a last probe that every subscriber
    // must see before the data starts (so no probe is in flight behind the data).
    double next_probe = 0;
    run_until(
        [&] {
            if (probes_seen >= std::uint64_t(opt.subscribers)) return true;
            if (mono() >= next_probe) {
                queue_frame(pub, 1, "p", false);
                flush(pub);
                next_probe = mono() + 0.02;
            }
            return false;
        },
        mono() + 60, "every subscriber's first probe");
    queue_frame(pub, 1, "p-last", false);
    flush(pub);
    run_until([&] { return last_seen >= std::uint64_t(opt.subscribers); }, mono() + 30,
              "the last probe");
    for (int i = 0; i < opt.window; ++i) {
        send_message(pub, message(pub_sent++));
        ++published;
    }
    measure_phase();
}

void echo() {
    if (opt.path.empty()) opt.path = "/_ws";
    conns.resize(std::size_t(opt.connections));
    open_range(0, opt.connections, opt.path, opt.deflate);
    for (Conn& c : conns)
        for (int i = 0; i < opt.window; ++i) {
            send_message(c, message(c.sent++));
            ++published;
        }
    measure_phase();
}

void idle() {
    if (opt.path.empty()) opt.path = "/_ws";
    if (opt.steps.empty()) die("idle needs --steps N[,N...]");
    conns.resize(std::size_t(opt.steps.back()));
    int have = 0;
    for (int step : opt.steps) {
        open_range(have, step, opt.path, opt.deflate);
        if (opt.touch) {
            for (int k = have; k < step; ++k)
                send_message(conns[std::size_t(k)], message(std::uint64_t(k)));
            std::uint64_t want = std::uint64_t(step);
            run_until(
                [&] {
                    std::uint64_t n = 0;
                    for (int k = 0; k < step; ++k) n += conns[std::size_t(k)].data;
                    return n >= want;
                },
                mono() + 120, "the touch replies");
            for (int k = have; k < step; ++k) conns[std::size_t(k)].data = 1;
        }
        have = step;
        std::printf("ready %d\n", step);
        std::fflush(stdout);
        std::string line;
        if (!std::getline(std::cin, line)) break;
    }
    std::string line;
    while (std::getline(std::cin, line)) {}
}

}   // namespace

int main(int argc, char** argv) {
    if (argc < 2) die("usage: deflate_load fanout|echo|idle --port P [options] (see the source)");
    opt.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die("%s needs a value", a.c_str());
            return argv[++i];
        };
        if (a == "--host") opt.host = val();
        else if (a == "--port") opt.port = val();
        else if (a == "--path") opt.path = val();
        else if (a == "--subscribers") opt.subscribers = std::atoi(val().c_str());
        else if (a == "--connections") opt.connections = std::atoi(val().c_str());
        else if (a == "--window") opt.window = std::atoi(val().c_str());
        else if (a == "--level") opt.level = std::atoi(val().c_str());
        else if (a == "--seconds") opt.seconds = std::atof(val().c_str());
        else if (a == "--warmup") opt.warmup = std::atof(val().c_str());
        else if (a == "--size") opt.size = std::size_t(std::atol(val().c_str()));
        else if (a == "--server-pid") opt.server_pid = std::atol(val().c_str());
        else if (a == "--deflate") opt.deflate = true;
        else if (a == "--touch") opt.touch = true;
        else if (a == "--steps") {
            const std::string v = val();
            for (std::size_t at = 0; at < v.size();) {
                std::size_t comma = v.find(',', at);
                if (comma == std::string::npos) comma = v.size();
                opt.steps.push_back(std::atoi(v.substr(at, comma - at).c_str()));
                at = comma + 1;
            }
        } else die("unknown argument %s", a.c_str());
    }
    if (opt.port.empty()) die("--port is required");
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(opt.host.c_str(), opt.port.c_str(), &hints, &target) != 0)
        die("cannot resolve");
    ep = epoll_create1(0);
    make_templates();
    if (opt.mode == "fanout") fanout();
    else if (opt.mode == "echo") echo();
    else if (opt.mode == "idle") idle();
    else die("unknown mode %s", opt.mode.c_str());
    return 0;
}
