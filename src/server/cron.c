/* cron.c — periodic work: idle-client timeouts, query buffer resizing and the active expiry
 * cycle. */
#include <string.h>
#include <stdlib.h>

#include "node/node.h"
#include "server/server.h"
#include "util/assert.h"

int64_t srv_cron(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    server *s = ctx;
    srv_lazyfree_cron(s);
    if (s->n_children) srv_children_reap(s, false);
    srv_diag_config(s); /* the cycle counter's rate, measured over a longer time */
    srv_inst_sample(s);
    if (s->cfg.timeout_s > 0) {
        int64_t now = net_mono_ms();
        client *c = s->clients;
        while (c) {
            client *next = c->next;
            if (now - c->last_ms > s->cfg.timeout_s * 1000 && !(c->flags & CLIENT_WANT_WRITE) &&
                !c->xfer) {
                syn_log(SYN_LOG_INFO, "closing idle client id=%llu addr=%s",
                        (unsigned long long)c->id, c->addr);
                srv_client_free(c);
            }
            c = next;
        }
    }
    /* a TLS client that stalls in its handshake holds a slot without ever having spoken */
    if (s->tls_listen_fd >= 0) {
        int64_t now = net_mono_ms();
        client *c = s->clients;
        while (c) {
            client *next = c->next;
            if ((c->flags & CLIENT_TLS_HANDSHAKE) &&
                now - c->ctime_ms > s->cfg.tls_handshake_timeout_ms) {
                syn_log(SYN_LOG_INFO,
                        "closing client id=%llu addr=%s: TLS handshake not done "
                        "after %lld ms",
                        (unsigned long long)c->id, c->addr, s->cfg.tls_handshake_timeout_ms);
                srv_client_free(c);
            }
            c = next;
        }
    }
    /* soft output limits also expire for a client that gets no new output */
    srv_client_check_output_limits(s);
    int64_t now_ms = net_mono_ms();
    for (client *c = s->clients; c; c = c->next)
        srv_client_resize_qbuf(c, now_ms);
    return 1000 / s->cfg.hz;
}

/* Keys reported by data_expire_sample are copied out first (the pointers are only valid
 * during the callback) and deleted after it returns. */
static void collect_key(void *ctx, const char *key, size_t len)
{
    server *s = ctx;
    if (s->exp_n >= sizeof(s->exp_off) / sizeof(s->exp_off[0])) return;
    if (s->exp_cap - s->exp_len < len) {
        size_t ncap = (s->exp_len + len) * 2;
        char *nb = realloc(s->exp_buf, ncap);
        if (!nb) return; /* skipped: the next cycle reports it again */
        s->exp_buf = nb;
        s->exp_cap = ncap;
    }
    memcpy(s->exp_buf + s->exp_len, key, len);
    s->exp_len += len;
    s->exp_off[++s->exp_n] = s->exp_len;
}

static void discard_status(void *ctx, const char *p, size_t len)
{
    (void)ctx, (void)p, (void)len;
}
static void discard_int(void *ctx, long long v)
{
    (void)ctx, (void)v;
}
static void discard_n(void *ctx, size_t n)
{
    (void)ctx, (void)n;
}
static void discard_none(void *ctx)
{
    (void)ctx;
}
static void discard_dbl(void *ctx, double v)
{
    (void)ctx, (void)v;
}
static const data_reply_ops discard_ops = {
    discard_status, discard_status, discard_int, discard_status, discard_none, discard_none,
    discard_n,      discard_n,      discard_n,   discard_dbl,    NULL,         NULL,
};

#define EXPIRE_KEYS_PER_SAMPLE 20
#define EXPIRE_CPU_PERCENT     25

/* Like Redis's active expire cycle: sample keys with a deadline, delete the expired ones, and
 * repeat while a sample keeps finding many (over a quarter), within a time budget of 25% of
 * the cron period. The deletes are ordinary DELs at the same now_ms: in the replicated server
 * the leader proposes exactly these (DESIGN.md Principle 2). */
int64_t srv_expire_cron(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    server *s = ctx;
    int64_t period_ms = 1000 / s->cfg.hz;
    if (s->node) { /* replicated: only the leader decides, and logs DELs */
        int64_t t0 = net_mono_us();
        node_expire_cycle(s->node);
        srv_latency_event(s, "expire-cycle", net_mono_us() - t0);
        if (s->cfg.maxmemory) { /* memory may have grown without a command (replies, ...) */
            long long over = (long long)srv_memory_for_evict(s) - s->cfg.maxmemory;
            if (over > 0) (void)node_evict(s->node, over);
        }
        return period_ms;
    }
    int64_t start_us = net_mono_us();
    int64_t budget_us = period_ms * 1000 * EXPIRE_CPU_PERCENT / 100;
    int64_t now_ms = srv_now_ms();
    const data_cmd *del = data_cmd_lookup("del", 3);
    SYN_ASSERT(del != NULL);
    for (;;) {
        s->exp_n = 0;
        s->exp_len = 0;
        s->exp_off[0] = 0;
        size_t n = data_expire_sample(s->ds, now_ms, EXPIRE_KEYS_PER_SAMPLE, collect_key, s);
        for (size_t i = 0; i < s->exp_n; i++) {
            data_arg argv[2] = {{"DEL", 3},
                                {s->exp_buf + s->exp_off[i], s->exp_off[i + 1] - s->exp_off[i]}};
            if (data_exec(s->ds, del, 2, argv, now_ms, &discard_ops, NULL)) {
                s->stats.expired_keys++;
                s->stats.applied_writes++;
            }
        }
        if (n * 4 <= EXPIRE_KEYS_PER_SAMPLE) break;
        if (net_mono_us() - start_us > budget_us) break;
    }
    if (s->exp_cap > 64 * 1024) {
        free(s->exp_buf);
        s->exp_buf = NULL;
        s->exp_cap = 0;
    }
    return period_ms;
}
