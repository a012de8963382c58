/* bench_cluster_http.c — closed-loop load generator for etcd's HTTP/JSON gateway (bench-cluster).
 *
 * Usage: bench_cluster_http HOST PORT put|range CONNS SECONDS [KEYSPACE] [VALUE_BYTES]
 *
 * CONNS keep-alive HTTP/1.1 connections, one request in flight on each (like redis-benchmark
 * without pipelining), driven by one epoll thread so the client costs little CPU next to the
 * server. put = POST /v3/kv/put of a random key k<0..KEYSPACE-1> with a VALUE_BYTES value;
 * range = POST /v3/kv/range of a random key (etcd's default: a linearizable read). Latency is
 * measured from writing a request to reading the end of its response (CLOCK_MONOTONIC).
 * Prints one line: requests=N errors=E seconds=S rps=R p50_ms=.. p99_ms=.. max_ms=.. cpu_s=..
 * (cpu_s: the client's own CPU time, to show it is not the bottleneck). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"

#define CONNS_MAX   1024
#define BUF_BYTES   16384
#define LAT_MAX     (4u * 1000u * 1000u) /* latency samples kept (bounded memory) */
#define VALUE_MAX   4096
#define REQUEST_MAX (VALUE_MAX * 2 + 512)

struct conn {
    int fd;
    char in[BUF_BYTES];
    size_t in_len;
    char out[REQUEST_MAX];
    size_t out_len, out_off;
    uint64_t sent_ns;
};

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *g_host;
static int g_put;
static long g_keyspace;
static char g_value_b64[VALUE_MAX * 2];

static void make_request(struct conn *c)
{
    char key[32], key_b64[64], body[VALUE_MAX * 2 + 128];
    int kn = snprintf(key, sizeof(key), "k%ld", (long)(rng_next() % (uint64_t)g_keyspace));
    bench_b64((const unsigned char *)key, (size_t)kn, key_b64);
    int bn = g_put ? snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", key_b64,
                              g_value_b64)
                   : snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key_b64);
    int n = snprintf(c->out, sizeof(c->out),
                     "POST /v3/kv/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     g_put ? "put" : "range", g_host, bn, body);
    if (n < 0 || (size_t)n >= sizeof(c->out)) {
        fprintf(stderr, "request too large\n");
        exit(2);
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
}

/* Returns the total length of one complete response at the start of in, 0 if incomplete,
 * -1 if malformed; *ok = 1 for status 200 without an "error" field. */
static long response_len(const char *in, size_t n, int *ok)
{
    const char *body;
    size_t body_len;
    return bench_http_response(in, n, BUF_BYTES, &body, &body_len, ok);
}

static int flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) return errno == EAGAIN ? 0 : -1;
        c->out_off += (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT put|range CONNS SECONDS [KEYSPACE] [VALUE_BYTES]\n",
                argv[0]);
        return 2;
    }
    g_host = argv[1];
    int port = atoi(argv[2]);
    g_put = strcmp(argv[3], "put") == 0;
    int nconns = atoi(argv[4]);
    double seconds = atof(argv[5]);
    g_keyspace = argc > 6 ? atol(argv[6]) : 10000;
    long vbytes = argc > 7 ? atol(argv[7]) : 3;
    if (nconns < 1 || nconns > CONNS_MAX || seconds <= 0 || g_keyspace < 1 || vbytes < 0 ||
        vbytes > VALUE_MAX) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    unsigned char value[VALUE_MAX];
    memset(value, 'x', (size_t)vbytes);
    bench_b64(value, (size_t)vbytes, g_value_b64);

    uint64_t *lat = malloc(sizeof(uint64_t) * LAT_MAX);
    struct conn *conns = calloc((size_t)nconns, sizeof(*conns));
    int ep = epoll_create1(0);
    if (!lat || !conns || ep < 0) {
        perror("setup");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, g_host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bad host %s\n", g_host);
        return 2;
    }
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
            perror("connect");
            return 2;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            perror("epoll_ctl");
            return 2;
        }
    }
    uint64_t t0 = bench_now_ns(), stop = t0 + (uint64_t)(seconds * 1e9);
    size_t n_lat = 0;
    long n_done = 0, n_err = 0;
    for (int i = 0; i < nconns; i++) {
        make_request(&conns[i]);
        conns[i].sent_ns = bench_now_ns();
        if (flush_out(&conns[i]) < 0) {
            perror("write");
            return 2;
        }
    }
    int active = nconns;
    struct epoll_event evs[CONNS_MAX];
    while (active > 0) {
        int n = epoll_wait(ep, evs, CONNS_MAX, 1000);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 2;
        }
        for (int e = 0; e < n; e++) {
            struct conn *c = &conns[evs[e].data.u32];
            ssize_t r = read(c->fd, c->in + c->in_len, BUF_BYTES - c->in_len);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "connection closed by server\n");
                return 2;
            }
            c->in_len += (size_t)r;
            int ok = 0;
            long len = response_len(c->in, c->in_len, &ok);
            if (len < 0) {
                fprintf(stderr, "malformed response: %.200s\n", c->in);
                return 2;
            }
            if (len == 0) continue;
            uint64_t t = bench_now_ns();
            if (ok && n_lat < LAT_MAX) lat[n_lat++] = t - c->sent_ns;
            n_done += ok;
            n_err += !ok;
            memmove(c->in, c->in + len, c->in_len - (size_t)len);
            c->in_len -= (size_t)len;
            if (t >= stop) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                active--;
                continue;
            }
            make_request(c);
            c->sent_ns = bench_now_ns();
            if (flush_out(c) < 0) {
                perror("write");
                return 2;
            }
        }
    }
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    qsort(lat, n_lat, sizeof(uint64_t), bench_cmp_u64);
    double p50 = bench_quantile_ms(lat, n_lat, 0.5);
    double p99 = bench_quantile_ms(lat, n_lat, 0.99);
    double mx = bench_quantile_ms(lat, n_lat, 1.0);
    double cpu_s = bench_cpu_s();
    printf("requests=%ld errors=%ld seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "cpu_s=%.3f\n",
           n_done, n_err, secs, (double)n_done / secs, p50, p99, mx, cpu_s);
    free(lat);
    free(conns);
    close(ep);
    return n_err > 0 && n_done == 0 ? 1 : 0;
}
