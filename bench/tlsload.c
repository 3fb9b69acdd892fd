// SPDX-License-Identifier: MIT
// tlsload — a WebSocket load generator that speaks plain TCP or TLS (OpenSSL), for measuring a
// server's TLS cost next to its plain cost with the same client. Single-threaded, epoll, C11.
// It follows the contract of the shared kit's generator (../shared/bench/README.md): echo keeps
// D masked frames of S bytes in flight per connection and counts an echo only when the whole
// message came back with its opcode, length and bytes; fanout keeps D publications of S bytes
// in flight from one publisher on /_chat to K subscribers and counts deliveries, a publication
// being complete when every subscriber has it, in order; idle holds C upgraded connections.
//
//   tlsload echo   [-T] -c 100 -d 16 -s 16 [-b] -t 5 -w 2 -p PORT [-P SERVER_PID]
//   tlsload fanout [-T] -k 1000 -d 16 -s 64 -t 5 -w 2 -p PORT [-P SERVER_PID]
//   tlsload idle   [-T] -c 10000 -t 5 -p PORT        (prints "ready N" once all are open)
//
// -T: TLS (no certificate check: the server is the one under test; ALPN http/1.1).
// -P: the server's pid; its CPU time (utime + stime) over the measured window is reported.
// The last stdout line is JSON: msgs_per_s, MiB_per_s, server_cpu_s, server_cpu_s_per_M.
// Any validation failure prints the reason on stderr and exits with status 2.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum { MODE_ECHO, MODE_FANOUT, MODE_IDLE };

typedef struct {
    int fd;
    SSL* ssl;
    char* rx;   // received, not yet parsed
    size_t rx_len, rx_cap;
    char* tx;   // to send, not yet taken by the socket / SSL
    size_t tx_off, tx_len, tx_cap;
    int want_out;        // EPOLLOUT armed
    uint64_t received;   // messages received (fanout: this subscriber's count)
    int in_flight;       // echo: frames sent, not yet echoed
} Conn;

static int mode, use_tls, binary, conns = 100, depth = 16, subs = 1000, seconds = 5, warmup = 2;
static size_t size = 16;
static int port = 9001, server_pid = 0;
static const char* host = "127.0.0.1";
static SSL_CTX* ctx;
static int ep;
static Conn* all;
static int nall;
static char* frame;   // one masked client frame of `size` bytes (echo)
static size_t frame_len;
static char* payload;   // its payload, unmasked (what must come back)
static int measuring;
static uint64_t counted;   // messages counted in the window
static uint64_t bytes_counted;
// fanout
static uint64_t published, completed;
static uint32_t* got_by;   // per publication slot: subscribers that have it
static size_t window;

static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlsload: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    printf("{\"error\": \"validation or I/O failure\"}\n");
    exit(2);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double server_cpu(void) {
    if (!server_pid) return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
    FILE* f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char* p = strrchr(buf, ')');   // fields after the command name
    if (!p) return 0;
    unsigned long utime = 0, stime = 0;
    // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void grow(char** buf, size_t* cap, size_t need) {
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    *buf = realloc(*buf, c);
    if (!*buf) die("out of memory");
    *cap = c;
}

/// A masked client frame (RFC 6455 §5.2) of `n` payload bytes into `out`.
static size_t client_frame(char* out, int opcode, const char* p, size_t n) {
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = (char)(0x80 | opcode);
    if (n < 126) {
        out[h++] = (char)(0x80 | n);
    } else if (n < 65536) {
        out[h++] = (char)(0x80 | 126);
        out[h++] = (char)(n >> 8);
        out[h++] = (char)n;
    } else {
        out[h++] = (char)(0x80 | 127);
        for (int i = 7; i >= 0; --i) out[h++] = (char)((uint64_t)n >> (8 * i));
    }
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < n; ++i) out[h + i] = (char)(p[i] ^ key[i & 3]);
    return h + n;
}

// ---- I/O, plain or TLS ----
static ssize_t conn_read(Conn* c, char* p, size_t n) {
    if (!c->ssl) {
        ssize_t r = read(c->fd, p, n);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
        return r;
    }
    size_t got = 0;
    if (SSL_read_ex(c->ssl, p, n, &got) == 1) return (ssize_t)got;
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    return -1;
}

