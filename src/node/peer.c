/* peer.c — the peer transport (see peer.h). */
#include "node/peer.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/frame.h"
#include "net/peerauth.h"
#include "resp/resp.h"
#include "node/raftcodec.h"
#include "node/node.h"
#include "util/log.h"
#include "util/assert.h"

#define PEER_LINKS_MAX     (2 * RAFT_MAX_MEMBERS)
#define PEER_INBOUND_MAX   64
#define PEER_PREAUTH_MAX   16 /* inbound connections not yet authenticated (oldest evicted) */
#define PEER_PREAUTH_FRAME (4u << 10)  /* largest frame before the handshake completes */
#define PEER_HANDSHAKE_MS  2000        /* a handshake not done by then is closed */
#define PEER_OUT_MAX_BYTES (64u << 20) /* queued bytes per connection; beyond: drop batches */
#define PEER_BATCH_MAX     (8u << 20)  /* a batch frame is closed past this many bytes */
#define PEER_TIMER_MS      50
#define PEER_FRAME_MAX     (128u << 20) /* largest frame accepted from a peer */
#define PEER_PING_MS       200
#define PEER_SILENT_MS     1500
#define PEER_CONNECT_MS    1000
#define PEER_BACKOFF_MIN   100
#define PEER_BACKOFF_MAX   2000
#define PEER_HELD_MS       60    /* no loop pass for this long: the loop is held (peer_watch) */
#define PEER_WATCH_MS      20    /* how often the watcher looks */
#define PEER_KEEPALIVE_MS  40    /* a held leader's keepalives: one heartbeat period (2 ticks) */
#define PEER_HELD_PING_MS  30000 /* a held loop's links are kept alive this long at most */

/* C_TLS: TLS handshake under way (tls-cluster; the certificates are checked there);
 * C_HANDSHAKE: hello sent or awaited; C_AUTH: hellos exchanged, waiting for the other side's
 * proof of the cluster secret; C_READY: authenticated, consensus frames flow. Every state before
 * C_READY counts as unauthenticated (slots, deadline, frame size). */
enum { C_IDLE, C_CONNECTING, C_TLS, C_HANDSHAKE, C_AUTH, C_READY };

typedef struct pconn {
    peer_net *pn;
    int fd; /* -1 when closed */
    int state;
    net_tls *tls;     /* tls-cluster: the TLS session on fd (NULL: plain TCP) */
    int tls_want;     /* C_TLS: the readiness the handshake waits for */
    bool rd_wants_wr; /* a TLS read waits for the fd to be writable */
    bool wr_wants_rd; /* a TLS write waits for the fd to be readable */
    bool outbound;
    bool close_after_write; /* a REJECT was queued */
    raft_id id;             /* outbound: the node dialled; inbound: learned from its hello */
    uint8_t *in;            /* in[0..in_len) received, not yet a whole frame */
    size_t in_len, in_cap;
    resp_buf out; /* out.data[out_sent..out.len) not yet written */
    size_t out_sent;
    int64_t since_ms, last_rx_ms, last_tx_ms;
    uint64_t incarnation;             /* inbound: the peer process's, from its hello */
    char remote_ip[INET6_ADDRSTRLEN]; /* inbound: the connection's source address */
    /* the two hello payloads as sent (the transcript the proofs cover) */
    uint8_t hello_mine[FRAME_HELLO_MAX_BYTES], hello_theirs[FRAME_HELLO_MAX_BYTES];
    uint32_t hello_mine_len, hello_theirs_len;
} pconn;

typedef struct {
    raft_id id; /* 0 = free slot */
    char addr[FRAME_ADDR_MAX + 1];
    pconn c;
    int64_t next_try_ms;
    int backoff_ms;
    resp_buf batch; /* u32 count, then u32 len + message, ... (raftcodec.h) */
    uint32_t batch_n;
    pconn *in;        /* the authenticated inbound connection from this node, if any */
    bool warned_addr; /* a connection from the wrong address was logged */
    bool warned_data; /* a refused data id was logged */
    bool warned_tls;  /* a failed TLS handshake on the outbound link was logged */
    bool lost;        /* messages to or from this peer were lost since peer_net_take_unreachable */
} plink;

typedef struct {
    raft_id id;
    char addr[FRAME_ADDR_MAX + 1];
    char relay[FRAME_ADDR_MAX + 1]; /* its relay address ("" = relays use addr) */
} caddr_entry;

struct peer_net {
    net_loop *loop;
    raft_id self;
    char cluster_id[FRAME_CLUSTER_ID_MAX + 1];
    char client_addr[FRAME_ADDR_MAX + 1];
    char bind_host[FRAME_ADDR_MAX + 1]; /* outbound connections leave from this address */
    uint8_t secret[NODE_SECRET_MAX];
    size_t secret_len; /* 0: no cluster secret (loopback only, config.c) */
    uint64_t incarnation;
    uint8_t data_id[FRAME_DATA_ID_BYTES];
    bool (*is_member)(void *ctx, raft_id id);
    int (*check_peer)(void *ctx, raft_id id, const uint8_t *data_id, char *err, size_t err_len);
    raft_id warned_ids[8]; /* non-members whose connection was logged (once each) */
    uint32_t warned_next;
    peer_msg_cb on_msg;
    void (*on_alive)(void *ctx, raft_id id);
    void *ctx;
    int lfd;
    uint64_t timer;
    int64_t timer_ran_ms; /* peer_timer's last run (a late one: this loop stalled) */
    plink links[PEER_LINKS_MAX];
    pconn *inbound[PEER_INBOUND_MAX];
    caddr_entry caddrs[PEER_LINKS_MAX];
    rcodec_scratch scratch;
    net_tls_ctx *tls_accept, *tls_dial; /* tls-cluster (borrowed), else NULL */
    char relay_addr[FRAME_ADDR_MAX + 1];
    int64_t tls_warned_ms; /* the last failed inbound TLS handshake logged (one per 10 s) */
    /* The held-loop watcher (peer_watch). mu guards everything above: every entry point from
     * the loop takes it (peer_lock), and the watcher takes it to write to the connections
     * while the loop is held elsewhere. */
    pthread_mutex_t mu;
    pthread_mutex_t wmu; /* the watcher's sleep and stop */
    pthread_cond_t watch_cv;
    pthread_t watch_th;
    bool watch_on, watch_stop; /* watch_stop under wmu */
    _Atomic int64_t alive_ms;  /* the loop's last pass through this module */
    _Atomic int64_t hold_ms;   /* a held loop is spoken for this long at most */
    _Atomic uint64_t keepalives;
    raft_message ka[RAFT_MAX_MEMBERS]; /* a leader's keepalives (peer_net_set_keepalives) */
    size_t ka_n;
    int64_t ka_sent_ms;
    bool watch_wrote; /* the watcher left bytes in some connection's output */
    int depth;        /* the loop's nesting of entry points */
};

/* The loop's entry points nest (a message handed to on_msg may come back to peer_net_*): mu is
 * recursive, and only the outermost unlock does the loop's part of the watcher's work. */
