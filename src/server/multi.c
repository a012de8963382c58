/* multi.c — MULTI / EXEC / DISCARD: a client's queued commands run as one unit.
 *
 * Between MULTI and EXEC commands are checked (known, right arity) and queued, each answered
 * +QUEUED; an invalid one is answered with its error and makes EXEC fail with EXECABORT, as in
 * Redis 7.0. EXEC then goes through the log as ONE entry (node.c), so every replica applies the
 * whole transaction at one point of the log, with nothing in between: atomic and isolated; the
 * reply is the array of the commands' replies. A follower relays the queued commands to the
 * leader as one contiguous MULTI ... EXEC (fwd.c). WATCH is the node's (node_watch.c).
 *
 * Queue format (c->multi): the commands one after another as nentry_put_args writes them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/node.h"
#include "server/server.h"

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

void srv_multi_reset(client *c)
{
    c->in_multi = 0;
    c->multi_dirty = 0;
    c->multi_n = 0;
    c->multi.len = 0;
    if (c->multi.cap > (1u << 20))  /* a big transaction passed: give the memory back */
        resp_buf_deinit(&c->multi); /* stays a soft buffer */
}

/* Returns 0, or -1 if the queue could not grow (c->multi is a soft buffer: out of memory is
 * the client's problem, not the node's). */
static int queue(client *c, int argc, const data_arg *argv)
{
    size_t need = 4; /* what nentry_put_args writes: it then finds the room reserved */
    for (int i = 0; i < argc; i++)
        need += 4 + argv[i].len;
    if (resp_buf_reserve(&c->multi, need) < 0) return -1;
    nentry_put_args(&c->multi, argc, argv);
    c->multi_n++;
    return 0;
}

int srv_multi_next(const client *c, size_t *off, data_arg **argv, int *cap)
{
    int k = nentry_get_args((const uint8_t *)c->multi.data, c->multi.len, off, argv, cap);
    return k > 0 ? k : -1;
}

static int has_flag(const client *c, uint32_t flag)
{
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k, w = 0;
    while (!w && (k = srv_multi_next(c, &off, &argv, &cap)) > 0) {
        const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
        w = dc && (data_cmd_describe(dc)->flags & flag);
    }
    free(argv);
    return w;
}

int srv_multi_has_write(const client *c)
{
    return has_flag(c, DATA_CMD_WRITE);
}

int srv_multi_has_pause_write(server *s, const client *c)
{
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k, w = 0;
    while (!w && (k = srv_multi_next(c, &off, &argv, &cap)) > 0)
        w = srv_pause_write_cmd(s, k, argv);
    free(argv);
    return w;
}

int srv_multi_has_denyoom(const client *c)
{
    return has_flag(c, DATA_CMD_DENYOOM);
}

