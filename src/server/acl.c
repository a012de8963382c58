/* acl.c — ACL on the server side (docs/security.md): the command catalog handed to the data
 * layer, who a connection is (AUTH, HELLO AUTH, RESET), the permission check every request
 * passes before it is queued or routed, ACL LOG (this node's, as in Redis), the ACL commands,
 * and the disconnections Redis makes when users change.
 *
 * The users are replicated state (src/data/acl.c). ACL SETUSER / DELUSER are rewritten here
 * into ACL_EFFECT entries, clear-text passwords hashed with SHA-256 first (`>p` -> `#hash`,
 * `<p` -> `!hash`), and routed like any write: a follower relays them to the leader, every
 * replica applies them in log order. Everything that reads users (AUTH, the checks, GETUSER,
 * LIST) reads this node's applied table. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/peerauth.h"
#include "server/server.h"
#include "util/assert.h"
#include "util/strconv.h"

enum { CTX_TOPLEVEL = 0, CTX_MULTI = 1, CTX_LUA = 2 };

typedef struct {
    long long count;
    int reason, context;
    char *object, *username, *cinfo;
    size_t object_len, username_len;
    int64_t ctime_ms;
} log_entry;

struct srv_acl {
    acl_cmd *cmds;
    acl_catalog cat;
    int *by_name;   /* catalog ids sorted by name, for lookups */
    log_entry *log; /* newest first */
    size_t log_n, log_cap;
    data_arg *wrap; /* srv_acl_script_wrap's argv */
    int wrap_cap;
    /* ACL_EFFECT rewrite: hashes of the clear-text passwords of the request */
    char (*hashes)[66];
    size_t hashes_cap;
};

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

static const acl_cmd *catalog_cmds;

static int by_name_cmp(const void *a, const void *b)
{
    return strcmp(catalog_cmds[*(const int *)a].name, catalog_cmds[*(const int *)b].name);
}

void srv_acl_init(server *s)
{
    struct srv_acl *a = calloc(1, sizeof(*a));
    SYN_ASSERT(a != NULL);
    size_t n;
    a->cmds = srv_cmd_catalog(&n);
    a->cat = (acl_catalog){a->cmds, n};
    a->by_name = malloc(n * sizeof(int));
    SYN_ASSERT(a->by_name != NULL);
    for (size_t i = 0; i < n; i++)
        a->by_name[i] = (int)i;
    catalog_cmds = a->cmds;
    qsort(a->by_name, n, sizeof(int), by_name_cmp);
    s->acl = a;
    data_set_acl_catalog(s->ds, &a->cat);
}

static void log_free(log_entry *e)
{
    free(e->object);
    free(e->username);
    free(e->cinfo);
}

void srv_acl_deinit(server *s)
{
    struct srv_acl *a = s->acl;
    if (!a) return;
    for (size_t i = 0; i < a->log_n; i++)
        log_free(&a->log[i]);
    free(a->log);
    for (size_t i = 0; i < a->cat.n; i++)
        free((char *)a->cmds[i].name);
    free(a->cmds);
    free(a->by_name);
    free(a->hashes);
    free(a->wrap);
    free(a);
    s->acl = NULL;
}

/* a catalog id by full name ("config|get"), -1 if none */
static int find_id(const struct srv_acl *a, const char *name)
{
    size_t lo = 0, hi = a->cat.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->cmds[a->by_name[mid]].name, name);
        if (c == 0) return a->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* --- who a connection is --------------------------------------------------------------- */

const char *srv_acl_username(const client *c, size_t *len)
{
    if (!c->user) {
        if (len) *len = 7;
        return "default";
    }
    if (len) *len = strlen(c->user);
    return c->user;
}

static const acl_user *client_user(const server *s, const client *c)
{
    size_t n;
    const char *name = srv_acl_username(c, &n);
    return acl_find(data_acl(s->ds), name, n);
}

