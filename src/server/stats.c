/* stats.c — INFO commandstats / errorstats / total_error_replies, and MONITOR.
 *
 * Redis counts a command's call when it runs and its error when the error reply is added. Here
 * many replies come later (a write is answered when its entry applies, a follower relays to the
 * leader, a blocked pop is answered when data arrives), so errors are attributed from the
 * output side: every byte appended to a client's output passes srv_client_reply_end, which
 * walks the new RESP elements (srv_stats_walk). Replies leave in request order, so each
 * completed top-level reply that is not a push answers the oldest request in the client's
 * FIFO of requests whose replies are pending (struct srv_cstats.pend). A request is pushed when
 * it is parsed (srv_stats_begin) and, if it was answered synchronously with no reply at all
 * (CLIENT REPLY OFF, SUBSCRIBE's pushes) or not consumed, dropped again (srv_stats_end).
 *
 * Kinds, as Redis 7.0: a request refused before it runs (unknown command, arity, NOAUTH, OOM,
 * subscribed mode, a MONITOR client touching the keyspace) is "rejected" if answered with an
 * error; a request that ran is a call, "failed" if its reply holds an error. A command queued in
 * MULTI is not a call; EXEC's reply array element i belongs to queued command i (its call and
 * its error). Error replies (anywhere in a reply, pushes aside) count in total_error_replies and
 * errorstat_<first word>. usec is the time this node spent handling the request synchronously
 * (an asynchronously answered write's replication wait is not in it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/server.h"
#include "util/assert.h"

#define CSTAT_SLOTS  1024 /* power of two, > the number of commands and subcommands */
#define ERRSTATS_MAX 128  /* distinct error codes tracked, as Redis's limit */
#define ERRCODE_MAX  32

#define CMDNAME_MAX 48

typedef struct {
    char name[CMDNAME_MAX];                 /* full name ("get", "config|set"); "" = free slot */
    uint64_t calls, usec, rejected, failed; /* usec: in now_ticks units */
    srv_diag_cmd dc;                        /* its latency histogram and flags (latency.c) */
} cstat;

typedef struct {
    char code[ERRCODE_MAX + 1];
    uint64_t count;
} errstat;

#define NCACHE_SLOTS 256 /* command name as sent -> slot, for names that need no argv[1] */
#define NCACHE_KEY   16

struct srv_stats_tab {
    cstat slots[CSTAT_SLOTS];
    struct {
        char key[NCACHE_KEY]; /* lower case; "" = empty */
        uint8_t len;
        int arity, flags;
        cstat *st;
    } ncache[NCACHE_SLOTS];
    errstat errs[ERRSTATS_MAX];
    int n_errs;
    uint64_t total_error_replies;
    uint64_t tick0, ns0; /* now_ticks and mono_ns at start: the tick rate */
};

enum { PEND_CALL = 0, PEND_REJECT = 1 };

/* EXEC's copy of its MULTI queue (one allocation). */
struct exec_queue {
    size_t len, off; /* off: the next command */
    uint8_t data[];
};

/* A blocking command's SLOWLOG entry, written when it is served (its reply). */
typedef struct {
    int argc;
    data_arg *argv; /* one allocation: the array, then the bytes */
    long long usec;
} slow_pend;

typedef struct {
    cstat *st;    /* NULL: no command to charge (unknown command, unknown subcommand) */
    uint64_t seq; /* the client's request number */
    int kind;     /* PEND_*; fixed_reject: stays PEND_REJECT (arity) */
    int fixed_reject;
    int queued;    /* queued in MULTI: not a call */
    int relayed;   /* EXEC a follower relayed: its commands timed (as 0) and logged at its reply */
    int drop;      /* sent under CLIENT REPLY OFF / SKIP: its reply is dropped, even a late one */
    cstat **inner; /* EXEC: the queued commands, reply array element i = inner[i] */
    int n_inner;
    slow_pend *slow; /* NULL: nothing to log when answered */
    /* EXEC: a copy of the MULTI queue (the commands as sent, for SLOWLOG), read one command per
     * srv_stats_exec_step at queue_off */
    struct exec_queue *queue;
} pend;

