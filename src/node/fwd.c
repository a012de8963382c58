/* fwd.c — a follower relays client commands to the leader's client port and the replies back.
 *
 * One connection per protocol version (RESP2, RESP3 after HELLO 3) to the current leader. The
 * leader answers a connection's requests in order, so each reply goes to the oldest waiting
 * client: a small RESP reply framer (resp_reply_len) cuts whole replies out of the stream and
 * their bytes are appended unchanged to the waiting client's output. A lost connection, or one
 * silent for FWD_TIMEOUT_MS with requests outstanding, fails every waiter with an error (the
 * outcome of those requests is unknown to us, and the error says so); while the leader is still
 * heard from on the peer link, it is only slow (CLIENT PAUSE there) and is waited for, up to
 * FWD_HARD_TIMEOUT_MS. Under tls-cluster the
 * relay is a TLS client of the leader's TLS port (the address its hello announced), presenting
 * this node's certificate and verifying the leader's against the cluster's CA.
 *
 * Who the requests run as on the leader (docs/security.md "Relays"). A relay that proves it is a
 * cluster member may name the user of each request: with cluster-secret it answers the leader's
 * challenge (SYNOD RELAY-HELLO -> nonce, SYNOD RELAY-PROOF HMAC; requests queue in `held` until
 * the nonce is in), under tls-cluster alone its certificate proves it (RELAY-HELLO -> +OK). Then
 * a SYNOD RELAY-USER goes ahead of a request whenever its client's user differs from the one the
 * leader's side has, as select_db does for the database. Without either (a loopback cluster
 * with no secret) the relay AUTHs as the default user with requirepass and every request runs
 * as that user on the leader (the client's own user is checked here). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/peerauth.h"
#include "node/node_internal.h"
#include "util/assert.h"
#include "util/strconv.h"

#define FWD_TIMEOUT_MS      5000
#define FWD_STALE_MS        1000 /* grace for a former leader's replies once another one leads */
#define FWD_HARD_TIMEOUT_MS (600 * 1000) /* ... even from a leader still heard from */
#define FWD_WAITERS_MAX     (1u << 20)
#define FWD_IN_MAX          (512u << 20)

typedef struct fconn {
    struct fwd *f;
    int fd; /* -1: closed */
    int proto;
    bool connecting;
    net_tls *tls;                  /* tls-cluster: the session on fd (NULL: plain TCP) */
    bool tls_handshaking;          /* connected, TLS handshake not done yet */
    int tls_want;                  /* readiness the handshake waits for */
    bool rd_wants_wr, wr_wants_rd; /* a TLS read / write waits for the other readiness */
    char addr[300];
    resp_buf out;
    size_t out_sent;
    char *in;
    size_t in_len, in_cap;
    client **w; /* ring of waiters; NULL = reply to discard (HELLO, gone client) */
    /* per waiter, as w: a relayed PUBLISH's receivers on this node (its integer reply becomes
     * this: Redis Cluster counts the node the client is connected to), else -1 */
    long long *wpub;
    size_t w_head, w_n, w_cap;
    int64_t last_progress_ms;
    /* a blocking command's own connection (fwd_send_blocking): its client, and the kind of
     * null its timeout replies (for CLIENT UNBLOCK here) */
    client *owner;
    int db; /* the database the leader's side of the connection has selected */
    /* proven relay (RELAY_SECRET / RELAY_TLS): the user the leader's side runs as, NULL =
     * unknown (before the first RELAY-USER, or after one was refused): sent again */
    bool proven;
    char *user;
    bool awaiting_nonce; /* RELAY_SECRET: the challenge is not in yet; requests wait in held */
    resp_buf held;
    raft_id leader_id;      /* whom the proof is made for: the leader when the connection opened */
    uint64_t replies;       /* an own connection's: replies its client got */
    uint64_t unblocked_req; /* ... the request (replies + 1) SYNOD UNBLOCK-SELF was sent for */
    uint64_t evict_asks, evict_answers; /* SYNOD EVICTIONS sent and answered (or lost) */
    uint64_t after_mark; /* shared: SYNOD AFTER this mark goes ahead of the next request */
    struct fconn *next;
} fconn;

/* How relays prove they are members (docs/security.md "Relays"). RELAY_LOOPBACK: no secret and
 * no TLS (every peer is on loopback) and the leader's client address is too: the leader takes
 * a relay from this host as a member's, as its peer port takes this host's peers. */
enum { RELAY_PLAIN = 0, RELAY_SECRET = 1, RELAY_TLS = 2, RELAY_LOOPBACK = 3 };

/* Waiters of the handshake's replies, which fwd.c reads itself (NULL waiters are dropped). */
static client mark_nonce; /* RELAY-HELLO's challenge */
static client mark_ok;    /* must be +OK (RELAY-PROOF, RELAY-HELLO under tls-cluster) */
static client mark_user;  /* RELAY-USER: an error makes the user unknown (sent again) */
static client mark_evict; /* SYNOD EVICTIONS: an index for node_evictions_answer */

static bool is_marker(const client *c)
{
    return c == &mark_nonce || c == &mark_ok || c == &mark_user || c == &mark_evict;
}

/* addr: "host:port" or "[v6]:port" */
static bool addr_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0 ||
           strncmp(addr, "localhost:", 10) == 0;
}

static int relay_mode(const node *n, const char *leader_addr)
{
    if (n->cfg.cluster_secret[0]) return RELAY_SECRET;
    if (n->cfg.tls_dial) return RELAY_TLS;
    return addr_loopback(leader_addr) ? RELAY_LOOPBACK : RELAY_PLAIN;
}

/* Where requests go: behind the proof while it waits for the challenge. */
static resp_buf *obuf(fconn *fc)
{
    return fc->awaiting_nonce ? &fc->held : &fc->out;
}

struct fwd {
    node *n;
    fconn conns[2]; /* shared by every client, by protocol */
    fconn *own;     /* blocking commands' connections */
    uint64_t timer;
    uint64_t marks; /* the last SYNOD MARK sent (fwd_send_blocking) */
};

/* Length of the first complete RESP2/RESP3 reply in p[0..len): > 0, 0 if incomplete, -1 if
 * malformed. */
