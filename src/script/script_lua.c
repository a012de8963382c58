/* script_lua.c — the Lua state: sandbox, the redis.* API, and the conversions between data
 * replies and Lua values (Redis 7.0's rules, RESP2 and RESP3). */
#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lua-bitop.h>
#include <lua-cjson.h>

#include "data/acl.h"
#include "script/script_internal.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/strconv.h"

#define CONV_MAX_DEPTH  32    /* nesting of a data reply (a few levels in practice) */
#define REPLY_MAX_DEPTH 10000 /* nesting of a script's result: the Lua stack ends it first */
#define LUA_GC_PERIOD   50    /* runs between incremental GC steps, as Redis */

static const char readonly_msg[] = "Attempt to modify a readonly table";

void slua_sha1hex(char out[41], const char *p, size_t len)
{
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)p, len, d);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[40] = '\0';
}

static script_engine *engine_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static script_engine *hook_engine; /* the engine whose run is in progress (its hooks) */

void slua_push_error(lua_State *L, const char *msg)
{
    /* a debugger stepping shows it, as Redis shows every error it pushes then */
    if (hook_engine && sldb_logging(hook_engine)) sldb_log_error(hook_engine, msg, strlen(msg), 0);
    lua_newtable(L);
    if (msg[0] == '-') {
        const char *sp = strchr(msg, ' ');
        if (!sp)
            lua_pushfstring(L, "ERR %s", msg + 1);
        else
            lua_pushlstring(L, msg + 1, strlen(msg + 1));
    } else {
        lua_pushfstring(L, "ERR %s", msg);
    }
    /* an error table never ends with a newline */
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    lua_pushlstring(L, s, n);
    lua_remove(L, -2);
    lua_setfield(L, -2, "err");
}

static int raise_error(lua_State *L, const char *msg)
{
    slua_push_error(L, msg);
    return lua_error(L);
}

/* --- data reply -> Lua value ----------------------------------------------------------------- */

enum { K_ARRAY = 1, K_MAP = 2, K_SET = 3 };

typedef struct {
    lua_State *L;
    int resp3;
    int depth;
    int top_kind; /* kind of the outermost aggregate (0: a scalar) */
    int dropped;  /* nesting beyond CONV_MAX_DEPTH: values dropped */
    struct {
        int64_t left;
        int kind;
        int idx;
    } fr[CONV_MAX_DEPTH];
} conv;

/* The value on top of the stack is complete: store it into its parent aggregate, closing every
 * aggregate that is now full. */
static void conv_done(conv *cv)
{
    lua_State *L = cv->L;
    for (;;) {
        if (cv->depth == 0) return; /* the result */
        int d = cv->depth - 1;
        switch (cv->fr[d].kind) {
        case K_ARRAY: lua_rawseti(L, -2, ++cv->fr[d].idx); break;
        case K_MAP:
            if ((cv->fr[d].idx++ & 1) == 0) { /* a key: keep it until its value comes */
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    lua_pushboolean(L, 0);
                }
                cv->fr[d].left--;
                if (cv->fr[d].left > 0) return;
                lua_pop(L, 1); /* cannot happen for a well-formed map */
                break;
            }
            lua_rawset(L, -3);
            break;
        case K_SET:
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
            } else {
                lua_pushboolean(L, 1);
                lua_rawset(L, -3);
            }
            break;
        }
        if (--cv->fr[d].left > 0) return;
        /* the aggregate is full: it becomes a value of its own parent */
        cv->depth--;
        if (cv->fr[d].kind != K_ARRAY) { /* RESP3 map / set: {map = t} / {set = t} */
            lua_createtable(L, 0, 1);
            lua_insert(L, -2);
            lua_setfield(L, -2, cv->fr[d].kind == K_MAP ? "map" : "set");
        }
    }
}

static void conv_open(conv *cv, size_t n, int kind)
{
    lua_State *L = cv->L;
    if (cv->depth == 0 && !cv->top_kind) cv->top_kind = kind;
    if (!cv->resp3 && kind != K_ARRAY) {
        if (kind == K_MAP) n *= 2;
        kind = K_ARRAY;
    }
    if (cv->depth == CONV_MAX_DEPTH || !lua_checkstack(L, 4)) {
        cv->dropped++;
        lua_pushboolean(L, 0);
        conv_done(cv);
        return;
    }
    lua_createtable(L, kind == K_ARRAY ? (int)(n > 1024 ? 1024 : n) : 0, 0);
    if (n == 0) {
        if (kind != K_ARRAY) {
            lua_createtable(L, 0, 1);
            lua_insert(L, -2);
            lua_setfield(L, -2, kind == K_MAP ? "map" : "set");
        }
        conv_done(cv);
        return;
    }
    cv->fr[cv->depth].left = kind == K_MAP ? (int64_t)n * 2 : (int64_t)n;
    cv->fr[cv->depth].kind = kind;
    cv->fr[cv->depth].idx = 0;
    cv->depth++;
}

static void cv_status(void *ctx, const char *s, size_t len)
{
    conv *cv = ctx;
    lua_createtable(cv->L, 0, 1);
    lua_pushlstring(cv->L, s, len);
    lua_setfield(cv->L, -2, "ok");
    conv_done(cv);
}
static void cv_error(void *ctx, const char *s, size_t len)
{
    conv *cv = ctx;
    if (hook_engine && sldb_logging(hook_engine)) sldb_log_error(hook_engine, s, len, 1);
    lua_createtable(cv->L, 0, 1);
    lua_pushlstring(cv->L, s, len);
    lua_setfield(cv->L, -2, "err");
    conv_done(cv);
}
static void cv_integer(void *ctx, long long v)
{
    conv *cv = ctx;
    lua_pushnumber(cv->L, (lua_Number)v);
    conv_done(cv);
}
static void cv_bulk(void *ctx, const char *p, size_t len)
{
    conv *cv = ctx;
    lua_pushlstring(cv->L, p, len);
    conv_done(cv);
}
static void cv_null(void *ctx)
{
    conv *cv = ctx;
    if (cv->resp3)
        lua_pushnil(cv->L);
    else
        lua_pushboolean(cv->L, 0);
    conv_done(cv);
}
static void cv_array(void *ctx, size_t n)
{
    conv_open(ctx, n, K_ARRAY);
}
static void cv_map(void *ctx, size_t n)
{
    conv_open(ctx, n, K_MAP);
}
static void cv_set(void *ctx, size_t n)
{
    conv_open(ctx, n, K_SET);
}
static void cv_dbl(void *ctx, double v)
{
    conv *cv = ctx;
    if (cv->resp3) {
        lua_createtable(cv->L, 0, 1);
        lua_pushnumber(cv->L, v);
        lua_setfield(cv->L, -2, "double");
    } else { /* RESP2: the bulk string the encoder would send */
        char buf[64];
        int n = isinf(v) ? snprintf(buf, sizeof buf, "%s", v > 0 ? "inf" : "-inf")
                         : snprintf(buf, sizeof buf, "%.17g", v);
        lua_pushlstring(cv->L, buf, (size_t)n);
    }
    conv_done(cv);
}
static void cv_dbl_str(void *ctx, const char *s, size_t len)
{
    conv *cv = ctx;
    if (!cv->resp3) {
        lua_pushlstring(cv->L, s, len); /* the bulk string Redis hands the script */
        conv_done(cv);
        return;
    }
    char buf[128];
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    cv_dbl(ctx, strtod(buf, NULL));
}
static int cv_is_resp3(void *ctx)
{
    return ((conv *)ctx)->resp3;
}