struct srv_cstats {
    pend *pend;
    size_t head, n, cap; /* ring; cap a power of two */
    uint64_t next_seq;
    uint64_t start_us; /* now_ticks when the request being handled was parsed */
    /* the clock read that ended the previous call of this pass over the input (chain = 1): the
     * next request of a pipeline starts there (its parsing, a few ns, is then in its time), so
     * a pipelined request costs one clock read, as before SLOWLOG */
    uint64_t last_end;
    int chain;
    uint64_t exec_t0;    /* now_ticks when the current command of an applied EXEC started */
    uint64_t write_dt;   /* ticks the last applied write of this client took (write_ran) */
    uint64_t lua_t0;     /* now_ticks when the command a script runs for this client started */
    cstat *lua_st;       /* ... and its slot */
    data_arg *exec_argv; /* scratch: that command as queued */
    int exec_argv_cap;
    data_arg orig[2]; /* its first two arguments as sent (ACL SETUSER is rewritten in place) */
    /* the request being handled: its command, kind, whether queued, no MONITOR line */
    cstat *cur_st;
    int cur_kind, cur_fixed, cur_queued, cur_admin, cur_fed;
    int stalled_fed; /* the request left for a later pass was shown already (it comes first) */
    /* reply walker: remaining elements of each open aggregate */
    long long *rem;
    int depth, rem_cap;
    int top_push, top_err, inner_mode, child, child_failed;
    pend top; /* the request the current top-level reply answers (copied out of the ring) */
    int top_has;
    size_t mark;   /* out.len at srv_client_reply_begin */
    int top_drop;  /* the current top-level reply answers a request sent with replies off */
    int drop_seen; /* this append belongs to such a reply: cut it off once walked */
};

static void lua_call_hook(void *hook_ctx, void *out_ctx, int argc, const data_arg *argv, int event,
                          const char *err, size_t err_len);
static void uncount_error(server *s, const char *p, size_t len);
static void lua_call_done(void *hook_ctx, void *out_ctx, int argc, const data_arg *argv, int event,
                          const char *err, size_t err_len);
static int arg_is(const data_arg *a, const char *s);

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Request timing reads a cycle counter where there is one (a clock_gettime per request cost ~8%
 * of pipelined GET throughput on a VM); "usec" fields hold its ticks, converted to microseconds
 * when INFO prints them, at the rate measured since the server started (tick_us). */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static uint64_t now_ticks(void)
{
    return __rdtsc();
}
#else
static uint64_t now_ticks(void)
{
    return mono_ns();
}
#endif
#define now_us now_ticks

/* microseconds per tick */
static double tick_us(const server *s)
{
    uint64_t dt = now_ticks() - s->cstats->tick0, dn = mono_ns() - s->cstats->ns0;
    if (dt == 0 || dn == 0) return 0.001;
    return (double)dn / 1000.0 / (double)dt;
}

void srv_stats_init(server *s)
{
    s->cstats = calloc(1, sizeof(*s->cstats));
    SYN_ASSERT(s->cstats != NULL);
    s->cstats->tick0 = now_ticks();
    s->cstats->ns0 = mono_ns();
    while (mono_ns() - s->cstats->ns0 < 2000000) /* 2 ms: a first tick rate within 0.1% */
        ;
    script_set_call_hook(s->se, lua_call_hook, s);
    script_set_call_done_hook(s->se, lua_call_done);
}

void srv_stats_deinit(server *s)
{
    for (size_t i = 0; i < CSTAT_SLOTS; i++)
        srv_diag_cmd_reset(&s->cstats->slots[i].dc);
    free(s->cstats);
    s->cstats = NULL;
}

void srv_stats_reset(server *s)
{
    struct srv_stats_tab *t = s->cstats;
    for (size_t i = 0; i < CSTAT_SLOTS; i++) { /* names stay: requests in flight point at slots */
        t->slots[i].calls = t->slots[i].usec = t->slots[i].rejected = t->slots[i].failed = 0;
        srv_diag_cmd_reset(&t->slots[i].dc);
    }
    t->n_errs = 0;
    t->total_error_replies = 0;
}

/* The slot of a command's full name, created on first use. */
static cstat *cstat_get(server *s, const char *name)
{
    if (!name) return NULL;
    size_t len = strlen(name);
    if (len >= CMDNAME_MAX) return NULL;
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    for (size_t i = 0; i < CSTAT_SLOTS; i++) {
        cstat *e = &s->cstats->slots[(h + i) & (CSTAT_SLOTS - 1)];
        if (!e->name[0]) {
            memcpy(e->name, name, len + 1);
            e->dc.flags = srv_diag_flags(name);
            return e;
        }
        if (strcmp(e->name, name) == 0) return e;
    }
    return NULL; /* full: more names than slots (not expected) */
}

static void count_error(server *s, const char *p, size_t len)
{
    struct srv_stats_tab *t = s->cstats;
    t->total_error_replies++;
    const char *code = "ERR";
    size_t clen = 3;
    const char *sp = memchr(p, ' ', len < ERRCODE_MAX ? len : ERRCODE_MAX);
    if (sp && sp > p) {
        code = p;
        clen = (size_t)(sp - p);
    }
    for (int i = 0; i < t->n_errs; i++)
        if (strlen(t->errs[i].code) == clen && memcmp(t->errs[i].code, code, clen) == 0) {
            t->errs[i].count++;
            return;
        }
    if (t->n_errs == ERRSTATS_MAX) return;
    errstat *e = &t->errs[t->n_errs++];
    memcpy(e->code, code, clen);
    e->code[clen] = '\0';
    e->count = 1;
}

