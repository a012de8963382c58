/* client.c — client connections: accept, buffered reads, request parsing, buffered writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/node.h"
#include "server/server.h"
#include "util/strconv.h"
#include "util/assert.h"

static void client_on_io(net_loop *l, int fd, int events, void *ctx);
static void client_on_handshake(net_loop *l, int fd, int events, void *ctx);
static void update_watch(client *c);

static void pending_remove(client *c)
{
    server *s = c->srv;
    if (!(c->flags & CLIENT_PENDING_WRITE)) return;
    if (c->pending_prev)
        c->pending_prev->pending_next = c->pending_next;
    else
        s->pending = c->pending_next;
    if (c->pending_next) c->pending_next->pending_prev = c->pending_prev;
    c->pending_prev = c->pending_next = NULL;
    c->flags &= ~CLIENT_PENDING_WRITE;
}

void srv_client_mark_pending(client *c)
{
    if (c->flags & CLIENT_PENDING_WRITE) return;
    server *s = c->srv;
    c->flags |= CLIENT_PENDING_WRITE;
    c->pending_prev = NULL;
    c->pending_next = s->pending;
    if (s->pending) s->pending->pending_prev = c;
    s->pending = c;
}

void srv_client_free(client *c)
{
    server *s = c->srv;
    if (s->cfg.log_verbose)
        syn_log(SYN_LOG_INFO, "client id=%llu addr=%s closed", (unsigned long long)c->id, c->addr);
    pending_remove(c);
    if (c->xfer) srv_rdb_xfer_abort(c);
    if (s->node) node_client_detach(s->node, &c->nc);
    if (s->n_observers) srv_observe_drop(s, c);
    srv_pubsub_drop(s, c);
    srv_tracking_drop(s, c);
    srv_stats_client_free(c);
    if (c->monitor) s->n_monitors--;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    s->n_clients--;
    SYN_ASSERT(s->n_clients >= 0);
    int rc = net_loop_watch(s->loop, c->fd, 0, NULL, NULL);
    SYN_ASSERT(rc == 0);
    if (c->flags & CLIENT_HANDED_OFF) { /* a debugging session's now: left as it is */
        if (c->tls) net_tls_forget(c->tls);
    } else {
        if (c->tls) net_tls_free(c->tls);
        /* a forked child (a snapshot's or an RDB transfer's writer) holds a copy of the socket:
         * the connection ends now all the same, not when that child exits */
        (void)shutdown(c->fd, SHUT_RDWR);
    }
    close(c->fd);
    resp_parser_destroy(c->parser);
    resp_buf_deinit(&c->out);
    resp_buf_deinit(&c->multi);
    free(c->qbuf);
    free(c->name);
    srv_acl_client_free(c);
    free(c);
}

static void reject(int fd, const char *msg)
{
    /* best effort: the connection is closed right after */
    (void)!write(fd, msg, strlen(msg));
    close(fd);
}

/* Accepts the pending connections of listener lfd; tls: the TLS port's, whose clients start
 * with a handshake. */