static long reply_len(const char *p, size_t len)
{
    size_t pos = 0;
    long long remaining = 1;
    while (remaining > 0) {
        if (pos >= len) return 0;
        char t = p[pos];
        const char *nl = memchr(p + pos, '\n', len - pos);
        if (!nl) return 0;
        size_t line_end = (size_t)(nl - p) + 1;
        if (line_end - pos < 3 || p[line_end - 2] != '\r') return -1;
        remaining--;
        long long n = 0;
        bool neg = false;
        if (strchr("$!=*~>%|", t)) {
            size_t i = pos + 1;
            if (p[i] == '-') {
                neg = true;
                i++;
            }
            if (i >= line_end - 2) return -1;
            for (; i < line_end - 2; i++) {
                if (p[i] < '0' || p[i] > '9' || n > (1ll << 40)) return -1;
                n = n * 10 + (p[i] - '0');
            }
        }
        pos = line_end;
        switch (t) {
        case '+':
        case '-':
        case ':':
        case '_':
        case ',':
        case '#':
        case '(': break;
        case '$':
        case '!':
        case '=':
            if (neg) break;
            if (len - pos < (size_t)n + 2) return 0;
            pos += (size_t)n + 2;
            break;
        case '*':
        case '~':
        case '>':
            if (!neg) remaining += n;
            break;
        case '%': remaining += 2 * n; break;
        case '|': remaining += 2 * n + 1; break;
        default: return -1;
        }
    }
    return (long)pos;
}

/* A relayed transaction's own commands. The leader runs a follower's MULTI ... EXEC on the
 * relay connection, which is not the client's: what belongs to the client's connection
 * (SUBSCRIBE and the rest of pub/sub, AUTH, CLIENT SETNAME / ID / PAUSE ..., the host's
 * multi_local) would act on the relay there, or be refused. The follower relays PING in its
 * place and, once EXEC's array comes, runs the command here for the client, its replies in
 * PING's place in the array (the command's position in the transaction is kept; the data
 * commands around it ran atomically on the leader). A PUBLISH's count is this node's
 * receivers, as outside a transaction (counted in its turn: after the SUBSCRIBEs before it
 * in the transaction, as Redis would). An EXEC that did not run (EXECABORT, a WATCH that
 * failed: no array) runs none of them, as in Redis. */
typedef struct nexec_step {
    int index;  /* in the transaction */
    size_t off; /* its command in cmds */
    bool local; /* else a PUBLISH / SPUBLISH: answered with this node's receivers */
} nexec_step;

struct nexec_plan {
    uint64_t seq; /* EXEC's request number: relay_answered when its reply comes */
    int n_cmds;   /* the transaction's commands: EXEC's array has as many */
    nexec_step *steps;
    int n, cap;
    resp_buf cmds; /* the local commands, as nentry_put_args writes them */
};

static void plan_free(struct nexec_plan *p)
{
    if (!p) return;
    free(p->steps);
    resp_buf_deinit(&p->cmds);
    free(p);
}

static int plan_add(struct nexec_plan *p, int index, bool local, int argc, const data_arg *argv)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        nexec_step *st = realloc(p->steps, (size_t)cap * sizeof(*st));
        if (!st) return -1;
        p->steps = st;
        p->cap = cap;
    }
    nexec_step *st = &p->steps[p->n++];
    *st = (nexec_step){index, p->cmds.len, local};
    size_t need = 4;
    for (int i = 0; i < argc; i++)
        need += 4 + argv[i].len;
    if (resp_buf_reserve(&p->cmds, need) < 0) return -1;
    nentry_put_args(&p->cmds, argc, argv);
    return 0;
}

/* EXEC's reply r (one whole reply) for c with its plan applied, into c's output; false: r is
 * no array of the transaction's size (EXECABORT, a failed WATCH's null, TRYAGAIN), nothing
 * was written. */
static bool plan_apply(node *nd, client *c, struct nexec_plan *p, const char *r, size_t len)
{
    if (len < 4 || r[0] != '*') return false;
    long long n = 0;
    size_t i = 1;
    for (; i < len && r[i] >= '0' && r[i] <= '9' && n <= INT_MAX; i++)
        n = n * 10 + (r[i] - '0');
    if (i + 1 >= len || r[i] != '\r' || n != p->n_cmds) return false;
    const node_host *h = nd->host;
    size_t pos = i + 2, from = 0; /* r[from, pos): passed on unchanged, not written yet */
    data_arg *argv = NULL;
    int cap = 0, k = 0;
    for (int e = 0; e < p->n_cmds; e++) {
        long el = reply_len(r + pos, len - pos);
        SYN_ASSERT(el > 0); /* r is one whole reply */
        const nexec_step *st = k < p->n && p->steps[k].index == e ? &p->steps[k++] : NULL;
        if (st && (st->local || r[pos] == ':')) {
            h->reply_part(c->conn, r + from, pos - from);
            from = pos + (size_t)el;
        }
        int argc = 0;
        if (st) {
            size_t off = st->off;
            argc = nentry_get_args((const uint8_t *)p->cmds.data, p->cmds.len, &off, &argv, &cap);
            SYN_ASSERT(argc > 0);
        }
        if (st && st->local) {
            h->dispatch(c->conn, argc, argv);
            node_pause_share(nd, c, argc, argv);
        } else if (st && r[pos] == ':') { /* counted now: after the SUBSCRIBEs before it */
            char num[32];
            int nl = snprintf(num, sizeof(num), ":%lld\r\n", npubsub_receivers(nd, argc, argv));
            h->reply_part(c->conn, num, (size_t)nl);
        }
        pos += (size_t)el;
    }
    free(argv);
    h->reply_raw(c->conn, r + from, len - from); /* the reply is whole: what was held follows */
    return true;
}

/* c's relayed EXEC with a SELECT inside was answered (r; NULL: no answer): the client is in
 * that database now if the transaction ran (an array, not a null one or an error) */
static void exec_db_done(client *c, const char *r, size_t len)
{
    if (!c->exec_db_seq || c->exec_db_seq != c->relay_answered) return;
    if (r && len >= 2 && r[0] == '*' && r[1] != '-') c->db = c->exec_db;
    c->exec_db_seq = 0;
}

/* c's reply r answers without a log entry: an error, or the null of an EXEC its WATCH aborted */
static bool no_entry(const client *c, const char *r, size_t len)
{
    if (r[0] == '-') return true;
    return c->exec_seq == c->relay_answered &&
           ((len == 5 && memcmp(r, "*-1\r\n", 5) == 0) || (len == 3 && memcmp(r, "_\r\n", 3) == 0));
}