/* Takes back one count_error of the same code (the code must have been counted). */
static void uncount_error(server *s, const char *p, size_t len)
{
    struct srv_stats_tab *t = s->cstats;
    const char *code = "ERR";
    size_t clen = 3;
    const char *sp = memchr(p, ' ', len < ERRCODE_MAX ? len : ERRCODE_MAX);
    if (sp && sp > p) {
        code = p;
        clen = (size_t)(sp - p);
    }
    for (int i = 0; i < t->n_errs; i++)
        if (strlen(t->errs[i].code) == clen && memcmp(t->errs[i].code, code, clen) == 0 &&
            t->errs[i].count > 0) {
            t->errs[i].count--;
            if (t->total_error_replies > 0) t->total_error_replies--;
            return;
        }
}

/* The slot a request is charged to (NULL: none), through a cache of the command names seen:
 * srv_cmd_stat_name scans the command tables. */
static cstat *lookup(server *s, int argc, const data_arg *argv, int *arity_ok, int *flags)
{
    struct srv_stats_tab *t = s->cstats;
    char low[NCACHE_KEY];
    size_t len = argv[0].len;
    uint64_t h = 14695981039346656037ull;
    if (len < NCACHE_KEY) {
        for (size_t i = 0; i < len; i++) {
            char ch = argv[0].ptr[i];
            low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            h = (h ^ (unsigned char)low[i]) * 1099511628211ull;
        }
        h &= NCACHE_SLOTS - 1;
        if (t->ncache[h].len == len && len && memcmp(t->ncache[h].key, low, len) == 0) {
            int a = t->ncache[h].arity;
            *arity_ok = !((a > 0 && a != argc) || argc < -a);
            *flags = t->ncache[h].flags;
            return t->ncache[h].st;
        }
    }
    int arity = 0;
    char buf[CMDNAME_MAX];
    const char *name = srv_cmd_stat_name(argc, argv, arity_ok, flags, &arity, buf, sizeof(buf));
    cstat *st = cstat_get(s, name);
    if (st && (*flags & SRV_STAT_SIMPLE) && len && len < NCACHE_KEY) {
        memcpy(t->ncache[h].key, low, len);
        t->ncache[h].len = (uint8_t)len;
        t->ncache[h].arity = arity;
        t->ncache[h].flags = *flags;
        t->ncache[h].st = st;
    }
    return st;
}

/* --- per-client FIFO ---------------------------------------------------------------------- */

static struct srv_cstats *cs_of(client *c)
{
    if (!c->cs) {
        c->cs = calloc(1, sizeof(*c->cs));
        SYN_ASSERT(c->cs != NULL);
    }
    return c->cs;
}

void srv_stats_client_free(client *c)
{
    struct srv_cstats *cs = c->cs;
    if (!cs) return;
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->pend[(cs->head + i) & (cs->cap - 1)].inner);
        free(cs->pend[(cs->head + i) & (cs->cap - 1)].slow);
        free(cs->pend[(cs->head + i) & (cs->cap - 1)].queue);
    }
    free(cs->pend);
    free(cs->rem);
    free(cs->top.inner);
    free(cs->top.slow);
    free(cs->top.queue);
    free(cs->exec_argv);
    free(cs);
    c->cs = NULL;
}

static pend *tail(struct srv_cstats *cs)
{
    return cs->n ? &cs->pend[(cs->head + cs->n - 1) & (cs->cap - 1)] : NULL;
}

void srv_stats_begin(server *s, client *c, int argc, const data_arg *argv)
{
    struct srv_cstats *cs = cs_of(c);
    if (cs->n == cs->cap) {
        size_t ncap = cs->cap ? cs->cap * 2 : 8;
        pend *np = malloc(ncap * sizeof(*np));
        SYN_ASSERT(np != NULL);
        for (size_t i = 0; i < cs->n; i++)
            np[i] = cs->pend[(cs->head + i) & (cs->cap - 1)];
        free(cs->pend);
        cs->pend = np;
        cs->head = 0;
        cs->cap = ncap;
    }
    int arity_ok = 1, flags = 0;
    cstat *st = lookup(s, argc, argv, &arity_ok, &flags);
    pend *e = &cs->pend[(cs->head + cs->n) & (cs->cap - 1)];
    cs->n++;
    *e = (pend){.st = st, .seq = ++cs->next_seq, .kind = PEND_REJECT};
    e->drop = (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) != 0;
    e->fixed_reject = !arity_ok;
    cs->cur_st = e->st;
    cs->cur_kind = PEND_REJECT;
    cs->cur_fixed = !arity_ok;
    cs->cur_queued = 0;
    cs->cur_admin = (flags & SRV_STAT_ADMIN) != 0;
    cs->cur_fed = cs->stalled_fed;
    cs->stalled_fed = 0;
    cs->orig[0] = argv[0];
    cs->orig[1] = argc > 1 ? argv[1] : argv[0];
    cs->start_us = cs->chain ? cs->last_end : now_us();
    cs->chain = 0;
}

