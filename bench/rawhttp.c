/* rawhttp: the floor for the HTTP rows, the way the kit's rawecho is the floor for echo.
 *
 * One thread, one epoll set, connection sockets edge-triggered for life (as wisp's epoll engine),
 * TCP_NODELAY, one recv per readiness unless the buffer filled, every complete request head in
 * what was read answered with the same bytes bench/anchor sends for `GET /` (a Date header
 * refreshed once a second, text/plain, "Hello, World!"), all answers of one read in one send.
 * No parsing beyond finding "\r\n\r\n": it knows only GET without a body, which is all the
 * kit's HTTP rows send. What a server must spend per request in the kernel, with next to no
 * user-space work: the ceiling a real server's value per CPU-second is compared with.
 *
 *     cc -O2 -o build/rawhttp bench/rawhttp.c && build/rawhttp PORT
 *
 * Built with RAWHTTP_LLHTTP defined (meson builds both as rawhttp_llhttp and rawhttp_spans), it
 * parses every byte with llhttp, the project's HTTP parser, compiled as wisp links it (strict
 * mode), instead of looking for "\r\n\r\n": the floor for any server that must parse with llhttp.
 * RAWHTTP_LLHTTP=1 sets only on_message_complete (llhttp's state machine alone);
 * RAWHTTP_LLHTTP=2 also records the method, the URL and each field name and value the way
 * a server that routes and reads fields must at least (a span stored per callback, nothing else).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef RAWHTTP_LLHTTP
#include <llhttp.h>
#endif

enum { in_cap = 65536, out_cap = 1 << 20, max_events = 256 };

struct conn {
    int fd;
    size_t in_len;  /* bytes of an unfinished head kept from the last read */
    size_t out_len; /* answers not yet taken by the kernel */
    size_t out_off;
#ifdef RAWHTTP_LLHTTP
    llhttp_t parser;
#if RAWHTTP_LLHTTP == 2
    const char* span_at[4]; /* url, last field name, last field value, method */
    size_t span_len[4];
    unsigned fields;
#endif
#endif
    char in[in_cap];
    char out[out_cap];
};

static char response[256];
static size_t response_len;
static time_t response_second = -1;
static volatile sig_atomic_t stopping;

static void refresh_response(void) {
    time_t now = time(NULL);
    if (now == response_second) return;
    response_second = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    response_len = (size_t)snprintf(response, sizeof response,
                                    "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/plain; "
                                    "charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!",
                                    date);
}

static void close_conn(struct conn* c) {
    close(c->fd);
    free(c);
}

/* Sends what is queued; 0 when done or the kernel is full (EPOLLOUT will say), -1 on error. */
static int flush_out(struct conn* c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* Queues one answer; -1 when the output buffer is full. */
static int append_response(struct conn* c) {
    if (c->out_len + response_len > out_cap) return -1;
    memcpy(c->out + c->out_len, response, response_len);
    c->out_len += response_len;
    return 0;
}

#ifdef RAWHTTP_LLHTTP
static llhttp_settings_t settings;

static int on_message_complete(llhttp_t* p) {
    return append_response((struct conn*)p->data) < 0 ? -1 : 0;
}

#if RAWHTTP_LLHTTP == 2
static int record(llhttp_t* p, int which, const char* at, size_t len) {
    struct conn* c = (struct conn*)p->data;
    c->span_at[which] = at;
    c->span_len[which] = len;
    return 0;
}
static int on_url(llhttp_t* p, const char* at, size_t len) { return record(p, 0, at, len); }
static int on_field(llhttp_t* p, const char* at, size_t len) { return record(p, 1, at, len); }
static int on_value(llhttp_t* p, const char* at, size_t len) { return record(p, 2, at, len); }
static int on_method(llhttp_t* p, const char* at, size_t len) { return record(p, 3, at, len); }
static int on_value_complete(llhttp_t* p) {
    ++((struct conn*)p->data)->fields;
    return 0;
}
#endif

static void init_settings(void) {
    llhttp_settings_init(&settings);
    settings.on_message_complete = on_message_complete;
#if RAWHTTP_LLHTTP == 2
    settings.on_url = on_url;
    settings.on_header_field = on_field;
    settings.on_header_value = on_value;
    settings.on_method = on_method;
    settings.on_header_value_complete = on_value_complete;
#endif
}

/* Parses what was read; every complete request is answered from on_message_complete. */
static int answer(struct conn* c) {
    enum llhttp_errno err = llhttp_execute(&c->parser, c->in, c->in_len);
    c->in_len = 0;
    return err == HPE_OK ? 0 : -1;
}
#else
/* Answers every complete head in c->in; keeps an unfinished one. */
static int answer(struct conn* c) {
    size_t start = 0;
    for (;;) {
        char* end = memmem(c->in + start, c->in_len - start, "\r\n\r\n", 4);
        if (!end) break;
        if (append_response(c) < 0) return -1;
        start = (size_t)(end - c->in) + 4;
    }
    if (start == 0 && c->in_len == in_cap) return -1; /* a head larger than the buffer */
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    return 0;
}
#endif

static int on_readable(struct conn* c) {
    for (;;) {
        size_t room = in_cap - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        c->in_len += (size_t)n;
        if (answer(c) < 0) return -1;
        if ((size_t)n < room) break; /* drained: edge-triggered epoll will say when there is more */
    }
    return flush_out(c);
}

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
#ifdef RAWHTTP_LLHTTP
    init_settings();
#endif
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(lfd, 1024) < 0) {
        perror("rawhttp: bind/listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[max_events];
    while (!stopping) {
        int n = epoll_wait(ep, events, max_events, 1000);
        if (n < 0 && errno != EINTR) break;
        refresh_response();
        for (int i = 0; i < n; ++i) {
            struct conn* c = events[i].data.ptr;
            if (!c) {
                for (int k = 0; k < 64; ++k) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn* nc = malloc(sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    nc->in_len = nc->out_len = nc->out_off = 0;
#ifdef RAWHTTP_LLHTTP
                    llhttp_init(&nc->parser, HTTP_REQUEST, &settings);
                    nc->parser.data = nc;
#endif
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                              .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            int bad = (events[i].events & (EPOLLERR | EPOLLHUP)) != 0;
            if (!bad && (events[i].events & EPOLLOUT) && c->out_len) bad = flush_out(c) < 0;
            if (!bad && (events[i].events & (EPOLLIN | EPOLLRDHUP))) bad = on_readable(c) < 0;
            if (bad) close_conn(c);
        }
    }
    close(ep);
    close(lfd);
    return 0;
}
