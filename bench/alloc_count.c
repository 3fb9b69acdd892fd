/* alloc_count — an LD_PRELOAD library that counts heap allocations in a process (glibc only).
 *
 *   LD_PRELOAD=build/rel/bench/liballoc_count.so build/rel/bench/anchor 9001
 *
 * Counts calls to malloc, calloc, realloc, aligned allocation and free (operator new and delete
 * end there in libstdc++) and writes `alloc_count: allocations N frees N` to stderr when the
 * process exits, and on SIGUSR2 at any time (async-signal-safe: write(2) of a formatted
 * buffer). bench/README.md derives allocations per message from two runs of different
 * lengths. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static atomic_ulong allocations, frees;

void* malloc(size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
    void* p = memalign(a, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void free(void* p) {
    if (p) atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
    __libc_free(p);
}

static char* put_num(char* o, unsigned long v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *o++ = tmp[--n];
    return o;
}

static void report(void) {
    char buf[96], *o = buf;
    const char* a = "alloc_count: allocations ";
    const char* f = " frees ";
    memcpy(o, a, strlen(a));
    o += strlen(a);
    o = put_num(o, atomic_load(&allocations));
    memcpy(o, f, strlen(f));
    o += strlen(f);
    o = put_num(o, atomic_load(&frees));
    *o++ = '\n';
    ssize_t r = write(2, buf, (size_t)(o - buf));
    (void)r;
}

static void on_signal(int sig) {
    (void)sig;
    report();
}

__attribute__((constructor)) static void start(void) { signal(SIGUSR2, on_signal); }
__attribute__((destructor)) static void stop(void) { report(); }