/* c's reply r (one whole reply) as the client gets it: EXEC's with its plan applied */
static void deliver(node *nd, client *c, const char *r, size_t len)
{
    exec_db_done(c, r, len);
    if (c->pend_n) node_pend_out(nd, c, c->relay_answered); /* its own messages first */
    struct nexec_plan *p = c->exec_plan;
    if (p && p->seq == c->relay_answered)
        c->exec_plan = NULL;
    else
        p = NULL;
    /* a change this node reads itself: answered once applied here (and whatever follows it
     * for c waits behind it). Requests between two awaited ones (pipelined) wait too: their
     * turn comes once the entry of one at or after them is applied. */
    uint64_t a = c->relay_answered;
    bool awaited = a >= c->await_first && a <= c->await_seq && c->applied_seq < a;
    uint64_t need = awaited && !no_entry(c, r, len) ? a : 0;
    if (need || c->held_reply) {
        /* not an EXEC's with a plan: EXEC is relayed once every earlier reply left */
        node_hold_reply(nd, c, r, len, need);
    } else {
        if (!p || !plan_apply(nd, c, p, r, len)) nd->host->reply_raw(c->conn, r, len);
        node_client_done(nd, c);
    }
    plan_free(p);
}

static void fconn_close(fconn *fc, const char *why)
{
    fc->after_mark = 0; /* the blocking commands before went to the leader that connection had */
    if (fc->fd >= 0) {
        (void)net_loop_watch(fc->f->n->loop, fc->fd, 0, NULL, NULL);
        net_tls_free(fc->tls);
        (void)shutdown(fc->fd, SHUT_RDWR); /* ends now though a forked child holds a copy */
        close(fc->fd);
        if (fc->w_n)
            syn_log(SYN_LOG_WARN, "connection to the leader at %s lost (%s): %zu requests failed",
                    fc->addr, why, fc->w_n);
    }
    fc->fd = -1;
    fc->connecting = false;
    fc->tls = NULL;
    fc->tls_handshaking = fc->rd_wants_wr = fc->wr_wants_rd = false;
    while (fc->w_n) {
        client *c = fc->w[fc->w_head];
        fc->w_head = (fc->w_head + 1) % fc->w_cap;
        fc->w_n--;
        if (c == &mark_evict) fc->evict_answers++; /* lost: nothing to wait for */
        if (!c || is_marker(c)) continue;
        c->relay_answered++;
        exec_db_done(c, NULL, 0); /* outcome unknown: the client stays where it was */
        if (c->exec_plan && c->exec_plan->seq == c->relay_answered) { /* its EXEC failed */
            plan_free(c->exec_plan);
            c->exec_plan = NULL;
        }
        node_release_reply(fc->f->n, c); /* replies received before go first */
        if (c->pend_n) node_pend_out(fc->f->n, c, c->relay_answered);
        nreply_error(fc->f->n, c, "TRYAGAIN connection to the leader lost; outcome unknown");
        node_client_done(fc->f->n, c);
    }
    fc->out.len = fc->out_sent = 0;
    fc->in_len = 0;
    fc->held.len = 0;
    fc->awaiting_nonce = false;
    fc->unblocked_req = 0;
    free(fc->user);
    fc->user = NULL;
}

static void fconn_io(net_loop *l, int fd, int events, void *ctx);
static void add_command(resp_buf *b, int argc, const data_arg *argv);
static void fconn_watch(fconn *fc);

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
}

/* The leader's challenge ($64 hex): the proof goes out, then the requests held behind it. */
static int answer_nonce(fconn *fc, const char *p, size_t len)
{
    node *nd = fc->f->n;
    uint8_t nonce[PEERAUTH_NONCE_BYTES], proof[PEERAUTH_PROOF_BYTES];
    if (len != 2 * PEERAUTH_NONCE_BYTES + 7 || memcmp(p, "$64\r\n", 5) != 0) return -1;
    for (size_t i = 0; i < 2 * PEERAUTH_NONCE_BYTES; i++) {
        char ch = p[5 + i];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0) return -1;
        nonce[i / 2] = (uint8_t)(i % 2 ? (nonce[i / 2] | v) : v << 4);
    }
    const char *sec = nd->cfg.cluster_secret;
    if (peerauth_relay_proof(sec, strlen(sec), (uint64_t)nd->cfg.id, fc->leader_id, nonce, proof) <
        0)
        return -1;
    char h[2 * PEERAUTH_PROOF_BYTES];
    hex_encode(proof, sizeof(proof), h);
    data_arg a[3] = {{"SYNOD", 5}, {"RELAY-PROOF", 11}, {h, sizeof(h)}};
    add_command(&fc->out, 3, a);
    resp_buf_append(&fc->out, fc->held.data, fc->held.len);
    fc->held.len = 0;
    fc->awaiting_nonce = false;
    fconn_watch(fc);
    return 0;
}

/* A reply of the handshake (marker m): 0, or -1 if the connection was closed. */
static int handshake_reply(fconn *fc, const client *m, const char *p, size_t len)
{
    if (m == &mark_evict) { /* :<index>; an error (a leader without it): nothing to wait for */
        uint64_t idx = 0;
        for (size_t i = 1; p[0] == ':' && i < len && p[i] >= '0' && p[i] <= '9'; i++)
            idx = idx * 10 + (uint64_t)(p[i] - '0');
        fc->evict_answers++;
        node_evictions_answer(fc->f->n, idx);
        return 0;
    }
    if (m == &mark_user) {
        if (p[0] == '-') { /* its requests get the leader's NOPERM; the next one names it again */
            free(fc->user);
            fc->user = NULL;
        }
        return 0;
    }
    bool ok =
        m == &mark_nonce ? answer_nonce(fc, p, len) == 0 : len == 5 && memcmp(p, "+OK\r\n", 5) == 0;
    if (ok) return 0;
    int n = len > 200 ? 200 : (int)len;
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    syn_log(SYN_LOG_WARN, "relay to the leader at %s: its proof of membership failed: %.*s",
            fc->addr, n, p);
    fconn_close(fc, "relay proof refused");
    return -1;
}

static void fconn_watch(fconn *fc)
{
    int mask = NET_READABLE;
    if (fc->connecting || fc->out_sent < fc->out.len || fc->rd_wants_wr) mask |= NET_WRITABLE;
    if (fc->tls_handshaking) mask = fc->tls_want;
    if (net_loop_mask(fc->f->n->loop, fc->fd) != mask)
        (void)net_loop_watch(fc->f->n->loop, fc->fd, mask, fconn_io, fc);
}