void srv_stats_reply_on(client *c)
{
    pend *e = tail(c->cs);
    if (e && e->seq == c->cs->next_seq) e->drop = 0;
}

void srv_stats_feed_script(server *s, client *c, int argc, const data_arg *argv)
{
    struct srv_cstats *cs = c->cs;
    if (!s->n_monitors || cs->cur_kind != PEND_CALL || cs->cur_queued || cs->cur_fed) return;
    static const char *const scripts[] = {"eval",       "evalsha", "eval_ro",
                                          "evalsha_ro", "fcall",   "fcall_ro"};
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
        if (arg_is(&argv[0], scripts[i])) {
            srv_monitor_feed(s, c, argc, argv);
            cs->cur_fed = 1;
            return;
        }
}

void srv_stats_phase(client *c, int call, int queued)
{
    struct srv_cstats *cs = c->cs;
    if (cs->cur_fixed) return;
    cs->cur_kind = call ? PEND_CALL : PEND_REJECT;
    cs->cur_queued = queued;
    pend *e = tail(cs);
    if (!e || e->seq != cs->next_seq) return;
    e->kind = cs->cur_kind;
    e->queued = queued;
}

void srv_stats_set_inner(server *s, client *c)
{
    pend *e = tail(c->cs);
    if (!e || e->seq != c->cs->next_seq || !c->multi_n) return;
    e->inner = calloc((size_t)c->multi_n, sizeof(*e->inner));
    SYN_ASSERT(e->inner != NULL);
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k, i = 0;
    while (i < c->multi_n && (k = srv_multi_next(c, &off, &argv, &cap)) > 0) {
        int ok, flags, arity;
        char buf[CMDNAME_MAX];
        e->inner[i++] =
            cstat_get(s, srv_cmd_stat_name(k, argv, &ok, &flags, &arity, buf, sizeof(buf)));
        if (!(flags & SRV_STAT_ADMIN)) srv_monitor_feed(s, c, k, argv);
    }
    e->n_inner = i;
    free(argv);
    if (s->cfg.slowlog_log_slower_than >= 0 && c->multi.len) {
        e->queue = malloc(sizeof(*e->queue) + c->multi.len);
        if (e->queue) {
            memcpy(e->queue->data, c->multi.data, c->multi.len);
            e->queue->len = c->multi.len;
            e->queue->off = 0;
        }
    }
}

static void drop_tail(struct srv_cstats *cs)
{
    pend *e = tail(cs);
    free(e->inner);
    if (e->slow || e->queue) { /* rare: a blocking command, an EXEC */
        free(e->slow);
        free(e->queue);
    }
    cs->n--;
}

/* A copy of argv (first two as sent) for a SLOWLOG entry written later. */
static slow_pend *slow_copy(const struct srv_cstats *cs, int argc, const data_arg *argv,
                            long long usec)
{
    size_t bytes = sizeof(slow_pend) + sizeof(data_arg) * (size_t)argc;
    for (int i = 0; i < argc; i++)
        bytes += (i < 2 ? cs->orig[i] : argv[i]).len;
    slow_pend *p = malloc(bytes);
    if (!p) return NULL;
    p->argc = argc;
    p->usec = usec;
    p->argv = (data_arg *)(p + 1);
    char *at = (char *)(p->argv + argc);
    for (int i = 0; i < argc; i++) {
        const data_arg *a = i < 2 ? &cs->orig[i] : &argv[i];
        if (a->len) memcpy(at, a->ptr, a->len);
        p->argv[i] = (data_arg){at, a->len};
        at += a->len;
    }
    return p;
}

void srv_stats_end(server *s, client *c, int consumed, int sync, int argc, const data_arg *argv)
{
    struct srv_cstats *cs = c->cs;
    pend *e = tail(cs);
    int mine = e && e->seq == cs->next_seq;
    if (!consumed) {
        if (mine) drop_tail(cs);
        cs->next_seq--;
        cs->stalled_fed = cs->cur_fed;
        return;
    }
    if (cs->cur_st && cs->cur_kind == PEND_CALL && !cs->cur_queued) {
        uint64_t t = now_us();
        uint64_t dt = t - cs->start_us;
        cs->last_end = t;
        cs->chain = 1;
        cs->cur_st->calls++;
        cs->cur_st->usec += dt;
        if (!cs->cur_admin && !cs->cur_fed) srv_monitor_feed(s, c, argc, argv);
        /* a read the node runs later is timed when it runs (srv_stats_exec_step) */
        if (!c->nc.read_deferred &&
            srv_diag_call(s, c, &cs->cur_st->dc, dt, argc, argv, cs->orig, !sync) && mine) {
            free(e->slow);
            e->slow = slow_copy(cs, argc, argv, (long long)(srv_diag_ns(s, dt) / 1000));
        }
    }
    c->nc.read_deferred = false;
    if (c->nc.exec_relayed) {
        c->nc.exec_relayed = false;
        if (mine && e->n_inner) e->relayed = 1;
    }
    if (mine && sync) {
        drop_tail(cs); /* answered with nothing (no reply, or only pushes) */
    }
}

