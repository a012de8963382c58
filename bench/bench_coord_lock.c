/* bench_coord_lock.c — closed-loop lock acquire/release cycles against synod (RESP) or etcd
 * (v3 lock API through its HTTP/JSON gateway), the same loop for both (bench-coord).
 *
 * Usage: bench_coord_lock HOST PORT resp|etcd CONNS SECONDS [NAMES] [TTL_S]
 *
 * CONNS keep-alive connections driven by one epoll thread, one request in flight on each. Every
 * connection first takes a lease of TTL_S seconds (default 300), then loops: acquire its lock
 * under the lease, release it with the token the acquire returned. NAMES = 0 (the default):
 * every connection its own lock name, nothing contended; NAMES = k: connection i uses name
 * i % k, so CONNS / k connections queue on each lock. Names carry the process id, so runs
 * against the same cluster do not share locks.
 *   resp: LEASE GRANT ttl-ms; LOCK ACQUIRE name lease-id; LOCK RELEASE name token;
 *         at the end LEASE REVOKE lease-id.
 *   etcd: POST /v3/lease/grant {"TTL"}; POST /v3/lock/lock {"name", "lease"} -> key;
 *         POST /v3/lock/unlock {"key"}; at the end POST /v3/lease/revoke {"ID"}.
 * A cycle is one acquire and its release; its latency runs from sending the acquire to reading
 * the release's reply (CLOCK_MONOTONIC). When SECONDS have passed, each connection finishes the
 * cycle it is in, revokes its lease and closes: every acquire sent is answered and released.
 * Prints one line: cycles=N (completed within SECONDS) seconds=S cps=R p50_ms=.. p99_ms=..
 * max_ms=.. acq_p50_ms=.. acquires=A (all, drain included) errors=E cpu_s=.. (the client's own
 * CPU time, to show it is not the bottleneck). Exit 0 when there were no errors. resp also
 * checks that each connection's tokens strictly increase (an error otherwise). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
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
#define OUT_BYTES   1024
#define ID_MAX      128                     /* a lease id, a token or an etcd lock key (base64) */
#define LAT_MAX     (4u * 1000u * 1000u)    /* latency samples kept (bounded memory) */
#define STALL_NS    (30ull * 1000000000ull) /* no reply for this long: give up */
#define ERRORS_SHOW 5

enum state { ST_GRANT, ST_ACQUIRE, ST_RELEASE, ST_REVOKE, ST_DONE };

struct conn {
    int fd;
    enum state state;
    int name;            /* lock name index */
    char lease[ID_MAX];  /* lease id, decimal */
    char token[ID_MAX];  /* resp: the fencing token, decimal; etcd: the lock key, base64 */
    uint64_t token_last; /* resp: the previous token (tokens strictly increase) */
    uint64_t acq_sent_ns;
    char in[BUF_BYTES];
    size_t in_len;
    char out[OUT_BYTES];
    size_t out_len, out_off;
};

static int g_etcd;
static const char *g_host;
static long g_ttl_s;
static long g_errors;

static void error_seen(const struct conn *c, const char *what, const char *reply, size_t n)
{
    if (g_errors++ < ERRORS_SHOW)
        fprintf(stderr, "state %d: %s: %.*s\n", (int)c->state, what, (int)(n < 200 ? n : 200),
                reply);
}

/* --- requests --------------------------------------------------------------------------- */

static void out_resp(struct conn *c, int argc, const char **argv)
{
    size_t o = (size_t)snprintf(c->out, sizeof(c->out), "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        o += (size_t)snprintf(c->out + o, sizeof(c->out) - o, "$%zu\r\n%s\r\n", strlen(argv[i]),
                              argv[i]);
    if (o >= sizeof(c->out)) {
        fprintf(stderr, "request too large\n");
        exit(2);
    }
    c->out_len = o;
    c->out_off = 0;
}