static void accept_clients(net_loop *l, server *s, int lfd, int tls)
{
    /* bounded: at most this many accepts per readiness event, so one busy listener cannot
     * starve the connected clients */
    for (int i = 0; i < 1000; i++) {
        char peer[64];
        int fd = net_tcp_accept(lfd, peer, sizeof(peer));
        if (fd == -EAGAIN) return;
        if (fd < 0) {
            syn_log(SYN_LOG_WARN, "accept: %s", strerror(-fd));
            return;
        }
        if (s->n_clients >= s->cfg.maxclients || fd >= net_loop_max_fds(l) - 1) {
            s->stats.connections_rejected++;
            if (tls)
                close(fd); /* an error in clear text would be garbage inside a handshake */
            else
                reject(fd, "-ERR max number of clients reached\r\n");
            continue;
        }
        /* a TLS client learns of protected mode after its handshake (as in Redis) */
        if (!tls && srv_protected_refuses((int)s->cfg.protected_mode,
                                          srv_acl_default_passwordless(s), peer)) {
            s->stats.connections_rejected++;
            reject(fd, srv_protected_denied);
            continue;
        }
        client *c = calloc(1, sizeof(*c));
        resp_parser *p = resp_parser_create(&s->limits);
        net_tls *t = tls ? net_tls_new(s->tls_ctx, fd) : NULL;
        if (!c || !p || (tls && !t)) {
            free(c);
            resp_parser_destroy(p);
            if (t) net_tls_free(t);
            syn_log(SYN_LOG_WARN, "out of memory accepting a client");
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        c->tls = t;
        c->id = s->next_client_id++;
        c->proto = 2;
        c->authenticated = srv_acl_default_nopass(s); /* as the default user */
        c->parser = p;
        resp_buf_init_soft(&c->out);
        resp_buf_init_soft(&c->multi);
        snprintf(c->addr, sizeof(c->addr), "%s", peer);
        if (net_local_addr(fd, c->laddr, sizeof(c->laddr)) < 0) c->laddr[0] = '\0';
        c->ctime_ms = c->last_ms = net_mono_ms();
        if (s->node) node_client_attach(s->node, &c->nc, c, s->cfg.consistency);
        c->nc.id = c->id;
        c->last_cmd = "NULL";
        if (tls) c->flags |= CLIENT_TLS_HANDSHAKE;
        int rc = net_loop_watch(l, fd, NET_READABLE, tls ? client_on_handshake : client_on_io, c);
        if (rc < 0) {
            syn_log(SYN_LOG_WARN, "watch client fd %d: %s", fd, strerror(-rc));
            resp_parser_destroy(p);
            resp_buf_deinit(&c->out);
            if (t) net_tls_free(t);
            free(c);
            close(fd);
            continue;
        }
        c->next = s->clients;
        if (s->clients) s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        s->stats.connections_received++;
        if (s->cfg.log_verbose)
            syn_log(SYN_LOG_INFO, "client id=%llu addr=%s connected%s", (unsigned long long)c->id,
                    c->addr, tls ? " (tls)" : "");
    }
}

void srv_client_accept_cb(net_loop *l, int lfd, int events, void *ctx)
{
    (void)events;
    accept_clients(l, ctx, lfd, 0);
}

void srv_client_tls_accept_cb(net_loop *l, int lfd, int events, void *ctx)
{
    (void)events;
    accept_clients(l, ctx, lfd, 1);
}

/* A TLS client's handshake, driven by whichever readiness OpenSSL asked for. Until it is done
 * the client reads no request; then it watches for requests like any client (and reads at once:
 * the first request may have come with the handshake's last flight). */
static void client_on_handshake(net_loop *l, int fd, int events, void *ctx)
{
    (void)events;
    client *c = ctx;
    int rc = net_tls_handshake(c->tls);
    if (rc < 0) {
        if (c->srv->cfg.log_verbose)
            syn_log(SYN_LOG_INFO, "TLS handshake with client id=%llu addr=%s failed: %s",
                    (unsigned long long)c->id, c->addr, net_tls_error(c->tls));
        srv_client_free(c);
        return;
    }
    if (rc > 0) {
        int wrc = net_loop_watch(l, fd, rc, client_on_handshake, c);
        SYN_ASSERT(wrc == 0);
        return;
    }
    c->flags &= ~CLIENT_TLS_HANDSHAKE;
    server *s = c->srv;
    if (srv_protected_refuses((int)s->cfg.protected_mode, srv_acl_default_passwordless(s),
                              c->addr)) {
        int want;
        s->stats.connections_rejected++;
        (void)net_tls_write(c->tls, srv_protected_denied, strlen(srv_protected_denied), &want);
        srv_client_free(c);
        return;
    }
    c->last_ms = net_mono_ms();
    int wrc = net_loop_watch(l, fd, NET_READABLE, client_on_io, c);
    SYN_ASSERT(wrc == 0);
    client_on_io(l, fd, NET_READABLE, c);
}

static size_t out_pending(const client *c)
{
    return c->out.len - c->out_sent;
}

/* Frees the unsent output of a client that is being dropped. */
static void drop_output(client *c)
{
    resp_buf_deinit(&c->out);
    c->out_sent = 0;
}

/* Drops a client for lack of memory (its request or reply could not be allocated): the other
 * clients and the node carry on. */
static void drop_oom(client *c, const char *what)
{
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    syn_log(SYN_LOG_WARN, "out of memory %s for client id=%llu addr=%s: closing it", what,
            (unsigned long long)c->id, c->addr);
    c->srv->stats.oom_disconnections++;
    drop_output(c);
    c->flags |= CLIENT_CLOSE_ASAP;
    srv_client_mark_pending(c); /* freed by the before-sleep hook */
}

static bool cmd_is(const data_arg *a, const char *name)
{
    return a->len == strlen(name) && strncasecmp(a->ptr, name, a->len) == 0;
}

/* requirepass (Redis's default user with a password): until AUTH or HELLO ... AUTH succeeds only
 * AUTH, HELLO, QUIT and RESET run. An unknown command or a wrong arity is reported first, as
 * Redis checks those before authentication. 1 = answered (the command does not run). */
/* maxmemory (docs/data.md "Eviction"), as Redis's processCommand: over the limit, the leader
 * evicts first (node_evict); if nothing can be evicted, a command that may grow memory (and an
 * EXEC queueing one) is refused with -OOM, inside MULTI it dooms the transaction. A follower
 * refuses nothing: the leader judges what it relays. 1 = answered, -1 = wait (earlier replies
 * first), 0 = go on. */
static int oom_gate(server *s, client *c, int argc, const data_arg *argv)
{
    long long over = (long long)srv_memory_for_evict(s) - s->cfg.maxmemory;
    /* a follower's SYNOD EVICTIONS <bytes> (node.c evictions_wait): its own excess if more (its
     * clients' buffers count there, as in Redis, and are not this node's) */
    long long asked;
    if (argc == 3 && cmd_is(&argv[0], "synod") && cmd_is(&argv[1], "evictions") &&
        syn_string2ll(argv[2].ptr, argv[2].len, &asked) && asked > over)
        over = asked;
    if (over <= 0) return 0;
    int ev = node_evict(s->node, over);
    c->nc.over_memory = ev > 0; /* a follower: a script may not end in its prelude here */
    c->nc.over_bytes = over;
    int exec = cmd_is(&argv[0], "exec");
    const data_cmd *dc = exec ? NULL : data_cmd_lookup(argv[0].ptr, argv[0].len);
    /* a follower leaves the data commands it relays to the leader's judgment, but judges the
     * scripts it may run itself (EVAL_RO, a prelude) by its own memory, as Redis would */
    if (ev == 0 || (ev > 0 && (exec || dc))) return 0;
    int deny = exec ? c->in_multi && !c->multi_dirty && srv_multi_has_denyoom(c)
                    : dc && (data_cmd_describe(dc)->flags & DATA_CMD_DENYOOM);
    if (!exec && !dc) { /* scripts, as Redis 7.0 (docs/scripting.md "Out of memory") */
        int policy = script_oom_policy(s->se, argc, argv);
        deny = policy == SCRIPT_OOM_DENY;
        /* refused at its first deny-oom command, on every replica (the entry says so) */
        c->nc.oom_script = policy == SCRIPT_OOM_FIRST_WRITE && !c->in_multi;
    }
    if (!deny) return 0;
    if (c->nc.n_async) {
        c->nc.stalled = true;
        return -1;
    }
    if (exec) {
        srv_multi_reset(c);
        node_unwatch(s->node, &c->nc);
        srv_reply_error(c, "EXECABORT Transaction discarded because of: OOM command not allowed "
                           "when used memory > 'maxmemory'.");
        return 1;
    }
    srv_reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
    if (c->in_multi) c->multi_dirty = 1;
    return 1;
}

static int auth_gate(server *s, client *c, int argc, const data_arg *argv)
{
    if (!srv_acl_auth_required(s, c)) return 0;
    if (cmd_is(&argv[0], "auth") || cmd_is(&argv[0], "hello") || cmd_is(&argv[0], "quit") ||
        cmd_is(&argv[0], "reset"))
        return 0;
    if (srv_cmd_check(s, c, argc, argv) == 0)
        srv_reply_error(c, cmd_is(&argv[0], "exec") /* Redis aborts the transaction */
                               ? "EXECABORT Transaction discarded because of: NOAUTH "
                                 "Authentication required."
                               : "NOAUTH Authentication required.");
    if (c->in_multi) c->multi_dirty = 1;
    return 1;
}

/* A member's relay sends a request of a follower connection that asks for it (CLIENT TRACKING)
 * as SYNOD ORIGIN <node run token> <connection id> <request number> <request...> (fwd.c
 * add_request): the origin is kept for the time the request is run (every entry proposed for it
 * names that connection: node.c NENTRY_ORIGIN) and the request runs as if sent alone. */
static int take_origin(client *c, int argc, data_arg *argv)
{
    c->nc.origin_node = c->nc.origin_conn = c->nc.origin_seq = 0;
    if (!c->relay_proven || argc < 6 || !cmd_is(&argv[0], "synod") || !cmd_is(&argv[1], "origin"))
        return argc;
    long long nid, cid, seq;
    if (syn_string2ll(argv[2].ptr, argv[2].len, &nid) && nid > 0 &&
        syn_string2ll(argv[3].ptr, argv[3].len, &cid) && cid > 0 &&
        syn_string2ll(argv[4].ptr, argv[4].len, &seq) && seq > 0) {
        c->nc.origin_node = (uint64_t)nid;
        c->nc.origin_conn = (uint64_t)cid;
        c->nc.origin_seq = (uint64_t)seq;
    }
    memmove(argv, argv + 5, (size_t)(argc - 5) * sizeof(*argv));
    return argc - 5;
}

/* Parses and executes every complete request in the query buffer, then keeps the unparsed
 * tail at the front of the buffer. */
static void process_input(client *c)
{
    server *s = c->srv;
    size_t pos = 0;
    uint32_t was_in = c->flags & CLIENT_IN_INPUT;
    c->flags |= CLIENT_IN_INPUT;
    /* (an RDB transfer's client, c->xfer, sends nothing more that is run: its connection closes
     * after the file) */
    while (pos < c->qlen && !c->xfer &&
           !(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP))) {
        if ((long long)out_pending(c) > SRV_OUT_PAUSE_BYTES) {
            /* back-pressure: the client is not reading its replies */
            c->flags |= CLIENT_PAUSED;
            break;
        }
        size_t used = 0;
        resp_arg *args = NULL;
        int argc = 0;
        int rc = resp_parse(c->parser, c->qbuf + pos, c->qlen - pos, &used, &args, &argc);
        if (rc == RESP_INCOMPLETE) break;
        if (rc == RESP_NOMEM) {
            drop_oom(c, "parsing a request");
            pos = c->qlen;
            break;
        }
        if (rc == RESP_ERROR) {
            /* replies still owed to earlier requests go first, as in Redis: the parser stays
             * in error, so this comes back here once they are out (node_client_done) */
            if (c->nc.n_async) break;
            const char *msg = resp_parser_error(c->parser);
            syn_log(SYN_LOG_INFO, "protocol error from client id=%llu addr=%s: %s",
                    (unsigned long long)c->id, c->addr, msg);
            srv_reply_error(c, msg);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            pos = c->qlen;
            break;
        }
        SYN_ASSERT(used > 0 && used <= c->qlen - pos);
        c->flags &= ~CLIENT_REPLY_SKIP; /* CLIENT REPLY SKIP covered the previous command */
        if (argc > 0 && (c->flags & CLIENT_REPLY_SKIP_NEXT)) {
            c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
        }
        if (argc > 0) {
            if (argc > s->argv_cap) {
                int cap = s->argv_cap ? s->argv_cap : 16;
                while (cap < argc)
                    cap *= 2;
                data_arg *na = realloc(s->argv, sizeof(*na) * (size_t)cap);
                if (!na) {
                    drop_oom(c, "for the arguments of a request");
                    pos = c->qlen;
                    break;
                }
                s->argv = na;
                s->argv_cap = cap;
            }
            for (int i = 0; i < argc; i++) {
                s->argv[i].ptr = args[i].ptr;
                s->argv[i].len = args[i].len;
            }
            if (s->node) {
                int after = node_take_after(s->node, &c->nc, argc, s->argv);
                if (after == NODE_STALL) break; /* re-run later: the blocking command first */
                if (after == NODE_DONE) {
                    pos += used;
                    continue;
                }
                argc = node_take_mark(s->node, &c->nc, argc, s->argv);
            }
            argc = take_origin(c, argc, s->argv);
            srv_stats_begin(s, c, argc, s->argv); /* refused until srv_stats_phase says not */
            c->pause_held = false;
            if (srv_acl_relay_cmd(s, c, argc, s->argv)) { /* a relay's proof: before the gates */
                srv_stats_end(s, c, 1, 1, argc, s->argv);
                s->stats.commands_processed++;
                pos += used;
                continue;
            }
            if (s->busy) { /* called from a script's busy hook (busy.c) */
                srv_busy_request(s, c, argc, s->argv);
                srv_stats_end(s, c, 1, 1, argc, s->argv);
                s->stats.commands_processed++;
                pos += used;
                continue;
            }
            if (auth_gate(s, c, argc, s->argv) || srv_acl_gate(s, c, argc, s->argv) ||
                (c->subs && srv_pubsub_gate(s, c, argc, s->argv)) ||
                srv_monitor_gate(c, argc, s->argv)) {
                srv_stats_end(s, c, 1, 1, argc, s->argv);
                s->stats.commands_processed++;
                pos += used;
                continue;
            }
            c->nc.oom_script = false;
            c->nc.over_memory = false;
            if (s->cfg.maxmemory && s->node) {
                int oom = oom_gate(s, c, argc, s->argv);
                if (oom < 0) { /* not consumed: re-run later */
                    srv_stats_end(s, c, 0, 1, argc, s->argv);
                    break;
                }
                if (oom > 0) {
                    srv_stats_end(s, c, 1, 1, argc, s->argv);
                    s->stats.commands_processed++;
                    pos += used;
                    continue;
                }
            }
            srv_acl_rewrite(s, argc, s->argv); /* ACL SETUSER / DELUSER: their logged form */
            /* a restricted user's script names the user (ACL_AS): checked on every replica */
            int wargc = argc;
            const data_arg *wargv = srv_acl_script_wrap(s, c, &wargc, s->argv);
            wargv = srv_config_route(s, c, &wargc, wargv); /* the cluster's settings: logged */
            /* queued in MULTI: not a call (EXEC's calls are charged as its reply comes) */
            srv_stats_phase(c, 1, 0);
            if (c->in_multi && !cmd_is(&s->argv[0], "multi") && !cmd_is(&s->argv[0], "exec") &&
                !cmd_is(&s->argv[0], "discard") && !cmd_is(&s->argv[0], "watch") &&
                !cmd_is(&s->argv[0], "quit") && !cmd_is(&s->argv[0], "reset"))
                srv_stats_phase(c, 0, 1);
            /* tracked reads: queued ones at queueing (not at EXEC); routed ones once routed
             * (below: a follower may first wait for the ReadIndex gate) */
            if (c->trk && c->in_multi) srv_tracking_request(s, c, argc, s->argv);
            int m = srv_multi_filter(s, c, wargc, wargv);
            if (m == MULTI_STALL) { /* not consumed: re-run later */
                srv_stats_end(s, c, 0, 1, argc, s->argv);
                break;
            }
            if (m == MULTI_DONE) {
                srv_stats_end(s, c, 1, 1, argc, s->argv);
                s->stats.commands_processed++;
                pos += used;
                continue;
            }
            if (m == MULTI_EXEC) {
                if (s->pause_end_ms && c->multi_n &&
                    srv_paused(s, srv_multi_has_pause_write(s, c))) { /* EXEC is held too */
                    c->nc.stalled = true;
                    c->pause_held = true;
                    srv_stats_end(s, c, 0, 1, argc, s->argv);
                    break;
                }
                srv_stats_set_inner(s, c);
                srv_multi_acl_recheck(s, c);
                if (node_exec(s->node, &c->nc) == NODE_STALL) { /* re-run later: still queued */
                    srv_stats_end(s, c, 0, 1, argc, s->argv);
                    break;
                }
                srv_stats_end(s, c, 1, 0, argc, s->argv);
                s->stats.commands_processed++;
                pos += used;
                continue;
            }
            if (s->pause_end_ms) {
                const data_cmd *dc = data_cmd_lookup(s->argv[0].ptr, s->argv[0].len);
                int write = srv_pause_write_cmd(s, argc, s->argv);
                if ((dc || write) && srv_paused(s, write)) {
                    c->nc.stalled = true; /* CLIENT PAUSE: re-run on a later pass */
                    c->pause_held = true;
                    srv_stats_end(s, c, 0, 1, argc, s->argv);
                    break;
                }
            }
            int obs = srv_observe_filter(s, c, argc, s->argv);
            if (obs < 0) {
                c->nc.stalled = true; /* re-run once the earlier replies are out */
                srv_stats_end(s, c, 0, 1, argc, s->argv);
                break;
            }
            if (obs > 0) {
                srv_stats_end(s, c, 1, 1, argc, s->argv);
                s->stats.commands_processed++;
                pos += used;
                continue;
            }
            srv_stats_feed_script(s, c, argc, s->argv);
            /* identical requests that follow may go with this one (pipelined blocking pops) */
            bool offer = !c->trk && !(c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP));
            c->nc.raw = (const uint8_t *)c->qbuf + pos;
            c->nc.raw_len = used;
            c->nc.raw_avail = offer ? c->qlen - pos : 0;
            c->nc.repeat_used = 0;
            int route = s->node ? node_route(s->node, &c->nc, wargc, wargv) : NODE_LOCAL;
            c->nc.raw = NULL;
            if (route == NODE_STALL) { /* not consumed: re-run later */
                srv_stats_end(s, c, 0, 1, argc, s->argv);
                break;
            }
            if (c->trk) srv_tracking_request(s, c, argc, s->argv);
            if (route == NODE_LOCAL) srv_dispatch(s, c, wargc, wargv);
            srv_stats_end(s, c, 1, route == NODE_LOCAL, argc, s->argv);
            s->stats.commands_processed++;
            for (int k = 0; k < c->nc.repeat_used; k++) { /* taken with it: answered later */
                pos += used;
                srv_stats_begin(s, c, argc, s->argv);
                srv_stats_phase(c, 1, 0);
                srv_stats_end(s, c, 1, 0, argc, s->argv);
                s->stats.commands_processed++;
            }
            c->nc.repeat_used = 0;
        }
        pos += used;
    }
    c->nc.origin_node = c->nc.origin_conn = c->nc.origin_seq = 0; /* take_origin's: one request */
    c->flags &= ~CLIENT_REPLY_SKIP;
    c->flags = (c->flags & ~CLIENT_IN_INPUT) | was_in;
    srv_stats_flush(c);
    if (pos > 0) {
        memmove(c->qbuf, c->qbuf + pos, c->qlen - pos);
        c->qlen -= pos;
    }
    /* a big request passed: its memory goes back at the next cron (srv_client_resize_qbuf),
     * as in Redis, whose CLIENT LIST shows the buffer until then */
    if (out_pending(c) > 0) srv_client_mark_pending(c);
}