static void peer_lock(peer_net *pn)
{
    pthread_mutex_lock(&pn->mu);
    pn->depth++;
}

static void conn_write_pending(peer_net *pn);

/* Leaving an entry point: the loop is alive; what the watcher could not write goes now. */
static void peer_unlock(peer_net *pn)
{
    if (--pn->depth == 0) {
        atomic_store_explicit(&pn->alive_ms, net_mono_ms(), memory_order_relaxed);
        if (pn->watch_wrote) conn_write_pending(pn);
    }
    pthread_mutex_unlock(&pn->mu);
}

static void conn_io(net_loop *l, int fd, int events, void *ctx);

static plink *link_of(const peer_net *pn, raft_id id)
{
    for (int i = 0; i < PEER_LINKS_MAX; i++)
        if (pn->links[i].id == id) return (plink *)&pn->links[i];
    return NULL;
}

static void set_client_addr(peer_net *pn, raft_id id, const char *addr, const char *relay)
{
    caddr_entry *e = NULL;
    for (int i = 0; i < PEER_LINKS_MAX && !e; i++)
        if (pn->caddrs[i].id == id) e = &pn->caddrs[i];
    for (int i = 0; i < PEER_LINKS_MAX && !e; i++)
        if (!pn->caddrs[i].id) e = &pn->caddrs[i];
    if (!e) return;
    e->id = id;
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    snprintf(e->relay, sizeof(e->relay), "%s", relay);
}

const char *peer_net_relay_addr(const peer_net *pn, const char *client_addr)
{
    for (int i = 0; i < PEER_LINKS_MAX; i++)
        if (pn->caddrs[i].id && strcmp(pn->caddrs[i].addr, client_addr) == 0)
            return pn->caddrs[i].relay;
    return "";
}

const char *peer_net_client_addr(const peer_net *pn, raft_id id)
{
    for (int i = 0; i < PEER_LINKS_MAX; i++)
        if (pn->caddrs[i].id == id) return pn->caddrs[i].addr;
    return "";
}

const char *peer_net_addr(const peer_net *pn, raft_id id)
{
    plink *lk = link_of(pn, id);
    return lk ? lk->addr : NULL;
}

/* --- connections --------------------------------------------------------------------------- */

static void conn_update_watch(pconn *c)
{
    int mask = NET_READABLE;
    if (c->state == C_CONNECTING || c->out_sent < c->out.len || c->rd_wants_wr)
        mask |= NET_WRITABLE;
    if (c->state == C_TLS) mask = c->tls_want;
    if (net_loop_mask(c->pn->loop, c->fd) != mask)
        (void)net_loop_watch(c->pn->loop, c->fd, mask, conn_io, c);
}

static void conn_reset(pconn *c)
{
    if (c->fd >= 0) {
        (void)net_loop_watch(c->pn->loop, c->fd, 0, NULL, NULL);
        net_tls_free(c->tls);             /* close_notify, best effort, before the fd goes */
        (void)shutdown(c->fd, SHUT_RDWR); /* ends now though a forked child holds a copy */
        close(c->fd);
    }
    c->tls = NULL;
    c->rd_wants_wr = c->wr_wants_rd = false;
    c->fd = -1;
    c->state = C_IDLE;
    c->close_after_write = false;
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    resp_buf_deinit(&c->out);
    resp_buf_init(&c->out);
    c->out_sent = 0;
}

/* Closes c: an outbound link retries later, an inbound connection is freed. */
static void conn_close(pconn *c, const char *why)
{
    peer_net *pn = c->pn;
    if (c->outbound) {
        plink *lk = link_of(pn, c->id);
        SYN_ASSERT(lk != NULL);
        if (c->state == C_READY)
            syn_log(SYN_LOG_WARN, "peer link to node %llu (%s) closed: %s",
                    (unsigned long long)c->id, lk->addr, why);
        /* what it still queued, or wrote but the peer never read, is gone */
        if (c->state == C_READY || lk->batch_n) lk->lost = true;
        conn_reset(c);
        lk->backoff_ms = lk->backoff_ms ? lk->backoff_ms * 2 : PEER_BACKOFF_MIN;
        if (lk->backoff_ms > PEER_BACKOFF_MAX) lk->backoff_ms = PEER_BACKOFF_MAX;
        lk->next_try_ms = net_mono_ms() + lk->backoff_ms;
        lk->batch.len = 0;
        lk->batch_n = 0;
        return;
    }
    if (c->state == C_READY)
        syn_log(SYN_LOG_INFO, "peer connection from node %llu closed: %s",
                (unsigned long long)c->id, why);
    plink *from = c->id ? link_of(pn, c->id) : NULL;
    if (from && from->in == c) from->in = NULL;
    /* what the peer sent us on it and we did not read (its acknowledgements) is gone */
    if (from && c->state == C_READY) from->lost = true;
    conn_reset(c);
    for (int i = 0; i < PEER_INBOUND_MAX; i++)
        if (pn->inbound[i] == c) pn->inbound[i] = NULL;
    free(c);
}

/* The transport under the frames: TCP, or TLS under tls-cluster. Like read(2) / write(2) but
 * returning -errno (-EAGAIN: wait; for TLS the readiness it waits for is noted in c). */
static ssize_t conn_recv(pconn *c, void *buf, size_t cap)
{
    return net_stream_read(c->tls, c->fd, buf, cap, &c->rd_wants_wr);
}

static ssize_t conn_send(pconn *c, const void *buf, size_t len)
{
    return net_stream_write(c->tls, c->fd, buf, len, &c->wr_wants_rd);
}

static const char *conn_strerror(const pconn *c, ssize_t err)
{
    return net_stream_strerror(c->tls, err);
}

/* Writes what the socket takes. Returns 0, or -1 if the connection was closed. */
static int conn_write(pconn *c)
{
    while (c->out_sent < c->out.len) {
        ssize_t n = conn_send(c, c->out.data + c->out_sent, c->out.len - c->out_sent);
        if (n < 0) {
            if (n == -EINTR) continue;
            if (n == -EAGAIN) break;
            conn_close(c, conn_strerror(c, n));
            return -1;
        }
        c->out_sent += (size_t)n;
    }
    if (c->out_sent == c->out.len) {
        c->out.len = c->out_sent = 0;
        if (c->close_after_write) {
            conn_close(c, "handshake refused");
            return -1;
        }
    } else if (c->out_sent > (1u << 20)) {
        resp_buf_consume(&c->out, c->out_sent);
        c->out_sent = 0;
    }
    conn_update_watch(c);
    return 0;
}

static void conn_queue_frame(pconn *c, uint8_t type, const void *payload, uint32_t len)
{
    uint8_t hdr[FRAME_HEADER_BYTES];
    frame_write_header(hdr, type, payload, len);
    resp_buf_append(&c->out, hdr, sizeof(hdr));
    if (len) resp_buf_append(&c->out, payload, len);
    c->last_tx_ms = net_mono_ms();
}