void srv_stats_flush(client *c)
{
    if (c->cs) c->cs->chain = 0; /* the next pass starts after a wait: read the clock again */
}

double srv_stats_us_per_tick(const server *s)
{
    return tick_us(s);
}

void srv_stats_each(server *s, void (*fn)(void *ctx, const char *name, srv_diag_cmd *dc), void *ctx)
{
    for (size_t i = 0; i < CSTAT_SLOTS; i++)
        if (s->cstats->slots[i].name[0]) fn(ctx, s->cstats->slots[i].name, &s->cstats->slots[i].dc);
}

/* A command of an applied EXEC, run for c: timed alone (its call is counted as EXEC's reply is
 * walked). argv is the form the log carries; SLOWLOG gets the command as it was queued, from
 * the EXEC's copy of the queue (EXEC's reply array was walked first: cs->top is the EXEC).
 * Also a read run later than it was routed (node.h read_deferred): argv as sent, its reply
 * written by then (no top). */
void srv_stats_exec_step(server *s, client *c, int argc, const data_arg *argv, int end)
{
    struct srv_cstats *cs = cs_of(c);
    if (!end) {
        cs->exec_t0 = now_ticks();
        return;
    }
    uint64_t dt = now_ticks() - cs->exec_t0;
    pend *e = cs->top_has ? &cs->top : NULL;
    if (e && e->queue) {
        int k = nentry_get_args(e->queue->data, e->queue->len, &e->queue->off, &cs->exec_argv,
                                &cs->exec_argv_cap);
        if (k > 0) {
            argc = k;
            argv = cs->exec_argv;
        }
    }
    int ok, flags, arity;
    char buf[CMDNAME_MAX];
    cstat *st =
        argc > 0
            ? cstat_get(s, srv_cmd_stat_name(argc, argv, &ok, &flags, &arity, buf, sizeof(buf)))
            : NULL;
    if (!st) return;
    st->usec += dt;
    (void)srv_diag_call(s, c, &st->dc, dt, argc, argv, NULL, 0);
}

/* A follower's relayed EXEC answered: its commands ran on the leader, unseen here; each gets
 * its latency sample and SLOWLOG entry here (a duration of 0: logged when the threshold is 0),
 * so the node a client uses shows its transaction's commands, as one Redis would. */
/* The index of the last SLOWLOG RESET among e's queued commands, 0 if none. */
static int last_slowlog_reset(struct srv_cstats *cs, const pend *e)
{
    int last = 0, k;
    size_t off = 0;
    for (int i = 0; i < e->n_inner; i++) {
        k = nentry_get_args(e->queue->data, e->queue->len, &off, &cs->exec_argv,
                            &cs->exec_argv_cap);
        if (k <= 0) break;
        if (k == 2 && data_arg_is(&cs->exec_argv[0], "slowlog") &&
            data_arg_is(&cs->exec_argv[1], "reset"))
            last = i;
    }
    return last;
}

static void relayed_exec_done(server *s, client *c, struct srv_cstats *cs, pend *e)
{
    /* a SLOWLOG RESET inside ran here as the reply came (host.c is_multi_local): what came
     * before it in the transaction is not logged, as in Redis, where it ran in between */
    int from = e->queue ? last_slowlog_reset(cs, e) : 0;
    for (int i = 0; i < e->n_inner; i++) {
        int argc = 0;
        if (e->queue) {
            int k = nentry_get_args(e->queue->data, e->queue->len, &e->queue->off, &cs->exec_argv,
                                    &cs->exec_argv_cap);
            argc = k > 0 ? k : 0;
        }
        if (e->inner[i] && i >= from)
            (void)srv_diag_call(s, c, &e->inner[i]->dc, 0, argc, cs->exec_argv, NULL, 0);
    }
}

/* A write c proposed, applied here (node.h write_ran): its call and histogram sample were
 * taken when it was routed (with the arguments as sent, SLOWLOG at threshold 0 included); a run
 * past the SLOWLOG or latency threshold (when above 0) adds its time and is logged then, with
 * the arguments as the log carries them (EX 10 as PXAT <time>). */
bool srv_stats_write_ran(server *s, client *c, int argc, const data_arg *argv, int phase)
{
    struct srv_cstats *cs = c->cs;
    if (phase == 0) {
        cs->exec_t0 = now_ticks();
        return false;
    }
    if (phase == 1) {
        cs->write_dt = now_ticks() - cs->exec_t0;
        return s->diag_hot.min_ticks > 0 && cs->write_dt >= s->diag_hot.min_ticks;
    }
    int ok, flags, arity;
    char buf[CMDNAME_MAX];
    cstat *st = cstat_get(s, srv_cmd_stat_name(argc, argv, &ok, &flags, &arity, buf, sizeof(buf)));
    if (!st) return false;
    st->usec += cs->write_dt; /* ticks, as every call's */
    (void)srv_diag_slow(s, c, &st->dc, cs->write_dt, argc, argv, NULL, 0);
    return false;
}

