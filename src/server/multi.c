/* multi.c — MULTI / EXEC / DISCARD: a client's queued commands run as one unit.
 *
 * Between MULTI and EXEC commands are checked (known, right arity) and queued, each answered
 * +QUEUED; an invalid one is answered with its error and makes EXEC fail with EXECABORT, as in
 * Redis 7.0. EXEC then goes through the log as ONE entry (node.c), so every replica applies the
 * whole transaction at one point of the log, with nothing in between: atomic and isolated; the
 * reply is the array of the commands' replies. A follower relays the queued commands to the
 * leader as one contiguous MULTI ... EXEC (fwd.c). WATCH is not implemented.
 *
 * Queue format (c->multi): per command argc (u32) then each argument as len (u32) + bytes, all
 * big-endian like the log entries. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/node.h"
#include "server/server.h"

static int arg_is(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void srv_multi_reset(client *c)
{
    c->in_multi = 0;
    c->multi_dirty = 0;
    c->multi_n = 0;
    c->multi.len = 0;
    if (c->multi.cap > (1u << 20)) { /* a big transaction passed: give the memory back */
        resp_buf_deinit(&c->multi);
        resp_buf_init(&c->multi);
    }
}

static void queue(client *c, int argc, const data_arg *argv)
{
    size_t need = 4;
    for (int i = 0; i < argc; i++)
        need += 4 + argv[i].len;
    resp_buf_reserve(&c->multi, need);
    uint8_t *p = (uint8_t *)c->multi.data + c->multi.len;
    put32(p, (uint32_t)argc), p += 4;
    for (int i = 0; i < argc; i++) {
        put32(p, (uint32_t)argv[i].len), p += 4;
        memcpy(p, argv[i].ptr, argv[i].len), p += argv[i].len;
    }
    c->multi.len += need;
    c->multi_n++;
}

int srv_multi_next(const client *c, size_t *off, data_arg **argv, int *cap)
{
    const uint8_t *b = (const uint8_t *)c->multi.data;
    if (*off + 4 > c->multi.len) return -1;
    uint32_t argc = get32(b + *off);
    size_t o = *off + 4;
    if ((int)argc > *cap) {
        data_arg *na = realloc(*argv, argc * sizeof(*na));
        if (!na) return -1;
        *argv = na;
        *cap = (int)argc;
    }
    for (uint32_t i = 0; i < argc; i++) {
        uint32_t l = get32(b + o);
        (*argv)[i].ptr = (const char *)b + o + 4;
        (*argv)[i].len = l;
        o += 4 + l;
    }
    *off = o;
    return (int)argc;
}

int srv_multi_has_write(const client *c)
{
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k, w = 0;
    while (!w && (k = srv_multi_next(c, &off, &argv, &cap)) > 0) {
        const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
        w = dc && (data_cmd_describe(dc)->flags & DATA_CMD_WRITE);
    }
    free(argv);
    return w;
}

int srv_multi_filter(server *s, client *c, int argc, const data_arg *argv)
{
    bool mine = c->in_multi || arg_is(&argv[0], "multi") || arg_is(&argv[0], "exec") ||
                arg_is(&argv[0], "discard");
    if (!mine) return MULTI_PASS;
    /* replies leave in request order: an earlier request still waits for its reply */
    if (c->n_async) {
        c->flags |= CLIENT_STALLED;
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
            srv_reply_status(c, "OK");
            return MULTI_DONE;
        }
        if (c->multi_dirty) {
            srv_multi_reset(c);
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
    queue(c, argc, argv);
    srv_reply_status(c, "QUEUED");
    return MULTI_DONE;
}
