/* idle_conns — hold N idle WebSocket or SSE connections open against one server (memory tests).
 *
 *   idle_conns --port 9001 [--conns 10000] [--kind ws|sse] [--path P] [--per-source 10000]
 *              [--hold SECONDS] [--pending 256]
 *
 * One thread, POSIX sockets + epoll, no third-party code. The kit's `wsload idle` opens every
 * connection from 127.0.0.1, whose ~28k ephemeral ports cap it below 30k; this tool spreads the
 * connections over the loopback source addresses 127.0.0.1, 127.0.0.2, ... (--per-source each,
 * bound with IP_BIND_ADDRESS_NO_PORT so that the kernel still picks the port at connect), so 100k
 * connections use ten. 10,000 per address, not 28,000: with the port range nearly full (and ports
 * of earlier runs in TIME_WAIT) connect() searches long for a free one, 19,000 connections from
 * one address took 26 s to open against 2 s for 10,000. The server must listen on 127.0.0.1 or
 * 0.0.0.0.
 *
 * ws: the kit's handshake (GET --path, default /_ws; Host, Upgrade, Connection, Sec-WebSocket-Key,
 * Sec-WebSocket-Version: the same bytes as `wsload idle`), then the 101 is checked and the
 * connection stays silent; a ping from the server is answered with a pong, any other frame fails.
 * sse: `GET --path` (default /_sse) with Accept: text/event-stream, then a 200 is checked and
 * whatever the stream sends (comments, heartbeats) is read and dropped.
 *
 * When all N are open it prints `ready conns N open_s S` (stdout, flushed), then holds them for
 * --hold seconds (default: until stdin is closed or SIGTERM/SIGINT) and prints `done conns N`.
 * A refused, reset or closed connection, or a bad answer, prints an error and exits with 1.
 * RLIMIT_NOFILE is raised to N + 64 (the hard limit too, where allowed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { ST_CONNECTING, ST_HEAD, ST_OPEN };

typedef struct {
    int fd;
    uint8_t state;
    uint16_t head_len; /* bytes of the response head seen so far (to find its end) */
    uint32_t match;    /* last 4 bytes, to find "\r\n\r\n" across reads */
} conn;

static conn* conns;
static int nconns = 10000, per_source = 10000, max_pending = 256, port = 0, sse = 0;
static const char* path = NULL;
static double hold = -1;
static volatile sig_atomic_t stop_flag = 0;
static char request[512];
static size_t request_len;

static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "idle_conns: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void open_one(int ep, int i) {
    conn* c = &conns[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i / per_source));
    if (bind(fd, (struct sockaddr*)&src, sizeof src) < 0)
        die("bind 127.0.0.%d: %s", 1 + i / per_source, strerror(errno));
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(0x7f000001u);
    if (connect(fd, (struct sockaddr*)&dst, sizeof dst) < 0 && errno != EINPROGRESS)
        die("connect (conn %d): %s", i, strerror(errno));
    c->fd = fd;
    c->state = ST_CONNECTING;
    struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) die("epoll_ctl: %s", strerror(errno));
}

/* A WebSocket frame from the server on an idle connection: only pings (answered) are allowed. */
static void ws_frames(conn* c, int i, const uint8_t* p, size_t n) {
    while (n > 0) {
        if (n < 2) die("conn %d: split frame header (unexpected on an idle connection)", i);
        unsigned op = p[0] & 15u, len = p[1] & 127u;
        if (op != 9 || len > 125 || n < 2 + (size_t)len)
            die("conn %d: unexpected frame, opcode %u", i, op);
        uint8_t pong[2 + 4 + 125];
        pong[0] = 0x8a;
        pong[1] = (uint8_t)(0x80 | len);
        memset(pong + 2, 0, 4); /* mask key 0: the payload goes as it is */
        memcpy(pong + 6, p + 2, len);
        if (send(c->fd, pong, 6 + len, MSG_NOSIGNAL) != (ssize_t)(6 + len))
            die("conn %d: pong: %s", i, strerror(errno));
        p += 2 + len;
        n -= 2 + len;
    }
}