/* The reply that answers the FIFO's head is complete. */
static void finish_top(server *s, client *c, struct srv_cstats *cs)
{
    if (cs->top_has) {
        pend *e = &cs->top;
        if (e->slow) { /* a blocking command, served */
            srv_slowlog_push(s, c, e->slow->argc, e->slow->argv, e->slow->usec);
            free(e->slow);
            e->slow = NULL;
        }
        if (e->relayed && cs->inner_mode) relayed_exec_done(s, c, cs, e);
        if (cs->top_err && e->st) {
            if (e->kind == PEND_CALL && !e->queued)
                e->st->failed++;
            else if (e->kind == PEND_REJECT)
                e->st->rejected++;
        }
        free(e->inner);
        e->inner = NULL;
        if (e->queue) {
            free(e->queue);
            e->queue = NULL;
        }
    }
    cs->top_has = 0;
}

static void on_elem(server *s, client *c, int agg, long long n, const char *err, size_t elen)
{
    struct srv_cstats *cs = c->cs;
    if (cs->depth == 0) {
        cs->top_push = (c->flags & CLIENT_PUSHING) != 0;
        cs->top_err = 0;
        cs->inner_mode = 0;
        cs->child = -1;
        cs->child_failed = -1;
        cs->top_has = 0;
        cs->top_drop = 0;
        if (!cs->top_push && cs->n) {
            cs->top = cs->pend[cs->head];
            cs->head = (cs->head + 1) & (cs->cap - 1);
            cs->n--;
            cs->top_has = 1;
            cs->top_drop = cs->top.drop && !(c->flags & CLIENT_REPLY_FORCE);
            if (cs->top.n_inner && agg && n == cs->top.n_inner) {
                cs->inner_mode = 1;
                for (int i = 0; i < cs->top.n_inner; i++)
                    if (cs->top.inner[i]) cs->top.inner[i]->calls++;
            }
        }
    } else if (cs->depth == 1) {
        cs->child++;
    }
    if (cs->top_drop && !cs->top_push) cs->drop_seen = 1;
    if (err && !cs->top_push) {
        count_error(s, err, elen);
        if (cs->inner_mode && cs->depth >= 1) {
            int i = cs->child;
            if (i >= 0 && i < cs->top.n_inner && i != cs->child_failed && cs->top.inner[i])
                cs->top.inner[i]->failed++;
            cs->child_failed = i;
        } else {
            cs->top_err = 1;
        }
    }
    if (agg && n > 0) {
        if (cs->depth == cs->rem_cap) {
            int ncap = cs->rem_cap ? cs->rem_cap * 2 : 8;
            long long *nr = realloc(cs->rem, (size_t)ncap * sizeof(*nr));
            SYN_ASSERT(nr != NULL);
            cs->rem = nr;
            cs->rem_cap = ncap;
        }
        cs->rem[cs->depth++] = n;
        return;
    }
    while (cs->depth > 0) {
        if (--cs->rem[cs->depth - 1] > 0) return;
        cs->depth--;
    }
    if (!cs->top_push) finish_top(s, c, cs);
}

/* Walks complete RESP elements p[0..len). */
static void walk(server *s, client *c, const char *p, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *line = p + pos + 1;
        const char *cr = memchr(line, '\r', len - pos - 1);
        if (!cr) return; /* not expected: appends are whole elements */
        size_t llen = (size_t)(cr - line);
        char t = p[pos];
        pos = (size_t)(cr - p) + 2;
        long long n = 0;
        if (t == '$' || t == '*' || t == '%' || t == '~' || t == '>' || t == '=' || t == '!' ||
            t == '|') {
            int neg = llen && line[0] == '-';
            for (size_t i = (size_t)neg; i < llen && i < 20; i++)
                n = n * 10 + (line[i] - '0');
            if (neg) n = -n;
        }
        switch (t) {
        case '-': on_elem(s, c, 0, 0, line, llen); break;
        case '$':
        case '=':
        case '!':
            if (n > 0) {
                if ((size_t)n + 2 > len - pos) return;
                if (t == '!') on_elem(s, c, 0, 0, p + pos, (size_t)n);
                pos += (size_t)n + 2;
            } else if (n == 0) {
                pos += 2;
            }
            if (t != '!' || n <= 0) on_elem(s, c, 0, 0, NULL, 0);
            break;
        case '*':
        case '~':
        case '>':
            /* RESP3 push: answers no request (but a pub/sub confirmation does) */
            if (t == '>' && !(c->flags & CLIENT_REPLY_FORCE)) c->flags |= CLIENT_PUSHING;
            on_elem(s, c, 1, n, NULL, 0);
            break;
        case '%': on_elem(s, c, 1, 2 * n, NULL, 0); break;
        case '|': /* attribute: not an element of its own */ break;
        default: /* + : , # ( _ */ on_elem(s, c, 0, 0, NULL, 0);
        }
    }
}

