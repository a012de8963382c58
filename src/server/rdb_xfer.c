/* rdb_xfer.c — redis-cli --rdb's file (REPLCONF rdb-only 1, then SYNC or PSYNC: cmd_persist.c)
 * built in a forked child, as Redis builds a diskless replica's RDB: fork() freezes a
 * copy-on-write image of the applied state, the child encodes it (data/rdb.c) and writes
 * "$<len>\r\n" and the file into a pipe, and the event loop moves the pipe's bytes into the
 * client's output as the client reads them. The node meanwhile serves its clients and, on a
 * leader, keeps its followers' heartbeats going: building a file of a million keys takes the
 * child most of a second, which on the event loop was a second without heartbeats.
 *
 * Bounds: the pipe is read only while the client's unsent output is under XFER_OUT_BYTES (the
 * child waits on a full pipe meanwhile), so a slow reader holds about that much of the parent's
 * memory, not the file. The child runs at the normal CPU priority, as Redis's (its client waits
 * for it: at nice 19 beside a busy node, a million keys took twice as long) and dies with its
 * parent (PR_SET_PDEATHSIG). A transfer whose client goes away kills
 * its child; a child that ends before the whole file is out (it failed, or was killed) closes
 * the connection without the rest, so redis-cli reports a short payload, never a short file as
 * a good one. Children are reaped without waiting: at the end of a transfer if they already
 * exited, else by the cron (srv_rdb_xfer_reap). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "net/peerauth.h"
#include "node/node.h"
#include "server/server.h"
#include "util/log.h"
#include "util/strconv.h"

#define XFER_OUT_BYTES (1u << 20) /* the client's unsent output over which the pipe waits */
#define XFER_CHUNK     (64 * 1024)
#define XFER_MARK      40 /* the EOF form's end mark (Redis's RDB_EOF_MARK_SIZE) */

struct srv_rdb_xfer {
    pid_t pid;
    int fd;          /* the pipe's read end (non-blocking) */
    bool stalled;    /* not watched: the client's output is over XFER_OUT_BYTES */
    char head[64];   /* "$<len>\r\n" or "$EOF:<mark>\r\n" as it arrives */
    size_t head_len; /* bytes of it kept so far */
    bool head_done;
    size_t want; /* length form: the whole payload (header and file); 0: not known (yet) */
    bool eof_form;
    char mark[XFER_MARK], tail[XFER_MARK]; /* EOF form: the mark, the last bytes read */
    size_t got;                            /* bytes read from the pipe */
    int64_t start_ms;
};

/* Ends c's transfer: its pipe closed, its child killed if still running (a client gone) and
 * reaped. */
static void xfer_close(client *c)
{
    struct srv_rdb_xfer *x = c->xfer;
    server *s = c->srv;
    (void)net_loop_watch(s->loop, x->fd, 0, NULL, NULL);
    close(x->fd);
    (void)kill(x->pid, SIGKILL); /* it has exited if the file is complete: then a no-op */
    srv_child_adopt(s, x->pid);
    free(x);
    c->xfer = NULL;
}

void srv_rdb_xfer_abort(client *c)
{
    if (!c->xfer) return;
    syn_log(SYN_LOG_INFO, "RDB transfer to client id=%llu stopped: the client went away",
            (unsigned long long)c->id);
    xfer_close(c);
}

/* Is what the writer sent a whole file: its length, or its end mark last? */
static bool xfer_complete(const struct srv_rdb_xfer *x)
{
    if (!x->head_done) return false;
    if (!x->eof_form) return x->got == x->want;
    return x->got >= x->head_len + XFER_MARK && memcmp(x->tail, x->mark, XFER_MARK) == 0;
}

