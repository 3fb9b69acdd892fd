// send_cost — CPU time of one send() against one sendmsg() with a single iovec, each followed by
// the recv() that drains it, on a loopback TCP connection inside one process (Linux). The
// kernel's share of a keep-alive response is mostly these two calls, and on this VM no hardware
// counter can count kernel instructions, so this is timed: rounds alternate the two forms, and
// only their ratio means something on a busy machine (bench/README.md, "End to end").
//
//   cc -O2 -o build/send_cost bench/send_cost.c && build/send_cost
//
// Prints microseconds of CPU (user + system) per send+recv pair for each form, and their ratio.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
static double cpu(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6 + r.ru_utime.tv_sec +
           r.ru_utime.tv_usec / 1e6;
}
int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    bind(l, (void*)&a, sizeof a);
    listen(l, 1);
    socklen_t al = sizeof a;
    getsockname(l, (void*)&a, &al);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (void*)&a, sizeof a);
    int s = accept(l, 0, 0);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char msg[130];
    memset(msg, 'x', sizeof msg);
    char buf[4096];
    double tm = 0, ts = 0;
    const int N = 100000;
    for (int round = 0; round < 6; ++round) {
        for (int mode = 0; mode < 2; ++mode) {
            double t0 = cpu();
            for (int i = 0; i < N; ++i) {
                if (mode == 0) {
                    struct iovec v = {msg, sizeof msg};
                    struct msghdr m = {0};
                    m.msg_iov = &v;
                    m.msg_iovlen = 1;
                    sendmsg(s, &m, MSG_NOSIGNAL);
                } else send(s, msg, sizeof msg, MSG_NOSIGNAL);
                recv(c, buf, sizeof buf, 0);
            }
            double d = cpu() - t0;
            if (mode == 0) tm += d;
            else ts += d;
        }
    }
    printf("sendmsg+recv %.3f us/iter, send+recv %.3f us/iter, ratio %.3f\n", tm / (6.0 * N) * 1e6,
           ts / (6.0 * N) * 1e6, ts / tm);
}
