/* node_migrate.c — MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH pw]
 * [AUTH2 user pw] [KEYS key ...] (docs/cluster.md "MIGRATE").
 *
 * Redis 7.0's MIGRATE, run by the leader without ever blocking its event loop:
 *   1. the arguments are checked where the client is (Redis's errors, nothing relayed);
 *      a follower relays the command to the leader on the client's own relay connection
 *      (fwd_send_blocking: it may wait up to the timeout without holding up other replies);
 *   2. the leader confirms its leadership (ReadIndex, as a linearizable read: node.c) and, with
 *      its log applied that far, reads each key: DUMP payload, remaining TTL, and its digest
 *      (data_migrate_read) — every acknowledged write is in what it ships;
 *   3. it connects to the target with a non-blocking socket driven by the event loop and sends
 *      [AUTH] SELECT db RESTORE key ttl payload [REPLACE] ..., reading one reply line each, as
 *      Redis does (each line at most 1023 bytes); the client waits like a blocked client (its
 *      later requests wait behind it), bounded by the timeout (ms without progress, as each of
 *      Redis's synchronous reads and writes is);
 *   4. without COPY, the keys the target acknowledged are deleted through the log as
 *      MIGRATE_DEL key digest ...: each replica deletes a key only if its digest (type, expiry,
 *      value) is still the one read in step 2, so a write another client made to the key
 *      meanwhile is never lost: that key stays on the source (the target has the version read
 *      in step 2). The client gets MIGRATE's reply when that entry is applied.
 * Replies and errors are Redis's: +OK, +NOKEY, -IOERR error or timeout connecting to the client,
 * -IOERR error or timeout reading/writing to target instance, -ERR Target instance replied with
 * error: ... (keys acknowledged before an error are still deleted, as in Redis). Unlike Redis,
 * no connection is cached: each MIGRATE opens its own and closes it when done. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/node_internal.h"
#include "util/assert.h"
#include "util/strconv.h"

static const uint64_t no_origin[3] = {0, 0, 0}; /* MIGRATE is a leader client's own */

#define MIG_LINE_MAX 1024 /* Redis reads each reply into a 1024-byte buffer (1023 + NUL) */
#define MIG_HOST_MAX 256

enum { MIG_READ = 0, MIG_RESOLVE, MIG_CONNECT, MIG_IO, MIG_DELETE };
#define MIG_RESOLVE_POLL_MS 2

/* A host name being resolved by glibc's getaddrinfo_a (its own thread): the loop polls it. One
 * still running when its migration ends is kept (it writes into this struct) until it is done. */
typedef struct mres {
    struct gaicb req;
    struct addrinfo hints;
    char host[MIG_HOST_MAX];
    char port[24];
    struct mres *next;
} mres;
static mres *res_zombies; /* abandoned lookups still running, freed once they end */
enum { SOCK_OK = 0, SOCK_READ = 1, SOCK_WRITE = 2 };

typedef struct {
    char *key;
    size_t len;
    char digest[DATA_MIGRATE_DIGEST_LEN + 1];
    bool acked; /* the target replied +OK... to its RESTORE */
} mkey;

struct nmigrate {
    node *n;
    client *c;
    int stage;
    int db; /* the source database (the client's) */
    char host[MIG_HOST_MAX];
    char port[24];
    char dest_db[24];
    long long timeout_ms;
    bool copy, replace;
    char *user, *pass; /* AUTH2 user pass / AUTH pass; NULL: none */
    size_t user_len, pass_len;
    mkey *keys; /* the keys named, then (after the read) the ones found */
    int n_keys;
    mres *res; /* MIG_RESOLVE: the lookup */
    int fd;
    bool watching_write;
    resp_buf out;
    size_t out_sent;
    char line[MIG_LINE_MAX];
    size_t line_len;
    int lines, lines_want, lines_pre; /* replies read, expected, of AUTH + SELECT */
    bool auth_err, select_err, target_err;
    char pre_err[2][MIG_LINE_MAX]; /* AUTH's and SELECT's reply lines */
    char first_err[MIG_LINE_MAX];
    int64_t progress_ms; /* monotonic: the last connect, write or read progress */
    uint64_t timer;
    char *reply; /* MIGRATE's reply, sent when its MIGRATE_DEL entry is applied */
    bool reply_err;
    struct nmigrate *prev, *next;
};