static void send_hello(pconn *c, raft_id to)
{
    peer_net *pn = c->pn;
    frame_hello h;
    frame_hello_init(&h, pn->self, to, pn->cluster_id, pn->client_addr);
    h.flags = pn->secret_len ? FRAME_HELLO_F_SECRET : 0;
    h.incarnation = pn->incarnation;
    memcpy(h.data_id, pn->data_id, sizeof(h.data_id));
    h.relay_addr_len = (uint8_t)strlen(pn->relay_addr);
    memcpy(h.relay_addr, pn->relay_addr, h.relay_addr_len);
    if (peerauth_random(h.nonce, sizeof(h.nonce)) < 0) {
        /* without a fresh nonce a proof could be replayed: no handshake at all */
        syn_log(SYN_LOG_WARN, "peer handshake: no random bytes from the kernel");
        memset(h.nonce, 0, sizeof(h.nonce));
        c->close_after_write = true;
    }
    long n = frame_hello_encode(&h, c->hello_mine, sizeof(c->hello_mine));
    SYN_ASSERT(n > 0);
    c->hello_mine_len = (uint32_t)n;
    conn_queue_frame(c, FRAME_T_HELLO, c->hello_mine, (uint32_t)n);
}

/* Refuses an inbound handshake: logs (once per cause when `once` is set), tells the peer why,
 * closes after the write. Returns 0 (the connection lives until the reason is written). */
static int refuse(pconn *c, const char *err, bool log)
{
    if (log)
        syn_log(SYN_LOG_WARN, "peer handshake refused (%s): %s",
                c->outbound ? "outbound" : "inbound", err);
    if (c->outbound) {
        conn_close(c, "handshake refused");
        return -1;
    }
    conn_queue_frame(c, FRAME_T_REJECT, err, (uint32_t)strlen(err));
    c->close_after_write = true;
    c->state = C_HANDSHAKE;
    return 0;
}

static bool warned_id(peer_net *pn, raft_id id)
{
    for (int i = 0; i < 8; i++)
        if (pn->warned_ids[i] == id) return true;
    pn->warned_ids[pn->warned_next++ % 8] = id;
    return false;
}

/* Does the inbound connection come from the address the member is configured with? Numeric
 * comparison of the source address with what the member's peer host resolves to. */
static bool addr_matches(const pconn *c, const plink *lk)
{
    char host[FRAME_ADDR_MAX + 1];
    int port;
    if (net_parse_hostport(lk->addr, host, sizeof(host), &port) < 0) return false;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) return false;
    bool ok = false;
    for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST) == 0)
            ok = strcmp(ip, c->remote_ip) == 0;
    }
    freeaddrinfo(res);
    return ok;
}

/* Trust only members: a node we have no address for is not in our configuration, and a member
 * must connect from its configured address. A second live process with the id of a connected
 * member is refused loudly. 0 = admitted, else the connection is being refused. */
static int admit_inbound(pconn *c, const frame_hello *theirs)
{
    peer_net *pn = c->pn;
    char err[640];
    plink *lk = link_of(pn, theirs->node_id);
    if (!lk || (pn->is_member && !pn->is_member(pn->ctx, theirs->node_id))) {
        snprintf(err, sizeof(err), "node %llu is not a member of this node's configuration",
                 (unsigned long long)theirs->node_id);
        return refuse(c, err, !warned_id(pn, theirs->node_id)) ? -1 : 1;
    }
    if (!addr_matches(c, lk)) {
        snprintf(err, sizeof(err),
                 "connection claiming node %llu comes from %s, but that member's address is %s",
                 (unsigned long long)theirs->node_id, c->remote_ip, lk->addr);
        bool log = !lk->warned_addr;
        lk->warned_addr = true;
        return refuse(c, err, log) ? -1 : 1;
    }
    pconn *old = lk->in;
    if (old && old != c && old->incarnation != theirs->incarnation &&
        net_mono_ms() - old->last_rx_ms <= PEER_SILENT_MS) {
        snprintf(err, sizeof(err),
                 "node %llu is already connected from a live process (incarnation %016llx); a "
                 "second process (incarnation %016llx) claims the same node id: refused. Two "
                 "processes must never share a node id",
                 (unsigned long long)theirs->node_id, (unsigned long long)old->incarnation,
                 (unsigned long long)theirs->incarnation);
        return refuse(c, err, true) ? -1 : 1;
    }
    return 0;
}

/* The handshake is complete: consensus frames may flow, unless the peer's data is not the data
 * the cluster knew (checked only now: an unauthenticated hello must not write the record).
 * Returns 0, or -1 if the connection was closed. */
static int conn_ready(pconn *c, const frame_hello *theirs)
{
    peer_net *pn = c->pn;
    char err[600];
    if (pn->check_peer &&
        pn->check_peer(pn->ctx, theirs->node_id, theirs->data_id, err, sizeof(err)) < 0) {
        plink *lk = link_of(pn, theirs->node_id);
        bool log = lk && !lk->warned_data;
        if (lk) lk->warned_data = true;
        return refuse(c, err, log) < 0 ? -1 : 0;
    }
    set_client_addr(pn, theirs->node_id, theirs->client_addr, theirs->relay_addr);
    if (c->outbound) {
        plink *lk = link_of(pn, c->id);
        lk->backoff_ms = 0;
        lk->warned_tls = false;
        syn_log(SYN_LOG_INFO, "peer link to node %llu (%s) up%s%s", (unsigned long long)c->id,
                lk->addr, c->tls ? ", TLS" : "", pn->secret_len ? ", authenticated" : "");
    } else {
        plink *lk = link_of(pn, c->id);
        if (lk->in && lk->in != c) conn_close(lk->in, "replaced by a new connection");
        lk->in = c;
    }
    c->state = C_READY;
    return 0;
}

static int send_proof(pconn *c)
{
    peer_net *pn = c->pn;
    uint8_t proof[PEERAUTH_PROOF_BYTES];
    const uint8_t *d = c->outbound ? c->hello_mine : c->hello_theirs;
    const uint8_t *a = c->outbound ? c->hello_theirs : c->hello_mine;
    uint32_t dl = c->outbound ? c->hello_mine_len : c->hello_theirs_len;
    uint32_t al = c->outbound ? c->hello_theirs_len : c->hello_mine_len;
    if (peerauth_proof(pn->secret, pn->secret_len,
                       c->outbound ? PEERAUTH_ROLE_DIALER : PEERAUTH_ROLE_ACCEPTOR, d, dl, a, al,
                       proof) < 0) {
        conn_close(c, "cannot compute the handshake proof");
        return -1;
    }
    conn_queue_frame(c, FRAME_T_AUTH, proof, sizeof(proof));
    return 0;
}

