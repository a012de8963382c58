/* busy.c — a script running past busy-reply-threshold (Redis 7.0's script timeout): while it
 * runs the node answers its clients from the script engine's busy hook, -BUSY for almost every
 * command, SCRIPT KILL / FUNCTION KILL for a read-only run (docs/scripting.md "Script
 * timeouts").
 *
 * Only client connections (and the listeners, for new connections) are served meanwhile: no
 * peer message, no timer, no proposal, no apply. The script may be applying a log entry in the
 * middle of a Ready batch, so nothing may reach the consensus core until it returns; peers' bytes
 * wait in the sockets and Raft's clock catches up afterwards (node_catch_up), so a leader stuck
 * longer than an election timeout finds its lease over rather than serving stale lease reads.
 * What goes out meanwhile is the peer watcher's (node/peer.c, "the held-loop watcher"): a thread
 * that keeps the links alive and sends a leader's keepalives until the hold passes
 * busy-reply-threshold, so that its followers do not elect another leader while it is only
 * busy. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "node/node.h"
#include "server/server.h"

static const char busy_eval[] =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
static const char busy_function[] =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

static bool arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

/* SCRIPT KILL (is_eval) or FUNCTION KILL of the running script: Redis's checks and order. */
static void busy_kill(server *s, client *c, int is_eval)
{
    const script_run_info *ri = s->busy_info;
    if (ri->wrote) {
        srv_reply_error(c, "UNKILLABLE Sorry the script already executed write commands against "
                           "the dataset. You can either wait the script termination or kill the "
                           "server in a hard way using the SHUTDOWN NOSAVE command.");
    } else if (!ri->killable) {
        /* it applies a log entry: every replica runs it to its end (or its instruction bound),
         * so stopping it here alone would make this node's data differ */
        srv_reply_error(c, "UNKILLABLE The busy script is a write script applied from the "
                           "replication log: every replica runs it to its end, it cannot be "
                           "killed. Use EVAL_RO, FCALL_RO or a no-writes script to make a "
                           "script killable.");
    } else if (is_eval && ri->is_function) {
        srv_reply_error(c, busy_function);
    } else if (!is_eval && !ri->is_function) {
        srv_reply_error(c, busy_eval);
    } else {
        s->busy_kill = 1;
        srv_reply_status(c, "OK");
    }
}

/* FUNCTION STATS while a function runs: its name, command and duration (Redis's reply). */
static void busy_function_stats(server *s, client *c)
{
    const script_run_info *ri = s->busy_info;
    if (!ri->is_function) {
        srv_reply_error(c, busy_eval);
        return;
    }
    script_stats st;
    script_get_stats(s->se, &st);
    const data_reply_ops *o = &srv_client_reply_ops;
    o->map(c, 2);
    o->bulk(c, "running_script", 14);
    o->map(c, 3);
    o->bulk(c, "name", 4);
    o->bulk(c, ri->name, strlen(ri->name));
    o->bulk(c, "command", 7);
    o->array(c, (size_t)ri->argc);
    for (int i = 0; i < ri->argc; i++)
        o->bulk(c, ri->argv[i].ptr, ri->argv[i].len);
    o->bulk(c, "duration_ms", 11);
    o->integer(c, (long long)(net_mono_ms() - s->busy_start_ms));
    o->bulk(c, "engines", 7);
    o->map(c, 1);
    o->bulk(c, "LUA", 3);
    o->map(c, 2);
    o->bulk(c, "libraries_count", 15);
    o->integer(c, (long long)st.libraries);
    o->bulk(c, "functions_count", 15);
    o->integer(c, (long long)st.functions);
}