static const data_reply_ops conv_ops = {
    cv_status, cv_error, cv_integer, cv_bulk, cv_null,     cv_null,
    cv_array,  cv_map,   cv_set,     cv_dbl,  cv_is_resp3, cv_dbl_str,
};

/* --- Lua value -> reply --------------------------------------------------------------------- */

static void out_raw(const script_out *out, const char *p, size_t len)
{
    if (out->raw) out->raw(out->ctx, p, len);
}

static void out_one_line(const script_out *out, int status, const char *s, size_t len)
{
    char stack[256];
    char *b = len < sizeof stack ? stack : malloc(len + 1);
    if (!b) {
        out->ops->error(out->ctx, "ERR out of memory", 17);
        return;
    }
    for (size_t i = 0; i < len; i++)
        b[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
    if (status)
        out->ops->status(out->ctx, b, len);
    else
        out->ops->error(out->ctx, b, len);
    if (b != stack) free(b);
}

static long long lua_num_to_ll(lua_Number d)
{
    /* what the C cast gives on x86-64 for values out of range, without the undefined behaviour */
    if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return LLONG_MIN;
    return (long long)d;
}

static int field_type(lua_State *L, const char *f)
{
    lua_pushstring(L, f);
    lua_rawget(L, -2);
    return lua_type(L, -1);
}

static void reply_value(lua_State *L, const script_out *out, int script_resp, int depth);

/* Out of line: reply_table recurses once per nesting level (thousands for a table that
 * contains itself), so its own frame stays small and the buffers live here. */
static __attribute__((noinline)) void raw_big_number(lua_State *L, const script_out *out,
                                                     const char *s, size_t n)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '(');
    for (size_t i = 0; i < n; i++)
        luaL_addchar(&b, s[i] == '\r' || s[i] == '\n' ? ' ' : s[i]);
    luaL_addlstring(&b, "\r\n", 2);
    luaL_pushresult(&b);
    size_t m;
    const char *p = lua_tolstring(L, -1, &m);
    out_raw(out, p, m);
    lua_pop(L, 1);
}

static __attribute__((noinline)) void raw_verbatim(lua_State *L, const script_out *out,
                                                   const char *f, size_t fl, const char *s,
                                                   size_t sl)
{
    char hdr[64];
    char fmt[4] = "txt";
    memcpy(fmt, f, fl < 3 ? fl : 3);
    int h = snprintf(hdr, sizeof hdr, "=%zu\r\n%.3s:", sl + 4, fmt);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, hdr, (size_t)h);
    luaL_addlstring(&b, s, sl);
    luaL_addlstring(&b, "\r\n", 2);
    luaL_pushresult(&b);
    size_t m;
    const char *p = lua_tolstring(L, -1, &m);
    out_raw(out, p, m);
    lua_pop(L, 1);
}