static bool proof_ok(pconn *c, const frame *f)
{
    peer_net *pn = c->pn;
    uint8_t want[PEERAUTH_PROOF_BYTES];
    const uint8_t *d = c->outbound ? c->hello_mine : c->hello_theirs;
    const uint8_t *a = c->outbound ? c->hello_theirs : c->hello_mine;
    uint32_t dl = c->outbound ? c->hello_mine_len : c->hello_theirs_len;
    uint32_t al = c->outbound ? c->hello_theirs_len : c->hello_mine_len;
    return f->len == PEERAUTH_PROOF_BYTES &&
           peerauth_proof(pn->secret, pn->secret_len,
                          c->outbound ? PEERAUTH_ROLE_ACCEPTOR : PEERAUTH_ROLE_DIALER, d, dl, a, al,
                          want) == 0 &&
           peerauth_equal(want, f->payload);
}

/* The handshake (docs/peer-protocol.md): HELLO each way; with a cluster secret each side then
 * proves it (FRAME_T_AUTH: the acceptor right after its hello, the dialer once the acceptor's
 * proof checked out). Nothing but these frames is accepted before C_READY. */
static int conn_handshake(pconn *c, const frame *f)
{
    peer_net *pn = c->pn;
    if (f->type == FRAME_T_REJECT && c->outbound) {
        syn_log(SYN_LOG_WARN, "node %llu refused our handshake: %.*s", (unsigned long long)c->id,
                (int)(f->len > 300 ? 300 : f->len), (const char *)f->payload);
        conn_close(c, "handshake refused by the peer");
        return -1;
    }
    if (c->close_after_write) return 0; /* refused: ignore what follows */
    if (c->state == C_AUTH) {
        if (f->type != FRAME_T_AUTH || !proof_ok(c, f)) {
            if (!c->outbound)
                syn_log(SYN_LOG_WARN,
                        "peer connection claiming node %llu from %s failed to "
                        "prove the cluster secret: closed",
                        (unsigned long long)c->id, c->remote_ip);
            else
                syn_log(SYN_LOG_WARN, "node %llu (%s) failed to prove the cluster secret",
                        (unsigned long long)c->id, link_of(pn, c->id)->addr);
            conn_close(c, "bad handshake proof");
            return -1;
        }
        frame_hello theirs;
        if (frame_hello_decode(c->hello_theirs, c->hello_theirs_len, &theirs) != FRAME_OK) {
            conn_close(c, "malformed hello");
            return -1;
        }
        if (c->outbound && send_proof(c) < 0) return -1;
        return conn_ready(c, &theirs);
    }
    if (f->type != FRAME_T_HELLO || f->len > sizeof(c->hello_theirs)) {
        conn_close(c, "first frame is not a hello");
        return -1;
    }
    frame_hello theirs, mine;
    if (frame_hello_decode(f->payload, f->len, &theirs) != FRAME_OK) {
        conn_close(c, "malformed hello");
        return -1;
    }
    memcpy(c->hello_theirs, f->payload, f->len);
    c->hello_theirs_len = f->len;
    frame_hello_init(&mine, pn->self, c->outbound ? c->id : 0, pn->cluster_id, pn->client_addr);
    char err[512];
    int rc = frame_hello_check(&mine, &theirs, err, sizeof(err));
    if (rc == FRAME_OK && theirs.node_id == pn->self) {
        rc = FRAME_ERR_HELLO_NODE;
        snprintf(err, sizeof(err), "peer claims this node's own id %llu",
                 (unsigned long long)pn->self);
    }
    if (rc == FRAME_OK && ((theirs.flags & FRAME_HELLO_F_SECRET) != 0) != (pn->secret_len > 0)) {
        rc = FRAME_ERR_HELLO_CLUSTER;
        snprintf(err, sizeof(err), "peer node %llu %s a cluster secret, this node (%llu) %s",
                 (unsigned long long)theirs.node_id,
                 theirs.flags & FRAME_HELLO_F_SECRET ? "uses" : "does not use",
                 (unsigned long long)pn->self, pn->secret_len ? "does" : "does not");
    }
    if (rc != FRAME_OK) return refuse(c, err, true);
    if (!c->outbound) {
        int a = admit_inbound(c, &theirs);
        if (a != 0) return a < 0 ? -1 : 0;
        c->id = theirs.node_id;
        c->incarnation = theirs.incarnation;
        send_hello(c, c->id);
        if (pn->secret_len) {
            if (send_proof(c) < 0) return -1;
            c->state = C_AUTH;
            return 0;
        }
    } else if (pn->secret_len) {
        c->state = C_AUTH; /* the acceptor's proof comes next */
        return 0;
    }
    return conn_ready(c, &theirs);
}

/* Handles one whole frame. Returns 0, or -1 if the connection was closed. */
static int conn_frame(pconn *c, const frame *f)
{
    peer_net *pn = c->pn;
    if (f->type == FRAME_T_PING) {
        /* a member whose loop is held lives (its watcher's ping, peer_watch) */
        if (c->state == C_READY && c->id && pn->on_alive && f->len == 1 &&
            f->payload[0] == FRAME_PING_HELD)
            pn->on_alive(pn->ctx, c->id);
        return 0;
    }
    if (c->state != C_READY) return conn_handshake(c, f);
    if (f->type != FRAME_T_RAFT || c->outbound || c->close_after_write) {
        if (f->type == FRAME_T_RAFT) return 0; /* not expected on this direction: ignore */
        conn_close(c, "unexpected frame type");
        return -1;
    }
    size_t off = 0;
    uint32_t left = 0;
    raft_message m;
    for (;;) {
        int rc = rcodec_batch_next(f->payload, f->len, &off, &left, &m, &pn->scratch);
        if (rc == 0) break;
        if (rc < 0) {
            conn_close(c, rc == RCODEC_ENOMEM ? "out of memory" : "malformed raft message");
            return -1;
        }
        if (m.from != c->id || m.to != pn->self) {
            conn_close(c, "raft message with wrong sender or destination");
            return -1;
        }
        pn->on_msg(pn->ctx, &m);
    }
    return 0;
}