static void xfer_finish(client *c)
{
    struct srv_rdb_xfer *x = c->xfer;
    if (xfer_complete(x)) {
        syn_log(SYN_LOG_INFO,
                "RDB of %zu bytes sent to client id=%llu%s in %lld ms (SYNC, rdb-only%s)",
                x->got - x->head_len - (x->eof_form ? XFER_MARK : 0), (unsigned long long)c->id,
                c->rdb_functions_only ? ", functions only" : "",
                (long long)(net_mono_ms() - x->start_ms), x->eof_form ? ", streamed" : "");
        xfer_close(c);
        c->flags |= CLIENT_CLOSE_AFTER_REPLY; /* once the rest of the output is written */
    } else {
        syn_log(SYN_LOG_WARN,
                "RDB transfer to client id=%llu failed: its writer ended after %zu bytes, not a "
                "whole file; closing the connection",
                (unsigned long long)c->id, x->got);
        xfer_close(c);
        c->flags |= CLIENT_CLOSE_ASAP; /* the client sees a short payload, never a short file */
    }
    srv_client_mark_pending(c);
}

/* Takes n more bytes of the writer's: the header's until its "\r\n" ("$<len>": want = its
 * length plus the file's; "$EOF:<mark>": the file ends with the mark), and the last XFER_MARK
 * bytes. 0, or -1 if they are not what a writer sends (the transfer then fails). */
static int take(struct srv_rdb_xfer *x, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !x->head_done; i++) {
        if (x->head_len == sizeof(x->head)) return -1;
        x->head[x->head_len++] = p[i];
        if (x->head_len < 4 || x->head[x->head_len - 2] != '\r' || x->head[x->head_len - 1] != '\n')
            continue;
        long long len;
        x->head_done = true;
        if (x->head_len == 5 + XFER_MARK + 2 && !memcmp(x->head, "$EOF:", 5)) {
            x->eof_form = true;
            memcpy(x->mark, x->head + 5, XFER_MARK);
        } else if (x->head[0] == '$' && syn_string2ll(x->head + 1, x->head_len - 3, &len) &&
                   len >= 0) {
            x->want = x->head_len + (size_t)len;
        } else {
            return -1;
        }
    }
    if (x->head_done && !x->eof_form && x->got + n > x->want) return -1;
    if (n >= XFER_MARK) {
        memcpy(x->tail, p + n - XFER_MARK, XFER_MARK);
    } else {
        memmove(x->tail, x->tail + n, XFER_MARK - n);
        memcpy(x->tail + XFER_MARK - n, p, n);
    }
    x->got += n;
    return 0;
}

static void xfer_on_pipe(net_loop *l, int fd, int events, void *ctx)
{
    (void)l, (void)events;
    client *c = ctx;
    struct srv_rdb_xfer *x = c->xfer;
    char buf[XFER_CHUNK];
    while (!(c->flags & CLIENT_CLOSE_ASAP)) {
        if (srv_client_out_pending(c) >= XFER_OUT_BYTES) { /* until the client reads it */
            int rc = net_loop_watch(c->srv->loop, fd, 0, NULL, NULL);
            (void)rc;
            x->stalled = true;
            return;
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0 || take(x, buf, (size_t)n) < 0) {
            if (n < 0)
                syn_log(SYN_LOG_WARN, "RDB transfer: reading its writer's pipe: %s",
                        strerror(errno));
            if (n > 0) x->head_done = false; /* not the header and file it should be: fails */
            xfer_finish(c);
            return;
        }
        srv_client_append_raw(c, buf, (size_t)n);
    }
}