static bool arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

static char *dup_arg(const data_arg *a)
{
    char *p = malloc(a->len + 1);
    SYN_ASSERT(p != NULL);
    memcpy(p, a->ptr, a->len);
    p[a->len] = '\0';
    return p;
}

/* Frees a lookup, or keeps it among the zombies while glibc's thread still runs it. */
static void res_free(mres *q)
{
    int st = gai_error(&q->req);
    if (st == EAI_INPROGRESS && gai_cancel(&q->req) == EAI_NOTCANCELED) {
        q->next = res_zombies;
        res_zombies = q;
        return;
    }
    if (gai_error(&q->req) == 0 && q->req.ar_result) freeaddrinfo(q->req.ar_result);
    free(q);
}

static void res_reap(void)
{
    for (mres **pp = &res_zombies; *pp;) {
        mres *q = *pp;
        if (gai_error(&q->req) == EAI_INPROGRESS) {
            pp = &q->next;
            continue;
        }
        *pp = q->next;
        res_free(q);
    }
}

static void mig_free(nmigrate *m)
{
    node *n = m->n;
    if (m->res) res_free(m->res);
    res_reap();
    if (m->fd >= 0) {
        (void)net_loop_watch(n->loop, m->fd, 0, NULL, NULL);
        close(m->fd);
    }
    if (m->timer) (void)net_timer_cancel(n->loop, m->timer);
    for (int i = 0; i < m->n_keys; i++)
        free(m->keys[i].key);
    free(m->keys);
    free(m->user);
    free(m->pass);
    free(m->reply);
    resp_buf_deinit(&m->out);
    if (m->prev)
        m->prev->next = m->next;
    else if (n->migs == m)
        n->migs = m->next;
    if (m->next) m->next->prev = m->prev;
    if (m->c) m->c->mig = NULL;
    free(m);
}

nmigrate *nmigrate_parse(node *n, client *c, int argc, const data_arg *argv)
{
    if (argc < 6) {
        nreply_error(n, c, "ERR wrong number of arguments for 'migrate' command");
        return NULL;
    }
    bool copy = false, replace = false;
    const data_arg *user = NULL, *pass = NULL;
    int first_key = 3, num_keys = 1;
    for (int j = 6; j < argc; j++) {
        int more = argc - 1 - j;
        if (arg_is(&argv[j], "copy")) {
            copy = true;
        } else if (arg_is(&argv[j], "replace")) {
            replace = true;
        } else if (arg_is(&argv[j], "auth")) {
            if (!more) goto syntax;
            pass = &argv[++j];
        } else if (arg_is(&argv[j], "auth2")) {
            if (more < 2) goto syntax;
            user = &argv[++j];
            pass = &argv[++j];
        } else if (arg_is(&argv[j], "keys")) {
            if (argv[3].len != 0) {
                nreply_error(n, c,
                             "ERR When using MIGRATE KEYS option, the key argument must be set to "
                             "the empty string");
                return NULL;
            }
            first_key = j + 1;
            num_keys = argc - j - 1;
            break;
        } else {
            goto syntax;
        }
    }
    long long timeout, dbid;
    if (!syn_string2ll(argv[5].ptr, argv[5].len, &timeout) ||
        !syn_string2ll(argv[4].ptr, argv[4].len, &dbid)) {
        nreply_error(n, c, "ERR value is not an integer or out of range");
        return NULL;
    }
    if (timeout <= 0) timeout = 1000;
    nmigrate *m = calloc(1, sizeof(*m));
    SYN_ASSERT(m != NULL);
    m->n = n;
    m->fd = -1;
    m->db = c->db;
    m->copy = copy;
    m->replace = replace;
    m->timeout_ms = timeout;
    snprintf(m->dest_db, sizeof(m->dest_db), "%lld", dbid);
    /* a host that cannot be one (too long, a NUL inside) fails to connect, as in Redis */
    if (argv[1].len < sizeof(m->host) && !memchr(argv[1].ptr, '\0', argv[1].len))
        memcpy(m->host, argv[1].ptr, argv[1].len);
    /* the port as Redis's atoi reads it: leading digits, anything else ends it */
    long long port = 0;
    for (size_t i = 0; i < argv[2].len && argv[2].ptr[i] >= '0' && argv[2].ptr[i] <= '9'; i++)
        port = port < 100000 ? port * 10 + (argv[2].ptr[i] - '0') : port;
    snprintf(m->port, sizeof(m->port), "%lld", port);
    if (pass) {
        m->pass = dup_arg(pass);
        m->pass_len = pass->len;
    }
    if (user) {
        m->user = dup_arg(user);
        m->user_len = user->len;
    }
    m->keys = calloc((size_t)(num_keys > 0 ? num_keys : 1), sizeof(*m->keys));
    SYN_ASSERT(m->keys != NULL);
    for (int i = 0; i < num_keys; i++) {
        m->keys[i].key = dup_arg(&argv[first_key + i]);
        m->keys[i].len = argv[first_key + i].len;
    }
    m->n_keys = num_keys;
    resp_buf_init(&m->out);
    m->next = n->migs;
    if (n->migs) n->migs->prev = m;
    n->migs = m;
    return m;
syntax:
    nreply_error(n, c, "ERR syntax error");
    return NULL;
}