static void conn_read(pconn *c)
{
    for (int round = 0; round < 16; round++) {
        /* before the handshake completes a stranger gets a few KiB of buffer, not 128 MiB */
        size_t max_cap = c->state == C_READY ? PEER_FRAME_MAX + FRAME_HEADER_BYTES + 128 * 1024
                                             : 2 * (PEER_PREAUTH_FRAME + FRAME_HEADER_BYTES);
        if (c->in_len == c->in_cap && c->in_cap >= max_cap) {
            conn_close(c, "input buffer full");
            return;
        }
        if (c->in_cap - c->in_len < 64 * 1024 && c->in_cap < max_cap) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : (c->state == C_READY ? 128 * 1024 : 4096);
            if (ncap > max_cap) ncap = max_cap;
            uint8_t *nb = realloc(c->in, ncap);
            if (!nb) {
                conn_close(c, "out of memory");
                return;
            }
            c->in = nb;
            c->in_cap = ncap;
        }
        ssize_t n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n < 0) {
            if (n == -EINTR) continue;
            if (n == -EAGAIN) {
                conn_update_watch(c); /* a TLS read may wait for writability */
                return;
            }
            conn_close(c, conn_strerror(c, n));
            return;
        }
        if (n == 0) {
            conn_close(c, "closed by the peer");
            return;
        }
        c->in_len += (size_t)n;
        c->last_rx_ms = net_mono_ms();
        size_t pos = 0;
        for (;;) {
            frame f;
            size_t used = 0;
            uint32_t max = c->state == C_READY ? PEER_FRAME_MAX : PEER_PREAUTH_FRAME;
            int rc = frame_decode(c->in + pos, c->in_len - pos, max, &f, &used, NULL);
            if (rc == FRAME_INCOMPLETE) break;
            if (rc != FRAME_OK) {
                syn_log(SYN_LOG_WARN, "peer node %llu: bad frame (%s), closing",
                        (unsigned long long)c->id, frame_strerror(rc));
                conn_close(c, frame_strerror(rc));
                return;
            }
            if (conn_frame(c, &f) < 0) return;
            pos += used;
        }
        if (pos) {
            memmove(c->in, c->in + pos, c->in_len - pos);
            c->in_len -= pos;
        }
        if (c->out_sent < c->out.len && conn_write(c) < 0) return;
        /* a short read drained the socket, unless TLS holds decrypted bytes epoll cannot see */
        if ((size_t)n < c->in_cap - c->in_len && !(c->tls && net_tls_has_pending(c->tls))) break;
    }
}

/* Advances the TLS handshake of c (C_TLS); once done, the peer handshake starts (the dialer
 * sends its hello). A failed handshake (no certificate, one the CA did not sign, not TLS at
 * all) closes the connection; inbound failures are logged at most once per 10 s (a stranger
 * must not fill the log), outbound ones once per link until it comes up. */
static void conn_tls_step(pconn *c)
{
    peer_net *pn = c->pn;
    int rc = net_tls_handshake(c->tls);
    if (rc > 0) {
        c->tls_want = rc;
        conn_update_watch(c);
        return;
    }
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "TLS handshake failed: %s", net_tls_error(c->tls));
        if (c->outbound) {
            plink *lk = link_of(pn, c->id);
            if (!lk->warned_tls)
                syn_log(SYN_LOG_WARN, "peer link to node %llu (%s): %s", (unsigned long long)c->id,
                        lk->addr, why);
            lk->warned_tls = true;
        } else if (net_mono_ms() - pn->tls_warned_ms >= 10000 || !pn->tls_warned_ms) {
            pn->tls_warned_ms = net_mono_ms();
            syn_log(SYN_LOG_WARN,
                    "peer connection from %s: %s (further failures within 10 s "
                    "are not logged)",
                    c->remote_ip, why);
        }
        conn_close(c, why);
        return;
    }
    c->state = C_HANDSHAKE;
    if (c->outbound) {
        c->last_rx_ms = net_mono_ms();
        send_hello(c, c->id);
        (void)conn_write(c);
        return;
    }
    conn_update_watch(c);
    conn_read(c); /* the dialer's hello may have come with its last handshake message */
}

static void conn_io_body(net_loop *l, int fd, int events, void *ctx)
{
    (void)l;
    (void)fd;
    pconn *c = ctx;
    if (c->state == C_CONNECTING) {
        if (!(events & NET_WRITABLE)) return;
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
        if (err) {
            conn_close(c, strerror(err));
            return;
        }
        c->last_rx_ms = net_mono_ms();
        if (c->pn->tls_dial) {
            c->tls = net_tls_new(c->pn->tls_dial, c->fd);
            if (!c->tls) {
                conn_close(c, "out of memory");
                return;
            }
            c->state = C_TLS;
            conn_tls_step(c);
            return;
        }
        c->state = C_HANDSHAKE;
        send_hello(c, c->id);
        (void)conn_write(c);
        return;
    }
    if (c->state == C_TLS) {
        conn_tls_step(c);
        return;
    }
    bool rd = (events & NET_READABLE) != 0, wr = (events & NET_WRITABLE) != 0;
    if (c->rd_wants_wr && wr) rd = true; /* TLS: the read waited for writability */
    if (c->wr_wants_rd && rd) wr = true; /* and the write for readability */
    if (wr && conn_write(c) < 0) return;
    if (rd) {
        conn_read(c);
        return; /* c may be gone */
    }
}

/* Outbound connections leave from this node's peer address (when it is a specific one), so the
 * receiver's check of the source address against the member's address holds on machines with
 * several interfaces. Best effort: the receiver refuses and logs if it does not. */
static void bind_source(const peer_net *pn, int fd, int family)
{
    if (!pn->bind_host[0]) return;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(pn->bind_host, NULL, &hints, &res) != 0 || !res) return;
    (void)bind(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
}

static void link_connect(peer_net *pn, plink *lk)
{
    pconn *c = &lk->c;
    char host[FRAME_ADDR_MAX + 1], portstr[16];
    int port;
    if (net_parse_hostport(lk->addr, host, sizeof(host), &port) < 0) return;
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res) {
        lk->next_try_ms = net_mono_ms() + PEER_BACKOFF_MAX;
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        lk->next_try_ms = net_mono_ms() + PEER_BACKOFF_MAX;
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bind_source(pn, fd, res->ai_family);
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    c->fd = fd;
    c->since_ms = c->last_rx_ms = c->last_tx_ms = net_mono_ms();
    c->state = C_CONNECTING;
    if (rc < 0 && errno != EINPROGRESS) {
        conn_close(c, strerror(errno));
        return;
    }
    if (net_loop_watch(pn->loop, fd, NET_WRITABLE | NET_READABLE, conn_io, c) < 0)
        conn_close(c, "cannot watch the socket");
}

static int preauth_count(const peer_net *pn)
{
    int n = 0;
    for (int i = 0; i < PEER_INBOUND_MAX; i++)
        if (pn->inbound[i] && pn->inbound[i]->state != C_READY) n++;
    return n;
}

/* Makes room for a new inbound connection when the slots or the unauthenticated quota are
 * used up: the oldest unauthenticated connection goes (strangers trickling bytes cannot keep
 * a member out; a member's handshake takes one round trip). Returns a free slot, or -1 if every
 * slot holds an authenticated peer. */
static int evict_preauth(peer_net *pn, int free_slot)
{
    int oldest = -1;
    for (int i = 0; i < PEER_INBOUND_MAX; i++) {
        pconn *c = pn->inbound[i];
        if (c && c->state != C_READY && (oldest < 0 || c->since_ms < pn->inbound[oldest]->since_ms))
            oldest = i;
    }
    if (oldest < 0) return free_slot;
    conn_close(pn->inbound[oldest], "evicted: too many unauthenticated connections");
    return free_slot >= 0 ? free_slot : oldest;
}

/* The numeric source address of an accepted connection (IPv4-mapped IPv6 as plain IPv4). */
static void remote_ip_of(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    out[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) return;
    if (getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST))
        out[0] = '\0';
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
        memmove(out, out + 7, strlen(out + 7) + 1);
}