static ssize_t conn_write(Conn* c, const char* p, size_t n) {
    if (!c->ssl) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
        return r;
    }
    size_t put = 0;
    if (SSL_write_ex(c->ssl, p, n, &put) == 1) return (ssize_t)put;
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
    return -1;
}

static void arm(Conn* c, int out) {
    if (c->want_out == out) return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

/// Writes what waits; what the socket does not take stays for EPOLLOUT.
static void flush(Conn* c) {
    while (c->tx_off < c->tx_len) {
        // SSL_write is given at most 256 KiB at a time (partial writes are on).
        size_t n = c->tx_len - c->tx_off;
        if (n > 262144) n = 262144;
        ssize_t r = conn_write(c, c->tx + c->tx_off, n);
        if (r == -2) break;
        if (r <= 0) die("write failed: %s", strerror(errno));
        c->tx_off += (size_t)r;
    }
    if (c->tx_off == c->tx_len) c->tx_off = c->tx_len = 0;
    arm(c, c->tx_len != 0);
}

static void queue(Conn* c, const char* p, size_t n) {
    if (c->tx_off > 0 && c->tx_off == c->tx_len) c->tx_off = c->tx_len = 0;
    grow(&c->tx, &c->tx_cap, c->tx_len + n);
    memcpy(c->tx + c->tx_len, p, n);
    c->tx_len += n;
}

// ---- set-up: connect, TLS, upgrade (blocking, with a deadline, before the run) ----
static void wait_io(int fd, int out) {
    struct pollfd p = {.fd = fd, .events = (short)(out ? POLLOUT : POLLIN)};
    if (poll(&p, 1, 20000) <= 0) die("set-up timed out");
}

static void open_conn(Conn* c, const char* path) {
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket: %s (raise ulimit -n)", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(c->fd, (struct sockaddr*)&a, sizeof a) != 0) die("connect: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    if (use_tls) {
        c->ssl = SSL_new(ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        for (;;) {
            int r = SSL_connect(c->ssl);
            if (r == 1) break;
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ERR_print_errors_fp(stderr);
                die("TLS handshake failed");
            }
            wait_io(c->fd, e == SSL_ERROR_WANT_WRITE);
        }
    }
    char req[512];
    int n = snprintf(
        req, sizeof req,
        "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        path);
    queue(c, req, (size_t)n);
    while (c->tx_len) {
        ssize_t r = conn_write(c, c->tx + c->tx_off, c->tx_len - c->tx_off);
        if (r == -2) wait_io(c->fd, 1);
        else if (r <= 0) die("upgrade write failed");
        else if ((c->tx_off += (size_t)r) == c->tx_len) c->tx_off = c->tx_len = 0;
    }
    for (;;) {
        grow(&c->rx, &c->rx_cap, c->rx_len + 4096);
        ssize_t r = conn_read(c, c->rx + c->rx_len, c->rx_cap - c->rx_len);
        if (r == -2) {
            wait_io(c->fd, 0);
            continue;
        }
        if (r <= 0) die("upgrade: connection closed");
        c->rx_len += (size_t)r;
        char* end = memmem(c->rx, c->rx_len, "\r\n\r\n", 4);
        if (!end) continue;
        // RFC 6455 §1.3: the sample key's accept value.
        if (strncmp(c->rx, "HTTP/1.1 101", 12) != 0 ||
            !memmem(c->rx, (size_t)(end - c->rx), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28))
            die("upgrade refused: %.*s", (int)(end - c->rx), c->rx);
        size_t head = (size_t)(end - c->rx) + 4;
        memmove(c->rx, c->rx + head, c->rx_len - head);
        c->rx_len -= head;
        break;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

// ---- frames in ----
static void on_message(Conn* c, int opcode, const char* p, size_t n);

static void parse(Conn* c) {
    size_t off = 0;
    for (;;) {
        size_t avail = c->rx_len - off;
        if (avail < 2) break;
        const unsigned char* b = (const unsigned char*)c->rx + off;
        if (b[0] & 0x70) die("RSV bits set");
        if (!(b[0] & 0x80)) die("fragmented message (not expected from this server)");
        if (b[1] & 0x80) die("masked server frame");
        size_t h = 2;
        uint64_t len = b[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)b[2] << 8 | b[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = len << 8 | b[2 + i];
            h = 10;
        }
        if (avail < h + len) {
            grow(&c->rx, &c->rx_cap, off + h + len);   // room for the whole frame
            break;
        }
        int op = b[0] & 0x0f;
        if (op == 8)
            die("the server closed the WebSocket (code %d)", len >= 2 ? (b[h] << 8 | b[h + 1]) : 0);
        if (op != 9 && op != 10) on_message(c, op, c->rx + off + h, (size_t)len);
        off += h + (size_t)len;
    }
    if (off) {
        memmove(c->rx, c->rx + off, c->rx_len - off);
        c->rx_len -= off;
    }
}

static void publish_more(void);

static void on_message(Conn* c, int opcode, const char* p, size_t n) {
    const int want = binary ? 2 : 1;
    if (opcode != want) die("opcode %d, expected %d", opcode, want);
    if (n != size) die("length %zu, expected %zu", n, size);
    if (mode == MODE_ECHO) {
        if (c->in_flight <= 0) die("more echoes than messages sent");
        if (memcmp(p, payload, n) != 0) die("echoed bytes differ");
        --c->in_flight;
        if (measuring) {
            ++counted;
            bytes_counted += n;
        }
        queue(c, frame, frame_len);
        ++c->in_flight;
        return;
    }
    // fanout: publication number c->received, in order (16 hex digits lead: text stays UTF-8).
    char hex[17];
    memcpy(hex, p, 16);
    hex[16] = 0;
    const uint64_t seq = strtoull(hex, NULL, 16);
    if (seq != c->received)
        die("subscriber got publication %llu, expected %llu", (unsigned long long)seq,
            (unsigned long long)c->received);
    if (memcmp(p + 16, payload + 16, n - 16) != 0) die("published bytes differ");
    ++c->received;
    if (measuring) {
        ++counted;
        bytes_counted += n;
    }
    if (++got_by[seq % window] == (uint32_t)subs) {
        got_by[seq % window] = 0;
        if (seq != completed) die("publications completed out of order");
        ++completed;
        publish_more();
    }
}

static void publish_more(void) {
    Conn* pub = &all[0];
    while (published - completed < (uint64_t)depth) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)published);
        memcpy(payload, hex, 16);
        size_t n = client_frame(frame, binary ? 2 : 1, payload, size);
        queue(pub, frame, n);
        ++published;
    }
}

static void on_event(Conn* c, uint32_t events) {
    if (events & EPOLLIN) {
        // One read per event (epoll is level-triggered: a socket with more is reported
        // again); over TLS, on while read-ahead records wait in the SSL.
        do {
            grow(&c->rx, &c->rx_cap, c->rx_len + 65536);
            ssize_t r = conn_read(c, c->rx + c->rx_len, c->rx_cap - c->rx_len);
            if (r == -2) break;
            if (r <= 0) die("connection closed by the server");
            c->rx_len += (size_t)r;
            parse(c);
        } while (c->ssl && SSL_has_pending(c->ssl));
    }
    if ((events & EPOLLOUT) || c->tx_len) flush(c);
}

static void usage(void) {
    fprintf(stderr,
            "usage: tlsload echo|fanout|idle [-T] [-c N] [-k K] [-d D] [-s BYTES] [-b] [-t S] "
            "[-w S] [-h HOST] [-p PORT] [-P SERVER_PID]\n");
    exit(1);
}

int main(int argc, char** argv) {
    if (argc < 2) usage();
    if (!strcmp(argv[1], "echo")) mode = MODE_ECHO;
    else if (!strcmp(argv[1], "fanout")) mode = MODE_FANOUT;
    else if (!strcmp(argv[1], "idle")) mode = MODE_IDLE;
    else usage();
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "Tc:k:d:s:bt:w:h:p:P:")) != -1) {
        switch (opt) {
            case 'T':
                use_tls = 1;
                break;
            case 'c':
                conns = atoi(optarg);
                break;
            case 'k':
                subs = atoi(optarg);
                break;
            case 'd':
                depth = atoi(optarg);
                break;
            case 's':
                size = (size_t)strtoull(optarg, NULL, 10);
                break;
            case 'b':
                binary = 1;
                break;
            case 't':
                seconds = atoi(optarg);
                break;
            case 'w':
                warmup = atoi(optarg);
                break;
            case 'h':
                host = optarg;
                break;
            case 'p':
                port = atoi(optarg);
                break;
            case 'P':
                server_pid = atoi(optarg);
                break;
            default:
                usage();
        }
    }
    if (mode == MODE_FANOUT && size < 16) die("fanout needs -s >= 16 (a sequence number leads)");
    if (use_tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_read_ahead(ctx, 1);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
        static const unsigned char alpn[] = "\x08http/1.1";
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    }
    ep = epoll_create1(0);
    payload = malloc(size + 8);
    frame = malloc(size + 16);
    for (size_t i = 0; i < size; ++i) payload[i] = (char)('a' + i % 26);
    frame_len = client_frame(frame, binary ? 2 : 1, payload, size);

    nall = mode == MODE_FANOUT ? subs + 1 : conns;
    all = calloc((size_t)nall, sizeof *all);
    const double t_open = now();
    for (int i = 0; i < nall; ++i)
        open_conn(&all[i], mode == MODE_ECHO ? "/_ws" : mode == MODE_FANOUT ? "/_chat" : "/_ws");
    const double open_s = now() - t_open;
    if (mode == MODE_IDLE) {
        printf("ready %d\n", nall);
        fflush(stdout);
        const double end = now() + seconds;
        struct epoll_event evs[64];
        while (now() < end) {
            int n = epoll_wait(ep, evs, 64, 100);
            for (int i = 0; i < n; ++i) on_event(evs[i].data.ptr, evs[i].events);
        }
        printf("{\"mode\": \"idle\", \"tls\": %d, \"conns\": %d, \"open_s\": %.3f}\n", use_tls,
               nall, open_s);
        return 0;
    }
    if (mode == MODE_ECHO) {
        for (int i = 0; i < nall; ++i) {
            for (int k = 0; k < depth; ++k) queue(&all[i], frame, frame_len);
            all[i].in_flight = depth;
            flush(&all[i]);
        }
    } else {
        // Subscribers are registered when their upgrade completed; the publisher is all[0].
        window = (size_t)depth * 2;
        got_by = calloc(window, sizeof *got_by);
        publish_more();
        flush(&all[0]);
    }
    const double t0 = now(), t_measure = t0 + warmup, t_end = t_measure + seconds;
    double cpu0 = 0, m0 = 0;
    static struct epoll_event evs[1024];
    for (;;) {
        const double t = now();
        if (!measuring && t >= t_measure) {
            measuring = 1;
            m0 = t;
            cpu0 = server_cpu();
        }
        if (t >= t_end) break;
        int n = epoll_wait(ep, evs, 1024, 50);
        for (int i = 0; i < n; ++i) on_event(evs[i].data.ptr, evs[i].events);
        if (mode == MODE_FANOUT && all[0].tx_len) flush(&all[0]);
    }
    const double wall = now() - m0, cpu = server_cpu() - cpu0;
    const double rate = (double)counted / wall;
    printf(
        "{\"mode\": \"%s\", \"tls\": %d, \"conns\": %d, \"depth\": %d, \"size\": %zu, \"seconds\": %.3f, "
        "\"msgs_per_s\": %.0f, \"MiB_per_s\": %.2f, \"server_cpu_s\": %.3f, \"server_cpu_s_per_M\": %.3f}\n",
        mode == MODE_ECHO ? "echo" : "fanout", use_tls, nall, depth, size, wall, rate,
        (double)bytes_counted / wall / 1048576.0, cpu,
        counted ? cpu / ((double)counted / 1e6) : 0.0);
    return 0;
}