/* The transport: TCP, or TLS under tls-cluster; -errno on failure (-EAGAIN: wait). */
static ssize_t fconn_recv(fconn *fc, void *buf, size_t cap)
{
    return net_stream_read(fc->tls, fc->fd, buf, cap, &fc->rd_wants_wr);
}

static ssize_t fconn_send(fconn *fc, const void *buf, size_t len)
{
    return net_stream_write(fc->tls, fc->fd, buf, len, &fc->wr_wants_rd);
}

static const char *fconn_strerror(const fconn *fc, ssize_t err)
{
    return net_stream_strerror(fc->tls, err);
}

/* Writes what the socket takes. Returns 0, or -1 if the connection was closed. */
static int fconn_flush(fconn *fc)
{
    if (fc->tls_handshaking) return 0; /* queued: sent once the handshake is done */
    while (fc->out_sent < fc->out.len) {
        ssize_t n = fconn_send(fc, fc->out.data + fc->out_sent, fc->out.len - fc->out_sent);
        if (n < 0) {
            if (n == -EINTR) continue;
            if (n == -EAGAIN) break;
            fconn_close(fc, fconn_strerror(fc, n));
            return -1;
        }
        fc->out_sent += (size_t)n;
    }
    if (fc->out_sent == fc->out.len) fc->out.len = fc->out_sent = 0;
    fconn_watch(fc);
    return 0;
}

static void fconn_read(fconn *fc)
{
    if (fc->in_cap - fc->in_len < 16384) {
        size_t ncap = fc->in_cap ? fc->in_cap * 2 : 65536;
        char *nb = ncap <= FWD_IN_MAX ? realloc(fc->in, ncap) : NULL;
        if (!nb) {
            fconn_close(fc, "reply too large");
            return;
        }
        fc->in = nb;
        fc->in_cap = ncap;
    }
    ssize_t n = fconn_recv(fc, fc->in + fc->in_len, fc->in_cap - fc->in_len);
    if (n == -EAGAIN || n == -EINTR) {
        fconn_watch(fc);
        return;
    }
    if (n <= 0) {
        fconn_close(fc, n == 0 ? "closed by the leader" : fconn_strerror(fc, n));
        return;
    }
    fc->in_len += (size_t)n;
    fc->last_progress_ms = net_mono_ms();
    size_t pos = 0;
    for (;;) {
        long rl = reply_len(fc->in + pos, fc->in_len - pos);
        if (rl == 0) break;
        if (rl < 0 || fc->w_n == 0) {
            fconn_close(fc, "unexpected reply");
            return;
        }
        client *c = fc->w[fc->w_head];
        long long pub = fc->wpub[fc->w_head];
        fc->w_head = (fc->w_head + 1) % fc->w_cap;
        fc->w_n--;
        if (is_marker(c)) {
            if (handshake_reply(fc, c, fc->in + pos, (size_t)rl) < 0) return;
        } else if (c) {
            node *nd = fc->f->n;
            c->relay_answered++;
            if (fc->owner) fc->replies++;
            const char *p = fc->in + pos;
            size_t len = (size_t)rl;
            char num[32];
            if (pub >= 0 && fc->in[pos] == ':') { /* the leader's count is the leader's */
                p = num;
                len = (size_t)snprintf(num, sizeof(num), ":%lld\r\n", pub);
            }
            deliver(nd, c, p, len);
        }
        pos += (size_t)rl;
    }
    if (pos) {
        memmove(fc->in, fc->in + pos, fc->in_len - pos);
        fc->in_len -= pos;
    }
}

/* Advances the TLS handshake: 0 = done, 1 = waiting (watched), -1 = failed (closed). */
static int fconn_tls_step(fconn *fc)
{
    int rc = net_tls_handshake(fc->tls);
    if (rc == 0) {
        fc->tls_handshaking = false;
        return 0;
    }
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "TLS handshake failed: %s", net_tls_error(fc->tls));
        syn_log(SYN_LOG_WARN, "relay to the leader at %s: %s", fc->addr, why);
        fconn_close(fc, why);
        return -1;
    }
    fc->tls_want = rc;
    fconn_watch(fc);
    return 1;
}

/* Sends fc's queued requests at the next writable event (the same loop pass's epoll_wait), so
 * the requests one pass relays share one write (and, over TLS, records) instead of a system
 * call (and a record the leader decrypts) each. Returns 0. */
static int fconn_write(fconn *fc)
{
    fconn_watch(fc); /* writable: the queued bytes go out from fconn_io */
    return 0;
}

static void fconn_io(net_loop *l, int fd, int events, void *ctx)
{
    (void)l, (void)fd;
    fconn *fc = ctx;
    if (fc->connecting) {
        if (!(events & NET_WRITABLE)) return;
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(fc->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
        if (err) {
            fconn_close(fc, strerror(err));
            return;
        }
        fc->connecting = false;
        fc->tls_handshaking = fc->tls != NULL;
    }
    if (fc->tls_handshaking) {
        if (fconn_tls_step(fc) != 0) return;
        events = NET_WRITABLE | NET_READABLE; /* the queued requests go out now */
    }
    bool rd = (events & NET_READABLE) != 0, wr = (events & NET_WRITABLE) != 0;
    if (fc->rd_wants_wr && wr) rd = true;
    if (fc->wr_wants_rd && rd) wr = true;
    if (wr && fconn_flush(fc) < 0) return;
    if (rd) fconn_read(fc);
}

static int fconn_open(fconn *fc, const char *addr)
{
    char host[300], portstr[16];
    int port;
    node *nd = fc->f->n;
    /* tls-cluster: the leader's TLS port, never its plaintext one */
    const char *dial = nd->cfg.tls_dial ? peer_net_relay_addr(nd->pn, addr) : addr;
    if (!dial[0]) return -EHOSTUNREACH;
    if (net_parse_hostport(dial, host, sizeof(host), &port) < 0) return -EINVAL;
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res) return -EHOSTUNREACH;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return -errno;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (fd >= net_loop_max_fds(fc->f->n->loop)) {
        close(fd);
        return -EMFILE;
    }
    if (nd->cfg.tls_dial) {
        fc->tls = net_tls_new(nd->cfg.tls_dial, fd);
        if (!fc->tls) {
            close(fd);
            return -ENOMEM;
        }
    }
    fc->fd = fd;
    fc->connecting = true;
    snprintf(fc->addr, sizeof(fc->addr), "%s", addr);
    fc->last_progress_ms = net_mono_ms();
    fconn_watch(fc);
    return 0;
}