#define QBUF_WASTE_BYTES  (4 * 1024)  /* Redis: only a buffer wasting more is resized */
#define QBUF_RESIZE_BYTES (32 * 1024) /* Redis's PROTO_RESIZE_THRESHOLD */
#define QBUF_IDLE_MS      2000

void srv_client_resize_qbuf(client *c, int64_t now_ms)
{
    SYN_ASSERT(c->qlen <= c->qcap);
    size_t need = resp_parser_need(c->parser); /* a bulk in progress needs this much more */
    size_t keep = c->qcap;
    if (c->qcap - c->qlen > QBUF_WASTE_BYTES) {
        if (now_ms - c->last_ms > QBUF_IDLE_MS) {
            keep = c->qlen;
        } else if (c->qcap > QBUF_RESIZE_BYTES && c->qcap / 2 > c->qpeak) {
            keep = c->qpeak > c->qlen ? c->qpeak : c->qlen;
            if (keep < c->qlen + need) keep = c->qlen + need;
        }
    }
    if (keep == 0) {
        free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
    } else if (keep < c->qcap) {
        char *nb = realloc(c->qbuf, keep);
        if (nb) { /* else the bigger buffer stays: it is still valid */
            c->qbuf = nb;
            c->qcap = keep;
        }
    }
    c->qpeak = c->qlen + need;
}

