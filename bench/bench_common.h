/* bench_common.h — small helpers shared by the closed-loop C load generators in bench/
 * (bench_cluster_http.c, bench_coord_lock.c): a monotonic clock, base64, HTTP/1.1 response
 * framing, latency percentiles and the generator's own CPU time. Header-only (static
 * functions): each tool is one translation unit built by a single compiler call. */
#ifndef SYNOD_BENCH_COMMON_H
#define SYNOD_BENCH_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writes the base64 of src[0..n) and a NUL to dst (room for 4 * ceil(n / 3) + 1 bytes). */
static inline void bench_b64(const unsigned char *src, size_t n, char *dst)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16;
        if (i + 1 < n) v |= (uint32_t)src[i + 1] << 8;
        if (i + 2 < n) v |= src[i + 2];
        dst[o++] = t[(v >> 18) & 63];
        dst[o++] = t[(v >> 12) & 63];
        dst[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        dst[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    dst[o] = '\0';
}

/* One complete HTTP/1.1 response at the start of in[0..n), of at most cap bytes: returns its
 * total length, 0 if incomplete, -1 if malformed or larger than cap. Sets *body / *body_len
 * to its body (Content-Length framing) and *ok to 1 for status 200 without an "error" field.
 * A chunked response (etcd's gateway sends its errors so) is framed by its final 0-length
 * chunk; its body is then the raw chunked text, *ok 0. */
static inline long bench_http_response(const char *in, size_t n, size_t cap, const char **body,
                                       size_t *body_len, int *ok)
{
    const char *end = memmem(in, n, "\r\n\r\n", 4);
    if (!end) return n >= cap ? -1 : 0;
    size_t head = (size_t)(end - in) + 4;
    *ok = 0;
    *body = in + head;
    const char *cl = memmem(in, head, "Content-Length:", 15);
    if (!cl) cl = memmem(in, head, "content-length:", 15);
    if (!cl) {
        if (!memmem(in, head, "chunked", 7)) return -1;
        const char *last = memmem(in + head, n - head, "\r\n0\r\n", 5);
        if (!last && n - head >= 3 && memcmp(in + head, "0\r\n", 3) == 0) last = in + head - 2;
        if (!last) return n >= cap ? -1 : 0;
        /* the last chunk, then optional trailers, then an empty line */
        const char *fin = memmem(last + 2, n - (size_t)(last + 2 - in), "\r\n\r\n", 4);
        if (!fin) return n >= cap ? -1 : 0;
        *body_len = last > *body ? (size_t)(last - *body) : 0;
        return (long)(fin + 4 - in);
    }
    long blen = strtol(cl + 15, NULL, 10);
    if (blen < 0 || head + (size_t)blen > cap) return -1;
    if (n < head + (size_t)blen) return 0;
    *body_len = (size_t)blen;
    *ok = strncmp(in, "HTTP/1.1 200", 12) == 0 && !memmem(*body, *body_len, "\"error\"", 7);
    return (long)(head + (size_t)blen);
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of the n sorted latencies in ns, in ms; 0 when n is 0. */
static inline double bench_quantile_ms(const uint64_t *sorted, size_t n, double q)
{
    if (n == 0) return 0;
    size_t i = (size_t)((double)n * q);
    return (double)sorted[i < n ? i : n - 1] / 1e6;
}

/* User + system CPU seconds this process has used. */
static inline double bench_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

#endif