/* Room for k more waiters: 0, or -EAGAIN / -ENOMEM. */
static int reserve_waiters(fconn *fc, size_t k)
{
    while (fc->w_cap - fc->w_n < k) {
        if (fc->w_cap >= FWD_WAITERS_MAX) return -EAGAIN;
        size_t ncap = fc->w_cap ? fc->w_cap * 2 : 256;
        client **nw = malloc(ncap * sizeof(*nw));
        long long *np = malloc(ncap * sizeof(*np));
        if (!nw || !np) {
            free(nw);
            free(np);
            return -ENOMEM;
        }
        for (size_t i = 0; i < fc->w_n; i++) {
            nw[i] = fc->w[(fc->w_head + i) % fc->w_cap];
            np[i] = fc->wpub[(fc->w_head + i) % fc->w_cap];
        }
        free(fc->w);
        free(fc->wpub);
        fc->w = nw;
        fc->wpub = np;
        fc->w_cap = ncap;
        fc->w_head = 0;
    }
    return 0;
}

/* c waits for the next reply; pub >= 0: it is a PUBLISH's, answered as pub receivers */
static int push_waiter_pub(fconn *fc, client *c, long long pub)
{
    int rc = reserve_waiters(fc, 1);
    if (rc < 0) return rc;
    size_t slot = (fc->w_head + fc->w_n) % fc->w_cap;
    fc->w[slot] = c;
    fc->wpub[slot] = pub;
    fc->w_n++;
    if (c && !is_marker(c)) c->relay_sent++;
    return 0;
}

static int push_waiter(fconn *fc, client *c)
{
    return push_waiter_pub(fc, c, -1);
}

static void add_command(resp_buf *b, int argc, const data_arg *argv)
{
    resp_add_array(b, (size_t)argc);
    for (int i = 0; i < argc; i++)
        resp_add_bulk(b, argv[i].ptr, argv[i].len);
}

/* The leader's side of fc in database db: a SELECT ahead of the next command if needed (its
 * reply is dropped). 0, or -ENOMEM. */
static int select_db(fconn *fc, int db)
{
    if (fc->db == db) return 0;
    char num[16];
    int k = snprintf(num, sizeof(num), "%d", db);
    data_arg a[2] = {{"SELECT", 6}, {num, (size_t)k}};
    if (push_waiter(fc, NULL) < 0) return -ENOMEM;
    add_command(obuf(fc), 2, a);
    fc->db = db;
    return 0;
}

/* On a proven relay, the leader's side of fc runs as c's user: a RELAY-USER ahead of the next
 * command if needed (its reply read by handshake_reply). 0, or -ENOMEM. */
static int select_user(fconn *fc, const client *c)
{
    if (!fc->proven) return 0;
    const char *want = c->user ? c->user : "default";
    if (fc->user && strcmp(fc->user, want) == 0) return 0;
    char *u = strdup(want);
    if (!u || push_waiter(fc, &mark_user) < 0) {
        free(u);
        return -ENOMEM;
    }
    data_arg a[3] = {{"SYNOD", 5}, {"RELAY-USER", 10}, {u, strlen(u)}};
    add_command(obuf(fc), 3, a);
    free(fc->user);
    fc->user = u;
    return 0;
}

/* Opens fc to addr and queues its handshake: 0, or -errno. */
static int fconn_start(fwd *f, fconn *fc, const char *addr)
{
    int rc = fconn_open(fc, addr);
    if (rc < 0) return rc;
    fc->db = 0;
    int mode = relay_mode(f->n, addr);
    fc->proven = mode != RELAY_PLAIN;
    fc->leader_id = f->n->leader;
    if (mode != RELAY_PLAIN) {
        /* the proof also marks the connection as a relay (FORWARDED) and authenticates it */
        char id[24];
        int k = snprintf(id, sizeof(id), "%lld", f->n->cfg.id);
        data_arg h[3] = {{"SYNOD", 5}, {"RELAY-HELLO", 11}, {id, (size_t)k}};
        add_command(&fc->out, 3, h);
        if (mode == RELAY_SECRET && push_waiter(fc, &mark_nonce) < 0) return -ENOMEM;
        if (push_waiter(fc, &mark_ok) < 0) return -ENOMEM; /* RELAY-PROOF's or RELAY-HELLO's */
        fc->awaiting_nonce = mode == RELAY_SECRET;
        fc->user = strdup("default"); /* a new connection's user (NULL: RELAY-USER anyway) */
    } else {
        const char *pw = f->n->cfg.requirepass;
        if (pw[0]) { /* every node is expected to have the same requirepass */
            data_arg a[2] = {{"AUTH", 4}, {pw, strlen(pw)}};
            add_command(&fc->out, 2, a);
            if (push_waiter(fc, NULL) < 0) return -ENOMEM;
        }
        /* mark the connection as a relay: the leader never relays its requests again */
        data_arg fw[2] = {{"SYNOD", 5}, {"FORWARDED", 9}};
        add_command(&fc->out, 2, fw);
        if (push_waiter(fc, NULL) < 0) return -ENOMEM;
    }
    if (fc->proto == 3) { /* after the proof: HELLO needs an authenticated connection */
        data_arg h[2] = {{"HELLO", 5}, {"3", 1}};
        add_command(obuf(fc), 2, h);
        if (push_waiter(fc, NULL) < 0) return -ENOMEM;
    }
    return 0;
}

/* SYNOD <verb> <this run's token> <mark> into a[4] (text in tk, mk): the head of a blocking
 * command's SYNOD MARK, or a SYNOD AFTER (fwd_send_blocking) */
static void mark_args(const fwd *f, const char *verb, uint64_t mark, char tk[24], char mk[24],
                      data_arg a[4])
{
    int tl = snprintf(tk, 24, "%llu", (unsigned long long)f->n->origin_token);
    int ml = snprintf(mk, 24, "%llu", (unsigned long long)mark);
    a[0] = (data_arg){"SYNOD", 5};
    a[1] = (data_arg){verb, strlen(verb)};
    a[2] = (data_arg){tk, (size_t)tl};
    a[3] = (data_arg){mk, (size_t)ml};
}