void srv_rdb_xfer_drained(client *c)
{
    struct srv_rdb_xfer *x = c->xfer;
    if (!x || !x->stalled) return;
    x->stalled = false;
    if (net_loop_watch(c->srv->loop, x->fd, NET_READABLE, xfer_on_pipe, c) < 0) {
        syn_log(SYN_LOG_WARN, "RDB transfer to client id=%llu: cannot watch its pipe",
                (unsigned long long)c->id);
        x->head_done = false; /* fails */
        xfer_finish(c);
    }
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int sink(void *ctx, const void *p, size_t len)
{
    return write_all(*(int *)ctx, (const char *)p, len);
}

/* The child: the file of the image fork() froze, into the pipe: "$<len>\r\n" and the file, or
 * for a client that said REPLCONF capa eof (redis-cli does), as Redis's diskless transfer,
 * "$EOF:<40 random characters>\r\n", the file as it is built, then those 40 characters. */
__attribute__((noreturn)) static void xfer_child(server *s, client *c, int wfd, pid_t parent)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(2);
    node_forget_in_child(s->node); /* the data dir lock must not outlive the parent */
    const char *d = getenv("SYNOD_TEST_RDB_WRITER_DELAY_MS"); /* tests: a slow writer */
    if (d) usleep((useconds_t)atoi(d) * 1000);
    char ctime[24], mem[24];
    data_arg aux[10] = {
        {"redis-ver", 9},
        {SRV_REDIS_VERSION, strlen(SRV_REDIS_VERSION)},
        {"redis-bits", 10},
        {"64", 2},
        {"ctime", 5},
        {ctime, (size_t)snprintf(ctime, sizeof(ctime), "%lld", (long long)(srv_now_ms() / 1000))},
        {"used-mem", 8},
        {mem, (size_t)snprintf(mem, sizeof(mem), "%llu", srv_used_memory(s))},
        {"aof-base", 8},
        {"0", 1},
    };
    data_arg *libs;
    size_t nlibs = script_library_codes(s->se, &libs);
    if (c->rdb_capa_eof) { /* streamed: never the whole file in memory */
        char head[5 + XFER_MARK + 2 + 1], mark[XFER_MARK];
        unsigned char rnd[XFER_MARK / 2];
        if (peerauth_random(rnd, sizeof(rnd)) < 0) _exit(1);
        for (size_t i = 0; i < sizeof(rnd); i++) {
            mark[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
            mark[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
        }
        snprintf(head, sizeof(head), "$EOF:%.*s\r\n", XFER_MARK, mark);
        if (write_all(wfd, head, sizeof(head) - 1) < 0 ||
            data_rdb_stream(s->ds, srv_now_ms(), aux, 10, libs, nlibs, !c->rdb_functions_only, sink,
                            &wfd) < 0 ||
            write_all(wfd, mark, XFER_MARK) < 0)
            _exit(1);
        _exit(0);
    }
    size_t len;
    char *rdb = data_rdb(s->ds, srv_now_ms(), aux, 10, libs, nlibs, !c->rdb_functions_only, &len);
    if (!rdb) _exit(1);
    char head[32];
    int hl = snprintf(head, sizeof(head), "$%zu\r\n", len);
    if (write_all(wfd, head, (size_t)hl) < 0 || write_all(wfd, rdb, len) < 0) _exit(1);
    _exit(0);
}

int srv_rdb_xfer_start(server *s, client *c)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    (void)fcntl(p[1], F_SETPIPE_SZ, XFER_OUT_BYTES); /* fewer wake-ups (a hint: may be refused) */
    pid_t parent = getpid();
    int64_t t0 = net_mono_us();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        xfer_child(s, c, p[1], parent);
    }
    int e = errno;
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        errno = e;
        return -1;
    }
    node_count_fork(s->node, (uint64_t)(net_mono_us() - t0));
    struct srv_rdb_xfer *x = calloc(1, sizeof(*x));
    if (!x || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ||
        net_loop_watch(s->loop, p[0], NET_READABLE, xfer_on_pipe, c) < 0) {
        e = errno ? errno : ENOMEM;
        free(x);
        close(p[0]);
        (void)kill(pid, SIGKILL);
        srv_child_adopt(s, pid);
        errno = e;
        return -1;
    }
    x->pid = pid;
    x->fd = p[0];
    x->start_ms = net_mono_ms();
    c->xfer = x; /* its further requests are not run: the connection closes after the file */
    return 0;
}
