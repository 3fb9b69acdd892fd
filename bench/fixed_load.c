// fixed_load — a fixed amount of HTTP or WebSocket echo work against one server, for
// instruction counts (valgrind --tool=callgrind) and syscall counts (strace -c) per request,
// which unlike a timed run do not depend on how fast the machine is (bench/README.md,
// "Work per request"). POSIX only; one thread, poll() over the connections.
//
//   fixed_load http PORT CONNS DEPTH TOTAL   TOTAL requests `GET / HTTP/1.1` with a Host field
//                                            (wrk's form), DEPTH in flight per connection
//                                            written at once (1: keep-alive; 16: wrk's
//                                            pipeline.lua), spread over CONNS connections
//   fixed_load ws PORT CONNS SIZE TOTAL      TOTAL masked binary messages of SIZE (< 256 KiB) bytes to /_ws,
//                                            one in flight per connection, each echo awaited
//   fixed_load ws-text PORT CONNS SIZE TOTAL the same with text messages (ASCII, as the kit's
//                                            wsload sends by default)
//
// Exits 0 after every response arrived, printing `done N`; 1 on any error.
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 1024

typedef struct {
    int fd;
    long left;           // requests still to send on this connection
    long owed;           // responses still expected for what was sent
    size_t have;         // bytes buffered in buf
    char buf[1 << 18];   // one echo of up to 256 KiB
} Conn;

static Conn* conns;
static size_t resp_size;   // bytes of one HTTP response (all are alike), or one echo frame

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

// Size of the first complete HTTP response in b[0..n), or 0 if not complete yet.
static size_t http_response_size(const char* b, size_t n) {
    const char* end = NULL;
    for (size_t i = 3; i < n; ++i)
        if (b[i - 3] == '\r' && b[i - 2] == '\n' && b[i - 1] == '\r' && b[i] == '\n') {
            end = b + i + 1;
            break;
        }
    if (!end) return 0;
    const char* cl = strstr(b, "Content-Length: ");
    size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
    size_t total = (size_t)(end - b) + body;
    return total <= n ? total : 0;
}

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: fixed_load http|ws|ws-text PORT CONNS DEPTH|SIZE TOTAL\n");
        return 2;
    }
    const int text = strcmp(argv[1], "ws-text") == 0;
    const int ws = text || strcmp(argv[1], "ws") == 0;
    const int port = atoi(argv[2]);
    int nconn = atoi(argv[3]);
    const long arg = atol(argv[4]);
    const long total = atol(argv[5]);
    if (nconn < 1 || nconn > MAXC || arg < 1) return 2;
    const long depth = ws ? 1 : arg;
    conns = calloc((size_t)nconn, sizeof(Conn));

    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    char one_req[128];
    int one_len = snprintf(one_req, sizeof one_req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    char* batch = malloc((size_t)(one_len * depth) + 1);
    for (long i = 0; i < depth; ++i) memcpy(batch + i * one_len, one_req, (size_t)one_len);
    // One masked binary (or text) frame of `arg` bytes (mask 0: the payload goes as it is).
    char* frame = NULL;
    size_t frame_len = 0;
    if (ws) {
        frame = calloc(1, (size_t)arg + 14);
        frame[0] = (char)(text ? 0x81 : 0x82);
        size_t h = 2;
        if (arg < 126) {
            frame[1] = (char)(0x80 | arg);
        } else if (arg < 65536) {
            frame[1] = (char)(0x80 | 126);
            frame[2] = (char)(arg >> 8);
            frame[3] = (char)(arg & 0xff);
            h = 4;
        } else {
            frame[1] = (char)(0x80 | 127);
            for (int b = 0; b < 8; ++b)
                frame[2 + b] = (char)(((unsigned long long)arg >> (56 - 8 * b)) & 0xff);
            h = 10;
        }
        memset(frame + h, 0, 4);   // mask key
        memset(frame + h + 4, 'x', (size_t)arg);
        frame_len = h + 4 + (size_t)arg;
        resp_size = (arg < 126 ? 2 : arg < 65536 ? 4 : 10) + (size_t)arg;
    }

    long per = total / nconn, extra = total % nconn;
    for (int i = 0; i < nconn; ++i) {
        Conn* c = &conns[i];
        c->fd = dial(port);
        c->left = per + (i < extra ? 1 : 0);
        if (ws) {
            char up[512];
            int n =
                snprintf(up, sizeof up,
                         "GET /_ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         host);
            write_all(c->fd, up, (size_t)n);
            size_t have = 0;
            for (;;) {   // the 101 head, alone (nothing is sent before it arrives)
                ssize_t r = read(c->fd, c->buf + have, sizeof c->buf - have - 1);
                if (r <= 0) {
                    perror("handshake");
                    return 1;
                }
                have += (size_t)r;
                c->buf[have] = 0;
                char* e = strstr(c->buf, "\r\n\r\n");
                if (e) {
                    if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) return 1;
                    have -= (size_t)(e + 4 - c->buf);
                    memmove(c->buf, e + 4, have);
                    break;
                }
            }
            c->have = have;
        }
    }

    struct pollfd* pf = calloc((size_t)nconn, sizeof(struct pollfd));
    long done = 0;
    // Start: every connection sends its first batch.
    for (int i = 0; i < nconn; ++i) {
        Conn* c = &conns[i];
        long k = c->left < depth ? c->left : depth;
        if (k == 0) continue;
        if (ws) write_all(c->fd, frame, frame_len);
        else write_all(c->fd, batch, (size_t)(k * one_len));
        c->left -= k;
        c->owed = k;
    }
    while (done < total) {
        int nf = 0;
        for (int i = 0; i < nconn; ++i) {
            pf[i].fd = conns[i].owed > 0 ? conns[i].fd : -1;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
            nf += conns[i].owed > 0;
        }
        if (nf == 0) break;
        if (poll(pf, (nfds_t)nconn, 10000) <= 0) {
            fprintf(stderr, "fixed_load: stalled at %ld of %ld\n", done, total);
            return 1;
        }
        for (int i = 0; i < nconn; ++i) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            Conn* c = &conns[i];
            ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have - 1);
            if (r <= 0) {
                fprintf(stderr, "fixed_load: connection %d ended at %ld of %ld\n", i, done, total);
                return 1;
            }
            c->have += (size_t)r;
            c->buf[c->have] = 0;
            if (!ws && resp_size == 0) resp_size = http_response_size(c->buf, c->have);
            size_t off = 0;
            while (resp_size && c->owed > 0 && c->have - off >= resp_size) {
                if (!ws && memcmp(c->buf + off, "HTTP/1.1 200", 12) != 0) {
                    fprintf(stderr, "fixed_load: unexpected response\n");
                    return 1;
                }
                off += resp_size;
                --c->owed;
                ++done;
            }
            memmove(c->buf, c->buf + off, c->have - off);
            c->have -= off;
            if (c->owed == 0 && c->left > 0) {
                long k = c->left < depth ? c->left : depth;
                if (ws) write_all(c->fd, frame, frame_len);
                else write_all(c->fd, batch, (size_t)(k * one_len));
                c->left -= k;
                c->owed = k;
            }
        }
    }
    for (int i = 0; i < nconn; ++i) close(conns[i].fd);
    printf("done %ld\n", done);
    return 0;
}