static void reply_table(lua_State *L, const script_out *out, int script_resp, int depth)
{
    const data_reply_ops *ops = out->ops;
    void *ctx = out->ctx;
    if (field_type(L, "err") == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        out_one_line(out, 0, s, n);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (field_type(L, "ok") == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        out_one_line(out, 1, s, n);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (field_type(L, "double") == LUA_TNUMBER) {
        ops->dbl(ctx, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (field_type(L, "big_number") == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (out->resp3) {
            raw_big_number(L, out, s, n);
        } else {
            ops->bulk(ctx, s, n);
        }
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (field_type(L, "verbatim_string") == LUA_TTABLE) {
        int vt = lua_gettop(L);
        lua_getfield(L, vt, "format");
        lua_getfield(L, vt, "string");
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
            size_t fl, sl;
            const char *f = lua_tolstring(L, -2, &fl);
            const char *s = lua_tolstring(L, -1, &sl);
            if (out->resp3) {
                raw_verbatim(L, out, f, fl, s, sl);
            } else {
                ops->bulk(ctx, s, sl);
            }
            lua_pop(L, 3);
            return;
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    int kind = 0;
    if (field_type(L, "map") == LUA_TTABLE) kind = K_MAP;
    if (!kind) {
        lua_pop(L, 1);
        if (field_type(L, "set") == LUA_TTABLE) kind = K_SET;
    }
    if (kind) {
        int t = lua_gettop(L);
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, t)) {
            lua_pop(L, 1);
            n++;
        }
        if (kind == K_MAP)
            ops->map(ctx, n);
        else
            ops->set(ctx, n);
        lua_pushnil(L);
        while (lua_next(L, t)) {
            if (kind == K_MAP) {
                lua_pushvalue(L, -2);
                reply_value(L, out, script_resp, depth + 1); /* the key */
                reply_value(L, out, script_resp, depth + 1); /* the value */
            } else {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                reply_value(L, out, script_resp, depth + 1);
            }
        }
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    /* an array: elements 1, 2, ... up to the first nil */
    size_t n = 0;
    for (;;) {
        lua_rawgeti(L, -1, (int)n + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
        n++;
    }
    ops->array(ctx, n);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        reply_value(L, out, script_resp, depth + 1);
    }
}

/* Replies the value on top of the stack and pops it. */
static void reply_value(lua_State *L, const script_out *out, int script_resp, int depth)
{
    const data_reply_ops *ops = out->ops;
    void *ctx = out->ctx;
    /* Redis's bound: the Lua stack (one slot per level) */
    if (depth > REPLY_MAX_DEPTH || !lua_checkstack(L, 4)) {
        ops->error(ctx, "ERR reached lua stack limit", 27);
        lua_pop(L, 1);
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        ops->bulk(ctx, s, n);
        break;
    }
    case LUA_TBOOLEAN:
        if (script_resp == 2) {
            if (lua_toboolean(L, -1))
                ops->integer(ctx, 1);
            else
                ops->null(ctx);
        } else if (out->resp3) {
            out_raw(out, lua_toboolean(L, -1) ? "#t\r\n" : "#f\r\n", 4);
        } else {
            ops->integer(ctx, lua_toboolean(L, -1) ? 1 : 0);
        }
        break;
    case LUA_TNUMBER: ops->integer(ctx, lua_num_to_ll(lua_tonumber(L, -1))); break;
    case LUA_TTABLE: reply_table(L, out, script_resp, depth); break;
    default: ops->null(ctx);
    }
    lua_pop(L, 1);
}

/* --- redis.call and friends ------------------------------------------------------------------ */

/* Commands a script may not call (Redis's "noscript" flag), and those that are not data
 * commands but answered here. */
static const char *const noscript_cmds[] = {
    "eval",         "evalsha",   "eval_ro",    "evalsha_ro",  "fcall",        "fcall_ro",
    "script",       "function",  "multi",      "exec",        "discard",      "watch",
    "unwatch",      "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe",
    "sunsubscribe", "client",    "hello",      "auth",        "quit",         "reset",
    "synod",        "readonly",  "readwrite",  "monitor",     "sync",         "psync",
    "spop_effect",  "cluster",   "shutdown",   "save",        "bgsave",       "bgrewriteaof",
    "replicaof",    "slaveof",   "failover",   "debug",       "config",       "acl",
    "latency",      "module",    "role",       "wait",        "replconf",
};

/* Their answer depends on node-local state (a random draw, the hash layout of the node, its
 * encodings), so a replica running the same script could decide differently: refused in runs
 * that apply a log entry (script.h). */
static const char *const nondeterministic_cmds[] = {
    "spop",  "srandmember", "randomkey", "hrandfield", "zrandmember", "scan",
    "sscan", "hscan",       "zscan",     "object",     "memory",
};

/* Replies in hash order: sorted in runs that apply a log entry (2 = sorted as field/value
 * pairs). */
static int sorted_reply(const char *name)
{
    static const char *const plain[] = {"keys",  "smembers", "sinter", "sunion",
                                        "sdiff", "hkeys",    "hvals"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(name, plain[i]) == 0) return 1;
    return strcmp(name, "hgetall") == 0 ? 2 : 0;
}

static int in_list(const data_arg *a, const char *const *list, size_t n)
{
    if (a->len == 0) return 0;
    char c0 = (char)(a->ptr[0] >= 'A' && a->ptr[0] <= 'Z' ? a->ptr[0] + 32 : a->ptr[0]);
    for (size_t i = 0; i < n; i++) /* every redis.call asks: the first letter sifts */
        if (list[i][0] == c0 && sarg_is(a, list[i])) return 1;
    return 0;
}

/* The commands that are not data commands but that scripts use: TIME (the entry's time), PING,
 * ECHO, SELECT 0. Leaves the reply on the stack; 0 if argv is none of them. */
static int server_cmd(lua_State *L, script_engine *se, srun *r, int argc, const data_arg *argv)
{
    if (sarg_is(&argv[0], "time")) {
        if (argc != 1) return -1;
        int64_t now = r->env->now_ms;
        char s[32], us[32];
        snprintf(s, sizeof s, "%lld", (long long)(now / 1000));
        snprintf(us, sizeof us, "%lld", (long long)(now % 1000) * 1000);
        lua_createtable(L, 2, 0);
        lua_pushstring(L, s);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, us);
        lua_rawseti(L, -2, 2);
        return 1;
    }
    if (sarg_is(&argv[0], "ping")) {
        if (argc > 2) { /* PING's arity is -1: it runs and refuses the extra arguments itself */
            lua_createtable(L, 0, 1);
            lua_pushstring(L, "ERR wrong number of arguments for 'ping' command");
            lua_setfield(L, -2, "err");
            return 1;
        }
        if (argc == 2) {
            lua_pushlstring(L, argv[1].ptr, argv[1].len);
        } else {
            lua_createtable(L, 0, 1);
            lua_pushstring(L, "PONG");
            lua_setfield(L, -2, "ok");
        }
        return 1;
    }
    if (sarg_is(&argv[0], "echo")) {
        if (argc != 2) return -1;
        lua_pushlstring(L, argv[1].ptr, argv[1].len);
        return 1;
    }
    if (sarg_is(&argv[0], "select")) {
        if (argc != 2) return -1;
        long long db;
        const char *err = NULL;
        if (!syn_string2ll(argv[1].ptr, argv[1].len, &db))
            err = "ERR value is not an integer or out of range";
        else if (db < INT_MIN || db > INT_MAX)
            err = "ERR value is out of range, value must between -2147483648 and 2147483647";
        else if (data_select(se->ds, db) < 0)
            err = "ERR DB index is out of range";
        lua_createtable(L, 0, 1);
        lua_pushstring(L, err ? err : "OK");
        lua_setfield(L, -2, err ? "err" : "ok");
        return 1;
    }
    return 0;
}

static void sort_reply(script_engine *se, lua_State *L, int mode, int resp, int top_kind)
{
    if (!lua_istable(L, -1)) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_sort);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, mode == 2);
    lua_pushinteger(L, resp == 3 ? top_kind : 0);
    lua_call(L, 3, 1); /* a new table when a RESP3 map / set is rebuilt in order */
    lua_remove(L, -2);
}

/* script_call_hook's event for the run's caller, if it has one; a prelude run's are held */
static void call_event(script_engine *se, srun *r, int argc, const data_arg *argv, int event,
                       const char *err, size_t err_len)
{
    if (!se->call_hook || !r->out_ctx) return;
    if (!r->env->prelude_stop) {
        se->call_hook(se->call_hook_ctx, r->out_ctx, argc, argv, event, err, err_len);
        return;
    }
    if (se->n_held_ev == SCRIPT_PRELUDE_EVENTS) return;
    __typeof__(se->held_ev[0]) *h = &se->held_ev[se->n_held_ev++];
    h->event = event;
    h->argc = argc;
    for (int j = 0; j < argc && j < 2; j++) {
        h->name_len[j] = argv[j].len < sizeof h->name[j] ? argv[j].len : sizeof h->name[j];
        memcpy(h->name[j], argv[j].ptr, h->name_len[j]);
    }
    h->err_len = err_len < sizeof h->err ? err_len : sizeof h->err;
    if (h->err_len) memcpy(h->err, err, h->err_len);
}

/* The error table on top of the stack came from a command: Redis's mark, so that a script
 * replying it does not count the error again (SCRIPT_CALL_ERROR_REPLIED). */
#define COUNTED_FIELD "ignore_error_stats_update"
static void call_error_event(script_engine *se, srun *r, int argc, const data_arg *argv, int event)
{
    lua_State *L = se->L;
    lua_pushstring(L, "err");
    lua_rawget(L, -2);
    size_t n = 0;
    const char *e = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    call_event(se, r, argc, argv, event, e, e ? n : 0);
    lua_pop(L, 1);
    lua_pushstring(L, COUNTED_FIELD);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
}

/* redis.call (raise = 1) and redis.pcall (raise = 0). */
/* The engine's reusable argv scratch for redis.call: n arguments, bytes in all. */
static int script_scratch(script_engine *se, size_t n, size_t bytes)
{
    if (n > se->argv_cap) {
        data_arg *a = realloc(se->argv, n * sizeof *a);
        if (!a) return -1;
        se->argv = a;
        se->argv_cap = n;
    }
    if (bytes + 1 > se->abuf_cap) {
        char *b = realloc(se->abuf, bytes + 1);
        if (!b) return -1;
        se->abuf = b;
        se->abuf_cap = bytes + 1;
    }
    return 0;
}

/* NULL, or why the run's ACL user may not run this data command (Redis 7.0's texts) */
static const char *acl_denied(script_engine *se, srun *r, const data_cmd *dc, int argc,
                              const data_arg *argv)
{
    const acl_table *t = data_acl(se->ds);
    const acl_user *u = acl_find(t, r->env->acl_user, r->env->acl_user_len);
    int idx = 0;
    int rc = u ? acl_check_data(t, u, dc, argc, argv, &idx) : ACL_DENIED_CMD;
    if (rc == ACL_OK) return NULL;
    if (se->acl_hook && r->out_ctx) {
        const char *name = data_cmd_describe(dc)->name;
        const data_arg obj = rc == ACL_DENIED_CMD ? (data_arg){name, strlen(name)} : argv[idx];
        se->acl_hook(se->acl_hook_ctx, r->out_ctx, rc, r->env->acl_user, r->env->acl_user_len,
                     obj.ptr, obj.len);
    }
    if (rc == ACL_DENIED_CMD)
        return "The user executing the script can't run this command or subcommand";
    if (rc == ACL_DENIED_KEY)
        return "The user executing the script can't access at least one of the keys mentioned in "
               "the command arguments";
    return "The user executing the script can't publish to the channel mentioned in the command";
}

static void run_hook(lua_State *L, lua_Debug *ar);

static int redis_generic(lua_State *L, int raise)
{
    script_engine *se = engine_of(L);
    srun *r = se->run;
    if (!r) return raise_error(L, "redis.call/pcall can only be called inside a script invocation");
    if (se->killed) return raise_error(L, "Script killed by user with SCRIPT KILL...");
    if (se->max_hooks && se->hooks > se->max_hooks)
        return raise_error(L, "Script exceeded the limit of Lua instructions and was stopped");
    int argc = lua_gettop(L);
    if (argc == 0) {
        slua_push_error(L, "Please specify at least one argument for this redis lib call");
        return raise ? lua_error(L) : 1;
    }
    /* The arguments are copied out and popped, as Redis does: a call may take as many as the
     * Lua stack holds (unpack of ~8000), and the reply needs room of its own. */
    size_t total = 0;
    for (int j = 1; j <= argc; j++) {
        int t = lua_type(L, j);
        if (t == LUA_TNUMBER) {
            total += 32;
        } else if (t == LUA_TSTRING) {
            total += lua_objlen(L, j);
        } else {
            lua_settop(L, 0);
            slua_push_error(L, "Lua redis lib command arguments must be strings or integers");
            return raise ? lua_error(L) : 1;
        }
    }
    if (script_scratch(se, (size_t)argc, total) < 0) {
        lua_settop(L, 0);
        return raise_error(L, "out of memory");
    }
    data_arg *argv = se->argv;
    size_t off = 0;
    for (int j = 0; j < argc; j++) {
        char *dst = se->abuf + off;
        size_t n;
        if (lua_type(L, j + 1) == LUA_TNUMBER) {
            n = (size_t)snprintf(dst, 32, "%.17g", (double)lua_tonumber(L, j + 1));
        } else {
            const char *src = lua_tolstring(L, j + 1, &n);
            memcpy(dst, src, n);
        }
        argv[j] = (data_arg){dst, n};
        off += n;
    }
    lua_settop(L, 0);
    int logged = sldb_logging(se); /* a debugger stepping: the command and its reply shown */
    if (logged) sldb_log_call(se, argc, argv);
    const char *err = NULL;
    char blockmsg[96];
    const data_cmd *dc = NULL;
    int sorted = 0;
    if (r->env->prelude_stop && data_cmd_lookup(argv[0].ptr, argv[0].len)) {
        /* a prelude run ends before its first data command, and no pcall may catch that */
        se->prelude_hit = 1;
        lua_sethook(L, run_hook, LUA_MASKCOUNT, 1);
        lua_pushliteral(L, "prelude ends at the first data command"); /* err_handler passes it */
        return lua_error(L);
    }
    int known = 1; /* a command Redis counts in commandstats, rejected or run */
    if (in_list(&argv[0], noscript_cmds, sizeof noscript_cmds / sizeof noscript_cmds[0])) {
        err = "This Redis command is not allowed from script";
    } else if ((dc = data_cmd_lookup(argv[0].ptr, argv[0].len)) == NULL) {
        int k = server_cmd(L, se, r, argc, argv);
        if (k < 0) err = "Wrong number of args calling Redis command from script";
        if (k == 0) err = "Unknown Redis command called from script";
        known = k != 0;
        if (k > 0) {
            call_event(se, r, argc, argv, SCRIPT_CALL_RUN, NULL, 0);
            goto have_reply;
        }
    } else {
        const data_cmd_info *info = data_cmd_describe(dc);
        /* Redis 7.0 flags blocking commands noscript, except XREAD / XREADGROUP: those refuse
         * a BLOCK option themselves (after the generic checks) */
        int sread = sarg_is(&argv[0], "xread") || sarg_is(&argv[0], "xreadgroup");
        if (data_cmd_may_block(dc, argc, argv) && !sread)
            err = "This Redis command is not allowed from script";
        else if ((info->arity > 0 && info->arity != argc) || argc < -info->arity)
            err = "Wrong number of args calling Redis command from script";
        else if ((info->flags & DATA_CMD_WRITE) && r->read_only)
            err = "Write commands are not allowed from read-only scripts.";
        else if ((info->flags & DATA_CMD_WRITE) && r->env->noreplicas)
            err = "-NOREPLICAS Not enough good replicas to write.";
        else if (r->env->oom && !r->wrote && (info->flags & DATA_CMD_DENYOOM) &&
                 ((r->flags & SFLAG_EVAL_COMPAT) || !(r->flags & SFLAG_ALLOW_OOM)))
            err = "-OOM command not allowed when used memory > 'maxmemory'.";
        else if (sread && data_cmd_may_block(dc, argc, argv)) {
            snprintf(blockmsg, sizeof blockmsg,
                     "%.*s command is not allowed with BLOCK option from scripts",
                     (int)(argv[0].len < 32 ? argv[0].len : 32), argv[0].ptr);
            err = blockmsg;
            /* the command itself refuses the option in Redis: a call that failed */
            call_event(se, r, argc, argv, SCRIPT_CALL_RUN, NULL, 0);
            known = -1;
        } else if (r->env->replicated && !r->read_only &&
                   in_list(&argv[0], nondeterministic_cmds,
                           sizeof nondeterministic_cmds / sizeof nondeterministic_cmds[0]))
            err = "This Redis command is not allowed from write scripts: its answer is not the "
                  "same on every replica (random draw, hash order or encoding); call it from a "
                  "read-only script (EVAL_RO, no-writes) or pass the choice as an argument";
        else if (r->env->replicated && !r->read_only) /* read-only (in a MULTI): only replies */
            sorted = sorted_reply(info->name);
        if (!err && r->env->acl_user) err = acl_denied(se, r, dc, argc, argv);
        if (!err && (info->flags & DATA_CMD_WRITE)) r->wrote = 1; /* as Redis: before it runs */
        if (!err && (info->flags & DATA_CMD_READONLY)) se->called_read = 1; /* tracking */
    }
    if (err) {
        slua_push_error(L, err);
        if (known)
            call_error_event(se, r, argc, argv,
                             known > 0 ? SCRIPT_CALL_REJECTED : SCRIPT_CALL_FAILED);
        return raise ? lua_error(L) : 1;
    }
    {
        conv cv;
        memset(&cv, 0, sizeof cv);
        cv.L = L;
        cv.resp3 = r->resp == 3 && !sorted;
        call_event(se, r, argc, argv, SCRIPT_CALL_RUN, NULL, 0);
        data_set_in_script(se->ds, 1);
        if (data_exec(se->ds, dc, argc, argv, r->env->now_ms, &conv_ops, &cv)) r->dirty = 1;
        data_set_in_script(se->ds, 0);
        if (se->call_done_hook && r->out_ctx)
            se->call_done_hook(se->call_hook_ctx, r->out_ctx, argc, argv, SCRIPT_CALL_RUN, NULL, 0);
        SYN_ASSERT(cv.depth == 0);
        if (sorted) sort_reply(se, L, sorted, r->resp, cv.top_kind);
    }
have_reply:
    if (logged && se->ldb) sldb_log_reply(se, L, r->resp == 3);
    if (lua_istable(L, -1)) {
        lua_pushstring(L, "err");
        lua_rawget(L, -2);
        int is_err = lua_type(L, -1) == LUA_TSTRING;
        lua_pop(L, 1);
        if (is_err) call_error_event(se, r, argc, argv, SCRIPT_CALL_FAILED);
        if (is_err && raise) return lua_error(L);
    }
    return 1;
}

static int l_redis_call(lua_State *L)
{
    return redis_generic(L, 1);
}
static int l_redis_pcall(lua_State *L)
{
    return redis_generic(L, 0);
}

/* The global pcall: a Redis error table caught becomes its message (Redis's luaRedisPcall). */
static int l_pcall(lua_State *L)
{
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1))
                lua_replace(L, -2);
            else
                lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