void srv_stats_reply_begin(client *c)
{
    struct srv_cstats *cs = cs_of(c);
    cs->mark = c->out.len;
    cs->drop_seen = 0;
}

/* out.data[mark..out.len) was appended: walk it; a dropped reply goes away after. */
int srv_stats_reply_end(server *s, client *c)
{
    struct srv_cstats *cs = c->cs;
    if (c->out.len < cs->mark) return 0;
    unsigned pushing = c->flags & CLIENT_PUSHING;
    walk(s, c, c->out.data + cs->mark, c->out.len - cs->mark);
    c->flags = (c->flags & ~CLIENT_PUSHING) | pushing;
    if (cs->drop_seen) {
        c->out.len = cs->mark;
        cs->drop_seen = 0;
        return 1;
    }
    return 0;
}

int srv_stats_at_boundary(const client *c)
{
    return !c->cs || c->cs->depth == 0;
}

/* --- INFO ------------------------------------------------------------------------------- */

void srv_stats_info_commandstats(server *s, resp_buf *b)
{
    resp_buf_append(b, "# Commandstats\r\n", 16);
    double k = tick_us(s);
    for (size_t i = 0; i < CSTAT_SLOTS; i++) {
        const cstat *e = &s->cstats->slots[i];
        if (!e->name[0] || (!e->calls && !e->failed && !e->rejected)) continue;
        unsigned long long usec = (unsigned long long)((double)e->usec * k);
        char line[256];
        int n = snprintf(line, sizeof(line),
                         "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                         "failed_calls=%llu\r\n",
                         e->name, (unsigned long long)e->calls, usec,
                         e->calls ? (double)usec / (double)e->calls : 0.0,
                         (unsigned long long)e->rejected, (unsigned long long)e->failed);
        if (n > 0)
            resp_buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
}

void srv_stats_info_errorstats(server *s, resp_buf *b)
{
    resp_buf_append(b, "# Errorstats\r\n", 14);
    for (int i = 0; i < s->cstats->n_errs; i++) {
        char line[96];
        int n = snprintf(line, sizeof(line), "errorstat_%s:count=%llu\r\n", s->cstats->errs[i].code,
                         (unsigned long long)s->cstats->errs[i].count);
        if (n > 0) resp_buf_append(b, line, (size_t)n);
    }
}

uint64_t srv_stats_total_error_replies(const server *s)
{
    return s->cstats->total_error_replies;
}

/* --- MONITOR ----------------------------------------------------------------------------- */

/* Redis's sdscatrepr: a quoted string, escapes for \\ \" \n \r \t \a \b, \xHH for the rest of
 * the unprintable bytes. */
static void repr(resp_buf *b, const char *p, size_t len)
{
    resp_buf_append(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        char esc[8];
        switch (ch) {
        case '\\': resp_buf_append(b, "\\\\", 2); break;
        case '"': resp_buf_append(b, "\\\"", 2); break;
        case '\n': resp_buf_append(b, "\\n", 2); break;
        case '\r': resp_buf_append(b, "\\r", 2); break;
        case '\t': resp_buf_append(b, "\\t", 2); break;
        case '\a': resp_buf_append(b, "\\a", 2); break;
        case '\b': resp_buf_append(b, "\\b", 2); break;
        default:
            if (ch >= 0x20 && ch < 0x7f) {
                resp_buf_append(b, &p[i], 1);
            } else {
                snprintf(esc, sizeof(esc), "\\x%02x", ch);
                resp_buf_append(b, esc, 4);
            }
        }
    }
    resp_buf_append(b, "\"", 1);
}

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

int srv_redacted(int argc, const data_arg *argv, int i)
{
    if (arg_is(&argv[0], "auth")) return i >= 1;
    if (argc >= 2 && arg_is(&argv[0], "acl")) return i >= 2 && arg_is(&argv[1], "setuser");
    if (argc >= 2 && arg_is(&argv[0], "config")) { /* only whole name-value pairs are looked at */
        if (i < 3 || i % 2 == 0 || argc % 2 || !arg_is(&argv[1], "set")) return 0;
        return arg_is(&argv[i - 1], "requirepass") || arg_is(&argv[i - 1], "masterauth") ||
               arg_is(&argv[i - 1], "masteruser");
    }
    if (arg_is(&argv[0], "hello")) {
        for (int j = 2; j + 2 < argc; j++)
            if (arg_is(&argv[j], "auth")) {
                if (i == j + 1 || i == j + 2) return 1;
                j += 2;
            }
    }
    return 0;
}

static void feed(server *s, int db, const char *origin, int argc, const data_arg *argv);

void srv_monitor_feed(server *s, client *from, int argc, const data_arg *argv)
{
    /* a follower's relay connection: the follower showed the command to its own monitors */
    if (!s->n_monitors || from->nc.forwarded) return;
    feed(s, from->nc.db, from->addr, argc, argv);
}

/* A command a script calls for one of this node's clients: counted as Redis counts it (a
 * call, a failed call, or a rejected one that did not run; its error in errorstats and
 * total_error_replies when it happens, even if the script catches it), and shown by MONITOR as
 * Redis does ("[db lua]") when it runs. The script's reply, if it is that same error, is walked
 * and counted again on its way out: SCRIPT_CALL_ERROR_REPLIED takes that second count back. */
static void lua_call_hook(void *hook_ctx, void *out_ctx, int argc, const data_arg *argv, int event,
                          const char *err, size_t err_len)
{
    server *s = hook_ctx;
    client *c = out_ctx;
    if (event == SCRIPT_CALL_ERROR_REPLIED) {
        uncount_error(s, err, err_len);
        return;
    }
    int ok, flags;
    cstat *st = lookup(s, argc, argv, &ok, &flags); /* cached by name, as for clients' calls */
    if (st && event == SCRIPT_CALL_RUN) st->calls++;
    if (st && event == SCRIPT_CALL_FAILED) st->failed++;
    if (st && event == SCRIPT_CALL_REJECTED) st->rejected++;
    if (event != SCRIPT_CALL_RUN) count_error(s, err, err_len);
    if (event == SCRIPT_CALL_RUN && s->n_monitors && !c->nc.forwarded)
        feed(s, data_selected(s->ds), "lua", argc, argv);
    if (event != SCRIPT_CALL_RUN) return;
    struct srv_cstats *cs = cs_of(c);
    cs->lua_st = st;
    cs->lua_t0 = now_ticks();
}

/* ... and after it ran: timed as Redis times a script's calls (SLOWLOG shows them for the
 * script's own client, "?:0" with no name, as Redis 7.0 does) */
static void lua_call_done(void *hook_ctx, void *out_ctx, int argc, const data_arg *argv, int event,
                          const char *err, size_t err_len)
{
    (void)event, (void)err, (void)err_len;
    server *s = hook_ctx;
    struct srv_cstats *cs = cs_of(out_ctx);
    cstat *st = cs->lua_st;
    if (!st) return;
    uint64_t dt = now_ticks() - cs->lua_t0;
    cs->lua_st = NULL;
    st->usec += dt;
    (void)srv_diag_call(s, NULL, &st->dc, dt, argc, argv, NULL, 0);
}

static void feed(server *s, int db, const char *origin, int argc, const data_arg *argv)
{
    resp_buf b;
    resp_buf_init(&b);
    int64_t us = net_wall_ms() * 1000;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    char head[128];
    int n = snprintf(head, sizeof(head), "+%lld.%06lld [%d %s] ", (long long)(us / 1000000),
                     (long long)(us % 1000000), db, origin);
    resp_buf_append(&b, head, (size_t)n);
    for (int i = 0; i < argc; i++) {
        if (i) resp_buf_append(&b, " ", 1);
        if (srv_redacted(argc, argv, i))
            resp_buf_append(&b, "\"(redacted)\"", 12);
        else
            repr(&b, argv[i].ptr, argv[i].len);
    }
    resp_buf_append(&b, "\r\n", 2);
    for (client *m = s->clients; m; m = m->next) {
        if (!m->monitor) continue;
        m->flags |= CLIENT_PUSHING;
        SRV_REPLY(m, resp_buf_append(&m->out, b.data, b.len));
        m->flags &= ~CLIENT_PUSHING;
        srv_client_mark_pending(m);
    }
    resp_buf_deinit(&b);
}

void srv_cmd_monitor(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    if (c->exec_dispatch) { /* inside EXEC: it expects one reply per command */
        srv_reply_error(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->monitor) return; /* Redis ignores a second MONITOR */
    c->monitor = 1;
    s->n_monitors++;
    srv_reply_status(c, "OK");
}

/* A MONITOR client may not touch the keyspace (Redis treats it as a replica). 1 = refused. */
int srv_monitor_gate(client *c, int argc, const data_arg *argv)
{
    (void)argc;
    if (!c->monitor) return 0;
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    int keyspace = dc != NULL || arg_is(&argv[0], "eval") || arg_is(&argv[0], "evalsha") ||
                   arg_is(&argv[0], "eval_ro") || arg_is(&argv[0], "evalsha_ro") ||
                   arg_is(&argv[0], "fcall") || arg_is(&argv[0], "fcall_ro");
    if (!keyspace) return 0;
    srv_reply_error(c, "ERR Replica can't interact with the keyspace");
    return 1;
}
