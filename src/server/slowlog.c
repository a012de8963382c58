/* slowlog.c — SLOWLOG GET / LEN / RESET / HELP as Redis 7.0: this node's log of the calls that
 * took at least slowlog-log-slower-than microseconds (docs/server.md "Diagnostics").
 *
 * An entry is pushed by srv_slowlog_push (latency.c decides when: srv_diag_call) with the
 * request's arguments as the client sent them, trimmed as Redis trims them (at most 32
 * arguments, the 32nd then "... (N more arguments)"; an argument longer than 128 bytes cut to
 * 128 + "... (N more bytes)") and with secrets replaced by "(redacted)" (srv_redacted, shared with
 * MONITOR). The log is newest first; slowlog-max-len applies at the next push, as in Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"
#include "util/assert.h"
#include "util/strconv.h"

#define SLOWLOG_ARGC_MAX 32
#define SLOWLOG_ARG_MAX  128

typedef struct slow_entry {
    long long id, time_s, duration_us;
    int argc;
    char **argv; /* argc strings, each with its length in lens */
    size_t *lens;
    char *peer, *name;
    struct slow_entry *next; /* older */
} slow_entry;

struct srv_slowlog {
    slow_entry *head; /* newest */
    size_t len;
    long long next_id;
};

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    SYN_ASSERT(d != NULL);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void entry_free(slow_entry *e)
{
    for (int i = 0; i < e->argc; i++)
        free(e->argv[i]);
    free(e->argv);
    free(e->lens);
    free(e->peer);
    free(e->name);
    free(e);
}

void srv_slowlog_init(server *s)
{
    s->slowlog = calloc(1, sizeof(*s->slowlog));
    SYN_ASSERT(s->slowlog != NULL);
}

static void reset(struct srv_slowlog *l)
{
    while (l->head) {
        slow_entry *e = l->head;
        l->head = e->next;
        entry_free(e);
    }
    l->len = 0;
}

void srv_slowlog_deinit(server *s)
{
    if (!s->slowlog) return;
    reset(s->slowlog);
    free(s->slowlog);
    s->slowlog = NULL;
}

/* Drops the oldest entries past max (the list is short: at most max + 1 long). */
static void trim(struct srv_slowlog *l, long long max)
{
    if ((long long)l->len <= max) return;
    slow_entry **pp = &l->head;
    for (long long i = 0; i < max && *pp; i++)
        pp = &(*pp)->next;
    while (*pp) {
        slow_entry *e = *pp;
        *pp = e->next;
        entry_free(e);
        l->len--;
    }
}

void srv_slowlog_push(server *s, client *c, int argc, const data_arg *argv, long long duration_us)
{
    struct srv_slowlog *l = s->slowlog;
    slow_entry *e = calloc(1, sizeof(*e));
    SYN_ASSERT(e != NULL);
    int n = argc > SLOWLOG_ARGC_MAX ? SLOWLOG_ARGC_MAX : argc;
    e->argv = calloc((size_t)n, sizeof(*e->argv));
    e->lens = calloc((size_t)n, sizeof(*e->lens));
    SYN_ASSERT(e->argv != NULL && e->lens != NULL);
    e->argc = n;
    for (int i = 0; i < n; i++) {
        char buf[64];
        if (n != argc && i == n - 1) {
            int w = snprintf(buf, sizeof(buf), "... (%d more arguments)", argc - n + 1);
            e->argv[i] = dup_bytes(buf, (size_t)w);
            e->lens[i] = (size_t)w;
        } else if (srv_redacted(argc, argv, i)) {
            e->argv[i] = dup_bytes("(redacted)", 10);
            e->lens[i] = 10;
        } else if (argv[i].len > SLOWLOG_ARG_MAX) {
            int w =
                snprintf(buf, sizeof(buf), "... (%zu more bytes)", argv[i].len - SLOWLOG_ARG_MAX);
            e->lens[i] = SLOWLOG_ARG_MAX + (size_t)w;
            e->argv[i] = malloc(e->lens[i] + 1);
            SYN_ASSERT(e->argv[i] != NULL);
            memcpy(e->argv[i], argv[i].ptr, SLOWLOG_ARG_MAX);
            memcpy(e->argv[i] + SLOWLOG_ARG_MAX, buf, (size_t)w + 1);
        } else {
            e->argv[i] = dup_bytes(argv[i].ptr, argv[i].len);
            e->lens[i] = argv[i].len;
        }
    }
    e->id = l->next_id++;
    e->time_s = srv_now_ms() / 1000;
    e->duration_us = duration_us;
    const char *peer = c ? c->addr : "?:0", *name = c && c->name ? c->name : "";
    e->peer = dup_bytes(peer, strlen(peer));
    e->name = dup_bytes(name, strlen(name));
    e->next = l->head;
    l->head = e;
    l->len++;
    trim(l, s->cfg.slowlog_max_len);
}

static void reply_entry(client *c, const slow_entry *e)
{
    srv_reply_array(c, 6);
    srv_reply_int(c, e->id);
    srv_reply_int(c, e->time_s);
    srv_reply_int(c, e->duration_us);
    srv_reply_array(c, (size_t)e->argc);
    for (int i = 0; i < e->argc; i++)
        srv_reply_bulk(c, e->argv[i], e->lens[i]);
    srv_reply_cstr(c, e->peer);
    srv_reply_cstr(c, e->name);
}

static int is(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

void srv_cmd_slowlog(server *s, client *c, int argc, const data_arg *argv)
{
    struct srv_slowlog *l = s->slowlog;
    if (argc == 2 && is(&argv[1], "help")) {
        static const char *const lines[] = {
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
            NULL,
        };
        srv_reply_help(c, lines);
    } else if (argc == 2 && is(&argv[1], "reset")) {
        reset(l);
        srv_reply_status(c, "OK");
    } else if (argc == 2 && is(&argv[1], "len")) {
        srv_reply_int(c, (long long)l->len);
    } else if ((argc == 2 || argc == 3) && is(&argv[1], "get")) {
        long long count = 10;
        if (argc == 3 && (!syn_string2ll(argv[2].ptr, argv[2].len, &count) || count < -1)) {
            srv_reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
        size_t n = count == -1 || (unsigned long long)count > l->len ? l->len : (size_t)count;
        srv_reply_array(c, n);
        const slow_entry *e = l->head;
        for (size_t i = 0; i < n && e; i++, e = e->next)
            reply_entry(c, e);
    } else {
        const char *nul = memchr(argv[1].ptr, '\0', argv[1].len);
        size_t n = nul ? (size_t)(nul - argv[1].ptr) : argv[1].len;
        srv_reply_errorf(c,
                         "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                         "SLOWLOG HELP.",
                         (int)(n > 128 ? 128 : n), argv[1].ptr);
    }
}