static void set_user(client *c, const char *name, size_t len)
{
    free(c->user);
    c->user = NULL;
    c->nc.user = NULL; /* a follower's relay names the user to the leader (fwd.c) */
    if (len == 7 && memcmp(name, "default", 7) == 0) return;
    c->user = malloc(len + 1);
    SYN_ASSERT(c->user != NULL);
    memcpy(c->user, name, len);
    c->user[len] = '\0';
    c->nc.user = c->user;
}

void srv_acl_client_free(client *c)
{
    free(c->user);
    c->user = NULL;
    c->nc.user = NULL;
    free(c->relay_refused);
    c->relay_refused = NULL;
}

/* requirepass, when set, is the default user's only password on this node (as Redis's
 * CONFIG SET requirepass resets the default user's passwords): it replaces the replicated
 * default user's nopass and passwords here; on/off and permissions still come from the
 * replicated user. */
int srv_acl_default_nopass(const server *s)
{
    if (s->cfg.requirepass[0]) return 0;
    const acl_user *u = acl_find(data_acl(s->ds), "default", 7);
    return u && acl_user_enabled(u) && acl_user_nopass(u);
}

int srv_acl_default_passwordless(const server *s)
{
    if (s->cfg.requirepass[0]) return 0;
    const acl_user *u = acl_find(data_acl(s->ds), "default", 7);
    return u && acl_user_nopass(u);
}

int srv_acl_auth_required(const server *s, const client *c)
{
    return !c->authenticated && !srv_acl_default_nopass(s);
}

void srv_acl_reset_user(server *s, client *c)
{
    set_user(c, "default", 7);
    c->authenticated = srv_acl_default_nopass(s);
}