static int l_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return raise_error(L, "wrong number of arguments");
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    char hex[41];
    slua_sha1hex(hex, s ? s : "", s ? n : 0);
    lua_pushstring(L, hex);
    return 1;
}

static int l_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        slua_push_error(L, "wrong number or type of arguments");
        return 1;
    }
    const char *e = lua_tostring(L, -1);
    if (e[0] == '-') {
        slua_push_error(L, e);
    } else {
        lua_pushfstring(L, "-%s", e);
        slua_push_error(L, lua_tostring(L, -1));
    }
    return 1;
}

static int l_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        slua_push_error(L, "wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "ok");
    return 1;
}

static int l_setresp(lua_State *L)
{
    script_engine *se = engine_of(L);
    if (!se->run)
        return raise_error(L, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raise_error(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, 1);
    if (resp != 2 && resp != 3) return raise_error(L, "RESP version must be 2 or 3.");
    se->run->resp = resp;
    return 0;
}

/* Replication is of the whole call here (script.h): the modes are accepted and change nothing. */
static int l_set_repl(lua_State *L)
{
    script_engine *se = engine_of(L);
    if (!se->run)
        return raise_error(L, "redis.set_repl can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raise_error(L, "redis.set_repl() requires two arguments.");
    int flags = (int)lua_tonumber(L, -1);
    if ((flags & ~3) != 0)
        return raise_error(
            L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    return 0;
}

static int l_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

/* redis.breakpoint(): stop before the next line (true) while a debugging session is open;
 * false (and nothing) otherwise, as in Redis */
static int l_breakpoint(lua_State *L)
{
    lua_pushboolean(L, sldb_breakpoint(engine_of(L)));
    return 1;
}

/* redis.debug(...): its arguments in the debugger's console; nothing without a session */
static int l_debug(lua_State *L)
{
    sldb_debug(engine_of(L), L);
    return 0;
}

/* redis.acl_check_cmd(cmd, args...): may the user running the script run it (command, keys,
 * channels)? The default (unrestricted) run may run everything. */
static int l_acl_check_cmd(lua_State *L)
{
    script_engine *se = engine_of(L);
    srun *r = se->run;
    if (!r)
        return raise_error(L, "redis.acl_check_cmd can only be called inside a script invocation");
    int argc = lua_gettop(L);
    if (argc == 0 || !lua_isstring(L, 1))
        return raise_error(L, "Please specify at least one argument for this redis lib call");
    data_arg a;
    a.ptr = lua_tolstring(L, 1, &a.len);
    const data_cmd *dc = data_cmd_lookup(a.ptr, a.len);
    if (!dc && !sarg_is(&a, "time") && !sarg_is(&a, "ping") && !sarg_is(&a, "echo") &&
        !sarg_is(&a, "select") &&
        !in_list(&a, noscript_cmds, sizeof noscript_cmds / sizeof noscript_cmds[0]))
        return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
    int ok = 1;
    if (r->env->acl_user) {
        const acl_table *t = data_acl(se->ds);
        const acl_user *u = acl_find(t, r->env->acl_user, r->env->acl_user_len);
        if (!u) {
            ok = 0;
        } else if (dc) {
            data_arg *argv = malloc((size_t)argc * sizeof(*argv));
            if (!argv) return raise_error(L, "out of memory");
            for (int j = 0; j < argc; j++)
                argv[j].ptr = lua_tolstring(L, j + 1, &argv[j].len); /* numbers: as strings */
            int idx = 0;
            ok = acl_check_data(t, u, dc, argc, argv, &idx) == ACL_OK;
            free(argv);
        } else { /* a server command: its permission alone */
            char name[32];
            size_t n = a.len < sizeof(name) - 1 ? a.len : sizeof(name) - 1;
            for (size_t i = 0; i < n; i++)
                name[i] = (char)(a.ptr[i] >= 'A' && a.ptr[i] <= 'Z' ? a.ptr[i] + 32 : a.ptr[i]);
            int id = acl_catalog_find(acl_get_catalog(t), name, n);
            int idx = 0;
            ok = id < 0 || acl_check(t, u, id, 1, &a, NULL, 0, NULL, 0, &idx) == ACL_OK;
        }
    }
    lua_pushboolean(L, ok);
    return 1;
}

static int l_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) return raise_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return raise_error(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < 0 || level > 3) return raise_error(L, "Invalid debug level.");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int j = 2; j <= argc; j++) {
        size_t n;
        const char *s = lua_tolstring(L, j, &n);
        if (!s) continue;
        if (j != 2) luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, n);
    }
    luaL_pushresult(&b);
    static const int map[] = {SYN_LOG_DEBUG, SYN_LOG_DEBUG, SYN_LOG_INFO, SYN_LOG_WARN};
    syn_log(map[level], "script: %s", lua_tostring(L, -1));
    return 0;
}