void nmigrate_discard(node *n, nmigrate *m)
{
    (void)n;
    SYN_ASSERT(m->c == NULL);
    mig_free(m);
}

void nmigrate_attach(node *n, client *c, nmigrate *m)
{
    (void)n;
    SYN_ASSERT(c->mig == NULL && m->c == NULL);
    m->c = c;
    c->mig = m;
    c->migrating = true;
    c->n_async++;
    c->async_kind = ASYNC_BLOCK; /* later requests wait for its reply */
}

/* The client's answer, and the end of the migration. */
static void answer(nmigrate *m, const char *reply, bool err)
{
    node *n = m->n;
    client *c = m->c;
    if (err)
        nreply_error(n, c, reply);
    else
        nreply_status(n, c, reply);
    mig_free(m);
    node_client_done(n, c);
}

static void add_cmd(resp_buf *b, int argc, const data_arg *argv)
{
    resp_add_array(b, (size_t)argc);
    for (int i = 0; i < argc; i++)
        resp_add_bulk(b, argv[i].ptr, argv[i].len);
}

static void fail_io(nmigrate *m, int sock);
static void mig_io(net_loop *l, int fd, int events, void *ctx);

/* Connects to the first address that does not fail at once (as Redis's anetTcpGenericConnect):
 * 0, or -1 when none would. */
static int mig_connect_ai(nmigrate *m, const struct addrinfo *ai)
{
    for (const struct addrinfo *p = ai; p; p = p->ai_next) {
        int fd = socket(p->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int rc = connect(fd, p->ai_addr, p->ai_addrlen);
        if ((rc < 0 && errno != EINPROGRESS) || fd >= net_loop_max_fds(m->n->loop) ||
            net_loop_watch(m->n->loop, fd, NET_WRITABLE, mig_io, m) < 0) {
            close(fd);
            continue;
        }
        m->fd = fd;
        m->watching_write = true;
        m->stage = MIG_CONNECT;
        m->progress_ms = net_mono_ms();
        return 0;
    }
    return -1;
}

/* A numeric address connects at once; a name is resolved off the loop (getaddrinfo_a), so a
 * slow resolver never stalls the node. 0 (connecting or resolving), or -1. */
static int mig_connect(nmigrate *m)
{
    if (!m->host[0]) return -1;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(m->host, m->port, &hints, &ai);
    if (rc == 0) {
        rc = mig_connect_ai(m, ai);
        freeaddrinfo(ai);
        return rc;
    }
    if (rc != EAI_NONAME) return -1;
    mres *q = calloc(1, sizeof(*q));
    SYN_ASSERT(q != NULL);
    memcpy(q->host, m->host, sizeof(q->host));
    memcpy(q->port, m->port, sizeof(q->port));
    q->hints.ai_socktype = SOCK_STREAM;
    q->req.ar_name = q->host;
    q->req.ar_service = q->port;
    q->req.ar_request = &q->hints;
    struct gaicb *list[1] = {&q->req};
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
        free(q);
        return -1;
    }
    m->res = q;
    m->stage = MIG_RESOLVE;
    return 0;
}