static void out_http(struct conn *c, const char *path, const char *body)
{
    int n = snprintf(c->out, sizeof(c->out),
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, g_host, strlen(body), body);
    if (n < 0 || (size_t)n >= sizeof(c->out)) {
        fprintf(stderr, "request too large\n");
        exit(2);
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
}

static void make_request(struct conn *c)
{
    char name[64], body[512];
    snprintf(name, sizeof(name), "bench:lock:%ld:%d", (long)getpid(), c->name);
    if (!g_etcd) {
        char ttl[32];
        snprintf(ttl, sizeof(ttl), "%ld", g_ttl_s * 1000);
        const char *grant[] = {"LEASE", "GRANT", ttl};
        const char *acquire[] = {"LOCK", "ACQUIRE", name, c->lease};
        const char *release[] = {"LOCK", "RELEASE", name, c->token};
        const char *revoke[] = {"LEASE", "REVOKE", c->lease};
        switch (c->state) {
        case ST_GRANT: out_resp(c, 3, grant); break;
        case ST_ACQUIRE: out_resp(c, 4, acquire); break;
        case ST_RELEASE: out_resp(c, 4, release); break;
        case ST_REVOKE: out_resp(c, 3, revoke); break;
        case ST_DONE: break;
        }
        return;
    }
    char name_b64[96];
    bench_b64((const unsigned char *)name, strlen(name), name_b64);
    switch (c->state) {
    case ST_GRANT:
        snprintf(body, sizeof(body), "{\"TTL\":%ld}", g_ttl_s);
        out_http(c, "/v3/lease/grant", body);
        break;
    case ST_ACQUIRE:
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"lease\":\"%s\"}", name_b64, c->lease);
        out_http(c, "/v3/lock/lock", body);
        break;
    case ST_RELEASE:
        snprintf(body, sizeof(body), "{\"key\":\"%s\"}", c->token);
        out_http(c, "/v3/lock/unlock", body);
        break;
    case ST_REVOKE:
        snprintf(body, sizeof(body), "{\"ID\":\"%s\"}", c->lease);
        out_http(c, "/v3/lease/revoke", body);
        break;
    case ST_DONE: break;
    }
}

/* --- replies ---------------------------------------------------------------------------- */

enum reply_kind { REPLY_OK, REPLY_INT, REPLY_NIL, REPLY_ERR };

struct reply {
    enum reply_kind kind;
    char value[ID_MAX]; /* REPLY_INT: the integer; etcd: the "ID" or "key" string, if any */
    const char *raw;    /* the reply's text, for error messages */
    size_t raw_len;
};

/* One RESP reply (simple string, error, integer, bulk, RESP3 null) at the start of in:
 * its length, 0 if incomplete, -1 if malformed or of another type. */
static long parse_resp(const char *in, size_t n, struct reply *r)
{
    const char *eol = memmem(in, n, "\r\n", 2);
    if (!eol) return n >= BUF_BYTES ? -1 : 0;
    size_t line = (size_t)(eol - in);
    long len = (long)line + 2;
    r->raw = in;
    r->raw_len = line;
    r->value[0] = '\0';
    switch (in[0]) {
    case '+': r->kind = REPLY_OK; return len;
    case '-': r->kind = REPLY_ERR; return len;
    case '_': r->kind = REPLY_NIL; return len;
    case ':':
        if (line - 1 >= ID_MAX) return -1;
        memcpy(r->value, in + 1, line - 1);
        r->value[line - 1] = '\0';
        r->kind = REPLY_INT;
        return len;
    case '$': {
        long blen = strtol(in + 1, NULL, 10);
        if (blen < 0) {
            r->kind = REPLY_NIL;
            return len;
        }
        if ((size_t)len + (size_t)blen + 2 > BUF_BYTES) return -1;
        if (n < (size_t)len + (size_t)blen + 2) return 0;
        r->kind = REPLY_OK;
        return len + blen + 2;
    }
    default: return -1;
    }
}

/* Copies the string value of "field":"..." in body to out; 0 if found. */
static int json_string(const char *body, size_t n, const char *field, char *out)
{
    char pat[32];
    int pn = snprintf(pat, sizeof(pat), "\"%s\":\"", field);
    const char *p = memmem(body, n, pat, (size_t)pn);
    if (!p) return -1;
    p += pn;
    const char *q = memchr(p, '"', n - (size_t)(p - body));
    if (!q || q - p >= ID_MAX || q == p) return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 0;
}

