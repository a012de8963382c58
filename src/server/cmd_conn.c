/* cmd_conn.c — connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "script/script.h"
#include "server/server.h"
#include "util/strconv.h"

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

/* Redis's string2ll rules (util/strconv.h); 0 or -1. */
static int arg_ll(const data_arg *a, long long *out)
{
    return syn_string2ll(a->ptr, a->len, out) ? 0 : -1;
}

void srv_cmd_ping(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    if (argc > 2) {
        srv_reply_error(c, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (c->proto == 2 && srv_pubsub_subscribed(c)) { /* Redis: a pub/sub-style reply */
        srv_reply_array(c, 2);
        srv_reply_bulk(c, "pong", 4);
        srv_reply_bulk(c, argc == 2 ? argv[1].ptr : "", argc == 2 ? argv[1].len : 0);
        return;
    }
    if (argc == 2)
        srv_reply_bulk(c, argv[1].ptr, argv[1].len);
    else
        srv_reply_status(c, "PONG");
}

void srv_cmd_echo(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    srv_reply_bulk(c, argv[1].ptr, argv[1].len);
}

/* Client names: printable ASCII without spaces (Redis's validateClientName). */
static int valid_name(const data_arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~') return 0;
    return 1;
}

static int set_name(client *c, const data_arg *a)
{
    if (!valid_name(a)) {
        srv_reply_error(c,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
        return -1;
    }
    char *n = NULL;
    if (a->len) {
        n = malloc(a->len + 1);
        if (!n) {
            srv_reply_error(c, "ERR out of memory");
            return -1;
        }
        memcpy(n, a->ptr, a->len);
        n[a->len] = '\0';
    }
    free(c->name);
    c->name = n;
    return 0;
}

void srv_cmd_hello(server *s, client *c, int argc, const data_arg *argv)
{
    long long ver = 0;
    if (argc >= 2) {
        if (arg_ll(&argv[1], &ver) < 0) {
            srv_reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            srv_reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    const data_arg *user = NULL, *pass = NULL, *name = NULL;
    for (int j = 2; j < argc; j++) {
        int more = argc - 1 - j;
        if (arg_is(&argv[j], "auth") && more >= 2) {
            user = &argv[j + 1];
            pass = &argv[j + 2];
            j += 2;
        } else if (arg_is(&argv[j], "setname") && more >= 1) {
            name = &argv[j + 1];
            if (!valid_name(name)) {
                srv_reply_error(c, "ERR Client names cannot contain spaces, newlines or special "
                                   "characters.");
                return;
            }
            j++;
        } else {
            srv_reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)argv[j].len,
                             argv[j].ptr);
            return;
        }
    }
    if (user && srv_acl_auth(s, c, user, pass) < 0) {
        srv_reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    if (srv_acl_auth_required(s, c)) {
        srv_reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                           "otherwise the HELLO AUTH <user> <pass> option can be used to "
                           "authenticate the client and select the RESP protocol version at the "
                           "same time");
        return;
    }
    if (name && set_name(c, name) < 0) return;
    if (ver) c->proto = (int)ver;
    srv_reply_map(c, 7);
    srv_reply_cstr(c, "server");
    srv_reply_cstr(c, "redis");
    srv_reply_cstr(c, "version");
    srv_reply_cstr(c, SRV_REDIS_VERSION);
    srv_reply_cstr(c, "proto");
    srv_reply_int(c, c->proto);
    srv_reply_cstr(c, "id");
    srv_reply_int(c, (long long)c->id);
    srv_reply_cstr(c, "mode");
    srv_reply_cstr(c, "standalone");
    srv_reply_cstr(c, "role");
    srv_reply_cstr(c, "master");
    srv_reply_cstr(c, "modules");
    srv_reply_array(c, 0);
}

void srv_cmd_auth(server *s, client *c, int argc, const data_arg *argv)
{
    if (argc > 3) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    if (argc == 2 && srv_acl_default_passwordless(s)) {
        srv_reply_error(c, "ERR AUTH <password> called without any password configured for the "
                           "default user. Are you sure your configuration is correct?");
        return;
    }
    data_arg def = {"default", 7};
    if (srv_acl_auth(s, c, argc == 2 ? &def : &argv[1], &argv[argc - 1]) < 0) {
        srv_reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    srv_reply_status(c, "OK");
}

void srv_cmd_select(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc;
    long long db;
    if (arg_ll(&argv[1], &db) < 0) {
        srv_reply_error(c, "ERR value is not an integer or out of range");
        return;
    }
    if (db < INT_MIN || db > INT_MAX) {
        srv_reply_error(c,
                        "ERR value is out of range, value must between -2147483648 and 2147483647");
        return;
    }
    if (db < 0 || db >= data_databases(s->ds)) {
        srv_reply_error(c, "ERR DB index is out of range");
        return;
    }
    c->nc.db = (int)db; /* entries and reads of this client carry it (node.c) */
    srv_reply_status(c, "OK");
}

void srv_cmd_quit(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    srv_reply_status(c, "OK");
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void srv_cmd_reset(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc;
    (void)argv;
    c->proto = 2;
    c->nc.db = 0;
    srv_acl_reset_user(s, c); /* back to the default user, as a new connection */
    free(c->name);
    c->name = NULL;
    srv_multi_reset(c);
    if (s->node) node_unwatch(s->node, &c->nc);
    srv_pubsub_drop(s, c);
    srv_tracking_drop(s, c);
    if (c->monitor) { /* RESET leaves MONITOR mode */
        c->monitor = 0;
        s->n_monitors--;
    }
    srv_reply_status(c, "RESET");
}

void srv_cmd_client_id(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    srv_reply_int(c, (long long)c->id);
}

void srv_cmd_client_setname(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    if (set_name(c, &argv[2]) == 0) srv_reply_status(c, "OK");
}

void srv_cmd_client_getname(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    if (c->name)
        srv_reply_cstr(c, c->name);
    else
        srv_reply_null(c);
}

void srv_cmd_client_info(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    char line[1024];
    srv_client_list_line(c, line, sizeof(line));
    size_t n = strlen(line);
    line[n++] = '\n';
    srv_reply_verbatim(c, line, n);
}

void srv_cmd_client_list(server *s, client *c, int argc, const data_arg *argv)
{
    /* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]] */
    int only_none = 0, want_type = -1; /* -1 any, 0 normal, 1 pubsub (subscribed) */
    long long ids[64];
    int n_ids = 0, by_id = 0;
    if (argc >= 4 && arg_is(&argv[2], "type") && argc == 4) {
        if (arg_is(&argv[3], "normal"))
            want_type = 0;
        else if (arg_is(&argv[3], "pubsub"))
            want_type = 1;
        else if (arg_is(&argv[3], "master") || arg_is(&argv[3], "replica") ||
                 arg_is(&argv[3], "slave"))
            only_none = 1;
        else {
            srv_reply_errorf(c, "ERR Unknown client type '%.*s'", (int)argv[3].len, argv[3].ptr);
            return;
        }
    } else if (argc >= 4 && arg_is(&argv[2], "id")) {
        by_id = 1;
        for (int i = 3; i < argc; i++) {
            long long v;
            if (arg_ll(&argv[i], &v) < 0 || v <= 0) {
                srv_reply_error(c, "ERR Invalid client ID");
                return;
            }
            if (n_ids < 64) ids[n_ids++] = v;
        }
    } else if (argc != 2) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    /* bounded by maxclients lines of at most 1 KB */
    size_t cap = (size_t)(s->n_clients + 1) * 1024, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        srv_reply_error(c, "ERR out of memory");
        return;
    }
    for (client *o = s->clients; o && !only_none; o = o->next) {
        if (want_type >= 0 && srv_pubsub_subscribed(o) != want_type) continue;
        if (by_id) {
            int hit = 0;
            for (int i = 0; i < n_ids; i++)
                if ((unsigned long long)ids[i] == o->id) hit = 1;
            if (!hit) continue;
        }
        char line[1024];
        srv_client_list_line(o, line, sizeof(line));
        size_t n = strlen(line);
        if (len + n + 1 > cap) break;
        memcpy(buf + len, line, n);
        buf[len + n] = '\n';
        len += n + 1;
    }
    srv_reply_verbatim(c, buf, len);
    free(buf);
}

static int arg_eq_str(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && memcmp(a->ptr, s, a->len) == 0;
}

/* CLIENT KILL addr | CLIENT KILL [ID id] [TYPE t] [ADDR a] [LADDR a] [USER u] [SKIPME yes|no]
 * as Redis 7.0: the old form answers OK or "No such client" and may kill the caller; the new
 * form answers the number killed and skips the caller unless SKIPME no. The caller is closed
 * after its reply; others at the next safe point (before the loop sleeps). */
void srv_cmd_client_unblock(server *s, client *c, int argc, const data_arg *argv)
{
    long long id;
    if (argc > 4) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    if (arg_ll(&argv[2], &id) < 0) {
        srv_reply_error(c, "ERR value is not an integer or out of range");
        return;
    }
    int error = 0;
    if (argc == 4) {
        if (arg_is(&argv[3], "error")) {
            error = 1;
        } else if (!arg_is(&argv[3], "timeout")) {
            srv_reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    for (client *t = s->clients; t; t = t->next) {
        if (t->id != (unsigned long long)id) continue;
        srv_reply_int(c, s->node && node_unblock(s->node, &t->nc, error));
        return;
    }
    srv_reply_int(c, 0);
}

void srv_cmd_client_kill(server *s, client *c, int argc, const data_arg *argv)
{
    const data_arg *addr = NULL, *laddr = NULL, *user = NULL;
    long long id = 0;
    int skipme = 1, match_none = 0, old_form = argc == 3, want_type = -1;
    if (old_form) {
        addr = &argv[2];
        skipme = 0;
    } else {
        for (int i = 2; i < argc; i += 2) {
            int more = i + 1 < argc;
            if (more && arg_is(&argv[i], "id")) {
                if (arg_ll(&argv[i + 1], &id) < 0 || id < 1) {
                    srv_reply_error(c, "ERR client-id should be greater than 0");
                    return;
                }
            } else if (more && arg_is(&argv[i], "type")) {
                const data_arg *t = &argv[i + 1];
                if (arg_is(t, "normal")) {
                    want_type = 0; /* not subscribed */
                } else if (arg_is(t, "pubsub")) {
                    want_type = 1;
                } else if (arg_is(t, "master") || arg_is(t, "replica") || arg_is(t, "slave")) {
                    match_none = 1;
                } else {
                    srv_reply_errorf(c, "ERR Unknown client type '%.*s'", (int)t->len, t->ptr);
                    return;
                }
            } else if (more && arg_is(&argv[i], "addr")) {
                addr = &argv[i + 1];
            } else if (more && arg_is(&argv[i], "laddr")) {
                laddr = &argv[i + 1];
            } else if (more && arg_is(&argv[i], "user")) {
                if (!acl_find(data_acl(s->ds), argv[i + 1].ptr, argv[i + 1].len)) {
                    srv_reply_errorf(c, "ERR No such user '%.*s'", (int)argv[i + 1].len,
                                     argv[i + 1].ptr);
                    return;
                }
                user = &argv[i + 1];
            } else if (more && arg_is(&argv[i], "skipme")) {
                if (arg_is(&argv[i + 1], "yes")) {
                    skipme = 1;
                } else if (arg_is(&argv[i + 1], "no")) {
                    skipme = 0;
                } else {
                    srv_reply_error(c, "ERR syntax error");
                    return;
                }
            } else {
                srv_reply_error(c, "ERR syntax error");
                return;
            }
        }
    }
    long long killed = 0;
    int close_self = 0;
    for (client *o = s->clients; o && !match_none; o = o->next) {
        if (addr && !arg_eq_str(addr, o->addr)) continue;
        if (laddr && !arg_eq_str(laddr, o->laddr)) continue;
        /* a follower's relay runs as the user of its current request: no client of that user */
        if (user && (o->relay_proven || !arg_eq_str(user, srv_acl_username(o, NULL)))) continue;
        if (want_type >= 0 && srv_pubsub_subscribed(o) != want_type) continue;
        if (id && (unsigned long long)id != o->id) continue;
        if (o == c && skipme) continue;
        if (o->flags & CLIENT_CLOSE_ASAP) continue; /* already going */
        if (o == c) {
            close_self = 1;
        } else {
            o->flags |= CLIENT_CLOSE_ASAP;
            srv_client_mark_pending(o);
        }
        killed++;
    }
    if (old_form) {
        if (killed)
            srv_reply_status(c, "OK");
        else
            srv_reply_error(c, "ERR No such client");
    } else {
        srv_reply_int(c, killed);
    }
    if (close_self) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static int64_t pause_over(net_loop *l, uint64_t id, void *ctx)
{
    (void)l, (void)id, (void)ctx;
    return NET_TIMER_STOP; /* waking the loop is enough: paused clients are re-run every pass */
}

int srv_paused(server *s, int write)
{
    if (!s->pause_end_ms) return 0;
    if (net_mono_ms() >= s->pause_end_ms) {
        s->pause_end_ms = 0;
        return 0;
    }
    return s->pause_all || write;
}

/* Redis holds its write and may-replicate commands under CLIENT PAUSE WRITE: data writes (one
 * with a wrong arity is answered at once, as Redis checks arity first), PFCOUNT (it may store
 * its cached count), PUBLISH / SPUBLISH, MIGRATE, and scripting commands that may write
 * (EVAL / EVALSHA / FCALL of a script or function not declared no-writes, FUNCTION LOAD /
 * DELETE / FLUSH / RESTORE). */
int srv_pause_write_cmd(server *s, int argc, const data_arg *argv)
{
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        const data_cmd_info *info = data_cmd_describe(dc);
        if ((info->arity > 0 && info->arity != argc) || argc < -info->arity) return 0;
        return (info->flags & DATA_CMD_WRITE) || arg_is(&argv[0], "pfcount");
    }
    if (arg_is(&argv[0], "publish") || arg_is(&argv[0], "spublish") || arg_is(&argv[0], "migrate"))
        return 1;
    if (arg_is(&argv[0], "eval") || arg_is(&argv[0], "evalsha") || arg_is(&argv[0], "fcall") ||
        arg_is(&argv[0], "function"))
        return s->se && script_write_policy(s->se, argc, argv) != SCRIPT_WRITES_NONE;
    return 0;
}

size_t srv_pause_held_clients(server *s)
{
    size_t k = 0;
    if (!s->pause_end_ms) return 0;
    for (const client *c = s->clients; c; c = c->next)
        k += c->pause_held;
    return k;
}

/* CLIENT PAUSE timeout-ms [WRITE|ALL]: data commands of every client (ALL, the default) or only
 * writes and may-replicate commands (WRITE: srv_pause_write_cmd; reads go on) wait until the
 * time is up or CLIENT UNPAUSE; the leader also
 * stops deciding expirations meanwhile. Connection and server commands are never paused. */
void srv_cmd_client_pause(server *s, client *c, int argc, const data_arg *argv)
{
    int all = 1;
    if (argc > 4) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    if (argc == 4) {
        if (arg_is(&argv[3], "write")) {
            all = 0;
        } else if (!arg_is(&argv[3], "all")) {
            srv_reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    long long ms;
    if (arg_ll(&argv[2], &ms) < 0) {
        srv_reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        srv_reply_error(c, "ERR timeout is negative");
        return;
    }
    int64_t now = net_mono_ms(), end = ms > INT64_MAX - now ? INT64_MAX : now + ms;
    /* as Redis: a second pause extends, never shortens; ALL wins over WRITE while both last */
    if (!srv_paused(s, 1)) { /* none in force (an expired one is forgotten here) */
        s->pause_end_ms = end;
        s->pause_all = all;
    } else {
        if (end > s->pause_end_ms) s->pause_end_ms = end;
        if (all) s->pause_all = 1;
    }
    if (ms > 0) (void)net_timer_add(s->loop, ms < INT32_MAX ? ms : INT32_MAX, pause_over, NULL);
    srv_reply_status(c, "OK");
}

void srv_cmd_client_unpause(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    s->pause_end_ms = 0;
    s->pause_all = 0;
    srv_reply_status(c, "OK");
}

void srv_cmd_client_no_evict(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc;
    if (arg_is(&argv[2], "on") || arg_is(&argv[2], "off"))
        srv_reply_status(c, "OK"); /* no client eviction here: nothing to exempt */
    else
        srv_reply_error(c, "ERR syntax error");
}

void srv_cmd_client_reply(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc;
    if (arg_is(&argv[2], "on")) {
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT);
        srv_stats_reply_on(c);
        srv_reply_status(c, "OK");
    } else if (arg_is(&argv[2], "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (arg_is(&argv[2], "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF)) c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        srv_reply_error(c, "ERR syntax error");
    }
}

void srv_reply_help(client *c, const char *const *lines)
{
    size_t n = 0;
    while (lines[n])
        n++;
    srv_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        srv_reply_status(c, lines[i]);
}

void srv_cmd_client_help(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    srv_reply_help(c, lines);
}

void srv_cmd_command_help(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    srv_reply_help(c, lines);
}

void srv_cmd_config_help(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    srv_reply_help(c, lines);
}