/* The lookup is polled; afterwards, the timeout (time without progress) is watched. */
static int64_t mig_timer(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    nmigrate *m = ctx;
    m->timer = 0; /* this callback's timer ends with it unless re-armed below */
    int64_t idle = net_mono_ms() - m->progress_ms;
    if (m->stage == MIG_RESOLVE) {
        int st = gai_error(&m->res->req);
        if (st == EAI_INPROGRESS && idle < m->timeout_ms) {
            m->timer = id;
            return MIG_RESOLVE_POLL_MS;
        }
        int rc = st == 0 ? mig_connect_ai(m, m->res->req.ar_result) : -1;
        res_free(m->res);
        m->res = NULL;
        if (rc < 0) {
            answer(m, "IOERR error or timeout connecting to the client", true);
            return NET_TIMER_STOP;
        }
        m->timer = id;
        return m->timeout_ms;
    }
    if (idle < m->timeout_ms) {
        m->timer = id;
        return m->timeout_ms - idle;
    }
    fail_io(m, m->stage == MIG_CONNECT || m->out_sent < m->out.len ? SOCK_WRITE : SOCK_READ);
    return NET_TIMER_STOP;
}

void nmigrate_dump(node *n, client *c)
{
    nmigrate *m = c->mig;
    SYN_ASSERT(m != NULL && m->stage == MIG_READ);
    int prev = data_select(n->ds, m->db);
    int64_t now = net_wall_ms();
    if (m->pass) {
        data_arg a[3] = {{"AUTH", 4}, {m->user, m->user_len}, {m->pass, m->pass_len}};
        if (m->user)
            add_cmd(&m->out, 3, a);
        else
            add_cmd(&m->out, 2, (data_arg[]){a[0], a[2]});
        m->lines_pre++;
    }
    data_arg sel[2] = {{"SELECT", 6}, {m->dest_db, strlen(m->dest_db)}};
    add_cmd(&m->out, 2, sel); /* a fresh connection: always SELECT */
    m->lines_pre++;
    int found = 0;
    for (int i = 0; i < m->n_keys; i++) {
        mkey *k = &m->keys[i];
        char *payload;
        size_t plen;
        int64_t expire;
        if (!data_migrate_read(n->ds, k->key, k->len, now, &payload, &plen, &expire, k->digest)) {
            free(k->key);
            continue;
        }
        char ttl[24];
        int tl = snprintf(ttl, sizeof(ttl), "%lld",
                          expire < 0 ? 0LL : (long long)(expire - now < 1 ? 1 : expire - now));
        data_arg r[5] = {
            {"RESTORE", 7}, {k->key, k->len}, {ttl, (size_t)tl}, {payload, plen}, {"REPLACE", 7}};
        add_cmd(&m->out, m->replace ? 5 : 4, r);
        free(payload);
        m->keys[found++] = *k;
    }
    m->n_keys = found;
    if (prev >= 0) data_select(n->ds, prev);
    if (!found) {
        answer(m, "NOKEY", false);
        return;
    }
    m->lines_want = m->lines_pre + found;
    m->progress_ms = net_mono_ms();
    if (mig_connect(m) < 0) {
        answer(m, "IOERR error or timeout connecting to the client", true);
        return;
    }
    m->timer = net_timer_add(n->loop, m->stage == MIG_RESOLVE ? MIG_RESOLVE_POLL_MS : m->timeout_ms,
                             mig_timer, m);
    SYN_ASSERT(m->timer != 0);
}

/* The transfer is over (sock: how it ended): delete what the target acknowledged, through the
 * log, and answer as Redis does. */