/* The relay connection for c's protocol, open to addr: 0, or -EAGAIN / -errno. */
static int conn_for(fwd *f, const char *addr, client *c, fconn **out)
{
    fconn *fc = &f->conns[f->n->host->reply->is_resp3(c->conn) ? 1 : 0];
    if (fc->fd >= 0 && strcmp(fc->addr, addr) != 0) {
        if (fc->w_n) return -EAGAIN; /* replies from the old leader still to relay */
        fconn_close(fc, "leader changed");
    }
    if (fc->fd < 0) {
        int rc = fconn_start(f, fc, addr);
        if (rc < 0) return rc;
    }
    if (fc->after_mark && fc->proven) { /* a blocking command went ahead on its own connection */
        char tk[24], mk[24];
        data_arg a[4];
        mark_args(f, "AFTER", fc->after_mark, tk, mk, a);
        add_command(obuf(fc), 4, a); /* no reply (node.c node_take_after) */
        fc->after_mark = 0;
    }
    *out = fc;
    return 0;
}

static bool is_cmd(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

int fwd_send_blocking(fwd *f, const char *addr, client *c, int argc, const data_arg *argv,
                      int repeats)
{
    int proto = f->n->host->reply->is_resp3(c->conn) ? 3 : 2;
    fconn *fc = c->relay;
    if (!fc) {
        fc = calloc(1, sizeof(*fc));
        if (!fc) return -ENOMEM;
        fc->f = f;
        fc->fd = -1;
        fc->owner = c;
        resp_buf_init(&fc->out);
        resp_buf_init(&fc->held);
        fc->next = f->own;
        f->own = fc;
        c->relay = fc;
    }
    SYN_ASSERT(fc->w_n == 0); /* the client waited for every earlier reply */
    if (fc->fd >= 0 && (strcmp(fc->addr, addr) != 0 || fc->proto != proto))
        fconn_close(fc, "leader or protocol changed");
    fc->proto = proto;
    if (fc->fd < 0) {
        int rc = fconn_start(f, fc, addr);
        if (rc < 0) {
            fconn_close(fc, "cannot connect");
            return rc;
        }
    }
    if (select_user(fc, c) < 0 || select_db(fc, c->db) < 0 ||
        reserve_waiters(fc, (size_t)repeats + 1) < 0) {
        fconn_close(fc, "out of memory");
        return -ENOMEM;
    }
    /* Blocking commands keep their place: it goes as SYNOD MARK <token> <mark> <command> (each
     * pipelined repeat too) and the next request relayed on a shared connection waits on the leader
     * for that mark (SYNOD AFTER, node.c), so a write another client sends here after this command
     * (a DEL of the key it waits on) does not overtake it on its way to the leader. Proven relays
     * only: the leader takes them as a relay's (node_take_mark), where a plain one's refused SYNOD
     * FORWARDED would leave them to be answered as unknown commands. */
    const data_arg *send = argv;
    int send_argc = argc;
    data_arg *marked = NULL;
    char tk[24], mk[24], nid[24], cid[24], sq[24];
    if (fc->proven) {
        /* a client that asks for its origin (CLIENT TRACKING) names it too, as add_request
         * does: the leader's retry entries that serve it name it (node_block.c) */
        int o = c->wants_origin && repeats == 0 ? 5 : 0;
        marked = malloc((size_t)(argc + 4 + o) * sizeof(*marked));
        if (!marked) {
            fconn_close(fc, "out of memory");
            return -ENOMEM;
        }
        mark_args(f, "MARK", ++f->marks, tk, mk, marked);
        if (o) {
            marked[4] = (data_arg){"SYNOD", 5};
            marked[5] = (data_arg){"ORIGIN", 6};
            marked[6] = (data_arg){nid, (size_t)snprintf(nid, sizeof(nid), "%llu",
                                                         (unsigned long long)f->n->origin_token)};
            marked[7] = (data_arg){
                cid, (size_t)snprintf(cid, sizeof(cid), "%llu", (unsigned long long)c->id)};
            marked[8] = (data_arg){sq, (size_t)snprintf(sq, sizeof(sq), "%llu",
                                                        (unsigned long long)c->relay_sent + 1)};
        }
        memcpy(marked + 4 + o, argv, (size_t)argc * sizeof(*argv));
        send = marked;
        send_argc = argc + 4 + o;
        for (int i = 0; i < 2; i++)
            f->conns[i].after_mark = f->marks;
    }
    /* identical pipelined pops go together: the leader runs them as one entry (node_block.c),
     * when their bytes are identical (each with the mark) */
    for (int i = 0; i <= repeats; i++) {
        int prc = push_waiter(fc, c);
        SYN_ASSERT(prc == 0); /* reserved */
        add_command(obuf(fc), send_argc, send);
        c->n_async++;
    }
    free(marked);
    fc->last_progress_ms = net_mono_ms();
    c->async_kind = ASYNC_BLOCK;
    if (!fc->connecting) (void)fconn_write(fc);
    return 0;
}

/* Forgets c as fc's waiter (it is answered elsewhere, or gone) and closes fc: the leader then
 * forgets the command (its client left) unless it already served it. */
static void own_abandon(fconn *fc, client *c)
{
    for (size_t i = 0; i < fc->w_n; i++)
        if (fc->w[(fc->w_head + i) % fc->w_cap] == c) fc->w[(fc->w_head + i) % fc->w_cap] = NULL;
    if (fc->fd >= 0) fconn_close(fc, "client unblocked or gone");
}

int fwd_unblock(fwd *f, client *c, int error)
{
    fconn *fc = c->relay;
    if (!fc || c->async_kind != ASYNC_BLOCK || !fc->w_n || fc->fd < 0) return 0;
    if (fc->unblocked_req == fc->replies + 1) return 0; /* already asked: its reply is to come */
    /* Asked on its own connection, behind the request: the leader takes it even while that
     * request blocks (and unblocks it once it blocks, if it has not yet), without a reply. So
     * whatever the leader answered before (a pop served just then) still comes back, and the
     * requests pipelined behind go on, as in Redis. */
    data_arg a[3] = {{"SYNOD", 5}, {"UNBLOCK-SELF", 12}, {"TIMEOUT", 7}};
    if (error) a[2] = (data_arg){"ERROR", 5};
    add_command(obuf(fc), 3, a);
    fc->unblocked_req = fc->replies + 1;
    if (!fc->connecting) (void)fconn_write(fc);
    (void)f;
    return 1;
}

/* Replicated state a follower reads itself (settings, users, the script cache and function
 * library: CONFIG GET, INFO, SCRIPT EXISTS, a prelude...): such a request's reply waits until
 * this node has applied its entry too, so the client's next request here sees it. */
static bool awaits_apply(int argc, const data_arg *argv)
{
    if (argc < 2) return false;
    if (is_cmd(&argv[0], "config_effect") || is_cmd(&argv[0], "acl_effect")) return true;
    if (is_cmd(&argv[0], "script")) return is_cmd(&argv[1], "load") || is_cmd(&argv[1], "flush");
    if (is_cmd(&argv[0], "function"))
        return is_cmd(&argv[1], "load") || is_cmd(&argv[1], "delete") ||
               is_cmd(&argv[1], "flush") || is_cmd(&argv[1], "restore");
    return false;
}

/* c's request number seq as SYNOD ORIGIN <this run's token> <c's id> <seq> <request...> when c asks
 * for it (node.h wants_origin: CLIENT TRACKING), it is a script call or its reply is to wait
 * for the entry here (await_own: node.c observed; awaits_apply), and the leader takes this
 * relay as a member's (its entries then name them); else as it is */
static void add_request(fwd *f, fconn *fc, client *c, uint64_t seq, int argc, const data_arg *argv,
                        bool await_own)
{
    bool await = awaits_apply(argc, argv) || await_own;
    bool script = script_is_call(argc, argv) && !c->prelude_whole;
    if (!fc->proven || !(c->wants_origin || await || script)) {
        add_command(obuf(fc), argc, argv);
        return;
    }
    /* a script that ran whole here (its calls counted then) and goes with its origin (a
     * tracking client's: it tracks the keys it read when applied; or awaited): not counted again */
    if (c->prelude_whole) c->whole_seq = seq;
    if (await) { /* its reply waits for the entry here (deliver) */
        if (c->await_seq <= c->relay_answered) c->await_first = seq; /* none outstanding */
        c->await_seq = seq;
    }
    char nid[24], cid[24], sq[24];
    int nl = snprintf(nid, sizeof(nid), "%llu", (unsigned long long)f->n->origin_token);
    int cl = snprintf(cid, sizeof(cid), "%llu", (unsigned long long)c->id);
    int sl = snprintf(sq, sizeof(sq), "%llu", (unsigned long long)seq);
    data_arg *a = malloc((size_t)(argc + 5) * sizeof(*a));
    SYN_ASSERT(a != NULL);
    a[0] = (data_arg){"SYNOD", 5};
    a[1] = (data_arg){"ORIGIN", 6};
    a[2] = (data_arg){nid, (size_t)nl};
    a[3] = (data_arg){cid, (size_t)cl};
    a[4] = (data_arg){sq, (size_t)sl};
    memcpy(a + 5, argv, (size_t)argc * sizeof(*a));
    add_command(obuf(fc), argc + 5, a);
    free(a);
}

int fwd_send_multi(fwd *f, const char *addr, client *c)
{
    fconn *fc;
    int rc = conn_for(f, addr, c, &fc);
    if (rc < 0) return rc;
    /* contiguous on the shared connection: nothing of another client can come in between */
    const node_host *h = f->n->host;
    if ((size_t)h->multi_count(c->conn) + 3 > FWD_WAITERS_MAX - fc->w_n) return -EAGAIN;
    bool was_idle = fc->w_n == 0;
    if (select_user(fc, c) < 0 || select_db(fc, c->db) < 0) return -ENOMEM;
    if (c->n_watch) { /* the leader checks them (node_watch.c) */
        data_arg *wa;
        char *wb;
        int wn = nwatch_encode(c, &wa, &wb);
        add_command(obuf(fc), wn, wa);
        free(wa);
        free(wb);
        if (push_waiter(fc, NULL) < 0) return -ENOMEM;
    }
    data_arg m[1] = {{"MULTI", 5}};
    add_command(obuf(fc), 1, m);
    if (push_waiter(fc, NULL) < 0) return -ENOMEM;
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k, index = 0;
    int db = c->db;
    struct nexec_plan *plan = NULL;
    static const data_arg ping[1] = {{"PING", 4}};
    while ((k = h->multi_next(c->conn, &off, &argv, &cap)) > 0) {
        long long sel;
        if (k == 2 && is_cmd(&argv[0], "select") && syn_string2ll(argv[1].ptr, argv[1].len, &sel) &&
            sel >= 0 && sel < data_databases(f->n->ds))
            db = (int)sel;
        bool local = h->multi_local && h->multi_local(c->conn, k, argv);
        bool pub = !local && npubsub_receivers(f->n, k, argv) >= 0;
        if ((local || pub) && ((!plan && !(plan = calloc(1, sizeof(*plan)))) ||
                               plan_add(plan, index, local, k, argv) < 0)) {
            plan_free(plan);
            free(argv);
            return -ENOMEM;
        }
        index++;
        add_command(obuf(fc), local ? 1 : k, local ? ping : argv);
        if (push_waiter(fc, NULL) < 0) { /* the +QUEUED replies are dropped */
            plan_free(plan);
            free(argv);
            return -ENOMEM;
        }
    }
    free(argv);
    data_arg e[1] = {{"EXEC", 4}};
    /* EXEC's waiter is pushed next; a reply with a plan is rewritten as it comes (deliver):
     * never held for the apply here */
    add_request(f, fc, c, c->relay_sent + 1, 1, e, c->await_own && !plan);
    if (push_waiter(fc, c) < 0) {
        plan_free(plan);
        return -ENOMEM;
    }
    c->exec_seq = c->relay_sent;
    c->exec_relayed = true;
    if (plan) {
        plan->seq = c->relay_sent;
        plan->n_cmds = index;
        plan_free(c->exec_plan);
        c->exec_plan = plan;
    }
    if (db != c->db) {
        /* a SELECT inside: the client is in that database after EXEC if the transaction runs
         * (as in Redis): decided by EXEC's reply (exec_db_done), its next command waits */
        c->exec_db = db;
        c->exec_db_seq = c->relay_sent;
        fc->db = -1; /* the leader's side is in either: the next command selects */
    }
    if (was_idle) fc->last_progress_ms = net_mono_ms();
    c->n_async++;
    c->async_kind = ASYNC_FWD;
    if (!fc->connecting) (void)fconn_write(fc);
    return 0;
}

static int send_cmd(fwd *f, const char *addr, client *c, int argc, const data_arg *argv,
                    bool prelude, long long pub)
{
    fconn *fc;
    int rc = conn_for(f, addr, c, &fc);
    if (rc < 0) return rc;
    bool was_idle = fc->w_n == 0;
    rc = select_user(fc, c);
    if (rc == 0) rc = select_db(fc, c->db);
    if (rc == 0 && prelude) {
        static const data_arg pre[2] = {{"SYNOD", 5}, {"PRELUDE", 7}};
        rc = push_waiter(fc, NULL);
        if (rc == 0) add_command(obuf(fc), 2, pre);
    }
    if (rc == 0) rc = push_waiter_pub(fc, c, pub);
    if (rc < 0) return rc;
    if (was_idle) fc->last_progress_ms = net_mono_ms();
    add_request(f, fc, c, c->relay_sent, argc, argv, c->await_own);
    c->n_async++;
    c->async_kind = ASYNC_FWD;
    if (!fc->connecting) (void)fconn_write(fc);
    return 0;
}

int fwd_send_quiet(fwd *f, const char *addr, client *c, int argc, const data_arg *argv)
{
    fconn *fc;
    int rc = conn_for(f, addr, c, &fc);
    if (rc < 0) return rc;
    bool was_idle = fc->w_n == 0;
    rc = select_user(fc, c);
    if (rc == 0) rc = push_waiter(fc, NULL);
    if (rc < 0) return rc;
    add_command(obuf(fc), argc, argv);
    if (was_idle) fc->last_progress_ms = net_mono_ms();
    if (!fc->connecting) (void)fconn_write(fc);
    return 0;
}

long long fwd_ask_evictions(fwd *f, const char *addr, client *c, long long bytes)
{
    fconn *fc;
    int rc = conn_for(f, addr, c, &fc);
    if (rc < 0) return rc;
    bool was_idle = fc->w_n == 0;
    rc = push_waiter(fc, &mark_evict);
    if (rc < 0) return rc;
    char num[24];
    data_arg a[3] = {{"SYNOD", 5}, {"EVICTIONS", 9}, {num, 0}};
    a[2].len = (size_t)snprintf(num, sizeof(num), "%lld", bytes);
    add_command(obuf(fc), 3, a);
    if (was_idle) fc->last_progress_ms = net_mono_ms();
    if (!fc->connecting) (void)fconn_write(fc);
    return (long long)++fc->evict_asks;
}

bool fwd_evictions_answered(fwd *f, client *c, uint64_t ask)
{
    return f->conns[f->n->host->reply->is_resp3(c->conn) ? 1 : 0].evict_answers >= ask;
}

int fwd_send(fwd *f, const char *addr, client *c, int argc, const data_arg *argv)
{
    return send_cmd(f, addr, c, argc, argv, false, -1);
}

int fwd_send_publish(fwd *f, const char *addr, client *c, int argc, const data_arg *argv,
                     long long receivers)
{
    return send_cmd(f, addr, c, argc, argv, false, receivers);
}

int fwd_send_prelude(fwd *f, const char *addr, client *c, int argc, const data_arg *argv)
{
    return send_cmd(f, addr, c, argc, argv, true, -1);
}

static void own_free(fconn *fc)
{
    if (fc->fd >= 0) fconn_close(fc, "shutdown");
    resp_buf_deinit(&fc->out);
    resp_buf_deinit(&fc->held);
    free(fc->user);
    free(fc->in);
    free(fc->w);
    free(fc->wpub);
    free(fc);
}

void fwd_client_freed(fwd *f, client *c)
{
    plan_free(c->exec_plan);
    c->exec_plan = NULL;
    if (c->relay) {
        fconn *fc = c->relay;
        own_abandon(fc, c);
        for (fconn **pp = &f->own; *pp; pp = &(*pp)->next)
            if (*pp == fc) {
                *pp = fc->next;
                break;
            }
        own_free(fc);
        c->relay = NULL;
    }
    for (int k = 0; k < 2; k++) {
        fconn *fc = &f->conns[k];
        for (size_t i = 0; i < fc->w_n; i++)
            if (fc->w[(fc->w_head + i) % fc->w_cap] == c)
                fc->w[(fc->w_head + i) % fc->w_cap] = NULL;
    }
}

static int64_t fwd_timer(net_loop *l, uint64_t id, void *ctx)
{
    (void)l, (void)id;
    fwd *f = ctx;
    int64_t now = net_mono_ms();
    for (int k = 0; k < 2; k++) {
        fconn *fc = &f->conns[k];
        if (fc->fd < 0 || !fc->w_n) continue;
        /* a leader still heard from is only slow to answer (CLIENT PAUSE there, a long
         * command): its replies will come; a silent one is given up */
        if (now - fc->last_progress_ms > FWD_TIMEOUT_MS &&
            (now - node_leader_heard_ms(f->n) > FWD_TIMEOUT_MS ||
             now - fc->last_progress_ms > FWD_HARD_TIMEOUT_MS)) {
            fconn_close(fc, "no reply in time");
        } else if (now - fc->last_progress_ms > FWD_STALE_MS &&
                   strcmp(fc->addr, node_leader_client_addr(f->n)) != 0) {
            /* another node leads now and this one is silent: new requests wait behind these
             * (replies go out in order), so give up on them sooner than FWD_TIMEOUT_MS */
            fconn_close(fc, "former leader silent");
        }
    }
    /* a blocked command may wait for ever; it is given up only if the connection is not up in
     * time or another node leads (the former leader, if alive, also fails it then) */
    for (fconn *fc = f->own; fc; fc = fc->next) {
        if (fc->fd < 0 || !fc->w_n) continue;
        if (fc->connecting && now - fc->last_progress_ms > FWD_TIMEOUT_MS)
            fconn_close(fc, "no connection in time");
        else if (strcmp(fc->addr, node_leader_client_addr(f->n)) != 0)
            fconn_close(fc, "leader changed");
    }
    return 200;
}

fwd *fwd_create(node *n)
{
    fwd *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->n = n;
    for (int k = 0; k < 2; k++) {
        f->conns[k].f = f;
        f->conns[k].fd = -1;
        f->conns[k].proto = k ? 3 : 2;
        resp_buf_init(&f->conns[k].out);
        resp_buf_init(&f->conns[k].held);
    }
    f->timer = net_timer_add(n->loop, 200, fwd_timer, f);
    if (!f->timer) {
        free(f);
        return NULL;
    }
    return f;
}

void fwd_destroy(fwd *f)
{
    for (int k = 0; k < 2; k++) {
        fconn *fc = &f->conns[k];
        fconn_close(fc, "shutdown");
        resp_buf_deinit(&fc->out);
        resp_buf_deinit(&fc->held);
        free(fc->in);
        free(fc->w);
        free(fc->wpub);
    }
    while (f->own) {
        fconn *fc = f->own;
        f->own = fc->next;
        if (fc->owner) fc->owner->relay = NULL;
        own_free(fc);
    }
    (void)net_timer_cancel(f->n->loop, f->timer);
    free(f);
}