static void accept_body(net_loop *l, int lfd, int events, void *ctx)
{
    (void)events;
    peer_net *pn = ctx;
    for (int i = 0; i < 64; i++) {
        int fd = net_tcp_accept(lfd, NULL, 0);
        if (fd < 0) return;
        int slot = -1;
        for (int j = 0; j < PEER_INBOUND_MAX; j++)
            if (!pn->inbound[j]) {
                slot = j;
                break;
            }
        if (slot < 0 || preauth_count(pn) >= PEER_PREAUTH_MAX) slot = evict_preauth(pn, slot);
        pconn *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
        if (!c || fd >= net_loop_max_fds(l)) {
            free(c);
            close(fd);
            continue;
        }
        c->pn = pn;
        c->fd = fd;
        c->state = C_HANDSHAKE;
        if (pn->tls_accept) {
            c->tls = net_tls_new(pn->tls_accept, fd);
            if (!c->tls) {
                close(fd);
                free(c);
                continue;
            }
            c->state = C_TLS;
            c->tls_want = NET_READABLE; /* the ClientHello */
        }
        remote_ip_of(fd, c->remote_ip, sizeof(c->remote_ip));
        resp_buf_init(&c->out);
        c->since_ms = c->last_rx_ms = c->last_tx_ms = net_mono_ms();
        if (net_loop_watch(l, fd, NET_READABLE, conn_io, c) < 0) {
            net_tls_free(c->tls);
            close(fd);
            free(c);
            continue;
        }
        pn->inbound[slot] = c;
    }
}

/* Reconnects, pings and drops silent connections. */
static int64_t timer_body(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    peer_net *pn = ctx;
    int64_t now = net_mono_ms();
    /* This loop stalled (a long write script, a starved CPU, SIGSTOP): what the peers sent
     * meanwhile waits unread in the sockets, so silence is not judged on that time; every
     * connection gets a fresh PEER_SILENT_MS. (Closing them lost the messages in flight and put
     * every follower back to probing after each long script.) */
    bool stalled = pn->timer_ran_ms && now - pn->timer_ran_ms > PEER_SILENT_MS / 3;
    pn->timer_ran_ms = now;
    for (int i = 0; stalled && i < PEER_LINKS_MAX; i++)
        if (pn->links[i].id && pn->links[i].c.state == C_READY) pn->links[i].c.last_rx_ms = now;
    for (int i = 0; stalled && i < PEER_INBOUND_MAX; i++)
        if (pn->inbound[i]) pn->inbound[i]->last_rx_ms = now;
    for (int i = 0; i < PEER_LINKS_MAX; i++) {
        plink *lk = &pn->links[i];
        if (!lk->id) continue;
        pconn *c = &lk->c;
        if (c->state == C_IDLE) {
            if (now >= lk->next_try_ms) link_connect(pn, lk);
            continue;
        }
        if (c->state == C_CONNECTING) {
            if (now - c->since_ms > PEER_CONNECT_MS) conn_close(c, "connect timed out");
            continue;
        }
        if (c->state != C_READY && now - c->since_ms > PEER_HANDSHAKE_MS) {
            conn_close(c, "handshake not completed in time");
            continue;
        }
        if (now - c->last_rx_ms > PEER_SILENT_MS) {
            conn_close(c, "peer silent");
            continue;
        }
        if (now - c->last_tx_ms >= PEER_PING_MS && c->out_sent == c->out.len) {
            conn_queue_frame(c, FRAME_T_PING, NULL, 0);
            (void)conn_write(c);
        }
    }
    for (int i = 0; i < PEER_INBOUND_MAX; i++) {
        pconn *c = pn->inbound[i];
        if (!c) continue;
        if (c->state != C_READY && now - c->since_ms > PEER_HANDSHAKE_MS) {
            conn_close(c, "handshake not completed in time");
            continue;
        }
        if (now - c->last_rx_ms > PEER_SILENT_MS) {
            conn_close(c, "peer silent");
            continue;
        }
        if (c->state == C_READY && now - c->last_tx_ms >= PEER_PING_MS &&
            c->out_sent == c->out.len) {
            conn_queue_frame(c, FRAME_T_PING, NULL, 0);
            if (conn_write(c) < 0) continue;
        }
        /* decrypted bytes left in OpenSSL by a read that hit its round limit */
        if (c->tls && c->state == C_READY && net_tls_has_pending(c->tls)) conn_read(c);
    }
    return PEER_TIMER_MS;
}

/* The loop's callbacks, under mu (peer_lock). */
static void conn_io(net_loop *l, int fd, int events, void *ctx)
{
    peer_net *pn = ((pconn *)ctx)->pn; /* the connection may be freed inside */
    peer_lock(pn);
    conn_io_body(l, fd, events, ctx);
    peer_unlock(pn);
}

static void accept_cb(net_loop *l, int lfd, int events, void *ctx)
{
    peer_lock(ctx);
    accept_body(l, lfd, events, ctx);
    peer_unlock(ctx);
}

static int64_t peer_timer(net_loop *l, uint64_t id, void *ctx)
{
    peer_lock(ctx);
    int64_t next = timer_body(l, id, ctx);
    peer_unlock(ctx);
    return next;
}

static void link_close_batch(plink *lk);

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* --- the held-loop watcher ----------------------------------------------------------------- */

/* The loop can be held for longer than an election timeout by work that is not the peers': a
 * KEYS over millions of keys, a SORT, a huge DEL or FLUSHALL, a long transaction, a script, the
 * apply of a big entry. Meanwhile nothing of this module runs: a leader's followers hear nothing
 * and elect another (KEYS * over 3 million keys changed the term every time), and both ends
 * close the links as silent after PEER_SILENT_MS, losing what was in flight. So a thread looks
 * every PEER_WATCH_MS; once the loop has not passed through here for PEER_HELD_MS, it speaks for
 * it under mu (a stopped or dead process, SIGSTOP included, sends nothing):
 *   - a PING on every authenticated connection whose last frame is PEER_KEEPALIVE_MS old, for up
 *     to PEER_HELD_PING_MS of the hold: the links stay up, and a leader counts a follower that
 *     pings as active (on_alive, raft_peer_alive: a follower applying a long entry cannot
 *     answer; one CheckQuorum period is an election timeout, 240 ms at least);
 *   - when the loop left a leader's keepalives (peer_net_set_keepalives: heartbeats of a durable
 *     term with no commit index and no read round, raft_keepalive), one to each follower every
 *     PEER_KEEPALIVE_MS, for up to hold_ms of the hold (busy-reply-threshold: past it the
 *     followers may elect a leader that is not held).
 * It writes what the loop had queued on a connection first (messages not yet framed too: the
 * node hands peer_net_send only what may leave), and adds its frame only once that is all out (so a
 * frame never lands inside another); what the socket does not take stays queued, and the loop
 * writes it (and closes the connection on an error) at its next pass (conn_write_pending). */