/* math.random / math.randomseed on the engine's generator (splitmix64), seeded from the log
 * entry at every run: the same on every replica, unlike the C library's rand(). */
static uint64_t rng_next(script_engine *se)
{
    uint64_t z = (se->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int l_random(lua_State *L)
{
    script_engine *se = engine_of(L);
    lua_Number r = (lua_Number)(rng_next(se) >> 11) * (1.0 / 9007199254740992.0);
    switch (lua_gettop(L)) {
    case 0: lua_pushnumber(L, r); break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1);
        int u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default: return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int l_randomseed(lua_State *L)
{
    script_engine *se = engine_of(L);
    se->rng = (uint64_t)(int64_t)luaL_checkint(L, 1);
    return 0;
}

/* --- sandbox ---------------------------------------------------------------------------------- */

static int ro_newindex(lua_State *L)
{
    return luaL_error(L, readonly_msg);
}

static int is_readonly(script_engine *se, lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_ro);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    int ro = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return ro;
}

static int l_rawset(lua_State *L)
{
    script_engine *se = engine_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_readonly(se, L, 1)) {
        lua_pushstring(L, readonly_msg);
        return lua_error(L);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int l_setmetatable(lua_State *L)
{
    script_engine *se = engine_of(L);
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
    if (is_readonly(se, L, 1)) {
        lua_pushstring(L, readonly_msg);
        return lua_error(L);
    }
    if (luaL_getmetafield(L, 1, "__metatable"))
        luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* The globals' __index: an undefined global is an error, not nil. */
/* __index of the real globals (behind the proxy): a name no global has */
static int globals_missing(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

void slua_readonly_proxy(script_engine *se, int idx)
{
    lua_State *L = se->L;
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L); /* the proxy */
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    /* getmetatable(proxy) gives a read-only empty table */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_ro);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_ro);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static void set_fn(lua_State *L, script_engine *se, const char *name, lua_CFunction f)
{
    lua_pushlightuserdata(L, se);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
}

static void set_num(lua_State *L, const char *name, lua_Number v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
}

/* Written for this project (Redis's handler has the same contract): the error value becomes a
 * table {err = ...} with the source and line of the Lua code that raised it (the caller's when
 * the error came from a C function such as redis.call). */
/* The error handler of every run (slua_call): adds the source and line of the code that raised
 * to the error, as a table {err, source, line} (a non-table error e becomes {err = "ERR " ..
 * tostring(e)}). In C, not Lua: a run's prelude ends with an error (redis_generic) that then
 * passes straight through, and a Lua handler would cost more than the short script itself.
 * Upvalue 1: Lua's tostring. */
static int err_handler(lua_State *L)
{
    if (hook_engine && hook_engine->prelude_hit) {
        lua_sethook(L, NULL, 0, 0); /* on its way out: no pcall of the script is left */
        return 1;
    }
    if (!lua_istable(L, 1)) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        lua_pushfstring(L, "ERR %s", lua_tostring(L, -1));
        lua_createtable(L, 0, 3);
        lua_insert(L, -2);
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    /* level 0 is this handler, 1 what raised: a C function (redis.call) or Lua code */
    lua_Debug ar;
    int level = 1;
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar)) return 1;
    if (strcmp(ar.what, "C") == 0 && (!lua_getstack(L, ++level, &ar) || !lua_getinfo(L, "Sl", &ar)))
        return 1;
    lua_pushstring(L, ar.source);
    lua_setfield(L, 1, "source");
    lua_pushinteger(L, ar.currentline);
    lua_setfield(L, 1, "line");
    return 1;
}

/* Sorts a reply in place (mode pairs: field/value pairs by field); for a RESP3 map or set
 * (kind 2 / 3) returns it rebuilt as {map = ...} / {set = ...}, its entries inserted in sorted
 * order so that the table's traversal order is the same on every replica. */
static const char sort_src[] =
    "local sort, type = ...\n"
    "return function(t, pairs_mode, kind)\n"
    "  if pairs_mode then\n"
    "    local p = {}\n"
    "    for i = 1, #t, 2 do p[#p + 1] = {t[i], t[i + 1]} end\n"
    "    sort(p, function(a, b) return a[1] < b[1] end)\n"
    "    for i = 1, #p do t[2 * i - 1] = p[i][1]; t[2 * i] = p[i][2] end\n"
    "  else\n"
    "    local ok = true\n"
    "    for i = 1, #t do if type(t[i]) ~= 'string' then ok = false end end\n"
    "    if ok then sort(t) end\n"
    "  end\n"
    "  if kind == 2 then\n"
    "    local m = {}\n"
    "    for i = 1, #t, 2 do m[t[i]] = t[i + 1] end\n"
    "    return {map = m}\n"
    "  elseif kind == 3 then\n"
    "    local s = {}\n"
    "    for i = 1, #t do s[t[i]] = true end\n"
    "    return {set = s}\n"
    "  end\n"
    "  return t\n"
    "end\n";

/* loadstring / load without binary chunks: precompiled bytecode is not verified by Lua 5.1
 * and can crash the interpreter, so Redis refuses it too: its Lua parses every chunk as text,
 * which fails at the signature's ESC. " \033" fails the same way, with Lua's own chunk name. */
static int load_text(lua_State *L, const char *s, size_t n, const char *name)
{
    if (n > 0 && s[0] == LUA_SIGNATURE[0]) s = " \033", n = 2;
    if (luaL_loadbuffer(L, s, n, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int l_loadstring(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, s);
    return load_text(L, s, n, name);
}

static int l_load(lua_State *L)
{
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    return load_text(L, s, n, name);
}

static int load_helper(lua_State *L, const char *src, const char *name, int nargs)
{
    /* the arguments are on the stack; the chunk returns the helper */
    if (luaL_loadbuffer(L, src, strlen(src), name)) return -1;
    lua_insert(L, -(nargs + 1));
    if (lua_pcall(L, nargs, 1, 0)) return -1;
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    lua_pop(L, 1);
}

int slua_init(script_engine *se)
{
    lua_State *L = luaL_newstate();
    if (!L) return -1;
    se->L = L;
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_DBLIBNAME, luaopen_debug);
    open_lib(L, "bit", luaopen_bit);
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cjson");
    slua_open_cmsgpack(L);
    lua_setglobal(L, "cmsgpack");
    slua_open_struct(L);
    lua_setglobal(L, "struct");

    lua_newtable(L); /* weak-keyed set of read-only proxies */
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    se->ref_ro = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    se->ref_scripts = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    se->ref_bodies = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    se->ref_libs = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    se->ref_fnidx = luaL_ref(L, LUA_REGISTRYINDEX);

    /* helpers, from the full environment */
    lua_getglobal(L, "tostring");
    lua_pushcclosure(L, err_handler, 1);
    se->ref_errh = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_getglobal(L, "type");
    se->ref_sort = load_helper(L, sort_src, "=sort_helper", 2);
    if (se->ref_errh < 0 || se->ref_sort < 0) return -1;

    /* what Redis leaves out of the sandbox */
    static const char *const removed[] = {"dofile",  "loadfile", "print",  "debug",  "getfenv",
                                          "setfenv", "newproxy", "module", "require"};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }

    lua_pushvalue(L, LUA_GLOBALSINDEX);
    set_fn(L, se, "pcall", l_pcall);
    set_fn(L, se, "loadstring", l_loadstring);
    set_fn(L, se, "load", l_load);
    set_fn(L, se, "rawset", l_rawset);
    set_fn(L, se, "setmetatable", l_setmetatable);
    lua_pop(L, 1);

    lua_getglobal(L, "math");
    set_fn(L, se, "random", l_random);
    set_fn(L, se, "randomseed", l_randomseed);
    lua_pop(L, 1);

    lua_newtable(L); /* redis */
    set_fn(L, se, "call", l_redis_call);
    set_fn(L, se, "pcall", l_redis_pcall);
    set_fn(L, se, "sha1hex", l_sha1hex);
    set_fn(L, se, "error_reply", l_error_reply);
    set_fn(L, se, "status_reply", l_status_reply);
    set_fn(L, se, "setresp", l_setresp);
    set_fn(L, se, "set_repl", l_set_repl);
    set_fn(L, se, "replicate_commands", l_replicate_commands);
    set_fn(L, se, "breakpoint", l_breakpoint);
    set_fn(L, se, "debug", l_debug);
    set_fn(L, se, "acl_check_cmd", l_acl_check_cmd);
    set_fn(L, se, "log", l_log);
    set_num(L, "LOG_DEBUG", 0);
    set_num(L, "LOG_VERBOSE", 1);
    set_num(L, "LOG_NOTICE", 2);
    set_num(L, "LOG_WARNING", 3);
    set_num(L, "REPL_NONE", 0);
    set_num(L, "REPL_AOF", 1);
    set_num(L, "REPL_SLAVE", 2);
    set_num(L, "REPL_REPLICA", 2);
    set_num(L, "REPL_ALL", 3);
    set_num(L, "REDIS_VERSION_NUM", SCRIPT_VERSION_NUM);
    lua_pushstring(L, SCRIPT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    lua_setglobal(L, "redis");

    /* every library table read-only (a proxy), also as the strings' method table */
    static const char *const libs[] = {"string", "math", "table", "cjson",    "cmsgpack",
                                       "struct", "bit",  "redis", "coroutine"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        lua_getglobal(L, libs[i]);
        slua_readonly_proxy(se, -1);
        if (strcmp(libs[i], "string") == 0) {
            lua_pushstring(L, "");
            lua_getmetatable(L, -1);
            lua_pushvalue(L, -3);
            lua_setfield(L, -2, "__index");
            slua_readonly_proxy(se, -1); /* what getmetatable('') shows */
            lua_setfield(L, -2, "__metatable");
            lua_pop(L, 2);
        }
        lua_setglobal(L, libs[i]);
        lua_pop(L, 1);
    }

    /* the globals: a read-only proxy whose reads of undefined names are errors; it becomes the
     * state's global table, so loadstring'ed chunks and coroutines see it too. Its __index is
     * the real table itself (a name found costs no call), whose own __index raises the error. */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_pushvalue(L, -1);
    se->ref_real_globals = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); /* the real table's metatable */
    lua_pushcfunction(L, globals_missing);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_newtable(L); /* proxy */
    lua_newtable(L); /* metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_newtable(L);
    slua_readonly_proxy(se, -1);
    lua_remove(L, -2);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_ro);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "_G"); /* real._G = proxy */
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_pop(L, 1);
    return 0;
}

/* --- running ---------------------------------------------------------------------------------- */

static void run_info(script_engine *se, script_run_info *ri, int done)
{
    const srun *r = se->run;
    ri->run_id = se->run_id;
    ri->killable = !r->env->replicated;
    ri->wrote = r->wrote;
    ri->is_function = r->is_function;
    ri->done = done;
    ri->name = r->name;
    ri->argc = r->argc;
    ri->argv = r->argv;
}

static void ldb_hook(lua_State *L, lua_Debug *ar)
{
    if (hook_engine) sldb_hook(hook_engine, L, ar);
}

static void run_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    script_engine *se = hook_engine;
    if (!se) return;
    if (se->prelude_hit) {
        slua_push_error(L, "prelude ends at the first data command");
        lua_error(L);
    }
    se->hooks++;
    if (se->busy_cb && se->run && !se->killed) {
        script_run_info ri;
        run_info(se, &ri, 0);
        se->busy_called = 1;
        /* only a read on this node that wrote nothing: a replicated run must end alike on
         * every replica (docs/scripting.md "Script timeouts") */
        if (se->busy_cb(se->busy_ctx, &ri) && ri.killable && !ri.wrote) se->killed = 1;
    }
    if (se->killed) {
        /* from now on at every instruction, so that a pcall cannot catch it for ever */
        lua_sethook(L, run_hook, LUA_MASKCOUNT, 1);
        slua_push_error(L, "Script killed by user with SCRIPT KILL...");
        lua_error(L);
    }
    if (!se->max_hooks || se->hooks <= se->max_hooks) return;
    /* from now on at every instruction, so that a pcall in a loop cannot catch it for ever */
    lua_sethook(L, run_hook, LUA_MASKCOUNT, 1);
    char msg[192];
    snprintf(msg, sizeof msg,
             "Script exceeded the limit of %llu Lua instructions and was stopped (at the same "
             "point on every replica; its writes so far stay)",
             (unsigned long long)se->max_hooks * SCRIPT_HOOK_EVERY);
    slua_push_error(L, msg);
    lua_error(L);
}