static void finish(nmigrate *m, int sock)
{
    node *n = m->n;
    (void)net_loop_watch(n->loop, m->fd, 0, NULL, NULL);
    close(m->fd);
    m->fd = -1;
    const char *msg = "OK";
    char buf[MIG_LINE_MAX + 64];
    bool err = true;
    if (sock == SOCK_WRITE) {
        msg = "IOERR error or timeout writing to target instance";
    } else if (m->target_err) {
        snprintf(buf, sizeof(buf), "ERR Target instance replied with error: %s", m->first_err);
        msg = buf;
    } else if (sock == SOCK_READ) {
        msg = "IOERR error or timeout reading to target instance";
    } else {
        err = false;
    }
    int del = 0;
    for (int i = 0; i < m->n_keys && !m->copy && sock != SOCK_WRITE; i++)
        del += m->keys[i].acked;
    if (!del) {
        answer(m, msg, err);
        return;
    }
    resp_buf *b = &n->scratch;
    data_arg *av = malloc((size_t)(1 + 2 * del) * sizeof(*av));
    SYN_ASSERT(av != NULL);
    int k = 0;
    av[k++] = (data_arg){"MIGRATE_DEL", 11};
    for (int i = 0; i < m->n_keys; i++) {
        if (!m->keys[i].acked) continue;
        av[k++] = (data_arg){m->keys[i].key, m->keys[i].len};
        av[k++] = (data_arg){m->keys[i].digest, DATA_MIGRATE_DIGEST_LEN};
    }
    nentry_encode_cmd(b, net_wall_ms(), k, av);
    free(av);
    nentry_wrap_db(b, m->db);
    int rc = n->role == RAFT_LEADER ? node_propose_retry(n, m->c, no_origin, b->data, b->len) : -1;
    if (rc < 0) {
        /* the keys are on the target and still here: nothing is lost, the client is told */
        answer(m,
               "TRYAGAIN MIGRATE transferred the keys but could not delete them here (not the "
               "leader any more): they are on both servers",
               true);
        return;
    }
    m->reply = strdup(msg);
    SYN_ASSERT(m->reply != NULL);
    m->reply_err = err;
    m->stage = MIG_DELETE;
    if (m->timer) (void)net_timer_cancel(n->loop, m->timer);
    m->timer = 0;
}

/* An I/O error or timeout. Like Redis (whose blocking connect does not look at the outcome of
 * the connection), a connection refused or not made in time shows as a write error: only one
 * that fails at once (no address, an unusable one) is "connecting to the client". */
static void fail_io(nmigrate *m, int sock)
{
    /* Redis gives up before any RESTORE reply was read with no key deleted */
    if (m->lines <= m->lines_pre && sock == SOCK_READ)
        for (int i = 0; i < m->n_keys; i++)
            m->keys[i].acked = false;
    finish(m, sock);
}

/* One reply line (without its CR LF) read from the target. */
static void on_line(nmigrate *m, const char *p, size_t len)
{
    int idx = m->lines++;
    if (idx < m->lines_pre) {
        int which = m->pass && idx == 0 ? 0 : 1;
        memcpy(m->pre_err[which], p, len);
        m->pre_err[which][len] = '\0';
        if (len && p[0] == '-') {
            if (which == 0) m->auth_err = true;
            if (which == 1) m->select_err = true;
        }
        return;
    }
    mkey *k = &m->keys[idx - m->lines_pre];
    if (m->auth_err || m->select_err || (len && p[0] == '-')) {
        if (!m->target_err) {
            m->target_err = true;
            const char *e = m->auth_err ? m->pre_err[0] : m->select_err ? m->pre_err[1] : NULL;
            if (e)
                snprintf(m->first_err, sizeof(m->first_err), "%s", e + 1);
            else
                snprintf(m->first_err, sizeof(m->first_err), "%s", p + 1);
        }
    } else {
        k->acked = true;
    }
}

/* Reads what the target sent; true when the migration ended (m is freed or waits for its
 * deletion). */