static void watch_write(pconn *c)
{
    while (c->out_sent < c->out.len) {
        ssize_t n = conn_send(c, c->out.data + c->out_sent, c->out.len - c->out_sent);
        if (n == -EINTR) continue;
        if (n <= 0) break; /* the loop's next conn_write waits or closes */
        c->out_sent += (size_t)n;
    }
    if (c->out_sent == c->out.len)
        c->out.len = c->out_sent = 0;
    else
        c->pn->watch_wrote = true;
}

/* What c has queued first (the loop's appends wait there while it is held: a follower that read
 * the rest and then nothing would campaign); then m, a keepalive for c's peer, else a PING if one
 * is due. 1 if a frame of the watcher's went to c. */
static int watch_conn(pconn *c, int64_t now, const raft_message *m)
{
    if (!c || c->fd < 0 || c->state != C_READY) return 0;
    if (c->out_sent != c->out.len) {
        watch_write(c);
        if (c->out_sent != c->out.len) return 0; /* the socket is full */
    }
    if (m) {
        uint8_t b[256];
        size_t sz = rcodec_msg_size(m);
        if (sz + 8 > sizeof(b)) return 0; /* a heartbeat is a few dozen bytes */
        put32(b, 1);
        put32(b + 4, (uint32_t)sz);
        size_t w = rcodec_msg_encode(m, b + 8);
        SYN_ASSERT(w == sz);
        conn_queue_frame(c, FRAME_T_RAFT, b, (uint32_t)(8 + sz));
    } else if (now - c->last_tx_ms >= PEER_KEEPALIVE_MS) {
        uint8_t held = FRAME_PING_HELD;
        conn_queue_frame(c, FRAME_T_PING, &held, 1);
    } else {
        return 0;
    }
    watch_write(c);
    return 1;
}

static void watch_pass(peer_net *pn)
{
    int64_t now = net_mono_ms();
    int64_t held = now - atomic_load_explicit(&pn->alive_ms, memory_order_relaxed);
    if (held < PEER_HELD_MS || held >= PEER_HELD_PING_MS) return;
    bool ka = pn->ka_n && now - pn->ka_sent_ms >= PEER_KEEPALIVE_MS &&
              held < atomic_load_explicit(&pn->hold_ms, memory_order_relaxed);
    if (ka) pn->ka_sent_ms = now;
    for (int i = 0; i < PEER_LINKS_MAX; i++) {
        plink *lk = &pn->links[i];
        if (!lk->id) continue;
        /* what the loop queued before it was held (a commit index the followers wait for while
         * this leader applies a long entry) goes too, as its next flush would send it */
        if (lk->batch_n && lk->c.state == C_READY) link_close_batch(lk);
        const raft_message *m = NULL;
        for (size_t k = 0; ka && k < pn->ka_n && !m; k++)
            if (pn->ka[k].to == lk->id) m = &pn->ka[k];
        if (watch_conn(&lk->c, now, m) && m)
            atomic_fetch_add_explicit(&pn->keepalives, 1, memory_order_relaxed);
    }
    for (int i = 0; i < PEER_INBOUND_MAX; i++)
        (void)watch_conn(pn->inbound[i], now, NULL);
}

static void *watch_main(void *arg)
{
    peer_net *pn = arg;
    pthread_mutex_lock(&pn->wmu);
    while (!pn->watch_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += PEER_WATCH_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&pn->watch_cv, &pn->wmu, &ts);
        if (pn->watch_stop) break;
        /* busy: the loop is in here, so it is not held */
        if (pthread_mutex_trylock(&pn->mu) != 0) continue;
        watch_pass(pn);
        pthread_mutex_unlock(&pn->mu);
    }
    pthread_mutex_unlock(&pn->wmu);
    return NULL;
}

/* The loop's part: output the watcher left, written (watched for writability, or closed). */
static void conn_write_pending(peer_net *pn)
{
    pn->watch_wrote = false;
    for (int i = 0; i < PEER_LINKS_MAX; i++) {
        pconn *c = &pn->links[i].c;
        if (pn->links[i].id && c->fd >= 0 && c->out_sent < c->out.len) (void)conn_write(c);
    }
    for (int i = 0; i < PEER_INBOUND_MAX; i++) {
        pconn *c = pn->inbound[i];
        if (c && c->fd >= 0 && c->out_sent < c->out.len) (void)conn_write(c); /* may free c */
    }
}

static int watch_start(peer_net *pn)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&pn->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&pn->wmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pn->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_store(&pn->alive_ms, net_mono_ms());
    atomic_store(&pn->hold_ms, (int64_t)5000);
    /* tests show what a held loop did without it (tests/integration/cluster/test_cluster_held.py)
     */
    const char *off = getenv("SYNOD_TEST_NO_PEER_WATCH");
    if (off && *off == '1') return 0;
    /* no signal for this thread: SIGTERM/SIGINT are read from the loop's signalfd */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&pn->watch_th, NULL, watch_main, pn);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        syn_log(SYN_LOG_WARN,
                "peer watcher thread not started: %s (a held loop is not spoken "
                "for: a leader held past an election timeout loses its role)",
                strerror(rc));
        return -1;
    }
    pn->watch_on = true;
    return 0;
}

static void watch_stop(peer_net *pn)
{
    if (pn->watch_on) {
        pthread_mutex_lock(&pn->wmu);
        pn->watch_stop = true;
        pthread_cond_signal(&pn->watch_cv);
        pthread_mutex_unlock(&pn->wmu);
        pthread_join(pn->watch_th, NULL);
        pn->watch_on = false;
    }
}

void peer_net_set_keepalives(peer_net *pn, const raft_message *m, size_t k)
{
    if (k > RAFT_MAX_MEMBERS) k = RAFT_MAX_MEMBERS;
    peer_lock(pn);
    if (k) memcpy(pn->ka, m, k * sizeof(*m));
    pn->ka_n = k;
    peer_unlock(pn);
}

void peer_net_set_hold_ms(peer_net *pn, int64_t ms)
{
    if (ms <= 0) return; /* unset: the default stays */
    atomic_store_explicit(&pn->hold_ms, ms, memory_order_relaxed);
}

uint64_t peer_net_keepalives(const peer_net *pn)
{
    return atomic_load_explicit(&pn->keepalives, memory_order_relaxed);
}

/* --- public --------------------------------------------------------------------------------- */