static long parse_http(const char *in, size_t n, enum state st, struct reply *r)
{
    const char *body;
    size_t body_len;
    int ok;
    long len = bench_http_response(in, n, BUF_BYTES, &body, &body_len, &ok);
    if (len <= 0) return len;
    r->raw = body;
    r->raw_len = body_len;
    r->value[0] = '\0';
    r->kind = ok ? REPLY_OK : REPLY_ERR;
    if (ok && st == ST_GRANT && json_string(body, body_len, "ID", r->value) < 0)
        r->kind = REPLY_ERR;
    if (ok && st == ST_ACQUIRE && json_string(body, body_len, "key", r->value) < 0)
        r->kind = REPLY_ERR;
    return len;
}

/* --- the loop --------------------------------------------------------------------------- */

static int flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) return errno == EAGAIN ? 0 : -1;
        c->out_off += (size_t)w;
    }
    return 0;
}

struct totals {
    uint64_t start_ns, stop_ns; /* the measured window; both UINT64_MAX until it is set */
    long cycles;                /* completed in the window */
    long acquires;              /* acquire replies that granted the lock (drain included) */
    uint64_t *lat, *acq_lat;
    size_t n_lat, n_acq_lat;
};

/* Moves c on after reply r; returns 0, or -1 on an error that ends the run. */
static int advance(struct conn *c, const struct reply *r, uint64_t t, struct totals *tt)
{
    switch (c->state) {
    case ST_GRANT:
        if (!g_etcd ? r->kind != REPLY_INT : r->kind != REPLY_OK) {
            error_seen(c, "lease grant failed", r->raw, r->raw_len);
            return -1;
        }
        snprintf(c->lease, sizeof(c->lease), "%s", r->value);
        c->state = ST_ACQUIRE;
        break;
    case ST_ACQUIRE:
        if (!g_etcd ? r->kind != REPLY_INT : r->kind != REPLY_OK) {
            error_seen(c, "acquire failed", r->raw, r->raw_len);
            if (t >= tt->stop_ns) c->state = ST_REVOKE;
            break; /* else ask again (e.g. -TRYAGAIN) */
        }
        if (!g_etcd) {
            uint64_t tok = strtoull(r->value, NULL, 10);
            if (tok <= c->token_last) error_seen(c, "token did not increase", r->raw, r->raw_len);
            c->token_last = tok;
        }
        snprintf(c->token, sizeof(c->token), "%s", r->value);
        tt->acquires++;
        if (tt->n_acq_lat < LAT_MAX) tt->acq_lat[tt->n_acq_lat++] = t - c->acq_sent_ns;
        c->state = ST_RELEASE;
        break;
    case ST_RELEASE:
        if (!g_etcd ? r->kind != REPLY_INT || strcmp(r->value, "1") != 0 : r->kind != REPLY_OK)
            error_seen(c, "release failed", r->raw, r->raw_len);
        else if (t >= tt->start_ns && t < tt->stop_ns) {
            tt->cycles++;
            if (tt->n_lat < LAT_MAX) tt->lat[tt->n_lat++] = t - c->acq_sent_ns;
        }
        c->state = t < tt->stop_ns ? ST_ACQUIRE : ST_REVOKE;
        break;
    case ST_REVOKE:
        if (r->kind == REPLY_ERR) error_seen(c, "lease revoke failed", r->raw, r->raw_len);
        c->state = ST_DONE;
        return 0;
    case ST_DONE: return 0;
    }
    make_request(c);
    c->acq_sent_ns = c->state == ST_ACQUIRE ? bench_now_ns() : c->acq_sent_ns;
    return flush_out(c);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT resp|etcd CONNS SECONDS [NAMES] [TTL_S]\n", argv[0]);
        return 2;
    }
    g_host = argv[1];
    int port = atoi(argv[2]);
    g_etcd = strcmp(argv[3], "etcd") == 0;
    int nconns = atoi(argv[4]);
    double seconds = atof(argv[5]);
    int names = argc > 6 ? atoi(argv[6]) : 0;
    g_ttl_s = argc > 7 ? atol(argv[7]) : 300;
    if ((!g_etcd && strcmp(argv[3], "resp") != 0) || nconns < 1 || nconns > CONNS_MAX ||
        seconds <= 0 || names < 0 || g_ttl_s < 1 || g_ttl_s > 86400) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct totals tt = {0};
    tt.lat = malloc(sizeof(uint64_t) * LAT_MAX);
    tt.acq_lat = malloc(sizeof(uint64_t) * LAT_MAX);
    struct conn *conns = calloc((size_t)nconns, sizeof(*conns));
    int ep = epoll_create1(0);
    if (!tt.lat || !tt.acq_lat || !conns || ep < 0) {
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
        c->name = names ? i % names : i;
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
    /* leases first, outside the measured window */
    int granted = 0;
    for (int i = 0; i < nconns; i++) {
        make_request(&conns[i]);
        if (flush_out(&conns[i]) < 0) {
            perror("write");
            return 2;
        }
    }
    uint64_t last_reply = bench_now_ns();
    tt.start_ns = tt.stop_ns = UINT64_MAX;
    int active = nconns;
    struct epoll_event evs[CONNS_MAX];
    while (active > 0) {
        int n = epoll_wait(ep, evs, CONNS_MAX, 1000);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 2;
        }
        if (bench_now_ns() - last_reply > STALL_NS) {
            fprintf(stderr, "no reply for %llu s: %d connections still busy\n",
                    STALL_NS / 1000000000ull, active);
            return 2;
        }
        for (int e = 0; e < n; e++) {
            struct conn *c = &conns[evs[e].data.u32];
            ssize_t rd = read(c->fd, c->in + c->in_len, BUF_BYTES - c->in_len);
            if (rd <= 0) {
                if (rd < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "connection closed by server\n");
                return 2;
            }
            c->in_len += (size_t)rd;
            struct reply r;
            long len = g_etcd ? parse_http(c->in, c->in_len, c->state, &r)
                              : parse_resp(c->in, c->in_len, &r);
            if (len < 0) {
                fprintf(stderr, "malformed reply: %.200s\n", c->in);
                return 2;
            }
            if (len == 0) continue;
            uint64_t t = last_reply = bench_now_ns();
            enum state was = c->state;
            if (advance(c, &r, t, &tt) < 0) return 2;
            memmove(c->in, c->in + len, c->in_len - (size_t)len);
            c->in_len -= (size_t)len;
            if (c->state == ST_DONE) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                active--;
            }
            if (was != ST_GRANT || ++granted < nconns) continue;
            /* every lease granted: the measured window starts; the connections granted
             * earlier are already cycling, but only cycles ending in the window count */
            tt.start_ns = bench_now_ns();
            tt.stop_ns = tt.start_ns + (uint64_t)(seconds * 1e9);
        }
    }
    double secs = (double)(tt.stop_ns - tt.start_ns) / 1e9;
    qsort(tt.lat, tt.n_lat, sizeof(uint64_t), bench_cmp_u64);
    qsort(tt.acq_lat, tt.n_acq_lat, sizeof(uint64_t), bench_cmp_u64);
    printf("cycles=%ld seconds=%.3f cps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f acq_p50_ms=%.3f "
           "acquires=%ld errors=%ld cpu_s=%.3f\n",
           tt.cycles, secs, (double)tt.cycles / secs, bench_quantile_ms(tt.lat, tt.n_lat, 0.5),
           bench_quantile_ms(tt.lat, tt.n_lat, 0.99), bench_quantile_ms(tt.lat, tt.n_lat, 1.0),
           bench_quantile_ms(tt.acq_lat, tt.n_acq_lat, 0.5), tt.acquires, g_errors, bench_cpu_s());
    free(tt.lat);
    free(tt.acq_lat);
    free(conns);
    close(ep);
    return g_errors ? 1 : 0;
}
