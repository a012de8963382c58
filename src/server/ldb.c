/* ldb.c — SCRIPT DEBUG and the Lua debugger's sessions (redis-cli --ldb), as Redis's forked
 * sessions: after SCRIPT DEBUG YES, a client's EVAL forks this node; the child takes the
 * connection over and runs the script with the debugger (script/script_ldb.c), reading the
 * client's debugger commands and writing to it directly, blocking, then writes EVAL's reply and
 * exits, which ends the connection (redis-cli reconnects, as with Redis). The parent forgets the
 * connection without closing it for the child (no TLS close_notify, no shutdown) and goes on
 * serving. Whatever the script and the debugger write stays in the child: rolled back, nothing
 * logged, no other node involved. On a follower the EVAL first passes the ReadIndex gate
 * (node.c), so the session sees every write acknowledged before it.
 *
 * SCRIPT DEBUG SYNC (Redis: the session runs in the server itself and keeps its changes) is
 * refused: it would stop this node for as long as someone steps through a script (a leader
 * sending no heartbeats), and a script's run is replayed by every replica from the log, where
 * the debugger's own commands (eval, redis) could not follow. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "node/node.h"
#include "server/server.h"
#include "util/log.h"

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

void srv_cmd_script_debug(server *s, client *c, const data_arg *mode)
{
    (void)s;
    if (srv_client_out_pending(c) > 0) {
        srv_reply_error(c, "ERR SCRIPT DEBUG must be called outside a pipeline");
        return;
    }
    if (arg_is(mode, "no")) {
        c->nc.ldb = false;
        srv_reply_status(c, "OK");
    } else if (arg_is(mode, "yes")) {
        c->nc.ldb = true;
        srv_reply_status(c, "OK");
    } else if (arg_is(mode, "sync")) {
        srv_reply_error(c, "ERR SCRIPT DEBUG SYNC is not supported by synod (it would stop this "
                           "node while a script is stepped through, and every replica replays "
                           "a script from the log): use SCRIPT DEBUG YES, whose changes are "
                           "rolled back");
    } else {
        srv_reply_error(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

/* The child's blocking I/O on the client's connection. */
static long child_read(void *ctx, char *buf, size_t cap)
{
    client *c = ctx;
    for (;;) {
        ssize_t n;
        if (c->tls) {
            int want = 0;
            n = net_tls_read(c->tls, buf, cap, &want);
            if (n == -EAGAIN) continue; /* a blocking socket: a renegotiation step */
        } else {
            n = read(c->fd, buf, cap);
            if (n < 0 && errno == EINTR) continue;
        }
        return n > 0 ? (long)n : -1;
    }
}

static void child_write(void *ctx, const char *p, size_t len)
{
    client *c = ctx;
    while (len) {
        ssize_t n;
        if (c->tls) {
            int want = 0;
            n = net_tls_write(c->tls, p, len, &want);
            if (n == -EAGAIN) continue;
        } else {
            n = write(c->fd, p, len);
            if (n < 0 && errno == EINTR) continue;
        }
        if (n <= 0) return; /* gone (or 5 s without progress): the next read notices */
        p += n;
        len -= (size_t)n;
    }
}

static int64_t child_now_ms(void *ctx)
{
    (void)ctx;
    return net_mono_ms();
}

static void flush_out(client *c)
{
    if (c->out.len > c->out_sent)
        child_write(c, c->out.data + c->out_sent, c->out.len - c->out_sent);
    c->out.len = c->out_sent = 0;
}

static void raw_out(void *ctx, const char *p, size_t len)
{
    client *c = ctx;
    SRV_REPLY(c, resp_buf_append(&c->out, p, len));
}

/* The child: the session on c's connection, then exit. */
__attribute__((noreturn)) static void session(server *s, client *c, pid_t parent, int argc,
                                              const data_arg *argv)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(2);
    node_forget_in_child(s->node); /* the data dir lock must not outlive the parent */
    for (client *o = s->clients; o; o = o->next)
        if (o != c) o->flags |= CLIENT_CLOSE_ASAP; /* nothing is written to them from here */
    (void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {5, 0}; /* a client that stops reading does not hold the child */
    (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->flags |= CLIENT_WANT_WRITE; /* replies stay in c->out until written below, in order */
    flush_out(c);                  /* replies of its requests before the EVAL */
    syn_log(SYN_LOG_INFO, "Lua debugging session of client id=%llu started (pid %ld)",
            (unsigned long long)c->id, (long)getpid());
    script_set_busy_hook(s->se, NULL, NULL); /* nobody else to serve here */
    script_set_max_instructions(s->se, 0);   /* the debugger's timeout stops a loop instead */
    const data_arg *body = arg_is(&argv[0], "acl_as") ? &argv[3] : &argv[1];
    script_ldb_io io = {child_read, child_write, child_now_ms, c};
    script_ldb_begin(s->se, body->ptr, body->len, &io, s->cfg.busy_reply_threshold_ms);
    int64_t now_ms = srv_now_ms();
    /* as the run of its log entry would be: writes allowed (here, rolled back) */
    script_env env = {now_ms, (uint64_t)now_ms * 0x9E3779B97F4A7C15ull, 1, NULL, 0, 0, NULL, 0};
    script_out out = {&srv_client_reply_ops, c, raw_out, c->proto == 3, NULL};
    (void)script_exec(s->se, argc, argv, &env, &out);
    script_ldb_end(s->se); /* "<endsession>", then the reply */
    flush_out(c);
    syn_log(SYN_LOG_INFO, "Lua debugging session of client id=%llu ended",
            (unsigned long long)c->id);
    _exit(0);
}

void srv_ldb_eval(server *s, client *c, int argc, const data_arg *argv)
{
    int k = argc >= 3 && arg_is(&argv[0], "acl_as") ? 2 : 0;
    if (arg_is(&argv[k], "evalsha") || arg_is(&argv[k], "evalsha_ro")) {
        if (argv[k + 1].len != 40)
            srv_reply_error(c, "NOSCRIPT No matching script. Please use EVAL.");
        else
            srv_reply_error(c, "ERR Please use EVAL instead of EVALSHA for debugging");
        return;
    }
    pid_t parent = getpid();
    int64_t t0 = net_mono_us();
    pid_t pid = fork();
    if (pid == 0) session(s, c, parent, argc, argv);
    if (pid < 0) {
        srv_reply_errorf(c, "ERR Fork() failed: can't run EVAL in debugging mode: %s",
                         strerror(errno));
        c->nc.ldb = false;
        return;
    }
    node_count_fork(s->node, (uint64_t)(net_mono_us() - t0));
    srv_child_adopt(s, pid);
    syn_log(SYN_LOG_INFO, "client id=%llu addr=%s: Lua debugging session forked (pid %ld)",
            (unsigned long long)c->id, c->addr, (long)pid);
    /* the connection is the child's now: freed here without a word on it */
    c->flags |= CLIENT_HANDED_OFF | CLIENT_CLOSE_ASAP;
    srv_client_mark_pending(c);
}