static void sha256_hex(const char *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    SYN_ASSERT(EVP_Digest(p, n, md, &mdn, EVP_sha256(), NULL) == 1 && mdn == 32);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void log_add(server *s, client *c, int reason, int context, const char *user, size_t ulen,
                    const char *obj, size_t olen);

int srv_acl_auth(server *s, client *c, const data_arg *user, const data_arg *pass)
{
    const acl_user *u = acl_find(data_acl(s->ds), user->ptr, user->len);
    int ok = 0;
    if (u && acl_user_enabled(u)) {
        int is_default = user->len == 7 && memcmp(user->ptr, "default", 7) == 0;
        if (is_default && s->cfg.requirepass[0]) {
            const char *want = s->cfg.requirepass;
            size_t n = strlen(want);
            unsigned diff = pass->len != n;
            for (size_t i = 0; i < pass->len && i < n; i++) /* the same time for every guess */
                diff |= (unsigned)(pass->ptr[i] ^ want[i]);
            ok = diff == 0;
        } else if (acl_user_nopass(u)) {
            ok = 1;
        } else {
            char hex[65];
            sha256_hex(pass->ptr, pass->len, hex);
            ok = acl_user_hash_ok(u, hex);
        }
    }
    if (!ok) {
        const data_arg *cmd = &s->argv[0]; /* the request's own name, as Redis logs it */
        log_add(s, c, ACL_DENIED_AUTH, c->in_multi ? CTX_MULTI : CTX_TOPLEVEL, user->ptr, user->len,
                cmd->ptr, cmd->len);
        return -1;
    }
    set_user(c, user->ptr, user->len);
    c->authenticated = true;
    return 0;
}

/* --- the permission check --------------------------------------------------------------- */

#define REFS_STACK 64

/* acl_check of a request for u: ACL_OK or the denial, *idx the argv index refused, *name the
 * command's full name (NULL if the command is unknown or its arity wrong: its own error comes
 * first, so it passes here) */
static int check_request(server *s, const acl_user *u, int argc, const data_arg *argv, int *idx,
                         const char **name, char *buf, size_t cap)
{
    struct srv_acl *a = s->acl;
    *name = srv_cmd_acl_name(argc, argv, buf, cap);
    if (!*name) return ACL_OK;
    int id = find_id(a, *name);
    if (id < 0) return ACL_OK;
    acl_ref ks[REFS_STACK], cs[REFS_STACK];
    int pos_stack[REFS_STACK];
    acl_ref *keys = ks, *chans = cs;
    int *pos = pos_stack;
    if (argc > REFS_STACK) {
        keys = malloc((size_t)argc * sizeof(*keys));
        chans = malloc((size_t)argc * sizeof(*chans));
        pos = malloc((size_t)argc * sizeof(*pos));
        SYN_ASSERT(keys && chans && pos);
    }
    int nk = 0, nc = 0;
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    unsigned kflags = ACL_KEY_READ;
    unsigned need_stack[REFS_STACK], *need = need_stack;
    if (argc > REFS_STACK) {
        need = malloc((size_t)argc * sizeof(*need));
        SYN_ASSERT(need);
    }
    if (dc) {
        /* per key, by its key spec (a container's subcommand by its own, from the server) */
        const char *sub = NULL, *sub_specs = srv_data_sub_specs(argc, argv, &sub);
        nk = data_cmd_acl_keys(dc, sub, sub_specs, argc, argv, pos, need, argc);
    } else {
        nk = srv_cmd_server_keys(*name, argc, argv, pos);
        if (!strncmp(*name, "eval", 4) || !strncmp(*name, "fcall", 5))
            kflags = strstr(*name, "_ro") ? ACL_KEY_READ : ACL_KEY_READ | ACL_KEY_WRITE;
    }
    if (nk < 0 || !strcmp(*name, "spublish")) nk = 0; /* its shard channel is no key for ACL */
    if (nk > argc) nk = argc;
    for (int i = 0; i < nk; i++)
        keys[i] = (acl_ref){pos[i], dc ? need[i] : kflags};
    if (need != need_stack) free(need);
    if (!strcmp(*name, "publish") || !strcmp(*name, "spublish")) {
        chans[nc++] = (acl_ref){1, 0};
    } else if (!strcmp(*name, "subscribe") || !strcmp(*name, "ssubscribe") ||
               !strcmp(*name, "psubscribe")) {
        unsigned f = (*name)[0] == 'p' ? ACL_CH_PATTERN : 0;
        for (int i = 1; i < argc; i++)
            chans[nc++] = (acl_ref){i, f};
    }
    int rc = acl_check(data_acl(s->ds), u, id, argc, argv, keys, nk, chans, nc, idx);
    if (keys != ks) {
        free(keys);
        free(chans);
        free(pos);
    }
    return rc;
}

static const char *denied_text(int rc)
{
    return rc == ACL_DENIED_KEY ? "this user has no permissions to access one of the keys used "
                                  "as arguments"
                                : "this user has no permissions to access one of the channels "
                                  "used as arguments";
}

static int is_script_cmd(const data_arg *a)
{
    static const char *const names[] = {"eval",       "evalsha", "eval_ro",
                                        "evalsha_ro", "fcall",   "fcall_ro"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (arg_is(a, names[i])) return 1;
    return 0;
}

const data_arg *srv_acl_script_wrap(server *s, client *c, int *argc, const data_arg *argv)
{
    if (!is_script_cmd(&argv[0])) return argv;
    const acl_user *u = client_user(s, c);
    if (!u || acl_user_unrestricted(u)) return argv;
    struct srv_acl *a = s->acl;
    if (*argc + 2 > a->wrap_cap) {
        a->wrap_cap = *argc + 2;
        a->wrap = realloc(a->wrap, (size_t)a->wrap_cap * sizeof(*a->wrap));
        SYN_ASSERT(a->wrap != NULL);
    }
    size_t ulen;
    const char *uname = srv_acl_username(c, &ulen);
    a->wrap[0] = (data_arg){"ACL_AS", 6};
    a->wrap[1] = (data_arg){uname, ulen};
    memcpy(a->wrap + 2, argv, (size_t)*argc * sizeof(*argv));
    *argc += 2;
    return a->wrap;
}

/* A proven relay's own state commands, outside MULTI: the database (SELECT, fwd.c's select_db),
 * the watched keys (SYNOD WATCHED) of the client it relays next, each checked on the follower
 * against that client's user, SYNOD PRELUDE / UNBLOCK-SELF (the follower's CLIENT UNBLOCK,
 * checked there) and SYNOD EVICTIONS (a follower's tracking read over maxmemory); the relay's
 * current user may lack SELECT or SYNOD. */
static int relay_state_cmd(int argc, const data_arg *argv)
{
    return (argc == 2 && arg_is(&argv[0], "select")) ||
           (argc >= 2 && arg_is(&argv[0], "synod") &&
            (arg_is(&argv[1], "watched") || arg_is(&argv[1], "prelude") ||
             arg_is(&argv[1], "unblock-self") || arg_is(&argv[1], "evictions")));
}

int srv_acl_gate(server *s, client *c, int argc, const data_arg *argv)
{
    if (c->relay_refused) { /* the user of these requests was refused by SYNOD RELAY-USER */
        srv_reply_error(c, c->relay_refused);
        if (c->in_multi) c->multi_dirty = 1;
        return 1;
    }
    if (c->relay_proven && !c->in_multi && relay_state_cmd(argc, argv)) return 0;
    /* a queued command its user may no longer run, as a follower's EXEC relays it (multi.c):
     * it only answers that error, in its place, whoever runs it */
    if (argc == 3 && arg_is(&argv[0], "acl_effect") && arg_is(&argv[1], "noperm")) return 0;
    const acl_user *u = client_user(s, c);
    if (u && acl_user_unrestricted(u)) return 0;
    if (arg_is(&argv[0], "acl_as")) {
        /* as itself (a follower's relay of this user's script, wrapped there): checked as the
         * script command; as another user it would run a script as someone else */
        size_t ulen;
        const char *uname = srv_acl_username(c, &ulen);
        if (argc < 3 || argv[1].len != ulen || memcmp(argv[1].ptr, uname, ulen) != 0 ||
            !is_script_cmd(&argv[2])) {
            srv_reply_error(c, "NOPERM this user has no permissions to run the 'acl_as' command");
            if (c->in_multi) c->multi_dirty = 1;
            return 1;
        }
        argc -= 2;
        argv += 2;
    }
    if (!u) { /* deleted while connected (the close is on its way): nothing is allowed */
        srv_reply_error(c, "NOPERM this user has no permissions to run any command");
        if (c->relay_proven) { /* a relay is no client of that user: it stays open */
            if (c->in_multi) c->multi_dirty = 1;
            return 1;
        }
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        return 1;
    }
    int idx = 0;
    char buf[96];
    const char *name;
    int rc = check_request(s, u, argc, argv, &idx, &name, buf, sizeof(buf));
    if (rc == ACL_OK) return 0;
    size_t ulen;
    const char *uname = srv_acl_username(c, &ulen);
    if (rc == ACL_DENIED_CMD)
        log_add(s, c, rc, c->in_multi ? CTX_MULTI : CTX_TOPLEVEL, uname, ulen, name, strlen(name));
    else
        log_add(s, c, rc, c->in_multi ? CTX_MULTI : CTX_TOPLEVEL, uname, ulen, argv[idx].ptr,
                argv[idx].len);
    char msg[256];
    if (rc == ACL_DENIED_CMD)
        snprintf(msg, sizeof(msg), "NOPERM this user has no permissions to run the '%s' command",
                 name);
    else
        snprintf(msg, sizeof(msg), "NOPERM %s", denied_text(rc));
    if (c->in_multi && arg_is(&argv[0], "exec")) { /* Redis aborts the transaction */
        srv_reply_errorf(c, "EXECABORT Transaction discarded because of: %s", msg);
        srv_multi_reset(c);
        if (s->node) node_unwatch(s->node, &c->nc);
        return 1;
    }
    srv_reply_error(c, msg);
    if (c->in_multi) c->multi_dirty = 1;
    return 1;
}

int srv_acl_exec_denied(server *s, client *c, int argc, const data_arg *argv, const char **reason)
{
    const acl_user *u = client_user(s, c);
    if (u && acl_user_unrestricted(u)) return 0;
    int idx = 0, rc = ACL_DENIED_CMD;
    char buf[96];
    const char *name = "";
    if (u) rc = check_request(s, u, argc, argv, &idx, &name, buf, sizeof(buf));
    if (rc == ACL_OK) return 0;
    size_t ulen;
    const char *uname = srv_acl_username(c, &ulen);
    if (rc == ACL_DENIED_CMD)
        log_add(s, c, rc, CTX_MULTI, uname, ulen, name, strlen(name));
    else
        log_add(s, c, rc, CTX_MULTI, uname, ulen, argv[idx].ptr, argv[idx].len);
    *reason = rc == ACL_DENIED_CMD   ? "no permission to execute the command or subcommand"
              : rc == ACL_DENIED_KEY ? "no permission to touch the specified keys"
                                     : "no permission to access one of the channels used as "
                                       "arguments";
    return 1;
}

/* ACL SETUSER / DELUSER -> ACL_EFFECT, in place in argv (same argc); passwords hashed. */
void srv_acl_rewrite(server *s, int argc, data_arg *argv)
{
    if (argc < 3 || !arg_is(&argv[0], "acl")) return;
    int setuser = arg_is(&argv[1], "setuser");
    if (!setuser && !arg_is(&argv[1], "deluser")) return;
    argv[0] = (data_arg){"ACL_EFFECT", 10};
    argv[1] = setuser ? (data_arg){"SETUSER", 7} : (data_arg){"DELUSER", 7};
    if (!setuser) return;
    struct srv_acl *a = s->acl;
    if ((size_t)argc > a->hashes_cap) {
        a->hashes_cap = (size_t)argc;
        a->hashes = realloc(a->hashes, a->hashes_cap * sizeof(*a->hashes));
        SYN_ASSERT(a->hashes != NULL);
    }
    for (int i = 3; i < argc; i++) {
        const data_arg *op = &argv[i];
        if (op->len == 0 || (op->ptr[0] != '>' && op->ptr[0] != '<')) continue;
        char *h = a->hashes[i];
        h[0] = op->ptr[0] == '>' ? '#' : '!';
        sha256_hex(op->ptr + 1, op->len - 1, h + 1);
        argv[i] = (data_arg){h, 65};
    }
}

/* --- relays: a follower proves it is a member, then names the user of its requests --------- */

static void relay_refuse(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void relay_refuse(client *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    srv_reply_error(c, msg);
    free(c->relay_refused);
    c->relay_refused = strdup(msg);
    SYN_ASSERT(c->relay_refused != NULL);
}

/* A failed proof: answered, logged (at most once per 10 s: strangers may try it in a loop) and
 * closed, as a failed peer handshake. */
static void relay_fail(client *c, const char *why)
{
    static int64_t last_log_ms;
    int64_t now = srv_now_ms();
    if (!last_log_ms || now - last_log_ms >= 10000) {
        last_log_ms = now;
        syn_log(SYN_LOG_WARN, "relay from %s refused: %s", c->addr, why);
    }
    srv_reply_errorf(c, "ERR %s", why);
    c->relay_nonce_set = false;
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void relay_proven(client *c)
{
    c->relay_proven = true;
    c->relay_nonce_set = false;
    c->authenticated = true; /* as the default user until RELAY-USER */
    c->nc.forwarded = 1;     /* SYNOD FORWARDED: never relayed again */
}

static int hex_decode(const data_arg *a, uint8_t *out, size_t n)
{
    if (a->len != 2 * n) return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char ch = a->ptr[i];
        int v = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (v < 0) return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

/* SYNOD RELAY-HELLO <follower-id>: with cluster-secret, the challenge (a fresh nonce, hex);
 * under tls-cluster without a secret, +OK if this TLS connection showed a certificate the
 * cluster's CA verified (it is proven then). */
static void relay_hello(server *s, client *c, const data_arg *id_arg)
{
    long long id;
    if (!syn_string2ll(id_arg->ptr, id_arg->len, &id) || id <= 0) {
        relay_fail(c, "SYNOD RELAY-HELLO: invalid node id");
        return;
    }
    c->relay_follower_id = (uint64_t)id;
    if (s->cfg.cluster_secret[0]) {
        if (peerauth_random(c->relay_nonce, sizeof(c->relay_nonce)) < 0) {
            relay_fail(c, "SYNOD RELAY-HELLO: no random bytes for a challenge");
            return;
        }
        static const char hex[] = "0123456789abcdef";
        char h[2 * sizeof(c->relay_nonce)];
        for (size_t i = 0; i < sizeof(c->relay_nonce); i++) {
            h[2 * i] = hex[c->relay_nonce[i] >> 4];
            h[2 * i + 1] = hex[c->relay_nonce[i] & 15];
        }
        c->relay_nonce_set = true;
        srv_reply_bulk(c, h, sizeof(h));
        return;
    }
    if (s->cfg.tls_cluster && c->tls && net_tls_peer_verified(c->tls)) {
        relay_proven(c);
        srv_reply_status(c, "OK");
        return;
    }
    /* no secret and no TLS: every peer address is on loopback (config.c refuses anything
     * else), and this node's peer port believes any process of this host; so does its client
     * port a relay from this host */
    if (!s->cfg.tls_cluster && srv_addr_is_loopback(c->addr)) {
        relay_proven(c);
        srv_reply_status(c, "OK");
        return;
    }
    relay_fail(c, "SYNOD RELAY-HELLO: a relay proves it is a cluster member with cluster-secret "
                  "or, under tls-cluster, a certificate of the cluster's CA (without either, by "
                  "coming from this host); this connection has neither");
}

/* SYNOD RELAY-PROOF <hex>: HMAC-SHA-256 of the challenge (peerauth_relay_proof). One try. */
static void relay_proof(server *s, client *c, const data_arg *proof)
{
    uint8_t got[PEERAUTH_PROOF_BYTES], want[PEERAUTH_PROOF_BYTES];
    if (!c->relay_nonce_set || !s->cfg.cluster_secret[0]) {
        relay_fail(c, "SYNOD RELAY-PROOF: no challenge (SYNOD RELAY-HELLO) to answer");
        return;
    }
    const char *sec = s->cfg.cluster_secret;
    if (hex_decode(proof, got, sizeof(got)) < 0 ||
        peerauth_relay_proof(sec, strlen(sec), c->relay_follower_id, (uint64_t)s->cfg.id,
                             c->relay_nonce, want) < 0 ||
        !peerauth_equal(got, want)) {
        relay_fail(c, "SYNOD RELAY-PROOF: wrong proof (is cluster-secret the same on every "
                      "node?)");
        return;
    }
    relay_proven(c);
    srv_reply_status(c, "OK");
}

/* SYNOD RELAY-USER <name>: the requests that follow run as that user, without its password
 * (the follower authenticated the client). A refusal holds until a RELAY-USER succeeds: the
 * requests behind it are the named user's, and must not run as the previous one. */
static void relay_user(server *s, client *c, const data_arg *name)
{
    int n = name->len > 128 ? 128 : (int)name->len;
    if (!c->relay_proven) {
        log_add(s, c, ACL_DENIED_AUTH, CTX_TOPLEVEL, name->ptr, name->len, "synod", 5);
        relay_refuse(c, "NOPERM SYNOD RELAY-USER refused: this connection has not proven that it "
                        "is a cluster member's relay (SYNOD RELAY-HELLO)");
        return;
    }
    /* a user that is `off` is no reason: the follower authenticated its client before (its
     * AUTH reads the users a ReadIndex behind, node.c route_cmd), and in Redis a connection
     * authenticated as a user goes on after the user is turned off */
    const acl_user *u = acl_find(data_acl(s->ds), name->ptr, name->len);
    if (!u) {
        relay_refuse(c, "NOPERM the leader refused to run requests as user '%.*s': no such user", n,
                     name->ptr);
        return;
    }
    set_user(c, name->ptr, name->len);
    c->authenticated = true;
    free(c->relay_refused);
    c->relay_refused = NULL;
    srv_reply_status(c, "OK");
}

int srv_acl_relay_cmd(server *s, client *c, int argc, const data_arg *argv)
{
    if (argc < 2 || !arg_is(&argv[0], "synod") || argv[1].len < 6 ||
        strncasecmp(argv[1].ptr, "relay-", 6) != 0)
        return 0;
    if (argc == 3 && arg_is(&argv[1], "relay-hello"))
        relay_hello(s, c, &argv[2]);
    else if (argc == 3 && arg_is(&argv[1], "relay-proof"))
        relay_proof(s, c, &argv[2]);
    else if (argc == 3 && arg_is(&argv[1], "relay-user"))
        relay_user(s, c, &argv[2]);
    else
        return 0; /* the SYNOD command's own unknown-subcommand error */
    return 1;
}

/* --- ACL LOG ---------------------------------------------------------------------------- */

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    SYN_ASSERT(d != NULL);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void log_add(server *s, client *c, int reason, int context, const char *user, size_t ulen,
                    const char *obj, size_t olen)
{
    struct srv_acl *a = s->acl;
    char info[1024];
    srv_client_list_line(c, info, sizeof(info));
    size_t il = strlen(info);
    while (il && (info[il - 1] == '\n' || info[il - 1] == '\r'))
        info[--il] = '\0';
    /* the same event among the 10 newest: counted there and moved to the front (Redis) */
    for (size_t i = 0; i < a->log_n && i < 10; i++) {
        log_entry *e = &a->log[i];
        if (e->reason != reason || e->context != context || e->object_len != olen ||
            memcmp(e->object, obj, olen) != 0 || e->username_len != ulen ||
            memcmp(e->username, user, ulen) != 0)
            continue;
        log_entry hit = *e;
        memmove(&a->log[1], &a->log[0], i * sizeof(*e));
        hit.count++;
        hit.ctime_ms = srv_now_ms();
        free(hit.cinfo);
        hit.cinfo = dup_bytes(info, il);
        a->log[0] = hit;
        return;
    }
    if (a->log_n == a->log_cap) {
        a->log_cap = a->log_cap ? 2 * a->log_cap : 16;
        a->log = realloc(a->log, a->log_cap * sizeof(*a->log));
        SYN_ASSERT(a->log != NULL);
    }
    memmove(&a->log[1], &a->log[0], a->log_n * sizeof(*a->log));
    a->log[0] = (log_entry){
        1,    reason, context,     dup_bytes(obj, olen), dup_bytes(user, ulen), dup_bytes(info, il),
        olen, ulen,   srv_now_ms()};
    a->log_n++;
    while (a->log_n > (size_t)s->cfg.acllog_max_len)
        log_free(&a->log[--a->log_n]);
}

/* --- users changed: the disconnections Redis makes -------------------------------------- */

static int chan_ok_cb(void *ctx, const char *ch, size_t len, int pattern)
{
    return acl_channel_ok(ctx, ch, len, pattern);
}

static void drop_client(client *o)
{
    if (o->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    o->flags |= CLIENT_CLOSE_AFTER_REPLY; /* after what it was sent already (DELUSER's reply) */
    srv_client_mark_pending(o);
}

/* After an applied ACL_EFFECT (or a snapshot load: name NULL): clients of a deleted user are
 * closed, and subscribers whose channels the user may no longer use (Redis 7.0 keeps clients
 * of a user set off or otherwise changed). */
static void on_users_changed(void *ctx, const char *name, size_t len, int deleted)
{
    server *s = ctx;
    for (client *o = s->clients; o; o = o->next) {
        if (o->relay_proven) continue; /* a follower's relay: no client of the user it names */
        size_t ulen;
        const char *uname = srv_acl_username(o, &ulen);
        if (name && (ulen != len || memcmp(uname, name, len) != 0)) continue;
        const acl_user *u = deleted ? NULL : acl_find(data_acl(s->ds), uname, ulen);
        if (!u) {
            drop_client(o);
            continue;
        }
        if (srv_pubsub_subscribed(o) && !srv_pubsub_each(o, chan_ok_cb, (void *)u)) drop_client(o);
    }
}

/* redis.call refused inside a script whose caller is on this node */
static void on_script_denied(void *ctx, void *out_ctx, int reason, const char *user, size_t ulen,
                             const char *obj, size_t olen)
{
    log_add(ctx, out_ctx, reason, CTX_LUA, user, ulen, obj, olen);
}

void srv_acl_start(server *s)
{
    data_set_acl_hook(s->ds, on_users_changed, s);
    script_set_acl_hook(s->se, on_script_denied, s);
}

int srv_acl_check_user(server *s, const acl_user *u, int argc, const data_arg *argv, int *idx,
                       const char **name, char *buf, size_t cap)
{
    return check_request(s, u, argc, argv, idx, name, buf, cap);
}

void srv_acl_log_reset(server *s)
{
    struct srv_acl *a = s->acl;
    for (size_t i = 0; i < a->log_n; i++)
        log_free(&a->log[i]);
    a->log_n = 0;
}

void srv_acl_reply_log(server *s, client *c, long long count)
{
    struct srv_acl *a = s->acl;
    static const char *const reasons[] = {"unknown", "command", "key", "auth", "channel"};
    static const char *const contexts[] = {"toplevel", "multi", "lua"};
    if (count < 0) count = 0;
    if ((size_t)count > a->log_n) count = (long long)a->log_n;
    int64_t now = srv_now_ms();
    srv_reply_array(c, (size_t)count);
    for (long long i = 0; i < count; i++) {
        const log_entry *e = &a->log[i];
        srv_reply_map(c, 7);
        srv_reply_cstr(c, "count");
        srv_reply_int(c, e->count);
        srv_reply_cstr(c, "reason");
        srv_reply_cstr(c, reasons[e->reason >= 0 && e->reason <= 4 ? e->reason : 0]);
        srv_reply_cstr(c, "context");
        srv_reply_cstr(c, contexts[e->context]);
        srv_reply_cstr(c, "object");
        srv_reply_bulk(c, e->object, e->object_len);
        srv_reply_cstr(c, "username");
        srv_reply_bulk(c, e->username, e->username_len);
        srv_reply_cstr(c, "age-seconds");
        SRV_REPLY(c, resp_add_double(&c->out, (double)(now - e->ctime_ms) / 1000, c->proto));
        srv_reply_cstr(c, "client-info");
        srv_reply_cstr(c, e->cinfo);
    }
}

const acl_catalog *srv_acl_catalog(const server *s)
{
    return &s->acl->cat;
}

void srv_acl_genpass(char *out, size_t chars)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[512];
    SYN_ASSERT(chars <= 2 * sizeof(rnd));
    SYN_ASSERT(RAND_bytes(rnd, (int)((chars + 1) / 2)) == 1);
    for (size_t i = 0; i < chars; i++)
        out[i] = hex[(rnd[i / 2] >> (i % 2 ? 0 : 4)) & 15];
}