int srv_multi_filter(server *s, client *c, int argc, const data_arg *argv)
{
    bool mine = c->in_multi || arg_is(&argv[0], "multi") || arg_is(&argv[0], "exec") ||
                arg_is(&argv[0], "discard");
    if (!mine) return MULTI_PASS;
    /* replies leave in request order: an earlier request still waits for its reply */
    if (c->nc.n_async) {
        c->nc.stalled = true;
        return MULTI_STALL;
    }
    if (arg_is(&argv[0], "multi")) {
        if (argc != 1) {
            srv_reply_error(c, "ERR wrong number of arguments for 'multi' command");
            if (c->in_multi) c->multi_dirty = 1;
        } else if (c->in_multi) {
            srv_reply_error(c, "ERR MULTI calls can not be nested");
        } else {
            srv_multi_reset(c);
            c->in_multi = 1;
            srv_reply_status(c, "OK");
        }
        return MULTI_DONE;
    }
    if (arg_is(&argv[0], "exec") || arg_is(&argv[0], "discard")) {
        int exec = arg_is(&argv[0], "exec");
        if (argc != 1 && exec) { /* Redis aborts (and forgets) the transaction at once */
            srv_multi_reset(c);
            node_unwatch(s->node, &c->nc);
            srv_reply_error(c, "EXECABORT Transaction discarded because of: wrong number of "
                               "arguments for 'exec' command");
            return MULTI_DONE;
        }
        if (argc != 1) {
            srv_reply_error(c, "ERR wrong number of arguments for 'discard' command");
            if (c->in_multi) c->multi_dirty = 1;
            return MULTI_DONE;
        }
        if (!c->in_multi) {
            srv_reply_error(c, exec ? "ERR EXEC without MULTI" : "ERR DISCARD without MULTI");
            return MULTI_DONE;
        }
        if (!exec) {
            srv_multi_reset(c);
            node_unwatch(s->node, &c->nc); /* DISCARD forgets the watched keys too */
            srv_reply_status(c, "OK");
            return MULTI_DONE;
        }
        if (c->multi_dirty) {
            srv_multi_reset(c);
            node_unwatch(s->node, &c->nc);
            srv_reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
            return MULTI_DONE;
        }
        return MULTI_EXEC;
    }
    if (!c->in_multi) return MULTI_PASS;
    if (arg_is(&argv[0], "quit") || arg_is(&argv[0], "reset")) return MULTI_PASS;
    if (arg_is(&argv[0], "watch")) {
        srv_reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return MULTI_DONE;
    }
    if (arg_is(&argv[0], "synod") || arg_is(&argv[0], "readonly") ||
        arg_is(&argv[0], "readwrite") || arg_is(&argv[0], "hello")) {
        srv_reply_error(c, "ERR Command not allowed inside a transaction");
        c->multi_dirty = 1;
        return MULTI_DONE;
    }
    if (srv_cmd_check(s, c, argc, argv) < 0) { /* answered with the error */
        c->multi_dirty = 1;
        return MULTI_DONE;
    }
    if (srv_cmd_protected_refused(s, c, argc, argv)) {
        c->multi_dirty = 1;
        return MULTI_DONE;
    }
    if (srv_cmd_no_multi(&argv[0])) { /* SAVE, SHUTDOWN: after the arity check, as Redis */
        srv_reply_error(c, "ERR Command not allowed inside a transaction");
        c->multi_dirty = 1;
        return MULTI_DONE;
    }
    if (s->node && node_refuses_write(s->node, argc, argv)) { /* min-replicas-to-write */
        srv_reply_error(c, "NOREPLICAS Not enough good replicas to write.");
        c->multi_dirty = 1;
        return MULTI_DONE;
    }
    if (!c->multi_dirty && queue(c, argc, argv) < 0) {
        /* the transaction can only be discarded now: free its queue and make EXEC say so */
        syn_log(SYN_LOG_WARN, "out of memory queueing a command of client id=%llu addr=%s",
                (unsigned long long)c->id, c->addr);
        resp_buf_deinit(&c->multi);
        c->multi_dirty = 1;
        srv_reply_error(c, "OOM out of memory queueing the command in the transaction");
        return MULTI_DONE;
    }
    srv_reply_status(c, "QUEUED"); /* a doomed (dirty) transaction queues nothing more */
    return MULTI_DONE;
}

/* EXEC: every queued command is checked again against the user as it is now (Redis 7.0 does
 * this as it runs them); one the user may no longer run is replaced by ACL_EFFECT NOPERM,
 * which answers the error in its place of EXEC's array, the others run. */
void srv_multi_acl_recheck(server *s, client *c)
{
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k, denied = 0;
    while ((k = srv_multi_next(c, &off, &argv, &cap)) > 0) {
        const char *why;
        denied += srv_acl_exec_denied(s, c, k, argv, &why);
    }
    if (!denied) {
        free(argv);
        return;
    }
    resp_buf old = c->multi;
    int old_n = c->multi_n;
    resp_buf_init_soft(&c->multi);
    c->multi_n = 0;
    off = 0;
    int failed = 0;
    while ((k = nentry_get_args((const uint8_t *)old.data, old.len, &off, &argv, &cap)) > 0) {
        const char *why = NULL;
        int rc;
        if (srv_acl_exec_denied(s, c, k, argv, &why) && why) {
            data_arg np[3] = {{"ACL_EFFECT", 10}, {"NOPERM", 6}, {why, strlen(why)}};
            rc = queue(c, 3, np);
        } else {
            rc = queue(c, k, argv);
        }
        failed |= rc < 0;
    }
    free(argv);
    if (failed) { /* out of memory: keep the queue as it was (the checks were logged) */
        resp_buf_deinit(&c->multi);
        c->multi = old;
        c->multi_n = old_n;
        return;
    }
    resp_buf_deinit(&old);
}