peer_net *peer_net_create(net_loop *l, const peer_net_config *cfg, int listen_fd)
{
    peer_net *pn = calloc(1, sizeof(*pn));
    if (!pn) return NULL;
    pn->loop = l;
    pn->self = cfg->self;
    snprintf(pn->cluster_id, sizeof(pn->cluster_id), "%s", cfg->cluster_id);
    snprintf(pn->client_addr, sizeof(pn->client_addr), "%s", cfg->client_addr);
    if (cfg->bind_host && strcmp(cfg->bind_host, "0.0.0.0") != 0 &&
        strcmp(cfg->bind_host, "::") != 0)
        snprintf(pn->bind_host, sizeof(pn->bind_host), "%s", cfg->bind_host);
    if (cfg->secret && cfg->secret[0]) {
        pn->secret_len = strlen(cfg->secret);
        SYN_ASSERT(pn->secret_len <= sizeof(pn->secret));
        memcpy(pn->secret, cfg->secret, pn->secret_len);
    }
    if (cfg->data_id) memcpy(pn->data_id, cfg->data_id, sizeof(pn->data_id));
    pn->is_member = cfg->is_member;
    pn->tls_accept = cfg->tls_accept;
    pn->tls_dial = cfg->tls_dial;
    SYN_ASSERT(!pn->tls_accept == !pn->tls_dial);
    if (cfg->relay_addr) snprintf(pn->relay_addr, sizeof(pn->relay_addr), "%s", cfg->relay_addr);
    pn->check_peer = cfg->check_peer;
    if (peerauth_random(&pn->incarnation, sizeof(pn->incarnation)) < 0) {
        free(pn);
        return NULL;
    }
    pn->on_msg = cfg->on_msg;
    pn->on_alive = cfg->on_alive;
    pn->ctx = cfg->ctx;
    pn->lfd = listen_fd;
    if (net_loop_watch(l, listen_fd, NET_READABLE, accept_cb, pn) < 0) {
        free(pn);
        return NULL;
    }
    pn->timer = net_timer_add(l, PEER_TIMER_MS, peer_timer, pn);
    if (!pn->timer) {
        (void)net_loop_watch(l, listen_fd, 0, NULL, NULL);
        free(pn);
        return NULL;
    }
    (void)watch_start(pn); /* without it the links work as before (logged) */
    return pn;
}

void peer_net_destroy(peer_net *pn)
{
    if (!pn) return;
    watch_stop(pn);
    for (int i = 0; i < PEER_LINKS_MAX; i++)
        if (pn->links[i].id) peer_net_remove(pn, pn->links[i].id);
    for (int i = 0; i < PEER_INBOUND_MAX; i++)
        if (pn->inbound[i]) conn_close(pn->inbound[i], "shutdown");
    (void)net_timer_cancel(pn->loop, pn->timer);
    (void)net_loop_watch(pn->loop, pn->lfd, 0, NULL, NULL);
    close(pn->lfd);
    rcodec_scratch_deinit(&pn->scratch);
    pthread_cond_destroy(&pn->watch_cv);
    pthread_mutex_destroy(&pn->wmu);
    pthread_mutex_destroy(&pn->mu);
    free(pn);
}

static int set_addr_body(peer_net *pn, raft_id id, const char *hostport)
{
    char host[FRAME_ADDR_MAX + 1];
    int port;
    if (id == 0 || id == pn->self || strlen(hostport) > FRAME_ADDR_MAX ||
        net_parse_hostport(hostport, host, sizeof(host), &port) < 0)
        return -EINVAL;
    plink *lk = link_of(pn, id);
    if (lk) {
        if (strcmp(lk->addr, hostport) == 0) return 0;
        conn_reset(&lk->c);
    } else {
        lk = link_of(pn, 0);
        if (!lk) return -EINVAL;
        memset(lk, 0, sizeof(*lk));
        lk->id = id;
        lk->c.fd = -1;
        lk->c.pn = pn;
        lk->c.outbound = true;
        lk->c.id = id;
        resp_buf_init(&lk->c.out);
        resp_buf_init(&lk->batch);
    }
    snprintf(lk->addr, sizeof(lk->addr), "%s", hostport);
    lk->next_try_ms = 0;
    return 0;
}

static void remove_body(peer_net *pn, raft_id id)
{
    plink *lk = link_of(pn, id);
    if (!lk) return;
    conn_reset(&lk->c);
    resp_buf_deinit(&lk->c.out);
    resp_buf_deinit(&lk->batch);
    memset(lk, 0, sizeof(*lk));
}

static void link_close_batch(plink *lk)
{
    if (!lk->batch_n) return;
    pconn *c = &lk->c;
    put32((uint8_t *)lk->batch.data, lk->batch_n);
    if (c->state == C_READY && c->out.len - c->out_sent + lk->batch.len < PEER_OUT_MAX_BYTES)
        conn_queue_frame(c, FRAME_T_RAFT, lk->batch.data, (uint32_t)lk->batch.len);
    else
        lk->lost = true; /* dropped */
    lk->batch.len = 0;
    lk->batch_n = 0;
}

static void send_body(peer_net *pn, const raft_message *m)
{
    plink *lk = link_of(pn, m->to);
    if (!lk) return;
    if (lk->c.state != C_READY) { /* dropped: Raft retries */
        lk->lost = true;
        return;
    }
    size_t sz = rcodec_msg_size(m);
    if (sz + 8 > PEER_FRAME_MAX) return; /* cannot happen: entries are capped far below */
    if (lk->batch_n && lk->batch.len + 4 + sz > PEER_BATCH_MAX) link_close_batch(lk);
    if (!lk->batch_n) {
        lk->batch.len = 0;
        uint8_t zero[4] = {0};
        resp_buf_append(&lk->batch, zero, 4);
    }
    resp_buf_reserve(&lk->batch, 4 + sz);
    put32((uint8_t *)lk->batch.data + lk->batch.len, (uint32_t)sz);
    size_t w = rcodec_msg_encode(m, (uint8_t *)lk->batch.data + lk->batch.len + 4);
    SYN_ASSERT(w == sz);
    lk->batch.len += 4 + sz;
    lk->batch_n++;
}

static void flush_body(peer_net *pn)
{
    for (int i = 0; i < PEER_LINKS_MAX; i++) {
        plink *lk = &pn->links[i];
        if (!lk->id) continue;
        link_close_batch(lk);
        if (lk->c.state == C_READY && lk->c.out_sent < lk->c.out.len) (void)conn_write(&lk->c);
    }
}

static size_t take_unreachable_body(peer_net *pn, raft_id *out, size_t max)
{
    size_t k = 0;
    for (int i = 0; i < PEER_LINKS_MAX && k < max; i++) {
        plink *lk = &pn->links[i];
        if (!lk->id || !lk->lost) continue;
        lk->lost = false;
        out[k++] = lk->id;
    }
    return k;
}

void peer_net_send(peer_net *pn, const raft_message *m)
{
    peer_lock(pn);
    send_body(pn, m);
    peer_unlock(pn);
}

void peer_net_flush(peer_net *pn)
{
    peer_lock(pn);
    flush_body(pn);
    peer_unlock(pn);
}

int peer_net_set_addr(peer_net *pn, raft_id id, const char *hostport)
{
    peer_lock(pn);
    int rc = set_addr_body(pn, id, hostport);
    peer_unlock(pn);
    return rc;
}

void peer_net_remove(peer_net *pn, raft_id id)
{
    peer_lock(pn);
    remove_body(pn, id);
    peer_unlock(pn);
}

size_t peer_net_take_unreachable(peer_net *pn, raft_id *out, size_t max)
{
    peer_lock(pn);
    size_t k = take_unreachable_body(pn, out, max);
    peer_unlock(pn);
    return k;
}