/* Returns 1 when the connection just became open. */
static int on_readable(conn* c, int i) {
    uint8_t buf[4096];
    int opened = 0;
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return opened;
            die("conn %d: recv: %s", i, strerror(errno));
        }
        if (r == 0) die("conn %d: closed by the server", i);
        size_t off = 0;
        if (c->state == ST_HEAD) {
            if (c->head_len < 12 && (size_t)c->head_len + (size_t)r >= 12) {
                /* "HTTP/1.1 101" or "HTTP/1.1 200": the status is in bytes 9-11 of the head */
                const char* want = sse ? "200" : "101";
                if (c->head_len > 0) die("conn %d: split status line (unexpected)", i);
                if (memcmp(buf + 9, want, 3) != 0)
                    die("conn %d: answer %.12s, expected %s", i, (const char*)buf, want);
            }
            while (off < (size_t)r && c->state == ST_HEAD) {
                c->match = (c->match << 8) | buf[off++];
                c->head_len++;
                if (c->match == 0x0d0a0d0au) {
                    c->state = ST_OPEN;
                    opened = 1;
                }
            }
        }
        if (off < (size_t)r && !sse) ws_frames(c, i, buf + off, (size_t)r - off);
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: idle_conns --port P [--conns N] [--kind ws|sse] [--path P] [--per-source N]\n"
            "                  [--hold SECONDS] [--pending N]\n");
    exit(2);
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (i + 1 >= argc) usage();
        const char* v = argv[++i];
        if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--conns")) nconns = atoi(v);
        else if (!strcmp(a, "--kind")) {
            if (!strcmp(v, "sse")) sse = 1;
            else if (strcmp(v, "ws")) usage();
        } else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--per-source")) per_source = atoi(v);
        else if (!strcmp(a, "--hold")) hold = atof(v);
        else if (!strcmp(a, "--pending")) max_pending = atoi(v);
        else usage();
    }
    if (port <= 0 || nconns < 1 || per_source < 1 || per_source > 28000 || max_pending < 1) usage();
    if (!path) path = sse ? "/_sse" : "/_ws";
    int n = sse ? snprintf(request, sizeof request,
                           "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
                           "Cache-Control: no-cache\r\n\r\n",
                           path, port)
                : snprintf(request, sizeof request,
                           "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n",
                           path, port);
    request_len = (size_t)n;

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)nconns + 64;
    if (rl.rlim_cur < want) {
        if (rl.rlim_max < want) rl.rlim_max = want; /* allowed for root, else the next line fails */
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            die("RLIMIT_NOFILE: %d connections need %llu: %s", nconns, (unsigned long long)want,
                strerror(errno));
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    conns = calloc((size_t)nconns, sizeof(conn));
    if (!conns) die("out of memory");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1: %s", strerror(errno));
    struct epoll_event in = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    if (hold < 0) epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in); /* stdin: EOF ends the hold */

    double t0 = now_s(), ready_at = 0;
    int next = 0, pending = 0, open = 0;
    struct epoll_event evs[512];
    while (!stop_flag) {
        while (next < nconns && pending < max_pending) {
            open_one(ep, next++);
            pending++;
        }
        int k = epoll_wait(ep, evs, 512, 100);
        if (k < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int e = 0; e < k; e++) {
            uint32_t i = evs[e].data.u32;
            if (i == UINT32_MAX) {
                char b[256];
                if (read(0, b, sizeof b) <= 0) stop_flag = 1;
                continue;
            }
            conn* c = &conns[i];
            if (evs[e].events & (EPOLLERR | EPOLLHUP)) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                die("conn %u: %s", i, err ? strerror(err) : "hangup");
            }
            if (c->state == ST_CONNECTING && (evs[e].events & EPOLLOUT)) {
                if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
                    die("conn %u: send request: %s", i, strerror(errno));
                c->state = ST_HEAD;
                struct epoll_event m = {.events = EPOLLIN, .data.u32 = i};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &m);
            }
            if (evs[e].events & EPOLLIN) {
                if (on_readable(c, (int)i)) {
                    pending--;
                    open++;
                }
            }
        }
        if (open == nconns && ready_at == 0) {
            ready_at = now_s();
            printf("ready conns %d open_s %.3f\n", nconns, ready_at - t0);
            fflush(stdout);
        }
        if (ready_at > 0 && hold >= 0 && now_s() - ready_at >= hold) break;
        if (ready_at == 0 && now_s() - t0 > 300)
            die("setup took over 300 s (%d of %d open)", open, nconns);
    }
    printf("done conns %d\n", open);
    return 0;
}