void slua_call(script_engine *se, srun *r, int nargs, const script_out *out)
{
    lua_State *L = se->L;
    static unsigned gc_count;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_errh);
    lua_insert(L, -(nargs + 2));
    int errh = lua_gettop(L) - nargs - 1;
    se->rng = r->env->seed;
    se->run = r;
    se->hooks = 0;
    se->run_id++;
    se->busy_called = 0;
    se->killed = 0;
    se->prelude_hit = 0;
    hook_engine = se;
    if (se->ldb) /* a debugging session: every line, and a count to notice endless loops */
        lua_sethook(L, ldb_hook, LUA_MASKLINE | LUA_MASKCOUNT, SCRIPT_HOOK_EVERY);
    else if (se->max_hooks || se->busy_cb)
        lua_sethook(L, run_hook, LUA_MASKCOUNT, SCRIPT_HOOK_EVERY);
    int rc = lua_pcall(L, nargs, 1, errh);
    data_set_in_script(se->ds, 0); /* also when a Lua error left l_redis_call mid-command */
    lua_sethook(L, NULL, 0, 0);
    hook_engine = NULL;
    if (se->busy_called) {
        script_run_info ri;
        run_info(se, &ri, 1);
        (void)se->busy_cb(se->busy_ctx, &ri);
    }
    if (se->killed) syn_log(SYN_LOG_WARN, "Lua script killed by user with SCRIPT KILL.");
    se->killed = 0;
    se->run = NULL;
    /* a stopped prelude and the run of its log entry count as one call (they were two GC
     * steps per write script for Redis's one) */
    if (!se->prelude_hit && ++gc_count >= LUA_GC_PERIOD) {
        lua_gc(L, LUA_GCSTEP, LUA_GC_PERIOD);
        gc_count = 0;
    }
    if (se->prelude_hit) { /* no reply: the call is logged and runs again from the start */
        se->prelude_hit = 0;
        *r->env->prelude_stop = 1;
        lua_pop(L, 2); /* its error, the error handler */
        return;
    }
    /* an error a called command produced, replied as it is: counted when it happened */
    int counted = 0;
    char counted_err[64];
    size_t counted_len = 0;
    if (lua_istable(L, -1)) {
        /* raw: the script may return any table, a protected one too */
        lua_pushstring(L, COUNTED_FIELD);
        lua_rawget(L, -2);
        lua_pushstring(L, "err");
        lua_rawget(L, -3);
        counted = lua_toboolean(L, -2) && lua_type(L, -1) == LUA_TSTRING;
        if (counted) {
            const char *e = lua_tolstring(L, -1, &counted_len);
            if (counted_len > sizeof counted_err) counted_len = sizeof counted_err;
            memcpy(counted_err, e, counted_len);
        }
        lua_pop(L, 2);
    }
    if (rc == 0) {
        reply_value(L, out, r->resp, 0);
    } else if (!lua_istable(L, -1)) {
        const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
        sreply_errorf(out, "ERR Error running script %s, %.100s ", r->name, msg);
        lua_pop(L, 1);
    } else {
        lua_getfield(L, -1, "err");
        lua_getfield(L, -2, "source");
        lua_getfield(L, -3, "line");
        const char *msg = lua_isstring(L, -3) ? lua_tostring(L, -3) : "ERR unknown error";
        if (lua_isstring(L, -2) && lua_isstring(L, -1))
            sreply_errorf(out, "%s script: %s, on %s:%s.", msg, r->name, lua_tostring(L, -2),
                          lua_tostring(L, -1));
        else
            sreply_errorf(out, "%s", msg);
        lua_pop(L, 4);
    }
    if (counted) call_event(se, r, 0, NULL, SCRIPT_CALL_ERROR_REPLIED, counted_err, counted_len);
    lua_pop(L, 1); /* the error handler */
}