static bool mig_read(nmigrate *m)
{
    char buf[16384];
    while (m->lines < m->lines_want) {
        ssize_t r = recv(m->fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            fail_io(m, SOCK_READ);
            return true;
        }
        if (r < 0) return false;
        m->progress_ms = net_mono_ms();
        for (ssize_t i = 0; i < r; i++) {
            /* Redis's syncReadLine: a line ends at LF (a CR before it dropped) or after 1023
             * bytes; an empty one is a read error */
            char ch = buf[i];
            if (ch != '\n') m->line[m->line_len++] = ch;
            if (ch != '\n' && m->line_len < MIG_LINE_MAX - 1) continue;
            size_t len = m->line_len;
            m->line_len = 0;
            if (len == 0) { /* a bare LF: Redis's read returns 0, an error ("\r\n" is not) */
                fail_io(m, SOCK_READ);
                return true;
            }
            if (ch == '\n' && m->line[len - 1] == '\r') len--;
            m->line[len] = '\0'; /* read as Redis's C string: up to a NUL */
            on_line(m, m->line, strlen(m->line));
            if (m->lines == m->lines_want) {
                /* every reply is in (Redis, too, reads no more); a target that answered before
                 * it got everything still gets everything, as Redis sends it all first */
                if (m->watching_write) { /* and nothing more is read meanwhile */
                    if (net_loop_watch(m->n->loop, m->fd, NET_WRITABLE, mig_io, m) < 0) {
                        fail_io(m, SOCK_WRITE);
                        return true;
                    }
                    return false;
                }
                finish(m, SOCK_OK);
                return true;
            }
        }
    }
    return false;
}

static void mig_io(net_loop *l, int fd, int events, void *ctx)
{
    (void)fd;
    nmigrate *m = ctx;
    if (m->stage == MIG_CONNECT) {
        if (!(events & NET_WRITABLE)) return;
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
            fail_io(m, SOCK_WRITE);
            return;
        }
        m->stage = MIG_IO;
        m->progress_ms = net_mono_ms();
    }
    if (m->watching_write && (events & NET_WRITABLE)) {
        while (m->out_sent < m->out.len) {
            ssize_t w =
                send(m->fd, m->out.data + m->out_sent, m->out.len - m->out_sent, MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
            if (w <= 0) {
                fail_io(m, SOCK_WRITE);
                return;
            }
            m->out_sent += (size_t)w;
            m->progress_ms = net_mono_ms();
        }
        if (m->out_sent == m->out.len) {
            m->watching_write = false;
            resp_buf_deinit(&m->out);
            m->out_sent = 0;
            if (m->lines == m->lines_want) { /* the replies came first */
                finish(m, SOCK_OK);
                return;
            }
            if (net_loop_watch(l, m->fd, NET_READABLE, mig_io, m) < 0) {
                fail_io(m, SOCK_READ);
                return;
            }
        } else if (net_loop_watch(l, m->fd,
                                  NET_WRITABLE | (m->lines < m->lines_want ? NET_READABLE : 0),
                                  mig_io, m) < 0) {
            fail_io(m, SOCK_WRITE);
            return;
        }
    }
    if (events & NET_READABLE) (void)mig_read(m);
}

bool nmigrate_deleting(const client *c)
{
    return c->mig && c->mig->stage == MIG_DELETE;
}

void nmigrate_answer(node *n, client *c)
{
    nmigrate *m = c->mig;
    SYN_ASSERT(m && m->stage == MIG_DELETE);
    if (m->reply_err)
        nreply_error(n, c, m->reply);
    else
        nreply_status(n, c, m->reply);
    mig_free(m); /* apply_entry calls node_client_done */
}

void nmigrate_drop(node *n, client *c)
{
    (void)n;
    if (c->mig) mig_free(c->mig);
    c->migrating = false;
}

void nmigrate_deinit(node *n)
{
    while (n->migs)
        mig_free(n->migs);
    /* lookups still running at shutdown: waited for a little, then left to the exit */
    for (int i = 0; i < 10 && res_zombies; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        const struct gaicb *one[1] = {&res_zombies->req};
        (void)gai_suspend(one, 1, &ts);
        res_reap();
    }
}
