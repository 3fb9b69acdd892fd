/* live_chunks — an LD_PRELOAD library that keeps a histogram of a process's live heap chunks
 * (glibc only).
 *
 *   LD_PRELOAD=build/rel/bench/liblive_chunks.so build/rel/bench/anchor 9001
 *
 * Counts each live allocation under its chunk size (malloc_usable_size + the allocator's 8 B
 * header, in steps of 16 B; 8 KiB and over in one row) and writes `live_chunks: SIZE COUNT`
 * lines, then `live_chunks: end`, to stderr on SIGUSR2 (async-signal-safe: write(2) of
 * formatted buffers). Two dumps around opening N connections give the bytes each one keeps:
 * bench/live_chunks.py does that. */
#define _GNU_SOURCE
#include <malloc.h>
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

enum { rows = 512 };
static atomic_long live[rows + 1];

static void count(void* p, long d) {
    if (!p) return;
    size_t row = (malloc_usable_size(p) + 8) / 16;
    if (row > rows) row = rows;
    atomic_fetch_add_explicit(&live[row], d, memory_order_relaxed);
}

void* malloc(size_t n) {
    void* p = __libc_malloc(n);
    count(p, 1);
    return p;
}
void* calloc(size_t a, size_t b) {
    void* p = __libc_calloc(a, b);
    count(p, 1);
    return p;
}
void* realloc(void* q, size_t n) {
    count(q, -1);
    void* p = __libc_realloc(q, n);
    if (!p && q && n) count(q, 1); /* failed: q is still live */
    count(p, 1);
    return p;
}
void* memalign(size_t a, size_t n) {
    void* p = __libc_memalign(a, n);
    count(p, 1);
    return p;
}
void* aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
    void* p = memalign(a, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void free(void* p) {
    count(p, -1);
    __libc_free(p);
}

static char* put_num(char* o, long v) {
    char tmp[24];
    int n = 0;
    if (v < 0) {
        *o++ = '-';
        v = -v;
    }
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *o++ = tmp[--n];
    return o;
}

static void put(const char* b, size_t n) {
    ssize_t r = write(2, b, n);
    (void)r;
}

static void on_signal(int sig) {
    (void)sig;
    const char* tag = "live_chunks: ";
    for (int i = 0; i <= rows; ++i) {
        const long v = atomic_load_explicit(&live[i], memory_order_relaxed);
        if (v == 0) continue;
        char buf[64], *o = buf;
        memcpy(o, tag, strlen(tag));
        o += strlen(tag);
        o = put_num(o, (long)i * 16);
        *o++ = ' ';
        o = put_num(o, v);
        *o++ = '\n';
        put(buf, (size_t)(o - buf));
    }
    put("live_chunks: end\n", 17);
}

__attribute__((constructor)) static void install(void) { signal(SIGUSR2, on_signal); }
