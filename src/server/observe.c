/* observe.c — ELECTION OBSERVE name (docs/coordination.md): a connection is sent a push message
 * on every change of an election's leader (won, proclaimed, resigned, lease ended), as this node
 * applies it: RESP3 `>4 "election" name value token`, RESP2 the same as a pub/sub-style array
 * (`*4`), with value and token null when the election has no leader. The first message, sent
 * at once after the confirmation (`observe name count`), is the state this node has applied.
 * Observing is local to the node the client is connected to (every node applies every change),
 * so it works through followers without relaying; the connection may go on sending commands. */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "util/assert.h"

#define OBSERVERS_MAX 65536

struct srv_observer {
    client *c;
    char *name;
    size_t len;
};

static void push_leader(client *c, const char *name, size_t len, const char *v, size_t vlen,
                        uint64_t token)
{
    c->flags |= CLIENT_PUSHING; /* answers no request (stats.c) */
    if (!srv_client_reply_begin(c)) {
        c->flags &= ~CLIENT_PUSHING;
        return;
    }
    resp_add_push(&c->out, 4, c->proto);
    resp_add_bulk(&c->out, "election", 8);
    resp_add_bulk(&c->out, name, len);
    if (token) {
        resp_add_bulk(&c->out, v, vlen);
        resp_add_int(&c->out, (long long)token);
    } else {
        resp_add_null(&c->out, c->proto);
        resp_add_null(&c->out, c->proto);
    }
    srv_client_reply_end(c);
    c->flags &= ~CLIENT_PUSHING;
    srv_client_mark_pending(c); /* not necessarily the client being served */
}

static void on_leader_change(void *ctx, const char *name, size_t len, const char *v, size_t vlen,
                             uint64_t token)
{
    server *s = ctx;
    for (size_t i = 0; i < s->n_observers; i++) {
        struct srv_observer *o = &s->observers[i];
        if (o->len == len && memcmp(o->name, name, len) == 0)
            push_leader(o->c, name, len, v, vlen, token);
    }
}

void srv_observe_init(server *s)
{
    data_set_election_hook(s->ds, on_leader_change, s);
}

int srv_observe_filter(server *s, client *c, int argc, const data_arg *argv)
{
    if (argc != 3 || argv[0].len != 8 || strncasecmp(argv[0].ptr, "election", 8) != 0 ||
        argv[1].len != 7 || strncasecmp(argv[1].ptr, "observe", 7) != 0)
        return 0;
    if (c->nc.n_async) return -1; /* earlier replies first */
    long long count = 0;
    int have = 0;
    for (size_t i = 0; i < s->n_observers; i++) {
        struct srv_observer *o = &s->observers[i];
        if (o->c != c) continue;
        count++;
        have |= o->len == argv[2].len && memcmp(o->name, argv[2].ptr, argv[2].len) == 0;
    }
    if (!have) {
        if (s->n_observers >= OBSERVERS_MAX) {
            srv_reply_error(c, "ERR too many observers");
            return 1;
        }
        if (s->n_observers == s->cap_observers) {
            size_t cap = s->cap_observers ? 2 * s->cap_observers : 16;
            struct srv_observer *no = realloc(s->observers, cap * sizeof(*no));
            SYN_ASSERT(no != NULL);
            s->observers = no;
            s->cap_observers = cap;
        }
        char *name = malloc(argv[2].len ? argv[2].len : 1);
        SYN_ASSERT(name != NULL);
        memcpy(name, argv[2].ptr, argv[2].len);
        s->observers[s->n_observers++] = (struct srv_observer){c, name, argv[2].len};
        count++;
    }
    c->flags |= CLIENT_PUSHING;
    if (srv_client_reply_begin(c)) {
        resp_add_push(&c->out, 3, c->proto);
        resp_add_bulk(&c->out, "observe", 7);
        resp_add_bulk(&c->out, argv[2].ptr, argv[2].len);
        resp_add_int(&c->out, count);
        srv_client_reply_end(c);
    }
    c->flags &= ~CLIENT_PUSHING;
    const char *v = NULL;
    size_t vlen = 0;
    uint64_t token = data_election_leader(s->ds, argv[2].ptr, argv[2].len, &v, &vlen);
    push_leader(c, argv[2].ptr, argv[2].len, v, vlen, token);
    return 1;
}

void srv_observe_drop(server *s, client *c)
{
    size_t j = 0;
    for (size_t i = 0; i < s->n_observers; i++) {
        if (s->observers[i].c == c) {
            free(s->observers[i].name);
            continue;
        }
        s->observers[j++] = s->observers[i];
    }
    s->n_observers = j;
}

void srv_observe_deinit(server *s)
{
    for (size_t i = 0; i < s->n_observers; i++)
        free(s->observers[i].name);
    free(s->observers);
    s->observers = NULL;
    s->n_observers = s->cap_observers = 0;
}