void srv_client_process(client *c)
{
    if (!(c->flags & (CLIENT_PAUSED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
        process_input(c);
}

/* read(2)'s contract over TLS (n > 0, 0 at the end, -1 with errno). A read that must wait for
 * the socket to be writable (a TLS 1.3 key update to answer) says so in the flags. */
static ssize_t tls_read(client *c, char *buf, size_t cap)
{
    int want = 0;
    ssize_t n = net_tls_read(c->tls, buf, cap, &want);
    if (n >= 0) return n;
    if (n == -EAGAIN) {
        if (want == NET_WRITABLE) {
            c->flags |= CLIENT_TLS_READ_WANTS_WRITE;
            update_watch(c);
        }
        errno = EAGAIN;
        return -1;
    }
    if (c->srv->cfg.log_verbose)
        syn_log(SYN_LOG_INFO, "TLS read from client id=%llu: %s", (unsigned long long)c->id,
                net_tls_error(c->tls));
    errno = EIO;
    return -1;
}

static void on_readable(client *c)
{
    server *s = c->srv;
again:;
    size_t want = SRV_IOBUF_BYTES;
    size_t need = resp_parser_need(c->parser);
    /* a big bulk in progress: read exactly what it still needs, in one buffer */
    if (need > want && need < (size_t)s->cfg.client_query_buffer_limit) want = need;
    if (c->qcap - c->qlen < want) {
        size_t ncap = c->qlen + want;
        /* geometric while the size is unknown (many small arguments): a big pending request
         * must not cost a realloc per 16 KB read; a big bulk gets exactly what it needs */
        if (want == SRV_IOBUF_BYTES && ncap < c->qcap + c->qcap / 2) ncap = c->qcap + c->qcap / 2;
        if (ncap < SRV_IOBUF_BYTES) ncap = SRV_IOBUF_BYTES;
        char *nb = realloc(c->qbuf, ncap);
        if (!nb && ncap > c->qlen + want) nb = realloc(c->qbuf, ncap = c->qlen + want);
        if (!nb) {
            drop_oom(c, "reading a request");
            return;
        }
        c->qbuf = nb;
        c->qcap = ncap;
    }
    if (c->qpeak < c->qlen + want) c->qpeak = c->qlen + want;
    ssize_t n = c->tls ? tls_read(c, c->qbuf + c->qlen, c->qcap - c->qlen)
                       : read(c->fd, c->qbuf + c->qlen, c->qcap - c->qlen);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        if (s->cfg.log_verbose)
            syn_log(SYN_LOG_INFO, "reading from client id=%llu: %s", (unsigned long long)c->id,
                    strerror(errno));
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    if (n == 0) {
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    c->qlen += (size_t)n;
    c->last_ms = net_mono_ms();
    s->stats.net_input_bytes += (uint64_t)n;
    if ((long long)c->qlen > s->cfg.client_query_buffer_limit) {
        syn_log(SYN_LOG_WARN,
                "closing client id=%llu addr=%s that reached max query buffer "
                "length (%zu bytes)",
                (unsigned long long)c->id, c->addr, c->qlen);
        s->stats.qbuf_limit_disconnections++;
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    if (!(c->flags & CLIENT_PAUSED)) process_input(c);
    /* bytes OpenSSL decrypted but did not hand out yet make the socket look idle to epoll */
    if (c->tls && net_tls_has_pending(c->tls) &&
        !(c->flags & (CLIENT_PAUSED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
        goto again;
}

/* write(2)'s contract over TLS. A write that must wait for the socket to be readable says so in
 * the flags (update_watch then watches readability instead). */
static ssize_t tls_write(client *c, const char *buf, size_t len)
{
    int want = 0;
    ssize_t n = net_tls_write(c->tls, buf, len, &want);
    if (n >= 0) return n;
    if (n == -EAGAIN) {
        if (want == NET_READABLE) c->flags |= CLIENT_TLS_WRITE_WANTS_READ;
        errno = EAGAIN;
        return -1;
    }
    if (c->srv->cfg.log_verbose)
        syn_log(SYN_LOG_INFO, "TLS write to client id=%llu: %s", (unsigned long long)c->id,
                net_tls_error(c->tls));
    errno = EIO;
    return -1;
}

/* Writes as much pending output as the socket takes. Returns 0 when everything is written,
 * 1 when the socket is full, -1 on a write error (the client is marked for closing). */
static int write_out(client *c)
{
    server *s = c->srv;
    while (out_pending(c) > 0) {
        ssize_t n = c->tls ? tls_write(c, c->out.data + c->out_sent, out_pending(c))
                           : write(c->fd, c->out.data + c->out_sent, out_pending(c));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                /* a client reading slowly while more output arrives never empties the
                 * buffer: drop the written front once it is most of it (amortised O(1)) */
                if (c->out_sent >= SRV_OUT_EAGER_BYTES && c->out_sent >= c->out.len / 2) {
                    resp_buf_consume(&c->out, c->out_sent);
                    c->out_sent = 0;
                }
                return 1;
            }
            c->flags |= CLIENT_CLOSE_ASAP;
            return -1;
        }
        c->out_sent += (size_t)n;
        s->stats.net_output_bytes += (uint64_t)n;
    }
    c->out.len = 0;
    c->out_sent = 0;
    if (c->out.cap > 4 * SRV_IOBUF_BYTES) resp_buf_deinit(&c->out); /* stays soft */
    if (c->xfer) srv_rdb_xfer_drained(c);                           /* more of its RDB file */
    return 0;
}

/* The watched mask follows the client's state: readable unless paused (back-pressure) or
 * closing, writable while output waits for the socket. */
static void update_watch(client *c)
{
    int mask = 0;
    if (!(c->flags & (CLIENT_PAUSED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
        mask |= NET_READABLE; /* an RDB transfer's too: its end of file (client gone) */
    if (c->flags & CLIENT_WANT_WRITE) mask |= NET_WRITABLE;
    if (c->tls) {
        /* OpenSSL may need the other direction than the operation's own */
        if (c->flags & CLIENT_TLS_WRITE_WANTS_READ) mask = (mask & ~NET_WRITABLE) | NET_READABLE;
        if (c->flags & CLIENT_TLS_READ_WANTS_WRITE) mask |= NET_WRITABLE;
    }
    if (mask == net_loop_mask(c->srv->loop, c->fd)) return;
    int rc = net_loop_watch(c->srv->loop, c->fd, mask, client_on_io, c);
    SYN_ASSERT(rc == 0);
}

/* --- replies: eager writes and client-output-buffer-limit ---------------------------------- */

/* The limit class of a client (pub/sub clients will be SRV_OBUF_PUBSUB once pub/sub lands). */
static int obuf_class(const client *c)
{
    /* a subscriber is limited as Redis's pubsub class: messages pile up if it reads slowly */
    return c->subs && srv_pubsub_subscribed(c) ? SRV_OBUF_PUBSUB : SRV_OBUF_NORMAL;
}

/* Redis's checkClientOutputBufferLimits on `pending` unsent bytes: over the hard limit, or over
 * the soft limit for more than its seconds without a break (the start is remembered on the first
 * check that finds it over, forgotten on the first that finds it under). As in Redis, the first
 * SRV_OBUF_UNCOUNTED_BYTES do not count (Redis's 16 KB static reply buffer is outside its
 * reply-list memory), so a tiny limit still lets short replies such as +OK through. */
#define SRV_OBUF_UNCOUNTED_BYTES (16 * 1024)
static int obuf_over_limit(client *c, size_t pending)
{
    const srv_obuf_limit *l = &c->srv->cfg.obuf_limits[obuf_class(c)];
    pending = pending > SRV_OBUF_UNCOUNTED_BYTES ? pending - SRV_OBUF_UNCOUNTED_BYTES : 0;
    if (l->hard_bytes && pending >= l->hard_bytes) return 1;
    if (l->soft_bytes && pending >= l->soft_bytes) {
        int64_t now = net_mono_ms();
        if (!c->obuf_soft_since_ms) {
            c->obuf_soft_since_ms = now;
            return 0;
        }
        return now - c->obuf_soft_since_ms > l->soft_seconds * 1000;
    }
    c->obuf_soft_since_ms = 0;
    return 0;
}

static void close_over_limit(client *c)
{
    syn_log(SYN_LOG_WARN,
            "Client id=%llu addr=%s omem=%zu scheduled to be closed ASAP for overcoming of output "
            "buffer limits.",
            (unsigned long long)c->id, c->addr, out_pending(c));
    c->srv->stats.obuf_limit_disconnections++;
    drop_output(c); /* the memory goes now; nothing more is appended (srv_client_reply_begin) */
    c->flags |= CLIENT_CLOSE_ASAP;
    srv_client_mark_pending(c); /* freed by the before-sleep hook */
}

int srv_client_reply_begin(client *c)
{
    if (c->flags & CLIENT_CLOSE_ASAP) return 0;
    /* CLIENT REPLY OFF / SKIP: the replies of the requests sent so are still built and walked
     * (their errors count, they answer their requests in the stats' FIFO), then cut off by
     * srv_client_reply_end, a write's late reply too (stats.c) */
    srv_stats_reply_begin(c);
    return 1;
}

static void reply_appended(client *c);

void srv_client_reply_end(client *c)
{
    if (!c->out.failed && srv_stats_reply_end(c->srv, c)) return; /* dropped */
    reply_appended(c);
}

void srv_client_push_raw(client *c, const char *p, size_t len)
{
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    unsigned was = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING; /* answers no request, gets through CLIENT REPLY OFF (Redis 7.0) */
    if (!srv_stats_at_boundary(c)) { /* mid-reply: let the walker see it, as any append */
        srv_client_reply_begin(c);
        resp_buf_append(&c->out, p, len);
        srv_client_reply_end(c);
    } else { /* a whole push between replies: walking it would change nothing */
        resp_buf_append(&c->out, p, len);
        reply_appended(c);
    }
    c->flags = (c->flags & ~CLIENT_PUSHING) | was;
    srv_client_mark_pending(c); /* not necessarily the client being served */
}

void srv_client_append_raw(client *c, const char *p, size_t len)
{
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    resp_buf_append(&c->out, p, len);
    reply_appended(c);
    srv_client_mark_pending(c);
}

size_t srv_client_out_pending(const client *c)
{
    return out_pending(c);
}

/* After an append to c->out: out of memory, eager write, output limits. */
static void reply_appended(client *c)
{
    if (c->out.failed) {
        drop_oom(c, "building a reply");
        return;
    }
    size_t pending = out_pending(c);
    if (pending >= SRV_OUT_EAGER_BYTES && !(c->flags & CLIENT_WANT_WRITE)) {
        /* write while building: a reading client then never holds a huge reply in full */
        int rc = write_out(c);
        if (rc < 0) {
            drop_output(c); /* write error: CLIENT_CLOSE_ASAP is set */
            srv_client_mark_pending(c);
            return;
        }
        if (rc == 1) {
            c->flags |= CLIENT_WANT_WRITE; /* the writable event continues */
            update_watch(c);
        }
        pending = out_pending(c);
    }
    if (obuf_over_limit(c, pending)) close_over_limit(c);
}

void srv_client_check_output_limits(server *s)
{
    for (client *c = s->clients; c; c = c->next)
        if (!(c->flags & CLIENT_CLOSE_ASAP) && obuf_over_limit(c, out_pending(c)))
            close_over_limit(c);
}

/* Writes pending output; on completion resumes a paused client or frees one that asked to be
 * closed. Returns 1 if the client was freed. */
static int flush_client(client *c)
{
    int rc = write_out(c);
    if (rc < 0) {
        srv_client_free(c);
        return 1;
    }
    if (rc == 1) {
        c->flags |= CLIENT_WANT_WRITE;
        update_watch(c);
        return 0;
    }
    c->flags &= ~CLIENT_WANT_WRITE;
    /* closed once the replies still owed to it are out too (a relayed ACL DELUSER of its own
     * user: the entry may be applied here, and close it, before the leader's reply comes), but
     * not after a blocked command's, which Redis does not wait for either */
    bool owed = c->nc.n_async && c->nc.async_kind != ASYNC_BLOCK;
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && !owed) {
        srv_client_free(c);
        return 1;
    }
    if (c->flags & CLIENT_PAUSED) {
        c->flags &= ~CLIENT_PAUSED;
        process_input(c); /* may pause again; its output is flushed by the caller's loop */
        /* input OpenSSL kept while the client was paused gets no readable event */
        if (c->tls && net_tls_has_pending(c->tls) && !(c->flags & CLIENT_PAUSED)) on_readable(c);
    }
    update_watch(c);
    return 0;
}

/* A client's events while a script is busy (busy.c): requests are answered (mostly -BUSY) and
 * replies written, but a client is never freed here (frames below the script may hold it), and
 * one with an earlier request still unanswered (the script's caller among them) is not read:
 * its replies must leave in order. TLS clients wait for the script's end. */
static void busy_io(client *c, int events)
{
    bool closing = (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) != 0;
    /* (a stalled client without replies pending only waits for a later pass: its requests
     * may be answered now, in order) */
    if ((events & NET_READABLE) && !closing && !c->tls && !c->nc.n_async &&
        !(c->flags & (CLIENT_PAUSED | CLIENT_IN_INPUT)))
        on_readable(c);
    if (!(c->flags & CLIENT_CLOSE_ASAP) && !(c->flags & CLIENT_TLS_HANDSHAKE) && !c->tls &&
        write_out(c) == 1 && !(c->flags & CLIENT_WANT_WRITE)) {
        c->flags |= CLIENT_WANT_WRITE;
        update_watch(c);
    }
    if (out_pending(c) > 0 || (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)))
        srv_client_mark_pending(c); /* finished (or freed) by the next before-sleep hook */
}

void srv_client_poll_busy(server *s)
{
    /* replies made before the script started (the before-sleep hook that would write them is
     * the one running it): out now, the list is left for that hook */
    for (client *c = s->pending; c; c = c->pending_next)
        if (!c->tls && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_WANT_WRITE)) && write_out(c) == 1) {
            c->flags |= CLIENT_WANT_WRITE;
            update_watch(c);
        }
    static const net_io_cb serve[] = {client_on_io, srv_client_accept_cb};
    (void)net_loop_poll_some(s->loop, 0, serve, 2);
}

static void client_on_io(net_loop *l, int fd, int events, void *ctx)
{
    (void)l;
    (void)fd;
    client *c = ctx;
    if (c->srv->busy) {
        busy_io(c, events);
        return;
    }
    if (c->tls && (c->flags & (CLIENT_TLS_READ_WANTS_WRITE | CLIENT_TLS_WRITE_WANTS_READ))) {
        /* a TLS operation waited for the other direction: that readiness resumes it */
        int swapped = 0;
        if ((c->flags & CLIENT_TLS_WRITE_WANTS_READ) && (events & NET_READABLE)) {
            c->flags &= ~CLIENT_TLS_WRITE_WANTS_READ;
            swapped |= NET_WRITABLE;
        }
        if ((c->flags & CLIENT_TLS_READ_WANTS_WRITE) && (events & NET_WRITABLE)) {
            c->flags &= ~CLIENT_TLS_READ_WANTS_WRITE;
            swapped |= NET_READABLE;
        }
        events |= swapped;
        update_watch(c);
    }
    if ((events & NET_WRITABLE) && flush_client(c)) return;
    if ((events & NET_READABLE) &&
        !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY | CLIENT_PAUSED)))
        on_readable(c);
    if (c->flags & CLIENT_CLOSE_ASAP)
        srv_client_free(c);
    else if (c->flags & (CLIENT_PAUSED | CLIENT_CLOSE_AFTER_REPLY))
        update_watch(c);
}

void srv_before_sleep(net_loop *l, void *ctx)
{
    (void)l;
    server *s = ctx;
    /* A flushed client that was paused processes more input and may queue output again, so
     * repeat until nothing is pending: each round consumes buffered input, which is finite. */
    while (s->pending) {
        client *c = s->pending;
        s->pending = NULL;
        while (c) {
            client *next = c->pending_next;
            c->pending_prev = c->pending_next = NULL;
            c->flags &= ~CLIENT_PENDING_WRITE;
            if (c->flags & CLIENT_CLOSE_ASAP)
                srv_client_free(c);
            else if (!(c->flags & CLIENT_WANT_WRITE))
                flush_client(c);
            /* else: already waiting for the socket; the writable event continues */
            c = next;
        }
    }
}

void srv_client_list_line(const client *c, char *out, size_t cap)
{
    int64_t now = net_mono_ms();
    int mask = net_loop_mask(c->srv->loop, c->fd);
    size_t sub, psub, ssub;
    srv_pubsub_counts(c, &sub, &psub, &ssub);
    snprintf(
        out, cap,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%zu "
        "psub=%zu ssub=%zu multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 "
        "obl=0 oll=0 omem=%zu tot-mem=%zu events=%s%s cmd=%s user=%s redir=-1 "
        "resp=%d",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
        (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_ms) / 1000),
        c->nc.async_kind == ASYNC_BLOCK ? "b"
        : c->monitor                    ? "O"
        : c->in_multi                   ? "x"
        : srv_pubsub_subscribed(c)      ? "P"
                                        : "N",
        c->nc.db, sub, psub, ssub, c->qlen, c->qcap - c->qlen, c->qcap,
        /* omem: unsent output past the first SRV_OBUF_UNCOUNTED_BYTES (Redis's static reply
         * buffer is not in its omem either), so an idle client shows 0 as in Redis */
        out_pending(c) > SRV_OBUF_UNCOUNTED_BYTES ? out_pending(c) - SRV_OBUF_UNCOUNTED_BYTES : 0,
        sizeof(*c) + c->qcap + c->out.cap, (mask & NET_READABLE) ? "r" : "",
        (mask & NET_WRITABLE) ? "w" : "", c->last_cmd, srv_acl_username(c, NULL), c->proto);
}