void srv_busy_request(server *s, client *c, int argc, const data_arg *argv)
{
    /* Redis's order: unknown command and arity, authentication, then the busy check, which
     * lets through only the commands flagged allow-busy */
    if (srv_cmd_check(s, c, argc, argv) < 0) {
        if (c->in_multi) c->multi_dirty = 1;
        return;
    }
    if (!c->authenticated && s->cfg.requirepass[0] && !arg_is(&argv[0], "auth") &&
        !arg_is(&argv[0], "hello") && !arg_is(&argv[0], "quit")) {
        srv_reply_error(c, "NOAUTH Authentication required.");
        if (c->in_multi) c->multi_dirty = 1;
        return;
    }
    const script_run_info *ri = s->busy_info;
    bool sub2 = argc == 2;
    if (arg_is(&argv[0], "script") && sub2 && arg_is(&argv[1], "kill")) {
        busy_kill(s, c, 1);
    } else if (arg_is(&argv[0], "function") && sub2 && arg_is(&argv[1], "kill")) {
        busy_kill(s, c, 0);
    } else if (arg_is(&argv[0], "function") && sub2 && arg_is(&argv[1], "stats")) {
        busy_function_stats(s, c);
    } else if (arg_is(&argv[0], "auth") || arg_is(&argv[0], "hello") || arg_is(&argv[0], "quit")) {
        srv_dispatch(s, c, argc, argv); /* connection state only */
    } else if (arg_is(&argv[0], "multi") || arg_is(&argv[0], "discard")) {
        /* allowed as in Redis, so that a pipelined transaction is refused whole rather than
         * cut in two by the end of the busy time (its other commands doom it) */
        (void)srv_multi_filter(s, c, argc, argv);
    } else if (arg_is(&argv[0], "exec") && c->in_multi) {
        srv_multi_reset(c);
        node_unwatch(s->node, &c->nc);
        srv_reply_errorf(c, "EXECABORT Transaction discarded because of: %s",
                         ri->is_function ? busy_function : busy_eval);
    } else {
        /* WATCH, UNWATCH and RESET, which Redis lets through, touch the replication driver's
         * state mid-apply: refused here too */
        srv_reply_error(c, ri->is_function ? busy_function : busy_eval);
        if (c->in_multi) c->multi_dirty = 1;
    }
}

int srv_script_busy(void *ctx, const script_run_info *ri)
{
    server *s = ctx;
    if (ri->done) {
        if (s->busy)
            syn_log(SYN_LOG_WARN, "Slow script %s ended after %lld ms; serving clients again",
                    ri->name, (long long)(net_mono_ms() - s->busy_start_ms));
        s->busy = 0;
        s->busy_run = 0;
        return 0;
    }
    int64_t now = net_mono_ms();
    if (ri->run_id != s->busy_run) {
        s->busy_run = ri->run_id;
        s->busy_start_ms = now;
        s->busy_kill = 0;
    }
    long long th = s->cfg.busy_reply_threshold_ms;
    if (th <= 0 || now - s->busy_start_ms < th) return 0;
    if (!s->busy) {
        syn_log(SYN_LOG_WARN,
                "Slow script detected: still in execution after %lld milliseconds. You can try "
                "killing the script using the %s command. Script name is: %s.",
                (long long)(now - s->busy_start_ms),
                ri->is_function ? "FUNCTION KILL" : "SCRIPT KILL", ri->name);
        s->busy = 1;
    }
    s->busy_info = ri;
    data_arg *argv = s->argv; /* the script's own command may be in it */
    int argv_cap = s->argv_cap;
    s->argv = s->busy_argv;
    s->argv_cap = s->busy_argv_cap;
    srv_client_poll_busy(s);
    s->busy_argv = s->argv;
    s->busy_argv_cap = s->argv_cap;
    s->argv = argv;
    s->argv_cap = argv_cap;
    s->busy_info = NULL;
    /* SIGTERM / SIGINT: the loop that would stop cleanly is not running; exit at once, as
     * Redis's SHUTDOWN NOSAVE (what was not made durable is lost as in a crash, and a write
     * script's entry is replayed in full at the next start) */
    struct signalfd_siginfo si;
    if (s->sig_fd >= 0 && read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        syn_log(SYN_LOG_WARN, "received %s while a script is busy: exiting now",
                strsignal((int)si.ssi_signo));
        _exit(0);
    }
    return s->busy_kill;
}
